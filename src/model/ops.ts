import { OrcError, conflict, invalid, notFound } from '../errors.js';
import * as L from './layout.js';
import * as S from './state.js';
import type { StateReader } from './state.js';
import { conflictWith, describeHolding, holdings, runningIndexChanges } from './resources.js';
import { DEFAULT_SETTINGS, FORMAT_VERSION, type Agent, type Lock, type LockRecord, type LostClaim, type OrcConfigFile, type OrcEvent, type Settings, type Task } from './types.js';
import * as V from './validate.js';
import { isReservedAction } from './actions.js';

/** What deciding an op yields: the files to change, its event, and what the caller gets back. */
export interface Decision<R> {
  /** New bytes per path, null to delete. Empty with `event: null` means nothing to commit. */
  changes: Map<string, Buffer | null>;
  event: Omit<OrcEvent, 'ts' | 'agent'> | null;
  /** One line for the commit message. */
  summary: string;
  result: R;
  /** Who acts, when the op names its agent (claim, lock, register); otherwise the context's actor. */
  actor?: string;
}

export interface OpContext {
  /** The acting agent, or 'system'. */
  actor: string;
  now: Date;
  settings: Settings;
}

/**
 * One kind of op. `parse` validates raw input (it throws INVALID, never
 * touching state); `decide` is a pure function of a state view, refusing
 * with CONFLICT/NOT_FOUND when the state forbids the op.
 */
export interface OpDef<I, R> {
  name: string;
  /** Exclusive ops must be decided at the point of order (the remote, when there is one). */
  exclusive: boolean;
  parse(raw: Record<string, unknown>): I;
  decide(s: StateReader, input: I, ctx: OpContext): Decision<R>;
}

const json = (v: unknown): Buffer => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');
const iso = (d: Date | number): string => new Date(d).toISOString();
const nothing = <R>(result: R, summary = 'no change'): Decision<R> => ({ changes: new Map(), event: null, summary, result });

function def<I, R>(d: OpDef<I, R>): OpDef<I, R> {
  return d;
}

// ---------------------------------------------------------------- init

export const init = def({
  name: 'init',
  exclusive: false,
  parse: () => ({}),
  decide(s, _input: Record<string, never>, ctx): Decision<{ created: boolean }> {
    if (S.readConfigFile(s)) return nothing({ created: false }, 'already initialised');
    return {
      changes: new Map([[L.ORC_JSON, initialConfig(ctx.now)]]),
      event: { action: 'orc_initialized', format: FORMAT_VERSION },
      summary: 'initialise orc state',
      result: { created: true },
    };
  },
});

export function initialConfig(now: Date): Buffer {
  const cfg: OrcConfigFile = { format: FORMAT_VERSION, created_at: iso(now), settings: DEFAULT_SETTINGS };
  return json(cfg);
}

// ---------------------------------------------------------------- workstreams

export const wsCreate = def({
  name: 'ws.create',
  exclusive: false,
  parse: (r) => ({
    name: V.checkName('workstream', r.name),
    description: V.checkText('description', r.description, V.LIMITS.description),
    priority: r.priority === undefined || r.priority === null || r.priority === '' ? 3 : V.checkPriority(r.priority),
  }),
  decide(s, i, ctx) {
    if (S.getWorkstream(s, i.name)) throw conflict(`workstream "${i.name}" already exists; pick another name or use it as it is`, { workstream: i.name });
    const ws = { name: i.name, description: i.description, priority: i.priority, status: 'active' as const, created_at: iso(ctx.now), updated_at: iso(ctx.now) };
    return {
      changes: new Map([[L.wsFile(i.name), json(ws)]]),
      event: { action: 'workstream_created', workstream: i.name, description: i.description, priority: i.priority },
      summary: `create workstream ${i.name}`,
      result: ws,
    };
  },
});

// ---------------------------------------------------------------- tasks

export const taskAdd = def({
  name: 'task.add',
  exclusive: false,
  parse: (r) => ({
    workstream: V.checkName('workstream', r.workstream),
    id: V.checkName('task', r.id),
    title: V.checkLine('title', r.title, V.LIMITS.title),
    description: V.checkText('description', r.description, V.LIMITS.description),
    // Unset is decided against the state's settings (default_priority), not here.
    priority: r.priority === undefined || r.priority === null || r.priority === '' ? null : V.checkPriority(r.priority),
    estimate: checkEstimate(r.estimate),
    resources: V.checkList('resources', r.resources, V.checkResource),
    after: V.checkList('dependencies', r.after, checkDep),
    kb: V.checkList('knowledge topics', r.kb, V.checkTopic),
  }),
  decide(s, i, ctx) {
    S.requireWorkstream(s, i.workstream);
    // An archived task keeps its id: a new task never takes it (its events and links name the old one).
    const had = S.getTask(s, i.workstream, i.id);
    if (had) throw conflict(`task "${i.id}" already exists in "${i.workstream}"${had.archived ? ' (archived by `orc compact`; ids are never reused)' : ''}`, { id: i.id, ...(had.archived ? { archived: true } : {}) });
    const after = [...new Set(i.after.map((d) => ownDep(i.workstream, d)))];
    for (const dep of after) {
      if (dep === i.id) throw invalid(`task "${i.id}" cannot wait for itself`);
      requireDep(s, i.workstream, dep);
    }
    const now = iso(ctx.now);
    const task: Task = {
      id: i.id,
      workstream: i.workstream,
      title: i.title,
      description: i.description,
      status: 'pending',
      priority: i.priority ?? ctx.settings.default_priority ?? V.DEFAULT_TASK_PRIORITY,
      estimate: i.estimate,
      assigned_to: null,
      created_at: now,
      updated_at: now,
      result: null,
      created_by: ctx.actor,
      claimed_at: null,
      lease_ms: null,
      completed_at: null,
      resources: i.resources,
      after,
      kb: i.kb,
    };
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(task)]]),
      event: { action: 'task_created', workstream: i.workstream, task_id: i.id, title: i.title, priority: task.priority },
      summary: `add task ${i.workstream}/${i.id}: ${i.title}`,
      // Every task an op returns has the shape list and show give it (lease_expires_at: null when not claimed).
      result: S.withLease(task, null),
    };
  },
});

