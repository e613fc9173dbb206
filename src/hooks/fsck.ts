/**
 * The pre-receive hook's first pass over a push (README "Hooks"): every
 * commit, tree and blob the push brings to the state branch is read through
 * `git cat-file`, its size asked first, and parsed strictly, so a hostile
 * push costs bounded time and memory: a zlib bomb is refused on its header,
 * a tree nested thousands deep at the depth limit, a commit with thousands
 * of parents or a huge message on its size. Trees are checked as git's fsck
 * does (order, duplicates, modes, `.git`-like names), plus the state
 * layout's own rule: only plain files (100644) and folders. What passes is
 * kept in memory for validate.ts, which then reads only checked objects and
 * the state branch's own history.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Commit, Identity } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { isTreeMode, type TreeEntry } from '../store/tree.js';
import { LIMITS as INPUT_LIMITS } from '../model/validate.js';

/** Bounds on what one push may bring to the state branch. */
export const PUSH_LIMITS = {
  /** One commit object; orc's own hold a one-line summary and the op's input (at most ~200 KB). */
  commitBytes: 1 << 20,
  /** The subject line (orc writes at most 200 characters). */
  subjectChars: 1000,
  /** Parents of one commit: orc writes one, a `git pull` merge two. */
  parents: 8,
  /** One tree object (a shard of tasks, the agents folder). */
  treeBytes: 8 << 20,
  /** One file of the state (knowledge is at most 1 MiB; rendered plans can be larger). */
  blobBytes: 16 << 20,
  /** Folder depth: knowledge topics are at most 200 characters, so at most 101 levels. */
  depth: 2 + Math.ceil(INPUT_LIMITS.name / 2),
  /** All objects one push brings, read and kept for the checks. */
  totalBytes: 128 << 20,
  objects: 200_000,
  /** Commits one push brings (a new branch: its whole history). */
  commits: 100_000,
};

/** An object id of this repository's format: 40 hex digits (SHA-1) or 64 (SHA-256), lower case as git writes them. */
export function isObjectId(s: unknown, hexLen = 40): s is string {
  return typeof s === 'string' && s.length === hexLen && /^[0-9a-f]+$/.test(s) && !/^0+$/.test(s);
}

/** Shown in messages: at most 60 characters of an untrusted value, as JSON. */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : String(JSON.stringify(v));
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

// ---------------------------------------------------------------- names, as git's fsck sees them

// Code points HFS+ ignores when it compares names (git's fsck skips them too): ZWNJ..RLM, LRE..RLO, ISS..NODS, BOM.
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;
const DOT_FILES = ['.git', '.gitmodules', '.gitattributes', '.gitignore', '.mailmap'];
// NTFS 8.3 short names: the first six characters and ~1..~4, or git's hashed fall-back prefix.
const SHORT_NAMES: [string, string][] = [
  ['gitmod', 'gi7eba'],
  ['gitatt', 'gi7d29'],
  ['gitign', 'gi250a'],
  ['mailma', 'maba30'],
];
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function ntfsFlagged(component: string): boolean {
  // NTFS drops trailing dots and spaces, and ':' starts an alternate data stream.
  const c = asciiLower(component.split(':')[0]!.replace(/[. ]+$/, ''));
  if (DOT_FILES.includes(c) || c === 'git~1') return true;
  for (const [six, hashed] of SHORT_NAMES) {
    if (new RegExp(`^${six}~[1-4]$`).test(c)) return true;
    const m = /^([^~]{1,6})~([1-9][0-9]*)$/.exec(c);
    if (m && c.length === 8 && hashed.startsWith(m[1]!)) return true;
  }
  return false;
}

/** Why git's fsck (or a checkout on another system) would refuse a tree entry named `name`, or null. */
export function badEntryName(name: string): string | null {
  if (name === '') return 'has an entry with an empty name';
  if (name === '.' || name === '..') return `has an entry named ${shown(name)}`;
  if (name.includes('/')) return `has an entry ${shown(name)} whose name contains '/'`;
  const hfs = asciiLower(name.replace(HFS_IGNORABLE, ''));
  if (DOT_FILES.includes(hfs) || name.split('\\').some(ntfsFlagged)) {
    return `has an entry ${shown(name)}, which some file system takes for .git or one of git's own files (git fsck: hasDotgit)`;
  }
  return null;
}

// ---------------------------------------------------------------- strict parsers

const MODES = new Set(['100644', '100755', '120000', '160000', '40000']);

