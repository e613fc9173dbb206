/**
 * Issue 11, coordination rules 3 to 5: finishing another agent's claim is
 * never silent (refused for a named agent, recorded for the operator); locks
 * live as long as their holder's heartbeats and end with the task they were
 * taken for; a heartbeat tells an agent which claims it lost. Each case on one
 * host and through a bare remote, with real `orc` processes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { cleanup, git, orc, testEnv } from '../helpers.js';
import { req, serve } from '../server/helpers.js';
import { okJson, refused, settings, type Hosts } from './hosts.js';

afterAll(cleanup);

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

interface LockJson {
  resource: string;
  agent: string;
  ttl_ms: number;
  expires_at: string;
  token: number;
  task?: string;
}
interface Lost {
  workstream: string;
  id: string;
  by: string;
  action: string;
}

/** The events of the newest commit at the point of order, read from its tree. */
function tipEvents(h: Hosts): { commit: string; author: string; changed: string[] } {
  const repo = h.bare ?? h.a;
  const commit = git(repo, 'rev-parse', 'orc');
  return { commit, author: git(repo, 'log', '-1', '--format=%an', commit), changed: git(repo, 'diff-tree', '-r', '--name-only', '--no-commit-id', `${commit}~1`, commit).split('\n') };
}

function lastEvent(dir: string, action: string): Record<string, unknown> {
  if (orc(dir, ['sync']).code === 3) throw new Error('sync failed');
  return okJson<Record<string, unknown>[]>(dir, ['events', '--action', action]).at(-1)!;
}

