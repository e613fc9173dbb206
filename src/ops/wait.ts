/**
 * Waiting instead of polling: `orc t next --wait`, `orc lock acquire --wait`
 * and `orc watch`. A waiter sleeps until something may have changed: the
 * state branch moved (fs.watch on the common git dir through TipWatcher), the
 * next lease or lock expiry came, the host's waiter queue changed, or, with a
 * remote, a fetch on an interval brought a new remote tip. Then it retries
 * the ordinary op, so the compare-and-swap still decides who wins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crypto } from '../node.js';
import { OrcError } from '../errors.js';
import * as S from '../model/state.js';
import type { Lock, Task } from '../model/types.js';
import { checkName, checkResource } from '../model/validate.js';
import { fetchBranch } from '../store/gitcli.js';
import { GitStore } from '../store/gitstore.js';
import { processAlive } from '../store/process.js';
import type { Orc } from './orc.js';
import { TipWatcher, type CommitMessage } from './tipwatch.js';

export interface WaitOptions {
  /** Give up after this many ms (null or undefined: wait for ever). */
  timeoutMs?: number | null;
  /** Stops the wait early, as a timeout does. */
  signal?: AbortSignal;
  /** Told once when the remote becomes unreachable and once when it is back. */
  onRemote?: (reachable: boolean, message: string) => void;
  /** Told once, when the first attempt found nothing and the wait begins. */
  onWaiting?: (message: string) => void;
}

/** How often a waiter with a remote fetches, and the slowest it backs off to while the remote is down. */
export const REMOTE_FETCH_MS = 2000;
const REMOTE_BACKOFF_MAX_MS = 30_000;
/**
 * With a remote, after a grant to one of this host's waiters ends, this
 * host's next waiter holds back this long, so that the waiters of other
 * hosts (which learn of the release on their next fetch) get the lock first
 * if they want it: hosts take turns, none starves.
 */
export const HOST_HANDOFF_MS = REMOTE_FETCH_MS + 1500;
/** A waiter behind another re-checks that the one ahead is still alive this often (a dead pid leaves its ticket). */
const QUEUE_RECHECK_MS = 1000;

/**
 * Wake-ups for one waiter. `wait(at)` resolves at `at` (ms since the epoch)
 * or as soon as anything it watches moved since the previous `wait` began:
 * nothing is missed between two attempts, since the flag is latched.
 */
export class Waker {
  private dirty = false;
  private wake: (() => void) | null = null;
  private readonly local: TipWatcher;
  private tracking: TipWatcher | null = null;
  private readonly dirWatchers: fs.FSWatcher[] = [];
  private fetchTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private down = false;

  constructor(
    private readonly orc: Orc,
    opts: { dirs?: string[]; onCommits?: (commits: CommitMessage[]) => void; onRemote?: WaitOptions['onRemote'] } = {},
  ) {
    const report = (commits: CommitMessage[]) => {
      opts.onCommits?.(commits);
      this.poke();
    };
    this.local = new TipWatcher(orc.store, report);
    for (const d of opts.dirs ?? []) {
      try {
        const w = fs.watch(d, { persistent: false }, () => this.poke());
        w.on('error', () => {});
        this.dirWatchers.push(w);
      } catch {
        /* the periodic re-check covers it */
      }
    }
    const remote = orc.remote?.remote;
    if (remote) {
      const tracking = new GitStore(orc.repo, `refs/remotes/${remote}/${orc.branch}`, false);
      this.tracking = new TipWatcher(tracking, report);
      this.scheduleFetch(REMOTE_FETCH_MS, remote, opts.onRemote);
    }
  }

  private scheduleFetch(ms: number, remote: string, onRemote: WaitOptions['onRemote']): void {
    if (this.closed) return;
    this.fetchTimer = setTimeout(async () => {
      let next = REMOTE_FETCH_MS;
      try {
        await fetchBranch(this.orc.repo, remote, this.orc.branch);
        if (this.down) onRemote?.(true, `remote "${remote}" is reachable again`);
        this.down = false;
        this.tracking?.check();
      } catch (e) {
        if (!this.down) onRemote?.(false, `remote "${remote}" is unreachable (${e instanceof OrcError ? e.message.split(';')[0] : String(e)}); retrying`);
        this.down = true;
        next = Math.min(REMOTE_BACKOFF_MAX_MS, ms * 2);
      }
      this.scheduleFetch(next, remote, onRemote);
    }, ms);
    this.fetchTimer.unref();
  }

