import { conflict, invalid, notFound } from '../errors.js';
import * as L from './layout.js';
import * as S from './state.js';
import type { StateReader } from './state.js';
import { DEFAULT_SETTINGS, FORMAT_VERSION, type Agent, type Lock, type LockRecord, type OrcConfigFile, type OrcEvent, type Settings, type Task } from './types.js';
import * as V from './validate.js';

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
    priority: r.priority === undefined || r.priority === null || r.priority === '' ? 3 : V.checkPriority(r.priority),
    estimate: r.estimate === undefined || r.estimate === null || r.estimate === '' ? null : V.checkInt('estimate', r.estimate, 0, 1_000_000),
    resources: V.checkList('resources', r.resources, V.checkResource),
    after: V.checkList('dependencies', r.after, (x) => V.checkName('task', x)),
    kb: V.checkList('knowledge topics', r.kb, V.checkTopic),
  }),
  decide(s, i, ctx) {
    S.requireWorkstream(s, i.workstream);
    if (S.getTask(s, i.workstream, i.id)) throw conflict(`task "${i.id}" already exists in "${i.workstream}"`, { id: i.id });
    for (const dep of i.after) {
      if (dep === i.id) throw invalid(`task "${i.id}" cannot wait for itself`);
      S.requireTask(s, i.workstream, dep);
    }
    const now = iso(ctx.now);
    const task: Task = {
      id: i.id,
      workstream: i.workstream,
      title: i.title,
      description: i.description,
      status: 'pending',
      priority: i.priority,
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
      after: i.after,
      kb: i.kb,
    };
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(task)]]),
      event: { action: 'task_created', workstream: i.workstream, task_id: i.id, title: i.title, priority: i.priority },
      summary: `add task ${i.workstream}/${i.id}: ${i.title}`,
      result: task,
    };
  },
});

/**
 * A dependency path from `from` to `to` over `after` edges (both ends
 * included), or null. Used to refuse an edge that would close a cycle.
 */
function dependencyPath(edges: Map<string, string[]>, from: string, to: string): string[] | null {
  const seen = new Set<string>();
  const walk = (id: string): string[] | null => {
    if (id === to) return [id];
    if (seen.has(id)) return null;
    seen.add(id);
    for (const next of edges.get(id) ?? []) {
      const rest = walk(next);
      if (rest) return [id, ...rest];
    }
    return null;
  };
  return walk(from);
}

/** `task.depend`: a task waits for more tasks of its workstream; an edge that closes a cycle is refused. */
export const taskDepend = def({
  name: 'task.depend',
  exclusive: false,
  parse: (r) => {
    const after = V.checkList('dependencies', r.after, (x) => V.checkName('task', x));
    if (!after.length) throw invalid('name at least one task to wait for');
    return { workstream: V.checkName('workstream', r.workstream), id: V.checkName('task', r.id), after };
  },
  decide(s, i, ctx): Decision<Task> {
    S.requireWorkstream(s, i.workstream);
    const t = S.requireTask(s, i.workstream, i.id);
    for (const dep of i.after) {
      if (dep === i.id) throw invalid(`task "${i.id}" cannot wait for itself`, { id: i.id });
      S.requireTask(s, i.workstream, dep);
    }
    const added = i.after.filter((d) => !(t.after ?? []).includes(d));
    if (!added.length) return nothing(t, `${i.workstream}/${i.id} already waits for ${i.after.join(', ')}`);
    const edges = new Map(S.listTasksRaw(s, i.workstream).map((x) => [x.id, x.after ?? []]));
    for (const dep of added) {
      const back = dependencyPath(edges, dep, i.id);
      if (back) {
        const cycle = [i.id, ...back];
        throw invalid(`task ${i.workstream}/${i.id} cannot wait for ${dep}: that makes a dependency cycle ${cycle.join(' → ')}`, { workstream: i.workstream, id: i.id, cycle });
      }
      edges.set(i.id, [...(edges.get(i.id) ?? []), dep]);
    }
    const now = iso(ctx.now);
    const task: Task = { ...t, after: [...(t.after ?? []), ...added], updated_at: now };
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(task)]]),
      event: { action: 'task_dependencies_added', workstream: i.workstream, task_id: i.id, after: added },
      summary: `${i.workstream}/${i.id} waits for ${added.join(', ')}`,
      result: task,
    };
  },
});

