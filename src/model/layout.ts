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

export const agentFile = (id: string) => `agents/${id}.json`;

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

export function eventDayDir(ts: string): string {
  return `events/${ts.slice(0, 4)}/${ts.slice(5, 7)}/${ts.slice(8, 10)}`;
}

/** Where a task moved by `orc compact` lives: the same shard as a live one, under archive/. */
export const archiveTaskFile = (ws: string, id: string) => `archive/${taskFile(ws, id)}`;
export const ARCHIVE_REF_PREFIX = 'refs/orc/archive/';