/** A tree object's entries, or the first reason git's fsck (or the state layout) refuses it. */
export function parseTreeStrict(content: Buffer, hexLen: number): TreeEntry[] | string {
  const idBytes = hexLen / 2;
  const out: TreeEntry[] = [];
  const names = new Set<string>();
  let prevKey: Buffer | null = null;
  let i = 0;
  while (i < content.length) {
    const sp = content.indexOf(0x20, i);
    const nul = sp < 0 ? -1 : content.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 1 + idBytes > content.length) return 'is malformed (an entry is cut short)';
    const mode = content.toString('latin1', i, sp);
    const rawName = content.subarray(sp + 1, nul);
    const name = rawName.toString('utf8');
    const oid = content.toString('hex', nul + 1, nul + 1 + idBytes);
    i = nul + 1 + idBytes;
    if (!/^[0-7]+$/.test(mode)) return `has an entry ${shown(name)} with mode ${shown(mode)}, which is not a mode`;
    if (mode.startsWith('0')) return `has an entry ${shown(name)} with a zero-padded mode ${mode} (git fsck: zeroPaddedFilemode)`;
    if (!MODES.has(mode)) return `has an entry ${shown(name)} with mode ${mode}, which git does not know (git fsck: badFilemode)`;
    const bad = badEntryName(name);
    if (bad) return bad;
    if (/^0+$/.test(oid)) return `has an entry ${shown(name)} with the null object id (git fsck: nullSha1)`;
    const rawKey = rawName.toString('latin1');
    if (names.has(rawKey)) return `has the entry ${shown(name)} twice (git fsck: duplicateEntries)`;
    names.add(rawKey);
    const key = isTreeMode(mode) ? Buffer.concat([rawName, Buffer.from('/')]) : rawName;
    if (prevKey && Buffer.compare(prevKey, key) >= 0) return `has its entries out of git's order at ${shown(name)} (git fsck: treeNotSorted)`;
    prevKey = key;
    if (mode === '120000') return `has a symbolic link ${shown(name)}; the state holds plain files and folders`;
    if (mode === '160000') return `has a submodule (gitlink) ${shown(name)}; the state holds plain files and folders`;
    if (mode === '100755') return `has an executable file ${shown(name)}; state files are plain files (100644)`;
    out.push({ mode, name, oid });
  }
  return out;
}

const IDENT = /^([^<>\n]*) <([^<>\n]*)> (\d{1,15}) ([+-]\d{4})$/;

function parseIdentStrict(s: string): Identity | null {
  const m = IDENT.exec(s);
  if (!m) return null;
  return { name: m[1]!.trim(), email: m[2]!, time: Number(m[3]), tz: m[4]! };
}

/** A commit object, or the first reason to refuse it: git's fsck order of headers, ids of this format, and orc's bounds. */
export function parseCommitStrict(content: Buffer, hexLen: number): Commit | string {
  const end = content.indexOf('\n\n');
  if (end < 0) return 'has no message (its headers do not end)';
  const head = content.toString('utf8', 0, end).split('\n');
  const message = content.toString('utf8', end + 2);
  const idLine = (line: string | undefined, key: string): string | null => {
    if (!line?.startsWith(`${key} `)) return null;
    const v = line.slice(key.length + 1);
    return isObjectId(v, hexLen) ? v : null;
  };
  let n = 0;
  const tree = idLine(head[n++], 'tree');
  if (!tree) return `does not begin with "tree <id>" (git fsck: missingTree/badTreeSha1)`;
  const parents: string[] = [];
  while (head[n]?.startsWith('parent ')) {
    const p = idLine(head[n++], 'parent');
    if (!p) return `has a parent line that is not "parent <id>" (git fsck: badParentSha1)`;
    parents.push(p);
    if (parents.length > PUSH_LIMITS.parents) return `has more than ${PUSH_LIMITS.parents} parents; the state branch takes single-parent commits and small merges`;
  }
  const author = head[n]?.startsWith('author ') ? parseIdentStrict(head[n++]!.slice(7)) : null;
  if (!author) return 'has no valid "author Name <email> time zone" line after its parents (git fsck: missingAuthor/badDate)';
  const committer = head[n]?.startsWith('committer ') ? parseIdentStrict(head[n++]!.slice(10)) : null;
  if (!committer) return 'has no valid "committer Name <email> time zone" line after its author (git fsck: missingCommitter/badDate)';
  for (; n < head.length; n++) {
    const line = head[n]!;
    if (line.startsWith(' ')) continue; // continuation of gpgsig or mergetag
    if (!/^(encoding|gpgsig|gpgsig-sha256|mergetag) /.test(line)) return `has an unexpected header ${shown(line.split(' ')[0])}`;
  }
  const subject = message.split('\n', 1)[0] ?? '';
  if (subject.length > PUSH_LIMITS.subjectChars) return `has a subject of ${subject.length} characters; the limit is ${PUSH_LIMITS.subjectChars}`;
  if (message.includes('\0')) return 'has a NUL byte in its message (git fsck: nulInCommit)';
  return { tree, parents, author, committer, message };
}