/** Why a task cannot run yet (a dependency not done), or null when it can. */
export function blockedBy(t: Task, statusOf: (id: string) => string | undefined): string | null {
  for (const dep of t.after ?? []) if (statusOf(dep) !== 'done') return dep;
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
  return {
    changes: new Map([[L.taskFile(t.workstream, t.id), json(claimed)]]),
    event,
    summary: `${verb} ${t.workstream}/${t.id} for ${agent}: ${t.title}`,
    result: S.withLease(claimed, S.getAgent(s, agent)),
    actor: agent,
  };
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
    const t = S.requireTask(s, i.workstream, i.id);
    checkClaimable(s, t, i.agent, ctx);
    if (t.after?.length) {
      const dep = blockedBy(t, (id) => S.getTask(s, i.workstream, id)?.status);
      if (dep) throw conflict(`task ${i.workstream}/${i.id} waits for ${dep}, which is not done yet`, { id: i.id, waiting_for: dep });
    }
    return claimDecision(s, t, i.agent, i.lease_ms ?? ctx.settings.lease_ms, ctx);
  },
});

/** The tasks `next` could claim now, best first: pending or lease-expired, with every dependency done. */
export function claimable(s: StateReader, ws: string, now: Date): Task[] {
  const tasks = S.listTasksRaw(s, ws);
  const status = new Map(tasks.map((t) => [t.id, t.status]));
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
    .filter((t) => blockedBy(t, (id) => status.get(id)) === null)
    .sort(S.byPriority);
}

export const taskNext = def({
  name: 'task.next',
  exclusive: true,
  parse: (r) => ({ workstream: V.checkName('workstream', r.workstream), ...claimInput(r) }),
  decide(s, i, ctx): Decision<Task | null> {
    S.requireWorkstream(s, i.workstream);
    const best = claimable(s, i.workstream, ctx.now)[0];
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
    const t = S.requireTask(s, i.workstream, i.id);
    if (t.status === 'done' || t.status === 'failed') throw conflict(`task ${i.workstream}/${i.id} is already ${t.status}`, { id: i.id, status: t.status });
    if (i.agent && t.status === 'in_progress' && t.assigned_to && t.assigned_to !== i.agent && S.leaseLive(t, s, ctx.now)) {
      throw conflict(`task ${i.workstream}/${i.id} is claimed by ${t.assigned_to}, not ${i.agent}; only its owner can complete it while the lease runs`, { id: i.id, assigned_to: t.assigned_to });
    }
    const now = iso(ctx.now);
    const status = i.failed ? ('failed' as const) : ('done' as const);
    const by = i.agent ?? t.assigned_to ?? ctx.actor;
    const done: Task = { ...t, status, result: i.result || null, completed_at: now, updated_at: now, assigned_to: t.assigned_to ?? by };
    delete done.lease_expires_at;
    return {
      changes: new Map([[L.taskFile(i.workstream, i.id), json(done)]]),
      event: { action: i.failed ? 'task_failed' : 'task_completed', workstream: i.workstream, task_id: i.id, title: t.title, result: i.result || null },
      summary: `${i.failed ? 'fail' : 'complete'} ${i.workstream}/${i.id}: ${t.title}`,
      result: done,
      actor: by,
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
    const t = S.requireTask(s, i.workstream, i.id);
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
      result: open,
    };
  },
});

// ---------------------------------------------------------------- agents

