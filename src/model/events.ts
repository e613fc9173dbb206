import { Lru } from '../store/lru.js';
import { eventDayDir } from './layout.js';
import { corrupt, type StateReader } from './state.js';
import type { OrcEvent } from './types.js';

/** A segment is closed once it holds this many lines or bytes, so rewriting it per op stays cheap. */
export const SEGMENT_MAX_LINES = 200;
export const SEGMENT_MAX_BYTES = 64 * 1024;

const SEGMENT = /^([0-9a-z]+)-(\d+)\.jsonl$/;

/**
 * The file change that appends `event` to the log: a line at the end of this
 * writer's newest segment for the event's day, or a new segment once that is
 * full. Each host writes its own segments, so two hosts' logs merge in git
 * without conflicts. `day` is the day's folder (an older orc's layout, for the hook).
 */
export function appendEvent(s: StateReader, event: OrcEvent, writer: string, day = eventDayDir(event.ts)): { path: string; content: Buffer } {
  let seq = 0;
  let current: { name: string; oid: string } | null = null;
  for (const e of s.list(day)) {
    const m = SEGMENT.exec(e.name);
    if (!m || m[1] !== writer) continue;
    const n = Number(m[2]);
    if (n >= seq) {
      seq = n;
      current = e;
    }
  }
  const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
  if (current) {
    const old = s.read(`${day}/${current.name}`) ?? Buffer.alloc(0);
    let lines = 0;
    for (let i = old.indexOf(10); i >= 0; i = old.indexOf(10, i + 1)) lines++;
    if (lines < SEGMENT_MAX_LINES && old.length + line.length <= SEGMENT_MAX_BYTES) {
      return { path: `${day}/${current.name}`, content: Buffer.concat([old, line]) };
    }
    seq += 1;
  } else {
    seq = 1;
  }
  return { path: `${day}/${writer}-${String(seq).padStart(5, '0')}.jsonl`, content: line };
}

export interface EventQuery {
  agent?: string;
  action?: string;
  /** ISO time or anything Date.parse reads; events at or after it. */
  since?: string;
  /** The newest N of the matching events. */
  last?: number;
  /** Only events of this workstream (matches the event's `workstream` field). */
  workstream?: string;
  /** Leave out these actions (the dashboard hides heartbeats, which would crowd out the rest). */
  exclude?: string[];
}

const YEAR = /^\d{4}$/;
const MONTH = /^\d{4}-\d{2}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const TWO = /^\d{2}$/;

function subDirs(s: StateReader, dir: string, re: RegExp): string[] {
  return s
    .list(dir)
    .filter((e) => e.dir && re.test(e.name))
    .map((e) => e.name);
}

/**
 * Every day of the log, oldest first, with its folders: `events/<yyyy-mm-dd>`,
 * the second layout's `events/<yyyy-mm>/<dd>` and the first's
 * `events/<yyyy>/<mm>/<dd>` (a branch written by orcs of several versions may
 * hold the same day in more than one). Lists trees only, no segment.
 */
export function eventDays(s: StateReader): { day: string; dirs: string[] }[] {
  const days = new Map<string, string[]>();
  const add = (day: string, dir: string) => {
    const dirs = days.get(day);
    if (dirs) dirs.push(dir);
    else days.set(day, [dir]);
  };
  for (const top of s.list('events')) {
    if (!top.dir) continue;
    if (DAY.test(top.name)) {
      add(top.name, `events/${top.name}`);
    } else if (MONTH.test(top.name)) {
      for (const d of subDirs(s, `events/${top.name}`, TWO)) add(`${top.name}-${d}`, `events/${top.name}/${d}`);
    } else if (YEAR.test(top.name)) {
      for (const m of subDirs(s, `events/${top.name}`, TWO)) {
        for (const d of subDirs(s, `events/${top.name}/${m}`, TWO)) add(`${top.name}-${m}-${d}`, `events/${top.name}/${m}/${d}`);
      }
    }
  }
  return [...days.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([day, dirs]) => ({ day, dirs }));
}

/** Larger than any segment orc writes (one more event may pass SEGMENT_MAX_BYTES, an event is bounded by its data limit). */
export const SEGMENT_READ_MAX = 4 * SEGMENT_MAX_BYTES + 1_048_576;

