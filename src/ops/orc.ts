import { crypto } from '../node.js';
import { OrcError, invalid } from '../errors.js';
import { eachEvent, queryEvents, type EventQuery } from '../model/events.js';
import { knowledgeFile } from '../model/layout.js';
import * as O from '../model/ops.js';
import type { OpDef } from '../model/ops.js';
import * as S from '../model/state.js';
import type { Agent, Lock, LostClaim, OrcEvent, Task, TaskStatus, Workstream, WorkstreamSummary } from '../model/types.js';
import { checkName, checkTopic } from '../model/validate.js';
import { holdings, type Holding } from '../model/resources.js';
import { recordedOp } from '../model/record.js';
import { checkRepoFormat, isTrue, last, loadConfig } from '../store/config.js';
import { SharedPerm } from '../store/perm.js';
import { storageInfo, type StorageInfo } from '../store/maintain.js';
import { GitStore, type Snapshot } from '../store/gitstore.js';
import { discoverRepo, type RepoPaths } from '../store/repo.js';
import { Engine, type EngineStats, type OpOutcome } from './engine.js';
import { Sync, type SyncReport } from './sync.js';
import { aheadBehind, fetchBranch, remoteExists, runGit, setConfig } from '../store/gitcli.js';
import { writePresence } from '../store/presence.js';
import { readRef } from '../store/refs.js';
import { renderStatusText } from './status-text.js';
import { branchInfo, ensureArchived, epochPrev, eventsReader, eventsReaderLocal, type BranchInfo } from './compact.js';

export interface OpenOptions {
  /** A path inside the coordination repo (any worktree or subfolder). Default: ORC_REPO, then the current directory. */
  repo?: string;
  /** The acting agent for ops that do not name one. Default: ORC_AGENT, then `git config orc.agent`, then 'system'. */
  agent?: string;
  /** The state branch name. Default: `git config orc.branch`, then 'orc'. */
  branch?: string;
  /** The clock (tests inject a fixed one). */
  clock?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** Told of things worth a line on stderr that are not failures (an op not yet published to the remote). */
  onWarning?: (message: string) => void;
}

export interface AddTaskOptions {
  id?: string;
  /** A whole number, or text such as "2h" (kept as given). */
  estimate?: number | string | null;
  resources?: string[];
  after?: string[];
  kb?: string[];
}

/** The original tool's `createWorkstream(name, opts)` options. */
export interface WorkstreamOptions {
  description?: string;
  priority?: number | string;
}

/** The original tool's `addTask(ws, opts)` options, with orc's own beside them. */
export interface TaskSpec extends AddTaskOptions {
  title: string;
  description?: string;
  priority?: number | string;
}

/** The original tool's `registerAgent(id, opts)` options. */
export interface AgentOptions {
  type?: string;
  capabilities?: string[];
}

export interface Status {
  branch: string;
  commit: string | null;
  /** The number of ops (commits) on the branch, as the original's state version. */
  version: number;
  /** When the branch's last op was made (its commit time), or null before the first. */
  updated_at: string | null;
  generated_at: string;
  workstreams: WorkstreamSummary[];
  agents: Agent[];
  active_locks: Lock[];
  recent_events: OrcEvent[];
  knowledge_topics: string[];
  /** With a remote: how far the local branch is from the remote's, as of the last fetch. */
  remote: { name: string; tracking: string | null; ahead: number | null; behind: number | null } | null;
  summary: {
    workstreams: number;
    tasks: { pending: number; in_progress: number; done: number; failed: number; total: number };
    agents: number;
    stale_agents: number;
    active_locks: number;
    knowledge_topics: number;
    /** The repository's objects as `git count-objects -v` counts them, read in place. */
    storage: StorageInfo & { branch: BranchInfo };
  };
}

export interface LogEntry {
  commit: string;
  parents: string[];
  author: string;
  time: string;
  summary: string;
  /** The op as recorded in the commit's Orc-Op trailer (null for commits made by hand). */
  op: { op: string; agent: string; at: string; input: unknown } | null;
}

/** A task id: sortable by creation time, with enough randomness that two hosts never pick the same. */
export function newTaskId(now: Date): string {
  return now.getTime().toString(36) + crypto.randomBytes(3).toString('hex').slice(0, 4);
}

/**
 * An open coordination repo. Every write is one op: one commit on the state
 * branch, decided against the tip that wins. Every read reads one commit.
 */
