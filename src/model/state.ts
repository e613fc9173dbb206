import { OrcError, notFound } from '../errors.js';
import * as L from './layout.js';
import { DEFAULT_SETTINGS, FORMAT_VERSION, type Agent, type LockRecord, type Lock, type OrcConfigFile, type Settings, type Task, type TaskCounts, type Workstream, type WorkstreamSummary } from './types.js';

/** One entry of a folder in the state tree. */
export interface DirEntry {
  name: string;
  dir: boolean;
  oid: string;
}

/**
 * A read-only view of the state at one commit. Implemented by the git store;
 * decisions only ever see this, so they are pure functions of a commit.
 * Parsed values may be shared between calls: never mutate them.
 */
export interface StateReader {
  /** The commit this view shows, or null before the branch exists. */
  readonly commit: string | null;
  /** A file's bytes, or null if there is none. */
  read(path: string): Buffer | null;
  /** A folder's entries, or [] if there is none. */
  list(dir: string): DirEntry[];
  /** A JSON file parsed, or null if there is none; CORRUPT (naming file and commit) if it is not JSON. */
  json<T>(path: string): T | null;
  /** A blob by id, parsed as JSON (cached by id); `path` is for messages. */
  jsonBlob<T>(oid: string, path: string): T;
  /**
   * A value derived from the git object `oid` alone, computed once: objects
   * never change, so the reader may keep it (across processes, too) for as
   * long as it likes. `kind` names the derivation; values must be JSON.
   */
  memo<T>(kind: string, oid: string, compute: () => T): T;
}

export function corrupt(s: StateReader, path: string, why: string): OrcError {
  const at = s.commit ? s.commit.slice(0, 12) : '(none)';
  return new OrcError('CORRUPT', `state file ${path} at commit ${at} ${why}; fix it on the branch (git show ${at}:${path}) or revert that commit`, { path, commit: s.commit });
}

export function readConfigFile(s: StateReader): OrcConfigFile | null {
  const cfg = s.json<OrcConfigFile>(L.ORC_JSON);
  if (cfg && cfg.format !== FORMAT_VERSION) {
    throw new OrcError('CORRUPT', `state branch uses format ${String(cfg.format)}, this orc understands format ${FORMAT_VERSION}; upgrade orc`, { format: cfg.format });
  }
  return cfg;
}

export function settingsOf(s: StateReader): Settings {
  return { ...DEFAULT_SETTINGS, ...(readConfigFile(s)?.settings ?? {}) };
}

export function getWorkstream(s: StateReader, name: string): Workstream | null {
  return s.json<Workstream>(L.wsFile(name));
}

export function requireWorkstream(s: StateReader, name: string): Workstream {
  const ws = getWorkstream(s, name);
  if (!ws) throw notFound(`no workstream "${name}"; create it with \`orc ws create ${name}\` or see \`orc ws list\``, { workstream: name });
  return ws;
}

export function getTask(s: StateReader, ws: string, id: string): Task | null {
  return s.json<Task>(L.taskFile(ws, id));
}

export function requireTask(s: StateReader, ws: string, id: string): Task {
  const t = getTask(s, ws, id);
  if (!t) throw notFound(`no task "${id}" in workstream "${ws}"; see \`orc t list ${ws}\``, { workstream: ws, id });
  return t;
}

function shardTasks(s: StateReader, dir: string): Task[] {
  const out: Task[] = [];
  for (const f of s.list(dir)) {
    if (f.dir || !f.name.endsWith('.json')) continue;
    const path = `${dir}/${f.name}`;
    const t = s.jsonBlob<Task>(f.oid, path);
    if (!t || typeof t !== 'object' || typeof t.id !== 'string') throw corrupt(s, path, 'is not a task');
    out.push(t);
  }
  return out;
}

/** Every task of a workstream (one read per shard folder plus one per task, each cached by blob id). */
export function listTasksRaw(s: StateReader, ws: string): Task[] {
  const dir = L.tasksDir(ws);
  return s
    .list(dir)
    .filter((shard) => shard.dir)
    .flatMap((shard) => shardTasks(s, `${dir}/${shard.name}`));
}

/**
 * Task counts of a workstream, memoised per shard tree: a shard's tree id
 * fixes its tasks, and an op changes one shard, so after the first count only
 * the shards changed since are read again.
 */
export function countWorkstreamTasks(s: StateReader, ws: string): TaskCounts {
  const dir = L.tasksDir(ws);
  const total = emptyCounts();
  for (const shard of s.list(dir)) {
    if (!shard.dir) continue;
    const c = s.memo('task-counts', shard.oid, () => countTasks(shardTasks(s, `${dir}/${shard.name}`)));
    for (const k of Object.keys(total) as (keyof TaskCounts)[]) total[k] += c[k] ?? 0;
  }
  return total;
}

export function workstreamNames(s: StateReader): string[] {
  return s
    .list('workstreams')
    .filter((e) => e.dir)
    .map((e) => e.name);
}

export function getAgent(s: StateReader, id: string): Agent | null {
  return s.json<Agent>(L.agentFile(id));
}

export function listAgentsRaw(s: StateReader): Agent[] {
  return s
    .list('agents')
    .filter((e) => !e.dir && e.name.endsWith('.json'))
    .map((e) => s.jsonBlob<Agent>(e.oid, `agents/${e.name}`));
}

