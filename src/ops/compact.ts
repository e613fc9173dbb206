/**
 * `orc compact`: the branch restarts as a new epoch (README "History has an
 * end"). One parentless commit whose tree is src/model/compact.ts's transform
 * of the old tip, trailers naming the old tip, the old history kept under
 * refs/orc/archive/<n>. Exclusive: a CAS of the local branch, or with a
 * remote an atomic push with a lease on the remote's tip. Also here: reading
 * across epochs (log, events), and the detached automatic compaction.
 */
import { OrcError, invalid } from '../errors.js';
import { compactChanges, cutoffDay, DAY_MS, epochOf, type CompactInput, type EpochInfo } from '../model/compact.js';
import { ARCHIVE_REF_PREFIX, eventDayOfPath } from '../model/layout.js';
import { readConfigFile, type DirEntry, type StateReader } from '../model/state.js';
import { trailers } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { runGit, updateRef } from '../store/gitcli.js';
import { readRef } from '../store/refs.js';
import { identity, opMessage } from './engine.js';
import type { Orc } from './orc.js';
import { compactDue, compactPolicy, epochStart, takeCompactLock } from './autocompact.js';


export interface CompactResult {
  compacted: boolean;
  /** Why nothing was done (--auto, not due). */
  reason?: string;
  epoch?: number;
  commit?: string;
  prev?: string;
  archive_ref?: string;
  cutoff?: string;
  archived_tasks?: number;
  removed_event_files?: number;
}

/** The compaction commit of `prev`: written, not published. */
export function writeCompaction(store: GitStore, prev: string, keepDays: number, now: Date, actor = 'system'): { commit: string; epoch: EpochInfo; changes: Map<string, Buffer | null> } {
  const snap = store.snapshot(prev);
  const input: CompactInput = { cutoff: new Date(now.getTime() - keepDays * DAY_MS).toISOString(), keep_days: keepDays };
  const at = now.toISOString();
  const changes = compactChanges(snap, input, at);
  const epoch = { n: (epochOf(snap)?.n ?? 0) + 1, started_at: at, prev, cutoff: input.cutoff };
  const moved = [...changes.keys()].filter((p) => p.startsWith('archive/')).length;
  const summary = `compact: epoch ${epoch.n}, ${moved} task(s) archived, history before ${cutoffDay(input.cutoff)} kept under ${ARCHIVE_REF_PREFIX}${epoch.n}`;
  const message = `${opMessage(summary, 'compact', actor, input, now)}Orc-Epoch: ${epoch.n}\nOrc-Epoch-Prev: ${prev}\n`;
  const commit = store.writeCommit(snap.tree, changes, [], identity(actor, now), message);
  return { commit, epoch, changes };
}

function result(c: ReturnType<typeof writeCompaction>): CompactResult {
  const keys = [...c.changes.keys()];
  return {
    compacted: true,
    epoch: c.epoch.n,
    commit: c.commit,
    prev: c.epoch.prev,
    archive_ref: `${ARCHIVE_REF_PREFIX}${c.epoch.n}`,
    cutoff: c.epoch.cutoff,
    archived_tasks: keys.filter((p) => p.startsWith('archive/')).length,
    removed_event_files: keys.filter((p) => p.startsWith('events/')).length,
  };
}

/** The previous epoch's tip named by a compaction commit (parentless, with Orc-Epoch-Prev), or null. */
export function epochPrev(store: GitStore, oid: string): string | null {
  const c = store.readCommit(oid);
  if (c.parents.length) return null;
  const p = trailers(c.message, 'Orc-Epoch-Prev')[0];
  return p && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(p) ? p : null;
}