// ---------------------------------------------------------------- reading objects through git

interface Pending {
  resolve(v: { type: string; size: number; content: Buffer | null } | null): void;
  reject(e: Error): void;
  contents: boolean;
}

/**
 * One `git cat-file --batch-command` for the hook's whole run: `info` asks an
 * object's type and size (git reads only its header), `contents` reads it.
 * It sees the push's quarantined objects through the hook's environment.
 * Ids are checked before they are sent, so nothing else reaches git.
 */
export class CatFile {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private body: { buf: Buffer; got: number; head: { type: string; size: number } } | null = null;
  private failed: Error | null = null;

  constructor(
    cwd: string,
    env: NodeJS.ProcessEnv,
    readonly hexLen: number,
  ) {
    this.proc = spawn('git', ['cat-file', '--batch-command'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => this.pump(d));
    let err = '';
    this.proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-500)));
    const fail = (why: string) => {
      this.failed = new Error(`git cat-file --batch-command ${why}${err ? `: ${err.trim()}` : ''} (the guard needs git 2.36 or later on the server)`);
      for (const p of this.queue.splice(0)) p.reject(this.failed);
    };
    this.proc.on('error', (e) => fail(e.message));
    this.proc.on('exit', (code) => fail(`exited (${code})`));
    this.proc.stdin.on('error', () => undefined);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  private pump(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.body) {
        const b = this.body;
        const want = b.buf.length - b.got;
        const piece = this.take(Math.min(want, this.buffered));
        piece.copy(b.buf, b.got);
        b.got += piece.length;
        if (b.got < b.buf.length) return;
        this.body = null;
        this.queue.shift()!.resolve({ ...b.head, content: b.buf.subarray(0, b.head.size) });
        continue;
      }
      if (!this.queue.length || !this.buffered) return;
      const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [joined];
      const nl = joined.indexOf(10);
      if (nl < 0) return;
      const line = this.take(nl + 1).toString('latin1').trim();
      const p = this.queue[0]!;
      const f = line.split(' ');
      if (f[1] === 'missing' || f.length !== 3) {
        this.queue.shift()!.resolve(null);
        continue;
      }
      const head = { type: f[1]!, size: Number(f[2]) };
      if (!p.contents) {
        this.queue.shift()!.resolve({ ...head, content: null });
        continue;
      }
      this.body = { buf: Buffer.allocUnsafe(head.size + 1), got: 0, head }; // the content, then git's newline
    }
  }

  private ask(cmd: 'info' | 'contents', oid: string): Promise<{ type: string; size: number; content: Buffer | null } | null> {
    if (!isObjectId(oid, this.hexLen)) return Promise.reject(new Error(`${shown(oid)} is not an object id`));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, contents: cmd === 'contents' });
      this.proc.stdin.write(`${cmd} ${oid}\n`);
    });
  }

  /** The object's type and size, or null when the repository lacks it. */
  async info(oid: string): Promise<{ type: string; size: number } | null> {
    const r = await this.ask('info', oid);
    return r && { type: r.type, size: r.size };
  }

  /** The object's content: call only after `info` said its size is acceptable. */
  async contents(oid: string): Promise<Buffer> {
    const r = await this.ask('contents', oid);
    if (!r?.content) throw new Error(`git object ${oid} vanished while it was read`);
    return r.content;
  }

  close(): void {
    this.proc.removeAllListeners('exit');
    this.proc.stdin.end();
  }
}

// ---------------------------------------------------------------- the first pass

/**
 * The objects of a push that passed the first pass, and the state branch's
 * history below them: what validate.ts reads. Objects outside the push come
 * from the repository, where the branch's earlier commits were checked when
 * they were pushed.
 */
export class PushObjects {
  readonly commits = new Map<string, Commit>();
  readonly trees = new Map<string, TreeEntry[]>();
  readonly blobs = new Map<string, Buffer>();
  /** Height of each checked tree (its deepest folder below it), for the depth limit when one is reused elsewhere. */
  readonly heights = new Map<string, number>();

  constructor(
    private readonly store: GitStore,
    readonly hexLen: number,
  ) {}

