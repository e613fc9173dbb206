import { trailers, type Commit } from '../store/commit.js';

/**
 * The op a commit records, in its `Orc-Op` trailer, so that a sync can replay
 * it and the pre-receive hook can decide it again.
 *
 * Two formats are read, forever (branches keep their history):
 * - v1 `{"op","agent","at","input"}`, with an `Orc-Agent` trailer beside it
 *   (what orc writes);
 * - v2 `{"op","input"}` plus `"ms"` when the time has milliseconds: the
 *   agent is the commit's author and the time its author time (whole
 *   seconds, +0000, as engine.identity writes it) plus `ms`.
 *
 * v2 is 70 bytes shorter, but measured after `git gc` it costs ~35 bytes an
 * op MORE: a commit that small no longer passes git's delta threshold (a
 * delta must be under half the object), so most are stored whole. orc thus
 * writes v1 and reads both, so that a later orc can switch without a break.
 */
export interface RecordedOp {
  op: string;
  agent: string;
  /** ISO time the op was decided at. */
  at: string;
  input: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The commit message of an op: a readable summary, then the op as a trailer (v1 unless `lean`, see above). */
export function formatOpMessage(summary: string, op: string, actor: string, input: unknown, at: Date, lean = false): string {
  const head = `${summary.replace(/\s+/g, ' ').slice(0, 200)}\n\n`;
  if (!lean) return `${head}Orc-Op: ${JSON.stringify({ op, agent: actor, at: at.toISOString(), input })}\nOrc-Agent: ${actor}\n`;
  const ms = at.getTime() % 1000;
  return `${head}Orc-Op: ${JSON.stringify(ms ? { op, ms, input } : { op, input })}\n`;
}

/**
 * The op recorded in commit `c`, in either format, or a reason it has none
 * (no trailer, or one that is neither format). Checks shapes only: what the
 * op means is for its reader to decide.
 */
export function readRecordedOp(c: Pick<Commit, 'message' | 'author'>): RecordedOp | string {
  const raw = trailers(c.message, 'Orc-Op')[0];
  if (!raw) return 'has no Orc-Op trailer: only orc ops and merges may be pushed to the state branch';
  let rec: unknown;
  try {
    rec = JSON.parse(raw);
  } catch {
    rec = null;
  }
  if (!isObject(rec) || typeof rec.op !== 'string' || !isObject(rec.input)) return 'has an Orc-Op trailer that is not {"op","input"} JSON';
  if ('agent' in rec || 'at' in rec) {
    // v1: both fields, as strings; a v2 field beside them is not either format.
    if (typeof rec.agent !== 'string' || typeof rec.at !== 'string' || 'ms' in rec) return 'has an Orc-Op trailer that is not {"op","agent","at","input"} JSON';
    return { op: rec.op, agent: rec.agent, at: rec.at, input: rec.input };
  }
  const ms = rec.ms ?? 0;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 999) return 'has an Orc-Op trailer whose "ms" is not a whole number of milliseconds (0-999)';
  const at = new Date(c.author.time * 1000 + ms);
  if (!Number.isFinite(at.getTime())) return 'has an Orc-Op trailer on a commit whose author time is not a time';
  return { op: rec.op, agent: c.author.name, at: at.toISOString(), input: rec.input };
}

/** The recorded op, or null for a commit that has none (made by hand). */
export function recordedOp(c: Pick<Commit, 'message' | 'author'>): RecordedOp | null {
  const r = readRecordedOp(c);
  return typeof r === 'string' ? null : r;
}
