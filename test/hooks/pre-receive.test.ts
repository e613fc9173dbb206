/**
 * The shared remote's pre-receive guard, through real pushes to a bare repo
 * over file:// and git daemon: orc's own pushes pass; a non-fast-forward, a
 * deletion, a broken tree, a commit whose Orc-Op trailer lies, a hand commit
 * and a hand-resolved merge are refused with the reason in the push output;
 * other refs pass untouched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskShard } from '../../src/model/layout.js';
import { cleanup, git, tmpDir } from '../helpers.js';
import { bareRemote, gitE, hookEnv, orcOk, startDaemon } from './fixtures.js';

const env = hookEnv();
let bare = '';
let base = '';
let url = '';
let host = '';
let rogue = '';

/** A commit made with git plumbing: `tree` (a tree-ish) plus `files`, parents and message as given. */
function handCommit(repo: string, tree: string, parents: string[], files: Record<string, string | null>, message: string): string {
  const index = path.join(tmpDir('orc-index-'), 'index');
  const e = { ...env, GIT_INDEX_FILE: index };
  const run = (...args: string[]) => {
    const r = gitE(repo, e, ...args);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  run('read-tree', tree);
  for (const [p, content] of Object.entries(files)) {
    if (content === null) run('update-index', '--force-remove', p);
    else {
      const file = path.join(path.dirname(index), 'blob');
      fs.writeFileSync(file, content);
      const oid = run('hash-object', '-w', file);
      run('update-index', '--add', '--cacheinfo', `100644,${oid},${p}`);
    }
  }
  const t = run('write-tree');
  const msgFile = path.join(path.dirname(index), 'msg');
  fs.writeFileSync(msgFile, message);
  return run('commit-tree', t, ...parents.flatMap((p) => ['-p', p]), '-F', msgFile);
}

function push(repo: string, spec: string, to = url, extraEnv = env) {
  return gitE(repo, extraEnv, 'push', '--porcelain', to, spec);
}

const remoteTip = () => git(bare, 'rev-parse', 'refs/heads/orc');

function expectRefused(r: { code: number; stdout: string; stderr: string }, reason: string | RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/pre-receive hook declined/);
  expect(r.stderr).toMatch(typeof reason === 'string' ? new RegExp(`remote: orc: .*${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : reason);
}

/** A clone of the remote with the state branch fetched and no orc.remote: its ops commit locally, to be pushed by hand. */
function rogueClone(name: string): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  expect(gitE(path.dirname(dir), env, 'clone', '-q', url, dir).code).toBe(0);
  expect(gitE(dir, env, 'fetch', '-q', 'origin', 'orc:orc').code).toBe(0);
  return dir;
}

beforeAll(() => {
  ({ bare, base } = bareRemote());
  url = `file://${bare}`;
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  host = path.join(tmpDir('orc-host-'), 'host');
  gitE(path.dirname(host), env, 'clone', '-q', url, host);
  git(host, 'commit', '-q', '--allow-empty', '-m', 'init');
  expect(push(host, 'main').code).toBe(0);
  orcOk(host, env, 'ws', 'create', 'W');
  orcOk(host, env, 't', 'add', 'W', 'first task', '--id', 't1');
  orcOk(host, env, 'init', '--remote', 'origin'); // publishes through the hook
  orcOk(host, env, 't', 'claim', 'W', 't1', 'agent-1'); // decided at the remote, pushed with a lease
  orcOk(host, env, 'kb', 'write', 'notes', 'hello');
  rogue = rogueClone('rogue');
});
afterAll(cleanup);

describe('pre-receive on the state branch', () => {
  it("accepts orc's own pushes: init, claim, a local op pushed by plain git push", () => {
    expect(git(bare, 'log', '--format=%s', 'orc')).toMatch(/claim W\/t1 for agent-1/);
    orcOk(rogue, env, 'kb', 'write', 'from-rogue', 'text');
    orcOk(rogue, env, 't', 'add', 'W', 'second', '--id', 't2');
    const r = push(rogue, 'orc');
    expect(r.stderr).not.toMatch(/declined/);
    expect(r.code).toBe(0);
    expect(remoteTip()).toBe(git(rogue, 'rev-parse', 'orc'));
  });

  it('refuses a non-fast-forward and a deletion', () => {
    const tip = remoteTip();
    expectRefused(push(rogue, `+${tip}~1:refs/heads/orc`), 'not a fast-forward');
    expectRefused(push(rogue, ':refs/heads/orc'), 'deleting the state branch is refused');
    expect(remoteTip()).toBe(tip);
  });

  it('refuses a commit with invalid JSON, naming the file', () => {
    const tip = remoteTip();
    const c = handCommit(rogue, tip, [tip], { 'workstreams/W/workstream.json': '{not json' }, 'edit by hand\n');
    expectRefused(push(rogue, `${c}:refs/heads/orc`), `commit ${c.slice(0, 12)} workstreams/W/workstream.json is not valid JSON`);
  });

  it('refuses a task file outside its workstream or shard', () => {
    const tip = remoteTip();
    const task = git(rogue, 'show', `${tip}:workstreams/W/tasks/${taskShard('t1')}/t1.json`);
    const elsewhere = handCommit(rogue, tip, [tip], { [`workstreams/X/tasks/${taskShard('t1')}/t1.json`]: task }, 'move by hand\n');
    const r = push(rogue, `${elsewhere}:refs/heads/orc`);
    expectRefused(r, 'is a task of workstream "W", filed under "X"');
    expect(r.stderr).toMatch(/workstream "X" has tasks but no workstreams\/X\/workstream.json/);
    const wrongShard = taskShard('t1') === '00' ? '01' : '00';
    const c2 = handCommit(rogue, tip, [tip], { [`workstreams/W/tasks/${wrongShard}/t1.json`]: task }, 'x\n');
    expectRefused(push(rogue, `${c2}:refs/heads/orc`), `belongs in shard ${taskShard('t1')}`);
    const c3 = handCommit(rogue, tip, [tip], { 'workstreams/W/t1.json': task }, 'x\n');
    expectRefused(push(rogue, `${c3}:refs/heads/orc`), 'workstreams/W/t1.json is not part of the state format');
  });

  it('refuses an unknown format version', () => {
    const tip = remoteTip();
    const c = handCommit(rogue, tip, [tip], { 'orc.json': '{"format": 99}\n' }, 'x\n');
    expectRefused(push(rogue, `${c}:refs/heads/orc`), 'orc.json has format 99; this orc knows format 1');
  });

  it('refuses a commit whose Orc-Op trailer does not match what it changed, and a hand commit without one', () => {
    git(rogue, 'fetch', '-q', 'origin', '+orc:orc');
    orcOk(rogue, env, 'kb', 'write', 'honest', 'the real content');
    const honest = git(rogue, 'rev-parse', 'orc');
    const parent = git(rogue, 'rev-parse', 'orc~1');
    const message = `${git(rogue, 'log', '-1', '--format=%B', honest)}\n`;
    // Same message and changes, plus a file the op never wrote.
    const extra = handCommit(rogue, honest, [parent], { 'knowledge/sneaky.md': 'x' }, message);
    expectRefused(push(rogue, `${extra}:refs/heads/orc`), 'changes knowledge/sneaky.md, which op kb.write does not');
    // Same message, other content than the op wrote (knowledge is recorded by blob id: the forged tree lacks it).
    const other = handCommit(rogue, honest, [parent], { 'knowledge/honest.md': 'forged' }, message);
    expectRefused(push(rogue, `${other}:refs/heads/orc`), 'records kb.write of blob');
    // A task added with another title than its trailer says.
    orcOk(rogue, env, 't', 'add', 'W', 'the real title', '--id', 't3');
    const added = git(rogue, 'rev-parse', 'orc');
    const taskPath = `workstreams/W/tasks/${taskShard('t3')}/t3.json`;
    const forged = git(rogue, 'show', `${added}:${taskPath}`).replace('the real title', 'a forged title');
    const lie = handCommit(rogue, added, [honest], { [taskPath]: `${forged}\n` }, `${git(rogue, 'log', '-1', '--format=%B', added)}\n`);
    expectRefused(push(rogue, `${lie}:refs/heads/orc`), `has other content in ${taskPath}, which op task.add writes`);
    // A claim of a task another agent holds: the parent's state refuses it.
    const claimMsg = `claim\n\nOrc-Op: {"op":"task.claim","agent":"agent-2","at":"${new Date().toISOString()}","input":{"workstream":"W","id":"t1","agent":"agent-2"}}\nOrc-Agent: agent-2\n`;
    const claim = handCommit(rogue, parent, [parent], { 'knowledge/whatever.md': 'x' }, claimMsg);
    expectRefused(push(rogue, `${claim}:refs/heads/orc`), 'records op task.claim, which its parent\'s state refuses: task W/t1 is claimed by agent-1');
    const byHand = handCommit(rogue, parent, [parent], { 'knowledge/hand.md': 'x' }, 'by hand\n');
    expectRefused(push(rogue, `${byHand}:refs/heads/orc`), 'has no Orc-Op trailer');
    // The honest commit itself passes.
    expect(push(rogue, 'orc').code).toBe(0);
  });

  it('accepts a merge of two hosts\' ops, refuses one resolved by hand', () => {
    const a = rogueClone('a');
    const b = rogueClone('b');
    orcOk(a, env, 'kb', 'write', 'from-a', 'A');
    orcOk(b, env, 'kb', 'write', 'from-b', 'B');
    expect(push(a, 'orc').code).toBe(0);
    git(b, 'fetch', '-q', 'origin', 'orc:refs/remotes/origin/orc');
    const theirs = git(b, 'rev-parse', 'refs/remotes/origin/orc');
    const ours = git(b, 'rev-parse', 'orc');
    const tree = git(b, 'merge-tree', '--write-tree', ours, theirs).split('\n')[0]!;
    const byHand = handCommit(b, tree, [theirs, ours], { 'knowledge/from-a.md': 'changed in the merge' }, 'merge\n');
    expectRefused(push(b, `${byHand}:refs/heads/orc`), 'is a merge that changes knowledge/from-a.md by hand');
    const merge = handCommit(b, tree, [theirs, ours], {}, 'merge\n');
    const r = push(b, `${merge}:refs/heads/orc`);
    expect(r.stderr).not.toMatch(/declined/);
    expect(remoteTip()).toBe(merge);
  });

  it('lets every other ref through untouched', () => {
    git(rogue, 'fetch', '-q', 'origin', '+orc:orc');
    const tip = remoteTip();
    const bad = handCommit(rogue, tip, [tip], { 'orc.json': 'garbage' }, 'x\n');
    expect(push(rogue, `${bad}:refs/heads/scratch`).code).toBe(0);
    expect(push(rogue, `${bad}:refs/tags/junk`).code).toBe(0);
    expect(push(rogue, `+${tip}~1:refs/heads/scratch`).code).toBe(0); // non-fast-forward elsewhere is git's business
    expect(git(bare, 'rev-parse', 'refs/heads/scratch')).toBe(git(bare, 'rev-parse', `${tip}~1`));
  });

  it('without orc on the server: refuses the state branch, saying so; other refs pass', () => {
    const { bare: bare2 } = bareRemote();
    orcOk(base, env, 'hooks', 'install', '--remote-repo', bare2);
    const noOrc = hookEnv({}, false);
    git(rogue, 'fetch', '-q', 'origin', '+orc:orc');
    const tip = remoteTip();
    const r = push(rogue, `${tip}:refs/heads/orc`, `file://${bare2}`, noOrc);
    expectRefused(r, 'orc is not installed on this server');
    expect(push(rogue, `${tip}:refs/heads/other`, `file://${bare2}`, noOrc).code).toBe(0);
  });
});

describe('pre-receive through git daemon', () => {
  it('accepts a good push and refuses a bad one with the reason', async () => {
    const d = await startDaemon(base);
    try {
      const git_ = d.url('remote.git');
      git(rogue, 'fetch', '-q', 'origin', '+orc:orc');
      orcOk(rogue, env, 'kb', 'write', 'over-daemon', 'via git://');
      expect(push(rogue, 'orc', git_).code).toBe(0);
      expect(remoteTip()).toBe(git(rogue, 'rev-parse', 'orc'));
      const tip = remoteTip();
      const bad = handCommit(rogue, tip, [tip], { 'agents/x.json': '[' }, 'x\n');
      expectRefused(push(rogue, `${bad}:refs/heads/orc`, git_), 'agents/x.json is not valid JSON');
      expectRefused(push(rogue, `+${tip}~1:refs/heads/orc`, git_), 'not a fast-forward');
      expect(remoteTip()).toBe(tip);
    } finally {
      await d.stop();
    }
  });
});
