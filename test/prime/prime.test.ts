/**
 * `orc prime` and `orc agent use`, through the CLI: a fresh repo (no state
 * branch yet), a populated one, and linked worktrees each naming its agent.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson, tmpDir, tmpRepo } from '../helpers.js';
import { tip } from '../cli/util.js';

afterAll(cleanup);

const tokens = (s: string) => s.length / 4;

describe('orc prime', () => {
  it('in a fresh repo: no branch yet, says how to start, makes no commit', () => {
    const repo = tmpRepo();
    const r = orc(repo, ['prime']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('orc agent use NAME');
    expect(r.stdout).toContain('orc ws create');
    expect(r.stdout).toMatch(/No state branch `orc` yet/);
    expect(tip(repo)).toBeNull();
    const j = orcJson<any>(repo, ['prime']);
    expect(j).toMatchObject({ agent: null, agent_source: 'none', initialized: false, claims: [], ready: [] });
  });

  it('in a populated repo: its claims with lease deadlines, its locks, ready tasks best first, its events, its loop; within ~1,500 tokens', () => {
    const repo = tmpRepo();
    const me = 'dev-1@host';
    orc(repo, ['ws', 'create', 'api', 'the API', '1']);
    orc(repo, ['ws', 'create', 'web']);
    for (let i = 0; i < 12; i++) orc(repo, ['t', 'add', i % 2 ? 'web' : 'api', `task number ${i} with a rather long title that goes on and on to see that titles are cut short`, '', String((i % 5) + 1)]);
    const mine = orcJson<{ id: string; lease_expires_at: string }>(repo, ['t', 'next', 'api', me]);
    orc(repo, ['t', 'next', 'web', 'someone-else']);
    orc(repo, ['lock', 'acquire', 'deploy', me]);
    orc(repo, ['lock', 'acquire', 'db', 'someone-else']);
    for (let i = 0; i < 8; i++) orc(repo, ['event', 'noise', `{"n":${i}}`], { env: { ORC_AGENT: 'someone-else' } });

    const j = orcJson<any>(repo, ['prime', '--agent', me]);
    expect(j.agent).toBe(me);
    expect(j.agent_source).toBe('flag');
    expect(j.claims).toEqual([expect.objectContaining({ workstream: 'api', id: mine.id, lease_expires_at: mine.lease_expires_at })]);
    expect(j.locks.map((l: { resource: string }) => l.resource)).toEqual(['deploy']);
    expect(j.ready.length).toBe(5);
    expect(j.ready_total).toBe(10);
    const ready = orcJson<{ id: string }[]>(repo, ['ready']);
    expect(j.ready.map((t: { id: string }) => t.id)).toEqual(ready.slice(0, 5).map((t) => t.id));
    expect(j.events.length).toBeGreaterThan(0);
    for (const e of j.events) expect(JSON.stringify(e)).toContain(me);

    const text = orc(repo, ['prime'], { env: { ORC_AGENT: me } }).stdout;
    expect(text).toContain(`You are **${me}**, named by ORC_AGENT`);
    expect(text).toContain(mine.id);
    expect(text).toContain(mine.lease_expires_at);
    expect(text).toContain('deploy');
    expect(text).not.toContain('- db ');
    // Its own names in the loop's commands (names need no shell quoting; the result placeholder is quoted).
    expect(text).toContain(`orc t next api ${me}`);
    expect(text).toContain(`orc a heartbeat ${me}`);
    expect(text).toContain(`orc t complete api ${mine.id} 'RESULT'`);
    expect(tokens(text)).toBeLessThanOrEqual(1500);
    expect(tokens(orc(repo, ['prime', '--json'], { env: { ORC_AGENT: me } }).stdout)).toBeLessThanOrEqual(2500);
    expect(text).not.toContain('--wait');
  });

  it('--if-repo: outside any git repository prints nothing and exits 0 (a user-level hook runs in every session); inside one, the usual text', () => {
    const outside = tmpDir('orc-norepo-');
    const quiet = orc(outside, ['prime', '--if-repo']);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(orc(outside, ['prime']).code).toBe(3);
    const repo = tmpRepo();
    const inside = orc(repo, ['prime', '--if-repo'], { env: { ORC_AGENT: 'me' } });
    expect(inside.code).toBe(0);
    expect(inside.stdout).toContain('You are **me**');
  });

  it('with nothing ready, the loop says to wait for work (t next --wait) instead of polling', () => {
    const repo = tmpRepo();
    orc(repo, ['ws', 'create', 'api']);
    const t = orcJson<{ id: string }>(repo, ['t', 'add', 'api', 'only one']);
    orc(repo, ['t', 'claim', 'api', t.id, 'someone-else']);
    const text = orc(repo, ['prime'], { env: { ORC_AGENT: 'me' } }).stdout;
    expect(text).toContain('nothing is ready: wait until a task is claimable (no polling), then claim it: `orc t next api me --wait --timeout 10m`');
  });
});

describe('orc agent use', () => {
  it('names the agent of one worktree only: two linked worktrees, two names, the main worktree unaffected', () => {
    const repo = tmpRepo();
    const base = tmpDir('orc-wt-');
    const wa = path.join(base, 'a');
    const wb = path.join(base, 'b');
    git(repo, 'worktree', 'add', '-q', '-b', 'ba', wa);
    git(repo, 'worktree', 'add', '-q', '-b', 'bb', wb);
    expect(() => git(repo, 'config', '--get', 'extensions.worktreeConfig'), 'off before').toThrow();

    const r = orc(wa, ['agent', 'use', 'alice']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('alice');
    expect(orc(wb, ['agent', 'use', 'bob']).code).toBe(0);

    expect(git(repo, 'config', '--get', 'extensions.worktreeConfig')).toBe('true');
    expect(git(wa, 'config', '--get', 'orc.agent')).toBe('alice');
    expect(git(wb, 'config', '--get', 'orc.agent')).toBe('bob');
    expect(() => git(repo, 'config', '--get', 'orc.agent'), 'the main worktree names no agent').toThrow();

    expect(orcJson<any>(wa, ['prime'])).toMatchObject({ agent: 'alice', agent_source: 'worktree-config' });
    expect(orcJson<any>(wb, ['prime'])).toMatchObject({ agent: 'bob', agent_source: 'worktree-config' });
    expect(orcJson<any>(repo, ['prime'])).toMatchObject({ agent: null, agent_source: 'none' });
    // The ops act as the worktree's agent.
    orc(repo, ['ws', 'create', 'W']);
    expect(orcJson<{ id: string }>(wa, ['a', 'heartbeat']).id).toBe('alice');
    expect(orcJson<{ id: string }>(wb, ['a', 'heartbeat']).id).toBe('bob');

    // Renaming changes only that worktree.
    expect(orc(wa, ['agent', 'use', 'carol']).code).toBe(0);
    expect(git(wa, 'config', '--get', 'orc.agent')).toBe('carol');
    expect(git(wb, 'config', '--get', 'orc.agent')).toBe('bob');
  });

  it('refuses a bad name with exit 2 and writes no config', () => {
    const repo = tmpRepo();
    const r = orc(repo, ['agent', 'use', 'a/../b']);
    expect(r.code).toBe(2);
    expect(() => git(repo, 'config', '--get', 'orc.agent')).toThrow();
    expect(() => git(repo, 'config', '--get', 'extensions.worktreeConfig')).toThrow();
  });

  it('prime says when the name comes from the shared repo config instead', () => {
    const repo = tmpRepo();
    git(repo, 'config', 'orc.agent', 'shared');
    const j = orcJson<any>(repo, ['prime']);
    expect(j).toMatchObject({ agent: 'shared', agent_source: 'repo-config' });
    expect(j.agent_how).toContain('orc agent use');
  });
});