/**
 * An estimate as the original tool took it: a whole number is kept as a
 * number (the CLI's "3" too); a number that is not whole or is negative is
 * refused; any other short one-line text ("2h", "1.5d") is kept as that text.
 */
export function checkEstimate(v: unknown): number | string | null {
  if (v === undefined || v === null || v === '') return null;
  // Anything that looks like a number must be a whole one in range, as a number would.
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v))) return V.checkInt('estimate', v, 0, 1_000_000);
  if (typeof v !== 'string') throw invalid('estimate must be a whole number or a short text like "2h"');
  return V.checkLine('estimate', v, 50);
}

/** A dependency: `ID` (a task of the same workstream) or `WS/ID` (a task of any workstream). */
export function checkDep(v: unknown): string {
  if (typeof v === 'string' && v.includes('/')) {
    const [ws, id, ...more] = v.split('/');
    if (more.length) throw invalid(`dependency ${JSON.stringify(v)} has more than one '/'; name it ID or WORKSTREAM/ID`);
    try {
      return `${V.checkName('workstream', ws)}/${V.checkName('task', id)}`;
    } catch (e) {
      if (e instanceof OrcError) throw invalid(`dependency ${JSON.stringify(v)}: ${e.message}`, e.data);
      throw e;
    }
  }
  return V.checkName('task', v);
}

/** A dependency as stored: `WS/ID` of the task's own workstream is kept as plain `ID`. */
const ownDep = (ws: string, dep: string): string => (dep.startsWith(`${ws}/`) ? dep.slice(ws.length + 1) : dep);

/** The workstream and id a stored dependency of a task in `ws` names. */
export function depTarget(ws: string, dep: string): { workstream: string; id: string } {
  const at = dep.indexOf('/');
  return at < 0 ? { workstream: ws, id: dep } : { workstream: dep.slice(0, at), id: dep.slice(at + 1) };
}

/**
 * The task an op would change: an archived one (moved by `orc compact`) is
 * refused with CONFLICT, not NOT_FOUND: it exists (`orc t show` shows it, and
 * its id stays taken), but the archive is read-only history.
 */
function requireLiveTask(s: StateReader, ws: string, id: string, verb: string): Task {
  const t = S.requireTask(s, ws, id);
  if (t.archived) {
    throw conflict(`task ${ws}/${id} is archived (${t.status}${t.completed_at ? ` at ${t.completed_at}` : ''}, moved by \`orc compact\`); it cannot be ${verb}; add a new task instead`, { workstream: ws, id, status: t.status, archived: true });
  }
  return t;
}

function requireDep(s: StateReader, ws: string, dep: string): Task {
  const d = depTarget(ws, dep);
  if (d.workstream !== ws) S.requireWorkstream(s, d.workstream);
  return S.requireTask(s, d.workstream, d.id);
}

/**
 * A dependency path from `from` to `to` over `after` edges (both ends
 * included, as WS/ID), or null. Tasks are read as the walk reaches them, so
 * a path may cross workstreams. Used to refuse an edge that would close a cycle.
 */
function dependencyPath(edges: (key: string) => string[], from: string, to: string): string[] | null {
  const seen = new Set<string>();
  const walk = (key: string): string[] | null => {
    if (key === to) return [key];
    if (seen.has(key)) return null;
    seen.add(key);
    for (const next of edges(key)) {
      const rest = walk(next);
      if (rest) return [key, ...rest];
    }
    return null;
  };
  return walk(from);
}

