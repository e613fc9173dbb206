/**
 * Tasks: `t add/list/show/claim/next/complete/fail`, with the seed's JSON
 * shape, priority order, dependencies (`--after`), leases and take-over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { commitCount, eventsAdded, expectOneLineError, ok, sleepUntil, tip } from './util.js';

afterAll(cleanup);

const SEED_FIELDS = ['id', 'title', 'description', 'status', 'priority', 'estimate', 'assigned_to', 'created_at', 'updated_at', 'result'];

interface TaskJson {
  id: string;
  workstream: string;
  title: string;
  description: string;
  status: string;
  priority: number;
  estimate: number | null;
  assigned_to: string | null;
  created_at: string;
  updated_at: string;
  result: string | null;
  resources: string[];
  after: string[];
  kb: string[];
  lease_ms: number | null;
  lease_expires_at?: string | null;
  claimed_at: string | null;
  completed_at: string | null;
}

describe('t add / list / show', () => {
  let repo: string;
  beforeAll(() => {
    repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
  });

  it('t add prints only the new id, which t show finds', () => {
    const r = orc(repo, ['t', 'add', 'w', 'Plain task']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[A-Za-z0-9][A-Za-z0-9._@+-]*\n$/);
    const id = r.stdout.trim();
    const t = ok<TaskJson>(repo, ['t', 'show', 'w', id]);
    expect(t).toMatchObject({ id, title: 'Plain task', description: '', status: 'pending', priority: 5, estimate: null, assigned_to: null, result: null });
    const text = orc(repo, ['task', 'show', 'w', id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`w/${id}  Plain task`);
    expect(text.stdout).toMatch(/status:\s+pending/);
  });

  it('t add --json returns the task with the seed fields and the options', () => {
    const first = orc(repo, ['t', 'add', 'w', 'Dep']).stdout.trim();
    const t = ok<TaskJson>(repo, ['t', 'add', 'w', 'Full task', 'a longer description', '2', '--estimate', '5', '--resource', 'src/api/**', '--resource', 'deploy', '--after', first, '--kb', 'notes/api']);
    for (const f of SEED_FIELDS) expect(t, `field ${f}`).toHaveProperty(f);
    expect(t).toMatchObject({
      workstream: 'w',
      title: 'Full task',
      description: 'a longer description',
      status: 'pending',
      priority: 2,
      estimate: 5,
      assigned_to: null,
      result: null,
      resources: ['src/api/**', 'deploy'],
      after: [first],
      kb: ['notes/api'],
    });
    expect(t.created_at).toBe(t.updated_at);
    expect(Math.abs(Date.parse(t.created_at) - Date.now())).toBeLessThan(60_000);
    // What was printed is what was stored.
    const stored = ok<TaskJson>(repo, ['t', 'show', 'w', t.id]);
    expect(stored).toMatchObject({ ...t, lease_expires_at: null });
    const path = git(repo, 'ls-tree', '-r', '--name-only', 'orc').split('\n').find((p) => p.endsWith(`/${t.id}.json`));
    expect(path).toMatch(new RegExp(`^workstreams/w/tasks/[0-9a-f]{2}/${t.id}\\.json$`));
    expect(JSON.parse(git(repo, 'show', `orc:${path}`))).toMatchObject({ id: t.id, title: 'Full task', after: [first] });
  });

  it('t add --id chooses the id; a taken id is refused (exit 1) without a commit', () => {
    expect(ok<TaskJson>(repo, ['t', 'add', 'w', 'Named', '--id', 'named-1']).id).toBe('named-1');
    const before = tip(repo);
    const r = orc(repo, ['t', 'add', 'w', 'Again', '--id', 'named-1']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, ['named-1']);
    expect(tip(repo)).toBe(before);
  });

  it('t add --after an unknown task is refused (exit 1) naming it', () => {
    const before = tip(repo);
    const r = orc(repo, ['t', 'add', 'w', 'Waits', '--after', 'no-such-task']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, ['no-such-task']);
    expect(tip(repo)).toBe(before);
  });
});

describe('priority order, next and dependencies', () => {
  let repo: string;
  const id: Record<string, string> = {};
  beforeAll(() => {
    repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'q']).code).toBe(0);
    // Added in this order; each process runs after the previous finished, so created_at strictly grows.
    for (const [name, pri] of [
      ['p3-old', '3'],
      ['p1-old', '1'],
      ['p2', '2'],
      ['p1-new', '1'],
      ['p3-new', '3'],
    ] as const) {
      id[name] = orc(repo, ['t', 'add', 'q', name, '', pri]).stdout.trim();
    }
  });

  it('t list orders by priority, then oldest first', () => {
    const list = ok<TaskJson[]>(repo, ['t', 'list', 'q']);
    expect(list.map((t) => t.title)).toEqual(['p1-old', 'p1-new', 'p2', 'p3-old', 'p3-new']);
    const text = orc(repo, ['t', 'list', 'q']).stdout.trim().split('\n');
    expect(text[0]).toMatch(/^ID\s+PRI\s+STATUS\s+ASSIGNED\s+TITLE/);
    expect(text.slice(1).map((l) => l.split(/\s+/).at(-1))).toEqual(['p1-old', 'p1-new', 'p2', 'p3-old', 'p3-new']);
  });

  it('t next claims the best priority, oldest first among equals', () => {
    const a = ok<TaskJson>(repo, ['t', 'next', 'q', 'n1']);
    expect(a).toMatchObject({ id: id['p1-old'], status: 'in_progress', assigned_to: 'n1' });
    const b = orc(repo, ['t', 'next', 'q', 'n2']);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(`${id['p1-new']}\tp1-new\n`);
    expect(ok<TaskJson>(repo, ['t', 'next', 'q', 'n3']).title).toBe('p2');
    expect(ok<TaskJson>(repo, ['t', 'next', 'q', 'n4']).title).toBe('p3-old');
    expect(ok<TaskJson>(repo, ['t', 'next', 'q', 'n5']).title).toBe('p3-new');
    const pending = ok<TaskJson[]>(repo, ['t', 'list', 'q', '--status', 'pending']);
    expect(pending).toEqual([]);
    const inProgress = ok<TaskJson[]>(repo, ['t', 'list', 'q', '--status', 'in_progress']);
    expect(inProgress.map((t) => t.assigned_to)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('t next with nothing claimable prints null and exits 1 (text: a message on stderr)', () => {
    const before = tip(repo);
    const j = orc(repo, ['t', 'next', 'q', 'n6', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toBeNull();
    const t = orc(repo, ['t', 'next', 'q', 'n6']);
    expect(t.code).toBe(1);
    expect(t.stdout).toBe('');
    expectOneLineError(t.stderr, ['q']);
    expect(tip(repo)).toBe(before);
  });

  it('t next skips tasks whose --after dependencies are not done, and picks them once they are', () => {
    const r = tmpRepo();
    expect(orc(r, ['ws', 'create', 'd']).code).toBe(0);
    const base = orc(r, ['t', 'add', 'd', 'base', '', '3']).stdout.trim();
    const blocked = orc(r, ['t', 'add', 'd', 'blocked', '', '1', '--after', base]).stdout.trim();
    // blocked has the best priority but waits for base.
    const claim = orc(r, ['t', 'claim', 'd', blocked, 'x']);
    expect(claim.code).toBe(1);
    expectOneLineError(claim.stderr, [base]);
    const first = ok<TaskJson>(r, ['t', 'next', 'd', 'x']);
    expect(first.id).toBe(base);
    // base is in progress, not done: still nothing for y.
    expect(orc(r, ['t', 'next', 'd', 'y', '--json']).stdout.trim()).toBe('null');
    expect(orc(r, ['t', 'complete', 'd', base, 'ok']).code).toBe(0);
    const second = ok<TaskJson>(r, ['t', 'next', 'd', 'y']);
    expect(second.id).toBe(blocked);
  });
});

describe('claim, complete, fail', () => {
  let repo: string;
  let a = '';
  let b = '';
  beforeAll(() => {
    repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'c']).code).toBe(0);
    a = orc(repo, ['t', 'add', 'c', 'Alpha']).stdout.trim();
    b = orc(repo, ['t', 'add', 'c', 'Beta']).stdout.trim();
  });

  it('t claim sets status, owner and a lease (default 10 min)', () => {
    const t = ok<TaskJson>(repo, ['t', 'claim', 'c', a, 'alice']);
    expect(t).toMatchObject({ id: a, status: 'in_progress', assigned_to: 'alice', lease_ms: 600000 });
    expect(Date.parse(t.lease_expires_at!) - Date.parse(t.claimed_at!)).toBe(600000);
    const r = orc(repo, ['t', 'claim', 'c', b, 'bob', '--lease', '120000']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`claimed c/${b} for bob: Beta`);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', b]).lease_ms).toBe(120000);
  });

  it('a claim of a task another agent holds under a live lease is refused (exit 1) naming the holder', () => {
    const before = tip(repo);
    const r = orc(repo, ['t', 'claim', 'c', a, 'mallory']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, ['alice', a]);
    expect(tip(repo)).toBe(before);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', a]).assigned_to).toBe('alice');
  });

  it('the owner may claim again (renewal)', () => {
    const before = commitCount(repo);
    const t = ok<TaskJson>(repo, ['t', 'claim', 'c', a, 'alice']);
    expect(t.assigned_to).toBe('alice');
    expect(commitCount(repo)).toBe(before + 1);
    const ev = eventsAdded(repo, tip(repo)!, git(repo, 'rev-parse', 'orc~1'));
    expect(ev).toEqual([expect.objectContaining({ action: 'task_claimed', agent: 'alice', renewed: true })]);
  });

  it('completing as a different named agent while the owner holds a live lease is refused (exit 1)', () => {
    const before = tip(repo);
    const r = orc(repo, ['t', 'complete', 'c', a, 'stolen', '--agent', 'mallory']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, ['alice', 'mallory']);
    const env = orc(repo, ['t', 'complete', 'c', a, 'stolen'], { env: { ORC_AGENT: 'mallory' } });
    expect(env.code).toBe(1);
    expect(tip(repo)).toBe(before);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', a]).status).toBe('in_progress');
  });

  it('t complete stores the result; the owner may name itself', () => {
    const t = ok<TaskJson>(repo, ['t', 'complete', 'c', a, 'merged in #42\nall green', '--agent', 'alice']);
    expect(t).toMatchObject({ status: 'done', result: 'merged in #42\nall green', assigned_to: 'alice' });
    expect(t.completed_at).toBe(t.updated_at);
    const shown = ok<TaskJson>(repo, ['t', 'show', 'c', a]);
    expect(shown).toMatchObject({ status: 'done', result: 'merged in #42\nall green' });
    expect(orc(repo, ['t', 'show', 'c', a]).stdout).toContain('result: merged in #42');
  });

  it('completing a done task is refused (exit 1); so is claiming it', () => {
    const before = tip(repo);
    const r = orc(repo, ['t', 'complete', 'c', a, 'again']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, [a, 'done']);
    const c = orc(repo, ['t', 'claim', 'c', a, 'alice']);
    expect(c.code).toBe(1);
    expectOneLineError(c.stderr, [a]);
    expect(tip(repo)).toBe(before);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', a]).result).toBe('merged in #42\nall green');
  });

  it('t fail marks the task failed with the reason; then it can be neither completed nor claimed', () => {
    const r = orc(repo, ['t', 'fail', 'c', b, 'flaky CI']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`failed c/${b}: Beta`);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', b])).toMatchObject({ status: 'failed', result: 'flaky CI', assigned_to: 'bob' });
    expect(orc(repo, ['t', 'complete', 'c', b]).code).toBe(1);
    expect(orc(repo, ['t', 'next', 'c', 'zed', '--json']).stdout.trim()).toBe('null');
    const ws = ok<{ task_counts: Record<string, number> }[]>(repo, ['ws', 'list']);
    expect(ws[0]!.task_counts).toEqual({ pending: 0, in_progress: 0, done: 1, failed: 1, total: 2 });
  });

  it('t reopen (retry) puts a failed task back to pending, keeps the old result in the event; a pending one is refused', () => {
    const r = orc(repo, ['t', 'retry', 'c', b, 'CI fixed']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`reopened c/${b}: Beta`);
    expect(ok<TaskJson>(repo, ['t', 'show', 'c', b])).toMatchObject({ status: 'pending', assigned_to: null, claimed_at: null, completed_at: null, result: null });
    const ev = ok<Record<string, unknown>[]>(repo, ['events', '--action', 'task_reopened']);
    expect(ev.at(-1)).toMatchObject({ workstream: 'c', task_id: b, was: 'failed', previous_result: 'flaky CI', reason: 'CI fixed' });
    const before = tip(repo);
    const again = orc(repo, ['t', 'reopen', 'c', b]);
    expect(again.code).toBe(1);
    expectOneLineError(again.stderr, [b, 'pending']);
    expect(tip(repo)).toBe(before);
    expect(ok<TaskJson>(repo, ['t', 'next', 'c', 'zed']).id).toBe(b);
  });
});

describe('lease expiry and take-over', () => {
  it('after the lease runs out another agent takes the task over, logged as task_taken_over with previous_agent', async () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'l']).code).toBe(0);
    const id = orc(repo, ['t', 'add', 'l', 'Short lease']).stdout.trim();
    const claimed = ok<TaskJson>(repo, ['t', 'claim', 'l', id, 'slow', '--lease', '1000']);
    expect(claimed.lease_ms).toBe(1000);
    const expires = Date.parse(claimed.lease_expires_at!);
    expect(expires - Date.parse(claimed.claimed_at!)).toBe(1000);
    // Still live: refused.
    if (Date.now() < expires - 300) expect(orc(repo, ['t', 'claim', 'l', id, 'fast']).code).toBe(1);
    await sleepUntil(expires + 100);
    const listed = orc(repo, ['t', 'list', 'l']);
    expect(listed.stdout).toMatch(/lease ended/);
    const before = tip(repo);
    const t = ok<TaskJson>(repo, ['t', 'claim', 'l', id, 'fast']);
    expect(t).toMatchObject({ status: 'in_progress', assigned_to: 'fast' });
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('fast');
    expect(eventsAdded(repo, tip(repo)!, before)).toEqual([
      expect.objectContaining({ action: 'task_taken_over', agent: 'fast', previous_agent: 'slow', task_id: id, workstream: 'l' }),
    ]);
    const ev = ok<{ action: string; previous_agent?: string }[]>(repo, ['events', '--action', 'task_taken_over']);
    expect(ev).toHaveLength(1);
    expect(ev[0]!.previous_agent).toBe('slow');
    // The old owner has lost it: it cannot claim it back now, nor complete it as itself.
    expect(orc(repo, ['t', 'claim', 'l', id, 'slow']).code).toBe(1);
    expect(orc(repo, ['t', 'complete', 'l', id, 'late', '--agent', 'slow']).code).toBe(1);
  });

  it('t next also picks up a task whose lease expired', async () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'n']).code).toBe(0);
    const id = orc(repo, ['t', 'add', 'n', 'Only one']).stdout.trim();
    const c = ok<TaskJson>(repo, ['t', 'next', 'n', 'first', '--lease', '1000']);
    expect(c.id).toBe(id);
    if (Date.now() < Date.parse(c.lease_expires_at!) - 300) expect(orc(repo, ['t', 'next', 'n', 'second', '--json']).stdout.trim()).toBe('null');
    await sleepUntil(Date.parse(c.lease_expires_at!) + 100);
    const before = tip(repo);
    const t = ok<TaskJson>(repo, ['t', 'next', 'n', 'second']);
    expect(t).toMatchObject({ id, assigned_to: 'second' });
    expect(eventsAdded(repo, tip(repo)!, before)[0]).toMatchObject({ action: 'task_taken_over', previous_agent: 'first' });
  });
});
