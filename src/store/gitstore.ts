import { crypto, fs, path } from '../node.js';
import { OrcError } from '../errors.js';
import type { DirEntry, StateReader } from '../model/state.js';
import { parseCommit, serializeCommit, type Commit, type Identity } from './commit.js';
import { ObjectStore } from './objects.js';
import { mkdirShared, type SharedPerm } from './perm.js';
import { casRef, readRef, refLockInfo, type CasResult, type RefLockInfo } from './refs.js';
import { readAllPresence, type Presence } from './presence.js';
import type { RepoPaths } from './repo.js';
import { Lru } from './lru.js';
import { applyChanges, entryAt, isTreeMode, parseTree, type FileChanges, type TreeEntry } from './tree.js';

/**
 * The state branch of one repository: reading the state at a commit, writing
 * new commits, and moving the ref by compare-and-swap. Nothing here touches
 * HEAD, the index or a working tree.
 */
export class GitStore {
  readonly objects: ObjectStore;
  private readonly trees = new Lru<TreeEntry[]>(50_000);
  private readonly parsed = new Lru<unknown>(50_000);
  private readonly memos = new Lru<unknown>(100_000);
  private disk: Map<string, unknown> | undefined;
  private diskDirty = false;
  private readonly diskUsed = new Set<string>();

  constructor(
    readonly paths: RepoPaths,
    /** Full ref name, e.g. refs/heads/orc. */
    readonly ref: string,
    private readonly reflog: boolean,
    env: NodeJS.ProcessEnv = process.env,
    /** core.sharedRepository (see SharedPerm): every file and folder written gets git's modes. */
    readonly shared: SharedPerm | null = null,
  ) {
    // As git does: GIT_OBJECT_DIRECTORY moves the object store (a pre-receive hook's quarantine),
    // GIT_ALTERNATE_OBJECT_DIRECTORIES adds folders to read from (the repository's own, there).
    const alternates = (env.GIT_ALTERNATE_OBJECT_DIRECTORIES ?? '').split(path.delimiter).filter(Boolean);
    this.objects = new ObjectStore(env.GIT_OBJECT_DIRECTORY ? path.resolve(env.GIT_OBJECT_DIRECTORY) : path.join(paths.commonDir, 'objects'), alternates, shared);
  }

  /** The branch's commit, or null if it does not exist yet. */
  tip(): string | null {
    return readRef(this.paths.commonDir, this.ref);
  }

  /**
   * Refuses (ENV) a branch that exists but does not hold orc's state: a
   * user's own branch that happens to have orc's branch name. It holds orc
   * state when its tip's tree has `orc.json` at the root with a `format`
   * field (every orc branch gets one with its first commit; an orc.json that
   * is not JSON at all counts too, so the reader can name it as corrupt), or
   * when its tip commit carries an `Orc-Op` trailer.
   */
  checkOwnBranch(): void {
    const tip = this.tip();
    if (!tip) return;
    const c = this.readCommit(tip);
    if (/^Orc-Op: /m.test(c.message)) return;
    const e = this.readTree(c.tree).find((x) => x.name === 'orc.json');
    if (e && !isTreeMode(e.mode)) {
      const text = this.objects.read(e.oid, 'blob', { maxBytes: 1024 * 1024 }).content.toString('utf8');
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return;
      }
      if (v !== null && typeof v === 'object' && 'format' in v) return;
    }
    const name = this.ref.replace(/^refs\/heads\//, '');
    throw new OrcError(
      'ENV',
      `branch ${name} holds files of its own, not orc's state (no orc.json with a format field at its root, no Orc-Op trailer on ${tip.slice(0, 12)}); orc will not write on it: choose another state branch with \`git config orc.branch NAME\``,
      { ref: this.ref, commit: tip },
    );
  }

  readTree(oid: string): TreeEntry[] {
    let t = this.trees.get(oid);
    if (!t) {
      t = parseTree(this.objects.read(oid, 'tree').content, oid);
      this.trees.set(oid, t);
    }
    return t;
  }