/** `task.depend`: a task waits for more tasks (`ID` of its workstream, `WS/ID` of any); an edge that closes a cycle is refused. */
export const taskDepend = def({
  name: 'task.depend',
  exclusive: false,
  parse: (r) => {
    const after = V.checkList('dependencies', r.after, checkDep);
    if (!after.length) throw invalid('name at least one task to wait for');
    return { workstream: V.checkName('workstream', r.workstream), id: V.checkName('task', r.id), after };
  },
  decide(s, i, ctx): Decision<Task> {
    S.requireWorkstream(s, i.workstream);
    const t = requireLiveTask(s, i.workstream, i.id, 'given dependencies');
    const wanted = [...new Set(i.after.map((d) => ownDep(i.workstream, d)))];
    for (const dep of wanted) {
      if (dep === i.id) throw invalid(`task "${i.id}" cannot wait for itself`, { id: i.id });
      requireDep(s, i.workstream, dep);
    }
    const added = wanted.filter((d) => !(t.after ?? []).includes(d));
    if (!added.length) return nothing(t, `${i.workstream}/${i.id} already waits for ${i.after.join(', ')}`);
    // Edges keyed WS/ID, read as the walk reaches them (across workstreams); this task's grow as edges are accepted.
    const self = `${i.workstream}/${i.id}`;
    const mine = [...(t.after ?? [])];
    const keyOf = (ws: string, dep: string) => {
      const d = depTarget(ws, dep);
      return `${d.workstream}/${d.id}`;
    };
    const edges = (key: string): string[] => {
      if (key === self) return mine.map((d) => keyOf(i.workstream, d));
      const k = depTarget('', key);
      return (S.getTask(s, k.workstream, k.id)?.after ?? []).map((d) => keyOf(k.workstream, d));
    };
    for (const dep of added) {
      const back = dependencyPath(edges, keyOf(i.workstream, dep), self);
      if (back) {
        // Shown as the workstream's own tasks are named: ID here, WS/ID elsewhere.
        const cycle = [self, ...back].map((k) => ownDep(i.workstream, k));
        throw invalid(`task ${self} cannot wait for ${dep}: that makes a dependency cycle ${cycle.join(' → ')}`, { workstream: i.workstream, id: i.id, cycle });
      }
      mine.push(dep);
    }
    const now = iso(ctx.now);
    const task: Task = { ...t, after: [...(t.after ?? []), ...added], updated_at: now };
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(task)]]),
      event: { action: 'task_dependencies_added', workstream: i.workstream, task_id: i.id, after: added },
      summary: `${i.workstream}/${i.id} waits for ${added.join(', ')}`,
      result: S.withLease(task, task.assigned_to ? S.getAgent(s, task.assigned_to) : null),
    };
  },
});

/**
 * Why a task cannot run yet (a dependency not done), or null when it can.
 * `statusOf` answers for its own workstream; a `WS/ID` dependency is read from `s`.
 */
export function blockedBy(t: Task, statusOf: (id: string) => string | undefined, s?: StateReader): string | null {
  for (const dep of t.after ?? []) {
    const d = depTarget(t.workstream, dep);
    // A dependency missing from the live tasks may be archived (done or failed): `s` reads it from there.
    const status = (d.workstream === t.workstream ? statusOf(dep) : undefined) ?? (s && S.getTask(s, d.workstream, d.id)?.status);
    if (status !== 'done') return dep;
  }
  return null;
}

function claimDecision(s: StateReader, t: Task, agent: string, leaseMs: number, ctx: OpContext): Decision<Task> {
  const previous = t.status === 'in_progress' ? t.assigned_to : null;
  const renewed = previous === agent;
  const now = iso(ctx.now);
  const claimed: Task = { ...t, status: 'in_progress', assigned_to: agent, claimed_at: now, lease_ms: leaseMs, updated_at: now };
  delete claimed.lease_expires_at;
  const base = { workstream: t.workstream, task_id: t.id, title: t.title, lease_ms: leaseMs };
  const event =
    previous && !renewed
      ? { action: 'task_taken_over', ...base, previous_agent: previous }
      : { action: 'task_claimed', ...base, ...(renewed ? { renewed: true } : {}) };
  const verb = previous && !renewed ? `take over (lease of ${previous} expired)` : renewed ? 'renew claim of' : 'claim';
  const changes = new Map([[L.taskFile(t.workstream, t.id), json(claimed)], ...runningIndexChanges(s, claimed)]);
  if (previous && !renewed) changes.set(...lostBy(s, previous, t, { workstream: t.workstream, id: t.id, by: agent, at: now, action: 'taken_over' }));
  return {
    changes,
    event,
    summary: `${verb} ${t.workstream}/${t.id} for ${agent}: ${t.title}`,
    result: S.withLease(claimed, S.getAgent(s, agent)),
    actor: agent,
  };
}

/** Most lost claims an agent file keeps while its agent sends no heartbeat. */
const MAX_LOST = 100;

/**
 * How long a lost claim stays in the agent file after a newer one is added:
 * heartbeats no longer commit, so old entries are pruned here, by the op
 * that commits anyway, from the branch's own data (the hook decides it again).
 */
const LOST_KEEP_MS = 24 * 3600_000;

/**
 * The previous owner's agent file with one more lost claim, for its next
 * heartbeat to report. An owner with no agent file gets one, dated at its
 * claim of the task (its last known sign of life).
 */
function lostBy(s: StateReader, owner: string, t: Task, lost: LostClaim): [string, Buffer] {
  // The file as on the branch, without presence: what a commit writes must not depend on refs beside it.
  const old = S.getAgentFile(s, owner);
  const since = t.claimed_at ?? lost.at;
  const a: Agent = old ? { ...old } : { id: owner, type: 'worker', capabilities: [], status: 'active', registered_at: since, last_heartbeat: since };
  delete a.stale;
  const keepFrom = Date.parse(lost.at) - LOST_KEEP_MS;
  a.lost = [...(old?.lost ?? []).filter((l) => !(Date.parse(l.at) < keepFrom)), lost].slice(-MAX_LOST);
  return [L.agentFile(owner), json(a)];
}

