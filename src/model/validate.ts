import { invalid } from '../errors.js';

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

/** A lone UTF-16 surrogate: not a character, and not storable as UTF-8 (it would come back as U+FFFD). */
const LONE_SURROGATE = /\p{Cs}/u;

export function checkWellFormed(kind: string, v: string): string {
  if (LONE_SURROGATE.test(v)) throw invalid(`${kind} is not valid Unicode (it holds a lone surrogate); send it as UTF-8 text`, { kind });
  return v;
}

function show(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
}

/**
 * Code points git's fsck ignores when it compares a path component with
 * `.git` (HFS+ drops them): zero-width joiners and marks, directional
 * controls, deprecated format characters and the BOM. Names may not contain
 * them, nor the bidi isolates (U+2066–2069) that reorder text on a terminal.
 */
const IGNORABLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/;
const IGNORABLE_ALL = new RegExp(IGNORABLE.source, 'g');

/** Windows device names: no file may be called so, with any extension, in any case. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³]|conin\$|conout\$)$/;
/** The NTFS short names git's fsck flags (`git~1` aliases `.git`; `gitmod~1`, `gi7eba~1` alias `.gitmodules`). */
const SHORT_NAME = /^(git|gitmod|gi7eba)~[0-9]/;

/**
 * Why a path component would be refused by git's fsck or could not be
 * checked out on Windows or macOS, or null when it is fine: `.git` and
 * `.gitmodules` in any case and with ignorable Unicode folded away (git
 * fsck's hasDotgit / gitmodules checks), NTFS short names, Windows device
 * names, trailing dots and spaces. Characters Windows refuses are checked by
 * the callers (lock resources encode them, so they are allowed there).
 */
export function unportableComponent(seg: string): string | null {
  const folded = seg.replace(IGNORABLE_ALL, '').toLowerCase();
  // NTFS also drops trailing dots and spaces and an alternate stream suffix (".git::$INDEX_ALLOCATION").
  const bare = folded.replace(/:.*$/, '').replace(/[. ]+$/, '');
  if (bare === '.git' || bare === '.gitmodules') return `"${bare}" is a name git reserves (git fsck refuses it)`;
  if (SHORT_NAME.test(folded)) return 'it is an NTFS short name git fsck refuses (git~1 aliases .git, gitmod~1 .gitmodules)';
  if (WINDOWS_DEVICE.test(folded.split('.')[0]!.replace(/ +$/, ''))) return `"${seg.split('.')[0]}" is a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)`;
  if (/[. ]$/.test(seg)) return 'it ends in a dot or a space, which Windows drops';
  if (IGNORABLE.test(seg)) return 'it contains an invisible formatting character (zero-width or bidirectional)';
  return null;
}

/**
 * A workstream, agent or task name: it becomes a folder or file name and a
 * commit author, so it is kept to letters, digits and `. _ @ + -`, and to
 * names every checkout can hold (no Windows device names, no trailing dot).
 */
export function checkName(kind: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${kind} name is missing; give a non-empty name`, { kind });
  if (v.length > LIMITS.name) throw invalid(`${kind} name is ${v.length} characters long; the limit is ${LIMITS.name}`, { kind });
  if (CONTROL.test(v)) throw invalid(`${kind} name ${show(v)} contains control characters; use letters, digits, '.', '_', '@', '+' and '-'`, { kind });
  if (v.includes('..') || !NAME.test(v)) {
    throw invalid(`${kind} name ${show(v)} is not allowed; use letters, digits, '.', '_', '@', '+' and '-', starting with a letter or digit, without '..'`, { kind, value: v });
  }
  const why = unportableComponent(v);
  if (why) throw invalid(`${kind} name ${show(v)} is not allowed: ${why}; pick another name`, { kind, value: v });
  return v;
}

const BAD_SEGMENT_CHARS = /[\\:*?"<>|]/;

/** A knowledge topic: one or more path segments joined by '/', each a safe file name on every system git runs on. */
export function checkTopic(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('knowledge topic is missing; give a topic such as api-design or notes/setup');
  if (v.length > LIMITS.name) throw invalid(`knowledge topic is ${v.length} characters long; the limit is ${LIMITS.name}`);
  if (CONTROL.test(v)) throw invalid(`knowledge topic ${show(v)} contains control characters`);
  checkWellFormed('knowledge topic', v);
  if (v.startsWith('/')) throw invalid(`knowledge topic ${show(v)} starts with '/'; topics are relative, like notes/setup`);
  for (const seg of v.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw invalid(`knowledge topic ${show(v)} has an empty, '.' or '..' part; use names like notes/setup`);
    if (seg.startsWith('.') || seg !== seg.trim() || BAD_SEGMENT_CHARS.test(seg)) {
      throw invalid(`knowledge topic ${show(v)} has a part that cannot be a file name (leading '.', surrounding spaces, or one of \\ : * ? " < > |)`);
    }
    const why = unportableComponent(seg);
    if (why) throw invalid(`knowledge topic ${show(v)} has a part git or Windows cannot check out: ${why}`, { topic: v });
  }
  return v;
}