  readCommit(oid: string): Commit {
    return parseCommit(this.objects.read(oid, 'commit').content, oid);
  }

  /** The state at `commit` (null: the empty state before the branch exists), with the agents' presence as it is now. */
  snapshot(commit: string | null): Snapshot {
    return new Snapshot(this, commit, commit ? this.readCommit(commit).tree : null);
  }

  /** Every agent's presence (refs/orc/presence/*), read now: one readdir and one small ref file each; objects cached by id. */
  presence(): Map<string, Presence> {
    return readAllPresence(this.paths.commonDir, this.objects);
  }

  parsedBlob<T>(oid: string, parse: (b: Buffer) => T): T {
    let v = this.parsed.get(oid) as T | undefined;
    if (v === undefined) {
      v = parse(this.objects.read(oid, 'blob').content);
      this.parsed.set(oid, v);
    }
    return v;
  }

  /** orc's own files in the git dir: the writer id and the memo cache. Never part of the state. */
  private orcDir(): string {
    return path.join(this.paths.commonDir, 'orc');
  }

  private loadDisk(): Map<string, unknown> {
    if (!this.disk) {
      this.disk = new Map();
      try {
        const data = JSON.parse(fs.readFileSync(path.join(this.orcDir(), 'memo.json'), 'utf8')) as { v?: number; entries?: Record<string, unknown> };
        if (data.v === 1 && data.entries && typeof data.entries === 'object') for (const [k, v] of Object.entries(data.entries)) this.disk.set(k, v);
      } catch {
        /* no cache yet, or unreadable: it is only a cache */
      }
    }
    return this.disk;
  }

  /**
   * A value derived from one immutable git object, computed at most once per
   * process and kept across processes in <git dir>/orc/memo.json (saved by
   * flushMemo). Objects never change, so an entry can never be stale.
   */
  memo<T>(kind: string, oid: string, compute: () => T): T {
    const key = `${kind}:${oid}`;
    let v = this.memos.get(key) as T | undefined;
    if (v === undefined) {
      const disk = this.loadDisk();
      if (disk.has(key)) {
        v = disk.get(key) as T;
      } else {
        v = compute();
        this.diskDirty = true;
      }
      this.memos.set(key, v);
    }
    this.diskUsed.add(key);
    return v;
  }

  /** A memo entry if one was computed (in this process or kept on disk), without computing it; marks it used. */
  peekMemo<T>(kind: string, oid: string): T | undefined {
    const key = `${kind}:${oid}`;
    const v = (this.memos.get(key) ?? this.loadDisk().get(key)) as T | undefined;
    if (v !== undefined) {
      this.memos.set(key, v);
      this.diskUsed.add(key);
    }
    return v;
  }

