/**
 * Agents: `a register/heartbeat/list`, heartbeats extending leases, the
 * stale flag, and the ways to name the acting agent (positional argument,
 * --agent, ORC_AGENT, git config orc.agent per worktree).
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpDir, tmpRepo } from '../helpers.js';
import { commitByHand, eventsAdded, expectOneLineError, ok, sleepUntil, tip } from './util.js';

afterAll(cleanup);

interface AgentJson {
  id: string;
  type: string;
  capabilities: string[];
  status: string;
  registered_at: string;
  last_heartbeat: string;
  stale?: boolean;
}

const author = (repo: string) => git(repo, 'log', '-1', '--format=%an', 'orc');

describe('a register / heartbeat / list', () => {
  it('registers with a type and capabilities; re-registering keeps registered_at', () => {
    const repo = tmpRepo();
    const a = ok<AgentJson>(repo, ['a', 'register', 'claude-1', 'claude', '--capabilities', 'ts, git ,,review']);
    expect(a).toMatchObject({ id: 'claude-1', type: 'claude', capabilities: ['ts', 'git', 'review'], status: 'active' });
    expect(a.registered_at).toBe(a.last_heartbeat);
    expect(JSON.parse(git(repo, 'show', 'orc:agents/claude-1.json'))).toMatchObject({ id: 'claude-1', type: 'claude' });
    const t = orc(repo, ['agent', 'register', 'w-2']);
    expect(t.code).toBe(0);
    expect(t.stdout.trim()).toBe('registered w-2 (general)');
    const before = tip(repo);
    const again = ok<AgentJson>(repo, ['a', 'register', 'claude-1', 'claude']);
    expect(again.registered_at).toBe(a.registered_at);
    expect(Date.parse(again.last_heartbeat)).toBeGreaterThan(Date.parse(a.last_heartbeat));
    expect(eventsAdded(repo, tip(repo)!, before)).toEqual([expect.objectContaining({ action: 'agent_registered', agent: 'claude-1', agent_id: 'claude-1', reregistered: true })]);
    const list = ok<AgentJson[]>(repo, ['a', 'list']);
    expect(list.map((x) => x.id)).toEqual(['claude-1', 'w-2']);
    expect(list.every((x) => x.stale === false)).toBe(true);
  });

  it('heartbeat updates last_heartbeat, and registers an agent it does not know', () => {
    const repo = tmpRepo();
    const h = ok<AgentJson>(repo, ['a', 'heartbeat', 'newbie']);
    expect(h).toMatchObject({ id: 'newbie', type: 'general', status: 'active' });
    expect(author(repo)).toBe('newbie');
    const r = orc(repo, ['a', 'heartbeat', 'newbie']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^heartbeat newbie at \d{4}-\d\d-\d\dT/);
    const after = ok<AgentJson[]>(repo, ['a', 'list']);
    expect(after).toHaveLength(1);
    expect(Date.parse(after[0]!.last_heartbeat)).toBeGreaterThan(Date.parse(h.last_heartbeat));
  });

  it('a list flags an agent with no recent heartbeat as stale (json and text)', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['a', 'register', 'fresh']).code).toBe(0);
    const old = new Date(Date.now() - 60 * 60_000).toISOString();
    commitByHand(repo, {
      'agents/sleepy.json': `${JSON.stringify({ id: 'sleepy', type: 'worker', capabilities: [], status: 'active', registered_at: old, last_heartbeat: old }, null, 2)}\n`,
    });
    const list = ok<AgentJson[]>(repo, ['a', 'list']);
    expect(list.map((a) => [a.id, a.stale])).toEqual([
      ['fresh', false],
      ['sleepy', true],
    ]);
    const text = orc(repo, ['a', 'list']).stdout.split('\n');
    expect(text.find((l) => l.startsWith('sleepy'))).toMatch(/1h ago\s+stale$/);
    expect(text.find((l) => l.startsWith('fresh'))).toMatch(/active$/);
    expect(ok(repo, ['status']).agents.find((a: AgentJson) => a.id === 'sleepy').stale).toBe(true);
    // A heartbeat makes it fresh again.
    expect(orc(repo, ['a', 'heartbeat', 'sleepy']).code).toBe(0);
    expect(ok<AgentJson[]>(repo, ['a', 'list']).find((a) => a.id === 'sleepy')!.stale).toBe(false);
  });

  it("a heartbeat extends the agent's leases: its task stays unclaimable past the original lease, another agent's does not", async () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'h']).code).toBe(0);
    const t1 = orc(repo, ['t', 'add', 'h', 'kept alive']).stdout.trim();
    const t2 = orc(repo, ['t', 'add', 'h', 'left to expire']).stdout.trim();
    const c1 = ok(repo, ['t', 'claim', 'h', t1, 'alive', '--lease', '1500']);
    const c2 = ok(repo, ['t', 'claim', 'h', t2, 'silent', '--lease', '1500']);
    const claimedAlive = Date.parse(c1.claimed_at);
    await sleepUntil(claimedAlive + 1000);
    const hb = ok<AgentJson>(repo, ['a', 'heartbeat', 'alive']);
    const beat = Date.parse(hb.last_heartbeat);
    expect(beat).toBeGreaterThanOrEqual(claimedAlive + 1000);
    // The lease now runs from the heartbeat.
    expect(Date.parse(ok(repo, ['t', 'show', 'h', t1]).lease_expires_at)).toBe(beat + 1500);
    expect(Date.parse(ok(repo, ['t', 'show', 'h', t2]).lease_expires_at)).toBe(Date.parse(c2.claimed_at) + 1500);
    // ~2 s after the claims: both original leases are over, the heartbeat's is not.
    await sleepUntil(Math.max(claimedAlive, Date.parse(c2.claimed_at)) + 1500 + 150);
    expect(Date.now(), 'the machine was too slow to check inside the extended lease').toBeLessThan(beat + 1500 - 200);
    const refused = orc(repo, ['t', 'claim', 'h', t1, 'thief']);
    expect(refused.code).toBe(1);
    expectOneLineError(refused.stderr, ['alive']);
    const before = tip(repo);
    const taken = ok(repo, ['t', 'claim', 'h', t2, 'thief']);
    expect(taken.assigned_to).toBe('thief');
    expect(eventsAdded(repo, tip(repo)!, before)[0]).toMatchObject({ action: 'task_taken_over', previous_agent: 'silent' });
    expect(ok(repo, ['t', 'show', 'h', t1]).assigned_to).toBe('alive');
  });
});

describe('naming the acting agent', () => {
  it('positional argument, --agent, ORC_AGENT and git config orc.agent, in that order of precedence', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'n']).code).toBe(0);
    const id = orc(repo, ['t', 'add', 'n', 'named']).stdout.trim();
    expect(author(repo)).toBe('system');

    expect(orc(repo, ['t', 'claim', 'n', id, 'positional', '--agent', 'flagged'], { env: { ORC_AGENT: 'from-env' } }).code).toBe(0);
    expect(author(repo)).toBe('positional');

    expect(orc(repo, ['a', 'heartbeat', '--agent', 'flagged'], { env: { ORC_AGENT: 'from-env' } }).code).toBe(0);
    expect(author(repo)).toBe('flagged');
    expect(orc(repo, ['--agent', 'flagged2', 'event', 'ping']).code).toBe(0);
    expect(author(repo)).toBe('flagged2');

    git(repo, 'config', 'orc.agent', 'from-config');
    expect(orc(repo, ['a', 'heartbeat'], { env: { ORC_AGENT: 'from-env' } }).code).toBe(0);
    expect(author(repo)).toBe('from-env');
    expect(orc(repo, ['event', 'ping']).code).toBe(0);
    expect(author(repo)).toBe('from-config');
    expect(orc(repo, ['lock', 'acquire', 'db']).code).toBe(0);
    expect(ok(repo, ['lock', 'list'])[0].agent).toBe('from-config');
    git(repo, 'config', '--unset', 'orc.agent');

    // Without any name, commands that need an agent say how to give one (exit 2); others act as "system".
    const r = orc(repo, ['a', 'heartbeat']);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, ['--agent', 'ORC_AGENT']);
    expect(orc(repo, ['event', 'ping']).code).toBe(0);
    expect(author(repo)).toBe('system');
  });

  it('git config --worktree orc.agent names the agent per linked worktree; all worktrees share one branch', () => {
    const repo = tmpRepo();
    git(repo, 'config', 'extensions.worktreeConfig', 'true');
    const wt1 = path.join(tmpDir('orc-wt-'), 'one');
    const wt2 = path.join(tmpDir('orc-wt-'), 'two');
    git(repo, 'worktree', 'add', '-q', '--detach', wt1);
    git(repo, 'worktree', 'add', '-q', '--detach', wt2);
    git(wt1, 'config', '--worktree', 'orc.agent', 'agent-one');
    git(wt2, 'config', '--worktree', 'orc.agent', 'agent-two');

    expect(orc(repo, ['ws', 'create', 'shared']).code).toBe(0);
    const id = orc(wt1, ['t', 'add', 'shared', 'from wt1']).stdout.trim();
    expect(author(repo)).toBe('agent-one');
    const next = ok(wt2, ['t', 'next', 'shared']);
    expect(next).toMatchObject({ id, assigned_to: 'agent-two' });
    expect(author(repo)).toBe('agent-two');
    expect(orc(wt1, ['a', 'heartbeat']).code).toBe(0);
    expect(author(wt2)).toBe('agent-one');
    // The main worktree has no orc.agent of its own.
    expect(orc(repo, ['event', 'from-main']).code).toBe(0);
    expect(author(repo)).toBe('system');
    // ORC_AGENT still wins over the worktree's config.
    expect(orc(wt1, ['event', 'override'], { env: { ORC_AGENT: 'env-agent' } }).code).toBe(0);
    expect(author(wt1)).toBe('env-agent');
    // One branch, seen the same from every worktree; the worktrees' HEADs are untouched.
    expect(git(wt1, 'rev-parse', 'orc')).toBe(git(repo, 'rev-parse', 'orc'));
    expect(git(wt1, 'rev-parse', 'HEAD')).toBe(git(repo, 'rev-parse', 'main'));
    expect(git(wt1, 'status', '--porcelain')).toBe('');
    const authors = git(repo, 'log', '--format=%an', 'orc').split('\n');
    expect(authors).toEqual(['env-agent', 'system', 'agent-one', 'agent-two', 'agent-one', 'system']);
  });

  it('an invalid agent name from any source is refused with exit 2 and no commit', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['init']).code).toBe(0);
    const before = tip(repo);
    for (const [args, env] of [
      [['a', 'heartbeat', 'bad..name'], {}],
      [['a', 'heartbeat', '--agent', 'bad/name'], {}],
      [['event', 'ping'], { ORC_AGENT: 'bad name' }],
    ] as const) {
      const r = orc(repo, [...args], { env: { ...env } });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expectOneLineError(r.stderr);
    }
    expect(tip(repo)).toBe(before);
  });
});