export const agentRegister = def({
  name: 'agent.register',
  exclusive: false,
  parse: (r) => ({
    id: V.checkName('agent', r.id),
    type: r.type === undefined || r.type === null || r.type === '' ? 'worker' : V.checkName('agent type', r.type),
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

export const agentHeartbeat = def({
  name: 'agent.heartbeat',
  exclusive: false,
  parse: (r) => ({ id: V.checkName('agent', r.id) }),
  decide(s, i, ctx) {
    const now = iso(ctx.now);
    const old = S.getAgent(s, i.id);
    // An agent that never registered still gets its leases extended: it is registered on its first heartbeat.
    const agent: Agent = old ? { ...old, last_heartbeat: now } : { id: i.id, type: 'worker', capabilities: [], status: 'active', registered_at: now, last_heartbeat: now };
    delete agent.stale;
    return {
      changes: new Map([[L.agentFile(i.id), json(agent)]]),
      event: { action: 'agent_heartbeat', agent_id: i.id, ...(old ? {} : { registered: true }) },
      summary: `heartbeat of ${i.id}`,
      result: agent,
      actor: i.id,
    };
  },
});

// ---------------------------------------------------------------- locks

export const lockAcquire = def({
  name: 'lock.acquire',
  exclusive: true,
  parse: (r) => ({
    resource: V.checkResource(r.resource),
    agent: V.checkName('agent', r.agent),
    ttl_ms: r.ttl_ms === undefined || r.ttl_ms === null || r.ttl_ms === '' ? null : V.checkDuration('ttl', r.ttl_ms),
  }),
  decide(s, i, ctx): Decision<Lock> {
    const old = S.getLockRecord(s, i.resource);
    const active = old !== null && S.lockIsActive(old, ctx.now);
    if (active && old.agent !== i.agent) {
      throw conflict(`lock "${i.resource}" is held by ${old.agent} until ${old.expires_at} (token ${old.token}); wait or ask ${old.agent} to release it`, { resource: i.resource, holder: old.agent, expires_at: old.expires_at });
    }
    const ttl = i.ttl_ms ?? ctx.settings.lock_ttl_ms;
    const now = iso(ctx.now);
    const expires = iso(ctx.now.getTime() + ttl);
    const renew = active && old.agent === i.agent;
    const rec: LockRecord = renew
      ? { ...old, ttl_ms: ttl, expires_at: expires }
      : { resource: i.resource, agent: i.agent, acquired_at: now, ttl_ms: ttl, expires_at: expires, token: (old?.token ?? 0) + 1, released_at: null };
    const takeover = !renew && old && !old.released_at ? { previous_agent: old.agent } : {};
    return {
      changes: new Map([[L.lockFile(i.resource), json(rec)]]),
      event: { action: renew ? 'lock_renewed' : 'lock_acquired', resource: i.resource, token: rec.token, ttl_ms: ttl, expires_at: expires, ...takeover },
      summary: `${renew ? 'renew' : 'acquire'} lock ${i.resource} for ${i.agent} (token ${rec.token})`,
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
      const state = S.lockIsActive(old, ctx.now) ? 'held' : 'last held (now expired)';
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

// ---------------------------------------------------------------- knowledge

export const kbWrite = def({
  name: 'kb.write',
  exclusive: false,
  parse: (r) => {
    const topic = V.checkTopic(r.topic);
    // Knowledge is kept byte for byte: a string is stored as UTF-8, a Buffer as it is.
    const content = typeof r.content === 'string' ? Buffer.from(r.content, 'utf8') : Buffer.isBuffer(r.content) ? r.content : undefined;
    if (content === undefined) throw invalid('knowledge content is missing; give the text, or - to read it from stdin');
    if (content.length > V.LIMITS.knowledge) throw invalid(`knowledge content is ${content.length} bytes; the limit is ${V.LIMITS.knowledge}`);
    return { topic, content };
  },
  decide(s, i) {
    const bytes = i.content;
    const path = L.knowledgeFile(i.topic);
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
    return { action, data: data as Record<string, unknown> };
  },
  decide(_s, i) {
    return { changes: new Map(), event: { action: i.action, ...i.data }, summary: `event ${i.action}`, result: { action: i.action } };
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
  [kbWrite.name]: kbWrite,
  [kbDelete.name]: kbDelete,
  [eventLog.name]: eventLog,
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
