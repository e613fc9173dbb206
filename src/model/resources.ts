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

/**
 * Every live lock and every resource of a task in progress under a live
 * lease, held by an agent other than `except`. Reads every lock file and
 * every task (each shard's in-progress tasks are memoised by the shard's
 * tree id, so a long-lived reader re-reads only the shards that changed).
 */
export function holdings(s: StateReader, now: Date, except: string | null, skipTask: string | null = null): Holding[] {
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
  for (const ws of S.workstreamNames(s)) {
    const dir = L.tasksDir(ws);
    for (const shard of s.list(dir)) {
      if (!shard.dir) continue;
      const busy = s.memo<BusyTask[]>('busy-tasks', shard.oid, () =>
        s
          .list(`${dir}/${shard.name}`)
          .filter((f) => !f.dir && f.name.endsWith('.json'))
          .map((f) => s.jsonBlob<Task>(f.oid, `${dir}/${shard.name}/${f.name}`))
          .filter((t) => t.status === 'in_progress' && (t.resources ?? []).length > 0)
          .map((t) => ({ id: t.id, agent: t.assigned_to, resources: t.resources, claimed_at: t.claimed_at, lease_ms: t.lease_ms })),
      );
      for (const b of busy) {
        if (!b.agent || b.agent === except || `${ws}/${b.id}` === skipTask) continue;
        const exp = S.leaseExpiry({ status: 'in_progress', claimed_at: b.claimed_at, lease_ms: b.lease_ms } as Task, agent(b.agent));
        if (exp === null || exp <= now.getTime()) continue;
        for (const r of b.resources) out.push({ kind: 'task', resource: r, agent: b.agent, expires_at: new Date(exp).toISOString(), task: `${ws}/${b.id}` });
      }
    }
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
