/**
 * Whether two resources (lock names, paths, globs) may name the same thing.
 * Conservative: when in doubt they overlap, because a false overlap only
 * serialises two tasks, while a missed one lets them collide.
 */

import * as L from './layout.js';
import * as S from './state.js';
import type { StateReader } from './state.js';
import type { Agent, Task } from './types.js';

const GLOB_CHARS = /[*?[]/;

export const isGlob = (r: string): boolean => GLOB_CHARS.test(r);

/** `**` any characters, `*` and `?` within one path segment, `[...]` a class; the rest literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else {
      re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** The part of a glob before its first wildcard, cut back to a whole folder. */
function staticPrefix(glob: string): string {
  const m = GLOB_CHARS.exec(glob);
  const head = m ? glob.slice(0, m.index) : glob;
  const slash = head.lastIndexOf('/');
  return slash < 0 ? '' : head.slice(0, slash + 1);
}

const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);

export function resourcesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const ga = isGlob(a);
  const gb = isGlob(b);
  if (!ga && !gb) return within(a, b) || within(b, a); // a folder and a file in it
  if (ga && !gb) return globToRegExp(a).test(b) || within(staticPrefix(a), b);
  if (!ga && gb) return globToRegExp(b).test(a) || within(staticPrefix(b), a);
  const pa = staticPrefix(a);
  const pb = staticPrefix(b);
  return pa.startsWith(pb) || pb.startsWith(pa);
}

/** The first pair (mine, theirs) that overlaps, or null. */
export function firstOverlap(mine: string[], theirs: string[]): [string, string] | null {
  for (const x of mine) for (const y of theirs) if (resourcesOverlap(x, y)) return [x, y];
  return null;
}

// ---------------------------------------------------------------- who holds what

/** Something an agent holds: a live lock, or a resource of a task it is running under a live lease. */
export interface Holding {
  kind: 'lock' | 'task';
  resource: string;
  agent: string;
  /** When it runs out (the lock's expiry or the task's lease), ISO. */
  expires_at: string;
  /** The lock's fencing token. */
  token?: number;
  /** The task (`ws/id`) running with this resource, or the one a lock was taken for. */
  task?: string;
}

interface BusyTask {
  id: string;
  agent: string | null;
  resources: string[];
  claimed_at: string | null;
  lease_ms: number | null;
}

// ---------------------------------------------------------------- the running-resources index
// running/<agent>.json lists, per owner, its in-progress tasks that have
// resources: { "tasks": { "WS/ID": { resources, claimed_at, lease_ms } } }.
// The ops that move a task into or out of in_progress (claim, next, take-over,
// renew, complete, fail) keep it in the same commit, so the overlap check
// reads a file per owner instead of every task. A branch without running/
// (older, or never a claim of a task with resources) is read by scanning the
// tasks, as before; the first op that changes an entry writes the whole index
// from that scan. Files are emptied, never removed, so running/ stays once made.

export interface RunningEntry {
  resources: string[];
  claimed_at: string | null;
  lease_ms: number | null;
}
type RunningIndex = Map<string, Map<string, RunningEntry>>;

function asRunning(s: StateReader, path: string, v: unknown): Map<string, RunningEntry> {
  const bad = () => S.corrupt(s, path, 'is not a running-resources index ({"tasks": {"WS/ID": {resources, claimed_at, lease_ms}}})');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
  const tasks = (v as { tasks?: unknown }).tasks;
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks)) throw bad();
  const out = new Map<string, RunningEntry>();
  for (const [key, e] of Object.entries(tasks as Record<string, unknown>)) {
    const o = e as Partial<RunningEntry> | null;
    if (!key.includes('/') || typeof o !== 'object' || o === null || !Array.isArray(o.resources) || !o.resources.every((r) => typeof r === 'string')) throw bad();
    if (!(o.claimed_at === null || typeof o.claimed_at === 'string') || !(o.lease_ms === null || typeof o.lease_ms === 'number')) throw bad();
    out.set(key, { resources: o.resources, claimed_at: o.claimed_at, lease_ms: o.lease_ms });
  }
  return out;
}

