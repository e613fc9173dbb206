import { OrcError } from '../errors.js';
import { findOp, syncRefused, type OpDef } from '../model/ops.js';
// Messages register their ops (msg.send, msg.read, msg.ack) on load, so a replay finds them.
import '../model/messages.js';
import { readRecordedOp, type RecordedOp } from '../model/record.js';
import { checkOid } from '../store/objects.js';
import { trailers } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { commitsSince, fetchBranch, isAncestor, pushBranch, runGit, updateRef } from '../store/gitcli.js';
import { fetchPresence, publishPresence, type RemotePresence } from './presence-sync.js';
import { identity, type Engine, type OpOutcome } from './engine.js';

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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long an exclusive op keeps trying when other hosts keep winning. */
const DEADLINE_MS = 120_000;

/**
 * The remote as the point of order (DESIGN.md "Across hosts"). Exclusive ops
 * are decided on the remote's tip and pushed with a lease on it; local commits
 * the remote lacks are replayed from their Orc-Op trailers onto its tip; a
 * replay the new state refuses is recorded on the branch, never dropped.
 */
export class Sync {
  /** A running average of how long a push takes (ms). */
  private pushMs = 50;
  /** When this host last won an exclusive op at the remote. */
  private lastWin = 0;

  constructor(
    private readonly store: GitStore,
    private readonly engine: Engine,
    readonly remote: string,
    readonly branch: string,
    private readonly clock: () => Date,
  ) {}

  private get repo() {
    return this.store.paths;
  }

  private get pushOpts() {
    return { shared: this.store.shared };
  }

  /** The remote's presence refs as last fetched (see presence-sync.ts). */
  private readonly presence: RemotePresence = { seen: null };

  private fetch(): Promise<string | null> {
    return fetchPresence(this.store, this.presence, (presence) => fetchBranch(this.repo, this.remote, this.branch, { shared: this.store.shared, presence }));
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
   * remote accepted it. A rejected push (someone else got there first) means
   * fetch and decide again.
   */
  async runExclusive<I, R>(def: OpDef<I, R>, input: I, actor: string, record: unknown): Promise<OpOutcome<R>> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const { remote_tip: base } = await this.sync();
      const prepared = this.engine.prepare(def, input, actor, record, base);
      if (!prepared.commit) return { result: prepared.decision.result, commit: null, attempts: attempt, published: true };
      this.engine.stats.ops++;
      // A loser learns it lost only when the server refuses its ref update, a whole push after the
      // winner's began, while the winner is already on its next op: left alone, the host that won
      // last wins every race. So a host that won a moment ago gives way for a random part of a
      // push's time, and one that just lost pushes at once. (A CLI process does one op: no delay.)
      if (attempt === 1 && Date.now() - this.lastWin < 1000) await sleep(Math.random() * 2 * this.pushMs);
      const t0 = Date.now();
      const pushed = await pushBranch(this.repo, this.remote, this.branch, prepared.commit, base, this.pushOpts);
      this.pushMs = 0.7 * this.pushMs + 0.3 * Math.min(2000, Date.now() - t0);
      if (pushed === 'ok') {
        this.lastWin = Date.now();
        this.engine.stats.commits++;
        await this.adoptLocal(base, prepared.commit);
        return { result: prepared.decision.result, commit: prepared.commit, attempts: attempt, published: true };
      }
      this.engine.stats.retries++;
      if (Date.now() - started > DEADLINE_MS) {
        throw new OrcError('CONTENTION', `gave up on ${def.name} after ${attempt} rejected pushes to "${this.remote}" in ${Math.round((Date.now() - started) / 1000)} s; try again`, { attempts: attempt });
      }
    }
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