/** Refuses a claim of `t` by `agent` while one of its resources overlaps what another agent holds. */
function checkResourcesFree(s: StateReader, t: Task, agent: string, now: Date): void {
  if (!(t.resources ?? []).length) return;
  const c = conflictWith(t.resources, holdings(s, now, agent, `${t.workstream}/${t.id}`));
  if (!c) return;
  const h = c.held;
  throw conflict(`task ${t.workstream}/${t.id} needs "${c.mine}", which overlaps ${describeHolding(h)}; pick another with \`orc t next ${t.workstream} ${agent}\` or wait`, {
    id: t.id,
    resource: c.mine,
    holder: h.agent,
    held_resource: h.resource,
    expires_at: h.expires_at,
    ...(h.token !== undefined ? { token: h.token } : {}),
    ...(h.task ? { task: h.task } : {}),
  });
}

function checkClaimable(s: StateReader, t: Task, agent: string, ctx: OpContext): void {
  if (t.status === 'done' || t.status === 'failed') throw conflict(`task ${t.workstream}/${t.id} is ${t.status}; it cannot be claimed`, { id: t.id, status: t.status });
  if (t.status === 'in_progress' && t.assigned_to !== agent && S.leaseLive(t, s, ctx.now)) {
    const exp = S.withLease(t, S.getAgent(s, t.assigned_to ?? '')).lease_expires_at;
    throw conflict(`task ${t.workstream}/${t.id} is claimed by ${t.assigned_to} until ${exp}; pick another with \`orc t next ${t.workstream} ${agent}\``, { id: t.id, assigned_to: t.assigned_to });
  }
}

const claimInput = (r: Record<string, unknown>) => ({
  agent: V.checkName('agent', r.agent),
  lease_ms: r.lease_ms === undefined || r.lease_ms === null || r.lease_ms === '' ? null : V.checkDuration('lease', r.lease_ms),
});

export const taskClaim = def({
  name: 'task.claim',
  exclusive: true,
  parse: (r) => ({ workstream: V.checkName('workstream', r.workstream), id: V.checkName('task', r.id), ...claimInput(r) }),
  decide(s, i, ctx) {
    S.requireWorkstream(s, i.workstream);
    const t = requireLiveTask(s, i.workstream, i.id, 'claimed');
    checkClaimable(s, t, i.agent, ctx);
    if (t.after?.length) {
      const dep = blockedBy(t, (id) => S.getTask(s, i.workstream, id)?.status, s);
      if (dep) throw conflict(`task ${i.workstream}/${i.id} waits for ${dep}, which is not done yet`, { id: i.id, waiting_for: dep });
    }
    checkResourcesFree(s, t, i.agent, ctx.now);
    return claimDecision(s, t, i.agent, i.lease_ms ?? ctx.settings.lease_ms, ctx);
  },
});

/**
 * The tasks `next` could claim now, best first: pending or lease-expired,
 * with every dependency done; for `agent`, also none of whose resources
 * overlaps what another agent holds (a live lock or a running task's).
 */
export function claimable(s: StateReader, ws: string, now: Date, agent?: string): Task[] {
  const tasks = S.listTasksRaw(s, ws);
  const status = new Map(tasks.map((t) => [t.id, t.status]));
  let held: ReturnType<typeof holdings> | undefined;
  const agents = new Map<string, Agent | null>();
  const owner = (id: string) => {
    if (!agents.has(id)) agents.set(id, S.getAgent(s, id));
    return agents.get(id) ?? null;
  };
  return tasks
    .filter((t) => {
      if (t.status === 'pending') return true;
      if (t.status !== 'in_progress') return false;
      const exp = S.leaseExpiry(t, t.assigned_to ? owner(t.assigned_to) : null);
      return exp !== null && exp <= now.getTime();
    })
    .filter((t) => blockedBy(t, (id) => status.get(id), s) === null)
    .filter((t) => agent === undefined || !(t.resources ?? []).length || !conflictWith(t.resources, (held ??= holdings(s, now, agent)).filter((h) => h.task !== `${ws}/${t.id}`)))
    .sort(S.byPriority);
}

export const taskNext = def({
  name: 'task.next',
  exclusive: true,
  parse: (r) => ({ workstream: V.checkName('workstream', r.workstream), ...claimInput(r) }),
  decide(s, i, ctx): Decision<Task | null> {
    S.requireWorkstream(s, i.workstream);
    const best = claimable(s, i.workstream, ctx.now, i.agent)[0];
    if (!best) return nothing(null, `no claimable task in ${i.workstream}`);
    return claimDecision(s, best, i.agent, i.lease_ms ?? ctx.settings.lease_ms, ctx);
  },
});

