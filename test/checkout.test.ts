/**
 * DESIGN.md invariant 7: the user's HEAD, index and working tree are
 * byte-identical after any op — from the main checkout, a linked worktree,
 * a subfolder, and from outside with --repo and ORC_REPO. The state branch is
 * never checked out.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, fingerprint, git, orc, testEnv, tmpDir, tmpRepo } from './helpers.js';
import { commitCount, commonDir, sleep } from './race-helpers.js';

afterAll(cleanup);

interface Ctx {
  /** Where orc runs. */
  cwd: string;
  /** Added to every orc command line. */
  extra: string[];
  env: Record<string, string>;
}

/** Everything in the git dirs that orc must leave alone: refs other than the state branch, config, HEADs, indexes. */
function gitDirState(repo: string): string {
  const common = commonDir(repo);
  const refs = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)')
    .split('\n')
    // orc's own refs: the state branch and the agents' presence (heartbeats, issue 13).
    .filter((l) => !l.startsWith('refs/heads/orc ') && !l.startsWith('refs/orc/presence/'));
  const files: Record<string, string> = {};
  const add = (p: string) => {
    if (fs.existsSync(p)) files[path.relative(common, p)] = fs.readFileSync(p).toString('base64');
  };
  for (const f of ['config', 'HEAD', 'index', 'packed-refs', 'logs/HEAD', 'logs/refs/heads/main', 'logs/refs/heads/feature', 'logs/refs/stash', 'info/exclude']) add(path.join(common, f));
  const wts = path.join(common, 'worktrees');
  if (fs.existsSync(wts)) {
    for (const w of fs.readdirSync(wts).sort()) for (const f of ['HEAD', 'index', 'logs/HEAD', 'config.worktree', 'gitdir']) add(path.join(wts, w, f));
  }
  return JSON.stringify({ refs, files });
}

/** The user's dirty state: a modified tracked file, a staged change, an untracked file, and (shared) a stash entry. */
function makeDirty(dir: string, tag: string): void {
  fs.writeFileSync(path.join(dir, 'tracked.txt'), `tracked, modified in ${tag}\n`);
  fs.writeFileSync(path.join(dir, 'sub', 'staged.txt'), `staged change in ${tag}\n`);
  git(dir, 'add', 'sub/staged.txt');
  fs.writeFileSync(path.join(dir, 'sub', 'staged.txt'), `staged, then modified again in ${tag}\n`);
  fs.writeFileSync(path.join(dir, `untracked-${tag}.txt`), `untracked in ${tag}\n`);
  fs.mkdirSync(path.join(dir, 'newdir'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'newdir', 'untracked.bin'), Buffer.from([0, 1, 2, 255, 10, 13]));
}

let main: string;
let wt: string;
let outside: string;
let before: { main: string; wt: string; gitDirs: string };
let writes = 0;

/** Every kind of op and read, in one context. Returns the number of write ops (each must be one commit). */
/**
 * Every write op and the main reads from `ctx` ('full': every read in both output modes too; 'core':
 * one op of each kind, for contexts that differ only in how the repo is found, which happens before
 * any op runs). Returns the commits made.
 */