/** The index by owner, or null when the branch has none (then the tasks are scanned). */
export function readRunningIndex(s: StateReader): RunningIndex | null {
  const files = s.list(L.RUNNING_DIR).filter((e) => !e.dir && e.name.endsWith('.json'));
  if (!files.length) return null;
  const out: RunningIndex = new Map();
  for (const f of files) {
    const path = `${L.RUNNING_DIR}/${f.name}`;
    out.set(f.name.slice(0, -5), asRunning(s, path, s.jsonBlob<unknown>(f.oid, path)));
  }
  return out;
}

/** One workstream's in-progress tasks with resources, read from its task shards (memoised per shard tree id). */
function scanBusy(s: StateReader, ws: string): BusyTask[] {
  const dir = L.tasksDir(ws);
  const out: BusyTask[] = [];
  for (const shard of s.list(dir)) {
    if (!shard.dir) continue;
    out.push(
      ...s.memo<BusyTask[]>('busy-tasks', shard.oid, () =>
        s
          .list(`${dir}/${shard.name}`)
          .filter((f) => !f.dir && f.name.endsWith('.json'))
          .map((f) => s.jsonBlob<Task>(f.oid, `${dir}/${shard.name}/${f.name}`))
          .filter((t) => t.status === 'in_progress' && (t.resources ?? []).length > 0)
          .map((t) => ({ id: t.id, agent: t.assigned_to, resources: t.resources, claimed_at: t.claimed_at, lease_ms: t.lease_ms })),
      ),
    );
  }
  return out;
}

/** The index as the task files say it should be (a scan of every workstream): what the index is built from, and what tests compare it with. */
export function runningIndexByScan(s: StateReader): RunningIndex {
  const out: RunningIndex = new Map();
  for (const ws of S.workstreamNames(s)) {
    for (const b of scanBusy(s, ws)) {
      if (!b.agent) continue;
      if (!out.has(b.agent)) out.set(b.agent, new Map());
      out.get(b.agent)!.set(`${ws}/${b.id}`, { resources: b.resources, claimed_at: b.claimed_at, lease_ms: b.lease_ms });
    }
  }
  return out;
}

const indexBytes = (tasks: Map<string, RunningEntry>): Buffer => {
  const obj: Record<string, RunningEntry> = {};
  for (const k of [...tasks.keys()].sort()) obj[k] = tasks.get(k)!;
  return Buffer.from(`${JSON.stringify({ tasks: obj }, null, 2)}\n`, 'utf8');
};

/**
 * The index files an op must change when task `ws/id` becomes `next` (its new
 * content), in the same commit: the entry leaves its old owner's file and, if
 * `next` is in progress with resources, joins its owner's. Nothing when no
 * entry changes; the whole index (from a scan) when the branch has none yet.
 */
export function runningIndexChanges(s: StateReader, next: Task): Map<string, Buffer> {
  const key = `${next.workstream}/${next.id}`;
  const want: RunningEntry | null =
    next.status === 'in_progress' && next.assigned_to && (next.resources ?? []).length ? { resources: next.resources, claimed_at: next.claimed_at, lease_ms: next.lease_ms } : null;
  const existing = readRunningIndex(s);
  if (!existing && !want) return new Map();
  const index = existing ?? runningIndexByScan(s);
  const touched = new Set<string>(existing ? [] : index.keys());
  for (const [agent, tasks] of index) {
    if (tasks.has(key) && (!want || agent !== next.assigned_to)) {
      tasks.delete(key);
      touched.add(agent);
    }
  }
  if (want) {
    const owner = next.assigned_to!;
    if (!index.has(owner)) index.set(owner, new Map());
    const had = index.get(owner)!.get(key);
    if (!had || JSON.stringify(had) !== JSON.stringify(want)) {
      index.get(owner)!.set(key, want);
      touched.add(owner);
    }
  }
  // Read values may be shared: the maps above are the reader's only when freshly parsed (asRunning builds new ones).
  return new Map([...touched].map((agent) => [L.runningFile(agent), indexBytes(index.get(agent) ?? new Map())]));
}

