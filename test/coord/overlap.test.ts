/**
 * Issue 11, coordination rules 1 and 2: one overlap rule for every resource
 * (a lock name, a path, a glob), shared by locks, claims and the runner; a
 * task's --resource counts when it is claimed. Each case on one host and
 * through a bare remote, with real `orc` processes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as model from '../../src/model/resources.js';
import * as runner from '../../src/runner/resources.js';
import { cleanup, orc } from '../helpers.js';
import { runOrc } from '../race-helpers.js';
import { okJson, refused, settings } from './hosts.js';

afterAll(cleanup);

interface LockJson {
  resource: string;
  agent: string;
  expires_at: string;
  token: number;
}
interface TaskJson {
  id: string;
  status: string;
  assigned_to: string | null;
}

describe('one overlap rule', () => {
  it('the runner uses the very function the locks and claims use', () => {
    expect(runner.resourcesOverlap).toBe(model.resourcesOverlap);
    expect(runner.firstOverlap).toBe(model.firstOverlap);
  });
  it.each([
    ['src/math.js', 'src/*.js', true],
    ['src/**', 'src/api/x.ts', true],
    ['src/**', 'src', true],
    ['src/*.ts', 'src/math.js', false],
    ['docs/**', 'src/api/x.ts', false],
    ['deploy', 'deploy', true],
    ['deploy', 'deploy-eu', false],
  ])('%s ~ %s: %s', (a, b, want) => {
    expect(model.resourcesOverlap(a, b)).toBe(want);
    expect(model.resourcesOverlap(b, a)).toBe(want);
  });
});

describe.each(settings)('%s', (_name, make) => {
  it('a path lock and a glob lock that overlap exclude each other, both ways; the refusal names holder, resource and expiry', () => {
    const h = make();
    const held = okJson<LockJson>(h.a, ['lock', 'acquire', 'src/math.js', 'A']);
    refused(h.b, ['lock', 'acquire', 'src/*.js', 'B'], 1, ['src/*.js', 'src/math.js', 'A', held.expires_at, `token ${held.token}`]);
    refused(h.b, ['lock', 'acquire', 'src/**', 'B'], 1, ['src/math.js', 'A']);
    // Not overlapping: granted.
    expect(okJson<LockJson>(h.b, ['lock', 'acquire', 'src/*.ts', 'B'])).toMatchObject({ resource: 'src/*.ts', agent: 'B', token: 1 });
    // The reverse: a glob held, a path in it refused.
    const glob = okJson<LockJson>(h.b, ['lock', 'acquire', 'lib/**', 'B']);
    refused(h.a, ['lock', 'acquire', 'lib/api/x.ts', 'A'], 1, ['lib/api/x.ts', 'lib/**', 'B', glob.expires_at]);
    refused(h.a, ['lock', 'acquire', 'lib/*.js', 'A'], 1, ['lib/**', 'B']);
    // src/** against src/api/x.ts, both ways.
    okJson(h.a, ['lock', 'acquire', 'app/**', 'A']);
    refused(h.b, ['lock', 'acquire', 'app/api/x.ts', 'B'], 1, ['app/**', 'A']);
    okJson(h.b, ['lock', 'acquire', 'web/api/x.ts', 'B']);
    refused(h.a, ['lock', 'acquire', 'web/**', 'A'], 1, ['web/api/x.ts', 'B']);
    // Two globs overlap when one's folder holds the other's (conservative): src/*.js against B's src/*.ts.
    refused(h.a, ['lock', 'acquire', 'src/*.js', 'A'], 1, ['src/*.ts', 'B']);
    // The holder itself may hold overlapping locks.
    expect(orc(h.a, ['lock', 'acquire', 'app/x.ts', 'A']).code).toBe(0);
    if (h.bare) expect(orc(h.a, ['sync']).code).toBe(0);
    const locks = okJson<LockJson[]>(h.a, ['lock', 'list']).map((l) => `${l.resource}=${l.agent}`);
    expect(locks).toEqual(['app/**=A', 'app/x.ts=A', 'lib/**=B', 'src/*.ts=B', 'src/math.js=A', 'web/api/x.ts=B']);
  });

  it('of six agents racing for pairwise-overlapping resources, exactly one wins', async () => {
    const h = make();
    const want = ['src/**', 'src/*.js', 'src/a.js', 'src', 'src/a.js', 'src/**/a.js'];
    // Through the remote, one host per racer (each host runs one process at a time, as the multi-host race tests do).
    const where = want.map((_, i) => (i === 0 ? h.a : i === 1 ? h.b : h.another(`racer-${i}`)));
    const runs = await Promise.all(want.map((r, i) => runOrc(where[i]!, ['lock', 'acquire', r, `racer-${i}`, '--json'])));
    const won = runs.filter((r) => r.code === 0);
    expect(won.length, runs.map((r) => `${r.code} ${r.stderr}`).join('\n')).toBe(1);
    for (const r of runs) if (r.code !== 0) expect(r.code, r.stderr).toBe(1);
    const winner = JSON.parse(won[0]!.stdout) as LockJson;
    if (h.bare) orc(h.a, ['sync']);
    expect(okJson<LockJson[]>(h.a, ['lock', 'list'])).toEqual([expect.objectContaining({ resource: winner.resource, agent: winner.agent, token: 1 })]);
  });

  it("a task's resources count when claiming: next skips, claim refuses naming the holder; lock acquire of a running task's resource is refused", () => {
    const h = make();
    okJson(h.a, ['ws', 'create', 'api']);
    okJson(h.a, ['t', 'add', 'api', 'Routes', '--resource', 'src/api/**', '--id', 't1']);
    okJson(h.a, ['t', 'add', 'api', 'One route', '--resource', 'src/api/x.ts', '--id', 't2']);
    okJson(h.a, ['t', 'add', 'api', 'Maths', '--resource', 'src/math.js', '--id', 't4']);
    okJson(h.a, ['t', 'add', 'api', 'Docs', '', '2', '--id', 't3']);
    const lock = okJson<LockJson>(h.a, ['lock', 'acquire', 'src/*.js', 'A']);
    // A held lock: its overlapping task cannot be claimed by another agent.
    refused(h.b, ['t', 'claim', 'api', 't4', 'B'], 1, ['api/t4', 'src/math.js', 'src/*.js', 'A', lock.expires_at]);
    // A running task: its resources are held by its owner.
    expect(okJson<TaskJson>(h.a, ['t', 'claim', 'api', 't1', 'A'])).toMatchObject({ status: 'in_progress', assigned_to: 'A' });
    refused(h.b, ['t', 'claim', 'api', 't2', 'B'], 1, ['api/t2', 'src/api/x.ts', 'src/api/**', 'api/t1', 'A']);
    refused(h.b, ['lock', 'acquire', 'src/api/y.ts', 'B'], 1, ['src/api/y.ts', 'src/api/**', 'api/t1', 'A']);
    // next passes over t2 (priority 1, but overlapping A's task) and t4 (A's lock) and takes t3.
    expect(okJson<TaskJson>(h.b, ['t', 'next', 'api', 'B']).id).toBe('t3');
    const none = orc(h.b, ['t', 'next', 'api', 'B', '--json']);
    expect([none.code, none.stdout.trim()]).toEqual([1, 'null']);
    // The owner is not blocked by what it holds itself.
    expect(orc(h.a, ['lock', 'acquire', 'src/api/z.ts', 'A']).code).toBe(0);
    // Claiming takes no lock files: the running task's resources are not in `lock list`.
    expect(okJson<LockJson[]>(h.a, ['lock', 'list']).map((l) => l.resource)).toEqual(['src/*.js', 'src/api/z.ts']);
    // Once A is done with t1 and releases its locks, B gets t2 and t4.
    expect(orc(h.a, ['t', 'complete', 'api', 't1', 'done', '--agent', 'A']).code).toBe(0);
    expect(orc(h.a, ['lock', 'release', 'src/api/z.ts', 'A']).code).toBe(0);
    expect(okJson<TaskJson>(h.b, ['t', 'next', 'api', 'B']).id).toBe('t2');
    refused(h.b, ['t', 'claim', 'api', 't4', 'B'], 1, ['src/*.js', 'A']);
    expect(orc(h.a, ['lock', 'release', 'src/*.js', 'A']).code).toBe(0);
    expect(okJson<TaskJson>(h.b, ['t', 'claim', 'api', 't4', 'B']).assigned_to).toBe('B');
  });

  it('a task whose lease ran out holds nothing', async () => {
    const h = make();
    okJson(h.a, ['ws', 'create', 'w']);
    okJson(h.a, ['t', 'add', 'w', 'Short', '--resource', 'src/**', '--id', 's']);
    const t = okJson<{ lease_expires_at: string }>(h.a, ['t', 'claim', 'w', 's', 'A', '--lease', '1500']);
    if (Date.now() < Date.parse(t.lease_expires_at) - 400) refused(h.b, ['lock', 'acquire', 'src/x.ts', 'B'], 1, ['w/s', 'A']);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(t.lease_expires_at) + 100 - Date.now())));
    expect(okJson<LockJson>(h.b, ['lock', 'acquire', 'src/x.ts', 'B']).agent).toBe('B');
  });
});
