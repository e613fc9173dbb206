import { invalid } from '../errors.js';
import { parseDuration } from './duration.js';

/** Limits on sizes, so that one op's cost and one file's size stay bounded. */
export const LIMITS = {
  name: 200,
  title: 500,
  description: 20_000,
  result: 100_000,
  knowledge: 1_048_576,
  eventData: 20_000,
};

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_TAB_NL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

function show(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
}

/**
 * A workstream, agent or task name: it becomes a folder or file name and a
 * commit author, so it is kept to letters, digits and `. _ @ + -`.
 */
export function checkName(kind: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${kind} name is missing; give a non-empty name`, { kind });
  if (v.length > LIMITS.name) throw invalid(`${kind} name is ${v.length} characters long; the limit is ${LIMITS.name}`, { kind });
  if (CONTROL.test(v)) throw invalid(`${kind} name ${show(v)} contains control characters; use letters, digits, '.', '_', '@', '+' and '-'`, { kind });
  if (v.includes('..') || !NAME.test(v)) {
    throw invalid(`${kind} name ${show(v)} is not allowed; use letters, digits, '.', '_', '@', '+' and '-', starting with a letter or digit, without '..'`, { kind, value: v });
  }
  return v;
}

const BAD_SEGMENT_CHARS = /[\\:*?"<>|]/;

/** A knowledge topic: one or more path segments joined by '/', each a safe file name. */
export function checkTopic(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('knowledge topic is missing; give a topic such as api-design or notes/setup');
  if (v.length > LIMITS.name) throw invalid(`knowledge topic is ${v.length} characters long; the limit is ${LIMITS.name}`);
  if (CONTROL.test(v)) throw invalid(`knowledge topic ${show(v)} contains control characters`);
  if (v.startsWith('/')) throw invalid(`knowledge topic ${show(v)} starts with '/'; topics are relative, like notes/setup`);
  for (const seg of v.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw invalid(`knowledge topic ${show(v)} has an empty, '.' or '..' part; use names like notes/setup`);
    if (seg.startsWith('.') || seg !== seg.trim() || BAD_SEGMENT_CHARS.test(seg)) {
      throw invalid(`knowledge topic ${show(v)} has a part that cannot be a file name (leading '.', surrounding spaces, or one of \\ : * ? " < > |)`);
    }
  }
  return v;
}

/** A lock resource: a name, a path or a glob. It is encoded into a file name, but must not climb out of a tree. */
export function checkResource(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('resource is missing; name a resource such as deploy or src/api/**');
  if (v.length > LIMITS.name) throw invalid(`resource is ${v.length} characters long; the limit is ${LIMITS.name}`);
  if (CONTROL.test(v)) throw invalid(`resource ${show(v)} contains control characters`);
  if (v.startsWith('/') || v.includes('\\') || v.split('/').some((s) => s === '..' || s === '.')) {
    throw invalid(`resource ${show(v)} is not allowed: no leading '/', no '\\', no '.' or '..' parts; use a name or a repo-relative path`);
  }
  return v;
}

/** One line of text (a title), no control characters. */
export function checkLine(kind: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw invalid(`${kind} is missing; give a non-empty ${kind}`);
  if (v.length > max) throw invalid(`${kind} is ${v.length} characters long; the limit is ${max}`);
  if (CONTROL.test(v)) throw invalid(`${kind} ${show(v)} contains control characters or line breaks`);
  return v;
}

/** Free text (descriptions, results): tabs and line breaks allowed, other control characters not. */
export function checkText(kind: string, v: unknown, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(`${kind} must be text`);
  if (v.length > max) throw invalid(`${kind} is ${v.length} characters long; the limit is ${max}`);
  if (CONTROL_EXCEPT_TAB_NL.test(v)) throw invalid(`${kind} contains control characters`);
  return v;
}

/** An integer in [min, max], given as a number or a decimal string. */
export function checkInt(kind: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw invalid(`${kind} must be a whole number, got ${show(String(v))}`, { kind });
  if (n < min || n > max) throw invalid(`${kind} must be between ${min} and ${max}, got ${n}`, { kind });
  return n;
}

export const checkPriority = (v: unknown): number => checkInt('priority', v, 1, 100);
/** Durations in ms (or `90s`, `10m`, `2h`, `1d`): at least a second, at most 30 days. */
export const checkDuration = (kind: string, v: unknown): number => checkInt(kind, parseDuration(v, kind), 1000, 30 * 24 * 3600_000);

export function checkList<T>(kind: string, v: unknown, each: (x: unknown) => T, max = 50): T[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length > max) throw invalid(`too many ${kind}: ${arr.length}, the limit is ${max}`);
  return [...new Set(arr.map(each))];
}
