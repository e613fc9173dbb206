/**
 * The object store against hostile and unusual data: ids read from data are
 * checked before use, objects are read with a size cap (a zlib bomb is
 * refused from its header), alternates that point at each other end in a
 * "missing object" error, and every pack git writes is read.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrcError } from '../../src/errors.js';
import { ObjectStore } from '../../src/store/objects.js';
import { parseCommit } from '../../src/store/commit.js';
import { parseTree as parseTreeReal } from '../../src/store/tree.js';
import { ROOT, cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';

afterAll(cleanup);

const objects = (repo: string) => new ObjectStore(path.join(repo, '.git', 'objects'));

function gitIn(cwd: string, args: string[], input?: string | Buffer, env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, input, env: testEnv(env), maxBuffer: 64 << 20 }).toString().trim();
}

/** Commits `files` (path → blob id) on top of the branch orc, with an Orc-Op trailer so orc takes it as its own. */
function commitOnOrc(repo: string, files: Record<string, string>): string {
  const index = path.join(tmpDir('orc-index-'), 'index');
  const env = { GIT_INDEX_FILE: index };
  gitIn(repo, ['read-tree', 'orc'], undefined, env);
  for (const [p, oid] of Object.entries(files)) gitIn(repo, ['update-index', '--add', '--cacheinfo', `100644,${oid},${p}`], undefined, env);
  const tree = gitIn(repo, ['write-tree'], undefined, env);
  const msg = 'by hand\n\nOrc-Op: {"op":"event.log","agent":"x","at":"2026-01-01T00:00:00.000Z","input":{"action":"x"}}\n';
  const c = gitIn(repo, ['commit-tree', tree, '-p', 'orc'], msg);
  git(repo, 'update-ref', 'refs/heads/orc', c);
  return c;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof OrcError ? `${e.code}: ${e.message}` : `other: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('ids read from data are checked before they are used', () => {
  it('parseCommit refuses tree and parent lines that are not 40 hex digits', () => {
    const good = 'a'.repeat(40);
    const mk = (tree: string, parent: string) => Buffer.from(`tree ${tree}\nparent ${parent}\nauthor a <a> 1 +0000\ncommitter a <a> 1 +0000\n\nm\n`);
    expect(parseCommit(mk(good, good)).tree).toBe(good);
    for (const bad of ['../../../dev/zero', `${good}x`, 'A'.repeat(40), good.slice(1), '']) {
      expect(codeOf(() => parseCommit(mk(bad, good), 'c1'))).toMatch(/^CORRUPT: git commit c1/);
      expect(codeOf(() => parseCommit(mk(good, bad), 'c1'))).toMatch(/^CORRUPT: git commit c1/);
    }
  });

  it('parseTree refuses entries named "", ".", ".." or with a slash, and bad modes', () => {
    const entry = (mode: string, name: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.alloc(20, 1)]);
    expect(parseTreeReal(entry('100644', 'a.json'), 't')[0]!.name).toBe('a.json');
    for (const [mode, name] of [['100644', '..'], ['100644', '.'], ['100644', 'a/b'], ['10x644', 'a'], ['100644', '']]) {
      expect(codeOf(() => parseTreeReal(entry(mode!, name!), 't1'))).toMatch(/^CORRUPT: git tree t1/);
    }
  });

  it('ObjectStore refuses an id that is a path before touching the disk', () => {
    const repo = tmpRepo();
    for (const bad of ['../../../dev/zero', '../../HEAD/../../x', 'a'.repeat(39)]) {
      expect(codeOf(() => objects(repo).read(bad))).toMatch(/^CORRUPT: .*not a git object id/);
    }
  });

  it('a state commit whose tree line is ../../../dev/zero: orc status exits 3 naming the commit, reading nothing', () => {
    const repo = tmpRepo();
    orcJson(repo, ['init']);
    const tip = git(repo, 'rev-parse', 'orc');
    const body = `tree ../../../dev/zero\nparent ${tip}\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nx\n\nOrc-Op: {}\n`;
    const bad = gitIn(repo, ['hash-object', '-t', 'commit', '--literally', '-w', '--stdin'], body);
    // git itself refuses to point a ref at it, as a hostile push would not ask: write the ref file.
    fs.writeFileSync(path.join(repo, '.git/refs/heads/orc'), `${bad}\n`);
    const r = orc(repo, ['status']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`git commit ${bad}`);
    expect(r.stderr).toContain('not an object id');
  });
});

describe('objects are read with a size cap', () => {
  // 256 MiB of zeros: a few hundred KB compressed, far past the default cap.
  const bigSize = 256 * 1024 * 1024;
  const repo = tmpRepo();
  const zeros = spawnSync('sh', ['-c', `head -c ${bigSize} /dev/zero | git hash-object -w --stdin`], { cwd: repo, env: testEnv(), encoding: 'utf8' });
  const big = zeros.stdout.trim();

  it('refuses a zlib bomb from its header (loose and packed), in bounded memory, naming the object', () => {
    expect(big).toMatch(/^[0-9a-f]{40}$/);
    const before = process.memoryUsage().arrayBuffers;
    const loose = codeOf(() => objects(repo).read(big, 'blob'));
    expect(loose).toMatch(new RegExp(`^CORRUPT: git object ${big} is ${bigSize} bytes`));
    // Packed: the same refusal, from the pack entry's header.
    const packed = tmpRepo();
    const packDir = path.join(packed, '.git', 'objects', 'pack');
    execFileSync('sh', ['-c', `echo ${big} | git -C '${repo}' pack-objects --stdout | git -C '${packed}' index-pack --stdin`], { env: testEnv() });
    expect(fs.readdirSync(packDir).some((n) => n.endsWith('.idx'))).toBe(true);
    expect(codeOf(() => objects(packed).read(big, 'blob'))).toMatch(new RegExp(`^CORRUPT: git object ${big} is ${bigSize} bytes`));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('reads with a caller-given cap: ObjectStore.read(oid, type, { maxBytes })', () => {
    const r2 = tmpRepo();
    const oid = gitIn(r2, ['hash-object', '-w', '--stdin'], 'x'.repeat(1000));
    expect(objects(r2).read(oid, 'blob', { maxBytes: 1000 }).content.length).toBe(1000);
    expect(codeOf(() => objects(r2).read(oid, 'blob', { maxBytes: 999 }))).toMatch(/^CORRUPT: git object .* is 1000 bytes, more than the 999/);
    // A delta's result is capped as well: two similar blobs, packed with deltas.
    const other = gitIn(r2, ['hash-object', '-w', '--stdin'], `${'x'.repeat(1000)}y`);
    git(r2, 'tag', 'keep1', oid);
    git(r2, 'tag', 'keep2', other);
    git(r2, 'repack', '-adq');
    const s = objects(r2);
    expect(s.read(other, 'blob').content.length).toBe(1001);
    expect(codeOf(() => objects(r2).read(other, 'blob', { maxBytes: 1000 }))).toMatch(/^CORRUPT: git object .* is 1001 bytes/);
    expect(codeOf(() => objects(r2).read(oid, 'blob', { maxBytes: 999 }))).toMatch(/^CORRUPT: git object .* is 1000 bytes/);
  });

  it('a knowledge topic whose blob is the bomb: orc kb read exits 3 naming the object, the other commands go on', () => {
    orcJson(repo, ['init']);
    orcJson(repo, ['kb', 'write', 'small', 'hello']);
    commitOnOrc(repo, { 'knowledge/big.md': big });
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', path.join(ROOT, 'dist', 'cli', 'bin.cjs'), 'kb', 'read', 'big'], { cwd: repo, env: testEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain(big);
    expect(orcJson<{ content: string }>(repo, ['kb', 'read', 'small'])).toMatchObject({ content: 'hello' });
  });
});

describe('alternates', () => {
  it('two repositories whose alternates point at each other: a missing object is reported, not a stack overflow', () => {
    const a = tmpRepo();
    const b = tmpRepo();
    fs.writeFileSync(path.join(a, '.git/objects/info/alternates'), `${path.join(b, '.git/objects')}\n`);
    fs.writeFileSync(path.join(b, '.git/objects/info/alternates'), `${path.join(a, '.git/objects')}\n`);
    const missing = 'deadbeef'.repeat(5);
    expect(objects(a).tryRead(missing)).toBeNull();
    expect(codeOf(() => objects(a).read(missing))).toMatch(new RegExp(`^CORRUPT: git object ${missing} is missing`));
    // An object only the other side has is found through it.
    const onlyB = gitIn(b, ['hash-object', '-w', '--stdin'], 'only in b');
    expect(objects(a).read(onlyB, 'blob').content.toString()).toBe('only in b');

    // Through the command line: the state's root tree goes missing.
    orcJson(a, ['init']);
    const tree = git(a, 'rev-parse', 'orc^{tree}');
    fs.rmSync(path.join(a, '.git/objects', tree.slice(0, 2), tree.slice(2)));
    const r = orc(a, ['status']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`git object ${tree} is missing`);
    expect(r.stderr).not.toMatch(/call stack/i);
  });
});

describe('every pack git writes is read', () => {
  it('after `git maintenance run --task=loose-objects` twice (loose-*.pack) and `git repack -d --write-midx`', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    for (let i = 0; i < 5; i++) orcJson(repo, ['t', 'add', 'W', `task ${i}`]);
    git(repo, 'maintenance', 'run', '--task=loose-objects');
    for (let i = 5; i < 10; i++) orcJson(repo, ['t', 'add', 'W', `task ${i}`]);
    git(repo, 'maintenance', 'run', '--task=loose-objects');
    // Each run first drops loose objects already packed, then packs the rest: a third leaves none loose.
    git(repo, 'maintenance', 'run', '--task=loose-objects');
    const packDir = path.join(repo, '.git/objects/pack');
    expect(fs.readdirSync(packDir).filter((n) => /^loose-.*\.idx$/.test(n)).length).toBeGreaterThan(0);
    const loose = fs.readdirSync(path.join(repo, '.git/objects')).filter((n) => /^[0-9a-f]{2}$/.test(n)).flatMap((d) => fs.readdirSync(path.join(repo, '.git/objects', d)));
    expect(loose).toEqual([]); // everything orc wrote is in loose-*.pack now
    expect(orcJson<unknown[]>(repo, ['t', 'list', 'W'])).toHaveLength(10);
    orcJson(repo, ['t', 'add', 'W', 'after maintenance']);

    git(repo, 'repack', '-dq', '--write-midx');
    expect(fs.existsSync(path.join(packDir, 'multi-pack-index'))).toBe(true);
    expect(orcJson<unknown[]>(repo, ['t', 'list', 'W'])).toHaveLength(11);
    // Every object git lists reads back byte for byte.
    const all = gitIn(repo, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)']).split('\n');
    const s = objects(repo);
    for (const line of all) {
      const [oid, type] = line.split(' ');
      const o = s.read(oid!);
      expect(o.type).toBe(type);
      expect(o.content.equals(execFileSync('git', ['cat-file', type!, oid!], { cwd: repo, env: testEnv(), maxBuffer: 64 << 20 }))).toBe(true);
    }
  });
});

describe('packs are read in bounded memory', () => {
  it('orc status in a repository with three 12 MB packs holds only the objects it reads', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    for (let i = 0; i < 3; i++) orcJson(repo, ['t', 'add', 'W', `task ${i}`]);
    git(repo, 'repack', '-dq'); // orc's objects into a pack of their own
    const packDir = path.join(repo, '.git/objects/pack');
    for (let p = 0; p < 3; p++) {
      const r = spawnSync('sh', ['-c', `oid=$(head -c ${12 << 20} /dev/urandom | git hash-object -w --stdin) && git tag big-${p} $oid && echo $oid | git pack-objects -q '${packDir}/pack' && git prune-packed`], { cwd: repo, env: testEnv(), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(fs.readdirSync(packDir).filter((n) => n.endsWith('.pack')).length).toBe(4);
    const script = `
      const { open } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const before = process.memoryUsage().arrayBuffers;
      const o = await open({ repo: ${JSON.stringify(repo)} });
      const s = await o.status();
      console.log(JSON.stringify({ tasks: s.summary.tasks.pending, buffers: process.memoryUsage().arrayBuffers - before }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: testEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { tasks: number; buffers: number };
    expect(out.tasks).toBe(3);
    // Reading the big packs whole would hold 36 MB of buffers.
    expect(out.buffers).toBeLessThan(8 << 20);
  });
});