  commit(oid: string): Commit {
    return this.commits.get(oid) ?? this.store.readCommit(this.known(oid));
  }

  tree(oid: string): TreeEntry[] {
    return this.trees.get(oid) ?? this.store.readTree(this.known(oid));
  }

  blob(oid: string): Buffer {
    return this.blobs.get(oid) ?? this.store.objects.read(this.known(oid), 'blob').content;
  }

  private known(oid: string): string {
    if (!isObjectId(oid, this.hexLen)) throw new Error(`${shown(oid)} is not an object id`);
    return oid;
  }
}

/**
 * Reads and checks every object `commits` (parents first) bring that their
 * first parents do not already hold at the same path. Returns the first
 * problem found (the push is refused then), or null.
 */
export async function inspectPush(cat: CatFile, objects: PushObjects, commits: string[]): Promise<string | null> {
  if (commits.length > PUSH_LIMITS.commits) return `brings ${commits.length} commits; the limit is ${PUSH_LIMITS.commits} per push`;
  const hexLen = objects.hexLen;
  let total = 0;
  let count = 0;
  const budget = (size: number): string | null => {
    total += size;
    count += 1;
    if (total > PUSH_LIMITS.totalBytes) return `brings more than ${PUSH_LIMITS.totalBytes >> 20} MiB of objects to the state branch; push fewer commits at once`;
    if (count > PUSH_LIMITS.objects) return `brings more than ${PUSH_LIMITS.objects} objects to the state branch; push fewer commits at once`;
    return null;
  };
  const read = async (oid: string, type: string, limit: number): Promise<Buffer | string> => {
    if (!isObjectId(oid, hexLen)) return `names ${shown(oid)}, which is not an object id`;
    const info = await cat.info(oid);
    if (!info) return `names ${type} ${oid}, which the push does not contain`;
    if (info.type !== type) return `names ${oid} as a ${type}, but it is a ${info.type}`;
    if (info.size > limit) return `names ${type} ${oid} of ${info.size} bytes; the limit is ${limit}`;
    return budget(info.size) ?? (await cat.contents(oid));
  };

  /** Checks tree `oid` at `path` against the tree its first parent has there; returns its height or a problem. */
  const walk = async (oid: string, old: string | null, depth: number, path: string): Promise<number | string> => {
    if (oid === old) return 0;
    const where = path || 'the root tree';
    const known = objects.heights.get(oid);
    if (known !== undefined) {
      return depth + known > PUSH_LIMITS.depth ? `has folders nested deeper than ${PUSH_LIMITS.depth} levels (at ${path})` : known;
    }
    if (depth > PUSH_LIMITS.depth) return `has folders nested deeper than ${PUSH_LIMITS.depth} levels (at ${path.slice(0, 120)}…)`;
    const raw = await read(oid, 'tree', PUSH_LIMITS.treeBytes);
    if (typeof raw === 'string') return `${raw} (${where})`;
    const entries = parseTreeStrict(raw, hexLen);
    if (typeof entries === 'string') return `has a tree ${oid.slice(0, 12)} (${where}) that ${entries}`;
    const before = new Map(old ? objects.tree(old).map((e) => [e.name, e]) : []);
    let height = 0;
    for (const e of entries) {
      const o = before.get(e.name);
      if (o && o.oid === e.oid && o.mode === e.mode) continue;
      const p = `${path}${e.name}`;
      if (isTreeMode(e.mode)) {
        const h = await walk(e.oid, o && isTreeMode(o.mode) ? o.oid : null, depth + 1, `${p}/`);
        if (typeof h === 'string') return h;
        height = Math.max(height, h + 1);
      } else if (!objects.blobs.has(e.oid)) {
        const b = await read(e.oid, 'blob', PUSH_LIMITS.blobBytes);
        if (typeof b === 'string') return `${b} (${p})`;
        objects.blobs.set(e.oid, b);
      }
    }
    objects.trees.set(oid, entries);
    objects.heights.set(oid, height);
    return height;
  };

  for (const oid of commits) {
    const short = oid.slice(0, 12);
    const raw = await read(oid, 'commit', PUSH_LIMITS.commitBytes);
    if (typeof raw === 'string') return `commit ${short} ${raw}`;
    const c = parseCommitStrict(raw, hexLen);
    if (typeof c === 'string') return `commit ${short} ${c}`;
    const first = c.parents[0] ?? null;
    const parentTree = first ? objects.commit(first).tree : null;
    const h = await walk(c.tree, parentTree, 0, '');
    if (typeof h === 'string') return `commit ${short} ${h}`;
    objects.commits.set(oid, c);
  }
  return null;
}
