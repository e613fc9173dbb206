/**
 * The worktree hooks: a commit by an agent holding a task carries
 * `Orc-Task: ws/id` once (not on merges or amends), becomes a
 * `code_committed` event, and `orc t show` lists it; linked worktrees get
 * their own agent's task; without orc on PATH a commit goes on with one line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpRepo } from '../helpers.js';
import { gitE, hookEnv, orcOk } from './fixtures.js';

const env = hookEnv();
let repo = '';

const body = (rev = 'HEAD', cwd = repo) => git(cwd, 'log', '-1', '--format=%B', rev);
const count = (text: string, s: string) => text.split(s).length - 1;

function commit(cwd: string, e: NodeJS.ProcessEnv, ...args: string[]) {
  const r = gitE(cwd, e, 'commit', '-q', '--allow-empty', ...args);
  if (r.code !== 0) throw new Error(`git commit ${args.join(' ')}: ${r.stderr}`);
  return r;
}

beforeAll(() => {
  repo = tmpRepo();
  git(repo, 'config', 'extensions.worktreeConfig', 'true');
  git(repo, 'config', '--worktree', 'orc.agent', 'agent-1');
  orcOk(repo, env, 'hooks', 'install');
  orcOk(repo, env, 'ws', 'create', 'W');
  orcOk(repo, env, 't', 'add', 'W', 'first', '--id', 't1');
  orcOk(repo, env, 't', 'add', 'W', 'second', '--id', 't2');
});
afterAll(cleanup);

describe('prepare-commit-msg and post-commit', () => {
  it('adds no trailer while the agent holds no task', () => {
    commit(repo, env, '-m', 'before any claim');
    expect(body()).toBe('before any claim');
  });

  it('adds Orc-Task once, records code_committed, and t show lists the commit', () => {
    orcOk(repo, env, 't', 'claim', 'W', 't1', 'agent-1');
    commit(repo, env, '-m', 'work on t1');
    expect(body()).toBe('work on t1\n\nOrc-Task: W/t1');
    const sha = git(repo, 'rev-parse', 'HEAD');
    commit(repo, env, '-m', 'said it myself\n\nOrc-Task: W/t1');
    expect(count(body(), 'Orc-Task:')).toBe(1);

    const events = JSON.parse(orcOk(repo, env, 'events', '--action', 'code_committed', '--json')) as Record<string, unknown>[];
    expect(events[0]).toMatchObject({ action: 'code_committed', agent: 'agent-1', workstream: 'W', task_id: 't1', commit: sha, branch: 'main', subject: 'work on t1' });
    expect(events).toHaveLength(2);
    const shown = JSON.parse(orcOk(repo, env, 't', 'show', 'W', 't1', '--json')) as { commits: { commit: string; subject: string }[] };
    expect(shown.commits.map((c) => c.subject)).toEqual(['work on t1', 'said it myself']);
    expect(shown.commits[0]!.commit).toBe(sha);
    expect(orcOk(repo, env, 't', 'show', 'W', 't1')).toMatch(new RegExp(`commits:\\n  ${sha.slice(0, 12)}  main  agent-1  work on t1`));
    expect(JSON.parse(orcOk(repo, env, 't', 'show', 'W', 't2', '--json')).commits).toEqual([]);
  });

  it('adds nothing on an amend or a merge', () => {
    orcOk(repo, env, 't', 'complete', 'W', 't1', 'done');
    commit(repo, env, '-m', 'no task now');
    orcOk(repo, env, 't', 'claim', 'W', 't2', 'agent-1');
    commit(repo, env, '--amend', '--no-edit');
    expect(body()).toBe('no task now');
    git(repo, 'checkout', '-q', '-b', 'side');
    commit(repo, env, '-m', 'on side');
    git(repo, 'checkout', '-q', 'main');
    commit(repo, env, '-m', 'on main');
    const m = gitE(repo, env, 'merge', '--no-ff', '-q', '--no-edit', 'side');
    expect(m.code).toBe(0);
    expect(git(repo, 'rev-list', '--parents', '-n1', 'HEAD').split(' ')).toHaveLength(3);
    expect(body()).not.toMatch(/Orc-Task/);
  });

  it('an amend with -m (which git does not tell prepare-commit-msg) replaces the commit under the task', () => {
    // agent-1 holds t2 since the test above.
    commit(repo, env, '-m', 'first cut of t2');
    const first = git(repo, 'rev-parse', 'HEAD');
    expect(body()).toBe('first cut of t2\n\nOrc-Task: W/t2');
    commit(repo, env, '--amend', '-m', 'second cut of t2');
    const second = git(repo, 'rev-parse', 'HEAD');
    expect(count(body(), 'Orc-Task:')).toBe(1);
    const events = JSON.parse(orcOk(repo, env, 'events', '--action', 'code_committed', '--json')) as Record<string, unknown>[];
    expect(events.at(-1)).toMatchObject({ commit: second, amends: first });
    const shown = JSON.parse(orcOk(repo, env, 't', 'show', 'W', 't2', '--json')) as { commits: { commit: string; subject: string }[] };
    // (t2 also has the two commits made around the merge above.)
    expect(shown.commits.map((c) => c.subject)).toEqual(['on side', 'on main', 'second cut of t2']);
    expect(shown.commits.map((c) => c.commit)).not.toContain(first);
    expect(shown.commits.at(-1)!.commit).toBe(second);
  });

  it("in a linked worktree, uses that worktree's agent", () => {
    const wt = path.join(path.dirname(repo), `${path.basename(repo)}-wt`);
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
    git(wt, 'config', '--worktree', 'orc.agent', 'agent-2');
    orcOk(repo, env, 't', 'add', 'W', 'third', '--id', 't3');
    orcOk(repo, env, 't', 'claim', 'W', 't3', 'agent-2');
    commit(wt, env, '-m', 'in the worktree');
    expect(body('HEAD', wt)).toBe('in the worktree\n\nOrc-Task: W/t3');
    commit(repo, env, '-m', 'in main');
    expect(body()).toBe('in main\n\nOrc-Task: W/t2');
    const shown = JSON.parse(orcOk(repo, env, 't', 'show', 'W', 't3', '--json')) as { commits: { branch: string; agent: string }[] };
    expect(shown.commits).toEqual([expect.objectContaining({ branch: 'feature', agent: 'agent-2' })]);
    fs.rmSync(wt, { recursive: true, force: true });
    git(repo, 'worktree', 'prune');
  });

  it('without orc on PATH, or with orc failing, the commit goes on', () => {
    const r = commit(repo, hookEnv({}, false), '-m', 'no orc here');
    expect(body()).toBe('no orc here');
    expect(r.stderr.trim().split('\n')).toEqual(['orc: pre-commit guard skipped: orc is not on PATH', 'orc: prepare-commit-msg hook skipped: orc is not on PATH', 'orc: post-commit hook skipped: orc is not on PATH']);
    const broken = commit(repo, { ...env, ORC_REPO: '/nonexistent' }, '-m', 'orc fails');
    // prepare-commit-msg and post-commit say nothing; the pre-commit guard says it did not check, in one line.
    expect(broken.stderr).toMatch(/^orc: pre-commit guard skipped, commit not checked: [^\n]*\n$/);
    expect(body()).toBe('orc fails');
  });
});