export class Orc {
  readonly engine: Engine;
  private readonly clock: () => Date;
  /** Set when `orc.remote` names a remote: it is then the point of order. */
  readonly remote: Sync | null;

  constructor(
    readonly store: GitStore,
    /** The acting agent for ops that do not name one, or null. */
    readonly agent: string | null,
    clock: () => Date,
    remote: string | null = null,
    private readonly warn: (message: string) => void = () => {},
    /** Another Orc's engine and sync, for `as()`. */
    shared?: { engine: Engine; remote: Sync | null },
  ) {
    this.clock = clock;
    let writer: string | undefined;
    this.engine = shared?.engine ?? new Engine({ store, writer: () => (writer ??= store.writerId()), clock });
    this.remote = shared ? shared.remote : remote ? new Sync(store, this.engine, remote, this.branch, clock) : null;
  }

  /**
   * The same repository acting as another agent: ops that name no agent are
   * made (and recorded) as `agent`. Shares this Orc's store, engine and
   * remote, so it costs nothing; `orc serve` uses it for the agent a request
   * names in `X-Orc-Agent`.
   */
  as(agent: string | null): Orc {
    if (agent === this.agent) return this;
    return new Orc(this.store, agent === null ? null : checkName('agent', agent), this.clock, null, this.warn, { engine: this.engine, remote: this.remote });
  }

  get branch(): string {
    return this.store.ref.replace(/^refs\/heads\//, '');
  }

  get repo(): RepoPaths {
    return this.store.paths;
  }

  get stats(): EngineStats {
    return this.engine.stats;
  }

  /** The time by this Orc's clock (injected in tests). */
  now(): Date {
    return this.clock();
  }

  private actor(): string {
    return this.agent ?? 'system';
  }

  /** This Orc, or the same acting as `agent` when one is named. */
  private by(agent: string | undefined | null): Orc {
    return agent === undefined || agent === null || agent === '' ? this : this.as(agent);
  }

  /** Runs an op by name with raw input: validation, then the engine. */
  async run<R = unknown>(name: string, raw: Record<string, unknown>): Promise<OpOutcome<R>> {
    const def = O.OPS[name];
    if (!def) throw invalid(`unknown op "${name}"`);
    const input = def.parse(raw);
    const record = name === 'kb.write' ? kbRecord(input as { topic: string; content: Buffer }) : input;
    return this.runDef(def as OpDef<unknown, R>, input, record);
  }

  /**
   * Runs a parsed op. Without a remote: on the local branch. With one, an
   * exclusive op succeeds only once the remote accepted it (exit 3 when it
   * can't be reached); any other op commits locally and is then published,
   * or left for the next sync with a warning.
   */
  async runDef<I, R>(def: OpDef<I, R>, input: I, record: unknown = input): Promise<OpOutcome<R>> {
    if (this.remote && def.exclusive) return this.remote.runExclusive(def, input, this.actor(), record);
    const out = await this.engine.run(def, input, this.actor(), record);
    if (this.remote && out.commit) {
      try {
        await this.remote.sync();
        out.published = true;
      } catch (e) {
        if (!(e instanceof OrcError)) throw e;
        out.published = false;
        out.unpublishedReason = e.message;
        this.warn(`committed locally, not yet published to "${this.remote.remote}": ${e.message.split(';')[0]}; \`orc sync\` publishes it`);
      }
    }
    return out;
  }

  /** Fetches, replays and pushes the branch through the remote (`orc sync`). */
  async sync(): Promise<SyncReport> {
    if (!this.remote) throw new OrcError('USAGE', 'no remote is set for orc; set one with `orc init --remote NAME`');
    return this.remote.sync();
  }

  /**
   * Makes `name` the point of order (git config orc.remote) and brings the
   * branch in line with it: fetched if the remote has it, published if not.
   */
  async initRemote(name: string): Promise<{ remote: string; report: SyncReport }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw invalid(`remote name ${JSON.stringify(name)} is not valid; name a git remote (\`git remote\` lists them), e.g. \`orc init --remote origin\``);
    if (!(await remoteExists(this.store.paths, name))) {
      throw new OrcError('USAGE', `no git remote "${name}"; add it first: git remote add ${name} URL`, { remote: name });
    }
    const remoteTip = await fetchBranch(this.store.paths, name, this.branch);
    if (!remoteTip && !this.store.tip()) await this.engine.run(O.init, {}, this.actor());
    await setConfig(this.store.paths, 'orc.remote', name);
    const sync = new Sync(this.store, this.engine, name, this.branch, this.clock);
    return { remote: name, report: await sync.sync() };
  }