/** In-progress tasks with resources, held by agents other than `except`, in the order a scan of the tasks meets them. */
function busyByIndex(s: StateReader, index: RunningIndex, except: string | null): { ws: string; b: BusyTask }[] {
  const wsOrder = new Map(S.workstreamNames(s).map((n, i) => [n, i]));
  const out: { ws: string; b: BusyTask; order: [number, string, string] }[] = [];
  for (const [agent, tasks] of index) {
    if (agent === except) continue;
    for (const [key, e] of tasks) {
      const at = key.indexOf('/');
      const ws = key.slice(0, at);
      const id = key.slice(at + 1);
      const n = wsOrder.get(ws);
      if (n === undefined) continue;
      out.push({ ws, b: { id, agent, ...e }, order: [n, L.taskShard(id), `${id}.json`] });
    }
  }
  // Workstream as the tree lists them, then shard, then file name: the order holdings had when it read every task.
  out.sort((x, y) => x.order[0] - y.order[0] || (x.order[1] < y.order[1] ? -1 : x.order[1] > y.order[1] ? 1 : 0) || (x.order[2] < y.order[2] ? -1 : x.order[2] > y.order[2] ? 1 : 0));
  return out;
}

/**
 * Every live lock and every resource of a task in progress under a live
 * lease, held by an agent other than `except`. Reads every lock file, and
 * the running-resources index (one small file per owner; without one, every
 * task, each shard's in-progress tasks memoised by the shard's tree id).
 */
export function holdings(s: StateReader, now: Date, except: string | null, skipTask: string | null = null, opts: { scan?: boolean } = {}): Holding[] {
  const agents = new Map<string, Agent | null>();
  const agent = (id: string) => {
    if (!agents.has(id)) agents.set(id, S.getAgent(s, id));
    return agents.get(id) ?? null;
  };
  const out: Holding[] = [];
  for (const l of S.listLockRecords(s)) {
    if (l.released_at || l.agent === except) continue;
    const exp = S.lockExpiry(l, agent(l.agent));
    if (exp === null || exp <= now.getTime()) continue;
    out.push({ kind: 'lock', resource: l.resource, agent: l.agent, expires_at: new Date(exp).toISOString(), token: l.token, ...(l.task ? { task: l.task } : {}) });
  }
  const index = opts.scan ? null : readRunningIndex(s);
  const busy = index ? busyByIndex(s, index, except) : S.workstreamNames(s).flatMap((ws) => scanBusy(s, ws).map((b) => ({ ws, b })));
  for (const { ws, b } of busy) {
    if (!b.agent || b.agent === except || `${ws}/${b.id}` === skipTask) continue;
    const exp = S.leaseExpiry({ status: 'in_progress', claimed_at: b.claimed_at, lease_ms: b.lease_ms } as Task, agent(b.agent));
    if (exp === null || exp <= now.getTime()) continue;
    for (const r of b.resources) out.push({ kind: 'task', resource: r, agent: b.agent, expires_at: new Date(exp).toISOString(), task: `${ws}/${b.id}` });
  }
  return out;
}

/** The first holding that overlaps one of `resources`, with the resource it overlaps. */
export function conflictWith(resources: string[], held: Holding[]): { mine: string; held: Holding } | null {
  for (const mine of resources) for (const h of held) if (resourcesOverlap(mine, h.resource)) return { mine, held: h };
  return null;
}

/** "src/math.js" locked by a1 until T (token 3) / "src/**" of task api/t1, in progress by a1 until T. */
export function describeHolding(h: Holding): string {
  return h.kind === 'lock'
    ? `"${h.resource}", locked by ${h.agent} until ${h.expires_at} (token ${h.token})${h.task ? ` for task ${h.task}` : ''}`
    : `"${h.resource}" of task ${h.task}, in progress by ${h.agent} until ${h.expires_at}`;
}
