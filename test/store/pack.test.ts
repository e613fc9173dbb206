import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackStore, type ObjectType, type RawObject } from '../../src/store/pack.js';

// Hermetic git: no user/system config may change pack layout or defaults.
const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function git(cwd: string, args: string[], input?: string | Buffer): Buffer {
  return execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

const tmpRoots: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-pack-test-'));
  tmpRoots.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

/** Deterministic pseudo-random text so deltas are real but reproducible. */
function lines(seed: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(crypto.createHash('sha1').update(`${seed}:${i}`).digest('hex'));
  return out;
}

/**
 * A fast-import stream of `count` commits starting at `from`, each changing a
 * few lines of files large enough that git deltifies them; a >64 KiB file
 * makes git emit copy ops of exactly 0x10000 (encoded as size 0).
 */
function history(start: number, count: number, from: string | null): string {
  const small = lines('small', 200);
  const big = lines('big', 2500); // ~100 KiB
  const bin = crypto.createHash('sha256').update('bin').digest();
  let s = '';
  const data = (text: string | Buffer): string => {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
    return `data ${b.length}\n${b.toString('latin1')}\n`;
  };
  let parent = from;
  for (let i = start; i < start + count; i++) {
    small[i % small.length] = `changed ${i}`;
    big[(i * 37) % big.length] = `edit ${i}`;
    const binary = Buffer.alloc(4096);
    for (let j = 0; j < binary.length; j++) binary[j] = bin[(j + (j >> 5)) % bin.length] ?? 0;
    binary.writeUInt32BE(i, (i * 64) % 4000);
    const mark = i + 1;
    s += `commit refs/heads/main\nmark :${mark}\ncommitter Test <test@example.com> ${1_700_000_000 + i} +0000\n`;
    s += data(`commit ${i}\n`);
    if (parent !== null) s += `from ${parent}\n`;
    s += `M 100644 inline small.txt\n${data(small.join('\n') + '\n')}`;
    s += `M 100644 inline dir/sub/big.txt\n${data(big.join('\n') + '\n')}`;
    s += `M 100644 inline bin.dat\n${data(binary)}`;
    s += `M 100644 inline dir/n${i % 7}.txt\n${data(`note ${i}\n`)}`;
    if (i === start) s += `M 100644 inline empty\n${data('')}`;
    if (i % 25 === 0) s += `tag v${i}\nfrom :${mark}\ntagger Test <test@example.com> ${1_700_000_000 + i} +0000\n${data(`release ${i}\n`)}`;
    parent = `:${mark}`;
  }
  return s;
}

function makeRepo(commits: number): string {
  const dir = tmpdir();
  git(dir, ['init', '-q', '-b', 'main']);
  // latin1 round-trips the binary blob bytes through the string stream.
  git(dir, ['fast-import', '--quiet'], Buffer.from(history(0, commits, null), 'latin1'));
  return dir;
}

interface GitObject {
  oid: string;
  type: ObjectType;
  content: Buffer;
}

function allObjects(repo: string): GitObject[] {
  const out = git(repo, ['cat-file', '--batch-all-objects', '--batch']);
  return parseBatch(out);
}

function parseBatch(out: Buffer): GitObject[] {
  const objs: GitObject[] = [];
  let p = 0;
  while (p < out.length) {
    const nl = out.indexOf(10, p);
    const [oid, type, size] = out.subarray(p, nl).toString().split(' ');
    const n = Number(size);
    objs.push({ oid: oid as string, type: type as ObjectType, content: out.subarray(nl + 1, nl + 1 + n) });
    p = nl + 1 + n + 1;
  }
  return objs;
}

function packFiles(repo: string): string[] {
  const dir = path.join(repo, '.git/objects/pack');
  return fs.readdirSync(dir).filter((n) => n.endsWith('.pack')).map((n) => path.join(dir, n));
}

interface PackEntry {
  oid: string;
  type: string;
  sizeInPack: number;
  offset: number;
  depth: number;
  base: string | null;
}

function verifyPack(packPath: string): PackEntry[] {
  const out = execFileSync('git', ['verify-pack', '-v', packPath], { env: GIT_ENV, maxBuffer: 1 << 28 }).toString();
  const entries: PackEntry[] = [];
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{40}) (\w+)\s+(\d+) (\d+) (\d+)(?: (\d+) ([0-9a-f]{40}))?$/.exec(line);
    if (!m) continue;
    entries.push({
      oid: m[1] as string,
      type: m[2] as string,
      sizeInPack: Number(m[4]),
      offset: Number(m[5]),
      depth: m[6] ? Number(m[6]) : 0,
      base: m[7] ?? null,
    });
  }
  return entries;
}

