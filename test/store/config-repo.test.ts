import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { last, loadConfig, parseConfig } from '../../src/store/config.js';
import { discoverRepo } from '../../src/store/repo.js';
import { OrcError } from '../../src/errors.js';
import { cleanup, git, testEnv, tmpDir, tmpRepo } from '../helpers.js';

afterAll(cleanup);

describe('git config', () => {
  it('parses sections, subsections, quotes, comments and continuations like git', () => {
    const cfg = parseConfig(`# c\n[Orc]\n\tBranch = state ; comment\n\tagent = "a b" # c\n[remote "Origin"]\n\turl = x\\\ny\n[core]\n\tbare\n`);
    expect(last(cfg, 'orc.branch')).toBe('state');
    expect(last(cfg, 'ORC.AGENT')).toBe('a b');
    expect(last(cfg, 'remote.Origin.url')).toBe('xy');
    expect(last(cfg, 'remote.origin.url')).toBeUndefined();
    expect(last(cfg, 'core.bare')).toBe('true');
  });

  it('agrees with git config on values set through git, including per-worktree ones', () => {
    const repo = tmpRepo();
    const env = testEnv();
    git(repo, 'config', 'orc.branch', 'coord');
    git(repo, 'config', 'extensions.worktreeConfig', 'true');
    const wt = path.join(tmpDir(), 'wt');
    git(repo, 'worktree', 'add', '-q', wt, '-b', 'side');
    git(wt, 'config', '--worktree', 'orc.agent', 'agent-7');
    const inWt = loadConfig(discoverRepo(wt, env), env);
    expect(last(inWt, 'orc.agent')).toBe('agent-7');
    expect(last(inWt, 'orc.branch')).toBe('coord');
    expect(last(loadConfig(discoverRepo(repo, env), env), 'orc.agent')).toBeUndefined();
  });
});

describe('finding the repository', () => {
  it('finds the common dir from a subfolder, a linked worktree and a bare repo', () => {
    const repo = tmpRepo();
    const env = testEnv();
    const sub = path.join(repo, 'a', 'b');
    fs.mkdirSync(sub, { recursive: true });
    expect(discoverRepo(sub, env)).toEqual({ gitDir: path.join(repo, '.git'), commonDir: path.join(repo, '.git'), workTree: repo });
    const wt = path.join(tmpDir(), 'wt');
    git(repo, 'worktree', 'add', '-q', wt, '-b', 'side');
    const p = discoverRepo(wt, env);
    expect(p.commonDir).toBe(path.join(repo, '.git'));
    expect(p.gitDir).toBe(path.join(repo, '.git', 'worktrees', 'wt'));
    expect(p.workTree).toBe(wt);
    const bare = tmpDir();
    git(bare, 'init', '-q', '--bare');
    expect(discoverRepo(bare, env)).toEqual({ gitDir: bare, commonDir: bare, workTree: null });
  });

  it('fails with ENV outside a repository', () => {
    const d = tmpDir();
    try {
      discoverRepo(d, testEnv());
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OrcError);
      expect((e as OrcError).code).toBe('ENV');
      expect((e as OrcError).message).toMatch(/not a git repository.*--repo/);
    }
  });
});
