/**
 * Presence: when each agent was last seen alive, beside the state branch, not
 * on it. Agent `a`'s presence is the ref refs/orc/presence/<a> (in the common
 * git dir), pointing at a commit with no parent, the empty tree and the
 * message `{"agent","at","host"}`. Only that agent's own process replaces it,
 * by compare-and-swap and never back in time, so a heartbeat adds no commit
 * to the branch's history and contends with nobody. The old object becomes
 * garbage that `git gc` (or orc's own packing) prunes.
 *
 * A commit rather than a blob: every git host accepts a commit under any ref,
 * `git log -1 refs/orc/presence/<a>` shows it, and its time is git's own.
 */
import { fs, os, path } from '../node.js';
import { parseCommit, serializeCommit } from './commit.js';
import type { ObjectStore } from './objects.js';
import type { SharedPerm } from './perm.js';
import { casRef, packedRefsUnder, readRef } from './refs.js';

export const PRESENCE_PREFIX = 'refs/orc/presence/';

/** Largest presence commit orc accepts (its own are ~250 bytes). */
export const PRESENCE_MAX_BYTES = 4096;

export interface Presence {
  agent: string;
  /** ISO time the agent was last seen alive. */
  at: string;
  host: string;
  /** The presence commit. */
  oid: string;
}

/**
 * The ref name's last part for `agent`. Agent names are ref-safe except for
 * one ending: git refuses a ref ending in ".lock", so that ending is written
 * "%2Elock" ('%' is never part of an agent name, so the two cannot meet).
 */
export function presenceName(agent: string): string {
  return agent.endsWith('.lock') ? `${agent.slice(0, -5)}%2Elock` : agent;
}

/** The agent a presence ref's last part names (the inverse of presenceName). */
export function presenceAgent(name: string): string {
  return name.endsWith('%2Elock') ? `${name.slice(0, -7)}.lock` : name;
}

export function presenceRef(agent: string, prefix: string = PRESENCE_PREFIX): string {
  return `${prefix}${presenceName(agent)}`;
}

const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * The presence a commit's bytes record, or why they are not a presence
 * commit: no parent, the empty tree, a message that is exactly one JSON
 * object with string agent, at (ISO, UTC) and host.
 */
export function parsePresence(content: Buffer, oid: string, emptyTree: string = EMPTY_TREE_SHA1): Omit<Presence, 'oid'> | string {
  if (content.length > PRESENCE_MAX_BYTES) return `is ${content.length} bytes, more than a presence commit (${PRESENCE_MAX_BYTES})`;
  let c;
  try {
    c = parseCommit(content, oid);
  } catch {
    return 'is not a commit';
  }
  if (c.parents.length) return 'has a parent; a presence commit has none';
  if (c.tree !== emptyTree) return 'has files; a presence commit has the empty tree';
  let v: unknown;
  try {
    v = JSON.parse(c.message);
  } catch {
    return 'has a message that is not {"agent","at","host"} JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'has a message that is not {"agent","at","host"} JSON';
  const o = v as Record<string, unknown>;
  if (typeof o.agent !== 'string' || typeof o.at !== 'string' || typeof o.host !== 'string') return 'has a message that is not {"agent","at","host"} JSON';
  if (!ISO.test(o.at) || !Number.isFinite(Date.parse(o.at))) return `records time ${JSON.stringify(o.at).slice(0, 40)}, which is not an ISO time in UTC`;
  return { agent: o.agent, at: o.at, host: o.host };
}

/** Every presence ref under `prefix`, agent -> object id: the loose files, then packed-refs for the rest. One readdir and one read each. */
export function listPresenceRefs(commonDir: string, prefix: string = PRESENCE_PREFIX): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(commonDir, prefix));
  } catch {
    /* none yet */
  }
  for (const n of names) {
    if (n.endsWith('.lock')) continue;
    let oid: string | null = null;
    try {
      oid = readRef(commonDir, `${prefix}${n}`);
    } catch {
      oid = null; // a folder, or a file that is not a ref: not presence
    }
    if (oid) out.set(presenceAgent(n), oid);
  }
  for (const [ref, oid] of packedRefsUnder(commonDir, prefix)) {
    const agent = presenceAgent(ref.slice(prefix.length));
    if (agent && !agent.includes('/') && !out.has(agent)) out.set(agent, oid);
  }
  return out;
}

/** A presence object read and checked, or null when it is missing or not a presence commit of `agent`. */
export function readPresenceObject(objects: ObjectStore, agent: string, oid: string): Presence | null {
  try {
    const obj = objects.read(oid, 'commit', { maxBytes: PRESENCE_MAX_BYTES });
    const p = parsePresence(obj.content, oid);
    return typeof p === 'string' || p.agent !== agent ? null : { ...p, oid };
  } catch {
    return null;
  }
}

