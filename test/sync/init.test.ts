/**
 * `orc init --remote NAME`: a clone made later picks the state up; a remote
 * that does not exist is a usage error naming it; `orc status` says whether
 * the branch is in sync with the remote or how far ahead it is.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, orcOk, seedRemote, takeOffline } from './daemon.js';

afterAll(cleanup);

interface Task {
  id: string;
  status: string;
  assigned_to: string | null;
}

describe('orc init --remote', () => {
  it('in a clone made later picks up the state: tasks, claims, knowledge; `orc status` says in sync, then N ahead after offline ops', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    const seed = await seedRemote(url, 3);
    orcOk(seed, ['t', 'claim', 'W', 't-01', 'host-seed']);
    orcOk(seed, ['kb', 'write', 'howto', 'ask the remote']);

    // A plain clone: git does not fetch refs/heads/orc into a local branch, orc init --remote does.
    const dir = path.join(tmpDir('orc-late-'), 'late');
    expect(spawnSync('git', ['clone', '-q', url, dir], { env: testEnv() }).status).toBe(0);
    expect(spawnSync('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/orc'], { cwd: dir, env: testEnv() }).status).not.toBe(0);
    const init = orcJson<{ remote: string; report: { came_in: number; went_out: number; remote_tip: string } }>(dir, ['init', '--remote', 'origin']);
    expect(init.remote).toBe('origin');
    expect(init.report.went_out).toBe(0);
    expect(init.report.remote_tip).toBe(git(bare, 'rev-parse', 'orc'));
    expect(git(dir, 'rev-parse', 'orc')).toBe(git(bare, 'rev-parse', 'orc'));
    expect(git(dir, 'config', 'orc.remote')).toBe('origin');

    const tasks = orcJson<Task[]>(dir, ['t', 'list', 'W']);
    expect(tasks.map((t) => [t.id, t.status, t.assigned_to]).sort()).toEqual([
      ['t-00', 'pending', null],
      ['t-01', 'in_progress', 'host-seed'],
      ['t-02', 'pending', null],
    ]);
    expect(orc(dir, ['kb', 'read', 'howto']).stdout).toBe('ask the remote');

    // Status, text and JSON.
    expect(orc(dir, ['status']).stdout).toMatch(/^remote origin: in sync \(as of the last fetch/m);
    expect(orcJson<{ remote: unknown }>(dir, ['status']).remote).toEqual({ name: 'origin', tracking: git(bare, 'rev-parse', 'orc'), ahead: 0, behind: 0 });

    const back = takeOffline(bare);
    try {
      orc(dir, ['t', 'add', 'W', 'offline one']);
      orc(dir, ['kb', 'write', 'howto', 'the remote is away']);
      orc(dir, ['a', 'heartbeat', 'late-host']);
    } finally {
      back();
    }
    expect(orc(dir, ['status']).stdout).toMatch(/^remote origin: 3 ahead, 0 behind /m);
    expect(orcJson<{ remote: { ahead: number; behind: number } }>(dir, ['status']).remote).toMatchObject({ ahead: 3, behind: 0 });

    // Behind: another host publishes; after a fetch (any remote op does one), status counts it.
    orcOk(seed, ['t', 'complete', 'W', 't-01', 'done', '--agent', 'host-seed']);
    orcOk(dir, ['sync']);
    expect(orc(dir, ['status']).stdout).toMatch(/^remote origin: in sync /m);
    expect(orcJson<Task[]>(dir, ['t', 'list', 'W']).find((t) => t.id === 't-01')!.status).toBe('done');
  });

  it('names a remote that does not exist (exit 2) and sets nothing', () => {
    const repo = tmpRepo();
    const r = orc(repo, ['init', '--remote', 'nosuchremote']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^orc: no git remote "nosuchremote"/);
    expect(spawnSync('git', ['config', 'orc.remote'], { cwd: repo, env: testEnv() }).status).toBe(1);
    // An unreachable remote that exists is an environment error (exit 3) naming it, also in a clone.
    git(repo, 'remote', 'add', 'gone', fileUrl(path.join(tmpDir(), 'missing.git')));
    const g = orc(repo, ['init', '--remote', 'gone']);
    expect(g.code).toBe(3);
    expect(g.stderr).toMatch(/remote "gone" cannot be reached/);
  });

  it('publishes a host’s existing local state to an empty remote, and a second host with its own local state is replayed onto it', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    const one = tmpRepo();
    orcOk(one, ['ws', 'create', 'one-ws']);
    git(one, 'remote', 'add', 'origin', url);
    orcOk(one, ['init', '--remote', 'origin']);
    expect(git(bare, 'rev-parse', 'orc')).toBe(git(one, 'rev-parse', 'orc'));

    const two = tmpRepo();
    orcOk(two, ['ws', 'create', 'two-ws']);
    orcOk(two, ['kb', 'write', 'two-topic', 'two']);
    git(two, 'remote', 'add', 'origin', url);
    const r = orc(two, ['init', '--remote', 'origin', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const late = cloneHost(url, 'three');
    expect(orcJson<{ name: string }[]>(late, ['ws', 'list']).map((w) => w.name).sort()).toEqual(['one-ws', 'two-ws']);
    expect(orcJson<string[]>(late, ['kb', 'list'])).toEqual(['two-topic']);
    expect(git(bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
  });
});