function everyOp(ctx: Ctx, tag: string, depth: 'full' | 'writes' | 'core' = 'writes'): number {
  const full = depth === 'full';
  const core = depth === 'core';
  const run = (args: string[], input?: string) => {
    const r = orc(ctx.cwd, [...args, ...ctx.extra], { env: ctx.env, ...(input === undefined ? {} : { input }) });
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.stdout;
  };
  const json = <T>(args: string[], input?: string) => JSON.parse(run([...args, '--json'], input)) as T;
  const ws = `ws-${tag}`;
  const agent = `agent-${tag}`;
  const c0 = commitCount(main);
  let ops = 0;
  const write = <T>(f: () => T): T => {
    ops++;
    return f();
  };

  write(() => json(['ws', 'create', ws, `workstream from ${tag}`, '2']));
  write(() => json(['t', 'add', ws, 'first task', 'its description', '1', '--id', `${tag}-1`]));
  write(() => run(['t', 'add', ws, 'second task', '--id', `${tag}-2`, '--resource', `res-${tag}`]));
  write(() => json(['t', 'add', ws, 'third task', '--id', `${tag}-3`, '--after', `${tag}-1`]));
  if (!core) expect(write(() => json<{ id: string }>(['t', 'next', ws, agent])).id).toBe(`${tag}-1`);
  expect(write(() => json<{ assigned_to: string }>(['t', 'claim', ws, core ? `${tag}-1` : `${tag}-2`, agent, '--lease', '120000'])).assigned_to).toBe(agent);
  expect(write(() => json<{ status: string }>(['t', 'complete', ws, `${tag}-1`, 'all done', '--agent', agent])).status).toBe('done');
  if (!core) {
    write(() => run(['t', 'fail', ws, `${tag}-2`, 'gave up', '--agent', agent]));
    write(() => json(['a', 'register', agent, 'claude', '--capabilities', 'ts,git']));
    run(['a', 'heartbeat', agent]); // a known agent's heartbeat moves its presence ref: no commit
  }
  expect(write(() => json<{ token: number }>(['lock', 'acquire', `res-${tag}`, agent, '--ttl', '30000'])).token).toBe(1);
  write(() => run(['lock', 'release', `res-${tag}`, agent]));
  if (!core) write(() => json(['kb', 'write', `notes/${tag}`, 'some', 'knowledge']));
  write(() => run(['kb', 'write', `notes/${tag}-stdin`, '-'], `from stdin in ${tag}\n`));
  if (!core) {
    write(() => json(['kb', 'write', `notes/${tag}-gone`, 'temporary']));
    write(() => json(['kb', 'rm', `notes/${tag}-gone`]));
    write(() => json(['event', 'checkout_test', JSON.stringify({ tag })]));
  }
  write(() => run(['event', 'checkout_text'], undefined));
  if (!core) write(() => json(['plan']));
  write(() => run(['plan']));
  run(['init']); // on an existing branch: no commit

  // Reads: all of them in both output modes where `full`, the main ones elsewhere.
  const reads = core
    ? [['status'], ['t', 'list', ws]]
    : full
    ? [['status'], ['log'], ['events'], ['events', '--action', 'checkout_test'], ['ws', 'list'], ['t', 'list', ws], ['t', 'show', ws, `${tag}-1`], ['a', 'list'], ['lock', 'list'], ['kb', 'list'], ['kb', 'read', `notes/${tag}`], ['plan', '--dry-run']]
    : [['status'], ['log'], ['events'], ['t', 'list', ws]];
  for (const args of reads) {
    run(args);
    if (full) json(args);
  }
  expect(run(['kb', 'read', `notes/${tag}-stdin`])).toBe(`from stdin in ${tag}\n`);
  expect(json<{ status: string }>(['t', 'show', ws, `${tag}-3`]).status).toBe('pending');
  expect(commitCount(main)).toBe(c0 + ops);
  return ops;
}