  private async op<R>(name: string, raw: Record<string, unknown>): Promise<R> {
    return (await this.run<R>(name, raw)).result;
  }

  private async remoteStatus(): Promise<Status['remote']> {
    if (!this.remote) return null;
    const tracking = readRef(this.store.paths.commonDir, `refs/remotes/${this.remote.remote}/${this.branch}`);
    const local = this.store.tip();
    // Unknown (null) until both sides exist: before the first fetch, or before the first local op.
    const ab = tracking && local ? await aheadBehind(this.store.paths, local, tracking) : { ahead: null, behind: null };
    return { name: this.remote.remote, tracking, ...ab };
  }

  private snap(): Snapshot {
    return this.store.snapshot(this.store.tip());
  }

  /** Creates the state branch if it does not exist; true if it did not. */
  async init(): Promise<boolean> {
    return (await this.op<{ created: boolean }>('init', {})).created;
  }

  // ------------------------------------------------------------ workstreams

  /** As the original tool: `createWorkstream(name, { description, priority })`; or positional. */
  createWorkstream(name: string, opts: WorkstreamOptions): Promise<Workstream>;
  createWorkstream(name: string, description?: string, priority?: number | string): Promise<Workstream>;
  createWorkstream(name: string, description?: string | WorkstreamOptions, priority?: number | string): Promise<Workstream> {
    if (isOptions(description)) return this.op('ws.create', { name, description: description.description, priority: description.priority });
    return this.op('ws.create', { name, description, priority });
  }

  /** Workstreams by priority, with their counts; with `tasks: true`, each carries its tasks too (as the original's did). */
  async listWorkstreams(opts: { tasks?: boolean } = {}): Promise<WorkstreamSummary[]> {
    const list = this.summaries(this.snap(), opts.tasks ?? false);
    this.store.flushMemo();
    return list;
  }

  private summaries(s: Snapshot, tasks: boolean): WorkstreamSummary[] {
    const list = S.workstreamNames(s)
      .map((n) => S.summarizeWorkstream(s, n))
      .filter((w): w is WorkstreamSummary => w !== null)
      .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    if (!tasks) return list;
    const agents = new Map(S.listAgentsRaw(s).map((a) => [a.id, a]));
    return list.map((w) => ({
      ...w,
      tasks: S.listTasksRaw(s, w.name)
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
        .map((t) => S.withLease(t, t.assigned_to ? agents.get(t.assigned_to) ?? null : null)),
    }));
  }

  /**
   * The number of ops on the branch (the original's state version): commits
   * along first parents, counted back to the nearest commit counted before
   * (kept in the memo cache), so a read costs the ops made since. A long
   * walk with nothing counted (the first read of a big branch) hands the rest
   * to `git rev-list --count`, which is some 50 times faster per commit.
   */
  async opCount(tip: string | null = this.store.tip()): Promise<number> {
    let walked = 0;
    let base = 0;
    for (let oid = tip; oid; ) {
      const known = this.store.peekMemo<number>('op-count', oid);
      if (known !== undefined) {
        base = known;
        break;
      }
      if (walked === 1000) {
        const r = await runGit(this.store.paths, ['rev-list', '--count', '--first-parent', oid]);
        const n = Number(r.stdout.trim());
        if (r.code === 0 && Number.isInteger(n) && n > 0) {
          base = n;
          break;
        }
      }
      walked += 1;
      oid = this.store.readCommit(oid).parents[0] ?? null;
    }
    const n = base + walked;
    if (tip) this.store.memo('op-count', tip, () => n);
    return n;
  }

  async getWorkstream(name: string): Promise<WorkstreamSummary | null> {
    const w = S.summarizeWorkstream(this.snap(), checkName('workstream', name));
    this.store.flushMemo();
    return w;
  }

  // ------------------------------------------------------------ tasks

