import { invalid } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i;

/**
 * A duration as milliseconds: a number, a decimal string of ms (as before),
 * or a number with a unit: `90s`, `10m`, `2h`, `1d`, `250ms`. Anything else
 * is returned unchanged, for the caller's own check to refuse with its name.
 */
export function parseDuration(v: unknown, kind = 'duration'): unknown {
  if (typeof v !== 'string') return v;
  const m = DURATION.exec(v);
  if (!m) {
    if (/^\s*-?\d+\s*$/.test(v)) return v;
    throw invalid(`${kind} must be a duration like 90s, 10m, 2h, 1d, or a number of milliseconds; got ${JSON.stringify(v.slice(0, 40))}`, { kind });
  }
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** Seconds for `--timeout`: a plain number is seconds; a unit (`500ms`, `2m`) is taken as given. */
export function parseSeconds(v: string, kind = '--timeout'): number {
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v) * 1000;
  // Its own wording: a bare number here is seconds, not milliseconds as parseDuration's message says.
  let ms: unknown;
  try {
    ms = parseDuration(v, kind);
  } catch {
    ms = undefined;
  }
  if (typeof ms !== 'number') throw invalid(`${kind} must be seconds or a duration like 90s, 10m; got ${JSON.stringify(v)}`);
  return ms;
}