/**
 * A lock resource: a name, a path or a glob. Its file name is %-encoded
 * (layout.ts lockFileName), so glob characters are fine; but the name may
 * not climb out of a tree, be blank, or have a part no checkout can hold
 * (`CON` would even become the file locks/CON.json).
 */
export function checkResource(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('resource is missing; name a resource such as deploy or src/api/**');
  if (v.trim() === '') throw invalid('resource is blank; name a resource such as deploy or src/api/**');
  if (v.length > LIMITS.name) throw invalid(`resource is ${v.length} characters long; the limit is ${LIMITS.name}`);
  if (CONTROL.test(v)) throw invalid(`resource ${show(v)} contains control characters`);
  checkWellFormed('resource', v);
  if (v.startsWith('/') || v.includes('\\') || v.split('/').some((s) => s === '..' || s === '.')) {
    throw invalid(`resource ${show(v)} is not allowed: no leading '/', no '\\', no '.' or '..' parts; use a name or a repo-relative path`);
  }
  for (const seg of v.split('/')) {
    const why = seg === '' ? null : unportableComponent(seg);
    if (why) throw invalid(`resource ${show(v)} is not allowed: ${why}`, { resource: v });
  }
  return v;
}

/** An agent's type: one line of text (spaces allowed, like "research assistant"), no control or invisible characters. */
export function checkAgentType(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw invalid('agent type is missing; give a type such as general or "research assistant"');
  if (v.length > LIMITS.name) throw invalid(`agent type is ${v.length} characters long; the limit is ${LIMITS.name}`);
  if (CONTROL.test(v) || IGNORABLE.test(v)) throw invalid(`agent type ${show(v)} contains control or invisible characters`);
  checkWellFormed('agent type', v);
  return v;
}

/** One line of text (a title), no control characters. */
export function checkLine(kind: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw invalid(`${kind} is missing; give a non-empty ${kind}`);
  if (v.length > max) throw invalid(`${kind} is ${v.length} characters long; the limit is ${max}`);
  if (CONTROL.test(v)) throw invalid(`${kind} ${show(v)} contains control characters or line breaks`);
  return checkWellFormed(kind, v);
}

/** Free text (descriptions, results): tabs and line breaks allowed, other control characters not. */
export function checkText(kind: string, v: unknown, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(`${kind} must be text`);
  if (v.length > max) throw invalid(`${kind} is ${v.length} characters long; the limit is ${max}`);
  if (CONTROL_EXCEPT_TAB_NL.test(v)) throw invalid(`${kind} contains control characters`);
  return checkWellFormed(kind, v);
}

/** An integer in [min, max], given as a number or a decimal string. */
export function checkInt(kind: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw invalid(`${kind} must be a whole number, got ${show(String(v))}`, { kind });
  if (n < min || n > max) throw invalid(`${kind} must be between ${min} and ${max}, got ${n}`, { kind });
  return n + 0; // -0 is 0 (JSON has no -0)
}

export const checkPriority = (v: unknown): number => checkInt('priority', v, 1, 100);
/** The task priority used when none is given: the lowest of the original tool's 1-5 scale. */
export const DEFAULT_TASK_PRIORITY = 5;
/** Durations in ms: at least a second, at most 30 days. */
export const checkDuration = (kind: string, v: unknown): number => checkInt(kind, v, 1000, 30 * 24 * 3600_000);

export function checkList<T>(kind: string, v: unknown, each: (x: unknown) => T, max = 50): T[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length > max) throw invalid(`too many ${kind}: ${arr.length}, the limit is ${max}`);
  return [...new Set(arr.map(each))];
}
