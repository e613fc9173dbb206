import { describe, expect, it } from 'vitest';
import { OrcError } from '../../src/errors.js';
import * as O from '../../src/model/ops.js';
import { DEFAULT_SETTINGS, type Lock, type Task } from '../../src/model/types.js';
import { appendEvent, queryEvents, SEGMENT_MAX_LINES } from '../../src/model/events.js';
import { lockFileName } from '../../src/model/layout.js';
import { MemState } from './memstate.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ctx = (ms = 0, actor = 'system') => ({ actor, now: new Date(T0 + ms), settings: DEFAULT_SETTINGS });

function run<I, R>(s: MemState, op: O.OpDef<I, R>, raw: Record<string, unknown>, ms = 0): R {
  return s.apply(op.decide(s, op.parse(raw), ctx(ms)));
}

function refused(f: () => unknown): OrcError {
  try {
    f();
  } catch (e) {
    if (e instanceof OrcError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

function fixture(): MemState {
  const s = new MemState();
  run(s, O.wsCreate, { name: 'w', description: 'd', priority: 1 });
  return s;
}

const add = (s: MemState, id: string, priority: number, ms: number, extra: Record<string, unknown> = {}) =>
  run(s, O.taskAdd, { workstream: 'w', id, title: `task ${id}`, priority, ...extra }, ms) as Task;

describe('task reopen', () => {
  it('done or failed goes back to pending with claim and completion cleared; anything else is refused', () => {
    const s = fixture();
    add(s, 'x', 1, 0);
    run(s, O.taskClaim, { workstream: 'w', id: 'x', agent: 'a' }, 10);
    expect(refused(() => run(s, O.taskReopen, { workstream: 'w', id: 'x' }, 20)).code).toBe('CONFLICT');
    run(s, O.taskComplete, { workstream: 'w', id: 'x', agent: 'a', result: 'r', failed: true }, 30);
    const t = run(s, O.taskReopen, { workstream: 'w', id: 'x', reason: 'try again' }, 40) as Task;
    expect(t).toMatchObject({ status: 'pending', assigned_to: null, claimed_at: null, lease_ms: null, completed_at: null, result: null });
    expect(refused(() => run(s, O.taskReopen, { workstream: 'w', id: 'x' }, 50)).code).toBe('CONFLICT');
    expect(refused(() => run(s, O.taskReopen, { workstream: 'w', id: 'nope' }, 50)).code).toBe('NOT_FOUND');
    expect((run(s, O.taskNext, { workstream: 'w', agent: 'b' }, 60) as Task).id).toBe('x');
  });
});

describe('task decisions', () => {
  it('next picks the best priority, oldest first among equals, then refuses nothing left', () => {
    const s = fixture();
    add(s, 'late-p1', 1, 20);
    add(s, 'p2', 2, 0);
    add(s, 'early-p1', 1, 10);
    const order = [1, 2, 3].map(() => (run(s, O.taskNext, { workstream: 'w', agent: 'a' }, 100) as Task).id);
    expect(order).toEqual(['early-p1', 'late-p1', 'p2']);
    const d = O.taskNext.decide(s, O.taskNext.parse({ workstream: 'w', agent: 'a' }), ctx(100));
    expect(d.result).toBeNull();
    expect(d.changes.size).toBe(0);
    expect(d.event).toBeNull();
  });

  it('a live claim refuses another agent; an expired lease is taken over as its own event', () => {
    const s = fixture();
    add(s, 't', 1, 0);
    run(s, O.taskClaim, { workstream: 'w', id: 't', agent: 'a', lease_ms: 5000 }, 0);
    const e = refused(() => O.taskClaim.decide(s, O.taskClaim.parse({ workstream: 'w', id: 't', agent: 'b' }), ctx(4999)));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toMatch(/claimed by a/);
    const d = O.taskClaim.decide(s, O.taskClaim.parse({ workstream: 'w', id: 't', agent: 'b' }), ctx(5001));
    expect(d.event).toMatchObject({ action: 'task_taken_over', previous_agent: 'a' });
    expect(d.result).toMatchObject({ assigned_to: 'b', status: 'in_progress' });
  });

  it("a heartbeat extends every lease of the agent by touching only the agent's file", () => {
    const s = fixture();
    add(s, 't', 1, 0);
    run(s, O.taskClaim, { workstream: 'w', id: 't', agent: 'a', lease_ms: 5000 }, 0);
    const d = O.agentHeartbeat.decide(s, O.agentHeartbeat.parse({ id: 'a' }), ctx(4000));
    expect([...d.changes.keys()]).toEqual(['agents/a.json']);
    s.apply(d);
    expect(O.claimable(s, 'w', new Date(T0 + 8999))).toHaveLength(0);
    expect(O.claimable(s, 'w', new Date(T0 + 9001)).map((t) => t.id)).toEqual(['t']);
  });

  it('dependencies: a task waits until the tasks it names are done', () => {
    const s = fixture();
    add(s, 'first', 2, 0);
    add(s, 'second', 1, 1, { after: ['first'] });
    expect(refused(() => O.taskClaim.decide(s, O.taskClaim.parse({ workstream: 'w', id: 'second', agent: 'a' }), ctx(5))).message).toMatch(/waits for first/);
    expect((run(s, O.taskNext, { workstream: 'w', agent: 'a' }, 5) as Task).id).toBe('first');
    run(s, O.taskComplete, { workstream: 'w', id: 'first', result: 'ok' }, 6);
    expect((run(s, O.taskNext, { workstream: 'w', agent: 'a' }, 7) as Task).id).toBe('second');
    expect(refused(() => add(s, 'x', 1, 8, { after: ['nope'] })).code).toBe('NOT_FOUND');
  });

  it('complete: only the owner while the lease runs; never twice', () => {
    const s = fixture();
    add(s, 't', 1, 0);
    run(s, O.taskClaim, { workstream: 'w', id: 't', agent: 'a' }, 0);
    expect(refused(() => O.taskComplete.decide(s, O.taskComplete.parse({ workstream: 'w', id: 't', agent: 'b' }), ctx(1))).code).toBe('CONFLICT');
    const d = O.taskComplete.decide(s, O.taskComplete.parse({ workstream: 'w', id: 't', result: 'done!' }), ctx(2));
    // No agent named: the operator finishes it over a's claim, recorded as such (issue 11; it used to be recorded as a's).
    expect(d.actor).toBe('system');
    expect(d.event).toMatchObject({ overrode: 'a', by: 'operator' });
    s.apply(d);
    expect(refused(() => O.taskComplete.decide(s, O.taskComplete.parse({ workstream: 'w', id: 't' }), ctx(3))).message).toMatch(/already done/);
  });
});

describe('lock decisions', () => {
  const acquire = (s: MemState, agent: string, ms: number, ttl = 1000) => run(s, O.lockAcquire, { resource: 'deploy', agent, ttl_ms: ttl }, ms) as Lock;

  it('one holder; renewal keeps the token; expiry lets another in with a larger token; release by the holder only', () => {
    const s = new MemState();
    expect(acquire(s, 'a', 0).token).toBe(1);
    expect(refused(() => acquire(s, 'b', 500)).code).toBe('CONFLICT');
    expect(acquire(s, 'a', 900).token).toBe(1);
    expect(refused(() => acquire(s, 'b', 1800)).code).toBe('CONFLICT'); // renewed until 1900
    expect(acquire(s, 'b', 1901).token).toBe(2);
    expect(refused(() => run(s, O.lockRelease, { resource: 'deploy', agent: 'a' }, 2000)).code).toBe('CONFLICT');
    run(s, O.lockRelease, { resource: 'deploy', agent: 'b' }, 2000);
    expect(refused(() => run(s, O.lockRelease, { resource: 'deploy', agent: 'b' }, 2001)).code).toBe('NOT_FOUND');
    expect(acquire(s, 'a', 2002).token).toBe(3);
  });

  it('encodes resources into one safe file name', () => {
    expect(lockFileName('src/api/**')).toBe('src%2Fapi%2F%2A%2A.json');
    expect(lockFileName('.env')).toBe('%2Eenv.json');
    expect(lockFileName('x'.repeat(300))).toMatch(/^h-[0-9a-f]{40}\.json$/);
  });
});

describe('input validation (nothing decided on bad input)', () => {
  it.each([
    ['../x'], ['/abs'], ['a\\b'], ['ctl\u0001'], [''], ['x'.repeat(201)], ['a/b'],
  ])('refuses workstream name %j', (name) => {
    expect(refused(() => O.wsCreate.parse({ name })).code).toBe('INVALID');
  });
  it.each([['../escape'], ['/abs'], ['a/../../b'], ['ctl\u0001x'], [''], ['a//b'], ['.hidden'], ['a/.git']])('refuses topic %j', (topic) => {
    expect(refused(() => O.kbWrite.parse({ topic, content: 'x' })).code).toBe('INVALID');
  });
  it('accepts folder topics and refuses non-numeric priorities and TTLs', () => {
    expect(O.kbWrite.parse({ topic: 'notes/setup guide', content: '' })).toEqual({ topic: 'notes/setup guide', content: Buffer.alloc(0) });
    expect(refused(() => O.taskAdd.parse({ workstream: 'w', id: 'i', title: 't', priority: 'high' })).message).toMatch(/priority must be a whole number/);
    expect(refused(() => O.lockAcquire.parse({ resource: 'r', agent: 'a', ttl_ms: 'ten seconds' })).code).toBe('INVALID');
    // A duration with a unit is a duration (90s, 10m, 2h, 1d).
    expect(O.lockAcquire.parse({ resource: 'r', agent: 'a', ttl_ms: '10s' }).ttl_ms).toBe(10_000);
    expect(refused(() => O.taskAdd.parse({ workstream: 'w', id: 'i', title: 'two\nlines' })).code).toBe('INVALID');
  });
});

describe('event log', () => {
  it('appends to the writer segment of the day, rolls over when full, and queries newest-first with filters', () => {
    const s = new MemState();
    const total = SEGMENT_MAX_LINES + 10;
    for (let i = 0; i < total; i++) {
      const ts = new Date(T0 + i * 1000).toISOString();
      const { path, content } = appendEvent(s, { ts, agent: i % 2 ? 'odd' : 'even', action: i % 3 ? 'x' : 'y', i }, 'w1');
      s.files.set(path, content);
    }
    expect(s.list('events/2026-01-01').map((e) => e.name).sort()).toEqual(['w1-00001.jsonl', 'w1-00002.jsonl']);
    const last3 = queryEvents(s, { last: 3 });
    expect(last3.map((e) => e.i)).toEqual([total - 3, total - 2, total - 1]);
    expect(queryEvents(s, { agent: 'odd', action: 'y', last: 2 }).every((e) => e.agent === 'odd' && e.action === 'y')).toBe(true);
    expect(queryEvents(s, { since: new Date(T0 + (total - 5) * 1000).toISOString() })).toHaveLength(5);
    // Another writer (another clone) appends to its own file, so git merges of two hosts never conflict.
    const other = appendEvent(s, { ts: new Date(T0).toISOString(), agent: 'a', action: 'z' }, 'w2');
    expect(other.path).toBe('events/2026-01-01/w2-00001.jsonl');
  });
});