describe.each(settings)('%s', (_name, make) => {
  it('completing or failing another agent\'s live claim: refused when an agent is named, recorded (overrode, by operator) and told on stderr when none is', () => {
    const h = make();
    okJson(h.a, ['ws', 'create', 'w']);
    okJson(h.a, ['t', 'add', 'w', 'Mine', '--id', 'm']);
    okJson(h.a, ['t', 'add', 'w', 'Also mine', '--id', 'f']);
    okJson(h.a, ['a', 'register', 'A']);
    okJson(h.a, ['t', 'claim', 'w', 'm', 'A']);
    okJson(h.a, ['t', 'claim', 'w', 'f', 'A']);
    // Named, by each of the three ways an agent names itself: refused, naming the owner.
    refused(h.b, ['t', 'complete', 'w', 'm', 'x', '--agent', 'B'], 1, ['w/m', 'A', 'B']);
    refused(h.b, ['t', 'fail', 'w', 'm', 'x'], 1, ['w/m', 'A'], { ORC_AGENT: 'B' });
    git(h.b, 'config', 'extensions.worktreeConfig', 'true');
    git(h.b, 'config', '--worktree', 'orc.agent', 'B');
    refused(h.b, ['t', 'complete', 'w', 'm', 'x'], 1, ['w/m', 'A', 'B']);
    git(h.b, 'config', '--worktree', '--unset', 'orc.agent');
    // No agent named: the operator, who may, and is recorded as overriding A.
    const r = orc(h.b, ['t', 'complete', 'w', 'm', 'finished for A', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'done', assigned_to: 'A', overrode: 'A', by: 'operator' });
    expect(r.stderr).toMatch(/^orc: completed w\/m over the claim of A, as the operator .*--agent.*ORC_AGENT.*orc\.agent/);
    const tipc = tipEvents(h);
    expect(tipc.author).toBe('system');
    expect(lastEvent(h.b, 'task_completed')).toMatchObject({ agent: 'system', task_id: 'm', overrode: 'A', by: 'operator' });
    const f = orc(h.b, ['t', 'fail', 'w', 'f', 'abandoned']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toContain('failed w/f over the claim of A');
    expect(lastEvent(h.b, 'task_failed')).toMatchObject({ agent: 'system', task_id: 'f', overrode: 'A', by: 'operator' });
    // A learns of it at its next heartbeat.
    const hb = orc(h.a, ['a', 'heartbeat', 'A', '--json']);
    expect(hb.code).toBe(1);
    expect(hb.stderr).toMatch(/^orc: A lost 2 claims: w\/m \(completed by operator .*\), w\/f \(failed by operator .*\)/);
    expect((JSON.parse(hb.stdout) as { lost: Lost[] }).lost).toEqual([
      expect.objectContaining({ workstream: 'w', id: 'm', by: 'operator', action: 'completed' }),
      expect.objectContaining({ workstream: 'w', id: 'f', by: 'operator', action: 'failed' }),
    ]);
  });

  it("a heartbeat reports a claim taken over since the last one (which task, by whom) on stderr and in --json, exit 1; the next one doesn't", async () => {
    const h = make();
    okJson(h.a, ['ws', 'create', 'w']);
    okJson(h.a, ['t', 'add', 'w', 'Slow', '--id', 's']);
    okJson(h.a, ['t', 'add', 'w', 'Kept', '--id', 'k']);
    const first = orc(h.a, ['a', 'heartbeat', 'A', '--json']);
    expect([first.code, (JSON.parse(first.stdout) as { lost: Lost[] }).lost]).toEqual([0, []]);
    const t = okJson<{ lease_expires_at: string }>(h.a, ['t', 'claim', 'w', 's', 'A', '--lease', '1000']);
    okJson(h.a, ['t', 'claim', 'w', 'k', 'A', '--lease', '600000']);
    await sleepUntil(Date.parse(t.lease_expires_at) + 100);
    expect(okJson(h.b, ['t', 'claim', 'w', 's', 'B'])).toMatchObject({ assigned_to: 'B' });
    expect(lastEvent(h.b, 'task_taken_over')).toMatchObject({ agent: 'B', previous_agent: 'A', task_id: 's' });
    const hb = orc(h.a, ['a', 'heartbeat', 'A', '--json']);
    expect(hb.code, hb.stderr).toBe(1);
    expect(hb.stderr).toMatch(/^orc: A lost its claim of w\/s \(taken over by B at \S+\); stop working on it\n$/);
    const out = JSON.parse(hb.stdout) as { id: string; lost: Lost[] };
    expect(out.id).toBe('A');
    expect(out.lost).toEqual([expect.objectContaining({ workstream: 'w', id: 's', by: 'B', action: 'taken_over' })]);
    const text = orc(h.a, ['a', 'heartbeat', 'A']);
    expect([text.code, text.stderr]).toEqual([0, '']);
    expect(orc(h.a, ['a', 'heartbeat', 'A', '--json']).code).toBe(0);
    // The kept claim was never reported.
    expect(okJson(h.a, ['t', 'show', 'w', 'k'])).toMatchObject({ status: 'in_progress', assigned_to: 'A' });
  });

  it("heartbeats keep an agent's locks (expiry = last heartbeat + ttl, token unchanged); a silent holder loses them one TTL later", async () => {
    const h = make();
    const l = okJson<LockJson>(h.a, ['lock', 'acquire', 'deploy', 'A', '--ttl', '4000']);
    await sleepUntil(Date.parse(l.expires_at) - 2000);
    const beat = okJson<{ last_heartbeat: string }>(h.a, ['a', 'heartbeat', 'A']);
    const [kept] = okJson<LockJson[]>(h.a, ['lock', 'list']);
    expect(kept).toMatchObject({ resource: 'deploy', agent: 'A', token: l.token, ttl_ms: 4000 });
    expect(Date.parse(kept!.expires_at)).toBe(Date.parse(beat.last_heartbeat) + 4000);
    // Past the lock's own expiry, the heartbeat still holds it for A.
    await sleepUntil(Date.parse(l.expires_at) + 200);
    if (Date.now() < Date.parse(kept!.expires_at) - 600) refused(h.b, ['lock', 'acquire', 'deploy', 'B'], 1, ['deploy', 'A', kept!.expires_at]);
    // A goes silent: one TTL after its last heartbeat, B may take it, with the next token.
    await sleepUntil(Date.parse(kept!.expires_at) + 200);
    expect(okJson<LockJson>(h.b, ['lock', 'acquire', 'deploy', 'B'])).toMatchObject({ agent: 'B', token: l.token + 1 });
    // A's heartbeat now does not bring it back.
    okJson(h.a, ['a', 'heartbeat', 'A']);
    if (h.bare) orc(h.a, ['sync']);
    expect(okJson<LockJson[]>(h.a, ['lock', 'list'])).toEqual([expect.objectContaining({ resource: 'deploy', agent: 'B' })]);
  });

  it('a lock taken for a task (--task WS/ID) is released in the commit that completes or fails that task', () => {
    const h = make();
    okJson(h.a, ['ws', 'create', 'w']);
    okJson(h.a, ['t', 'add', 'w', 'Ship', '--id', 'ship']);
    okJson(h.a, ['t', 'add', 'w', 'Try', '--id', 'try']);
    okJson(h.a, ['t', 'claim', 'w', 'ship', 'A']);
    const l = okJson<LockJson>(h.a, ['lock', 'acquire', 'deploy', 'A', '--task', 'w/ship']);
    expect(l).toMatchObject({ resource: 'deploy', agent: 'A', task: 'w/ship' });
    okJson(h.a, ['lock', 'acquire', 'db', 'A', '--task', 'w/ship']);
    okJson(h.a, ['lock', 'acquire', 'cache', 'A']);
    // Not someone else's task, nor a finished one, nor a malformed name.
    refused(h.b, ['lock', 'acquire', 'other', 'B', '--task', 'w/ship'], 1, ['w/ship', 'A']);
    refused(h.b, ['lock', 'acquire', 'other', 'B', '--task', 'ship'], 2, ['WS/ID']);
    refused(h.b, ['lock', 'acquire', 'other', 'B', '--task', 'w/none'], 1, ['none']);
    expect(orc(h.a, ['t', 'complete', 'w', 'ship', 'shipped', '--agent', 'A']).code).toBe(0);
    const c = tipEvents(h);
    expect(c.changed.filter((p) => p.startsWith('locks/')).sort()).toEqual(['locks/db.json', 'locks/deploy.json']);
    expect(c.changed.some((p) => p.startsWith('workstreams/w/tasks/'))).toBe(true);
    expect(lastEvent(h.a, 'task_completed')).toMatchObject({ task_id: 'ship', released_locks: ['db', 'deploy'] });
    expect(okJson<LockJson[]>(h.a, ['lock', 'list']).map((x) => x.resource)).toEqual(['cache']);
    expect(okJson<LockJson>(h.b, ['lock', 'acquire', 'deploy', 'B'])).toMatchObject({ agent: 'B', token: 2 });
    // A failed task lets go too; the library takes the same option.
    okJson(h.a, ['t', 'claim', 'w', 'try', 'A']);
    okJson(h.a, ['lock', 'acquire', 'tmp', 'A', '--task', 'w/try']);
    expect(orc(h.a, ['t', 'fail', 'w', 'try', 'flaky', '--agent', 'A']).code).toBe(0);
    expect(okJson<LockJson[]>(h.a, ['lock', 'list']).map((x) => x.resource)).toEqual(['cache', 'deploy']);
  });
});

describe('the library', () => {
  it('acquireLock(resource, agent, ttl, {task}) takes a lock for a task, released when it completes', async () => {
    const h = settings[0]![1]();
    const o = await open({ repo: h.a, env: testEnv() });
    await o.createWorkstream('w');
    const t = await o.addTask('w', 'T', undefined, undefined, { id: 't' });
    await o.claimTask('w', t.id, 'A');
    expect(await o.acquireLock('deploy', 'A', 60_000, { task: 'w/t' })).toMatchObject({ task: 'w/t', agent: 'A' });
    await o.completeTask('w', 't', 'ok', { agent: 'A' });
    expect(await o.listLocks()).toEqual([]);
  });

  it('REST: POST /api/locks takes `task`; the task\'s complete releases it; an overlapping lock is 409 naming the holder', async () => {
    const h = settings[0]![1]();
    okJson(h.a, ['ws', 'create', 'w']);
    okJson(h.a, ['t', 'add', 'w', 'T', '--id', 't']);
    okJson(h.a, ['t', 'claim', 'w', 't', 'A']);
    const s = await serve(h.a);
    try {
      const l = await req('POST', `${s.base}/locks`, { resource: 'src/**', agent: 'A', task: 'w/t' });
      expect(l.status, l.text).toBeLessThan(300);
      expect(l.body).toMatchObject({ resource: 'src/**', agent: 'A', task: 'w/t' });
      const clash = await req('POST', `${s.base}/locks`, { resource: 'src/a.ts', agent: 'B' });
      expect(clash.status).toBe(409);
      expect(clash.text).toContain('src/**');
      expect(clash.text).toContain('A');
      expect((await req('POST', `${s.base}/workstreams/w/tasks/t/complete`, { agent: 'A', result: 'ok' })).status).toBeLessThan(300);
      expect((await req('GET', `${s.base}/locks`)).body).toEqual([]);
    } finally {
      await s.stop();
    }
  });
});
