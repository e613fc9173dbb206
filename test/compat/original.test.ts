/**
 * `git-orc/compat`: the original tool's own test suite (its test.js), ported
 * with nothing but `await`, and its README's documented calls and return
 * values; then what orc records beside them (who completed for whom, no
 * commit for a no-op), and the main library's overloads of the same calls.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { open, STATUS_HEADER } from '../../src/compat.js';
import { open as openOrc } from '../../src/index.js';
import { ROOT, cleanup, git, testEnv, tmpRepo } from '../helpers.js';
import { commitCount, eventsAdded, opOf, tip } from '../cli/util.js';

afterAll(cleanup);

describe("the original's test suite, with await", () => {
  it('passes every assertion but the 8-character id (orc ids are 12)', async () => {
    const repo = tmpRepo();
    const orc = await open({ repo, env: testEnv() });

    // State initialization
    const state0 = await orc.loadState();
    expect(state0.version).toBe(0);
    expect(Object.keys(state0.workstreams)).toHaveLength(0);
    expect(Object.keys(state0.agents)).toHaveLength(0);
    expect(Object.keys(state0.locks)).toHaveLength(0);

    // Workstream CRUD
    const ws = await orc.createWorkstream('test-ws', { description: 'Test workstream', priority: 1 });
    expect(ws.description).toBe('Test workstream');
    expect(ws.priority).toBe(1);
    const list = await orc.listWorkstreams();
    expect(list).toHaveLength(1);
    expect(list[0]!.name).toBe('test-ws');
    await expect(orc.createWorkstream('test-ws')).rejects.toThrow(/already exists/);

    // Task lifecycle
    const task = await orc.addTask('test-ws', { title: 'Test task', description: 'A test', priority: 2 });
    expect(task.id).toHaveLength(12); // the original's were 8 (README: differences)
    expect(task.status).toBe('pending');
    expect(task.title).toBe('Test task');
    const claimed = await orc.claimTask('test-ws', task.id, 'agent-test');
    expect(claimed.status).toBe('in_progress');
    expect(claimed.assigned_to).toBe('agent-test');
    await expect(orc.claimTask('test-ws', task.id, 'agent-2')).rejects.toThrow(/claimed by agent-test/);
    const completed = await orc.completeTask('test-ws', task.id, 'Done!');
    expect(completed.status).toBe('done');
    expect(completed.result).toBe('Done!');

    // getNextTask
    await orc.addTask('test-ws', { title: 'Task A', priority: 3 });
    await orc.addTask('test-ws', { title: 'Task B', priority: 1 });
    const next = await orc.getNextTask('test-ws', 'agent-auto');
    expect(next!.title).toBe('Task B');
    expect(next!.status).toBe('in_progress');

    // Agent registration
    const agent = await orc.registerAgent('test-agent', { type: 'worker', capabilities: ['code'] });
    expect(agent.type).toBe('worker');
    expect(agent.status).toBe('active');
    await orc.heartbeat('test-agent');
    const state = await orc.loadState();
    expect(state.agents['test-agent']!.status).toBe('active');

    // Resource locking
    expect(await orc.acquireLock('git-repo', 'agent-1', 5000)).toBe(true);
    expect(await orc.acquireLock('git-repo', 'agent-2', 5000)).toBe(false);
    expect(await orc.acquireLock('git-repo', 'agent-1', 5000)).toBe(true);
    expect(await orc.releaseLock('git-repo', 'agent-1')).toBe(true);
    expect(await orc.releaseLock('git-repo', 'agent-2')).toBe(false);

    // Knowledge base
    await orc.writeKnowledge('test-topic', '# Test\nSome knowledge here.');
    expect(await orc.readKnowledge('test-topic')).toContain('Some knowledge here');
    expect(await orc.readKnowledge('nonexistent')).toBeNull();
    expect(await orc.listKnowledge()).toContain('test-topic');
    expect(await orc.deleteKnowledge('test-topic')).toBe(true);
    expect(await orc.readKnowledge('test-topic')).toBeNull();
    expect(await orc.deleteKnowledge('nonexistent')).toBe(false);

    // Event log
    await orc.logEvent('test-agent', 'test_action', { data: 'hello' });
    const events = await orc.getEvents({ agent: 'test-agent', action: 'test_action' });
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[events.length - 1]!.data).toBe('hello');
    expect((await orc.getEvents({ last: 3 })).length).toBeLessThanOrEqual(3);

    // Status dashboard
    const s = await orc.status();
    expect(s.workstreams.length).toBeGreaterThan(0);
    expect(Array.isArray(s.agents)).toBe(true);
    expect(typeof s.version).toBe('number');
    const text = await orc.statusText();
    expect(text).toContain('OpSpawn Orchestrator Status');
    expect(text).toContain('test-ws');
  });
});

describe("the original's README calls and return values", () => {
  it('loadState has the original shape; version counts the ops; status and statusText carry it', async () => {
    const repo = tmpRepo();
    const orc = await open({ repo, env: testEnv() });
    await orc.createWorkstream('build', { description: 'Build things', priority: 1 });
    const t = await orc.addTask('build', { title: 'Ship v1', priority: 1, estimate: '2h' });
    expect(t.estimate).toBe('2h');
    await orc.registerAgent('agent-1', { type: 'worker' });
    expect(await orc.acquireLock('git', 'agent-1', 60000)).toBe(true);
    const st = await orc.loadState();
    expect(Object.keys(st).sort()).toEqual(['agents', 'locks', 'updated_at', 'version', 'workstreams']);
    expect(st.version).toBe(commitCount(repo));
    expect(st.version).toBe(Number(spawnSync('git', ['-C', repo, 'rev-list', '--count', '--first-parent', 'orc'], { encoding: 'utf8' }).stdout.trim()));
    expect(Date.parse(st.updated_at)).not.toBeNaN();
    expect(st.workstreams.build).toMatchObject({ description: 'Build things', priority: 1, status: 'active', tasks: [expect.objectContaining({ id: t.id, title: 'Ship v1', status: 'pending', estimate: '2h' })] });
    expect(st.agents['agent-1']).toMatchObject({ type: 'worker', status: 'active', capabilities: [] });
    expect(st.agents['agent-1']!.last_seen).toBe(st.agents['agent-1']!.last_heartbeat);
    expect(st.locks.git).toMatchObject({ agent: 'agent-1', ttl_ms: 60000, token: 1 });
    expect(Date.parse(st.locks.git!.acquired_at)).not.toBeNaN();

    const s = await orc.status();
    expect(s.version).toBe(st.version);
    expect(s.updated_at).toBe(st.updated_at);
    expect(s.workstreams[0]).toMatchObject({ name: 'build', task_count: 1, pending: 1, in_progress: 0, done: 0 });
    expect(s.workstreams[0]!.tasks!.map((x) => x.id)).toEqual([t.id]);
    const text = await orc.statusText();
    expect(text.split('\n')[0]).toBe(STATUS_HEADER);
    expect(text.split('\n')[1]).toBe(`State version: ${st.version} | Updated: ${st.updated_at}`);
    // A later read after more ops: the count goes on from the memoised one.
    await orc.logEvent('agent-1', 'deployed', { service: 'api', version: '2.0' });
    expect((await orc.loadState()).version).toBe(st.version + 1);
    const fresh = await open({ repo, env: testEnv() });
    expect((await fresh.loadState()).version).toBe(commitCount(repo));
  });

  it('version on a long branch read for the first time (the walk hands over to git rev-list) equals the first-parent count', async () => {
    const repo = tmpRepo();
    const orc = await open({ repo, env: testEnv() });
    await orc.createWorkstream('w');
    // 1,500 more commits on the branch in one git process, then one op on top.
    const base = tip(repo)!;
    let stream = '';
    for (let i = 0; i < 1500; i++) {
      stream += `commit refs/heads/orc\ncommitter t <t@example.invalid> ${1_900_000_000 + i} +0000\ndata 2\nx\n${i === 0 ? `from ${base}\n` : ''}M 644 inline orc.json\ndata <<EOF\n${git(repo, 'show', `${base}:orc.json`)}\nEOF\n\n`;
    }
    const fi = spawnSync('git', ['-C', repo, 'fast-import', '--quiet'], { input: stream, env: testEnv(), encoding: 'utf8' });
    expect(fi.status, fi.stderr).toBe(0);
    await orc.logEvent('a1', 'after_import', {});
    const count = () => Number(git(repo, 'rev-list', '--count', '--first-parent', 'orc'));
    const fresh = await open({ repo, env: testEnv() });
    expect((await fresh.loadState()).version).toBe(count());
    expect(count()).toBeGreaterThan(1500);
    await fresh.logEvent('a1', 'one_more', {});
    expect((await fresh.loadState()).version).toBe(count());
  });

  it('null and false instead of throwing; a heartbeat of an unknown agent commits nothing', async () => {
    const repo = tmpRepo();
    const orc = await open({ repo, env: testEnv() });
    await orc.createWorkstream('w', { priority: 2 });
    expect(await orc.getNextTask('w', 'a1')).toBeNull();
    expect(await orc.readKnowledge('none')).toBeNull();
    expect(await orc.deleteKnowledge('none')).toBe(false);
    expect(await orc.releaseLock('never-held', 'a1')).toBe(false);
    const n = commitCount(repo);
    expect(await orc.heartbeat('ghost')).toBeUndefined();
    expect(commitCount(repo)).toBe(n);
    expect((await orc.loadState()).agents).toEqual({});
    // Bad input still rejects (it is not a held lock).
    await expect(orc.acquireLock('', 'a1')).rejects.toThrow(/resource/);
    await expect(orc.addTask('nope', { title: 'x' })).rejects.toThrow(/no workstream "nope"/);
    // The original's defaults: an agent's type is "general".
    expect((await orc.registerAgent('plain')).type).toBe('general');
  });

  it("completeTask completes for whoever owns it, and the event says it was on the owner's behalf, and by whom", async () => {
    const repo = tmpRepo();
    const orc = await open({ repo, agent: 'main-loop', env: testEnv() });
    await orc.createWorkstream('w');
    const t = await orc.addTask('w', { title: 'sub-agent work' });
    await orc.claimTask('w', t.id, 'sub-1');
    const done = await orc.completeTask('w', t.id, 'ok');
    expect(done).toMatchObject({ status: 'done', assigned_to: 'sub-1', result: 'ok' });
    const c = tip(repo)!;
    expect(eventsAdded(repo, c, `${c}~1`)).toEqual([expect.objectContaining({ action: 'task_completed', agent: 'main-loop', overrode: 'sub-1', on_behalf_of: 'sub-1', by: 'main-loop' })]);
    expect(opOf(repo, c).op).toBe('task.complete');
    // Completed by its owner, nothing extra is said.
    const u = await orc.addTask('w', { title: 'own work' });
    await orc.claimTask('w', u.id, 'main-loop');
    await orc.completeTask('w', u.id);
    const c2 = tip(repo)!;
    const ev = eventsAdded(repo, c2, `${c2}~1`)[0]!;
    expect(ev).toMatchObject({ action: 'task_completed', agent: 'main-loop' });
    expect(ev).not.toHaveProperty('on_behalf_of');
  });

  it('resolves from the built package as git-orc/compat', () => {
    const repo = tmpRepo();
    const script = `
      const { open } = await import('git-orc/compat');
      const orc = await open({ repo: process.argv[1] });
      await orc.createWorkstream('w', { description: 'd', priority: 1 });
      console.log(JSON.stringify({ lock: await orc.acquireLock('git', 'a', 60000), again: await orc.acquireLock('git', 'b'), v: (await orc.loadState()).version }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, repo], { cwd: ROOT, env: testEnv(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ lock: true, again: false, v: 2 });
  });
});

describe("the main library takes the original's calling conventions too", () => {
  it('option objects and positional forms; logEvent(agent, action, data); knowledge by a named agent', async () => {
    const repo = tmpRepo();
    const lib = await openOrc({ repo, agent: 'lib', env: testEnv() });
    const w1 = await lib.createWorkstream('build', { description: 'Build things', priority: 1 });
    const w2 = await lib.createWorkstream('docs', 'Docs', 2);
    expect([w1.description, w1.priority, w2.description, w2.priority]).toEqual(['Build things', 1, 'Docs', 2]);
    const t1 = await lib.addTask('build', { title: 'Ship v1', description: 'all of it', priority: 1, estimate: '2h' });
    const t2 = await lib.addTask('build', 'Positional', 'desc', 4, { estimate: 3 });
    expect([t1.title, t1.description, t1.priority, t1.estimate]).toEqual(['Ship v1', 'all of it', 1, '2h']);
    expect([t2.title, t2.description, t2.priority, t2.estimate]).toEqual(['Positional', 'desc', 4, 3]);
    const a1 = await lib.registerAgent('agent-1', { type: 'research', capabilities: ['code'] });
    const a2 = await lib.registerAgent('agent-2', 'worker', ['ops']);
    expect([a1.type, a1.capabilities, a2.type, a2.capabilities]).toEqual(['research', ['code'], 'worker', ['ops']]);

    await lib.logEvent('agent-1', 'deployed', { service: 'api', version: '2.0' });
    let c = tip(repo)!;
    expect(opOf(repo, c).agent).toBe('agent-1');
    expect(eventsAdded(repo, c, `${c}~1`)).toEqual([expect.objectContaining({ agent: 'agent-1', action: 'deployed', service: 'api', version: '2.0' })]);
    await lib.logEvent('noted', { x: 1 });
    c = tip(repo)!;
    expect(eventsAdded(repo, c, `${c}~1`)).toEqual([expect.objectContaining({ agent: 'lib', action: 'noted', x: 1 })]);

    await lib.writeKnowledge('findings', '# Research Results\n', 'agent-2');
    c = tip(repo)!;
    expect(spawnSync('git', ['-C', repo, 'log', '-1', '--format=%an', c], { encoding: 'utf8' }).stdout.trim()).toBe('agent-2');
    expect(eventsAdded(repo, c, `${c}~1`)).toEqual([expect.objectContaining({ agent: 'agent-2', action: 'knowledge_written', topic: 'findings' })]);
    await lib.deleteKnowledge('findings', 'agent-1');
    c = tip(repo)!;
    expect(eventsAdded(repo, c, `${c}~1`)).toEqual([expect.objectContaining({ agent: 'agent-1', action: 'knowledge_deleted' })]);
    await lib.writeKnowledge('mine', 'x');
    c = tip(repo)!;
    expect(eventsAdded(repo, c, `${c}~1`)[0]!.agent).toBe('lib');
    // Bad input in either form is still refused.
    await expect(lib.addTask('build', { title: '' })).rejects.toThrow(/title/);
    await expect(lib.addTask('build', { title: 'x', estimate: 'two\nlines' })).rejects.toThrow(/estimate/);
  });
});