  /** Saves the memo entries used since the last flush, if any were new; best effort, atomic by rename. */
  flushMemo(): void {
    const used = [...this.diskUsed];
    this.diskUsed.clear();
    if (!this.diskDirty) return;
    this.diskDirty = false;
    const entries: Record<string, unknown> = {};
    for (const k of used) {
      const v = this.memos.get(k);
      if (v !== undefined) entries[k] = v;
    }
    try {
      mkdirShared(this.orcDir(), this.shared);
      const file = path.join(this.orcDir(), 'memo.json');
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ v: 1, entries }));
      this.shared?.adjust(tmp, false);
      fs.renameSync(tmp, file);
      this.disk = new Map(Object.entries(entries));
    } catch {
      /* a read-only repo still works, just without the cache */
    }
  }

  /** Writes the tree `baseTree` + `changes` and a commit of it; returns the commit id. Does not move the ref. */
  writeCommit(baseTree: string | null, changes: FileChanges, parents: string[], author: Identity, message: string): string {
    const tree = applyChanges(this.objects, baseTree, changes, (oid) => this.readTree(oid)) ?? this.objects.write('tree', Buffer.alloc(0));
    return this.objects.write('commit', serializeCommit({ tree, parents, author, committer: author, message }));
  }

  /** Compare-and-swap of the branch (see casRef). */
  cas(expected: string | null, next: string, ident: Identity, summary: string): CasResult {
    return casRef(this.paths.commonDir, this.ref, expected, next, {
      reflog: this.reflog,
      reflogIdent: `${ident.name} <${ident.email}> ${ident.time} ${ident.tz}`,
      reflogMessage: `orc: ${summary}`,
      shared: this.shared,
    });
  }

  lockInfo(): RefLockInfo | null {
    return refLockInfo(this.paths.commonDir, this.ref);
  }

  lockPath(): string {
    return path.join(this.paths.commonDir, `${this.ref}.lock`);
  }

  /**
   * A short id for this repository's writer, kept in the git dir: event
   * segments are named after it, so that two clones never append to the same
   * file and their branches merge cleanly.
   */
  writerId(): string {
    const file = path.join(this.orcDir(), 'writer-id');
    try {
      const v = fs.readFileSync(file, 'utf8').trim();
      if (/^[0-9a-z]{4,16}$/.test(v)) return v;
    } catch {
      /* first use */
    }
    const id = crypto.randomBytes(5).toString('hex');
    mkdirShared(this.orcDir(), this.shared);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${id}\n`);
    this.shared?.adjust(tmp, false);
    try {
      fs.linkSync(tmp, file); // fails if another process won the race: use theirs
    } catch {
      /* exists */
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return fs.readFileSync(file, 'utf8').trim();
  }
}

/** Largest JSON state file a reader parses: orc's own are a few KiB (a task with a 100,000-character result is the largest). */
export const STATE_JSON_MAX = 4 * 1024 * 1024;

/** The state at one commit, read lazily: only the trees along the paths asked for. */
export class Snapshot implements StateReader {
  private seen: Map<string, Presence> | undefined;

  constructor(
    private readonly store: GitStore,
    readonly commit: string | null,
    readonly tree: string | null,
  ) {}

  private entry(p: string): TreeEntry | null {
    return entryAt(this.tree, p, (oid) => this.store.readTree(oid));
  }

  /** When `agent` was last seen alive by its presence ref, read once per snapshot (at its first use). */
  presence(agent: string): string | null {
    this.seen ??= this.store.presence();
    return this.seen.get(agent)?.at ?? null;
  }

  read(p: string): Buffer | null {
    const e = this.entry(p);
    if (!e || isTreeMode(e.mode)) return null;
    return this.store.objects.read(e.oid, 'blob').content;
  }

  list(dir: string): DirEntry[] {
    const oid = dir === '' ? this.tree : (() => {
      const e = this.entry(dir);
      return e && isTreeMode(e.mode) ? e.oid : null;
    })();
    if (!oid) return [];
    return this.store.readTree(oid).map((e) => ({ name: e.name, dir: isTreeMode(e.mode), oid: e.oid }));
  }

  json<T>(p: string): T | null {
    const e = this.entry(p);
    if (!e || isTreeMode(e.mode)) return null;
    return this.jsonBlob<T>(e.oid, p);
  }

  memo<T>(kind: string, oid: string, compute: () => T): T {
    return this.store.memo(kind, oid, compute);
  }

  jsonBlob<T>(oid: string, p: string): T {
    return this.store.parsedBlob(oid, (b) => {
      // No state file orc writes comes near this: a bigger one is corrupt, and is not parsed.
      if (b.length > STATE_JSON_MAX) {
        const at = this.commit ? this.commit.slice(0, 12) : '(none)';
        throw new OrcError('CORRUPT', `state file ${p} at commit ${at} is ${b.length} bytes, more than any state file orc writes (${STATE_JSON_MAX}); fix it on the branch or revert that commit`, { path: p, commit: this.commit });
      }
      try {
        return JSON.parse(b.toString('utf8')) as T;
      } catch {
        const at = this.commit ? this.commit.slice(0, 12) : '(none)';
        throw new OrcError('CORRUPT', `state file ${p} at commit ${at} is not valid JSON; fix it on the branch (git show ${at}:${p}) or revert that commit`, { path: p, commit: this.commit });
      }
    });
  }
}
