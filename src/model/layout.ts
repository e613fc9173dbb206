import { crypto } from '../node.js';

/** Where each entity lives in the state branch's tree (DESIGN.md "Where state lives"). */

export const ORC_JSON = 'orc.json';

export const wsDir = (ws: string) => `workstreams/${ws}`;
export const wsFile = (ws: string) => `workstreams/${ws}/workstream.json`;
export const tasksDir = (ws: string) => `workstreams/${ws}/tasks`;

/** Tasks are spread over 256 shard folders so that no tree object grows with the task count. */
export function taskShard(id: string): string {
  return crypto.createHash('sha1').update(id).digest('hex').slice(0, 2);
}
export const taskFile = (ws: string, id: string) => `${tasksDir(ws)}/${taskShard(id)}/${id}.json`;

/** Where `orc compact` moves finished tasks: the same shards and JSON under archive/ (read by getTask's fallback and the --all lists). */
export const archiveTasksDir = (ws: string) => `archive/${tasksDir(ws)}`;
export const archiveTaskFile = (ws: string, id: string) => `archive/${tasksDir(ws)}/${taskShard(id)}/${id}.json`;

export const agentFile = (id: string) => `agents/${id}.json`;

/** The running-resources index: per owner, its in-progress tasks that have resources (model/resources.ts). */
export const RUNNING_DIR = 'running';
export const runningFile = (agent: string) => `${RUNNING_DIR}/${agent}.json`;

/**
 * A resource name becomes one file name: every byte outside [A-Za-z0-9_-] is
 * %-encoded (so '/', '*' and '.' cannot make folders or dot-files), and a
 * name too long for a file system is replaced by its hash (the JSON keeps
 * the real name).
 */
export function lockFileName(resource: string): string {
  let out = '';
  for (const b of Buffer.from(resource, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length > 180) out = `h-${crypto.createHash('sha1').update(resource).digest('hex')}`;
  return `${out}.json`;
}
export const lockFile = (resource: string) => `locks/${lockFileName(resource)}`;

export const knowledgeFile = (topic: string) => `knowledge/${topic}.md`;

/**
 * The folder of an event's day: `events/<yyyy-mm-dd>`. Every op rewrites the
 * trees along this path, so each level costs a tree (~35 bytes packed) per
 * op: this is one level less than the second layout's `events/<yyyy-mm>/<dd>`
 * and two less than the first's `events/<yyyy>/<mm>/<dd>` (both still read,
 * see monthEventDayDir and legacyEventDayDir). events/ gains one entry a day:
 * with the default compaction it holds about three weeks of days, without it
 * a year's days are a 14 KB tree, which packs as a small delta per op.
 */
export function eventDayDir(ts: string): string {
  return `events/${ts.slice(0, 10)}`;
}

/** The second layout's day folder, `events/<yyyy-mm>/<dd>`: read forever, written by orcs of late 2026. */
export function monthEventDayDir(ts: string): string {
  return `events/${ts.slice(0, 7)}/${ts.slice(8, 10)}`;
}

/** The first layout's day folder, `events/<yyyy>/<mm>/<dd>`: read forever, written by older orcs. */
export function legacyEventDayDir(ts: string): string {
  return `events/${ts.slice(0, 4)}/${ts.slice(5, 7)}/${ts.slice(8, 10)}`;
}

/** The day folders an event of `ts` may sit in, the layout orc writes first. */
export function eventDayDirs(ts: string): string[] {
  return [eventDayDir(ts), monthEventDayDir(ts), legacyEventDayDir(ts)];
}

/**
 * The day (yyyy-mm-dd) of a path at or below a day folder of any layout
 * (`events/<yyyy-mm-dd>`, `events/<yyyy-mm>/<dd>`, `events/<yyyy>/<mm>/<dd>`), else null.
 */
export function eventDayOfPath(p: string): string | null {
  const m = /^events\/(\d{4})-(\d{2})-(\d{2})(?:\/|$)/.exec(p) ?? /^events\/(\d{4})(?:-|\/)(\d{2})\/(\d{2})(?:\/|$)/.exec(p);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** Where `orc compact` keeps each archived epoch's old tip. */
export const ARCHIVE_REF_PREFIX = 'refs/orc/archive/';