  /** Something may have changed: wake the current wait, or the next one. */
  poke(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at `at` (null: only on a change), or on the first change since the last call. */
  wait(at: number | null, signal?: AbortSignal): Promise<void> {
    if (this.dirty || this.closed || signal?.aborted) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // A ref-counted timer keeps the process alive while it waits (fs watchers here are not persistent).
      const delay = at === null ? 2 ** 31 - 1 : Math.max(0, Math.min(2 ** 31 - 1, at - Date.now()));
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
      this.wake = () => {
        this.dirty = false;
        done();
      };
    });
  }

  close(): void {
    this.closed = true;
    if (this.fetchTimer) clearTimeout(this.fetchTimer);
    this.local.close();
    this.tracking?.close();
    for (const w of this.dirWatchers) w.close();
    this.poke();
  }
}

/** The tip decisions are read from: the remote's (as last fetched) when one is set, else the local branch. */
function decidingTip(orc: Orc): string | null {
  if (orc.remote) {
    const tracking = new GitStore(orc.repo, `refs/remotes/${orc.remote.remote}/${orc.branch}`, false).tip();
    if (tracking) return tracking;
  }
  return orc.store.tip();
}

/** When the earliest running lease in the workstream ends (ms since the epoch), or null. */
export function nextLeaseExpiry(orc: Orc, workstream: string): number | null {
  const tip = decidingTip(orc);
  if (!tip) return null;
  const s = orc.store.snapshot(tip);
  const now = orc.now().getTime();
  let best: number | null = null;
  for (const t of S.listTasksRaw(s, workstream)) {
    if (t.status !== 'in_progress') continue;
    const exp = S.leaseExpiry(t, t.assigned_to ? S.getAgent(s, t.assigned_to) : null);
    if (exp !== null && exp > now && (best === null || exp < best)) best = exp;
  }
  return best;
}

const earliest = (...xs: (number | null)[]): number | null => xs.reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.min(a, b)), null);

/**
 * `orc t next WS --wait`: claims the best claimable task, waiting until one
 * becomes claimable (added, reopened, its dependencies done, a lease ended).
 * Each attempt is the ordinary `task.next` op, so of many waiters exactly
 * one wins each task. Null on timeout.
 */
export async function nextTaskWaiting(orc: Orc, workstream: string, agent: string, opts: WaitOptions & { leaseMs?: number | string } = {}): Promise<Task | null> {
  checkName('workstream', workstream);
  const deadline = opts.timeoutMs == null ? null : Date.now() + opts.timeoutMs;
  const waker = new Waker(orc, { onRemote: opts.onRemote });
  let told = false;
  try {
    for (;;) {
      const task = await orc.getNextTask(workstream, agent, { leaseMs: opts.leaseMs });
      if (task) return task;
      if ((deadline !== null && Date.now() >= deadline) || opts.signal?.aborted) return null;
      // +5 ms: the op's clock must see the lease as ended, not ending.
      const lease = nextLeaseExpiry(orc, workstream);
      if (!told) opts.onWaiting?.(`waiting for a claimable task in ${workstream}`);
      told = true;
      await waker.wait(earliest(lease === null ? null : lease + 5, deadline), opts.signal);
    }
  } finally {
    waker.close();
  }
}

// ------------------------------------------------------------ the host's lock queue

/** The folder of one resource's tickets: <common git dir>/orc/waiters/<sha1 of the resource>. */
export function queueDir(orc: Orc, resource: string): string {
  return path.join(orc.repo.commonDir, 'orc', 'waiters', crypto.createHash('sha1').update(resource).digest('hex'));
}

interface Ticket {
  seq: number;
  pid: number;
  file: string;
}