  /** As the original tool: `addTask(ws, { title, description, priority, estimate })`; or positional. */
  addTask(workstream: string, spec: TaskSpec): Promise<Task>;
  addTask(workstream: string, title: string, description?: string, priority?: number | string, opts?: AddTaskOptions): Promise<Task>;
  addTask(workstream: string, title: string | TaskSpec, description?: string, priority?: number | string, opts: AddTaskOptions = {}): Promise<Task> {
    if (isOptions(title)) {
      const { title: t, description: d, priority: p, ...rest } = title;
      return this.addTask(workstream, t, d, p, rest);
    }
    return this.op('task.add', {
      workstream,
      id: opts.id ?? newTaskId(this.clock()),
      title,
      description,
      priority,
      estimate: opts.estimate,
      resources: opts.resources,
      after: opts.after,
      kb: opts.kb,
    });
  }

  /** The workstream's live tasks, best first; with `all: true`, its archived ones too (after the live ones, each marked `archived: true`). */
  async listTasks(workstream: string, filter: { status?: TaskStatus; all?: boolean } = {}): Promise<Task[]> {
    const s = this.snap();
    S.requireWorkstream(s, checkName('workstream', workstream));
    const agents = new Map(S.listAgentsRaw(s).map((a) => [a.id, a]));
    const pick = (list: Task[]) => list.filter((t) => !filter.status || t.status === filter.status).sort(S.byPriority);
    const tasks = pick(S.listTasksRaw(s, workstream));
    if (filter.all) tasks.push(...pick(S.listArchivedTasks(s, workstream)));
    return tasks.map((t) => S.withLease(t, t.assigned_to ? agents.get(t.assigned_to) ?? null : null));
  }

  /** The task, or null if the workstream has no such task; NOT_FOUND if there is no such workstream. */
  async getTask(workstream: string, id: string): Promise<Task | null> {
    const s = this.snap();
    S.requireWorkstream(s, checkName('workstream', workstream));
    const t = S.getTask(s, workstream, checkName('task', id));
    return t && S.withLease(t, t.assigned_to ? S.getAgent(s, t.assigned_to) : null);
  }

  /** Makes a task wait for more tasks (`task.depend`): `ID` of its workstream or `WS/ID` of another; a dependency cycle, across workstreams too, is refused with INVALID. */
  addDependencies(workstream: string, id: string, after: string[]): Promise<Task> {
    return this.op('task.depend', { workstream, id, after });
  }

  /**
   * Tasks ready to run: pending, every dependency done; of one workstream, or
   * of every active one (by workstream priority), best first.
   */
  async readyTasks(workstream?: string): Promise<Task[]> {
    const s = this.snap();
    const now = this.clock();
    const names = workstream ? [S.requireWorkstream(s, checkName('workstream', workstream))] : S.workstreamNames(s).map((n) => S.getWorkstream(s, n)).filter((w): w is Workstream => w !== null && w.status === 'active');
    names.sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    return names.flatMap((w) => O.claimable(s, w.name, now).filter((t) => t.status === 'pending')).map((t) => S.withLease(t, null));
  }

  claimTask(workstream: string, id: string, agent?: string, opts: { leaseMs?: number | string } = {}): Promise<Task> {
    return this.op('task.claim', { workstream, id, agent: agent ?? this.agent, lease_ms: opts.leaseMs });
  }

  getNextTask(workstream: string, agent?: string, opts: { leaseMs?: number | string } = {}): Promise<Task | null> {
    return this.op('task.next', { workstream, agent: agent ?? this.agent, lease_ms: opts.leaseMs });
  }

  /**
   * Completes (or fails) a task. A named agent that is not the owner is
   * refused while the owner's lease runs; with no agent named, the operator
   * may finish any task, and finishing over an owner's claim is recorded
   * (`overrode`, `by` in the event and the result) and told to onWarning.
   */
  async completeTask(workstream: string, id: string, result?: string, opts: { agent?: string; failed?: boolean } = {}): Promise<Task & { overrode?: string; by?: string }> {
    const t = await this.op<Task & { overrode?: string; by?: string }>('task.complete', { workstream, id, result, agent: opts.agent ?? this.agent, failed: opts.failed });
    if (t.overrode) {
      const who = t.by === 'operator' ? 'as the operator (no agent named; an agent names itself with --agent, ORC_AGENT or `git config --worktree orc.agent NAME`)' : `by ${t.by}, after its lease ran out`;
      this.warn(`${opts.failed ? 'failed' : 'completed'} ${workstream}/${id} over the claim of ${t.overrode}, ${who}; recorded in the event log`);
    }
    return t;
  }

