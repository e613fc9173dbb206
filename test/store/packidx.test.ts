import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/store/objects.js';
import { cleanup, git, testEnv, tmpRepo } from '../helpers.js';

afterAll(cleanup);

/** One `git fast-import` run (one pack): `n` blobs and a commit holding them, on main. Returns the blobs' ids. */
function importPack(repo: string, chunk: number, n: number): void {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = `chunk ${chunk} blob ${i}\n`;
    parts.push(`blob\nmark :${i + 1}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
  }
  parts.push(`commit refs/heads/main\ncommitter t <t@t> ${1_700_000_000 + chunk} +0000\ndata 6\nchunk\nfrom refs/heads/main^0\n`);
  for (let i = 0; i < n; i++) parts.push(`M 100644 :${i + 1} c${chunk}/f${i}\n`);
  parts.push('\n');
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env: testEnv(), input: parts.join(''), maxBuffer: 1 << 28 });
}

function packDir(repo: string): string {
  return path.join(repo, '.git', 'objects', 'pack');
}

function idxFiles(repo: string): string[] {
  return fs.readdirSync(packDir(repo)).filter((f) => f.endsWith('.idx')).map((f) => path.join(packDir(repo), f));
}

function idxBytes(repo: string): number {
  return idxFiles(repo).reduce((s, f) => s + fs.statSync(f).size, 0);
}

/** The ids listed in one pack's index, as git reads them. */
function packOids(idx: string): string[] {
  const out = execFileSync('git', ['show-index'], { input: fs.readFileSync(idx), env: testEnv(), maxBuffer: 1 << 28 }).toString();
  return out.trim().split('\n').map((l) => l.split(' ')[1] as string);
}

function catFile(repo: string, oid: string): Buffer {
  return execFileSync('git', ['cat-file', '-p', oid], { cwd: repo, env: testEnv(), maxBuffer: 1 << 28 });
}

/** A host repository of `packs` packs of `perPack` blobs each, and a few loose objects on top. */
function hostRepo(packs: number, perPack: number): string {
  const repo = tmpRepo();
  git(repo, 'config', 'gc.auto', '0');
  for (let c = 0; c < packs; c++) importPack(repo, c, perPack);
  return repo;
}

describe('pack indexes are searched in place', () => {
  const repo = hostRepo(8, 6000);
  const loose = ['loose one\n', 'loose two\n'].map((t) => execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, env: testEnv(), input: t }).toString().trim());

  it('finds every object, loose and in each of many packs, reading a small part of the indexes', () => {
    const total = idxBytes(repo);
    expect(idxFiles(repo).length).toBe(8);
    expect(total).toBeGreaterThan(8 * 6000 * 28);
    const s = new ObjectStore(path.join(repo, '.git', 'objects'));
    for (const oid of loose) expect(s.read(oid, 'blob').content.equals(catFile(repo, oid))).toBe(true);
    // Loose objects are found before any pack index is opened.
    expect(s.stats().idxBytesRead).toBe(0);

    // An object of the newest pack (orc's own packs are the newest) opens that pack alone.
    const newest = idxFiles(repo).sort((a, b) => fs.statSync(b.replace(/idx$/, 'pack')).mtimeMs - fs.statSync(a.replace(/idx$/, 'pack')).mtimeMs)[0] as string;
    const recent = packOids(newest)[5] as string;
    expect(s.read(recent).content.equals(catFile(repo, recent))).toBe(true);
    expect(s.stats()).toMatchObject({ packs: 8, opened: 1 });

    // A few objects from each pack, content as git reads it.
    const perPack = idxFiles(repo).map(packOids);
    for (const oids of perPack) {
      for (const oid of [oids[0], oids[oids.length - 1]] as string[]) {
        expect(s.read(oid).content.equals(catFile(repo, oid))).toBe(true);
      }
    }
    // Finding these 16 objects read a few pages of each index, far from the indexes whole.
    const afterSample = s.stats().idxBytesRead;
    expect(afterSample).toBeGreaterThan(0);
    expect(afterSample).toBeLessThan(total / 20);

    // A miss looks at every pack (one fan-out bucket each) and still reads little.
    const beforeMiss = s.stats().idxBytesRead;
    expect(s.tryRead('0'.repeat(39) + '1')).toBeNull();
    expect(s.stats().idxBytesRead - beforeMiss).toBeLessThan(total / 20);

    // Every object of every pack is found where the index says (the whole search, each entry once).
    for (const oids of perPack) for (const oid of oids) expect(s.has(oid)).toBe(true);
  });

  it('after git gc (one large pack), a lookup still reads a few pages', () => {
    const r = hostRepo(2, 12000);
    git(r, 'gc', '-q');
    expect(idxFiles(r)).toHaveLength(1);
    const total = idxBytes(r);
    const oids = packOids(idxFiles(r)[0] as string);
    const s = new ObjectStore(path.join(r, '.git', 'objects'));
    for (let i = 0; i < oids.length; i += 1999) {
      const oid = oids[i] as string;
      expect(s.read(oid).content.equals(catFile(r, oid))).toBe(true);
    }
    expect(s.stats().idxBytesRead).toBeLessThan(total / 10);
  });

  it('a missing object makes the store look at the pack folder again (objects moved by a repack meanwhile)', () => {
    const r = hostRepo(3, 500);
    const s = new ObjectStore(path.join(r, '.git', 'objects'));
    const first = packOids(idxFiles(r)[0] as string)[0] as string;
    expect(s.read(first).content.equals(catFile(r, first))).toBe(true); // the packs are open now

    const late = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: r, env: testEnv(), input: 'written later\n' }).toString().trim();
    const tip = git(r, 'rev-parse', 'main');
    const tree = git(r, 'rev-parse', 'main^{tree}');
    git(r, 'update-ref', 'refs/heads/main', execFileSync('git', ['commit-tree', tree, '-p', tip, '-m', 'later'], { cwd: r, env: testEnv(), input: '' }).toString().trim());
    git(r, 'tag', 'late-blob', late);
    // Every pack replaced by one, the loose object packed and removed: the old packs' files are gone.
    git(r, 'repack', '-adq');
    git(r, 'prune-packed');
    expect(fs.existsSync(path.join(r, '.git', 'objects', late.slice(0, 2), late.slice(2)))).toBe(false);
    expect(idxFiles(r)).toHaveLength(1);
    expect(s.read(late, 'blob').content.toString()).toBe('written later\n');
    // Objects of the replaced packs are found too (in the new pack or through the descriptors held open).
    const other = packOids(idxFiles(r)[0] as string)[7] as string;
    expect(s.read(other).content.equals(catFile(r, other))).toBe(true);
  });

  it('finds objects through alternates, their pack indexes read in place too', () => {
    const r = tmpRepo();
    fs.writeFileSync(path.join(r, '.git', 'objects', 'info', 'alternates'), `${path.join(repo, '.git', 'objects')}\n`);
    const s = new ObjectStore(path.join(r, '.git', 'objects'));
    const oids = packOids(idxFiles(repo)[3] as string);
    const oid = oids[oids.length >> 2] as string;
    expect(s.read(oid).content.equals(catFile(repo, oid))).toBe(true);
    expect(s.read(loose[0] as string).content.toString()).toBe('loose one\n');
    expect(s.stats().idxBytesRead).toBeGreaterThan(0);
    expect(s.stats().idxBytesRead).toBeLessThan(idxBytes(repo) / 10);
  });
});