/** The raw entry type (1-4, 6 = OFS_DELTA, 7 = REF_DELTA) and REF_DELTA base straight from the pack bytes. */
function rawEntry(pack: Buffer, offset: number): { code: number; refBase: string | null } {
  let p = offset;
  let c = pack[p++] ?? 0;
  const code = (c >> 4) & 7;
  while (c & 0x80) c = pack[p++] ?? 0;
  return { code, refBase: code === 7 ? pack.subarray(p, p + 20).toString('hex') : null };
}

function mismatches(store: PackStore, objs: GitObject[]): string[] {
  const bad: string[] = [];
  for (const o of objs) {
    const got = store.read(o.oid);
    if (!got) bad.push(`${o.oid}: missing`);
    else if (got.type !== o.type) bad.push(`${o.oid}: type ${got.type} != ${o.type}`);
    else if (!got.content.equals(o.content)) bad.push(`${o.oid}: content differs`);
  }
  return bad;
}

function writeIdxV2(entries: { oid: string; offset: number }[], packChecksum: Buffer): Buffer {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const buf = Buffer.alloc(8 + 1024 + n * 28 + 40);
  buf.writeUInt32BE(0xff744f63, 0);
  buf.writeUInt32BE(2, 4);
  const counts = new Array<number>(256).fill(0);
  for (const e of sorted) counts[parseInt(e.oid.slice(0, 2), 16)]! += 1;
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += counts[i] ?? 0;
    buf.writeUInt32BE(acc, 8 + i * 4);
  }
  sorted.forEach((e, i) => {
    Buffer.from(e.oid, 'hex').copy(buf, 8 + 1024 + i * 20);
    // crc32 left zero: readers of objects do not check it
    buf.writeUInt32BE(e.offset, 8 + 1024 + n * 24 + i * 4);
  });
  packChecksum.copy(buf, 8 + 1024 + n * 28);
  crypto.createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest().copy(buf, buf.length - 20);
  return buf;
}

