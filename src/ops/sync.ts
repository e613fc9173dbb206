import { OrcError, type ErrorCode } from '../errors.js';
import { findOp, syncRefused, type OpDef } from '../model/ops.js';
// Messages register their ops (msg.send, msg.read, msg.ack) on load, so a replay finds them.
import '../model/messages.js';
import { readRecordedOp, type RecordedOp } from '../model/record.js';
import { checkOid } from '../store/objects.js';
import { trailers } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { last, loadConfig } from '../store/config.js';
import { commitsSince, fetchBranch, isAncestor, lsRemote, pushAtomic, pushBranch, runGit, updateRef } from '../store/gitcli.js';
import { ansRef, type InboxOutcome } from '../store/hostreq.js';
import { inboxMode, HostRequests, MAX_FOREIGN, type InboxMode } from './hostreq.js';
import { fetchPresence, publishPresence, type RemotePresence } from './presence-sync.js';
import { identity, type Engine, type OpOutcome } from './engine.js';
import { HostQueue, type Inflight, type Outcome, type Request } from './group.js';

/** An op that was committed on one side and refused when replayed on the remote's tip. */
export interface RefusedReplay {
  commit: string;
  op: string | null;
  agent: string | null;
  input: unknown;
  reason: string;
}

export interface SyncReport {
  remote: string;
  branch: string;
  /** The remote's tip after the sync (what local now matches or is ahead of). */
  remote_tip: string | null;
  /** Commits that came in from the remote. */
  came_in: number;
  /** Local commits published to the remote (replayed ones included). */
  went_out: number;
  replayed: number;
  refused: RefusedReplay[];
}

interface Waiter {
  def: OpDef<unknown, unknown>;
  input: unknown;
  actor: string;
  record: unknown;
  at: number;
  resolve: (o: OpOutcome<unknown>) => void;
  reject: (e: unknown) => void;
  /** Its request id in this host's request ref, once published (ops/hostreq.ts). */
  inboxId?: string;
}

/** One op of a batch: this process's own, a request file of another (id), or a request in some host's request ref (request ref). */
interface Entry {
  at: number;
  id?: string;
  req?: Request;
  local?: Waiter;
  inbox?: { host: string; id: string; seq: number };
}

let waiterSeq = 0;

const noop = () => undefined;

function settle(w: Waiter, o: Outcome): void {
  if (o.ok) w.resolve({ result: o.result, commit: o.commit, attempts: o.attempts, published: true });
  else w.reject(new OrcError(o.error.code as ErrorCode, o.error.message, o.error.data));
}

/** Ops decided and pushed together at most. */
const MAX_BATCH = 32;
/** A remote tip seen this recently is pushed on without a fetch (a rejected push tells it moved). */
const FRESH_MS = 3000;
/** After such a guess missed, fetch first for this long (others are writing). */
const MISS_HOLD_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * How long a host that won a push at `lastWin` holds its next one back. A
 * loser learns it lost only when the server refuses its ref update, a whole
 * push after the winner's began, while the winner is already on its next
 * batch: left alone, the host that won last wins every race. So a host that
 * won a moment ago gives way for half to twice a push's time (`rand` places
 * it), plus a fetch's while it is racing, and one that just lost pushes at
 * once. "A moment" is the time in which a loser starts its next push: its
 * refusal comes at most a push after the win, then it fetches. An op that comes later than that (one agent
 * working alone, a CLI process started after the last one exited) finds the
 * losers' pushes already under way and does not wait.
 */
export function giveWayMs(lastWin: number, pushMs: number, fetchMs: number, now: number, rand: number, lostAt = 0): number {
  // A host that lost a push lately is in a race: under load a loser takes longer than its
  // averages say, so a second counts as a moment there. And there the losers must fetch
  // before they can push again, so the winner also waits a fetch: with only half to twice
  // a push, the last winner still won the next race most of the time (traces of the
  // fairness test showed runs of 6 to 10 wins in a row, a host with 1 or 2 of 40 tasks in
  // 3 of 6 runs; with the fetch added, 6 to 10 of 40 in each of 6).
  const racing = now - lostAt < CONTENDED_MS;
  const moment = racing ? Math.max(1000, fetchMs + pushMs) : fetchMs + pushMs;
  if (!(now - lastWin < moment)) return 0;
  return (racing ? fetchMs : 0) + (0.5 + 1.5 * rand) * pushMs;
}

/** Rounds a process serves other hosts' requests after its own (see lead). */
const MAX_SERVE_ROUNDS = 20;
/** How long a host whose ops are all published waits for others to serve them (while the tip moves) before it races again. */
const WAIT_MS = 5000;

let serveOthers = true;
/** Whether processes serve other hosts' waiting requests once their own are done (the CLI turns it off: it exits with its answer). */
export function setServeOthers(on: boolean): void {
  serveOthers = on;
}

/** A host whose push was refused this recently is racing others. */
const CONTENDED_MS = 5000;

