/**
 * The pre-commit guard: real commits in two linked worktrees of two agents.
 * A commit touching a path the other agent holds (a lock on a glob, a file
 * of a running task) is refused naming the path, the holder and the expiry;
 * the agent's own locks, released and expired ones do not block; a user's
 * pre-commit is chained; orc's own failure lets the commit through with one
 * line; --no-verify passes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { gitE, hookEnv, orcOk } from './fixtures.js';

const env = hookEnv();
let main = '';
let a1 = '';
let a2 = '';

function write(cwd: string, file: string, text = `${Date.now()}-${Math.random()}\n`): void {
  fs.mkdirSync(path.dirname(path.join(cwd, file)), { recursive: true });
  fs.writeFileSync(path.join(cwd, file), text);
}

/** Stages `files` (written fresh) and commits; returns git's result. */
function commitFiles(cwd: string, files: string[], extra: string[] = [], e = env) {
  for (const f of files) write(cwd, f);
  git(cwd, 'add', '-A');
  return gitE(cwd, e, 'commit', '-q', '-m', `touch ${files.join(' ')}`, ...extra);
}

/** Drops what a refused commit left staged or untracked. */
function clean(cwd: string): void {
  git(cwd, 'reset', '-q', '--hard');
  git(cwd, 'clean', '-qfd');
}

