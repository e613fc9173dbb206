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
  /**
   * When `agent` was last seen alive by its presence (beside the branch, not
   * on it: heartbeats), or null when unknown. Liveness is the later of this
   * and the agent file's last_heartbeat; getAgent and listAgentsRaw lay it over.
   */
  presence?(agent: string): string | null;
}

export function corrupt(s: StateReader, path: string, why: string): OrcError {
  const at = s.commit ? s.commit.slice(0, 12) : '(none)';
  return new OrcError('CORRUPT', `state file ${path} at commit ${at} ${why}; fix it on the branch (git show ${at}:${path}) or revert that commit`, { path, commit: s.commit });
}

// ---------------------------------------------------------------- shapes
// Valid JSON of the wrong shape (null, [], {"id":5}) must not reach the code
// that reads fields from it: each state file is checked as it is read, and a
// file that does not fit is CORRUPT, naming the file and the commit.

type Fields = Record<string, 'string' | 'number' | 'string?' | 'number?' | 'array?' | 'string|null' | 'number|null' | 'number|string|null'>;

function fits(v: unknown, fields: Fields): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  for (const [k, want] of Object.entries(fields)) {
    const x = o[k];
    const ok =
      want === 'string' ? typeof x === 'string'
      : want === 'number' ? typeof x === 'number' && Number.isFinite(x)
      : want === 'string?' ? x === undefined || typeof x === 'string'
      : want === 'number?' ? x === undefined || (typeof x === 'number' && Number.isFinite(x))
      : want === 'array?' ? x === undefined || (Array.isArray(x) && x.every((e) => typeof e === 'string'))
      : want === 'string|null' ? x === undefined || x === null || typeof x === 'string'
      : want === 'number|string|null' ? x === undefined || x === null || typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x))
      : x === undefined || x === null || (typeof x === 'number' && Number.isFinite(x));
    if (!ok) return false;
  }
  return true;
}

const WORKSTREAM: Fields = { name: 'string', description: 'string?', priority: 'number', status: 'string', created_at: 'string' };
const TASK: Fields = { id: 'string', workstream: 'string', title: 'string', status: 'string', priority: 'number', created_at: 'string', assigned_to: 'string|null', claimed_at: 'string|null', lease_ms: 'number|null', estimate: 'number|string|null', result: 'string|null', after: 'array?', resources: 'array?', kb: 'array?' };
const AGENT: Fields = { id: 'string', type: 'string', last_heartbeat: 'string', registered_at: 'string?', capabilities: 'array?' };
const LOCK: Fields = { resource: 'string', agent: 'string', acquired_at: 'string', ttl_ms: 'number', expires_at: 'string', token: 'number', released_at: 'string|null' };
const TASK_STATUS = new Set(['pending', 'in_progress', 'done', 'failed']);

function shaped<T>(s: StateReader, path: string, v: unknown, fields: Fields, what: string, extra?: (o: Record<string, unknown>) => boolean): T {
  if (!fits(v, fields) || (extra && !extra(v))) throw corrupt(s, path, `is not ${what} (valid JSON, wrong shape)`);
  return v as T;
}

const asWorkstream = (s: StateReader, path: string, v: unknown) => shaped<Workstream>(s, path, v, WORKSTREAM, 'a workstream');
const asTask = (s: StateReader, path: string, v: unknown) =>
  shaped<Task>(s, path, v, TASK, 'a task', (o) => TASK_STATUS.has(o.status as string));
const asAgent = (s: StateReader, path: string, v: unknown) => {
  const a = shaped<Agent>(s, path, v, AGENT, 'an agent');
  return a.capabilities ? a : { ...a, capabilities: [] };
};
const asLock = (s: StateReader, path: string, v: unknown) => shaped<LockRecord>(s, path, v, LOCK, 'a lock');

function jsonAt<T>(s: StateReader, path: string, as: (s: StateReader, path: string, v: unknown) => T): T | null {
  const v = s.json<unknown>(path);
  return v === null && s.read(path) === null ? null : as(s, path, v);
}