/** How long an exclusive op keeps trying when other hosts keep winning. */
const DEADLINE_MS = 120_000;

/**
 * The remote as the point of order (DESIGN.md "Across hosts"). Exclusive ops
 * are decided on the remote's tip and pushed with a lease on it; local commits
 * the remote lacks are replayed from their Orc-Op trailers onto its tip; a
 * replay the new state refuses is recorded on the branch, never dropped.
 */
export class Sync {
  /** The host's queue of exclusive ops (group commit). */
  private readonly queue: HostQueue;
  /** This process's exclusive ops not yet handed over or served. */
  private waiting: Waiter[] = [];
  /** Handed to another process's leader as request files, by id. */
  private readonly handed = new Map<string, Waiter>();
  private looping = false;
  /** A dead leader's batch whose push had not landed when this process took over. */
  private orphan: Inflight | null = null;
  /** `git config orc.hostRequests`: auto (publish while racing), always, or off (neither publish nor serve). */
  private readonly inboxMode: InboxMode;
  private inboxes: HostRequests | null | undefined;

  constructor(
    private readonly store: GitStore,
    private readonly engine: Engine,
    readonly remote: string,
    readonly branch: string,
    private readonly clock: () => Date,
  ) {
    this.queue = new HostQueue(store.paths.commonDir);
    this.inboxMode = inboxMode(last(loadConfig(store.paths), 'orc.hostRequests'));
  }

  /** This host's view of the request refs (null when they are off); made at first use (it names the host by its writer id). */
  private get inbox(): HostRequests | null {
    if (this.inboxes === undefined) this.inboxes = this.inboxMode === 'off' ? null : new HostRequests(this.store, this.store.writerId(), this.queue.dir);
    return this.inboxes;
  }

  private get repo() {
    return this.store.paths;
  }

  private get pushOpts() {
    return { shared: this.store.shared };
  }

  /** The remote's presence refs as last fetched (see presence-sync.ts). */
  private readonly presence: RemotePresence = { seen: null };

  private fetch(): Promise<string | null> {
    const ib = this.inbox;
    return fetchPresence(this.store, this.presence, (presence) => fetchBranch(this.repo, this.remote, this.branch, { shared: this.store.shared, presence, hostRequests: ib ? (prefix) => ib.adopt(prefix) : undefined }));
  }

  /**
   * How many commits `b` has that `a` lacks, if `a` is an ancestor of `b`;
   * null if it is not. Walks the commits in-process (after a fetch they are
   * few); git answers when the walk would be long. Spawning git here would
   * make the host that lost a race slower than the one that won it, every time.
   */
  private async ahead(a: string, b: string): Promise<number | null> {
    if (a === b) return 0;
    const seen = new Set<string>([b]);
    const queue = [b];
    while (queue.length && seen.size <= 500) {
      const c = this.store.readCommit(queue.shift()!);
      for (const p of c.parents) {
        if (p === a) return seen.size;
        if (!seen.has(p)) {
          seen.add(p);
          queue.push(p);
        }
      }
    }
    if (!queue.length) return null;
    return (await isAncestor(this.repo, a, b)) ? (await commitsSince(this.repo, a, b)).length : null;
  }

  /** Fetch, replay what only this side has, push, and bring the local branch to the result. */
  async sync(): Promise<SyncReport> {
    const report: SyncReport = { remote: this.remote, branch: this.branch, remote_tip: null, came_in: 0, went_out: 0, replayed: 0, refused: [] };
    let remote = await this.fetch();
    await publishPresence(this.store, this.remote, this.presence);
    for (let attempt = 1; attempt <= 50; attempt++) {
      let behind: number | null = null;
      let aheadBy: number | null = null;
      const local = this.store.tip();
      report.remote_tip = remote;
      if (local === remote) return report;
      if (remote === null) {
        // The remote has no state yet: publish ours.
        if ((await pushBranch(this.repo, this.remote, this.branch, local!, null, this.pushOpts)) === 'ok') {
          report.went_out += (await commitsSince(this.repo, null, local!)).length;
          report.remote_tip = local;
          return report;
        }
      } else if (local === null || (behind = await this.ahead(local, remote)) !== null) {
        const n = local === null ? (await commitsSince(this.repo, null, remote)).length : behind!;
        if ((await this.engine.moveLocal(local, remote, identity('orc', this.clock()), `sync from ${this.remote}`)) === 'ok') {
          report.came_in += n;
          return report;
        }
        continue; // a local op landed meanwhile: look again
      } else if ((aheadBy = await this.ahead(remote, local)) !== null) {
        const n = aheadBy;
        if ((await pushBranch(this.repo, this.remote, this.branch, local, remote, this.pushOpts)) === 'ok') {
          report.went_out += n;
          report.remote_tip = local;
          return report;
        }
      } else {
        // Diverged: our commits the remote lacks are replayed onto its tip, then published.
        const came = (await commitsSince(this.repo, local, remote)).length;
        // Every commit only we have, both sides of merges made by hand included (across a compaction: not in its archived history).
        const ours = (await this.epochAwareOurs(local, remote)) ?? (await commitsSince(this.repo, remote, local, true));
        const r = await this.replay(ours, remote);
        if ((r.tip === remote && !ours.length) || (await pushBranch(this.repo, this.remote, this.branch, r.tip, remote, this.pushOpts)) === 'ok') {
          report.came_in += came;
          report.went_out += ours.length;
          report.replayed += r.replayed;
          report.refused.push(...r.refused);
          report.remote_tip = r.tip;
          await this.adoptLocal(local, r.tip);
          return report;
        }
      }
      await sleep(Math.random() * 20);
      remote = await this.fetch();
    }
    throw new OrcError('CONTENTION', `could not sync with "${this.remote}" after 50 rounds; too many writers, try again`);
  }