function tickets(dir: string): Ticket[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Ticket[] = [];
  for (const n of names) {
    const m = /^(\d{12})-(\d+)\.ticket$/.exec(n);
    if (m) out.push({ seq: Number(m[1]), pid: Number(m[2]), file: path.join(dir, n) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}


/** Takes the next ticket: one more than the highest, created with O_EXCL so two waiters never share a number. */
export function takeTicket(dir: string): Ticket {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 1000; i++) {
    const seq = (tickets(dir).at(-1)?.seq ?? 0) + 1;
    const file = path.join(dir, `${String(seq).padStart(12, '0')}-${process.pid}.ticket`);
    try {
      fs.closeSync(fs.openSync(file, 'wx'));
      return { seq, pid: process.pid, file };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new OrcError('ENV', `could not take a waiter ticket in ${dir}; remove stale *.ticket files there`);
}

/** True if no live waiter holds an earlier ticket; the tickets of dead waiters are removed on the way. */
function atHead(dir: string, mine: Ticket): boolean {
  for (const t of tickets(dir)) {
    if (t.seq >= mine.seq) return true;
    if (t.pid === process.pid) continue;
    if (processAlive(t.pid)) return false;
    fs.rmSync(t.file, { force: true });
  }
  return true;
}

/** Ms this host's head waiter should still hold back: the lock's last grant went to this host's waiters and ended just now. */
function handoffDelay(orc: Orc, resource: string, grantFile: string): number {
  if (!orc.remote) return 0;
  let mine: string;
  try {
    mine = fs.readFileSync(grantFile, 'utf8').trim();
  } catch {
    return 0;
  }
  const tip = decidingTip(orc);
  const rec = tip ? S.getLockRecord(orc.store.snapshot(tip), resource) : null;
  if (!rec || String(rec.token) !== mine || S.lockIsActive(rec, orc.now())) return 0;
  const ended = Date.parse(rec.released_at ?? rec.expires_at);
  return Number.isFinite(ended) ? Math.max(0, ended + HOST_HANDOFF_MS - orc.now().getTime()) : 0;
}

/**
 * `orc lock acquire RES --wait`: the host's waiters queue by ticket (first
 * come, first served); the one at the head retries the ordinary
 * `lock.acquire` whenever the branch moves or the holder's lock expires.
 * Across hosts the heads race by compare-and-swap at the remote, and a host
 * whose waiter just had the lock lets the others go first (HOST_HANDOFF_MS).
 * The grant is the usual lock, with its fencing token. Null on timeout.
 */
export async function acquireLockWaiting(orc: Orc, resource: string, agent: string, ttl: number | string | undefined, opts: WaitOptions & { task?: string } = {}): Promise<Lock | null> {
  checkResource(resource);
  const deadline = opts.timeoutMs == null ? null : Date.now() + opts.timeoutMs;
  const dir = queueDir(orc, resource);
  const ticket = takeTicket(dir);
  const drop = () => fs.rmSync(ticket.file, { force: true });
  process.once('exit', drop);
  const waker = new Waker(orc, { dirs: [dir], onRemote: opts.onRemote });
  let told = false;
  try {
    for (;;) {
      let at: number | null;
      let why: string;
      const hold = atHead(dir, ticket) ? handoffDelay(orc, resource, path.join(dir, 'granted')) : 0;
      if (hold > 0) {
        at = Date.now() + hold;
        why = 'letting waiters on other hosts go first';
      } else if (atHead(dir, ticket)) {
        try {
          const lock = await orc.acquireLock(resource, agent, ttl, { task: opts.task });
          if (orc.remote) fs.writeFileSync(path.join(dir, 'granted'), String(lock.token));
          return lock;
        } catch (e) {
          if (!(e instanceof OrcError) || e.code !== 'CONFLICT') throw e;
          const exp = Date.parse(String((e.data as { expires_at?: string } | undefined)?.expires_at ?? ''));
          at = Number.isFinite(exp) ? exp + 5 : null;
          why = `held by ${String((e.data as { holder?: string }).holder ?? 'another agent')}`;
        }
      } else {
        at = Date.now() + QUEUE_RECHECK_MS;
        why = 'behind earlier waiters on this host';
      }
      if ((deadline !== null && Date.now() >= deadline) || opts.signal?.aborted) return null;
      if (!told) opts.onWaiting?.(`waiting for lock "${resource}" (${why}; ticket ${ticket.seq})`);
      told = true;
      await waker.wait(earliest(at, deadline), opts.signal);
    }
  } finally {
    waker.close();
    drop();
    process.removeListener('exit', drop);
  }
}