/** Makes sure `oid` is in the local object store: archive refs are not fetched by default, so fetch them now. */
export async function ensureArchived(store: GitStore, remote: string | null, oid: string): Promise<boolean> {
  if (store.objects.has(oid)) return true;
  if (!remote) return false;
  await runGit(store.paths, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--refmap=', remote, `+${ARCHIVE_REF_PREFIX}*:${ARCHIVE_REF_PREFIX}*`]);
  return store.objects.has(oid);
}

/** Runs `orc compact`: on the local branch, or at the remote when there is one. */
export async function compact(orc: Orc, opts: { keepDays?: number; auto?: boolean } = {}): Promise<CompactResult> {
  const keepDays = opts.keepDays ?? compactPolicy(orc.store.paths, () => readConfigFile(orc.store.snapshot(orc.store.tip()))?.settings).keepDays;
  if (!Number.isFinite(keepDays) || keepDays < 0) throw invalid(`--keep-days ${keepDays} is not a number of days (0 or more)`);
  const lock = opts.auto ? takeCompactLock(orc.store.paths.commonDir) : null;
  if (opts.auto && !lock) return { compacted: false, reason: 'another compaction runs' };
  try {
    if (opts.auto && !compactDue(orc.store, orc.now())) return { compacted: false, reason: 'not due' };
    return orc.remote ? await compactRemote(orc, keepDays) : await compactLocal(orc, keepDays);
  } finally {
    if (lock) lock();
  }
}

async function compactLocal(orc: Orc, keepDays: number): Promise<CompactResult> {
  const { store } = orc;
  for (let attempt = 1; attempt <= 200; attempt++) {
    const tip = store.tip();
    if (!tip) throw new OrcError('NOT_FOUND', 'no state branch to compact yet; run `orc init` first');
    const now = orc.now();
    const c = writeCompaction(store, tip, keepDays, now);
    // The old history gets its ref first: it is never unreferenced, even if we die between.
    await updateRef(store.paths, `${ARCHIVE_REF_PREFIX}${c.epoch.n}`, tip);
    const res = store.cas(tip, c.commit, identity('system', now), `compact to epoch ${c.epoch.n}`);
    if (res === 'ok') return result(c);
    await new Promise((r) => setTimeout(r, Math.random() * 20));
  }
  throw new OrcError('CONTENTION', `gave up on compact after 200 lost races on ${store.ref}; try again`);
}

async function compactRemote(orc: Orc, keepDays: number): Promise<CompactResult> {
  const sync = orc.remote!;
  const { store } = orc;
  for (let attempt = 1; attempt <= 20; attempt++) {
    // Publish what this host has first, and learn the remote's tip.
    const rep = await sync.sync();
    const tip = rep.remote_tip;
    if (!tip) throw new OrcError('NOT_FOUND', `remote "${sync.remote}" has no state branch to compact`);
    const now = orc.now();
    const c = writeCompaction(store, tip, keepDays, now);
    const ref = `refs/heads/${sync.branch}`;
    const archive = `${ARCHIVE_REF_PREFIX}${c.epoch.n}`;
    const r = await runGit(store.paths, ['push', '--atomic', '--quiet', '--porcelain', `--force-with-lease=${ref}:${tip}`, sync.remote, `+${c.commit}:${ref}`, `${tip}:${archive}`]);
    if (r.code === 0) {
      await updateRef(store.paths, archive, tip);
      // The local branch follows as at any fetch: ops made here meanwhile are replayed onto the new epoch.
      await sync.sync();
      return result(c);
    }
    const all = `${r.stdout}\n${r.stderr}`;
    if (!/\[rejected\]|stale info|fetch first|non-fast-forward|\[remote rejected\]|atomic/i.test(all)) {
      throw new OrcError('ENV', `remote "${sync.remote}" refused the compaction: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    }
    if (/pre-receive hook declined|\[remote rejected\].*hook/i.test(all) && !/stale info|fetch first/i.test(all)) {
      throw new OrcError('CONFLICT', `remote "${sync.remote}" refused the compaction: ${(r.stderr || r.stdout).trim().split('\n').find((l) => /orc|hook/.test(l)) ?? 'hook declined'}`);
    }
  }
  throw new OrcError('CONTENTION', `gave up on compact after 20 rejected pushes to "${sync.remote}"; try again`);
}

// ------------------------------------------------------------ across epochs

/**
 * The tips of earlier epochs that the history of `tip` (an epoch root on
 * its first-parent line) names, newest first, fetching archives as needed,
 * down to (not including) the epoch whose root is also `localRoots`'.
 */
export async function epochPrevs(store: GitStore, remote: string | null, tip: string, stopAtRoots: Set<string>): Promise<string[]> {
  const out: string[] = [];
  let at: string | null = tip;
  for (let depth = 0; at && depth < 1000; depth++) {
    const roots = await rootsOf(store, at);
    const root = roots[0];
    if (!root || stopAtRoots.has(root)) break;
    const prev = epochPrev(store, root);
    if (!prev) break;
    if (!(await ensureArchived(store, remote, prev))) break;
    out.push(prev);
    at = prev;
  }
  return out;
}

/** The root of `oid`'s first-parent line (git walks it: it may be long). */
export async function rootsOf(store: GitStore, oid: string): Promise<string[]> {
  const r = await runGit(store.paths, ['rev-list', '--first-parent', '--max-parents=0', oid]);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/**
 * Events across epochs: paths under events/ of a day before the epoch's
 * cutoff day are read from the previous epoch's tip (and so on back), the
 * rest from the current state. Folder listings are the union.
 */
export class EpochEvents implements StateReader {
  constructor(
    private readonly cur: StateReader,
    private readonly day: string,
    private readonly prev: StateReader,
  ) {}

  get commit() {
    return this.cur.commit;
  }

  private pick(p: string): StateReader {
    const day = eventDayOfPath(p);
    return day !== null && day < this.day ? this.prev : this.cur;
  }

  read(p: string) {
    return this.pick(p).read(p);
  }

  json<T>(p: string) {
    return this.pick(p).json<T>(p);
  }

  jsonBlob<T>(oid: string, p: string) {
    return this.pick(p).jsonBlob<T>(oid, p);
  }

  memo<T>(kind: string, oid: string, compute: () => T) {
    return this.cur.memo(kind, oid, compute);
  }

  list(dir: string): DirEntry[] {
    if (eventDayOfPath(dir) !== null) return this.pick(dir).list(dir);
    if (dir !== 'events' && !dir.startsWith('events/')) return this.cur.list(dir);
    const seen = new Map<string, DirEntry>();
    for (const e of this.prev.list(dir)) seen.set(e.name, e);
    for (const e of this.cur.list(dir)) seen.set(e.name, e);
    return [...seen.values()];
  }
}

/** A reader of events reaching back to `sinceMs` through the archived epochs present locally. */
export function eventsReaderLocal(store: GitStore, snap: StateReader, sinceMs: number): StateReader {
  const epoch = epochOf(snap);
  if (!epoch || !(sinceMs < Date.parse(`${cutoffDay(epoch.cutoff)}T00:00:00Z`)) || !store.objects.has(epoch.prev)) return snap;
  return new EpochEvents(snap, cutoffDay(epoch.cutoff), eventsReaderLocal(store, store.snapshot(epoch.prev), sinceMs));
}

/** The same, fetching refs/orc/archive/* from the remote first when an epoch it needs is missing here. */
export async function eventsReader(store: GitStore, remote: string | null, snap: StateReader, sinceMs: number): Promise<StateReader> {
  for (let s = snap, depth = 0; depth < 1000; depth++) {
    const epoch = epochOf(s);
    if (!epoch || !(sinceMs < Date.parse(`${cutoffDay(epoch.cutoff)}T00:00:00Z`))) break;
    if (!(await ensureArchived(store, remote, epoch.prev))) break;
    s = store.snapshot(epoch.prev);
  }
  return eventsReaderLocal(store, snap, sinceMs);
}

/** What `orc status` says about the branch's size and epoch. */
export interface BranchInfo {
  /** Commits in the current epoch. */
  commits: number;
  /** Bytes of the objects the current epoch's history reaches (`git rev-list --disk-usage`), or null if git cannot say. */
  bytes: number | null;
  epoch: number;
  /** When the current epoch began: the last compaction, or the branch's creation. */
  epoch_started_at: string | null;
  /** When the branch was last compacted, or null if never. */
  last_compacted_at: string | null;
}

export async function branchInfo(store: GitStore, snap: StateReader, commits: number): Promise<BranchInfo> {
  const e = epochOf(snap);
  const { started_at } = epochStart(snap);
  let bytes: number | null = null;
  if (snap.commit) {
    const tip = snap.commit;
    const known = store.peekMemo<number>('branch-bytes', tip);
    if (known !== undefined) bytes = known;
    else {
      const r = await runGit(store.paths, ['rev-list', '--objects', '--disk-usage', tip]);
      const n = Number(r.stdout.trim());
      if (r.code === 0 && Number.isFinite(n)) bytes = store.memo('branch-bytes', tip, () => n);
    }
  }
  return { commits, bytes, epoch: e?.n ?? 0, epoch_started_at: started_at, last_compacted_at: e?.started_at ?? null };
}

/** For tests and diagnostics: is the archive ref of epoch `n` present locally? */
export function archiveTip(store: GitStore, n: number): string | null {
  return readRef(store.paths.commonDir, `${ARCHIVE_REF_PREFIX}${n}`);
}
