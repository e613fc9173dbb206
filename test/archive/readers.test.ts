/**
 * Archived tasks stay readable (issue 13, "History has an end"): a state
 * whose done and failed tasks were moved under archive/ (by hand here, as
 * `orc compact` moves them) is read through the real CLI, the real server
 * and the library: `t show`, `t list --all`, summaries, dependencies (also
 * across workstreams), id reuse, the runner's collect, and ops that would
 * change an archived task, which are refused with CONFLICT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, OrcError } from '../../src/index.js';
import { archiveTaskFile, taskFile } from '../../src/model/layout.js';
import { cleanup, git, orc, testEnv, tmpRepo } from '../helpers.js';
import { expectRefused, ok, tip } from '../cli/util.js';
import { req, serve, type Served } from '../server/helpers.js';
import { archiveByHand } from './util.js';

afterAll(cleanup);

let repo = '';

beforeAll(() => {
  repo = tmpRepo();
  ok(repo, ['ws', 'create', 'api']);
  ok(repo, ['ws', 'create', 'web']);
  ok(repo, ['t', 'add', 'api', 'Old one', '--id', 'old1']);
  ok(repo, ['t', 'add', 'api', 'Old two', '--id', 'old2']);
  ok(repo, ['t', 'add', 'api', 'Waits for old1', '--id', 'dep', '--after', 'old1']);
  ok(repo, ['t', 'add', 'api', 'Live one', '--id', 'live']);
  ok(repo, ['t', 'add', 'web', 'Waits across', '--id', 'w1', '--after', 'api/old1']);
  ok(repo, ['plan']);
  ok(repo, ['t', 'claim', 'api', 'old1', 'a1']);
  ok(repo, ['t', 'complete', 'api', 'old1', 'shipped', '--agent', 'a1']);
  ok(repo, ['t', 'claim', 'api', 'old2', 'a1']);
  ok(repo, ['t', 'fail', 'api', 'old2', 'broke', '--agent', 'a1']);
  archiveByHand(repo, [
    { ws: 'api', id: 'old1' },
    { ws: 'api', id: 'old2' },
  ]);
  // The fixture did what it says: the files moved.
  const files = git(repo, 'ls-tree', '-r', '--name-only', 'refs/heads/orc').split('\n');
  expect(files).toContain(archiveTaskFile('api', 'old1'));
  expect(files).not.toContain(taskFile('api', 'old1'));
});

describe('archived tasks through the CLI', () => {
  it('t show finds an archived task, marked archived, in JSON and text', () => {
    const t = ok(repo, ['t', 'show', 'api', 'old1']);
    expect(t).toMatchObject({ id: 'old1', status: 'done', result: 'shipped', archived: true });
    const text = orc(repo, ['t', 'show', 'api', 'old2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/status:\s+failed.*archived/);
    expect(orc(repo, ['t', 'show', 'api', 'nope']).code).toBe(1);
  });

  it('t list leaves archived tasks out; --all lists them after the live ones, marked', () => {
    expect(ok<{ id: string }[]>(repo, ['t', 'list', 'api']).map((t) => t.id).sort()).toEqual(['dep', 'live']);
    const all = ok<{ id: string; archived?: boolean }[]>(repo, ['t', 'list', 'api', '--all']);
    expect(all.map((t) => t.id).slice(0, 2).sort()).toEqual(['dep', 'live']);
    expect(all.slice(2).map((t) => [t.id, t.archived]).sort()).toEqual([['old1', true], ['old2', true]]);
    const every = ok<{ workstream: string; id: string }[]>(repo, ['t', 'list', '--all']);
    expect(every.map((t) => `${t.workstream}/${t.id}`).sort()).toEqual(['api/dep', 'api/live', 'api/old1', 'api/old2', 'web/w1']);
    const text = orc(repo, ['t', 'list', '--all']);
    expect(text.stdout).toMatch(/api\/old1.*done \(archived\)/);
    expect(ok<unknown[]>(repo, ['t', 'list', 'api', '--all', '--status', 'failed']).map((t) => (t as { id: string }).id)).toEqual(['old2']);
  });

  it('summaries count live tasks, with the archived ones apart', () => {
    const ws = ok<{ name: string; task_counts: { total: number; done: number }; task_count: number; archived: number }[]>(repo, ['ws', 'list']);
    const api = ws.find((w) => w.name === 'api')!;
    expect(api).toMatchObject({ task_count: 2, archived: 2, task_counts: { total: 2, done: 0 } });
    expect(ws.find((w) => w.name === 'web')!.archived).toBe(0);
  });

  it('a task waiting for an archived done task is ready, in its workstream and across workstreams', () => {
    const ready = ok<{ workstream: string; id: string }[]>(repo, ['ready']).map((t) => `${t.workstream}/${t.id}`);
    expect(ready).toContain('api/dep');
    expect(ready).toContain('web/w1');
    expect(ok(repo, ['t', 'claim', 'web', 'w1', 'a2'])).toMatchObject({ status: 'in_progress' });
    expect(ok(repo, ['t', 'claim', 'api', 'dep', 'a2'])).toMatchObject({ status: 'in_progress' });
    // A new task may wait for an archived one.
    ok(repo, ['t', 'add', 'api', 'After old2', '--id', 'later', '--after', 'old1']);
  });

  it("an archived task's id is never given again", () => {
    expectRefused(repo, ['t', 'add', 'api', 'Same id', '--id', 'old1'], 1, ['old1', 'archived']);
  });

  it('ops that would change an archived task are refused with CONFLICT (exit 1), naming the archive', () => {
    expectRefused(repo, ['t', 'complete', 'api', 'old1', 'again'], 1, ['api/old1', 'archived', 'orc compact']);
    expectRefused(repo, ['t', 'fail', 'api', 'old1'], 1, ['archived']);
    expectRefused(repo, ['t', 'claim', 'api', 'old1', 'a3'], 1, ['archived']);
    expectRefused(repo, ['t', 'reopen', 'api', 'old2', 'try again'], 1, ['archived']);
    expectRefused(repo, ['t', 'after', 'api', 'old2', 'live'], 1, ['archived']);
  });

  it("the runner's collect still reports the cycle's tasks that were archived", () => {
    const c = ok<{ completed: { task_id: string }[]; failed: { task_id: string }[]; planned: { task_id: string; status: string }[] }>(repo, ['collect', '--dry-run']);
    expect(c.completed.map((t) => t.task_id)).toContain('old1');
    expect(c.failed.map((t) => t.task_id)).toContain('old2');
    const picked = c.planned.find((p) => p.task_id === 'old1');
    if (picked) expect(picked.status).toBe('done');
  });
});

describe('archived tasks through REST', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(repo);
  });
  afterAll(async () => {
    await s.stop();
  });

  it('GET of an archived task works; the list takes ?all=1; changes are 409', async () => {
    const one = await req('GET', `${s.base}/workstreams/api/tasks/old1`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'old1', status: 'done', archived: true });
    const live = await req('GET', `${s.base}/workstreams/api/tasks`);
    expect(live.body.map((t: { id: string }) => t.id)).not.toContain('old1');
    const all = await req('GET', `${s.base}/workstreams/api/tasks?all=1`);
    expect(all.body.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(['old1', 'old2', 'live']));
    expect((await req('GET', `${s.base}/workstreams/api/tasks?all=maybe`)).status).toBe(400);
    const before = tip(repo);
    const done = await req('POST', `${s.base}/workstreams/api/tasks/old1/complete`, { result: 'x' });
    expect(done.status).toBe(409);
    expect(JSON.stringify(done.body)).toMatch(/archived/);
    expect(tip(repo)).toBe(before);
    const ws = await req('GET', `${s.base}/workstreams?tasks=0`);
    expect(ws.body.find((w: { name: string }) => w.name === 'api').archived).toBe(2);
  });
});

describe('archived tasks through the library', () => {
  it('getTask, listTasks({ all }), and a CONFLICT OrcError on change', async () => {
    const lib = await open({ repo, agent: 'lib', env: testEnv() });
    expect(await lib.getTask('api', 'old2')).toMatchObject({ status: 'failed', archived: true });
    expect((await lib.listTasks('api')).some((t) => t.archived)).toBe(false);
    expect((await lib.listTasks('api', { all: true })).filter((t) => t.archived).map((t) => t.id).sort()).toEqual(['old1', 'old2']);
    const e = await lib.completeTask('api', 'old1', 'again').then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(OrcError);
    expect((e as OrcError).code).toBe('CONFLICT');
    expect((e as OrcError).data).toMatchObject({ archived: true });
  });
});
