/**
 * Waiting instead of polling, with real processes: `t next --wait` wakes on
 * a task added by another process and on a lease running out; of 8 waiters
 * for 3 tasks exactly 3 claim; `lock acquire --wait` serves one host's
 * waiters in the order they came, skipping a killed one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, orc, tmpRepo } from '../helpers.js';
import { start, stopAll, type Proc } from './procs.js';
import { commitCount, ok } from './util.js';

afterAll(cleanup);
afterAll(stopAll);

describe('t next --wait', () => {
  it('wakes when another process adds a task, and claims it', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const w = start(repo, ['t', 'next', 'w', 'a1', '--wait', '--timeout', '60', '--json']);
    await w.saw(/waiting for a claimable task in w/);
    const added = ok<{ id: string }>(repo, ['t', 'add', 'w', 'new work']);
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: added.id, status: 'in_progress', assigned_to: 'a1' });
  }, 60_000);

  it('wakes when a lease runs out, and takes the task over', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const t = ok<{ id: string }>(repo, ['t', 'add', 'w', 'leased']);
    ok(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '2s']);
    const w = start(repo, ['t', 'next', 'w', 'a2', '--wait', '--timeout', '60', '--json']);
    const r = await w.done;
    expect(r.stderr).toMatch(/waiting for a claimable task/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: t.id, assigned_to: 'a2' });
  }, 60_000);

  it('8 waiters for 3 tasks: exactly 3 claims, the other 5 time out with exit 1', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const ws = Array.from({ length: 8 }, (_, i) => start(repo, ['t', 'next', 'w', `a${i}`, '--wait', '--timeout', '12', '--json']));
    await Promise.all(ws.map((w) => w.saw(/waiting for a claimable task/)));
    const ids = [0, 1, 2].map((i) => ok<{ id: string }>(repo, ['t', 'add', 'w', `task ${i}`]).id);
    const rs = await Promise.all(ws.map((w) => w.done));
    const won = rs.filter((r) => r.code === 0).map((r) => JSON.parse(r.stdout) as { id: string; assigned_to: string });
    expect(won.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect(rs.filter((r) => r.code === 1)).toHaveLength(5);
    for (const r of rs.filter((x) => x.code === 1)) expect(r.stdout.trim()).toBe('null');
    const tasks = ok<{ id: string; assigned_to: string }[]>(repo, ['t', 'list', 'w']);
    expect(tasks.map((t) => t.assigned_to).sort()).toEqual(won.map((t) => t.assigned_to).sort());
  }, 60_000);

  it('refuses a bad --timeout with exit 2', () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const before = commitCount(repo);
    const r = orc(repo, ['t', 'next', 'w', 'a1', '--wait', '--timeout', 'soon']);
    expect(r.code).toBe(2);
    // A bare number is seconds here: the message says so (not "milliseconds", as for --lease).
    expect(r.stderr).toMatch(/--timeout must be seconds or a duration like 90s, 10m; got "soon"/);
    // --timeout without --wait would be ignored: refused instead, naming the fix.
    ok(repo, ['t', 'add', 'w', 'x']);
    const before2 = commitCount(repo);
    for (const args of [['t', 'next', 'w', 'a1', '--timeout', '5'], ['lock', 'acquire', 'db', 'a1', '--timeout', '5']]) {
      const u = orc(repo, args);
      expect(u.code, args.join(' ')).toBe(2);
      expect(u.stderr, args.join(' ')).toMatch(/--timeout needs --wait/);
    }
    expect(commitCount(repo)).toBe(before2);
    expect(before2).toBeGreaterThan(before);
  });
});

describe('lock acquire --wait', () => {
  it("serves one host's waiters in the order they came, skipping a waiter that died", async () => {
    const repo = tmpRepo();
    expect(ok<{ token: number }>(repo, ['lock', 'acquire', 'deploy', 'a0']).token).toBe(1);
    const queue: Proc[] = [];
    for (const a of ['w1', 'dead', 'w2', 'w3']) {
      const p = start(repo, ['lock', 'acquire', 'deploy', a, '--wait', '--timeout', '60', '--json']);
      await p.saw(/waiting for lock "deploy"/);
      queue.push(p);
    }
    const [w1, dead, w2, w3] = queue as [Proc, Proc, Proc, Proc];
    dead.child.kill('SIGKILL');
    await dead.done;
    const qdir = path.join(repo, '.git', 'orc', 'waiters');
    expect(fs.readdirSync(qdir)).toHaveLength(1);
    let holder = 'a0';
    const tokens: [string, number][] = [];
    for (const p of [w1, w2, w3]) {
      ok(repo, ['lock', 'release', 'deploy', holder]);
      const r = await p.done;
      expect(r.code).toBe(0);
      const l = JSON.parse(r.stdout) as { agent: string; token: number };
      tokens.push([l.agent, l.token]);
      holder = l.agent;
      // The ones behind are still waiting: only the head was served.
      for (const q of [w1, w2, w3].slice([w1, w2, w3].indexOf(p) + 1)) expect(q.child.exitCode).toBeNull();
    }
    expect(tokens).toEqual([
      ['w1', 2],
      ['w2', 3],
      ['w3', 4],
    ]);
    // Every ticket is gone, the killed waiter's too.
    const left = fs.readdirSync(qdir).flatMap((d) => fs.readdirSync(path.join(qdir, d)));
    expect(left).toEqual([]);
  }, 90_000);

  it('times out with exit 1 while the lock stays held, leaving no ticket', async () => {
    const repo = tmpRepo();
    ok(repo, ['lock', 'acquire', 'deploy', 'a0', '--ttl', '10m']);
    const r = await start(repo, ['lock', 'acquire', 'deploy', 'a1', '--wait', '--timeout', '1500ms']).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lock "deploy" still held/);
    const qdir = path.join(repo, '.git', 'orc', 'waiters');
    expect(fs.readdirSync(qdir).flatMap((d) => fs.readdirSync(path.join(qdir, d)))).toEqual([]);
  }, 30_000);
});

describe('a wait stopped by a signal', () => {
  it('ends with 130 on SIGINT and 143 on SIGTERM, says so, claims nothing and leaves no ticket (a timeout is 1)', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    ok(repo, ['lock', 'acquire', 'deploy', 'a0', '--ttl', '10m']);
    const next = start(repo, ['t', 'next', 'w', 'a1', '--wait', '--json']);
    const lock = start(repo, ['lock', 'acquire', 'deploy', 'a2', '--wait']);
    await next.saw(/waiting for a claimable task/);
    await lock.saw(/waiting for lock "deploy"/);
    next.child.kill('SIGINT');
    lock.child.kill('SIGTERM');
    const [rn, rl] = await Promise.all([next.done, lock.done]);
    expect(rn.code).toBe(130);
    expect(rn.stderr).toMatch(/^orc: interrupted by SIGINT while waiting; no task was claimed in w$/m);
    expect(rn.stderr).not.toMatch(/timeout/);
    expect(rn.stdout).toBe('');
    expect(rl.code).toBe(143);
    expect(rl.stderr).toMatch(/^orc: interrupted by SIGTERM while waiting; lock "deploy" was not acquired$/m);
    expect(ok<{ agent: string }[]>(repo, ['lock', 'list']).map((l) => l.agent)).toEqual(['a0']);
    const qdir = path.join(repo, '.git', 'orc', 'waiters');
    expect(fs.readdirSync(qdir).flatMap((d) => fs.readdirSync(path.join(qdir, d)))).toEqual([]);
  }, 60_000);
});

describe('durations', () => {
  it('takes 90s, 10m, 2h, 1d and plain ms for --lease and --ttl; refuses 10x with exit 2 and no commit', () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const t = ok<{ id: string }>(repo, ['t', 'add', 'w', 'x']);
    expect(ok<{ lease_ms: number }>(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '90s']).lease_ms).toBe(90_000);
    expect(ok<{ lease_ms: number }>(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '2h']).lease_ms).toBe(7_200_000);
    expect(ok<{ lease_ms: number }>(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '1d']).lease_ms).toBe(86_400_000);
    expect(ok<{ lease_ms: number }>(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '5000']).lease_ms).toBe(5000);
    expect(ok<{ ttl_ms: number }>(repo, ['lock', 'acquire', 'db', 'a1', '--ttl', '10m']).ttl_ms).toBe(600_000);
    const before = commitCount(repo);
    const r = orc(repo, ['t', 'claim', 'w', t.id, 'a1', '--lease', '10x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lease must be a duration like 90s, 10m/);
    expect(commitCount(repo)).toBe(before);
  });
});
