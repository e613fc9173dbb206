/**
 * Compaction across 4 hosts (clones of one bare remote with orc's
 * pre-receive hook), one of them offline during two compactions and doing
 * ops meanwhile; then the hook's acceptance of exactly a valid compaction.
 * Real git, the built binary, real pushes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { writeCompaction } from '../../src/ops/compact.js';
import { ORC_BIN, cleanup, git, tmpDir, tmpRepo } from '../helpers.js';
import { bareRemote, gitE, hookEnv, orcOk } from '../hooks/fixtures.js';

afterAll(cleanup);

const DAY = 86_400_000;
const env = hookEnv({ ORC_NO_AUTO_COMPACT: '1' });
const shard = (id: string) => createHash('sha1').update(id).digest('hex').slice(0, 2);
const taskPath = (id: string) => `workstreams/W/tasks/${shard(id)}/${id}.json`;

function orcR(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [ORC_BIN, ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const files = (repo: string, rev = 'orc') => git(repo, 'ls-tree', '-r', '--name-only', rev).split('\n').filter(Boolean);

function host(url: string, name: string): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  expect(gitE(path.dirname(dir), env, 'clone', '-q', url, dir).code).toBe(0);
  orcOk(dir, env, 'init', '--remote', 'origin');
  return dir;
}

/** A remote with the hook, whose state began 20 days ago (old finished tasks, a pending one, a lock), and 4 hosts. */
async function setup() {
  const { bare, base } = bareRemote();
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  const url = `file://${bare}`;
  const seed = tmpRepo();
  git(seed, 'remote', 'add', 'origin', url);
  git(seed, 'push', '-q', 'origin', 'main');
  const then = Date.now() - 20 * DAY;
  const o = await open({ repo: seed, env, clock: () => new Date(then), agent: 'old' });
  await o.createWorkstream('W', 'hosts');
  for (const id of ['old1', 'old2', 'pend']) await o.addTask('W', `task ${id}`, undefined, undefined, { id });
  await o.claimTask('W', 'old1', 'old');
  await o.completeTask('W', 'old1', 'long ago');
  await o.claimTask('W', 'old2', 'old');
  await o.completeTask('W', 'old2', 'long ago', { failed: true });
  await o.acquireLock('db', 'old', 3_600_000);
  orcOk(seed, env, 'init', '--remote', 'origin');
  const hosts = ['h1', 'h2', 'h3', 'h4'].map((n) => host(url, n));
  return { bare, url, hosts };
}

