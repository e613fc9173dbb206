/**
 * The shared remote's guard against a hostile pusher (issue 10): crafted
 * pushes to a real bare remote with the pre-receive hook installed. Object
 * ids from pushed data are checked before use; ops dated ahead of the
 * server's clock are refused; merges bring only what their ops replayed on
 * the first parent write; a new state branch is checked in full; parents,
 * message size and authors are bounded and checked; trees git's fsck would
 * flag are refused; a zlib bomb, a deep tree and a commit with thousands of
 * parents are refused in bounded time and memory of the hook process;
 * reserved event actions cannot be forged.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { taskShard } from '../../src/model/layout.js';
import { ORC_BIN, cleanup, git, testEnv, tmpDir } from '../helpers.js';
import { BARE_PATH, bareRemote, gitE, hookEnv, orcOk } from './fixtures.js';
import { folder, gitOrder, lsTree, readCommit, withFolder, writeCommit, writeObject, type Entry } from './forge.js';

const env = hookEnv();
let bare = '';
let url = '';
let host = '';
let rogue = '';

/** git push; the client's warnings about paths too long to look up attributes for (a deep tree) are left out. */
function push(repo: string, spec: string, to = url, e = env): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('git', ['push', '--porcelain', to, spec], { cwd: repo, env: e, encoding: 'utf8', maxBuffer: 1 << 30 });
  const stderr = (r.stderr ?? '').split('\n').filter((l) => !l.startsWith('warning: unable to access')).join('\n');
  return { code: r.status ?? -1, stdout: (r.stdout ?? '').trim(), stderr };
}
const remoteTip = () => git(bare, 'rev-parse', 'refs/heads/orc');