export const taskComplete = def({
  name: 'task.complete',
  exclusive: true,
  parse: (r) => ({
    workstream: V.checkName('workstream', r.workstream),
    id: V.checkName('task', r.id),
    /** The agent completing it, when one was named; otherwise the owner is taken to complete it. */
    agent: r.agent === undefined || r.agent === null || r.agent === '' ? null : V.checkName('agent', r.agent),
    result: V.checkText('result', r.result, V.LIMITS.result),
    failed: r.failed === true,
  }),
  decide(s, i, ctx) {
    S.requireWorkstream(s, i.workstream);
    const t = requireLiveTask(s, i.workstream, i.id, i.failed ? 'failed' : 'completed');
    if (t.status === 'done' || t.status === 'failed') throw conflict(`task ${i.workstream}/${i.id} is already ${t.status}`, { id: i.id, status: t.status });
    const owner = t.status === 'in_progress' ? t.assigned_to : null;
    if (i.agent && owner && owner !== i.agent && S.leaseLive(t, s, ctx.now)) {
      throw conflict(`task ${i.workstream}/${i.id} is claimed by ${owner}, not ${i.agent}; only its owner can ${i.failed ? 'fail' : 'complete'} it while the lease runs`, { id: i.id, assigned_to: owner });
    }
    // No agent named: the operator, who may finish any task; over an owner's claim that is recorded, never silent.
    // (The original's main loop completes for its sub-agents: through git-orc/compat that is this case, by its agent.)
    const overrode = owner && owner !== (i.agent ?? ctx.actor) ? owner : null;
    const by = i.agent ?? (ctx.actor === 'system' ? 'operator' : ctx.actor);
    const actor = i.agent ?? ctx.actor;
    const now = iso(ctx.now);
    const status = i.failed ? ('failed' as const) : ('done' as const);
    const done: Task = { ...t, status, result: i.result || null, completed_at: now, updated_at: now, assigned_to: t.assigned_to ?? actor };
    delete done.lease_expires_at;
    const changes = new Map([[L.taskFile(i.workstream, i.id), json(done)], ...runningIndexChanges(s, done)]);
    if (overrode) changes.set(...lostBy(s, overrode, t, { workstream: i.workstream, id: i.id, by, at: now, action: i.failed ? 'failed' : 'completed' }));
    // Locks taken for this task (`lock acquire RES --task WS/ID`) end with it, in this commit.
    const key = `${i.workstream}/${i.id}`;
    const released: string[] = [];
    for (const l of S.listLockRecords(s)) {
      if (l.task !== key || l.released_at) continue;
      changes.set(L.lockFile(l.resource), json({ ...l, released_at: now }));
      released.push(l.resource);
    }
    released.sort();
    return {
      changes,
      event: {
        action: i.failed ? 'task_failed' : 'task_completed',
        workstream: i.workstream,
        task_id: i.id,
        title: t.title,
        result: i.result || null,
        ...(overrode ? { overrode, on_behalf_of: overrode, by } : {}),
        ...(released.length ? { released_locks: released } : {}),
      },
      summary: `${i.failed ? 'fail' : 'complete'} ${i.workstream}/${i.id}${overrode ? ` over ${overrode}'s claim, by ${by}` : ''}: ${t.title}`,
      result: overrode ? { ...S.withLease(done, null), overrode, by } : S.withLease(done, null),
      actor,
    };
  },
});

/**
 * A finished task back to pending: a failed one to try again, a done one
 * found wanting. Its claim and completion are cleared; the last result is
 * kept in the event, and the reason given becomes the new result's context.
 */
export const taskReopen = def({
  name: 'task.reopen',
  exclusive: true,
  parse: (r) => ({
    workstream: V.checkName('workstream', r.workstream),
    id: V.checkName('task', r.id),
    reason: V.checkText('reason', r.reason, V.LIMITS.result),
  }),
  decide(s, i, ctx) {
    S.requireWorkstream(s, i.workstream);
    const t = requireLiveTask(s, i.workstream, i.id, 'reopened');
    if (t.status !== 'done' && t.status !== 'failed') {
      throw conflict(`task ${i.workstream}/${i.id} is ${t.status.replace('_', ' ')}; only a done or failed task can be reopened`, { id: i.id, status: t.status });
    }
    const now = iso(ctx.now);
    const open: Task = { ...t, status: 'pending', assigned_to: null, claimed_at: null, lease_ms: null, completed_at: null, result: null, updated_at: now };
    delete open.lease_expires_at;
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(open)]]),
      event: { action: 'task_reopened', workstream: i.workstream, task_id: i.id, title: t.title, was: t.status, previous_result: t.result, reason: i.reason || null },
      summary: `reopen ${i.workstream}/${i.id}: ${t.title}`,
      result: S.withLease(open, null),
    };
  },
});

// ---------------------------------------------------------------- agents

/** The type of an agent registered without one, as in the original tool. */
export const DEFAULT_AGENT_TYPE = 'general';

export const agentRegister = def({
  name: 'agent.register',
  exclusive: false,
  parse: (r) => ({
    id: V.checkName('agent', r.id),
    type: r.type === undefined || r.type === null || r.type === '' ? DEFAULT_AGENT_TYPE : V.checkAgentType(r.type),
    capabilities: V.checkList('capabilities', r.capabilities, (x) => V.checkName('capability', x)),
  }),
  decide(s, i, ctx) {
    const now = iso(ctx.now);
    const old = S.getAgent(s, i.id);
    const agent: Agent = { id: i.id, type: i.type, capabilities: i.capabilities, status: 'active', registered_at: old?.registered_at ?? now, last_heartbeat: now };
    return {
      changes: new Map([[L.agentFile(i.id), json(agent)]]),
      event: { action: 'agent_registered', agent_id: i.id, type: i.type, capabilities: i.capabilities, ...(old ? { reregistered: true } : {}) },
      summary: `register agent ${i.id} (${i.type})`,
      result: agent,
      actor: i.id,
    };
  },
});

/**
 * A heartbeat. An agent with an agent file changes nothing on the branch: the
 * caller (Orc.heartbeat) records it on the agent's presence ref, beside the
 * history. Only the first heartbeat of an unknown agent registers it, with
 * one commit. The result reports the claims lost since the previous sign of
 * life (the later of the agent file's heartbeat and the presence).
 */