/** One agent's presence, or null. */
export function readPresence(commonDir: string, objects: ObjectStore, agent: string, prefix: string = PRESENCE_PREFIX): Presence | null {
  let oid: string | null;
  try {
    oid = readRef(commonDir, presenceRef(agent, prefix));
  } catch {
    return null;
  }
  return oid ? readPresenceObject(objects, agent, oid) : null;
}

/** Every agent's presence under `prefix`. */
export function readAllPresence(commonDir: string, objects: ObjectStore, prefix: string = PRESENCE_PREFIX): Map<string, Presence> {
  const out = new Map<string, Presence>();
  for (const [agent, oid] of listPresenceRefs(commonDir, prefix)) {
    const p = readPresenceObject(objects, agent, oid);
    if (p) out.set(agent, p);
  }
  return out;
}

/** Writes the presence object of `agent` at `at` (not yet under any ref). */
export function presenceObject(objects: ObjectStore, agent: string, at: Date, host: string = os.hostname()): string {
  const tree = objects.write('tree', Buffer.alloc(0));
  const secs = Math.floor(at.getTime() / 1000);
  const ident = { name: agent, email: `${agent}@orc.invalid`, time: secs, tz: '+0000' };
  const message = `${JSON.stringify({ agent, at: at.toISOString(), host: host.slice(0, 200) })}\n`;
  return objects.write('commit', serializeCommit({ tree, parents: [], author: ident, committer: ident, message }));
}

const later = (a: string, b: string) => Date.parse(a) > Date.parse(b);

/**
 * Moves `agent`'s presence ref to `oid` (a presence commit of time `at`) by
 * compare-and-swap, unless the ref already holds a later time: presence
 * never goes back. Returns the presence the ref holds afterwards.
 */
export function adoptPresence(commonDir: string, objects: ObjectStore, agent: string, oid: string, shared: SharedPerm | null = null, prefix: string = PRESENCE_PREFIX): Presence | null {
  const mine = readPresenceObject(objects, agent, oid);
  if (!mine) return readPresence(commonDir, objects, agent, prefix);
  const ref = presenceRef(agent, prefix);
  for (let i = 0; i < 200; i++) {
    let cur: string | null;
    try {
      cur = readRef(commonDir, ref);
    } catch {
      cur = null;
    }
    if (cur === oid) return mine;
    const held = cur ? readPresenceObject(objects, agent, cur) : null;
    if (held && !later(mine.at, held.at)) return held;
    const r = casRef(commonDir, ref, cur, oid, { reflog: false, reflogIdent: '', reflogMessage: '', shared });
    if (r === 'ok') return mine;
    if (r === 'busy') {
      // Another process of this agent moves it this very moment: a short wait, then look again.
      const until = Date.now() + 2 + Math.random() * 5;
      while (Date.now() < until) {
        /* spin briefly: the lock is held for microseconds */
      }
    }
  }
  return readPresence(commonDir, objects, agent, prefix);
}

/** Records that `agent` is alive at `at`: one small object and one ref, no commit on the branch. */
export function writePresence(commonDir: string, objects: ObjectStore, agent: string, at: Date, shared: SharedPerm | null = null): Presence | null {
  return adoptPresence(commonDir, objects, agent, presenceObject(objects, agent, at), shared);
}

/**
 * After a fetch brought the remote's presence refs under `prefix`: each one
 * later than the local one replaces it (a fetch never moves presence back).
 * Returns what the remote holds, to push only what is newer here.
 */
export function adoptFetchedPresence(commonDir: string, objects: ObjectStore, prefix: string, shared: SharedPerm | null = null): Map<string, Presence> {
  const theirs = readAllPresence(commonDir, objects, prefix);
  for (const [agent, p] of theirs) {
    const mine = readPresence(commonDir, objects, agent);
    if (!mine || later(p.at, mine.at)) adoptPresence(commonDir, objects, agent, p.oid, shared);
  }
  return theirs;
}

/** The local presence refs later than the remote's (as last fetched): what a sync pushes, each with a lease on the remote's value. */
export function newerPresence(commonDir: string, objects: ObjectStore, remote: Map<string, Presence>): { ref: string; oid: string; expected: string | null; presence: Presence }[] {
  const out: { ref: string; oid: string; expected: string | null; presence: Presence }[] = [];
  for (const [agent, p] of readAllPresence(commonDir, objects)) {
    const r = remote.get(agent);
    if (!r || later(p.at, r.at)) out.push({ ref: presenceRef(agent), oid: p.oid, expected: r?.oid ?? null, presence: p });
  }
  return out;
}