  /** A done or failed task back to pending (to try again), with the reason. */
  reopenTask(workstream: string, id: string, reason?: string): Promise<Task> {
    return this.op('task.reopen', { workstream, id, reason });
  }

  // ------------------------------------------------------------ agents

  /** As the original tool: `registerAgent(id, { type, capabilities })`; or positional. */
  registerAgent(id: string, opts: AgentOptions): Promise<Agent>;
  registerAgent(id: string, type?: string, capabilities?: string[]): Promise<Agent>;
  registerAgent(id: string, type?: string | AgentOptions, capabilities?: string[]): Promise<Agent> {
    const input = isOptions<AgentOptions>(type) ? { id, type: type.type, capabilities: type.capabilities } : { id, type, capabilities };
    return this.op<Agent>('agent.register', input).then(seen);
  }

  /**
   * Records that an agent is alive, extending its leases and locks. `lost`
   * lists its claims taken over or finished by someone else since its last
   * heartbeat, read after the heartbeat reached the remote (when there is one).
   */
  async heartbeat(id?: string): Promise<Agent & { lost: LostClaim[] }> {
    const who = checkName('agent', id ?? this.agent);
    const prev = S.getAgent(this.snap(), who)?.last_heartbeat ?? null;
    // Commits only the first heartbeat of an unknown agent (its registration); otherwise decides nothing on the branch.
    const out = await this.run<Agent & { lost: LostClaim[] }>('agent.heartbeat', { id: who });
    // The heartbeat itself: the agent's presence ref, beside the branch's history.
    writePresence(this.store.paths.commonDir, this.store.objects, who, new Date(out.result.last_heartbeat), this.store.shared);
    if (!this.remote) return { ...seen(out.result), lost: out.result.lost };
    // With a remote: publish the presence (and whatever else is unpublished), and learn the claims lost there.
    try {
      await this.remote.sync();
    } catch (e) {
      if (!(e instanceof OrcError)) throw e;
      // A registering heartbeat's commit was already warned about, with the same cause.
      if (!(out.commit && out.published === false)) this.warn(`heartbeat recorded locally, not yet published to "${this.remote.remote}": ${e.message.split(';')[0]}; \`orc sync\` publishes it`);
      return { ...seen(out.result), lost: out.result.lost };
    }
    const file = S.getAgentFile(this.snap(), who);
    const lost = (file?.lost ?? []).filter((l) => prev === null || l.at > prev);
    return { ...seen(out.result), lost };
  }