export const agentHeartbeat = def({
  name: 'agent.heartbeat',
  exclusive: false,
  parse: (r) => ({ id: V.checkName('agent', r.id) }),
  decide(s, i, ctx) {
    const now = iso(ctx.now);
    const file = S.getAgentFile(s, i.id);
    const prev = S.getAgent(s, i.id)?.last_heartbeat ?? null;
    const lost = (file?.lost ?? []).filter((l) => prev === null || l.at > prev);
    if (file) {
      const agent: Agent = { ...file, last_heartbeat: now };
      delete agent.stale;
      delete agent.lost;
      return { changes: new Map(), event: null, summary: `heartbeat of ${i.id}`, result: { ...agent, lost }, actor: i.id };
    }
    // An agent that never registered still gets its leases extended: it is registered on its first heartbeat.
    const agent: Agent = { id: i.id, type: DEFAULT_AGENT_TYPE, capabilities: [], status: 'active', registered_at: now, last_heartbeat: now };
    return {
      changes: new Map([[L.agentFile(i.id), json(agent)]]),
      event: { action: 'agent_heartbeat', agent_id: i.id, registered: true },
      summary: `heartbeat of ${i.id}`,
      result: { ...agent, lost },
      actor: i.id,
    };
  },
});

// ---------------------------------------------------------------- locks

/** A task named as `WS/ID`, as `lock acquire --task` takes it. */
function checkTaskRef(v: unknown): string {
  const parts = typeof v === 'string' ? v.split('/') : [];
  if (parts.length !== 2) throw invalid(`task ${JSON.stringify(v)} is not WS/ID; name the task a lock is for as its workstream and id, like api/t1`);
  return `${V.checkName('workstream', parts[0])}/${V.checkName('task', parts[1])}`;
}

export const lockAcquire = def({
  name: 'lock.acquire',
  exclusive: true,
  parse: (r) => ({
    resource: V.checkResource(r.resource),
    agent: V.checkName('agent', r.agent),
    ttl_ms: r.ttl_ms === undefined || r.ttl_ms === null || r.ttl_ms === '' ? null : V.checkDuration('ttl', r.ttl_ms),
    task: r.task === undefined || r.task === null || r.task === '' ? null : checkTaskRef(r.task),
  }),
  decide(s, i, ctx): Decision<Lock> {
    const old = S.getLockRecord(s, i.resource);
    const holder = old ? S.getAgent(s, old.agent) : null;
    const active = old !== null && S.lockLive(s, old, ctx.now, holder);
    if (active && old.agent !== i.agent) {
      const until = S.publicLock(old, holder).expires_at;
      throw conflict(`lock "${i.resource}" is held by ${old.agent} until ${until} (token ${old.token}); wait or ask ${old.agent} to release it`, { resource: i.resource, holder: old.agent, expires_at: until, token: old.token });
    }
    // One overlap rule for every resource: a path, a glob or a name held by another agent, as a lock or by a running task.
    const clash = conflictWith([i.resource], holdings(s, ctx.now, i.agent).filter((h) => !(h.kind === 'lock' && h.resource === i.resource)));
    if (clash) {
      const h = clash.held;
      throw conflict(`lock "${i.resource}" overlaps ${describeHolding(h)}; wait or ask ${h.agent} to ${h.kind === 'lock' ? 'release it' : 'finish it'}`, {
        resource: i.resource,
        holder: h.agent,
        held_resource: h.resource,
        expires_at: h.expires_at,
        ...(h.token !== undefined ? { token: h.token } : {}),
        ...(h.task ? { task: h.task } : {}),
      });
    }
    if (i.task) {
      const [ws, id] = i.task.split('/') as [string, string];
      S.requireWorkstream(s, ws);
      const t = S.requireTask(s, ws, id);
      if (t.status === 'done' || t.status === 'failed') throw conflict(`task ${i.task} is ${t.status}; a lock for it would never be released by it`, { task: i.task, status: t.status });
      if (t.status === 'in_progress' && t.assigned_to !== i.agent && S.leaseLive(t, s, ctx.now)) {
        throw conflict(`task ${i.task} is claimed by ${t.assigned_to}, not ${i.agent}; take locks only for your own tasks`, { task: i.task, assigned_to: t.assigned_to });
      }
    }
    const ttl = i.ttl_ms ?? ctx.settings.lock_ttl_ms;
    const now = iso(ctx.now);
    const expires = iso(ctx.now.getTime() + ttl);
    const renew = active && old.agent === i.agent;
    const rec: LockRecord = renew
      ? { ...old, ttl_ms: ttl, expires_at: expires }
      : { resource: i.resource, agent: i.agent, acquired_at: now, ttl_ms: ttl, expires_at: expires, token: (old?.token ?? 0) + 1, released_at: null };
    if (i.task) rec.task = i.task;
    else if (!renew) delete rec.task;
    const takeover = !renew && old && !old.released_at ? { previous_agent: old.agent } : {};
    return {
      changes: new Map([[L.lockFile(i.resource), json(rec)]]),
      event: { action: renew ? 'lock_renewed' : 'lock_acquired', resource: i.resource, token: rec.token, ttl_ms: ttl, expires_at: expires, ...takeover, ...(rec.task ? { task: rec.task } : {}) },
      summary: `${renew ? 'renew' : 'acquire'} lock ${i.resource} for ${i.agent}${rec.task ? ` (task ${rec.task})` : ''} (token ${rec.token})`,
      result: S.publicLock(rec),
      actor: i.agent,
    };
  },
});

