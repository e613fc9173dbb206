/**
 * The default templates, rendered from a fixture branch built through the
 * library with a fixed clock, compared byte for byte with golden files.
 * UPDATE_GOLDEN=1 rewrites them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brief, collect, plan } from '../../src/runner/runner.js';
import { cleanup, git } from '../helpers.js';
import { commitCount, eventsAdded, tip } from '../cli/util.js';
import { CYCLE, buildState, fixtureRepo, workTheCycle, type Fixture } from './fixture.js';

const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== '1' && process.env.CI) throw new Error(`golden file ${name} is missing; run with UPDATE_GOLDEN=1`);
    fs.writeFileSync(file, actual);
  }
  expect(actual, `golden ${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(fs.readFileSync(file, 'utf8'));
}

/** Nothing of the machine that rendered it: no absolute paths, no host name. */
function machineFree(f: Fixture, text: string): void {
  expect(text).not.toContain(f.repo);
  expect(text).not.toContain(os.tmpdir());
  expect(text).not.toContain(os.hostname());
  expect(text).not.toMatch(/(^|[\s`'"(])\/(home|tmp|Users|work)\//m);
}

afterAll(cleanup);

describe('default templates (golden files)', () => {
  let f: Fixture;
  let planned: Awaited<ReturnType<typeof plan>>;
  let dry: Awaited<ReturnType<typeof plan>>;
  beforeAll(async () => {
    f = await fixtureRepo();
    await buildState(f);
    f.at('2030-01-01T10:00:00Z');
    dry = await plan(f.orc, { dryRun: true, cycle: CYCLE });
    planned = await plan(f.orc, { cycle: CYCLE });
  });

  it('plan: parallel and serial picks with reasons, in one commit with its briefs and data', () => {
    const d = planned.data;
    expect(d.cycle).toBe(CYCLE);
    expect(d.generated_at).toBe('2030-01-01T10:00:00.000Z');
    expect(d.workstreams.map((w) => [w.name, w.pick, w.ready, w.blocked])).toEqual([
      ['api', 'build', 2, 0],
      ['web', 'checkout', 1, 0],
      ['ops', 'deploy', 1, 0],
      ['docs', null, 0, 1],
    ]);
    expect(d.recommended_parallel.map((p) => `${p.workstream}/${p.task_id}`)).toEqual(['api/build']);
    expect(d.recommended_serial.map((p) => [`${p.workstream}/${p.task_id}`, p.reason])).toEqual([
      ['web/checkout', 'src/api/client.ts overlaps src/api/** with api/build'],
      ['ops/deploy', 'resource deploy is locked by agent-2 until 2030-01-01T10:50:00.000Z'],
    ]);
    expect(d.in_progress.map((r) => [r.task_id, r.assigned_to])).toEqual([['review', 'agent-2']]);
    const commit = tip(f.repo)!;
    expect(planned.commit).toBe(commit);
    const changed = git(f.repo, 'diff-tree', '--no-commit-id', '--name-only', '-r', `${commit}~1`, commit).split('\n').filter((p) => !p.startsWith('events/'));
    expect(changed.sort()).toEqual([`briefs/api/build.md`, 'briefs/ops/deploy.md', 'briefs/web/checkout.md', `cycles/${CYCLE}.json`, `plans/${CYCLE}.md`].sort());
    expect(git(f.repo, 'show', `orc:plans/${CYCLE}.md`) + '\n').toBe(planned.markdown);
    const stored = JSON.parse(git(f.repo, 'show', `orc:cycles/${CYCLE}.json`));
    expect(stored).toEqual(JSON.parse(JSON.stringify(d)));
    for (const k of ['generated_at', 'workstreams', 'recommended_parallel', 'recommended_serial']) expect(stored).toHaveProperty(k);
    expect(eventsAdded(f.repo, commit, `${commit}~1`)).toEqual([expect.objectContaining({ action: 'cycle_planned', cycle: CYCLE, parallel: 1, serial: 2 })]);
    golden('plan.md', planned.markdown);
    machineFree(f, planned.markdown);
  });

  it('the dry run rendered the same bytes and committed nothing', () => {
    expect(dry.commit).toBeNull();
    expect(dry.markdown).toBe(planned.markdown);
    expect(dry.briefs).toEqual(planned.briefs);
  });

  it('brief: task, dependencies with results, knowledge (named, then related), events, commands', async () => {
    const md = git(f.repo, 'show', 'orc:briefs/api/build.md') + '\n';
    expect(md).toBe(planned.briefs['briefs/api/build.md']);
    golden('brief.md', md);
    machineFree(f, md);
    const topics = (await brief(f.orc, 'api', 'build')).data.knowledge.map((k) => [k.topic, k.reason]);
    expect(topics).toEqual([
      ['api/conventions', 'named'],
      ['api/missing-topic', 'named'],
      ['payments', 'related'],
    ]);
    // Rendered on demand it is the same but for the cycle line.
    const now = await brief(f.orc, 'api', 'build');
    expect(now.markdown).toBe(md.replace(` · cycle ${CYCLE}`, ''));
  });

  it('collect: completed with results, in progress, failed or expired, knowledge since the plan', async () => {
    await workTheCycle(f);
    const before = commitCount(f.repo);
    const r = await collect(f.orc);
    expect(commitCount(f.repo)).toBe(before + 1);
    expect(r.path).toBe(`cycles/${CYCLE}-collect.md`);
    expect(r.data.completed.map((t) => t.task_id)).toEqual(['build']);
    expect(r.data.in_progress.map((t) => [t.task_id, t.assigned_to])).toEqual([['cleanup', 'agent-1'], ['review', 'agent-2']]);
    expect(r.data.failed.map((t) => t.task_id)).toEqual(['deploy']);
    expect(r.data.expired.map((t) => [t.task_id, t.assigned_to])).toEqual([['checkout', 'agent-3']]);
    expect(r.data.knowledge.map((k) => k.topic)).toEqual(['api/payments-notes']);
    expect(git(f.repo, 'show', `orc:cycles/${CYCLE}-collect.md`) + '\n').toBe(r.markdown);
    golden('collect.md', r.markdown);
    machineFree(f, r.markdown);
  });
});
