import { OrcError } from '../errors.js';
import { appendEvent } from '../model/events.js';
import { ORC_JSON } from '../model/layout.js';
import { initialConfig, type Decision, type OpDef } from '../model/ops.js';
import { formatOpMessage } from '../model/record.js';
import { readConfigFile, settingsOf } from '../model/state.js';
import type { OrcEvent } from '../model/types.js';
import type { Identity } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { maybePack } from '../store/maintain.js';
import { maybeCompact } from './autocompact.js';

export interface EngineOptions {
  store: GitStore;
  /** Names this repository's event segments (see GitStore.writerId); asked only when an op commits. */
  writer: () => string;
  clock: () => Date;
  /** A ref lock older than this was left by a crashed process. */
  staleLockMs?: number;
  /** Give up on an op after this long of lost races. */
  deadlineMs?: number;
}

export interface Prepared<R> {
  decision: Decision<R>;
  commit: string | null;
  ident: Identity;
}

export interface OpOutcome<R> {
  result: R;
  /** The commit that recorded the op, or null when it changed nothing. */
  commit: string | null;
  /** How many times the op was decided (1 = no lost race). */
  attempts: number;
  /** With a remote: whether the op reached it, and why not. */
  published?: boolean;
  unpublishedReason?: string;
}

/** Counters since the engine was made, for benchmarks and diagnostics. */
export interface EngineStats {
  ops: number;
  commits: number;
  retries: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function identity(actor: string, now: Date): Identity {
  return { name: actor, email: `${actor}@orc.invalid`, time: Math.floor(now.getTime() / 1000), tz: '+0000' };
}

/** The commit message: a readable summary, then the op as a trailer (model/record.ts) so it can be replayed. */
export function opMessage(summary: string, op: string, actor: string, input: unknown, at: Date): string {
  return formatOpMessage(summary, op, actor, input, at);
}

/**
 * Runs ops as DESIGN.md "How an op runs" says: read the tip, decide on it,
 * write blobs, trees and a commit whose parent is that tip, then move the
 * ref by compare-and-swap; if the ref moved, decide again on the new tip.
 * A decision is thus always made against the tip that wins.
 */
export class Engine {
  readonly stats: EngineStats = { ops: 0, commits: 0, retries: 0 };
  private readonly staleLockMs: number;
  private readonly deadlineMs: number;

  constructor(private readonly o: EngineOptions) {
    this.staleLockMs = o.staleLockMs ?? 10_000;
    this.deadlineMs = o.deadlineMs ?? 120_000;
  }

  /**
   * Decides `op` on the state at `base` and writes (but does not publish) a
   * commit of it whose parent is `base`. `commit` is null when the op changes
   * nothing. Throws the op's refusal.
   */
  prepare<I, R>(op: OpDef<I, R>, input: I, actor: string, record: unknown, base: string | null, now: Date = this.o.clock()): Prepared<R> {
    const { store } = this.o;
    const snap = store.snapshot(base);
    const decision = op.decide(snap, input, { actor, now, settings: settingsOf(snap) });
    if (decision.event === null && decision.changes.size === 0) return { decision, commit: null, ident: identity(actor, now) };
    const who = decision.actor ?? actor;
    const changes = new Map(decision.changes);
    if (!changes.has(ORC_JSON) && !readConfigFile(snap)) changes.set(ORC_JSON, initialConfig(now));
    if (decision.event) {
      const event: OrcEvent = { ts: now.toISOString(), agent: who, ...decision.event } as OrcEvent;
      const seg = appendEvent(snap, event, this.o.writer());
      changes.set(seg.path, seg.content);
    }
    const ident = identity(who, now);
    const commit = store.writeCommit(snap.tree, changes, base ? [base] : [], ident, opMessage(decision.summary, op.name, who, record, now));
    return { decision, commit, ident };
  }

  /** Runs an op on the local branch: prepare on the tip, then compare-and-swap, again on a lost race. */
  async run<I, R>(op: OpDef<I, R>, input: I, actor: string, record: unknown = input): Promise<OpOutcome<R>> {
    const { store } = this.o;
    const started = Date.now();
    let deadSeen = 0;
    this.stats.ops++;
    for (let attempt = 1; ; attempt++) {
      const tip = store.tip();
      const { decision, commit, ident } = this.prepare(op, input, actor, record, tip);
      if (!commit) return { result: decision.result, commit: null, attempts: attempt };
      const res = store.cas(tip, commit, ident, decision.summary);
      if (res === 'ok') {
        this.stats.commits++;
        // Upkeep, detached: past the threshold of loose objects, a repack starts and this op returns at once.
        maybePack(store.paths, store.objects.dir, () => readConfigFile(store.snapshot(commit))?.settings);
        // And when the epoch is older than the compaction interval, a detached `orc compact --auto`.
        maybeCompact(store, commit, this.o.clock());
        return { result: decision.result, commit, attempts: attempt };
      }
      this.stats.retries++;
      await this.backoff(res, attempt, started, op.name, () => deadSeen, (v) => (deadSeen = v));
    }
  }

  /** Moves the local branch by compare-and-swap, waiting out other writers; 'moved' if it no longer holds `expected`. */
  async moveLocal(expected: string | null, next: string, ident: Identity, summary: string): Promise<'ok' | 'moved'> {
    const started = Date.now();
    let deadSeen = 0;
    for (let attempt = 1; ; attempt++) {
      const res = this.o.store.cas(expected, next, ident, summary);
      if (res !== 'busy') return res;
      await this.backoff(res, attempt, started, 'sync', () => deadSeen, (v) => (deadSeen = v));
    }
  }

  /** After a lost race: notice a lock left by a crash, give up past the deadline, else sleep a jittered while. */
  private async backoff(res: 'moved' | 'busy', attempt: number, started: number, what: string, getDead: () => number, setDead: (n: number) => void): Promise<void> {
    const { store } = this.o;
    if (res === 'busy') {
      const lock = store.lockInfo();
      if (lock && lock.ageMs > this.staleLockMs) throw this.staleLock(lock.ageMs);
      // A dead holder is trusted only when seen twice in a row, with nothing alive in between.
      setDead(lock?.holderDead ? getDead() + 1 : 0);
      if (getDead() >= 2) throw this.staleLock(lock?.ageMs ?? 0);
    } else {
      setDead(0);
    }
    if (Date.now() - started > this.deadlineMs) {
      throw new OrcError('CONTENTION', `gave up on ${what} after ${attempt} lost races in ${Math.round((Date.now() - started) / 1000)} s; too many writers on ${store.ref}, try again`, { attempts: attempt });
    }
    // Jittered backoff, growing with lost races, so that racers spread out instead of colliding again.
    await sleep(Math.random() * Math.min(100, (res === 'busy' ? 2 : 4) * Math.min(attempt, 25)));
  }

  private staleLock(age: number): OrcError {
    const p = this.o.store.lockPath();
    return new OrcError(
      'REF_LOCKED',
      `${this.o.store.ref} is locked by ${p}, left ${(age / 1000).toFixed(1)} s ago by a process that did not finish; if no orc or git command is running, remove it: rm '${p}'`,
      { lock: p, age_ms: age },
    );
  }
}