export const lockRelease = def({
  name: 'lock.release',
  exclusive: true,
  parse: (r) => ({ resource: V.checkResource(r.resource), agent: V.checkName('agent', r.agent) }),
  decide(s, i, ctx): Decision<Lock> {
    const old = S.getLockRecord(s, i.resource);
    if (!old || old.released_at) throw notFound(`lock "${i.resource}" is not held; see \`orc lock list\``, { resource: i.resource });
    if (old.agent !== i.agent) {
      const state = S.lockLive(s, old, ctx.now) ? 'held' : 'last held (now expired)';
      throw conflict(`lock "${i.resource}" is ${state} by ${old.agent}, not ${i.agent}; only the holder can release it`, { resource: i.resource, holder: old.agent });
    }
    const rec: LockRecord = { ...old, released_at: iso(ctx.now) };
    return {
      changes: new Map([[L.lockFile(i.resource), json(rec)]]),
      event: { action: 'lock_released', resource: i.resource, token: old.token },
      summary: `release lock ${i.resource} by ${i.agent} (token ${old.token})`,
      result: S.publicLock(rec),
      actor: i.agent,
    };
  },
});

/**
 * Several locks at once, all or nothing, in one commit: each resource is
 * decided as `lock.acquire` decides it (against the same state: the agent's
 * own locks never stand in each other's way), each with its fencing token.
 */
export const lockAcquireMany = def({
  name: 'lock.acquire_many',
  exclusive: true,
  parse: (r) => {
    if (!Array.isArray(r.resources) || r.resources.length === 0) throw invalid('resources must be a non-empty list, like ["src/api/**", "src/db.ts"]');
    if (r.resources.length > 100) throw invalid(`${r.resources.length} resources in one acquire; the limit is 100`);
    const one = lockAcquire.parse({ ...r, resource: r.resources[0] });
    return { ...one, resources: [...new Set(r.resources.map((x) => V.checkResource(x)))] };
  },
  decide(s, i, ctx): Decision<Lock[]> {
    const each = i.resources.map((resource) => lockAcquire.decide(s, { ...i, resource }, ctx));
    const changes = new Map(each.flatMap((d) => [...d.changes]));
    const locks = each.map((d) => d.result);
    return {
      changes,
      event: { action: 'locks_acquired', locks: locks.map((l, n) => ({ resource: l.resource, token: l.token, renewed: each[n]!.event?.action === 'lock_renewed' })), ttl_ms: i.ttl_ms ?? ctx.settings.lock_ttl_ms, expires_at: locks[0]!.expires_at, ...(i.task ? { task: i.task } : {}) },
      summary: `acquire ${locks.length} locks for ${i.agent}: ${locks.map((l) => `${l.resource} (token ${l.token})`).join(', ')}`.slice(0, 500),
      result: locks,
      actor: i.agent,
    };
  },
});

// ---------------------------------------------------------------- knowledge

export const kbWrite = def({
  name: 'kb.write',
  exclusive: false,
  parse: (r) => {
    const topic = V.checkTopic(r.topic);
    // Knowledge is kept byte for byte: a string is stored as UTF-8, a Buffer as it is.
    if (typeof r.content === 'string') V.checkWellFormed('knowledge content', r.content);
    const content = typeof r.content === 'string' ? Buffer.from(r.content, 'utf8') : Buffer.isBuffer(r.content) ? r.content : undefined;
    if (content === undefined) throw invalid('knowledge content is missing; give the text, or - to read it from stdin');
    if (content.length > V.LIMITS.knowledge) throw invalid(`knowledge content is ${content.length} bytes; the limit is ${V.LIMITS.knowledge}`);
    return { topic, content };
  },
  decide(s, i) {
    const bytes = i.content;
    const path = L.knowledgeFile(i.topic);
    const clash = S.topicClash(s, i.topic);
    if (clash) throw conflict(`knowledge topic "${i.topic}" cannot be written: ${clash}; pick another topic or remove that one first`, { topic: i.topic });
    const existed = s.read(path) !== null;
    return {
      changes: new Map([[path, bytes]]),
      event: { action: 'knowledge_written', topic: i.topic, bytes: bytes.length, ...(existed ? { updated: true } : {}) },
      summary: `write knowledge ${i.topic} (${bytes.length} bytes)`,
      result: { topic: i.topic, bytes: bytes.length },
    };
  },
});

export const kbDelete = def({
  name: 'kb.delete',
  exclusive: false,
  parse: (r) => ({ topic: V.checkTopic(r.topic) }),
  decide(s, i) {
    const path = L.knowledgeFile(i.topic);
    if (s.read(path) === null) throw notFound(`no knowledge topic "${i.topic}"; see \`orc kb list\``, { topic: i.topic });
    return {
      changes: new Map([[path, null]]),
      event: { action: 'knowledge_deleted', topic: i.topic },
      summary: `delete knowledge ${i.topic}`,
      result: { topic: i.topic },
    };
  },
});

// ---------------------------------------------------------------- free-form events