  /**
   * An exclusive op: decided on the remote's tip and successful only once the
   * remote accepted it. Ops waiting on this host, in this process and in
   * others on the same repo, go through one queue (group.ts): its leader
   * decides them in order on one tip, each its own commit on the one before,
   * and publishes them in one push; a rejected push means fetch and decide
   * them all again.
   */
  runExclusive<I, R>(def: OpDef<I, R>, input: I, actor: string, record: unknown): Promise<OpOutcome<R>> {
    return new Promise<OpOutcome<R>>((resolve, reject) => {
      this.waiting.push({ def: def as OpDef<unknown, unknown>, input, actor, record, at: Date.now(), resolve: resolve as (o: OpOutcome<unknown>) => void, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.loop()
      .catch((e: unknown) => {
        for (const w of [...this.waiting.splice(0), ...this.handed.values()]) w.reject(e);
        this.handed.clear();
      })
      .finally(() => {
        this.looping = false;
        if (this.waiting.length || this.handed.size) this.kick();
      });
  }

  /** Serves this process's waiting ops: as the host's leader, or by handing them to the leader and collecting the outcomes. */
  private async loop(): Promise<void> {
    while (this.waiting.length || this.handed.size) {
      if (this.queue.tryLead()) {
        try {
          await this.lead();
        } finally {
          this.queue.release();
        }
      } else {
        for (const w of this.waiting.splice(0)) this.handed.set(this.queue.submit(w.def.name, w.actor, w.input, w.record, w.at, w.inboxId), w);
      }
      this.collectHanded();
      if (this.handed.size && !this.queue.leading) await this.queue.waitChange(40);
    }
  }

  /** As the leader: batches of the queue (this process's ops and the files of others), oldest first, until it is empty. */
  private async lead(): Promise<void> {
    // Another process of this host may have published since this one last fetched.
    this.inbox?.forget();
    await this.recover();
    let serving = 0;
    for (;;) {
      const entries: Entry[] = this.queue.pending().map((req) => ({ at: req.at, id: req.id, req }));
      for (const w of this.waiting.splice(0)) entries.push({ at: w.at, local: w });
      if (!entries.length) {
        // Its own served: while other hosts wait in their request refs, a long-lived process goes on deciding
        // their ops (a fetch and a push a round, no race), a few rounds at most.
        if (serving >= MAX_SERVE_ROUNDS || !this.shouldServe()) return;
        let r: Awaited<ReturnType<Sync['decideAndPush']>>;
        try {
          r = await this.decideAndPush([], true);
        } catch (e) {
          if (!(e instanceof OrcError)) throw e;
          r = 'idle'; // a remote gone meanwhile: the next op of this host says so
        }
        this.queue.clearInflight();
        if (r !== 'served') return;
        serving++;
        continue;
      }
      serving = 0;
      entries.sort((a, b) => a.at - b.at);
      const batch = entries.slice(0, MAX_BATCH);
      // Past the batch: this process's ops wait for the next one (others' files stay in the folder).
      this.waiting.unshift(...entries.slice(MAX_BATCH).flatMap((e) => (e.local ? [e.local] : [])));
      const todo: Entry[] = [];
      for (const e of batch) {
        if (e.local) {
          todo.push(e);
          continue;
        }
        const def = await findOp(e.req!.op);
        if (!def?.exclusive) this.queue.deliver(e.id!, { ok: false, error: { code: 'INVALID', message: `unknown exclusive op ${e.req!.op}`, data: {} } });
        else todo.push({ ...e, local: { def, input: e.req!.input, actor: e.req!.actor, record: e.req!.record, at: e.at, resolve: noop, reject: noop } });
      }
      let outcomes: Map<Entry, Outcome>;
      try {
        const r = await this.decideAndPush(todo);
        if (r === 'lost') {
          // Another process took the lock (ours was judged stale): it serves the files; our own ops go back in line.
          this.waiting.unshift(...todo.filter((e) => !e.id).map((e) => e.local!));
          return;
        }
        outcomes = r;
      } catch (e) {
        if (!(e instanceof OrcError)) throw e;
        outcomes = await this.failBatch(todo, e);
      }
      for (const [e, o] of outcomes) {
        if (e.id) this.queue.deliver(e.id, o);
        else settle(e.local!, o);
      }
      this.queue.clearInflight();
      this.collectHanded();
      // Served all of its own: it hands the lead on (a waiter takes the lock at once), so a CLI
      // process that led exits with its answer instead of serving the others for as long as they come.
      if (!this.waiting.length && !this.handed.size && !this.shouldServe()) return;
    }
  }

  /** Whether this process serves other hosts' waiting requests once its own are done. */
  private shouldServe(): boolean {
    const ib = this.inbox;
    return serveOthers && ib !== null && ib.fresh && ib.unanswered(new Set()).some((u) => u.host !== ib.host);
  }

  private collectHanded(): void {
    for (const [id, w] of this.handed) {
      const o = this.queue.collect(id);
      if (!o) continue;
      this.handed.delete(id);
      settle(w, o);
    }
  }

  /** A batch the last leader was pushing when it died: if its push landed, its outcomes stand; if not, its ops are decided again. */
  private async recover(): Promise<void> {
    const f = this.queue.readInflight();
    if (!f) return;
    const { remote_tip } = await this.sync();
    if (!(await this.landed(f.tip, remote_tip))) {
      // Its push may still be running (git outlives a killed parent): watched until one of ours lands.
      this.orphan = f;
      this.queue.clearInflight();
      return;
    }
    for (const id of f.ids) if (f.outcomes[id]) this.queue.deliver(id, f.outcomes[id]!);
    this.queue.clearInflight();
  }

  private async landed(tip: string, remote: string | null): Promise<boolean> {
    if (!remote) return false;
    try {
      return (await this.ahead(tip, remote)) !== null;
    } catch {
      return false;
    }
  }

  /**
   * Decides the batch in order on one base, each op on the commit before it
   * (a refused op gets its refusal and is left out of the chain), and pushes
   * the chain with a lease on the base. The base is the last tip this host
   * saw when that is recent and guesses have not missed lately (no fetch: a
   * rejected push tells), else a fetched one. Other hosts' requests (their
   * request refs, ops/hostreq.ts) join the batch in arrival order and their answers
   * go in the same atomic push; while racing, this host publishes its own.
   */
  private async decideAndPush(todo: Entry[]): Promise<Map<Entry, Outcome> | 'lost'>;
  /** Only other hosts' requests, one round (fetch, decide, push): 'served' if its push landed. */
  private async decideAndPush(todo: [], serveOnly: true): Promise<Map<Entry, Outcome> | 'lost' | 'served' | 'idle'>;
  private async decideAndPush(todo: Entry[], serveOnly = false): Promise<Map<Entry, Outcome> | 'lost' | 'served' | 'idle'> {
    const started = Date.now();
    const st = this.queue.readState();
    const preset = new Map<Entry, Outcome>();
    const ib = this.inbox;
    /** Ops whose last push's fate is unknown (a lost connection; a dead leader's push): never published, so a late landing cannot meet a second decision. */
    const unsure = new Set<string>(this.orphan?.ids ?? []);
    let base: string | null;
    let guessed = false;
    const fetchBase = async (): Promise<string | null> => {
      const t0 = Date.now();
      const tip = (await this.sync()).remote_tip;
      st.fetchMs = 0.7 * (st.fetchMs ?? 50) + 0.3 * Math.min(2000, Date.now() - t0);
      st.tip = tip;
      st.at = Date.now();
      const orphan = this.orphan;
      if (orphan && (await this.landed(orphan.tip, tip))) {
        // The dead leader's push landed after all: its outcomes stand, its ops are not decided again.
        this.orphan = null;
        for (const e of todo) if (e.id && orphan.outcomes[e.id]) preset.set(e, orphan.outcomes[e.id]!);
      }
      return tip;
    };
    const local = this.store.tip();
    if (!serveOnly && st.tip && local === st.tip && started - st.at < FRESH_MS && started - st.missAt > MISS_HOLD_MS && (!ib || ib.fresh)) {
      base = st.tip;
      guessed = true;
    } else {
      base = await fetchBase();
    }
    for (let attempt = 1; ; attempt++) {
      if (ib) {
        // Ops of this host that another host decided: their answers stand.
        for (const e of todo) {
          if (preset.has(e) || ib.seqOf(this.ownId(e)) === undefined) continue;
          const a = ib.answerOf(this.ownId(e));
          if (a) preset.set(e, a);
        }
        // All of them decided elsewhere: done (other hosts' requests wait for whoever pushes next).
        if (todo.length && todo.every((e) => preset.has(e))) {
          this.queue.writeState(st);
          return preset;
        }
        // Losing lately (refused since it last won): another host is winning, and serves the request refs.
        const racing = Date.now() - (st.lostAt ?? 0) < CONTENDED_MS && (st.lostAt ?? 0) > st.lastWin;
        // While racing, the waiting ops go in this host's request ref too: whoever wins next decides them.
        if (this.inboxMode === 'always' || racing) {
          await this.publish(todo.filter((e) => !preset.has(e) && !unsure.has(this.ownId(e)) && !ib.shows(this.ownId(e))));
          // All published while another host wins the races: wait for its next rounds (fetches
          // only) instead of racing it; race again if the tip stops moving (nobody serves).
          if (racing && todo.length && todo.every((e) => preset.has(e) || ib.shows(this.ownId(e)))) {
            // "Stops": unmoved for longer than a round of the host serving (its fetch and push), twice.
            const quietMs = 2 * ((st.fetchMs ?? 50) + st.pushMs) + 200;
            const waitUntil = Date.now() + WAIT_MS;
            let moved = Date.now();
            let seen = base;
            /** Whether `base` is older than the last probe's tip (probes do not fetch). */
            let behind = false;
            const answers = ansRef(ib.host);
            const collect = () => {
              for (const e of todo) {
                const a = preset.has(e) ? undefined : ib.answerOf(this.ownId(e));
                if (a) preset.set(e, a);
              }
            };
            while (Date.now() < waitUntil && Date.now() - moved < quietMs && !todo.every((e) => preset.has(e))) {
              // An answer comes once a round of the serving host: polling faster only loads the remote.
              await sleep(Math.min(1000, (st.fetchMs ?? 50) + st.pushMs));
              // Probe first (ls-remote: one process, nothing written); fetch only once this host's answers moved.
              const refs = await lsRemote(this.repo, this.remote, [`refs/heads/${this.branch}`, answers]).catch(() => null);
              if (refs && (refs.get(answers) ?? null) === ib.answersOid) {
                const tip = refs.get(`refs/heads/${this.branch}`) ?? null;
                if (tip !== seen) moved = Date.now();
                seen = tip;
                behind = tip !== base;
                continue;
              }
              base = await fetchBase();
              guessed = false;
              behind = false;
              collect();
              if (base !== seen) moved = Date.now();
              seen = base;
            }
            if (todo.every((e) => preset.has(e))) {
              this.queue.writeState(st);
              return preset;
            }
            if (behind) {
              base = await fetchBase();
              guessed = false;
              collect();
              if (todo.every((e) => preset.has(e))) {
                this.queue.writeState(st);
                return preset;
              }
            }
          }
        }
      }
      const outcomes = new Map<Entry, Outcome>(preset);
      /** host -> request id -> answer, for the host requests decided in this batch. */
      const decided = new Map<string, Map<string, InboxOutcome>>();
      const ids: string[] = [];
      let tip = base;
      const list = [...todo.filter((e) => !preset.has(e)), ...(ib ? await this.foreignEntries(todo) : [])].sort((a, b) => a.at - b.at);
      for (const e of list) {
        const w = e.local!;
        if (e.id) ids.push(e.id);
        let o: Outcome;
        try {
          const p = this.engine.prepare(w.def, w.input, w.actor, w.record, tip);
          if (p.commit) {
            this.engine.stats.ops++;
            tip = p.commit;
          }
          o = { ok: true, result: p.decision.result, commit: p.commit, attempts: attempt };
        } catch (err) {
          if (err instanceof OrcError) o = { ok: false, error: err.toJSON() };
          // Another host's request that this orc cannot decide (a malformed input) is refused, not this host's batch.
          else if (e.inbox && !todo.includes(e)) o = { ok: false, error: { code: 'INVALID', message: `${e.inbox.host}'s request ${e.inbox.id} could not be decided: ${String((err as Error)?.message ?? err).slice(0, 300)}`, data: {} } };
          else throw err;
        }
        outcomes.set(e, o);
        const pub = e.inbox ?? (ib ? this.publishedAs(e) : null);
        if (pub) {
          if (!decided.has(pub.host)) decided.set(pub.host, new Map());
          decided.get(pub.host)!.set(pub.id, { ...o, seq: pub.seq });
        }
      }
      const committed = tip !== base;
      if (serveOnly && !committed) return 'idle';
      if (!committed && guessed) {
        // Nothing to push, so nothing confirms the guessed tip: decide again on a fetched one.
        guessed = false;
        base = await fetchBase();
        continue;
      }
      // With nothing committed, only this host's own answers are recorded (so that no other host decides
      // them later); other hosts' requests wait for a push that commits, or for their own host.
      if (!committed) for (const h of [...decided.keys()]) if (h !== ib?.host) decided.delete(h);
      const answers = ib && decided.size ? ib.updates(decided) : { updates: [], views: [] };
      if (!committed && !answers.updates.length) {
        this.queue.writeState(st);
        return outcomes;
      }
      // A host that won a moment ago gives way (giveWayMs); one that just lost pushes at once.
      // Not when the batch serves other hosts' requests: those hosts are waiting for this very push
      // (they are served in arrival order, which is the fairness the rule is for).
      if (attempt === 1 && committed && !serveOnly && !list.some((e) => e.inbox && !todo.includes(e))) {
        const wait = giveWayMs(st.lastWin, st.pushMs, st.fetchMs ?? 50, Date.now(), Math.random(), st.lostAt ?? 0);
        if (wait > 0) await sleep(wait);
      }
      if (!this.queue.stillLeading()) return 'lost';
      if (committed) this.queue.writeInflight({ base, tip: tip!, ids, outcomes: Object.fromEntries(list.filter((e) => e.id && outcomes.has(e)).map((e) => [e.id!, outcomes.get(e)!])) });
      const t0 = Date.now();
      let pushed: 'ok' | 'rejected';
      let synced = false; // the local branch already holds the remote's tip (fetched after a lost connection)
      try {
        pushed = answers.updates.length
          ? await pushAtomic(this.repo, this.remote, [...(committed ? [{ ref: `refs/heads/${this.branch}`, oid: tip!, expected: base }] : []), ...answers.updates], { ...this.pushOpts, branch: this.branch })
          : await pushBranch(this.repo, this.remote, this.branch, tip!, base, this.pushOpts);
      } catch (e) {
        // A connection lost mid-push (a loaded server, a flaky link) is not an unreachable remote:
        // if a fetch gets through, it also tells whether the push landed. If it doesn't, ENV.
        if (!committed || !(e instanceof OrcError) || e.code !== 'ENV' || Date.now() - started > DEADLINE_MS) throw e;
        for (const x of list) if (!x.inbox) unsure.add(this.ownId(x));
        const now = await fetchBase();
        pushed = (await this.landed(tip!, now)) ? 'ok' : 'rejected';
        synced = true;
        if (pushed === 'rejected') {
          base = now;
          this.engine.stats.retries++;
          st.lostAt = Date.now();
          guessed = false;
          continue;
        }
      }
      if (committed) st.pushMs = 0.7 * st.pushMs + 0.3 * Math.min(2000, Date.now() - t0);
      if (pushed === 'ok') {
        if (committed) {
          this.orphan = null;
          st.lastWin = Date.now();
          st.tip = tip;
          st.at = st.lastWin;
        }
        ib?.landed(answers.views);
        this.queue.writeState(st);
        this.engine.stats.commits += [...outcomes.values()].filter((o) => o.ok && o.commit).length;
        if (committed && !synced) await this.adoptLocal(base, tip!);
        return serveOnly ? 'served' : outcomes;
      }
      this.engine.stats.retries++;
      if (serveOnly) {
        st.lostAt = Date.now();
        this.queue.writeState(st);
        return 'idle';
      }
      st.lostAt = Date.now();
      if (guessed) st.missAt = Date.now();
      guessed = false;
      if (Date.now() - started > DEADLINE_MS) {
        this.queue.writeState(st);
        return this.giveUp(todo, preset, attempt, started);
      }
      base = await fetchBase();
    }
  }

  /** The id an op of this host has (or gets) among its requests: its request file's, or one made for an op of this process. */
  private ownId(e: Entry): string {
    if (e.id) return e.id;
    const w = e.local!;
    return (w.inboxId ??= `${String(w.at).padStart(15, '0')}-${process.pid}-w${++waiterSeq}`);
  }

  /** Where an op of this host was published, if it was. */
  private publishedAs(e: Entry): { host: string; id: string; seq: number } | null {
    if (e.inbox) return e.inbox;
    const id = this.ownId(e);
    const seq = this.inbox!.seqOf(id);
    return seq === undefined ? null : { host: this.inbox!.host, id, seq };
  }

  /** Publishes `entries` (ops of this host) among its requests; a remote that cannot be reached is left to the branch push to report. */
  private async publish(entries: Entry[]): Promise<void> {
    const ib = this.inbox!;
    if (!entries.length) return;
    const reqs = entries.map((e) => ({ id: this.ownId(e), at: e.at, op: e.local!.def.name, actor: e.local!.actor, input: e.local!.input, record: e.local!.record }));
    try {
      await ib.publish(reqs, this.queue.reqIds(), (id, o) => this.queue.deliver(id, o), (u) => pushAtomic(this.repo, this.remote, u, this.pushOpts));
    } catch (e) {
      if (!(e instanceof OrcError)) throw e;
      // The ids were recorded as published before the push: whether or not it landed, they are decided only with an answer.
    }
  }

  /** Every host's unanswered requests not in this batch, as entries to decide. */
  private async foreignEntries(todo: Entry[]): Promise<Entry[]> {
    const ib = this.inbox!;
    const skip = new Set(todo.map((e) => this.ownId(e)));
    const files = this.queue.reqIds();
    const out: Entry[] = [];
    for (const { host, req } of ib.unanswered(skip)) {
      if (out.length >= MAX_FOREIGN) break;
      const def = await findOp(req.op).catch(() => undefined);
      if (!def?.exclusive) continue; // an op this orc does not know: left for its own host
      const local: Waiter = { def, input: req.input, actor: req.actor, record: req.record, at: req.at, resolve: noop, reject: noop };
      const e: Entry = { at: req.at, local, inbox: { host, id: req.id, seq: req.seq } };
      // A request file of this host that a leader before this one published: its waiter gets the outcome.
      if (host === ib.host && files.has(req.id)) e.id = req.id;
      out.push(e);
    }
    return out;
  }

  /** Past the deadline: the batch ends with CONTENTION (see endBatch). */
  private giveUp(todo: Entry[], preset: Map<Entry, Outcome>, attempt: number, started: number): Promise<Map<Entry, Outcome>> {
    const error = new OrcError('CONTENTION', `gave up on ${todo.length} op(s) after ${attempt} rejected pushes to "${this.remote}" in ${Math.round((Date.now() - started) / 1000)} s; try again`, { attempts: attempt });
    return this.endBatch(todo, preset, { ok: false, error: error.toJSON() });
  }

  /** A batch that failed with `e` (the remote unreachable, say): see endBatch. */
  private failBatch(todo: Entry[], e: OrcError): Promise<Map<Entry, Outcome>> {
    return this.endBatch(todo, new Map(), { ok: false, error: e.toJSON() });
  }

  /**
   * Ends a batch with `error` for the ops without an outcome. Those that
   * were published among this host's requests are first withdrawn (answered
   * with the error, by lease, so that no other host decides them later)
   * unless an answer came meanwhile, which then stands. One that cannot be
   * withdrawn (the remote unreachable) gets ENV saying that its outcome is
   * not known yet, and where it will be.
   */
  private async endBatch(todo: Entry[], preset: Map<Entry, Outcome>, error: Outcome): Promise<Map<Entry, Outcome>> {
    const out = new Map<Entry, Outcome>(preset);
    const ib = this.inbox;
    const published = ib ? todo.filter((e) => !out.has(e) && this.publishedAs(e)) : [];
    for (let i = 0; published.length && i < 5; i++) {
      await this.sync().catch(() => undefined);
      const open = published.filter((e) => !out.has(e));
      for (const e of open) {
        const a = ib!.answerOf(this.ownId(e));
        if (a) out.set(e, a);
      }
      const left = open.filter((e) => !out.has(e));
      if (!left.length) break;
      const { updates, views } = ib!.updates(new Map([[ib!.host, new Map(left.map((e) => [this.ownId(e), { ...error, seq: this.publishedAs(e)!.seq }] as const))]]));
      const r = await pushAtomic(this.repo, this.remote, updates, this.pushOpts).catch(() => 'rejected' as const);
      if (r === 'ok') {
        ib!.landed(views);
        for (const e of left) out.set(e, error);
        break;
      }
    }
    for (const e of published) {
      if (out.has(e)) continue;
      const id = this.ownId(e);
      out.set(e, {
        ok: false,
        error: {
          code: 'ENV',
          message: `remote "${this.remote}" could not be reached to withdraw this op, which other hosts may still decide: its outcome will be in refs/orc/hosts/${ib!.host}/ans under ${id}; check the state before retrying`,
          data: { remote: this.remote, request: id },
        },
      });
    }
    for (const e of todo) if (!out.has(e)) out.set(e, error);
    return out;
  }

  /**
   * Moves the local branch from `from` to `to`, which the remote now holds. If
   * local ops landed on top of `from` meanwhile, they are replayed onto `to`
   * (locally; the next sync publishes them).
   */
  private async adoptLocal(from: string | null, to: string): Promise<void> {
    let expected = from;
    let target = to;
    for (;;) {
      const local = this.store.tip();
      if (local === target) return;
      if (local === expected) {
        if ((await this.engine.moveLocal(expected, target, identity('orc', this.clock()), `sync with ${this.remote}`)) === 'ok') return;
        continue;
      }
      if (local !== null && expected !== null && (await this.ahead(expected, local)) !== null) {
        const extra = await commitsSince(this.repo, expected, local, true);
        const r = await this.replay(extra, target);
        expected = local;
        target = r.tip;
        continue;
      }
      // Local went somewhere unrelated (moved by hand): leave it to the next sync.
      return;
    }
  }

  /**
   * When the remote started a new epoch (or several) since `local` forked
   * from it: the commits only `local` has, i.e. not in the archived history
   * each epoch names (fetched when missing), oldest first; null when the
   * remote's history has no epoch that `local` lacks. The archive refs are
   * kept here too.
   */
  private async epochAwareOurs(local: string, remote: string): Promise<string[] | null> {
    const { epochPrevs, rootsOf } = await import('./compact.js');
    const { epochOf } = await import('../model/compact.js');
    // Cheap first: the epoch each side's orc.json records; the same epoch is an ordinary divergence.
    if ((epochOf(this.store.snapshot(remote))?.n ?? 0) === (epochOf(this.store.snapshot(local))?.n ?? 0)) return null;
    const prevs = await epochPrevs(this.store, this.remote, remote, new Set(await rootsOf(this.store, local)));
    if (!prevs.length) return null;
    await this.keepArchiveRefs(remote);
    const r = await runGit(this.repo, ['rev-list', '--no-merges', '--topo-order', '--reverse', local, ...prevs.map((p) => `^${p}`)]);
    if (r.code !== 0) throw new OrcError('ENV', `git rev-list failed: ${r.stderr.trim().split('\n')[0]}`);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** Stores refs/orc/archive/<n> for each epoch on `tip`'s line (what the compacting host pushed). */
  private async keepArchiveRefs(tip: string): Promise<void> {
    const { epochPrev, rootsOf } = await import('./compact.js');
    let at: string | null = tip;
    for (let i = 0; at && i < 1000; i++) {
      const root: string | undefined = (await rootsOf(this.store, at))[0];
      if (!root) return;
      const prev = epochPrev(this.store, root);
      const n = trailers(this.store.readCommit(root).message, 'Orc-Epoch')[0];
      if (!prev || !n || !/^\d+$/.test(n) || !this.store.objects.has(prev)) return;
      await updateRef(this.repo, `refs/orc/archive/${n}`, prev);
      at = prev;
    }
  }

  /** Replays `commits` (oldest first) onto `base`, from their Orc-Op trailers. */
  private async replay(commits: string[], base: string): Promise<{ tip: string; replayed: number; refused: RefusedReplay[] }> {
    let tip = base;
    let replayed = 0;
    const refused: RefusedReplay[] = [];
    for (const oid of commits) {
      const c = this.store.readCommit(oid);
      if (c.parents.length > 1) continue; // a merge made by hand: its sides are listed and replayed on their own
      // Either format of the trailer (model/record.ts): old branches keep theirs.
      const read = readRecordedOp(c);
      const rec: RecordedOp | null = typeof read === 'string' ? null : read;
      const fail = (reason: string) => refused.push({ commit: oid, op: rec?.op ?? null, agent: rec?.agent ?? c.author.name, input: rec?.input ?? null, reason });
      if (!rec) {
        fail('not an orc op (no readable Orc-Op trailer); its change was not replayed');
        continue;
      }
      // The runner's ops (plan, collect, templates) come through the op loader the CLI or the
      // library's entry sets: loaded only when a replay needs one, and ops/ never imports upward.
      const def = typeof rec.op === 'string' ? await findOp(rec.op) : undefined;
      if (!def) {
        fail(`unknown op ${rec.op}`);
        continue;
      }
      try {
        const input = def.parse(this.rehydrate(rec));
        const at = Date.parse(rec.at);
        const p = this.engine.prepare(def, input, rec.agent, rec.input, tip, Number.isFinite(at) ? new Date(at) : this.clock());
        if (p.commit) tip = p.commit;
        replayed++;
      } catch (e) {
        if (!(e instanceof OrcError)) throw e;
        fail(e.message);
      }
    }
    for (const r of refused) {
      // Kept twice: the original commit under refs/orc/refused/, and an event on the shared branch that says why.
      await updateRef(this.repo, `refs/orc/refused/${r.commit}`, r.commit);
      const shown = JSON.stringify(r.input ?? null);
      const data = { commit: r.commit, op: r.op, op_agent: r.agent, reason: r.reason.slice(0, 500), input: shown.length > 8000 ? `${shown.slice(0, 8000)}…` : r.input };
      const p = this.engine.prepare(syncRefused, syncRefused.parse({ data }), 'system', { data }, tip, this.clock());
      if (p.commit) tip = p.commit;
    }
    return { tip, replayed, refused };
  }

  /** Inputs recorded by reference (knowledge content by blob id) are read back. */
  private rehydrate(rec: RecordedOp): Record<string, unknown> {
    if (rec.op === 'kb.write' && rec.input.content_blob !== undefined) {
      // An id from the commit's message: checked before it goes anywhere near a path.
      const oid = checkOid(rec.input.content_blob, 'the kb.write op recorded in a commit');
      return { topic: rec.input.topic, content: this.store.objects.read(oid, 'blob', { maxBytes: 2 * 1024 * 1024 }).content };
    }
    const body = rec.op === 'msg.send' ? (rec.input.body as { blob?: unknown } | null | undefined) : undefined;
    if (body && typeof body === 'object' && body.blob !== undefined) {
      const oid = checkOid(body.blob, 'the msg.send op recorded in a commit');
      return { ...rec.input, body: this.store.objects.read(oid, 'blob', { maxBytes: 2 * 1024 * 1024 }).content };
    }
    return rec.input;
  }
}
