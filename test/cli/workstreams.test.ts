/**
 * `orc init`, `orc status`, `orc ws create/list`, how orc finds its repo
 * (cwd, subfolder, --repo, ORC_REPO), and `git orc` through a `git-orc`
 * executable on PATH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, ORC_BIN, orc, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { commitCount, ok, tip } from './util.js';

afterAll(cleanup);

describe('orc init', () => {
  it('creates the branch with orc.json once, without touching HEAD; a second run makes no commit', () => {
    const repo = tmpRepo();
    const head = git(repo, 'rev-parse', 'HEAD');
    const r = orc(repo, ['init']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created branch orc');
    expect(commitCount(repo)).toBe(1);
    const cfg = JSON.parse(git(repo, 'show', 'orc:orc.json')) as { format: number; settings: Record<string, number> };
    expect(cfg.format).toBe(1);
    expect(cfg.settings).toMatchObject({ lease_ms: 600000, lock_ttl_ms: 60000 });
    const t = tip(repo);
    const again = orc(repo, ['init']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already set up');
    expect(tip(repo)).toBe(t);
    expect(commitCount(repo)).toBe(1);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('the first op creates the branch too, with orc.json in the same single commit', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'solo']).code).toBe(0);
    expect(commitCount(repo)).toBe(1);
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'orc').split('\n');
    expect(files).toEqual(expect.arrayContaining(['orc.json', 'workstreams/solo/workstream.json']));
    const r = ok(repo, ['init']);
    expect(r).toEqual({ created: false, branch: 'orc' });
    expect(commitCount(repo)).toBe(1);
  });
});

describe('workstreams and status', () => {
  let repo: string;
  beforeAll(() => {
    repo = tmpRepo();
  });

  it('status before anything exists works and says so', () => {
    const r = orc(repo, ['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orc status');
    const j = ok(repo, ['status']);
    expect(j).toMatchObject({ workstreams: [], agents: [], active_locks: [], recent_events: [], knowledge_topics: [] });
    expect(tip(repo)).toBeNull();
  });

  it('ws create prints and returns the workstream; defaults priority 3 and empty description', () => {
    const r = orc(repo, ['ws', 'create', 'backend', 'API and storage', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('created workstream backend');
    const w = ok(repo, ['workstream', 'create', 'frontend']);
    expect(w).toMatchObject({ name: 'frontend', description: '', priority: 3, status: 'active' });
    expect(Date.parse(w.created_at)).toBeGreaterThan(0);
    const d = ok(repo, ['ws', 'create', 'docs', 'manuals', '2']);
    expect(d).toMatchObject({ name: 'docs', description: 'manuals', priority: 2 });
  });

  it('ws create of an existing name is refused with exit 1', () => {
    const before = tip(repo);
    const r = orc(repo, ['ws', 'create', 'backend']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^orc: .*backend.*already exists/);
    expect(tip(repo)).toBe(before);
  });

  it('ws list gives task counts per status, priority first', () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(orc(repo, ['t', 'add', 'backend', `task ${i}`]).stdout.trim());
    expect(orc(repo, ['t', 'claim', 'backend', ids[0]!, 'a1']).code).toBe(0);
    expect(orc(repo, ['t', 'claim', 'backend', ids[1]!, 'a1']).code).toBe(0);
    expect(orc(repo, ['t', 'complete', 'backend', ids[1]!]).code).toBe(0);
    expect(orc(repo, ['t', 'fail', 'backend', ids[2]!, 'nope']).code).toBe(0);
    const list = ok<{ name: string; priority: number; task_counts: Record<string, number> }[]>(repo, ['ws', 'list']);
    expect(list.map((w) => w.name)).toEqual(['backend', 'docs', 'frontend']);
    expect(list[0]!.task_counts).toEqual({ pending: 1, in_progress: 1, done: 1, failed: 1, total: 4 });
    expect(list[1]!.task_counts).toEqual({ pending: 0, in_progress: 0, done: 0, failed: 0, total: 0 });
    const text = orc(repo, ['ws', 'list']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/NAME\s+PRI\s+PENDING\s+IN PROGRESS\s+DONE\s+FAILED/);
    expect(lines[1]).toMatch(/^backend\s+P1\s+1\s+1\s+1\s+1\s+API and storage$/);
  });

  it('status --json has the seed keys and reflects the state', () => {
    expect(orc(repo, ['a', 'register', 'a1', 'claude']).code).toBe(0);
    expect(orc(repo, ['lock', 'acquire', 'deploy', 'a1']).code).toBe(0);
    expect(orc(repo, ['kb', 'write', 'arch/overview', 'the', 'design']).code).toBe(0);
    const s = ok(repo, ['status']);
    for (const k of ['workstreams', 'agents', 'active_locks', 'recent_events', 'knowledge_topics']) expect(s).toHaveProperty(k);
    expect(s.workstreams.map((w: { name: string }) => w.name)).toEqual(['backend', 'docs', 'frontend']);
    expect(s.workstreams[0].task_counts.total).toBe(4);
    expect(s.agents).toHaveLength(1);
    expect(s.agents[0]).toMatchObject({ id: 'a1', type: 'claude', stale: false });
    expect(s.active_locks).toHaveLength(1);
    expect(Object.keys(s.active_locks[0]).sort()).toEqual(['acquired_at', 'agent', 'expires_at', 'resource', 'token', 'ttl_ms']);
    expect(s.knowledge_topics).toEqual(['arch/overview']);
    expect(s.recent_events.length).toBeGreaterThan(5);
    expect(s.recent_events.at(-1)).toMatchObject({ action: 'knowledge_written', topic: 'arch/overview' });
    for (const e of s.recent_events) {
      expect(typeof e.ts).toBe('string');
      expect(typeof e.agent).toBe('string');
      expect(typeof e.action).toBe('string');
    }
    expect(s.commit).toBe(tip(repo));
  });

  it('status text names workstreams, agents, locks, topics and recent events', () => {
    const r = orc(repo, ['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`@ ${tip(repo)!.slice(0, 12)}`);
    expect(r.stdout).toMatch(/3 workstreams · 4 tasks \(1 pending, 1 in progress, 1 done, 1 failed\) · \d+ agents? · 1 lock · 1 topic$/m);
    expect(r.stdout).toMatch(/\[P1\] backend — API and storage/);
    expect(r.stdout).toMatch(/a1 \(claude\)/);
    expect(r.stdout).toMatch(/deploy — a1, token 1/);
    expect(r.stdout).toMatch(/Knowledge \(1\): arch\/overview/);
    expect(r.stdout).toMatch(/knowledge_written\s+arch\/overview/);
  });

  it('finds the repo from a subfolder, with --repo and with ORC_REPO', () => {
    const sub = path.join(repo, 'deep', 'er');
    fs.mkdirSync(sub, { recursive: true });
    try {
      expect(ok<unknown[]>(sub, ['ws', 'list'])).toHaveLength(3);
    } finally {
      fs.rmSync(path.join(repo, 'deep'), { recursive: true });
    }
    const elsewhere = tmpDir();
    expect(ok<unknown[]>(elsewhere, ['ws', 'list', '--repo', repo])).toHaveLength(3);
    expect(ok<unknown[]>(elsewhere, ['--repo', repo, 'ws', 'list'])).toHaveLength(3);
    expect(ok<unknown[]>(elsewhere, ['ws', 'list'], { env: { ORC_REPO: repo } })).toHaveLength(3);
    const before = tip(repo);
    expect(orc(elsewhere, ['ws', 'create', 'remote-made', '--repo', repo]).code).toBe(0);
    expect(tip(repo)).not.toBe(before);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});

describe('git orc', () => {
  const gitOrc = (bin: string, repo: string) => {
    const env = testEnv({ PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` });
    return (...args: string[]) => spawnSync('git', ['orc', ...args], { cwd: repo, env, encoding: 'utf8' });
  };

  it('git orc status works through a symlink git-orc -> the built CLI on PATH (the CLI must be executable)', () => {
    const repo = tmpRepo();
    const bin = tmpDir('orc-bin-');
    fs.symlinkSync(ORC_BIN, path.join(bin, 'git-orc'));
    // git runs `git-orc` directly: the built CLI needs its #! line and the executable bit.
    expect(fs.readFileSync(ORC_BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(() => fs.accessSync(ORC_BIN, fs.constants.X_OK), `${ORC_BIN} is not executable`).not.toThrow();
    const s = gitOrc(bin, repo)('status');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toContain('orc status');
  });

  it('runs as a git subcommand (git-orc on PATH), in the repo git runs it in', () => {
    const repo = tmpRepo();
    const bin = tmpDir('orc-bin-');
    // A wrapper, so this checks git's dispatch and orc under git independently of the file mode checked above.
    fs.writeFileSync(path.join(bin, 'git-orc'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(ORC_BIN)} "$@"\n`, { mode: 0o755 });
    const run = gitOrc(bin, repo);
    const w = run('ws', 'create', 'via-git', 'made by git orc');
    expect(w.status, w.stderr).toBe(0);
    const s = run('status');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toContain('orc status');
    expect(s.stdout).toContain('via-git');
    const j = run('status', '--json');
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout).workstreams[0].name).toBe('via-git');
    expect(commitCount(repo)).toBe(1);
  });
});