describe('PackStore', () => {
  let repo: string;
  let objects: GitObject[];

  beforeAll(() => {
    repo = makeRepo(150);
    git(repo, ['repack', '-adf', '--depth=50', '--window=250']);
    git(repo, ['prune-packed']);
    objects = allObjects(repo);
  });

  it('reads every object of an aggressively deltified (OFS_DELTA) pack exactly as git does', () => {
    const packs = packFiles(repo);
    expect(packs).toHaveLength(1);
    const packPath = packs[0] as string;
    const entries = verifyPack(packPath);
    expect(entries).toHaveLength(objects.length);
    const deltified = entries.filter((e) => e.depth > 0);
    expect(deltified.length).toBeGreaterThan(objects.length / 3);
    expect(Math.max(...entries.map((e) => e.depth))).toBeGreaterThan(10);
    const bytes = fs.readFileSync(packPath);
    const codes = new Set(entries.map((e) => rawEntry(bytes, e.offset).code));
    expect(codes.has(6)).toBe(true);
    expect(codes.has(7)).toBe(false);
    expect(new Set(objects.map((o) => o.type))).toEqual(new Set(['commit', 'tree', 'blob', 'tag']));

    const store = new PackStore(path.join(repo, '.git/objects'));
    expect(mismatches(store, objects)).toEqual([]);
    // Second pass hits the base cache; results must not have been mutated by earlier callers.
    const first = objects[0] as GitObject;
    const got = store.read(first.oid) as RawObject;
    got.content.fill(0);
    expect(mismatches(store, objects)).toEqual([]);
  });

  it('reads large packs through bounded file reads the same way', () => {
    const store = new PackStore(path.join(repo, '.git/objects'), undefined, { maxWholePackBytes: 0 });
    expect(mismatches(store, objects)).toEqual([]);
    store.close();
  });

  it('reads a REF_DELTA pack written by pack-objects without --delta-base-offset', () => {
    const r = makeRepo(80);
    git(r, ['repack', '-adf']);
    const expected = allObjects(r);
    const packDir = path.join(r, '.git/objects/pack');
    const revs = git(r, ['rev-list', '--objects', '--all']);
    // Written aside first: pack-objects needs the old pack to read from.
    const staging = tmpdir();
    git(r, ['pack-objects', '-q', '--window=50', '--depth=50', path.join(staging, 'pack')], revs);
    for (const f of fs.readdirSync(packDir)) fs.rmSync(path.join(packDir, f));
    for (const f of fs.readdirSync(staging)) fs.renameSync(path.join(staging, f), path.join(packDir, f));
    const packs = packFiles(r);
    expect(packs).toHaveLength(1);
    const bytes = fs.readFileSync(packs[0] as string);
    const entries = verifyPack(packs[0] as string);
    expect(entries).toHaveLength(expected.length);
    const codes = entries.map((e) => rawEntry(bytes, e.offset).code);
    expect(codes.filter((c) => c === 7).length).toBeGreaterThan(expected.length / 3);
    expect(codes.includes(6)).toBe(false);

    const store = new PackStore(path.join(r, '.git/objects'));
    expect(mismatches(store, expected)).toEqual([]);
    const windowed = new PackStore(path.join(r, '.git/objects'), undefined, { maxWholePackBytes: 0 });
    expect(mismatches(windowed, expected)).toEqual([]);
    windowed.close();
  });

  it('reads version 1 indexes and v2 indexes that use the 64-bit offset table', () => {
    const packPath = packFiles(repo)[0] as string;
    for (const indexVersion of ['1', '2,0']) {
      const objDir = tmpdir();
      const dir = path.join(objDir, 'pack');
      fs.mkdirSync(dir);
      const base = path.basename(packPath, '.pack');
      fs.copyFileSync(packPath, path.join(dir, `${base}.pack`));
      git(dir, ['index-pack', `--index-version=${indexVersion}`, '-o', `${base}.idx`, `${base}.pack`]);
      const idx = fs.readFileSync(path.join(dir, `${base}.idx`));
      if (indexVersion === '1') expect(idx.readUInt32BE(0)).not.toBe(0xff744f63);
      // off32 limit 0 pushes every offset into the large-offset table.
      else expect(idx.length).toBe(8 + 1024 + objects.length * 36 + 40);
      expect(mismatches(new PackStore(objDir), objects)).toEqual([]);
    }
  });

  it('resolves thin-pack REF_DELTA bases from other packs and from the fallback', () => {
    const r = makeRepo(60);
    git(r, ['repack', '-adf']);
    const baseCommit = git(r, ['rev-parse', 'main']).toString().trim();
    const basePack = packFiles(r)[0] as string;
    git(r, ['fast-import', '--quiet'], Buffer.from(history(60, 20, baseCommit), 'latin1'));
    const expected = new Map(allObjects(r).map((o) => [o.oid, o]));

    const thin = git(r, ['pack-objects', '--thin', '--stdout', '--revs', '-q'], `main\n^${baseCommit}\n`);
    // index-pack --fix-thin appends the missing bases but leaves the thin pack's entries where they were.
    const fixedName = git(r, ['index-pack', '--stdin', '--fix-thin'], thin).toString().trim().split(/\s+/).pop() as string;
    const fixedPack = path.join(r, '.git/objects/pack', `pack-${fixedName}.pack`);
    const thinEntries = verifyPack(fixedPack).filter((e) => e.offset < thin.length - 20);
    expect(thinEntries.length).toBe(thin.readUInt32BE(8));
    const external = thinEntries
      .map((e) => rawEntry(thin, e.offset).refBase)
      .filter((b): b is string => b !== null && !thinEntries.some((e) => e.oid === b));
    expect(external.length).toBeGreaterThan(0);

    const thinName = `pack-${crypto.randomBytes(20).toString('hex')}`;
    const install = (objDir: string): void => {
      fs.mkdirSync(path.join(objDir, 'pack'), { recursive: true });
      fs.writeFileSync(path.join(objDir, 'pack', `${thinName}.pack`), thin);
      fs.writeFileSync(path.join(objDir, 'pack', `${thinName}.idx`), writeIdxV2(thinEntries, thin.subarray(thin.length - 20)));
    };
    const want = thinEntries.map((e) => expected.get(e.oid) as GitObject);

    // Bases in a sibling pack.
    const withBase = tmpdir();
    install(withBase);
    const bp = path.basename(basePack, '.pack');
    fs.copyFileSync(basePack, path.join(withBase, 'pack', `${bp}.pack`));
    fs.copyFileSync(basePack.replace(/\.pack$/, '.idx'), path.join(withBase, 'pack', `${bp}.idx`));
    expect(mismatches(new PackStore(withBase), want)).toEqual([]);

    // Bases only loose: the fallback supplies them.
    const alone = tmpdir();
    install(alone);
    const asked: string[] = [];
    const fallback = (oid: string): RawObject | null => {
      asked.push(oid);
      const o = expected.get(oid);
      return o ? { type: o.type, content: o.content } : null;
    };
    expect(mismatches(new PackStore(alone, fallback), want)).toEqual([]);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((oid) => external.includes(oid))).toBe(true);

    const needsBase = thinEntries.find((e) => external.includes(rawEntry(thin, e.offset).refBase ?? '')) as PackEntry;
    expect(() => new PackStore(alone).read(needsBase.oid)).toThrow(needsBase.oid);
  });

  it('returns null for missing objects, answers has(), and ignores stray files', () => {
    const objDir = path.join(repo, '.git/objects');
    const packDir = path.join(objDir, 'pack');
    const base = path.basename(packFiles(repo)[0] as string, '.pack');
    fs.writeFileSync(path.join(packDir, `${base}.keep`), 'keep\n');
    fs.writeFileSync(path.join(packDir, `${base}.bitmap`), 'junk');
    fs.writeFileSync(path.join(packDir, `${base}.rev`), 'junk');
    fs.writeFileSync(path.join(packDir, 'tmp_pack_abc'), 'junk');
    fs.writeFileSync(path.join(packDir, `pack-${'0'.repeat(40)}.idx`), 'idx without a pack');
    try {
      const store = new PackStore(objDir);
      const missing = 'f'.repeat(40);
      expect(store.read(missing)).toBeNull();
      expect(store.has(missing)).toBe(false);
      expect(store.read('0'.repeat(40))).toBeNull();
      const some = objects[objects.length >> 1] as GitObject;
      expect(store.has(some.oid)).toBe(true);
      expect(store.read(some.oid)?.content.equals(some.content)).toBe(true);
      expect(() => store.read('not-an-oid')).toThrow(TypeError);
      expect(new PackStore(path.join(tmpdir(), 'no-such-objects')).read(some.oid)).toBeNull();
    } finally {
      for (const f of [`${base}.keep`, `${base}.bitmap`, `${base}.rev`, 'tmp_pack_abc', `pack-${'0'.repeat(40)}.idx`]) {
        fs.rmSync(path.join(packDir, f));
      }
    }
  });

  it('finds objects in packs that appear after construction', () => {
    const r = makeRepo(30);
    git(r, ['repack', '-adf']);
    const store = new PackStore(path.join(r, '.git/objects'));
    const before = new Set(allObjects(r).map((o) => o.oid));
    expect(mismatches(store, allObjects(r))).toEqual([]);

    const tip = git(r, ['rev-parse', 'main']).toString().trim();
    const blob = git(r, ['hash-object', '-w', '--stdin'], 'brand new content\n').toString().trim();
    const tree = git(r, ['mktree'], `100644 blob ${blob}\tnew.txt\n`).toString().trim();
    const commit = git(r, ['commit-tree', tree, '-p', tip, '-m', 'later']).toString().trim();
    git(r, ['update-ref', 'refs/heads/main', commit]);
    expect(store.read(commit)).toBeNull(); // loose for now: not in any pack
    git(r, ['repack', '-d']);
    git(r, ['prune-packed']);
    expect(packFiles(r)).toHaveLength(2);

    const fresh = allObjects(r).filter((o) => !before.has(o.oid));
    expect(fresh.map((o) => o.oid).sort()).toEqual([blob, tree, commit].sort());
    expect(mismatches(store, fresh)).toEqual([]);
    expect(store.has(blob)).toBe(true);
  });

  it('throws naming the object when pack data is corrupt', () => {
    const packPath = packFiles(repo)[0] as string;
    const entries = verifyPack(packPath);
    const bytes = fs.readFileSync(packPath);
    const victim = entries.find((e) => e.depth === 0 && e.type === 'blob' && e.sizeInPack > 200) as PackEntry;
    expect(victim).toBeDefined();
    const dependant = entries.find((e) => e.base === victim.oid);

    for (const maxWholePackBytes of [undefined, 0]) {
      const objDir = tmpdir();
      fs.mkdirSync(path.join(objDir, 'pack'));
      const base = path.basename(packPath, '.pack');
      const corrupt = Buffer.from(bytes);
      const at = victim.offset + (victim.sizeInPack >> 1);
      corrupt[at] = (corrupt[at] ?? 0) ^ 0x5a;
      fs.writeFileSync(path.join(objDir, 'pack', `${base}.pack`), corrupt);
      fs.copyFileSync(packPath.replace(/\.pack$/, '.idx'), path.join(objDir, 'pack', `${base}.idx`));
      const store = new PackStore(objDir, undefined, maxWholePackBytes === undefined ? undefined : { maxWholePackBytes });
      expect(() => store.read(victim.oid)).toThrow(victim.oid);
      if (dependant) expect(() => store.read(dependant.oid)).toThrow(dependant.oid);
      // Objects that do not touch the damaged entry still read fine.
      const intact = objects.find((o) => o.type === 'commit') as GitObject;
      expect(store.read(intact.oid)?.content.equals(intact.content)).toBe(true);

      // A flipped type bit inflates cleanly; only the hash check can catch it.
      const retyped = Buffer.from(bytes);
      retyped[victim.offset] = ((retyped[victim.offset] ?? 0) & 0x8f) | (2 << 4); // blob -> tree
      fs.writeFileSync(path.join(objDir, 'pack', `${base}.pack`), retyped);
      const store2 = new PackStore(objDir, undefined, maxWholePackBytes === undefined ? undefined : { maxWholePackBytes });
      expect(() => store2.read(victim.oid)).toThrow(victim.oid);
      store.close();
      store2.close();
    }
  });
});