describe('the user checkout is never touched', () => {
  beforeAll(async () => {
    main = tmpRepo();
    fs.mkdirSync(path.join(main, 'sub', 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(main, 'tracked.txt'), 'tracked\n');
    fs.writeFileSync(path.join(main, 'sub', 'staged.txt'), 'staged\n');
    fs.writeFileSync(path.join(main, 'sub', 'deeper', 'keep.txt'), 'keep\n');
    fs.writeFileSync(path.join(main, '.gitignore'), 'ignored.log\n');
    git(main, 'add', '.');
    git(main, 'commit', '-q', '-m', 'files');
    // A stash entry.
    fs.writeFileSync(path.join(main, 'tracked.txt'), 'stashed change\n');
    git(main, 'stash', 'push', '-q', '-m', 'user stash');
    makeDirty(main, 'main');
    fs.writeFileSync(path.join(main, 'ignored.log'), 'ignored\n');

    // A linked worktree on its own branch, with its own dirty state.
    wt = path.join(tmpDir('orc-wt-'), 'wt');
    git(main, 'worktree', 'add', '-q', '-b', 'feature', wt);
    makeDirty(wt, 'wt');
    outside = tmpDir('orc-outside-');

    // Let racily-clean index entries settle (git status may rewrite the index once), then take the fingerprints.
    await sleep(1_100);
    git(main, 'status', '--porcelain');
    git(wt, 'status', '--porcelain');
    before = { main: fingerprint(main), wt: fingerprint(wt), gitDirs: gitDirState(main) };
    // Fingerprinting itself changes nothing.
    expect(fingerprint(main)).toBe(before.main);
    expect(fingerprint(wt)).toBe(before.wt);
    expect(git(main, 'status', '--porcelain')).toContain('MM sub/staged.txt');
    expect(git(main, 'stash', 'list')).toContain('user stash');
  });

  const check = () => {
    expect(fingerprint(main)).toBe(before.main);
    expect(fingerprint(wt)).toBe(before.wt);
    expect(gitDirState(main)).toBe(before.gitDirs);
    expect(git(main, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(git(wt, 'symbolic-ref', 'HEAD')).toBe('refs/heads/feature');
    // No worktree has the state branch checked out.
    const list = git(main, 'worktree', 'list', '--porcelain');
    expect(list).not.toContain('refs/heads/orc');
    expect(list.match(/^worktree /gm)?.length).toBe(2);
  };

  it('from the main checkout', () => {
    writes += everyOp({ cwd: main, extra: [], env: {} }, 'main', 'full');
    check();
  }, 120_000);

  it('from a subfolder of the main checkout', () => {
    writes += everyOp({ cwd: path.join(main, 'sub', 'deeper'), extra: [], env: {} }, 'subdir');
    check();
  }, 120_000);

  it('from a linked worktree with its own dirty state, and a subfolder of it', () => {
    writes += everyOp({ cwd: wt, extra: [], env: {} }, 'wt', 'full');
    writes += everyOp({ cwd: path.join(wt, 'sub'), extra: [], env: { ORC_AGENT: 'wt-agent' } }, 'wtsub');
    check();
    // The worktree's ops went to the one shared state branch.
    expect(git(main, 'rev-parse', 'orc')).toBe(git(wt, 'rev-parse', 'orc'));
    expect(fs.existsSync(path.join(commonDir(wt), 'worktrees', 'wt', 'refs', 'heads', 'orc'))).toBe(false);
  }, 120_000);

  it('from outside the repo with --repo PATH and with ORC_REPO', () => {
    writes += everyOp({ cwd: outside, extra: ['--repo', main], env: {} }, 'repoflag', 'core');
    writes += everyOp({ cwd: outside, extra: ['--repo', path.join(wt, 'sub')], env: {} }, 'repoflagwt', 'core');
    writes += everyOp({ cwd: outside, extra: [], env: { ORC_REPO: main } }, 'orcrepo', 'core');
    writes += everyOp({ cwd: outside, extra: [], env: { ORC_REPO: wt } }, 'orcrepowt', 'core');
    check();
    // Nothing was written where orc ran.
    expect(fs.readdirSync(outside)).toEqual([]);
  }, 180_000);

  it('leaves one state branch holding every op, readable by plain git, never checked out', () => {
    // Every context's workstream is on the one branch, and each write was one commit.
    expect(commitCount(main)).toBe(writes);
    const names = git(main, 'ls-tree', '--name-only', 'orc', 'workstreams/').split('\n').map((p) => path.basename(p));
    expect(names.sort()).toEqual(['ws-main', 'ws-orcrepo', 'ws-orcrepowt', 'ws-repoflag', 'ws-repoflagwt', 'ws-subdir', 'ws-wt', 'ws-wtsub'].sort());
    // HEAD, index and working tree: byte-identical; and git agrees the user's work is as it was.
    check();
    expect(git(main, 'stash', 'list').split('\n')).toHaveLength(1);
    expect(git(main, 'diff', '--cached', '--name-only')).toBe('sub/staged.txt');
    expect(git(wt, 'diff', '--cached', '--name-only')).toBe('sub/staged.txt');
    expect(git(main, 'rev-parse', 'main')).toBe(git(main, 'rev-parse', 'feature'));
    // Plain git reads the state.
    const r = spawnSync('git', ['cat-file', '-p', 'orc:orc.json'], { cwd: main, env: testEnv(), encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('format');
  });
});