export function getLockRecord(s: StateReader, resource: string): LockRecord | null {
  return s.json<LockRecord>(L.lockFile(resource));
}

export function listLockRecords(s: StateReader): LockRecord[] {
  return s
    .list('locks')
    .filter((e) => !e.dir && e.name.endsWith('.json'))
    .map((e) => s.jsonBlob<LockRecord>(e.oid, `locks/${e.name}`));
}

/** By its TTL alone (ignores the holder's heartbeats): use lockLive to decide. */
export function lockIsActive(l: LockRecord, now: Date): boolean {
  return !l.released_at && Date.parse(l.expires_at) > now.getTime();
}

/**
 * When a lock runs out, like a lease: its own expiry, or the holder's last
 * heartbeat plus the lock's TTL if that is later. Heartbeats thus keep every
 * lock of a live agent while touching only the agent's file (tokens and the
 * lock files change only by acquire, release and complete), and a holder
 * that went silent loses its locks one TTL after its last sign of life.
 * Null once released.
 */
export function lockExpiry(l: LockRecord, holder: Agent | null): number | null {
  if (l.released_at) return null;
  const own = Date.parse(l.expires_at);
  const beat = holder ? Date.parse(holder.last_heartbeat) : NaN;
  return Number.isFinite(beat) ? Math.max(own, beat + l.ttl_ms) : own;
}

export function lockLive(s: StateReader, l: LockRecord, now: Date, holder: Agent | null = getAgent(s, l.agent)): boolean {
  const exp = lockExpiry(l, holder);
  return exp !== null && exp > now.getTime();
}

/** The lock as shown: its expiry as extended by the holder's heartbeats (pass the holder), `task` only when it has one. */
export function publicLock(l: LockRecord, holder?: Agent | null): Lock {
  const exp = holder === undefined ? null : lockExpiry(l, holder);
  const out: Lock = { resource: l.resource, agent: l.agent, acquired_at: l.acquired_at, ttl_ms: l.ttl_ms, expires_at: exp === null ? l.expires_at : new Date(exp).toISOString(), token: l.token };
  if (l.task) out.task = l.task;
  return out;
}

/**
 * The locks held at `now`, judged with their holders' heartbeats, sorted by
 * resource. Reads every file under locks/ (released ones stay, to keep their
 * tokens), so its cost grows with the resources ever locked.
 */
export function activeLocks(s: StateReader, now: Date): Lock[] {
  const agents = new Map<string, Agent | null>();
  const holder = (id: string) => {
    if (!agents.has(id)) agents.set(id, getAgent(s, id));
    return agents.get(id) ?? null;
  };
  return listLockRecords(s)
    .filter((l) => !l.released_at && lockLive(s, l, now, holder(l.agent)))
    .map((l) => publicLock(l, holder(l.agent)))
    .sort((a, b) => a.resource.localeCompare(b.resource));
}

/**
 * When a claim's lease runs out: the later of the claim and the owner's last
 * heartbeat, plus the lease. Heartbeats thus extend every lease of an agent
 * by touching only the agent's own file.
 */
export function leaseExpiry(t: Task, owner: Agent | null): number | null {
  if (t.status !== 'in_progress' || !t.claimed_at) return null;
  const claimed = Date.parse(t.claimed_at);
  const beat = owner ? Date.parse(owner.last_heartbeat) : 0;
  return Math.max(claimed, Number.isFinite(beat) ? beat : 0) + (t.lease_ms ?? 0);
}

export function withLease(t: Task, owner: Agent | null): Task {
  const exp = leaseExpiry(t, owner);
  return { ...t, lease_expires_at: exp === null ? null : new Date(exp).toISOString() };
}

export function leaseLive(t: Task, s: StateReader, now: Date): boolean {
  const exp = leaseExpiry(t, t.assigned_to ? getAgent(s, t.assigned_to) : null);
  return exp !== null && exp > now.getTime();
}

export function emptyCounts(): TaskCounts {
  return { pending: 0, in_progress: 0, done: 0, failed: 0, total: 0 };
}

export function countTasks(tasks: Task[]): TaskCounts {
  const c = emptyCounts();
  for (const t of tasks) {
    if (t.status in c) c[t.status] += 1;
    c.total += 1;
  }
  return c;
}

export function summarizeWorkstream(s: StateReader, name: string): WorkstreamSummary | null {
  const ws = getWorkstream(s, name);
  if (!ws) return null;
  const c = countWorkstreamTasks(s, name);
  return { ...ws, task_counts: c, task_count: c.total, pending: c.pending, in_progress: c.in_progress, done: c.done };
}

/** Sorts by priority (1 first), then oldest first, then id: the order `next` picks in. */
export function byPriority(a: Task, b: Task): number {
  return a.priority - b.priority || a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);
}

export function listTopics(s: StateReader, dir = 'knowledge', prefix = ''): string[] {
  const out: string[] = [];
  for (const e of s.list(dir)) {
    if (e.dir) out.push(...listTopics(s, `${dir}/${e.name}`, `${prefix}${e.name}/`));
    else if (e.name.endsWith('.md')) out.push(`${prefix}${e.name.slice(0, -3)}`);
  }
  return out.sort();
}