function parseSegment(s: StateReader, path: string, buf: Buffer): OrcEvent[] {
  if (buf.length > SEGMENT_READ_MAX) throw corrupt(s, path, `is ${buf.length} bytes, more than an event segment orc writes (${SEGMENT_READ_MAX})`);
  const out: OrcEvent[] = [];
  let n = 0;
  for (const line of buf.toString('utf8').split('\n')) {
    n++;
    if (!line) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw corrupt(s, path, `has a line that is not JSON (line ${n})`);
    }
    const o = ev as Record<string, unknown>;
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev) || typeof o.ts !== 'string' || typeof o.agent !== 'string' || typeof o.action !== 'string') {
      throw corrupt(s, path, `has a line that is not an event {ts, agent, action, …} (line ${n})`);
    }
    out.push(ev as OrcEvent);
  }
  return out;
}

/**
 * Matching events in time order, oldest first. Walks days newest first and
 * stops once `last` are found or the days fall before `since`, so a query
 * for recent events reads only recent segments.
 */
export function queryEvents(s: StateReader, q: EventQuery = {}): OrcEvent[] {
  const sinceMs = q.since ? Date.parse(q.since) : NaN;
  const sinceDay = Number.isFinite(sinceMs) ? new Date(sinceMs).toISOString().slice(0, 10) : '';
  const want = q.last ?? Infinity;
  const picked: OrcEvent[][] = [];
  let count = 0;
  const days = eventDays(s);
  for (let k = days.length - 1; k >= 0; k--) {
    const { day, dirs } = days[k]!;
    if (sinceDay && day < sinceDay) break;
    const matched = readDay(s, dirs).filter((ev) => matches(ev, q, sinceMs));
    picked.push(matched);
    count += matched.length;
    if (count >= want) break;
  }
  const all = picked.reverse().flat();
  return Number.isFinite(want) ? all.slice(Math.max(0, all.length - want)) : all;
}

/**
 * Every matching event, oldest first, read one day at a time: the whole log
 * in the memory of one day's segments (GET /api/events with no `last`).
 */
export function* eachEvent(s: StateReader, q: Omit<EventQuery, 'last'> = {}): Generator<OrcEvent> {
  const sinceMs = q.since ? Date.parse(q.since) : NaN;
  const sinceDay = Number.isFinite(sinceMs) ? new Date(sinceMs).toISOString().slice(0, 10) : '';
  for (const { day, dirs } of eventDays(s)) {
    if (sinceDay && day < sinceDay) continue;
    for (const ev of readDay(s, dirs)) if (matches(ev, q, sinceMs)) yield ev;
  }
}

/**
 * Parsed segments by blob id, the last 64 read (a segment is
 * immutable under its id; a full one, most of a day's, never changes again):
 * status and a dashboard's refresh read today's events over and over, and
 * parsed them whole each time. Small, so a walk over the whole log still
 * holds about one day's segments. Events are shared: callers never mutate them.
 */
const segments = new Lru<OrcEvent[]>(64);

function segmentOf(s: StateReader, path: string, oid: string): OrcEvent[] {
  const known = segments.get(oid);
  if (known) return known;
  const buf = s.read(path);
  if (!buf) return [];
  const evs = parseSegment(s, path, buf);
  if (buf.length <= 2 * SEGMENT_MAX_BYTES) segments.set(oid, evs); // bigger than orc makes them: not kept (memory)
  return evs;
}

/** One day's events, from all its segments (in one folder or both layouts'), in time order. */
function readDay(s: StateReader, dirs: string[]): OrcEvent[] {
  const day: OrcEvent[] = [];
  for (const dir of dirs) {
    for (const e of s.list(dir)) {
      if (e.dir || !e.name.endsWith('.jsonl')) continue;
      for (const ev of segmentOf(s, `${dir}/${e.name}`, e.oid)) day.push(ev);
    }
  }
  // Stable sort: events of one segment keep their commit order on equal timestamps.
  return day.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

function matches(ev: OrcEvent, q: Omit<EventQuery, 'last'>, sinceMs: number): boolean {
  return (
    (!q.agent || ev.agent === q.agent) &&
    (!q.action || ev.action === q.action) &&
    (!q.exclude || !q.exclude.includes(ev.action)) &&
    (!q.workstream || ev.workstream === q.workstream) &&
    (!Number.isFinite(sinceMs) || Date.parse(ev.ts) >= sinceMs)
  );
}