const RESERVED = new Set(['ts', 'agent', 'action']);
export const eventLog = def({
  name: 'event.log',
  exclusive: false,
  parse: (r) => {
    const action = r.action;
    if (typeof action !== 'string' || !/^[a-z][a-z0-9_.-]{0,63}$/.test(action)) {
      throw invalid(`event action ${JSON.stringify(action)} is not allowed; use lower-case letters, digits, '_', '.' or '-', like deploy_started`);
    }
    const data = r.data ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw invalid('event data must be a JSON object');
    if (JSON.stringify(data).length > V.LIMITS.eventData) throw invalid(`event data is larger than ${V.LIMITS.eventData} characters`);
    for (const k of Object.keys(data)) if (RESERVED.has(k)) throw invalid(`event data cannot set "${k}"; orc sets ts, agent and action`);
    if (isReservedAction(action)) {
      throw invalid(`event action "${action}" is reserved: orc writes it itself (as is every task_ and lock_ action); name your event differently, like deploy_started`, { action });
    }
    return { action, data: data as Record<string, unknown> };
  },
  decide(_s, i) {
    return { changes: new Map(), event: { action: i.action, ...i.data }, summary: `event ${i.action}`, result: { action: i.action } };
  },
});

/**
 * `code.commit`: the post-commit hook's link from a code commit to its task
 * (a `code_committed` event). Its own op with checked fields, so the
 * free-form `event.log` can refuse that action.
 */
export const codeCommit = def({
  name: 'code.commit',
  exclusive: false,
  parse: (r) => {
    const hex = (k: string, v: unknown) => {
      if (typeof v !== 'string' || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(v)) throw invalid(`${k} must be a full commit id (40 or 64 hex digits)`);
      return v;
    };
    return {
      workstream: V.checkName('workstream', r.workstream),
      task_id: V.checkName('task', r.task_id),
      commit: hex('commit', r.commit),
      branch: r.branch === undefined || r.branch === null ? null : V.checkLine('branch', r.branch, 255),
      subject: r.subject === undefined || r.subject === null || (typeof r.subject === 'string' && r.subject.trim() === '') ? '' : V.checkLine('subject', r.subject, 200),
      ...(r.amends === undefined || r.amends === null ? {} : { amends: hex('amends', r.amends) }),
    };
  },
  decide(s, i) {
    // A linked commit shows on the task's page: it must name a task there is.
    S.requireWorkstream(s, i.workstream);
    S.requireTask(s, i.workstream, i.task_id);
    return { changes: new Map(), event: { action: 'code_committed', ...i }, summary: `link ${i.commit.slice(0, 12)} to ${i.workstream}/${i.task_id}`, result: { action: 'code_committed' } };
  },
});

/**
 * `sync.refused`: sync's record that a replayed op was refused on the
 * remote's tip (an `op_replay_refused` event by system).
 */
export const syncRefused = def({
  name: 'sync.refused',
  exclusive: false,
  parse: (r) => {
    const data = r.data ?? {};
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid('refusal data must be a JSON object');
    if (JSON.stringify(data).length > V.LIMITS.eventData) throw invalid(`refusal data is larger than ${V.LIMITS.eventData} characters`);
    for (const k of Object.keys(data)) if (RESERVED.has(k)) throw invalid(`event data cannot set "${k}"; orc sets ts, agent and action`);
    return { data: data as Record<string, unknown> };
  },
  decide(_s, i, ctx) {
    if (ctx.actor !== 'system') throw invalid('only orc sync records a refused replay (as system)');
    return { changes: new Map(), event: { action: 'op_replay_refused', ...i.data }, summary: 'event op_replay_refused', result: { action: 'op_replay_refused' } };
  },
});

/** Every op, by name: the engine runs them and a replay finds them here from an `Orc-Op` trailer. */
export const OPS = {
  [init.name]: init,
  [wsCreate.name]: wsCreate,
  [taskAdd.name]: taskAdd,
  [taskDepend.name]: taskDepend,
  [taskClaim.name]: taskClaim,
  [taskNext.name]: taskNext,
  [taskComplete.name]: taskComplete,
  [taskReopen.name]: taskReopen,
  [agentRegister.name]: agentRegister,
  [agentHeartbeat.name]: agentHeartbeat,
  [lockAcquire.name]: lockAcquire,
  [lockRelease.name]: lockRelease,
  [lockAcquireMany.name]: lockAcquireMany,
  [kbWrite.name]: kbWrite,
  [kbDelete.name]: kbDelete,
  [eventLog.name]: eventLog,
  [codeCommit.name]: codeCommit,
  [syncRefused.name]: syncRefused,
} as Record<string, OpDef<unknown, unknown>>;

/**
 * Adds an op defined outside the model (the runner's) to OPS, so a replay
 * finds it by name. Registering the same def again is a no-op; another def
 * under a taken name is a bug.
 */
let opLoader: ((name: string) => Promise<unknown> | undefined) | null = null;

/**
 * Names where ops defined above the model come from (the runner's plan,
 * collect and template ops, whose module loads Handlebars): set by the layer
 * that owns them (the CLI, the library's entry), so a replay in ops/ can find
 * any op by name without importing upward.
 */
export function setOpLoader(load: (name: string) => Promise<unknown> | undefined): void {
  opLoader = load;
}

/** The op named `name`, loading it through the op loader if it is not registered yet. */
export async function findOp(name: string): Promise<OpDef<unknown, unknown> | undefined> {
  if (!OPS[name] && opLoader) await opLoader(name);
  return OPS[name];
}

export function registerOp<I, R>(d: OpDef<I, R>): OpDef<I, R> {
  const old = OPS[d.name];
  if (old && old !== (d as OpDef<unknown, unknown>)) throw new Error(`op ${d.name} is already registered`);
  OPS[d.name] = d as OpDef<unknown, unknown>;
  return d;
}