  async listAgents(): Promise<Agent[]> {
    const s = this.snap();
    const staleMs = S.settingsOf(s).agent_stale_ms;
    const now = this.clock().getTime();
    return S.listAgentsRaw(s)
      .map((a) => ({ ...seen(a), stale: now - Date.parse(a.last_heartbeat) > staleMs }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  // ------------------------------------------------------------ locks

  /**
   * Acquires (or renews) a lock; CONFLICT while another agent holds an
   * overlapping one or runs a task with an overlapping resource. With
   * `task` (`WS/ID`), the lock is released when that task completes or fails.
   */
  acquireLock(resource: string, agent?: string, ttlMs?: number | string, opts: { task?: string } = {}): Promise<Lock> {
    return this.op('lock.acquire', { resource, agent: agent ?? this.agent, ttl_ms: ttlMs, task: opts.task });
  }

  /** Several locks at once, all or nothing, in one commit (op `lock.acquire_many`); the locks in the order given. */
  acquireLocks(resources: string[], agent?: string, ttlMs?: number | string, opts: { task?: string } = {}): Promise<Lock[]> {
    return this.op('lock.acquire_many', { resources, agent: agent ?? this.agent, ttl_ms: ttlMs, task: opts.task });
  }

  /** Live locks and running tasks' resources held by agents other than `except`, from the local branch (no fetch). */
  async holdings(except: string | null): Promise<Holding[]> {
    return holdings(this.snap(), this.clock(), except);
  }

  releaseLock(resource: string, agent?: string): Promise<Lock> {
    return this.op('lock.release', { resource, agent: agent ?? this.agent });
  }

  /** The locks held right now (not released, not expired). */
  async listLocks(): Promise<Lock[]> {
    const now = this.clock();
    return S.activeLocks(this.snap(), now);
  }

  // ------------------------------------------------------------ knowledge

  /** Stores `content` as given: a string as UTF-8, a Buffer byte for byte; by `agent` when named (its commit and event). */
  async writeKnowledge(topic: string, content: string | Buffer, agent?: string): Promise<{ topic: string; bytes: number }> {
    return this.by(agent).op('kb.write', { topic, content });
  }

  /** The topic's text exactly as written, or null when there is no such topic. */
  async readKnowledge(topic: string): Promise<string | null> {
    const buf = this.snap().read(knowledgeFile(checkTopic(topic)));
    return buf ? buf.toString('utf8') : null;
  }

  /** The topic's exact bytes, or null when there is no such topic. */
  async readKnowledgeBytes(topic: string): Promise<Buffer | null> {
    return this.snap().read(knowledgeFile(checkTopic(topic)));
  }

  /** Deletes a topic (NOT_FOUND if there is none); by `agent` when named. */
  deleteKnowledge(topic: string, agent?: string): Promise<{ topic: string }> {
    return this.by(agent).op('kb.delete', { topic });
  }

  async listKnowledge(): Promise<string[]> {
    return S.listTopics(this.snap());
  }

  // ------------------------------------------------------------ events

  /** A free-form event: `logEvent(action, data)` as this Orc's agent, or the original's `logEvent(agent, action, data)`. */
  logEvent(action: string, data?: Record<string, unknown>): Promise<{ action: string }>;
  logEvent(agent: string, action: string, data?: Record<string, unknown>): Promise<{ action: string }>;
  logEvent(first: string, second?: string | Record<string, unknown>, third?: Record<string, unknown>): Promise<{ action: string }> {
    if (typeof second === 'string') return this.by(first).op('event.log', { action: second, data: third ?? {} });
    return this.op('event.log', { action: first, data: second ?? {} });
  }

  /** The post-commit hook's link of a code commit to a task (a `code_committed` event; free-form events may not use that action). */
  linkCommit(data: { workstream: string; task_id: string; commit: string; branch?: string | null; subject?: string; amends?: string }): Promise<{ action: string }> {
    return this.op('code.commit', data);
  }

  async getEvents(query: EventQuery = {}): Promise<OrcEvent[]> {
    if (query.since !== undefined && !Number.isFinite(Date.parse(query.since))) {
      throw invalid(`since ${JSON.stringify(query.since)} is not a time; use an ISO time like 2026-01-31T12:00:00Z`);
    }
    const snap = this.snap();
    // A range that starts before this epoch's cutoff reads the archived epochs too (fetched if missing).
    const since = query.since === undefined ? NaN : Date.parse(query.since);
    const reader = Number.isFinite(since) ? await eventsReader(this.store, this.remote?.remote ?? null, snap, since) : snap;
    return queryEvents(reader, query);
  }

  /** Every matching event, oldest first, read a day at a time from one commit: the whole log in bounded memory. */
  eachEvent(query: Omit<EventQuery, 'last'> = {}): Iterable<OrcEvent> {
    if (query.since !== undefined && !Number.isFinite(Date.parse(query.since))) {
      throw invalid(`since ${JSON.stringify(query.since)} is not a time; use an ISO time like 2026-01-31T12:00:00Z`);
    }
    const snap = this.snap();
    const since = query.since === undefined ? NaN : Date.parse(query.since);
    return eachEvent(Number.isFinite(since) ? eventsReaderLocal(this.store, snap, since) : snap, query);
  }

  /** Fetches the archived epochs an events query from `since` needs (REST calls it before eachEvent). */
  async prepareEvents(since: string | undefined): Promise<void> {
    const t = since === undefined ? NaN : Date.parse(since);
    if (Number.isFinite(t)) await eventsReader(this.store, this.remote?.remote ?? null, this.snap(), t);
  }

  // ------------------------------------------------------------ status and log

  /** Everything at one commit; with `tasks: true`, each workstream carries its tasks (as the original's status did). */
  async status(opts: { tasks?: boolean } = {}): Promise<Status> {
    const s = this.snap();
    const now = this.clock();
    const settings = S.settingsOf(s);
    const workstreams = this.summaries(s, opts.tasks ?? false);
    const version = await this.opCount(s.commit);
    const updated_at = s.commit ? new Date(this.store.readCommit(s.commit).committer.time * 1000).toISOString() : null;
    const agents = S.listAgentsRaw(s)
      .map((a) => ({ ...seen(a), stale: now.getTime() - Date.parse(a.last_heartbeat) > settings.agent_stale_ms }))
      .sort((a, b) => a.id.localeCompare(b.id));
    const active_locks = S.activeLocks(s, now);
    const knowledge_topics = S.listTopics(s);
    this.store.flushMemo();
    const tasks = S.emptyCounts();
    for (const w of workstreams) for (const k of Object.keys(tasks) as (keyof typeof tasks)[]) tasks[k] += w.task_counts[k];
    return {
      branch: this.branch,
      commit: s.commit,
      version,
      updated_at,
      generated_at: now.toISOString(),
      workstreams,
      agents,
      active_locks,
      recent_events: queryEvents(s, { last: 20 }),
      knowledge_topics,
      remote: await this.remoteStatus(),
      summary: {
        workstreams: workstreams.length,
        tasks,
        agents: agents.length,
        stale_agents: agents.filter((a) => a.stale).length,
        active_locks: active_locks.length,
        knowledge_topics: knowledge_topics.length,
        storage: { ...storageInfo(this.store.objects.dir), branch: await branchInfo(this.store, s, version) },
      },
    };
  }

  async statusText(): Promise<string> {
    return renderStatusText(await this.status(), this.clock());
  }

  /** The audit log: the branch's commits, newest first, following first parents. */
  async log(opts: { last?: number } = {}): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    let oid = this.store.tip();
    const max = opts.last ?? 50;
    while (oid && out.length < max) {
      if (!this.store.objects.has(oid) && !(await ensureArchived(this.store, this.remote?.remote ?? null, oid))) break;
      const c = this.store.readCommit(oid);
      // Either format of the trailer, as {op, agent, at, input} (model/record.ts).
      const op: LogEntry['op'] = recordedOp(c);
      out.push({
        commit: oid,
        parents: c.parents,
        author: c.author.name,
        time: new Date(c.author.time * 1000).toISOString(),
        summary: c.message.split('\n')[0] ?? '',
        op,
      });
      // An epoch's first commit names the tip before it: the log goes on into the archived history.
      oid = c.parents[0] ?? epochPrev(this.store, oid);
    }
    return out;
  }
}

/** An agent as read: with the original's last_seen beside last_heartbeat. */
const seen = (a: Agent): Agent => ({ ...a, last_seen: a.last_heartbeat });

/** An options object (the original tool's calling convention) rather than a positional value. */
function isOptions<T extends object>(v: unknown): v is T {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Knowledge text is recorded by its blob id: the blob is in the commit's tree, the message stays short. */
function kbRecord(input: { topic: string; content: Buffer }): unknown {
  const content = input.content;
  const oid = crypto.createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
  return { topic: input.topic, content_blob: oid, bytes: content.length };
}

const BRANCH = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[A-Za-z0-9._/-]+$/;

/** Opens the coordination repo: finds it, reads its config, and names the acting agent. */
export async function open(opts: OpenOptions = {}): Promise<Orc> {
  const env = opts.env ?? process.env;
  const paths = discoverRepo(opts.repo ?? env.ORC_REPO ?? process.cwd(), env);
  const cfg = loadConfig(paths, env);
  checkRepoFormat(cfg);
  const branch = opts.branch ?? last(cfg, 'orc.branch') ?? 'orc';
  // A full ref name would become refs/heads/refs/heads/…, a second branch beside the one meant.
  if (branch.startsWith('refs/')) throw new OrcError('ENV', `orc.branch "${branch}" is a full ref name; give the branch's short name: \`git config orc.branch ${branch.replace(/^refs\/(heads\/)?/, '')}\``);
  if (!BRANCH.test(branch)) throw new OrcError('ENV', `orc.branch "${branch}" is not a valid branch name; fix it with \`git config orc.branch orc\``);
  const logAll = last(cfg, 'core.logallrefupdates');
  const bare = paths.workTree === null || isTrue(last(cfg, 'core.bare'));
  const reflog = logAll === undefined ? !bare : logAll === 'always' || isTrue(logAll);
  const store = new GitStore(paths, `refs/heads/${branch}`, reflog, env, SharedPerm.fromConfig(last(cfg, 'core.sharedrepository')));
  store.checkOwnBranch();
  const named = opts.agent ?? (env.ORC_AGENT || undefined) ?? last(cfg, 'orc.agent');
  const agent = named ? checkName('agent', named) : null;
  const remote = last(cfg, 'orc.remote') || null;
  return new Orc(store, agent, opts.clock ?? (() => new Date()), remote, opts.onWarning);
}