export function readConfigFile(s: StateReader): OrcConfigFile | null {
  const cfg = s.json<OrcConfigFile>(L.ORC_JSON);
  if (cfg === null && s.read(L.ORC_JSON) === null) return null;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw corrupt(s, L.ORC_JSON, 'is not orc settings (valid JSON, wrong shape)');
  if (typeof cfg.format !== 'number') throw corrupt(s, L.ORC_JSON, 'has no format number (valid JSON, wrong shape)');
  const set: unknown = cfg.settings ?? {};
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw corrupt(s, L.ORC_JSON, 'has "settings" that are not an object');
  for (const [k, v] of Object.entries(set)) {
    if ((k in DEFAULT_SETTINGS || k === 'default_priority') && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw corrupt(s, L.ORC_JSON, `has setting "${k}" that is not a positive whole number`);
  }
  const dp = (set as Partial<Settings>).default_priority;
  if (dp !== undefined && dp > 100) throw corrupt(s, L.ORC_JSON, 'has setting "default_priority" above 100');
  if (cfg && cfg.format !== FORMAT_VERSION) {
    throw new OrcError('CORRUPT', `state branch uses format ${String(cfg.format)}, this orc understands format ${FORMAT_VERSION}; upgrade orc`, { format: cfg.format });
  }
  return cfg;
}

export function settingsOf(s: StateReader): Settings {
  return { ...DEFAULT_SETTINGS, ...(readConfigFile(s)?.settings ?? {}) };
}

export function getWorkstream(s: StateReader, name: string): Workstream | null {
  return jsonAt(s, L.wsFile(name), asWorkstream);
}

export function requireWorkstream(s: StateReader, name: string): Workstream {
  const ws = getWorkstream(s, name);
  if (!ws) throw notFound(`no workstream "${name}"; create it with \`orc ws create ${name}\` or see \`orc ws list\``, { workstream: name });
  return ws;
}

/**
 * A task of the workstream: the live one, or else the one `orc compact`
 * moved to the archive, marked `archived: true` (done or failed, read-only:
 * ops that would change it refuse with CONFLICT). Its id stays taken.
 */
export function getTask(s: StateReader, ws: string, id: string): Task | null {
  return jsonAt(s, L.taskFile(ws, id), asTask) ?? getArchivedTask(s, ws, id);
}

/** Only a task of the archive (marked `archived: true`), or null. */
export function getArchivedTask(s: StateReader, ws: string, id: string): Task | null {
  const t = jsonAt(s, L.archiveTaskFile(ws, id), asTask);
  return t && { ...t, archived: true };
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
    out.push(asTask(s, path, s.jsonBlob<unknown>(f.oid, path)));
  }
  return out;
}

function tasksUnder(s: StateReader, dir: string): Task[] {
  return s
    .list(dir)
    .filter((shard) => shard.dir)
    .flatMap((shard) => shardTasks(s, `${dir}/${shard.name}`));
}

/** Every live task of a workstream (one read per shard folder plus one per task, each cached by blob id); archived ones are not among them. */
export function listTasksRaw(s: StateReader, ws: string): Task[] {
  return tasksUnder(s, L.tasksDir(ws));
}

/** The workstream's archived tasks, each marked `archived: true`. */
export function listArchivedTasks(s: StateReader, ws: string): Task[] {
  return tasksUnder(s, L.archiveTasksDir(ws)).map((t) => ({ ...t, archived: true as const }));
}

/** Live tasks, then archived ones (`t list --all`, the runner's collect). */
export function listTasksAll(s: StateReader, ws: string): Task[] {
  return [...listTasksRaw(s, ws), ...listArchivedTasks(s, ws)];
}

/**
 * Task counts of a workstream, memoised per shard tree: a shard's tree id
 * fixes its tasks, and an op changes one shard, so after the first count only
 * the shards changed since are read again.
 */