function spawnGit(cwd: string, args: string[], input: string, extra: Record<string, string> = {}): string {
  const r = spawnSync('git', args, { cwd, env: testEnv(extra), input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const head = (cwd: string) => git(cwd, 'rev-parse', 'HEAD');

beforeAll(() => {
  main = tmpRepo();
  git(main, 'config', 'extensions.worktreeConfig', 'true');
  orcOk(main, env, 'hooks', 'install');
  a1 = path.join(tmpDir('orc-wt-'), 'a1');
  a2 = path.join(tmpDir('orc-wt-'), 'a2');
  git(main, 'worktree', 'add', '-q', '-b', 'w1', a1);
  git(main, 'worktree', 'add', '-q', '-b', 'w2', a2);
  git(a1, 'config', '--worktree', 'orc.agent', 'agent-1');
  git(a2, 'config', '--worktree', 'orc.agent', 'agent-2');
  orcOk(a1, env, 'a', 'register', 'agent-1');
  orcOk(a2, env, 'a', 'register', 'agent-2');
});
afterAll(cleanup);

describe('pre-commit guard', () => {
  it("refuses a commit touching the other agent's locked glob, naming path, holder and expiry; own lock passes", () => {
    const lock = JSON.parse(orcOk(a1, env, 'lock', 'acquire', 'src/api/**', '--ttl', '600000', '--json')) as { expires_at: string; token: number };
    const before = head(a2);
    const r = commitFiles(a2, ['src/api/users.ts', 'README.txt']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`orc: src/api/users.ts is in "src/api/**", locked by agent-1 until ${lock.expires_at} (token ${lock.token})`);
    expect(r.stderr).toMatch(/commit by agent-2 refused: .*--no-verify/);
    expect(r.stderr).not.toContain('README.txt is in');
    expect(head(a2)).toBe(before);

    // The holder's own commit passes; so does agent-2's commit of a path outside the glob.
    const own = commitFiles(a1, ['src/api/users.ts']);
    expect(own.code, own.stderr).toBe(0);
    clean(a2);
    expect(commitFiles(a2, ['src/db.ts']).code).toBe(0);
  });

  it('refuses a deletion and both sides of a rename into or out of the locked glob', () => {
    // a2 has a file outside the glob; moving it in is refused, naming the new side.
    const moved = (() => {
      fs.mkdirSync(path.join(a2, 'src/api'), { recursive: true });
      git(a2, 'mv', 'src/db.ts', 'src/api/db.ts');
      return gitE(a2, env, 'commit', '-q', '-m', 'move in');
    })();
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('orc: src/api/db.ts is in "src/api/**"');
    clean(a2);
    // A file inside the glob on agent-2's branch: deleting it is refused.
    expect(commitFiles(a2, ['src/api/x.ts'], ['--no-verify']).code).toBe(0);
    git(a2, 'rm', '-q', 'src/api/x.ts');
    const del = gitE(a2, env, 'commit', '-q', '-m', 'delete');
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain('orc: src/api/x.ts is in "src/api/**"');
    clean(a2);
  });

  it('--no-verify passes', () => {
    const r = commitFiles(a2, ['src/api/forced.ts'], ['--no-verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(git(a2, 'log', '-1', '--format=%s')).toBe('touch src/api/forced.ts');
  });

  it('passes after the holder releases the lock', () => {
    expect(commitFiles(a2, ['src/api/after.ts']).code).not.toBe(0);
    orcOk(a1, env, 'lock', 'release', 'src/api/**');
    const r = commitFiles(a2, ['src/api/after.ts']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('passes after the lock expires', async () => {
    orcOk(a1, env, 'lock', 'acquire', 'docs/*.md', '--ttl', '1500');
    expect(commitFiles(a2, ['docs/guide.md']).code).not.toBe(0);
    let r = commitFiles(a2, ['docs/guide.md']);
    for (let i = 0; i < 40 && r.code !== 0; i++) {
      await new Promise((res) => setTimeout(res, 250));
      r = commitFiles(a2, ['docs/guide.md']);
    }
    expect(r.code, r.stderr).toBe(0);
  });

  it("refuses a path in the resources of a task the other agent runs", () => {
    orcOk(main, env, 'ws', 'create', 'W');
    orcOk(main, env, 't', 'add', 'W', 'schema', '--id', 't1', '--resource', 'db/schema.sql');
    orcOk(a1, env, 't', 'claim', 'W', 't1', 'agent-1');
    const r = commitFiles(a2, ['db/schema.sql']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/orc: db\/schema\.sql is in "db\/schema\.sql" of task W\/t1, in progress by agent-1 until \d{4}-/);
    clean(a2);
    orcOk(a1, env, 't', 'complete', 'W', 't1', 'done');
    expect(commitFiles(a2, ['db/schema.sql']).code).toBe(0);
  });

  it('lets the commit through with one line when orc itself fails: corrupt state, a crashing binary', () => {
    const repo = tmpRepo();
    orcOk(repo, env, 'hooks', 'install');
    const e = { ...env, ORC_AGENT: 'agent-2' };
    orcOk(repo, env, 'lock', 'acquire', 'lib/**', 'agent-1', '--ttl', '600000');
    expect(commitFiles(repo, ['lib/a.ts'], [], e).code).not.toBe(0);
    clean(repo);
    // Corrupt state: the lock file on the state branch is not JSON.
    const lockPath = git(repo, 'ls-tree', '-r', '--name-only', 'orc').split('\n').find((p) => p.startsWith('locks/'))!;
    const bad = spawnGit(repo, ['hash-object', '-w', '--stdin'], '{ not json');
    const idx = path.join(tmpDir(), 'index');
    const ie = { GIT_INDEX_FILE: idx };
    spawnGit(repo, ['read-tree', 'orc'], '', ie);
    spawnGit(repo, ['update-index', '--cacheinfo', `100644,${bad},${lockPath}`], '', ie);
    const tree = spawnGit(repo, ['write-tree'], '', ie);
    const c = spawnGit(repo, ['commit-tree', tree, '-p', 'orc', '-m', 'corrupt'], '');
    git(repo, 'update-ref', 'refs/heads/orc', c);
    const r = commitFiles(repo, ['lib/a.ts'], [], e);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^orc: pre-commit guard skipped, commit not checked: /);
    // A binary that crashes: one line too, and the commit goes on.
    const bin = tmpDir('orc-badbin-');
    fs.writeFileSync(path.join(bin, 'orc'), '#!/bin/sh\necho boom >&2\necho "Error: boom\\n  at x" >&2\nexit 1\n', { mode: 0o755 });
    const crash = commitFiles(repo, ['lib/b.ts'], [], { ...e, PATH: `${bin}:${env.PATH}` });
    expect(crash.code, crash.stderr).toBe(0);
    // (prepare-commit-msg and post-commit call the broken orc too; pre-commit says one line.)
    expect(crash.stderr.split('\n').filter((l) => l.includes('pre-commit'))).toEqual(['orc: pre-commit guard skipped: orc failed (exit 1)']);
  });

  it("chains to the user's pre-commit: it runs first, and its failure fails the commit", () => {
    const repo = tmpRepo();
    const hooks = path.join(repo, '.git', 'hooks');
    const log = path.join(tmpDir(), 'log');
    fs.mkdirSync(hooks, { recursive: true });
    fs.writeFileSync(path.join(hooks, 'pre-commit'), `#!/bin/sh\necho user-pre-commit >> '${log}'\nexit \${USER_HOOK_EXIT:-0}\n`, { mode: 0o755 });
    orcOk(repo, env, 'hooks', 'install');
    expect(fs.existsSync(path.join(hooks, 'pre-commit.orc-chained'))).toBe(true);
    const e = { ...env, ORC_AGENT: 'agent-2' };
    orcOk(repo, env, 'lock', 'acquire', 'x/**', 'agent-1', '--ttl', '600000');
    expect(commitFiles(repo, ['ok.txt'], [], e).code).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('user-pre-commit\n');
    const theirs = commitFiles(repo, ['x/y.txt'], [], e);
    expect(theirs.code).not.toBe(0);
    expect(theirs.stderr).toContain('orc: x/y.txt is in "x/**", locked by agent-1');
    const userFails = commitFiles(repo, ['ok.txt'], [], { ...e, USER_HOOK_EXIT: '1' });
    expect(userFails.code).not.toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('user-pre-commit\nuser-pre-commit\nuser-pre-commit\n');
  });
});