function expectRefused(r: { code: number; stdout: string; stderr: string }, reason: string | RegExp): void {
  expect(r.stdout + r.stderr).toMatch(/pre-receive hook declined/);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(typeof reason === 'string' ? new RegExp(`remote: orc: .*${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : reason);
}
function expectAccepted(r: { code: number; stdout: string; stderr: string }): void {
  expect(r.stderr).not.toMatch(/declined/);
  expect(r.code).toBe(0);
}

/** The rogue clone's state branch back at the remote's tip. */
function resync(repo = rogue): string {
  git(repo, 'fetch', '-q', 'origin', '+orc:orc');
  return git(repo, 'rev-parse', 'orc');
}

function rogueClone(name: string, from = url): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  expect(gitE(path.dirname(dir), env, 'clone', '-q', from, dir).code).toBe(0);
  expect(gitE(dir, env, 'fetch', '-q', 'origin', 'orc:orc').code).toBe(0);
  return dir;
}

/** A commit copied from `base` with `change` applied (tree, parents, message, author). */
function forge(base: string, change: Partial<ReturnType<typeof readCommit>>, repo = rogue): string {
  return writeCommit(repo, { ...readCommit(repo, base), ...change });
}

/** The tree of `commit` with blob `content` at `file` (a path of folders and a file). */
function treeWith(commit: string, file: string, content: string | Buffer | null, repo = rogue): string {
  const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
  const name = path.posix.basename(file);
  const root = git(repo, 'rev-parse', `${commit}^{tree}`);
  const rest = folder(repo, root, dir).filter((e) => e.name !== name);
  const entries = content === null ? rest : gitOrder([...rest, { mode: '100644', name, oid: writeObject(repo, 'blob', content) }]);
  return withFolder(repo, root, dir, entries);
}

beforeAll(() => {
  let base: string;
  ({ bare, base } = bareRemote());
  url = `file://${bare}`;
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  host = path.join(tmpDir('orc-host-'), 'host');
  gitE(path.dirname(host), env, 'clone', '-q', url, host);
  git(host, 'commit', '-q', '--allow-empty', '-m', 'init');
  expect(push(host, 'main').code).toBe(0);
  orcOk(host, env, 'ws', 'create', 'W');
  orcOk(host, env, 't', 'add', 'W', 'first task', '--id', 't1');
  orcOk(host, env, 'init', '--remote', 'origin');
  orcOk(host, env, 't', 'claim', 'W', 't1', 'agent-1');
  rogue = rogueClone('rogue');
});
afterAll(cleanup);

describe('ids from pushed data', () => {
  it("refuses an op's content_blob that is not an object id, before reading anything by it", () => {
    resync();
    orcOk(rogue, env, 'kb', 'write', 'probe', 'hello');
    const honest = git(rogue, 'rev-parse', 'orc');
    const blob = git(rogue, 'rev-parse', `${honest}:knowledge/probe.md`);
    // A loose object of the same blob outside every repository: a reader that takes the id as a path finds it.
    const outside = path.join(tmpDir('orc-outside-'), 'obj');
    fs.writeFileSync(outside, zlib.deflateSync(Buffer.from('blob 5\0hello', 'latin1')));
    const climb = `..${'/..'.repeat(40)}${outside}`;
    const c = readCommit(rogue, honest);
    expect(c.message).toContain(`"content_blob":"${blob}"`);
    const forged = forge(honest, { message: c.message.replace(blob, climb) });
    expectRefused(push(rogue, `${forged}:refs/heads/orc`), `records kb.write of blob "..`);
    expectRefused(push(rogue, `${forged}:refs/heads/orc`), 'which is not an object id');
    // The honest commit passes, and so does writing the same text again (its blob is the parent's).
    expectAccepted(push(rogue, 'orc'));
    orcOk(rogue, env, 'kb', 'write', 'probe', 'hello');
    expectAccepted(push(rogue, 'orc'));
  });
});

describe('recorded times against the server clock', () => {
  it('refuses a claim, a lock and a fail dated 2 h ahead; accepts one a few seconds ahead', async () => {
    orcOk(host, env, 'ws', 'create', 'F');
    orcOk(host, env, 't', 'add', 'F', 'future', '--id', 'f1');
    orcOk(host, env, 't', 'claim', 'F', 'f1', 'agent-1'); // lease: 10 minutes
    orcOk(host, env, 'lock', 'acquire', 'deploy', 'agent-1', '--ttl', '600000');
    const ahead = (ms: number) => open({ repo: rogue, agent: 'agent-2', clock: () => new Date(Date.now() + ms), env: testEnv() });
    const later = await ahead(2 * 3600_000);
    resync();
    await later.claimTask('F', 'f1', 'agent-2'); // locally the lease has run out
    expectRefused(push(rogue, 'orc'), /records op task\.claim at \S+, 7\d\d\d s ahead of this server's clock/);
    resync();
    await later.acquireLock('deploy', 'agent-2');
    expectRefused(push(rogue, 'orc'), 'records op lock.acquire at');
    resync();
    await later.completeTask('F', 'f1', 'gave up', { agent: 'agent-2', failed: true });
    expectRefused(push(rogue, 'orc'), "ahead of this server's clock");
    const tip = resync();
    const soon = await ahead(5_000);
    await soon.writeKnowledge('soon', 'within the skew');
    expectAccepted(push(rogue, 'orc'));
    expect(remoteTip()).not.toBe(tip);
    expect(JSON.parse(git(bare, 'show', `orc:workstreams/F/tasks/${taskShard('f1')}/f1.json`)).assigned_to).toBe('agent-1');
  });
});

describe('merges', () => {
  it('refuses merges that roll state back: a lock, a done task, a live claim, everything', () => {
    const root = git(bare, 'rev-list', '--max-parents=0', 'orc');
    orcOk(host, env, 'ws', 'create', 'M');
    orcOk(host, env, 't', 'add', 'M', 'to finish', '--id', 'm1');
    orcOk(host, env, 'lock', 'acquire', 'db', 'agent-a');
    const old = remoteTip();
    orcOk(host, env, 'lock', 'release', 'db', 'agent-a');
    orcOk(host, env, 'lock', 'acquire', 'db', 'agent-b'); // token 2
    orcOk(host, env, 't', 'claim', 'M', 'm1', 'agent-b');
    orcOk(host, env, 't', 'complete', 'M', 'm1', 'done');
    orcOk(host, env, 't', 'add', 'M', 'held', '--id', 'm2');
    orcOk(host, env, 't', 'claim', 'M', 'm2', 'agent-c');
    const tip = resync();
    const lockPath = 'locks/db.json';
    const m1 = `workstreams/M/tasks/${taskShard('m1')}/m1.json`;
    const m2 = `workstreams/M/tasks/${taskShard('m2')}/m2.json`;
    const merge = (tree: string, parents: string[]) => forge(tip, { tree, parents, message: 'Merge\n' });
    const oldLock = treeWith(tip, lockPath, git(rogue, 'show', `${old}:${lockPath}`));
    expectRefused(push(rogue, `${merge(oldLock, [tip, old])}:refs/heads/orc`), `is a merge that changes ${lockPath} by hand`);
    const pending = treeWith(tip, m1, git(rogue, 'show', `${old}:${m1}`));
    expectRefused(push(rogue, `${merge(pending, [tip, old])}:refs/heads/orc`), `is a merge that changes ${m1} by hand`);
    const noClaim = treeWith(tip, m2, null);
    expectRefused(push(rogue, `${merge(noClaim, [tip, old])}:refs/heads/orc`), `is a merge that changes ${m2} by hand`);
    const wiped = git(rogue, 'rev-parse', `${root}^{tree}`);
    expectRefused(push(rogue, `${merge(wiped, [tip, root])}:refs/heads/orc`), 'is a merge that changes workstreams/M/workstream.json by hand');
    // The old commit as first parent: the ops the tip brings, replayed on it, must all be there.
    expectRefused(push(rogue, `${merge(git(rogue, 'rev-parse', `${old}^{tree}`), [old, tip])}:refs/heads/orc`), `is a merge that lacks the change to ${lockPath}`);
    expect(remoteTip()).toBe(tip);
    // ... and with them all there, it is the tip's state: accepted.
    expectAccepted(push(rogue, `${merge(git(rogue, 'rev-parse', `${tip}^{tree}`), [old, tip])}:refs/heads/orc`));
  });

  it("accepts a merge of two hosts' ops whichever side is first", () => {
    const a = rogueClone('a');
    const b = rogueClone('b');
    orcOk(a, env, 'kb', 'write', 'from-a', 'A');
    orcOk(a, env, 't', 'add', 'W', 'from a', '--id', 'ta');
    orcOk(b, env, 'kb', 'write', 'from-b', 'B');
    orcOk(b, env, 't', 'add', 'W', 'from b', '--id', 'tb');
    expectAccepted(push(a, 'orc'));
    git(b, 'fetch', '-q', 'origin', 'orc:refs/remotes/origin/orc');
    const theirs = git(b, 'rev-parse', 'refs/remotes/origin/orc');
    const ours = git(b, 'rev-parse', 'orc');
    const tree = git(b, 'merge-tree', '--write-tree', ours, theirs).split('\n')[0]!;
    expectAccepted(push(b, `${forge(ours, { tree, parents: [ours, theirs], message: 'Merge\n' }, b)}:refs/heads/orc`));
  });
});

describe('a new state branch', () => {
  it('is checked in full, even when its commits were pushed under another name first', () => {
    const { bare: bare2, base: base2 } = bareRemote();
    orcOk(base2, env, 'hooks', 'install', '--remote-repo', bare2);
    const tip = resync();
    const bad = forge(tip, { tree: treeWith(tip, 'agents/x.json', '[') });
    const to = `file://${bare2}`;
    expectAccepted(push(rogue, `${bad}:refs/heads/scratch`, to));
    expectRefused(push(rogue, `${bad}:refs/heads/orc`, to), 'agents/x.json is not valid JSON');
    expect(gitE(bare2, env, 'rev-parse', '-q', '--verify', 'refs/heads/orc').code).not.toBe(0);
    expectAccepted(push(rogue, `${tip}:refs/heads/orc`, to));
  });
});

describe('bounds and authors', () => {
  it('refuses a merge of 10,000 parents, a 30 MB subject, and an op authored by another agent', () => {
    const tip = resync();
    const tree = git(rogue, 'rev-parse', `${tip}^{tree}`);
    const many = forge(tip, { tree, parents: Array<string>(10_000).fill(tip), message: 'Merge\n' });
    expectRefused(push(rogue, `${many}:refs/heads/orc`), 'has more than 8 parents');
    const big = forge(tip, { tree, parents: [tip, `${tip}~1`].map((r) => git(rogue, 'rev-parse', r)), message: `${'x'.repeat(30 << 20)}\n` });
    expectRefused(push(rogue, `${big}:refs/heads/orc`), /names commit \w+ of 3\d{7} bytes; the limit is 1048576/);
    orcOk(rogue, env, 'a', 'heartbeat', 'agent-1');
    const beat = git(rogue, 'rev-parse', 'orc');
    const c = readCommit(rogue, beat);
    expect(c.author).toMatch(/^agent-1 <agent-1@orc\.invalid> /);
    const lying = forge(beat, { author: c.author.replace(/agent-1/g, 'agent-2') });
    expectRefused(push(rogue, `${lying}:refs/heads/orc`), 'records op agent.heartbeat by agent-1, but is authored by "agent-2 <agent-2@orc.invalid>"');
    const otherTrailer = forge(beat, { message: c.message.replace('Orc-Agent: agent-1', 'Orc-Agent: agent-2') });
    expectRefused(push(rogue, `${otherTrailer}:refs/heads/orc`), 'its Orc-Agent trailer names "agent-2"');
    expectAccepted(push(rogue, 'orc'));
  });
});

describe("trees git's fsck would flag", () => {
  it('refuses duplicate and unsorted entries, bad, zero-padded and non-file modes, and .git-like names', () => {
    const tip = resync();
    const root = git(rogue, 'rev-parse', `${tip}^{tree}`);
    const blob = (s: string) => writeObject(rogue, 'blob', s);
    const agent = blob('{"id":"mal","type":"worker","capabilities":[],"status":"active","registered_at":"2026-01-01T00:00:00.000Z","last_heartbeat":"2026-01-01T00:00:00.000Z"}\n');
    const agents = folder(rogue, root, 'agents');
    const dup = gitOrder([...agents, { mode: '100644', name: 'mal.json', oid: agent }]);
    const i = dup.findIndex((e) => e.name === 'mal.json');
    dup.splice(i + 1, 0, { mode: '100644', name: 'mal.json', oid: blob('not json') });
    const cases: [string, Entry[], string, string][] = [
      ['agents', dup, 'has the entry "mal.json" twice (git fsck: duplicateEntries)', 'duplicateEntries'],
      ['agents', [...gitOrder([...agents, { mode: '100644', name: 'mal.json', oid: agent }])].reverse(), 'out of git\'s order', 'treeNotSorted'],
      ['', gitOrder(lsTree(rogue, root)).map((e) => (e.mode === '40000' ? { ...e, mode: '040000' } : e)), 'zero-padded mode 040000', 'zeroPaddedFilemode'],
      ['knowledge', [{ mode: '100664', name: 'x.md', oid: blob('x') }], 'mode 100664', 'badFilemode'],
      ['knowledge', [{ mode: '120000', name: 'x.md', oid: blob('/etc/passwd') }], 'has a symbolic link "x.md"', ''],
      ['knowledge', [{ mode: '160000', name: 'x.md', oid: tip }], 'has a submodule (gitlink) "x.md"', ''],
      ['knowledge', [{ mode: '100755', name: 'x.md', oid: blob('x') }], 'has an executable file "x.md"', ''],
    ];
    for (const name of ['.git', '.GIT', 'git~1', 'GIT~1', '.git.', '.git ', '.gitmodules', '.GitModules', 'gitmod~1', 'gi7eba~9', '.gitattributes', '.mailmap', '.g\u200cit', '\ufeff.git', '.git\u200f', 'x\\.git']) {
      cases.push(['knowledge', [{ mode: '100644', name, oid: blob('x') }], `has an entry ${JSON.stringify(name)}, which some file system takes for .git`, 'hasDotgit']);
    }
    const flagged: string[] = [];
    for (const [dir, entries, reason] of cases) {
      const c = forge(tip, { tree: withFolder(rogue, root, dir, entries), parents: [tip], message: 'x\n' });
      const r = push(rogue, `${c}:refs/heads/orc`);
      expectRefused(r, reason);
      flagged.push(reason);
    }
    expect(flagged).toHaveLength(cases.length);
    expect(remoteTip()).toBe(tip);
  });
});

describe('bounded time and memory of the hook process', () => {
  let stats = '';
  let measured: NodeJS.ProcessEnv;
  beforeAll(() => {
    const dir = tmpDir('orc-measure-');
    stats = path.join(dir, 'stats.jsonl');
    const preload = path.join(dir, 'stats.cjs');
    fs.writeFileSync(preload, "process.on('exit', () => require('fs').appendFileSync(process.env.HOOK_STATS_FILE, JSON.stringify({ rssKb: process.resourceUsage().maxRSS, ms: performance.now() }) + '\\n'));\n");
    fs.writeFileSync(path.join(dir, 'orc'), `#!/bin/sh\nexec '${process.execPath}' --require '${preload}' '${ORC_BIN}' "$@"\n`, { mode: 0o755 });
    measured = hookEnv({ PATH: `${dir}:${BARE_PATH}`, HOOK_STATS_FILE: stats });
  });
  const lastStats = (): { rssKb: number; ms: number } => JSON.parse(fs.readFileSync(stats, 'utf8').trim().split('\n').pop()!);

  it('refuses a zlib bomb, a tree nested 5,000 deep and a commit with 10,000 parents within 10 s and 300 MB each', () => {
    const tip = resync();
    const root = git(rogue, 'rev-parse', `${tip}^{tree}`);
    // 64 MiB of zeros, about 64 KB compressed.
    const bomb = writeObject(rogue, 'blob', Buffer.alloc(64 << 20));
    const withBomb = forge(tip, { tree: withFolder(rogue, root, 'knowledge', [{ mode: '100644', name: 'bomb.md', oid: bomb }]), parents: [tip], message: 'x\n' });
    let deep = writeObject(rogue, 'tree', Buffer.concat([Buffer.from('100644 x.md\0'), Buffer.from(writeObject(rogue, 'blob', 'deep'), 'hex')]));
    for (let i = 0; i < 5000; i++) deep = writeObject(rogue, 'tree', Buffer.concat([Buffer.from('40000 a\0'), Buffer.from(deep, 'hex')]));
    const withDeep = forge(tip, { tree: withFolder(rogue, root, 'knowledge', [{ mode: '40000', name: 'a', oid: deep }]), parents: [tip], message: 'x\n' });
    const parents = forge(tip, { tree: root, parents: Array<string>(10_000).fill(tip), message: 'Merge\n' });
    const runs: [string, string | RegExp][] = [
      [withBomb, /names blob \w+ of 67108864 bytes; the limit is 16777216 \(knowledge\/bomb\.md\)/],
      [withDeep, 'has folders nested deeper than 102 levels'],
      [parents, 'has more than 8 parents'],
    ];
    const seen: { rssKb: number; ms: number }[] = [];
    for (const [c, reason] of runs) {
      expectRefused(push(rogue, `${c}:refs/heads/orc`, url, measured), reason);
      const s = lastStats();
      seen.push(s);
      expect(s.ms).toBeLessThan(10_000);
      expect(s.rssKb).toBeLessThan(300 * 1024);
    }
    console.log(`hook process per hostile push: ${seen.map((s) => `${Math.round(s.ms)} ms, ${Math.round(s.rssKb / 1024)} MB`).join('; ')}`);
  });
});

describe('reserved event actions', () => {
  it('refuses a free-form event with an action orc itself records', () => {
    const tip = resync();
    orcOk(rogue, env, 'event', 'deploy_started', '{"env":"prod"}');
    const honest = git(rogue, 'rev-parse', 'orc');
    const seg = git(rogue, 'diff', '--name-only', tip, honest).split('\n').find((p) => p.startsWith('events/'))!;
    const c = readCommit(rogue, honest);
    const swap = (action: string, data: string) => {
      const text = git(rogue, 'show', `${honest}:${seg}`).replace(/"action":"deploy_started","env":"prod"\}$/, `"action":"${action}",${data}}`);
      return forge(honest, {
        tree: treeWith(honest, seg, `${text}\n`),
        message: c.message.replace('"input":{"action":"deploy_started","data":{"env":"prod"}}', `"input":{"action":"${action}","data":{${data}}}`),
      });
    };
    expectRefused(push(rogue, `${swap('knowledge_written', '"topic":"fake","bytes":1')}:refs/heads/orc`), 'records a free-form event "knowledge_written", an action only orc itself records');
    expectRefused(push(rogue, `${swap('task_completed', '"workstream":"W","task_id":"t1","title":"x","result":null')}:refs/heads/orc`), 'records a free-form event "task_completed"');
    const fakeLink = `"workstream":"W","task_id":"nope","commit":"${tip}","branch":"main","subject":"fake"`;
    expectRefused(push(rogue, `${swap('code_committed', fakeLink)}:refs/heads/orc`), 'records a free-form event "code_committed", an action only orc itself records; free-form events may not use it');
    expectRefused(push(rogue, `${swap('code_committed', '"workstream":"W","task_id":"t1","commit":"../../etc","branch":"main","subject":"fake"')}:refs/heads/orc`), 'records a free-form event "code_committed"');
    // The honest free-form event passes.
    expectAccepted(push(rogue, 'orc'));
  });

  it("accepts orc's own code_committed, recorded by the post-commit hook", () => {
    resync();
    git(rogue, 'commit', '-q', '--allow-empty', '-m', 'real work\n\nOrc-Task: W/t1');
    orcOk(rogue, env, 'hooks', 'run', 'post-commit');
    expect(git(rogue, 'log', '-1', '--format=%s', 'orc')).toMatch(/^link [0-9a-f]{12} to W\/t1$/);
    expect(git(rogue, 'log', '-1', '--format=%B', 'orc')).toMatch(/Orc-Op: \{"op":"code\.commit"/);
    expectAccepted(push(rogue, 'orc'));
  });
});

describe("orc's own traffic through the guard", () => {
  it('4 hosts racing next, locks, knowledge and heartbeats: every op is accepted, none refused by the hook', async () => {
    const { bare: bare3, base: base3 } = bareRemote();
    orcOk(base3, env, 'hooks', 'install', '--remote-repo', bare3);
    const to = `file://${bare3}`;
    const seed = path.join(tmpDir('orc-seed-'), 'seed');
    gitE(path.dirname(seed), env, 'clone', '-q', to, seed);
    git(seed, 'commit', '-q', '--allow-empty', '-m', 'init');
    expect(push(seed, 'main', to).code).toBe(0);
    orcOk(seed, env, 'ws', 'create', 'R');
    for (let i = 1; i <= 8; i++) orcOk(seed, env, 't', 'add', 'R', `task ${i}`, '--id', `r${i}`);
    orcOk(seed, env, 'init', '--remote', 'origin');
    const hosts = [1, 2, 3, 4].map((n) => {
      const dir = rogueClone(`h${n}`, to);
      git(dir, 'config', 'orc.remote', 'origin');
      return dir;
    });
    const script = (n: number) =>
      [
        `orc t next R agent-${n}`,
        `orc lock acquire L agent-${n} && orc lock release L agent-${n}`,
        `orc kb write notes/h${n} 'from host ${n}'`,
        `orc a heartbeat agent-${n}`,
      ].join('; ');
    const runs = await Promise.all(
      hosts.map(
        (dir, i) =>
          new Promise<string>((resolve) => {
            const p = spawn('sh', ['-c', script(i + 1)], { cwd: dir, env });
            let err = '';
            p.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
            p.on('close', () => resolve(err));
          }),
      ),
    );
    for (const err of runs) {
      expect(err).not.toMatch(/declined|pre-receive|refused \(|check failed/);
    }
    orcOk(seed, env, 'sync');
    const tasks = JSON.parse(orcOk(seed, env, 't', 'list', 'R', '--json')) as { status: string; assigned_to: string | null }[];
    expect(tasks.filter((t) => t.status === 'in_progress').length).toBe(4);
    expect(git(bare3, 'log', '--format=%s', 'orc')).toMatch(/write knowledge notes\/h4/);
  });
});
