/**
 * DESIGN "How an op runs" and invariants 3 and 7: every successful write
 * command is exactly one commit on refs/heads/orc, on top of the previous
 * tip, authored by the acting agent, with an `Orc-Op` trailer holding the op
 * and its input, and one event line in its tree. Reads make no commit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, fingerprint, git, orc, tmpRepo, waitMaintenance } from '../helpers.js';
import { commitCount, expectOneCommit, REF, tip } from './util.js';

afterAll(cleanup);

describe('one op = one commit', () => {
  let repo: string;
  let taskA = '';
  let taskB = '';
  beforeAll(() => {
    repo = tmpRepo();
  });

  it('init makes the first commit (a root commit, author system); a second init makes none', () => {
    expect(tip(repo)).toBeNull();
    const c = expectOneCommit(repo, ['init'], { op: 'init', author: 'system', action: 'orc_initialized' });
    expect(git(repo, 'log', '-1', '--format=%P', c.commit)).toBe('');
    expect(c.changed).toContain('orc.json');
    const again = orc(repo, ['init', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ created: false, branch: 'orc' });
    expect(tip(repo)).toBe(c.commit);
  });

  it('ws create', () => {
    const c = expectOneCommit(repo, ['ws', 'create', 'core', 'the core', '2'], { op: 'ws.create', author: 'system', action: 'workstream_created' });
    expect(c.op.input).toMatchObject({ name: 'core', description: 'the core', priority: 2 });
    expect(c.changed).toContain('workstreams/core/workstream.json');
    expect(c.events[0]).toMatchObject({ workstream: 'core' });
  });

  it('t add (author from --agent)', () => {
    const c = expectOneCommit(repo, ['t', 'add', 'core', 'First task', 'desc', '1', '--agent', 'planner'], { op: 'task.add', author: 'planner', action: 'task_created' });
    taskA = c.run.stdout.trim();
    expect(c.op.input).toMatchObject({ workstream: 'core', id: taskA, title: 'First task', priority: 1 });
    expect(c.events[0]).toMatchObject({ workstream: 'core', task_id: taskA, title: 'First task' });
    expect(c.changed.some((p) => p.startsWith('workstreams/core/tasks/') && p.endsWith(`/${taskA}.json`))).toBe(true);
    const c2 = expectOneCommit(repo, ['t', 'add', 'core', 'Second task'], { op: 'task.add', author: 'system', action: 'task_created' });
    taskB = c2.run.stdout.trim();
  });

  it('t claim (author is the claiming agent)', () => {
    const c = expectOneCommit(repo, ['t', 'claim', 'core', taskA, 'agent-1'], { op: 'task.claim', author: 'agent-1', action: 'task_claimed' });
    expect(c.op.input).toMatchObject({ workstream: 'core', id: taskA, agent: 'agent-1' });
    expect(c.events[0]).toMatchObject({ task_id: taskA });
  });

  // The owner names itself: without an agent named, a complete is the operator's, authored as system (issue 11).
  it('t complete (author is the owner)', () => {
    const c = expectOneCommit(repo, ['t', 'complete', 'core', taskA, 'shipped', '--agent', 'agent-1'], { op: 'task.complete', author: 'agent-1', action: 'task_completed' });
    expect(c.op.input).toMatchObject({ workstream: 'core', id: taskA, result: 'shipped' });
    expect(c.events[0]).toMatchObject({ task_id: taskA, result: 'shipped' });
  });

  it('t next', () => {
    const c = expectOneCommit(repo, ['t', 'next', 'core', 'agent-2'], { op: 'task.next', author: 'agent-2', action: 'task_claimed' });
    expect(c.events[0]).toMatchObject({ task_id: taskB });
  });

  it('t fail', () => {
    const c = expectOneCommit(repo, ['t', 'fail', 'core', taskB, 'it broke'], { env: { ORC_AGENT: 'agent-2' }, op: 'task.complete', author: 'agent-2', action: 'task_failed' });
    expect(c.op.input).toMatchObject({ failed: true, result: 'it broke' });
  });

  it('a register and a heartbeat', () => {
    const c = expectOneCommit(repo, ['a', 'register', 'agent-1', 'claude', '--capabilities', 'ts,git'], { op: 'agent.register', author: 'agent-1', action: 'agent_registered' });
    expect(c.changed).toContain('agents/agent-1.json');
    expect(c.op.input).toMatchObject({ id: 'agent-1', type: 'claude', capabilities: ['ts', 'git'] });
    // A heartbeat is presence, not history (issue 13): a known agent's moves only refs/orc/presence/agent-1;
    // an unknown agent's first one registers it, with one commit.
    const before = tip(repo);
    expect(orc(repo, ['a', 'heartbeat', 'agent-1']).code).toBe(0);
    expect(tip(repo)).toBe(before);
    expect(git(repo, 'log', '-1', '--format=%B', 'refs/orc/presence/agent-1')).toMatch(/^\{"agent":"agent-1","at":"/);
    const first = expectOneCommit(repo, ['a', 'heartbeat', 'newcomer'], { op: 'agent.heartbeat', author: 'newcomer', action: 'agent_heartbeat' });
    expect(first.events[0]).toMatchObject({ agent_id: 'newcomer', registered: true });
  });

  it('lock acquire, renew and release', () => {
    const c = expectOneCommit(repo, ['lock', 'acquire', 'deploy', 'agent-1'], { op: 'lock.acquire', author: 'agent-1', action: 'lock_acquired' });
    expect(c.changed.some((p) => p.startsWith('locks/'))).toBe(true);
    expect(c.events[0]).toMatchObject({ resource: 'deploy', token: 1 });
    expectOneCommit(repo, ['lock', 'acquire', 'deploy', 'agent-1', '--ttl', '5000'], { op: 'lock.acquire', author: 'agent-1', action: 'lock_renewed' });
    const r = expectOneCommit(repo, ['lock', 'release', 'deploy', 'agent-1'], { op: 'lock.release', author: 'agent-1', action: 'lock_released' });
    expect(r.events[0]).toMatchObject({ resource: 'deploy', token: 1 });
  });

  it('kb write (stdin) and kb rm', () => {
    const c = expectOneCommit(repo, ['kb', 'write', 'notes/setup', '-'], { op: 'kb.write', author: 'system', action: 'knowledge_written', input: 'hello\n' });
    expect(c.changed).toContain('knowledge/notes/setup.md');
    expect(git(repo, 'show', `${c.commit}:knowledge/notes/setup.md`)).toBe('hello');
    expect(c.op.input).toMatchObject({ topic: 'notes/setup' });
    const d = expectOneCommit(repo, ['kb', 'rm', 'notes/setup'], { op: 'kb.delete', author: 'system', action: 'knowledge_deleted' });
    expect(d.changed).toContain('knowledge/notes/setup.md');
    expect(git(repo, 'ls-tree', '-r', '--name-only', d.commit)).not.toContain('knowledge/notes/setup.md');
  });

  it('event (free-form, author from ORC_AGENT)', () => {
    const c = expectOneCommit(repo, ['event', 'deploy_started', '{"env":"prod"}'], { op: 'event.log', author: 'agent-3', action: 'deploy_started', env: { ORC_AGENT: 'agent-3' } });
    expect(c.events[0]).toMatchObject({ env: 'prod' });
    expect(c.op.input).toMatchObject({ action: 'deploy_started', data: { env: 'prod' } });
  });

  it('plan', () => {
    const c = expectOneCommit(repo, ['plan', '--json'], { op: 'runner.plan', author: 'system', action: 'cycle_planned' });
    const cycle = (JSON.parse(c.run.stdout) as { cycle: string }).cycle;
    expect(c.changed).toEqual(expect.arrayContaining([`plans/${cycle}.md`, `cycles/${cycle}.json`]));
  });

  it('git log --author finds an agent’s ops, and every commit of the branch carries an Orc-Op trailer', () => {
    const mine = git(repo, 'log', '--author=agent-1', '--format=%an|%(trailers:key=Orc-Op,valueonly,separator=)', REF).split('\n').filter(Boolean);
    // claim, complete, register, acquire, renew, release (a heartbeat of a known agent commits nothing)
    expect(mine).toHaveLength(6);
    for (const l of mine) {
      const [an, op] = l.split('|');
      expect(an).toBe('agent-1');
      expect(JSON.parse(op!)).toMatchObject({ agent: 'agent-1' });
    }
    const ops = git(repo, 'log', '--format=%(trailers:key=Orc-Op,valueonly,separator=)', REF).split('\n').filter(Boolean);
    expect(ops).toHaveLength(commitCount(repo));
    // The history is linear: every commit but the root has one parent.
    expect(git(repo, 'rev-list', '--min-parents=2', REF)).toBe('');
    expect(git(repo, 'rev-list', '--max-parents=0', REF).split('\n')).toHaveLength(1);
  });

  it('reads make no commit and leave the work tree alone', () => {
    const before = tip(repo);
    const fp = fingerprint(repo);
    for (const args of [
      ['status'],
      ['status', '--json'],
      ['ws', 'list'],
      ['t', 'list', 'core'],
      ['t', 'show', 'core', taskA],
      ['a', 'list'],
      ['lock', 'list'],
      ['kb', 'list'],
      ['events'],
      ['log'],
      ['plan', '--dry-run'],
      ['init'],
    ]) {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(tip(repo)).toBe(before);
    expect(fingerprint(repo)).toBe(fp);
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  });

  it("ops leave a dirty work tree, staged changes and the user's branch exactly as they were", () => {
    const dirty = tmpRepo();
    fs.writeFileSync(path.join(dirty, 'tracked.txt'), 'v1\n');
    git(dirty, 'add', 'tracked.txt');
    git(dirty, 'commit', '-q', '-m', 'tracked');
    fs.writeFileSync(path.join(dirty, 'tracked.txt'), 'v2 staged\n');
    git(dirty, 'add', 'tracked.txt');
    fs.writeFileSync(path.join(dirty, 'tracked.txt'), 'v3 unstaged\n');
    fs.writeFileSync(path.join(dirty, 'untracked.txt'), 'new\n');
    const head = git(dirty, 'rev-parse', 'HEAD');
    const fp = fingerprint(dirty);
    expectOneCommit(dirty, ['ws', 'create', 'd'], { op: 'ws.create', author: 'system', action: 'workstream_created' });
    const id = expectOneCommit(dirty, ['t', 'add', 'd', 'T'], { op: 'task.add', author: 'system', action: 'task_created' }).run.stdout.trim();
    expectOneCommit(dirty, ['t', 'next', 'd', 'x'], { op: 'task.next', author: 'x', action: 'task_claimed' });
    expectOneCommit(dirty, ['t', 'complete', 'd', id, '--agent', 'x'], { op: 'task.complete', author: 'x', action: 'task_completed' });
    expectOneCommit(dirty, ['kb', 'write', 'k', 'v'], { op: 'kb.write', author: 'system', action: 'knowledge_written' });
    expect(fingerprint(dirty)).toBe(fp);
    expect(git(dirty, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(dirty, 'diff', '--cached', '--name-only')).toBe('tracked.txt');
    expect(fs.readFileSync(path.join(dirty, 'tracked.txt'), 'utf8')).toBe('v3 unstaged\n');
    // The state branch never contains the user's files, and git fsck is clean.
    expect(git(dirty, 'ls-tree', '-r', '--name-only', 'orc')).not.toMatch(/tracked\.txt/);
    waitMaintenance(dirty);
    expect(git(dirty, 'fsck', '--no-dangling')).toBe('');
  });

  it('`t next` with nothing claimable makes no commit', () => {
    const before = tip(repo);
    const r = orc(repo, ['t', 'next', 'core', 'agent-9', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('null');
    expect(tip(repo)).toBe(before);
  });
});
