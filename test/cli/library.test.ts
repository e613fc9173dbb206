/**
 * The library API (`import { open } from 'git-orc'`): the same ops as the
 * CLI, one commit each, errors as OrcError with a stable code, and state
 * shared with the CLI. Imported from the sources (vitest compiles them) and,
 * as a smoke test, from the built package entry point.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { open, OrcError, exitCodeOf, type Task } from '../../src/index.js';
import { cleanup, git, orc, testEnv, tmpRepo } from '../helpers.js';
import { commitCount, eventsAdded, ok, opOf, tip } from './util.js';

afterAll(cleanup);

const env = () => testEnv();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OrcError);
    return (e as OrcError).code;
  }
  throw new Error('expected the call to fail');
}

describe('library: open()', () => {
  it('runs every op as one commit authored by the agent, and reads what the CLI wrote', async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, agent: 'lib-agent', env: env() });
    expect(lib.agent).toBe('lib-agent');
    expect(lib.branch).toBe('orc');
    expect(await lib.init()).toBe(true);
    expect(await lib.init()).toBe(false);
    expect(commitCount(repo)).toBe(1);

    let n = commitCount(repo);
    const step = async <T>(p: () => Promise<T>, author: string, op: string): Promise<T> => {
      const before = tip(repo);
      const r = await p();
      n += 1;
      expect(commitCount(repo)).toBe(n);
      expect(git(repo, 'log', '-1', '--format=%P', 'orc')).toBe(before);
      expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe(author);
      expect(opOf(repo, tip(repo)!).op).toBe(op);
      expect(eventsAdded(repo, tip(repo)!, before)).toHaveLength(1);
      return r;
    };

    const ws = await step(() => lib.createWorkstream('libws', 'from the library', 2), 'lib-agent', 'ws.create');
    expect(ws).toMatchObject({ name: 'libws', priority: 2 });
    const t = await step(() => lib.addTask('libws', 'Library task', 'desc', 1, { estimate: 3, resources: ['db'], kb: ['notes'] }), 'lib-agent', 'task.add');
    expect(t).toMatchObject({ title: 'Library task', status: 'pending', priority: 1, estimate: 3, resources: ['db'], kb: ['notes'], created_by: 'lib-agent' });
    // The CLI sees it.
    expect(ok<Task[]>(repo, ['t', 'list', 'libws']).map((x) => x.id)).toEqual([t.id]);
    // And the library sees what the CLI does.
    const cliTask = orc(repo, ['t', 'add', 'libws', 'From the CLI', '', '2']).stdout.trim();
    n += 1;
    expect((await lib.listTasks('libws')).map((x) => x.id)).toEqual([t.id, cliTask]);

    const claimed = await step(() => lib.getNextTask('libws', 'worker', { leaseMs: 5000 }), 'worker', 'task.next');
    expect(claimed).toMatchObject({ id: t.id, assigned_to: 'worker', lease_ms: 5000 });
    const done = await step(() => lib.completeTask('libws', t.id, 'done by lib', { agent: 'worker' }), 'worker', 'task.complete');
    expect(done).toMatchObject({ status: 'done', result: 'done by lib' });
    expect(await lib.getTask('libws', t.id)).toMatchObject({ status: 'done' });
    expect(await lib.getTask('libws', 'nope')).toBeNull();

    expect(await step(() => lib.registerAgent('worker', 'bot', ['x']), 'worker', 'agent.register')).toMatchObject({ id: 'worker', type: 'bot', capabilities: ['x'] });
    // A known agent's heartbeat is presence, not history (issue 13): no commit, its presence ref moves.
    const hbBefore = tip(repo);
    const hb = await lib.heartbeat('worker');
    expect(tip(repo)).toBe(hbBefore);
    expect(git(repo, 'log', '-1', '--format=%B', 'refs/orc/presence/worker')).toContain(`"at":"${hb.last_heartbeat}"`);
    expect((await lib.listAgents()).map((a) => [a.id, a.stale])).toEqual([['worker', false]]);

    const l = await step(() => lib.acquireLock('db', 'worker', 2000), 'worker', 'lock.acquire');
    expect(Object.keys(l).sort()).toEqual(['acquired_at', 'agent', 'expires_at', 'resource', 'token', 'ttl_ms']);
    expect(l).toMatchObject({ resource: 'db', agent: 'worker', ttl_ms: 2000, token: 1 });
    expect(await lib.listLocks()).toEqual([l]);
    expect(await step(() => lib.releaseLock('db', 'worker'), 'worker', 'lock.release')).toMatchObject({ token: 1 });
    expect(await lib.listLocks()).toEqual([]);

    const text = 'multi\nline ✓\n\n';
    await step(() => lib.writeKnowledge('notes/lib', text), 'lib-agent', 'kb.write');
    expect(await lib.readKnowledge('notes/lib')).toBe(text);
    expect(orc(repo, ['kb', 'read', 'notes/lib']).stdout).toBe(text);
    expect(await lib.listKnowledge()).toEqual(['notes/lib']);
    await step(() => lib.deleteKnowledge('notes/lib'), 'lib-agent', 'kb.delete');
    expect(await lib.readKnowledge('notes/lib')).toBeNull();

    await step(() => lib.logEvent('lib_event', { k: 1 }), 'lib-agent', 'event.log');
    const evs = await lib.getEvents({ last: 1 });
    expect(evs).toEqual([{ ts: expect.any(String), agent: 'lib-agent', action: 'lib_event', k: 1 }]);
    expect(await lib.getEvents({ agent: 'worker', action: 'task_completed' })).toHaveLength(1);
    // The CLI's event log is the same log.
    expect(ok(repo, ['events', '--last', '1000'])).toEqual(await lib.getEvents({ last: 1000 }));

    const st = await lib.status();
    expect(st.commit).toBe(tip(repo));
    expect(st.summary.tasks).toEqual({ pending: 1, in_progress: 0, done: 1, failed: 0, total: 2 });
    const log = await lib.log({ last: 3 });
    expect(log.map((e) => e.commit)).toEqual(git(repo, 'rev-list', '--max-count=3', 'orc').split('\n'));
    expect(log[0]!.op).toMatchObject({ op: 'event.log', agent: 'lib-agent' });

    // run() reports the commit it made.
    const out = await lib.run('event.log', { action: 'via_run', data: {} });
    expect(out.commit).toBe(tip(repo));
    expect(out.attempts).toBeGreaterThanOrEqual(1);
  });

  it('errors are OrcError with stable codes (mapped to the CLI exit codes), and make no commit', async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, env: env() });
    expect(lib.agent).toBeNull();
    await lib.createWorkstream('w');
    const id = (await lib.addTask('w', 'T')).id;
    await lib.claimTask('w', id, 'owner');
    const before = tip(repo);
    expect(await codeOf(lib.createWorkstream('a..b'))).toBe('INVALID');
    expect(await codeOf(lib.createWorkstream('w'))).toBe('CONFLICT');
    expect(await codeOf(lib.addTask('nows', 'T'))).toBe('NOT_FOUND');
    expect(await codeOf(lib.claimTask('w', id, 'thief'))).toBe('CONFLICT');
    expect(await codeOf(lib.claimTask('w', id))).toBe('INVALID'); // no agent at all
    expect(await codeOf(lib.acquireLock('/etc', 'a'))).toBe('INVALID');
    expect(await codeOf(lib.acquireLock('r', 'a', 'soon'))).toBe('INVALID');
    expect(await codeOf(lib.releaseLock('r', 'a'))).toBe('NOT_FOUND');
    expect(await codeOf(lib.writeKnowledge('../x', 'y'))).toBe('INVALID');
    expect(await codeOf(lib.deleteKnowledge('none'))).toBe('NOT_FOUND');
    expect(await codeOf(lib.logEvent('BAD'))).toBe('INVALID');
    expect(await codeOf(lib.listTasks('nows'))).toBe('NOT_FOUND');
    expect(tip(repo)).toBe(before);
    expect([exitCodeOf('INVALID'), exitCodeOf('NOT_FOUND'), exitCodeOf('CONFLICT'), exitCodeOf('ENV'), exitCodeOf('CORRUPT')]).toEqual([2, 1, 1, 3, 3]);
    expect(await codeOf(open({ repo: '/', env: env() }))).toBe('ENV');
    expect(await codeOf(open({ repo, agent: 'x..y', env: env() }))).toBe('INVALID');
  });

  it('the agent comes from ORC_AGENT in the env given, and the clock can be injected', async () => {
    const repo = tmpRepo();
    const fixed = new Date('2030-01-02T03:04:05.678Z');
    const lib = await open({ repo, env: testEnv({ ORC_AGENT: 'env-agent' }), clock: () => fixed });
    expect(lib.agent).toBe('env-agent');
    const ws = await lib.createWorkstream('clocked');
    expect(ws.created_at).toBe(fixed.toISOString());
    expect(git(repo, 'log', '-1', '--format=%an %at', 'orc')).toBe(`env-agent ${Math.floor(fixed.getTime() / 1000)}`);
    const [ev] = await lib.getEvents({ last: 1 });
    expect(ev).toMatchObject({ ts: fixed.toISOString(), agent: 'env-agent', action: 'workstream_created' });
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'orc', 'events/')).toMatch(/^events\/2030-01-02\/[^/]+\.jsonl$/);
  });

  it('many concurrent claims of one task through the library: exactly one wins', async () => {
    const repo = tmpRepo();
    const setup = await open({ repo, env: env() });
    await setup.createWorkstream('race');
    const id = (await setup.addTask('race', 'contended')).id;
    const libs = await Promise.all(Array.from({ length: 8 }, (_, i) => open({ repo, agent: `racer-${i}`, env: env() })));
    const results = await Promise.allSettled(libs.map((l) => l.claimTask('race', id)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as OrcError).code).toBe('CONFLICT');
    const winner = (won[0] as PromiseFulfilledResult<Task>).value.assigned_to;
    expect((await setup.getTask('race', id))!.assigned_to).toBe(winner);
    expect(await setup.getEvents({ action: 'task_claimed' })).toHaveLength(1);
  });

  it('the built package entry point (dist/index.js) exports the same API', async () => {
    const dist = await import('../../dist/index.js');
    expect(typeof dist.open).toBe('function');
    expect(typeof dist.OrcError).toBe('function');
    const repo = tmpRepo();
    const lib = await dist.open({ repo, agent: 'dist-agent', env: env() });
    await lib.createWorkstream('fromdist');
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('dist-agent');
    expect(ok<{ name: string }[]>(repo, ['ws', 'list']).map((w) => w.name)).toEqual(['fromdist']);
  });
});