/** A commit made with git plumbing: `tree` plus `files` changed, no parent, `message`, authored as `author`. */
function handCommit(repo: string, tree: string, files: Record<string, string | null>, message: string, author = 'system'): string {
  const dir = tmpDir('orc-index-');
  const e = { ...env, GIT_INDEX_FILE: path.join(dir, 'index'), GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: `${author}@orc.invalid` };
  const run = (...args: string[]) => {
    const r = gitE(repo, e, ...args);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  run('read-tree', tree);
  for (const [p, content] of Object.entries(files)) {
    if (content === null) run('update-index', '--force-remove', p);
    else {
      fs.writeFileSync(path.join(dir, 'blob'), content);
      run('update-index', '--add', '--cacheinfo', `100644,${run('hash-object', '-w', path.join(dir, 'blob'))},${p}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'msg'), message);
  return run('commit-tree', run('write-tree'), '-F', path.join(dir, 'msg'));
}

describe('compaction across 4 hosts, one offline', () => {
  it('the offline host’s ops are replayed onto the new epoch(s) when it comes back; nothing is lost', { timeout: 180_000 }, async () => {
    const { bare, url, hosts } = await setup();
    const [h1, h2, h3, h4] = hosts as [string, string, string, string];

    // h4 goes offline (its remote points at a missing path) and keeps working.
    git(h4, 'remote', 'set-url', 'origin', path.join(tmpDir('orc-gone-'), 'missing.git'));
    for (const id of ['off1', 'off2']) {
      const r = orcR(h4, 't', 'add', 'W', `offline ${id}`, '--id', id);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/not yet published/);
    }
    expect(orcR(h4, 'kb', 'write', 'offline-notes', 'written offline').code).toBe(0);
    expect(orcR(h2, 't', 'add', 'W', 'online 1', '--id', 'on1').code).toBe(0);

    // h1 compacts: decided at the remote, through the hook.
    const before = git(bare, 'rev-parse', 'orc');
    const c = orcR(h1, 'compact', '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ compacted: true, epoch: 1, prev: before, archived_tasks: 2 });
    expect(git(bare, 'rev-list', '--count', 'orc')).toBe('1');
    expect(git(bare, 'rev-parse', 'refs/orc/archive/1')).toBe(before);
    expect(git(h1, 'rev-parse', 'orc')).toBe(git(bare, 'rev-parse', 'orc'));

    // The others notice the new epoch at their next fetch and go on: an exclusive op, a plain one.
    const claim = orcR(h3, 't', 'claim', 'W', 'pend', 'agent-3');
    expect(claim.code, claim.stderr).toBe(0);
    expect(orcR(h2, 't', 'add', 'W', 'online 2', '--id', 'on2').code).toBe(0);
    expect(git(h2, 'rev-list', '--count', 'orc')).toBe(git(bare, 'rev-list', '--count', 'orc'));

    // A second compaction while h4 is still away.
    expect(orcR(h1, 'compact', '--keep-days', '1').code).toBe(0);
    expect(git(bare, 'log', '-1', '--format=%B', 'orc')).toMatch(/^Orc-Epoch: 2$/m);
    expect(orcR(h3, 't', 'add', 'W', 'online 3', '--id', 'on3').code).toBe(0);

    // h4 comes back: its three ops are replayed onto epoch 2, nothing lost.
    git(h4, 'remote', 'set-url', 'origin', url);
    const s = orcR(h4, 'sync', '--json');
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ replayed: 3, refused: [] });
    expect(git(h4, 'rev-parse', 'orc')).toBe(git(bare, 'rev-parse', 'orc'));
    const tree = files(bare);
    for (const id of ['off1', 'off2', 'on1', 'on2', 'on3', 'pend']) expect(tree).toContain(taskPath(id));
    expect(tree).toContain('knowledge/offline-notes.md');
    expect(tree).toContain(`archive/${taskPath('old1')}`);
    expect(JSON.parse(git(bare, 'show', `orc:${taskPath('pend')}`))).toMatchObject({ status: 'in_progress', assigned_to: 'agent-3' });
    // The replayed ops sit on the epoch's root; h4 now keeps the archive refs too.
    expect(git(bare, 'rev-list', '--count', 'orc')).toBe(String(1 + 1 + 3));
    expect(git(h4, 'rev-parse', 'refs/orc/archive/2')).toBe(git(bare, 'rev-parse', 'refs/orc/archive/2'));
    expect(git(bare, 'fsck', '--no-progress', '--no-dangling')).toBe('');

    // History stays reachable: a new clone has no archive refs (not fetched by default); its log and events fetch them on demand.
    const h5 = host(url, 'h5');
    expect(gitE(h5, env, 'rev-parse', '-q', '--verify', 'refs/orc/archive/1').code).not.toBe(0);
    expect(gitE(h5, env, 'cat-file', '-e', `${before}^{commit}`).code).not.toBe(0);
    const log = JSON.parse(orcR(h5, 'log', '--last', '1000', '--json').stdout) as { commit: string }[];
    expect(log.map((e) => e.commit)).toContain(before);
    const ev = JSON.parse(orcR(h5, 'events', '--since', new Date(Date.now() - 21 * DAY).toISOString(), '--last', '1000', '--json').stdout) as { action: string; task_id?: string }[];
    expect(ev.find((e) => e.action === 'task_created' && e.task_id === 'old1')).toBeTruthy();
  });
});

describe('the pre-receive hook and compactions', () => {
  it('accepts exactly a valid compaction pushed with its archive ref; refuses forged ones and a plain force-push', { timeout: 180_000 }, async () => {
    const { bare, url, hosts } = await setup();
    const h = hosts[0]!;
    orcOk(h, env, 'sync');
    const tip = git(bare, 'rev-parse', 'orc');
    const o = await open({ repo: h, env });
    const valid = writeCompaction(o.store, tip, 14, new Date());
    const tree = git(h, 'rev-parse', `${valid.commit}^{tree}`);
    const message = git(h, 'log', '-1', '--format=%B', valid.commit) + '\n';
    const push = (commit: string, archive: string | null = tip) =>
      gitE(h, env, 'push', '--atomic', '--porcelain', `--force-with-lease=refs/heads/orc:${tip}`, url, `+${commit}:refs/heads/orc`, ...(archive ? [`${archive}:refs/orc/archive/1`] : []));
    const refused = (r: { code: number; stdout: string; stderr: string }, why: RegExp) => {
      expect(r.code, r.stdout + r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(why);
      expect(git(bare, 'rev-parse', 'orc')).toBe(tip);
    };

    // Forged: a pending task dropped, a lock removed, an extra file, a live task "archived".
    refused(push(handCommit(h, tree, { [taskPath('pend')]: null }, message)), /changes workstreams\/W\/tasks\/.*pend\.json, which a compaction/);
    refused(push(handCommit(h, tree, { 'locks/db.json': null }, message)), /changes locks\/db\.json/);
    refused(push(handCommit(h, tree, { 'knowledge/extra.md': 'sneaked in' }, message)), /changes knowledge\/extra\.md/);
    refused(push(handCommit(h, tree, { [`archive/${taskPath('old1')}`]: null }, message)), /lacks archive\/workstreams/);
    // Forged trailers: another previous tip, a cutoff in the future, no archive ref.
    refused(push(handCommit(h, tree, {}, message.replace(`Orc-Epoch-Prev: ${tip}`, `Orc-Epoch-Prev: ${git(bare, 'rev-parse', 'orc~1')}`))), /names .* as the previous tip/);
    const future = new Date(Date.now() + 3 * DAY).toISOString();
    refused(push(handCommit(h, tree, {}, message.replace(/"at":"[^"]+"/, `"at":"${future}"`))), /after the server's clock/);
    refused(push(valid.commit, null), /must be pushed with refs\/orc\/archive\/1/);
    // A plain force-push of an older commit is still a rewrite.
    refused(gitE(h, env, 'push', '--porcelain', '--force', url, `${git(bare, 'rev-parse', 'orc~2')}:refs/heads/orc`), /not a fast-forward/);
    // A parentless commit without the compaction's trailers is a rewrite too.
    refused(push(handCommit(h, tree, {}, 'rewrite\n')), /not a fast-forward/);

    // The valid one goes in.
    const ok = push(valid.commit);
    expect(ok.code, ok.stderr).toBe(0);
    expect(git(bare, 'rev-parse', 'orc')).toBe(valid.commit);
    expect(git(bare, 'rev-parse', 'refs/orc/archive/1')).toBe(tip);
    // And ordinary ops go on on top of it, through the hook.
    expect(orcR(hosts[1]!, 't', 'add', 'W', 'after', '--id', 'after1').code).toBe(0);
    expect(files(bare)).toContain(taskPath('after1'));
  });
});