export function countWorkstreamTasks(s: StateReader, ws: string, dir = L.tasksDir(ws)): TaskCounts {
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

/** The agent file as it is on the branch, without presence: what an op that rewrites it starts from. */
export function getAgentFile(s: StateReader, id: string): Agent | null {
  return jsonAt(s, L.agentFile(id), asAgent);
}

/** An agent with its presence laid over: last_heartbeat is the later of the file's and the presence ref's. */
function present(s: StateReader, a: Agent): Agent {
  const p = s.presence?.(a.id) ?? null;
  return p !== null && Date.parse(p) > Date.parse(a.last_heartbeat) ? { ...a, last_heartbeat: p } : a;
}

/** An agent as alive as it is known to be (its file, with its presence laid over). */
export function getAgent(s: StateReader, id: string): Agent | null {
  const a = getAgentFile(s, id);
  return a && present(s, a);
}

export function listAgentsRaw(s: StateReader): Agent[] {
  return s
    .list('agents')
    .filter((e) => !e.dir && e.name.endsWith('.json'))
    .map((e) => present(s, asAgent(s, `agents/${e.name}`, s.jsonBlob<unknown>(e.oid, `agents/${e.name}`))));
}

export function getLockRecord(s: StateReader, resource: string): LockRecord | null {
  return jsonAt(s, L.lockFile(resource), asLock);
}

export function listLockRecords(s: StateReader): LockRecord[] {
  return s
    .list('locks')
    .filter((e) => !e.dir && e.name.endsWith('.json'))
    .map((e) => asLock(s, `locks/${e.name}`, s.jsonBlob<unknown>(e.oid, `locks/${e.name}`)));
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
  // Counts are of live tasks (as before compaction); archived ones are counted apart, memoised per shard alike.
  const c = countWorkstreamTasks(s, name);
  const archived = countWorkstreamTasks(s, name, L.archiveTasksDir(name)).total;
  return { ...ws, task_counts: c, task_count: c.total, pending: c.pending, in_progress: c.in_progress, done: c.done, archived };
}

/** Sorts by priority (1 first), then oldest first, then id: the order `next` picks in. */
export function byPriority(a: Task, b: Task): number {
  return a.priority - b.priority || a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);
}

/** Deeper than any topic orc accepts (200 characters make at most 100 parts). */
export const KNOWLEDGE_MAX_DEPTH = 101;

/** Every topic, sorted. Walks the folders with a stack of its own, so a tree thousands deep cannot overflow the call stack. */
export function listTopics(s: StateReader, dir = 'knowledge', prefix = ''): string[] {
  const out: string[] = [];
  const todo: { dir: string; prefix: string; depth: number }[] = [{ dir, prefix, depth: 1 }];
  while (todo.length) {
    const at = todo.pop()!;
    for (const e of s.list(at.dir)) {
      if (e.dir) {
        if (at.depth >= KNOWLEDGE_MAX_DEPTH) throw corrupt(s, `${at.dir}/${e.name}`, `is nested deeper than ${KNOWLEDGE_MAX_DEPTH} folders, more than any topic orc writes`);
        todo.push({ dir: `${at.dir}/${e.name}`, prefix: `${at.prefix}${e.name}/`, depth: at.depth + 1 });
      } else if (e.name.endsWith('.md')) out.push(`${at.prefix}${e.name.slice(0, -3)}`);
    }
  }
  return out.sort();
}

/**
 * Why writing `topic` would clash with another topic, or null: topic `x` is
 * the file knowledge/x.md, so `x.md/y` (a folder of that name) and `x` cannot
 * both exist; writing one over the other would silently replace it.
 */
export function topicClash(s: StateReader, topic: string): string | null {
  const parts = L.knowledgeFile(topic).split('/');
  for (let i = 1; i < parts.length; i++) {
    const e = s.list(parts.slice(0, i).join('/')).find((x) => x.name === parts[i]);
    if (!e) return null;
    const last = i === parts.length - 1;
    if (last && e.dir) return `knowledge/${parts.slice(1).join('/')} is a folder of other topics (${parts.slice(1).join('/')}/…)`;
    if (!last && !e.dir) return `topic "${parts.slice(1, i + 1).join('/').replace(/\.md$/, '')}" is the file ${parts.slice(0, i + 1).join('/')}`;
  }
  return null;
}
