/**
 * The event log across its three layouts: orc writes events/<yyyy-mm-dd>/
 * (one tree less per op than the second layout, two less than the first), and
 * reads the second's events/<yyyy-mm>/<dd>/ and the first's
 * events/<yyyy>/<mm>/<dd>/ forever, the same day in several merged in time order.
 */
import { describe, expect, it } from 'vitest';
import { appendEvent, eachEvent, eventDays, queryEvents } from '../../src/model/events.js';
import { eventDayDir, eventDayOfPath, legacyEventDayDir, monthEventDayDir } from '../../src/model/layout.js';
import type { OrcEvent } from '../../src/model/types.js';
import { MemState } from './memstate.js';

const line = (ts: string, agent: string, action: string, i: number) => `${JSON.stringify({ ts, agent, action, i })}\n`;

describe('event layouts', () => {
  it('writes the flat layout, one tree level less, even where the writer has segments in the older ones', () => {
    expect(eventDayDir('2026-01-05T10:00:00.000Z')).toBe('events/2026-01-05');
    expect(monthEventDayDir('2026-01-05T10:00:00.000Z')).toBe('events/2026-01/05');
    expect(legacyEventDayDir('2026-01-05T10:00:00.000Z')).toBe('events/2026/01/05');
    for (const p of ['events/2026-01-05', 'events/2026-01-05/w1-00001.jsonl', 'events/2026-01/05/w1-00002.jsonl', 'events/2026/01/05']) expect(eventDayOfPath(p), p).toBe('2026-01-05');
    for (const p of ['events', 'events/2026-01', 'events/2026', 'events/2026/01', 'events/README.md', 'knowledge/2026-01-05']) expect(eventDayOfPath(p), p).toBeNull();
    const s = new MemState();
    s.files.set('events/2026/01/05/w1-00003.jsonl', Buffer.from(line('2026-01-05T09:00:00.000Z', 'a', 'x', 0)));
    s.files.set('events/2026-01/05/w1-00002.jsonl', Buffer.from(line('2026-01-05T09:30:00.000Z', 'a', 'x', 0)));
    const next = appendEvent(s, { ts: '2026-01-05T10:00:00.000Z', agent: 'a', action: 'y' }, 'w1');
    expect(next.path).toBe('events/2026-01-05/w1-00001.jsonl');
    expect(next.content.toString()).toBe(`${JSON.stringify({ ts: '2026-01-05T10:00:00.000Z', agent: 'a', action: 'y' })}\n`);
    // The hook decides an older orc's commit in its own layout.
    const old = appendEvent(s, { ts: '2026-01-05T10:00:00.000Z', agent: 'a', action: 'y' }, 'w1', legacyEventDayDir('2026-01-05T10:00:00.000Z'));
    expect(old.path).toBe('events/2026/01/05/w1-00003.jsonl');
    expect(old.content.toString().split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('reads all layouts: days in order, one day held in several merged by time, filters and since as before', () => {
    const s = new MemState();
    // Old layout only: Jan 3 and Jan 4; both layouts: Jan 5 (an upgrade that day); new only: Jan 6 and Feb 1.
    s.files.set('events/2026/01/03/w1-00001.jsonl', Buffer.from(line('2026-01-03T08:00:00.000Z', 'a', 'x', 1) + line('2026-01-03T09:00:00.000Z', 'b', 'x', 2)));
    s.files.set('events/2026/01/04/w1-00001.jsonl', Buffer.from(line('2026-01-04T08:00:00.000Z', 'a', 'y', 3)));
    s.files.set('events/2026/01/05/w1-00001.jsonl', Buffer.from(line('2026-01-05T08:00:00.000Z', 'a', 'x', 4) + line('2026-01-05T12:00:00.000Z', 'b', 'x', 6)));
    s.files.set('events/2026-01/05/w2-00001.jsonl', Buffer.from(line('2026-01-05T10:00:00.000Z', 'c', 'x', 5) + line('2026-01-05T13:00:00.000Z', 'c', 'y', 7)));
    s.files.set('events/2026-01/06/w2-00001.jsonl', Buffer.from(line('2026-01-06T08:00:00.000Z', 'a', 'x', 8)));
    s.files.set('events/2026-02/01/w2-00001.jsonl', Buffer.from(line('2026-02-01T08:00:00.000Z', 'b', 'y', 9)));
    // The flat layout: Jan 5 (a second upgrade that day), Feb 2.
    s.files.set('events/2026-01-05/w3-00001.jsonl', Buffer.from(line('2026-01-05T12:30:00.000Z', 'd', 'x', 6.5)));
    s.files.set('events/2026-02-02/w3-00001.jsonl', Buffer.from(line('2026-02-02T08:00:00.000Z', 'd', 'y', 10)));
    // Not part of the log: ignored as before (the hook refuses such paths).
    s.files.set('events/README.md', Buffer.from('x'));
    expect(eventDays(s).map((d) => ({ day: d.day, dirs: [...d.dirs].sort() }))).toEqual([
      { day: '2026-01-03', dirs: ['events/2026/01/03'] },
      { day: '2026-01-04', dirs: ['events/2026/01/04'] },
      { day: '2026-01-05', dirs: ['events/2026-01-05', 'events/2026-01/05', 'events/2026/01/05'] },
      { day: '2026-01-06', dirs: ['events/2026-01/06'] },
      { day: '2026-02-01', dirs: ['events/2026-02/01'] },
      { day: '2026-02-02', dirs: ['events/2026-02-02'] },
    ]);
    const ids = (evs: Iterable<OrcEvent>) => [...evs].map((e) => (e as { i?: unknown }).i);
    expect(ids(queryEvents(s))).toEqual([1, 2, 3, 4, 5, 6, 6.5, 7, 8, 9, 10]);
    expect(ids(eachEvent(s))).toEqual([1, 2, 3, 4, 5, 6, 6.5, 7, 8, 9, 10]);
    expect(ids(queryEvents(s, { last: 5 }))).toEqual([6.5, 7, 8, 9, 10]);
    expect(ids(queryEvents(s, { last: 2, agent: 'a' }))).toEqual([4, 8]);
    expect(ids(queryEvents(s, { since: '2026-01-05T11:00:00Z' }))).toEqual([6, 6.5, 7, 8, 9, 10]);
    expect(ids(eachEvent(s, { since: '2026-01-04T00:00:00Z', action: 'y' }))).toEqual([3, 7, 9, 10]);
  });
});
