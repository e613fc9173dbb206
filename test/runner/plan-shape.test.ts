/**
 * The plan's JSON in the original tool's shape (a main loop reads
 * `plan.recommended_parallel[0].task.id` and hands `brief` to a sub-agent),
 * with orc's fields beside it; and dependencies across workstreams
 * (`WS/ID`) through the CLI, REST and the library.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { plan } from '../../src/runner/runner.js';
import { cleanup, git, orc, orcJson, testEnv, tmpRepo } from '../helpers.js';
import { commitCount, tip } from '../cli/util.js';
import { req, serve } from '../server/helpers.js';
import { CYCLE, buildState, fixtureRepo, type Fixture } from './fixture.js';

afterAll(cleanup);

describe("the plan in the original's shape", () => {
  let f: Fixture;
  let planned: Awaited<ReturnType<typeof plan>>;
  beforeAll(async () => {
    f = await fixtureRepo();
    await buildState(f);
    f.at('2030-01-01T10:00:00Z');
    planned = await plan(f.orc, { cycle: CYCLE });
  });

  it('recommended_parallel: workstream, task (the task object), brief (its markdown), brief_path', () => {
    const p = planned.data.recommended_parallel[0]!;
    expect(p.workstream).toBe('api');
    expect(p.task).toMatchObject({ id: 'build', title: 'Build the payments endpoint', status: 'pending', priority: 1, estimate: 3, workstream: 'api' });
    expect(p.brief_path).toBe('briefs/api/build.md');
    expect(p.brief).toBe(planned.briefs['briefs/api/build.md']);
    expect(p.brief).toBe(`${git(f.repo, 'show', 'orc:briefs/api/build.md')}\n`);
    expect(p.brief).toContain('Build the payments endpoint');
    expect(p.task_id).toBe('build'); // orc's own fields stay
  });

  it('recommended_serial: reason and tasks ["ws/id", ...]; workstreams: name, priority, next_task, pending_count', () => {
    expect(planned.data.recommended_serial.map((x) => [x.reason, x.tasks])).toEqual([
      ['src/api/client.ts overlaps src/api/** with api/build', ['web/checkout', 'api/build']],
      ['resource deploy is locked by agent-2 until 2030-01-01T10:50:00.000Z', ['ops/deploy']],
    ]);
    for (const x of planned.data.recommended_serial) {
      expect(x.task.id).toBe(x.task_id);
      expect(x.brief).toBe(planned.briefs[x.brief_path]);
    }
    expect(planned.data.workstreams.map((w) => [w.name, w.priority, w.next_task?.id ?? null, w.pending_count])).toEqual([
      ['api', 1, 'build', 2],
      ['web', 2, 'checkout', 1],
      ['ops', 3, 'deploy', 1],
      ['docs', 4, null, 1],
    ]);
  });

  it('cycles/<cycle>.json and `orc plan --json` have the same shape', () => {
    const stored = JSON.parse(git(f.repo, 'show', `orc:cycles/${CYCLE}.json`));
    expect(stored.recommended_parallel[0].task.id).toBe('build');
    expect(stored.recommended_parallel[0].brief).toBe(planned.data.recommended_parallel[0]!.brief);
    expect(stored.recommended_serial[0].tasks).toEqual(['web/checkout', 'api/build']);
    expect(stored.workstreams[0]).toMatchObject({ name: 'api', priority: 1, pending_count: 2, next_task: { id: 'build' } });
    const cli = orcJson<{ recommended_parallel: { task: { id: string }; brief: string; brief_path: string }[]; recommended_serial: { reason: string; tasks: string[] }[] }>(f.repo, ['plan']);
    expect(cli.recommended_parallel[0]!.task.id).toBe('build');
    expect(cli.recommended_parallel[0]!.brief).toMatch(/^# /);
    expect(cli.recommended_parallel[0]!.brief_path).toBe('briefs/api/build.md');
    expect(cli.recommended_serial.every((x) => typeof x.reason === 'string' && x.tasks.every((t) => /^[^/]+\/[^/]+$/.test(t)))).toBe(true);
  });
});

describe('dependencies across workstreams', () => {
  it('CLI: t add --after WS/ID and t after WS/ID; next and claim wait for it; a cycle across workstreams is refused', () => {
    const repo = tmpRepo();
    for (const w of ['api', 'docs']) orcJson(repo, ['ws', 'create', w]);
    orcJson(repo, ['t', 'add', 'api', 'Build it', '--id', 'build']);
    orcJson(repo, ['t', 'add', 'api', 'Test it', '--id', 'test', '--after', 'build']);
    const guide = orcJson<{ after: string[] }>(repo, ['t', 'add', 'docs', 'Document it', '--id', 'guide', '--after', 'api/build']);
    expect(guide.after).toEqual(['api/build']);
    // WS/ID of the task's own workstream is stored as plain ID.
    expect(orcJson<{ after: string[] }>(repo, ['t', 'add', 'api', 'Ship it', '--id', 'ship', '--after', 'api/test']).after).toEqual(['test']);
    orcJson(repo, ['t', 'add', 'docs', 'Review', '--id', 'review', '--estimate', '2h']);
    expect(orcJson<{ estimate: unknown }>(repo, ['t', 'show', 'docs', 'review']).estimate).toBe('2h');
    expect(orcJson<{ estimate: unknown }>(repo, ['t', 'add', 'api', 'Count', '--estimate', '3']).estimate).toBe(3);
    expect(orcJson<{ after: string[] }>(repo, ['t', 'after', 'docs', 'review', 'api/test', 'guide']).after).toEqual(['api/test', 'guide']);

    // A cycle through two workstreams: api/build → docs/review → api/test → api/build.
    const n = commitCount(repo);
    const cyc = orc(repo, ['t', 'after', 'api', 'build', 'docs/review']);
    expect(cyc.code).toBe(2);
    expect(cyc.stderr).toContain('dependency cycle build → docs/review → test → build');
    const cyc2 = orc(repo, ['t', 'after', 'api', 'build', 'docs/guide']);
    expect(cyc2.code).toBe(2);
    expect(cyc2.stderr).toContain('build → docs/guide → build');
    expect(commitCount(repo)).toBe(n);
    for (const [args, code, text] of [
      [['t', 'add', 'docs', 'x', '--after', 'nope/build'], 1, 'no workstream "nope"'],
      [['t', 'add', 'docs', 'x', '--after', 'api/nope'], 1, 'no task "nope"'],
      [['t', 'add', 'docs', 'x', '--after', 'api/a/b'], 2, 'more than one'],
      [['t', 'add', 'docs', 'x', '--after', '../x'], 2, '../x'],
    ] as const) {
      const r = orc(repo, [...args]);
      expect([r.code, r.stderr], r.stderr).toEqual([code, expect.stringContaining(text)]);
    }
    expect(commitCount(repo)).toBe(n);

    // docs/guide waits for api/build: not ready, not next, not claimable, until it is done.
    expect(orcJson<{ id: string }[]>(repo, ['ready', 'docs']).map((t) => t.id)).toEqual([]);
    expect(orc(repo, ['t', 'next', 'docs', 'a1']).code).toBe(1);
    const c = orc(repo, ['t', 'claim', 'docs', 'guide', 'a1']);
    expect([c.code, c.stderr]).toEqual([1, expect.stringContaining('waits for api/build')]);
    orcJson(repo, ['t', 'claim', 'api', 'build', 'a2']);
    orcJson(repo, ['t', 'complete', 'api', 'build', 'done', '--agent', 'a2']);
    expect(orcJson<{ id: string }[]>(repo, ['ready', 'docs']).map((t) => t.id)).toEqual(['guide']);
    expect(orcJson<{ id: string }>(repo, ['t', 'next', 'docs', 'a1']).id).toBe('guide');
    // The brief names the dependency in its workstream, with its result.
    const b = orcJson<{ dependencies: { id: string; status: string; result: string | null }[] }>(repo, ['brief', 'docs', 'guide']);
    expect(b.dependencies).toEqual([expect.objectContaining({ id: 'api/build', status: 'done', result: 'done' })]);
  });

  it('REST (after in the body, POST .../after) and the library', async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, agent: 'lib', env: testEnv() });
    await lib.createWorkstream('api', { priority: 1 });
    await lib.createWorkstream('docs', { priority: 2 });
    await lib.addTask('api', { title: 'Build', id: 'build' });
    const g = await lib.addTask('docs', { title: 'Guide', id: 'guide', after: ['api/build'] });
    expect(g.after).toEqual(['api/build']);
    await expect(lib.addDependencies('api', 'build', ['docs/guide'])).rejects.toMatchObject({ code: 'INVALID' });
    const s = await serve(repo);
    try {
      const t = await req('POST', `${s.base}/workstreams/docs/tasks`, { title: 'Review', id: 'review', after: ['api/build'] });
      expect([t.status, t.body.after]).toEqual([201, ['api/build']]);
      const d = await req('POST', `${s.base}/workstreams/docs/tasks/review/after`, { after: ['guide'] });
      expect([d.status, d.body.after]).toEqual([200, ['api/build', 'guide']]);
      const before = tip(repo);
      const cyc = await req('POST', `${s.base}/workstreams/api/tasks/build/after`, { after: ['docs/review'] });
      expect(cyc.status).toBe(400);
      expect(cyc.body.error).toContain('dependency cycle');
      expect(tip(repo)).toBe(before);
      expect((await req('POST', `${s.base}/workstreams/docs/next`, { agent: 'a1' })).body).toEqual({ message: 'No pending tasks' });
    } finally {
      await s.stop();
    }
  });
});
