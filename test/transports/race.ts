/**
 * The multi-host checks every transport must pass (the ones test/sync/race.test.ts
 * and test/sync/offline.test.ts make over file:// and git://), for a remote
 * reached by any URL with any client environment (GIT_SSH_COMMAND for ssh):
 * hosts racing for tasks and one lock, and a host whose remote went away
 * replaying its queued ops when it is back. Real git, real `orc` processes.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'vitest';
import { git, orc, testEnv, tmpDir } from '../helpers.js';
import { catFileBatch, maxOverlap, runOrc, sleep, type ProcResult } from '../race-helpers.js';
import { gitRaw, remoteSubjects } from '../sync/daemon.js';

export interface Task {
  id: string;
  status: string;
  assigned_to: string | null;
}
export interface Lock {
  resource: string;
  agent: string;
  token: number;
}

/** A remote as the hosts see it: where it is on disk (to check), its URL and what a client needs to reach it. */
export interface Reach {
  bare: string;
  url: string;
  env: Record<string, string>;
}

/** `orc ARGS` with the transport's environment that must exit 0. */
export function orcOkEnv(cwd: string, args: string[], env: Record<string, string>): string {
  const r = orc(cwd, args, { env });
  if (r.code !== 0) throw new Error(`orc ${args.join(' ')} in ${cwd} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function orcJsonEnv<T>(cwd: string, args: string[], env: Record<string, string>): T {
  return JSON.parse(orcOkEnv(cwd, [...args, '--json'], env)) as T;
}

/** A clone of the remote through its transport, made a host with `orc init --remote origin` (orc's git children get `env`). */
export function cloneVia(r: Reach, name: string): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  const c = spawnSync('git', ['clone', '-q', r.url, dir], { env: testEnv(r.env), encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`git clone ${r.url} failed: ${c.stderr}`);
  orcOkEnv(dir, ['init', '--remote', 'origin'], r.env);
  expect(git(dir, 'config', 'orc.remote')).toBe('origin');
  return dir;
}

/**
 * Checks the lock's whole life on the remote's branch, commit by commit:
 * every change of its file either keeps the holder and token (renew,
 * release), or gives it to the next token while it was released or had
 * expired. So there was one holder at a time and the fencing tokens grew by
 * one with each new holder. Returns each grant as "agent token".
 */
export function lockLife(bare: string, resource: string): { grants: string[]; problems: string[] } {
  const tip = git(bare, 'rev-parse', 'orc');
  const file = git(bare, 'ls-tree', '-r', '--name-only', tip, '--', 'locks')
    .split('\n')
    .find((p) => {
      const b = catFileBatch(bare, [`${tip}:${p}`])[0];
      return b !== null && b !== undefined && (JSON.parse(b.toString('utf8')) as Lock).resource === resource;
    });
  if (!file) return { grants: [], problems: [] };
  const commits = git(bare, 'log', '--reverse', '--format=%H', 'orc', '--', file).split('\n').filter(Boolean);
  const blobs = catFileBatch(bare, commits.flatMap((c) => [`${c}:${file}`, `${c}^:${file}`]));
  interface Rec extends Lock {
    acquired_at: string;
    expires_at: string;
    released_at: string | null;
  }
  const grants: string[] = [];
  const problems: string[] = [];
  let lastToken = 0;
  commits.forEach((c, i) => {
    const now = JSON.parse(blobs[2 * i]!.toString('utf8')) as Rec;
    const before = blobs[2 * i + 1] ? (JSON.parse(blobs[2 * i + 1]!.toString('utf8')) as Rec) : null;
    if (before && now.token === before.token) {
      if (now.agent !== before.agent) problems.push(`${c}: token ${now.token} moved from ${before.agent} to ${now.agent}`);
      if (before.released_at) problems.push(`${c}: token ${now.token} changed after its release`);
      return;
    }
    if (now.token !== lastToken + 1) problems.push(`${c}: token ${now.token} after ${lastToken}`);
    lastToken = now.token;
    if (now.released_at) problems.push(`${c}: granted already released`);
    if (before && !before.released_at && Date.parse(now.acquired_at) < Date.parse(before.expires_at)) {
      problems.push(`${c}: ${now.agent} got token ${now.token} at ${now.acquired_at} while ${before.agent} held ${before.token} until ${before.expires_at}`);
    }
    grants.push(`${now.agent} ${now.token}`);
  });
  return { grants, problems };
}

/**
 * `hosts` clones race for `tasks` tasks (each host a loop of `orc t next`
 * processes) and for one lock (all at once; then each host takes and gives it
 * back `rounds` times, retrying while it is held).
 */
export async function raceHosts(r: Reach, o: { hosts: number; tasks: number; rounds: number }): Promise<void> {
  const hosts = Array.from({ length: o.hosts }, (_, i) => cloneVia(r, `host-${i + 1}`));
  const tipBefore = git(r.bare, 'rev-parse', 'orc');
  const run = (h: string, args: string[]) => runOrc(h, args, { env: r.env });

  // The lock: all hosts at once, one winner; the others refused by the state (exit 1), not by an error.
  const lockRuns = await Promise.all(hosts.map((h, i) => run(h, ['lock', 'acquire', 'deploy', `host-${i + 1}`, '--json'])));
  const winners = lockRuns.map((x, i) => ({ x, agent: `host-${i + 1}` })).filter(({ x }) => x.code === 0);
  expect(winners.length, lockRuns.map((x) => `${x.code} ${x.stderr}`).join('\n')).toBe(1);
  for (const x of lockRuns) if (x.code !== 0) {
    expect(x.code, x.stderr).toBe(1);
    expect(x.stderr).toMatch(/lock "deploy" is held by host-\d/);
  }
  const winner = winners[0]!.agent;
  expect(JSON.parse(winners[0]!.x.stdout)).toMatchObject({ resource: 'deploy', agent: winner, token: 1 });
  const rel = await run(hosts[Number(winner.slice(5)) - 1]!, ['lock', 'release', 'deploy', winner, '--json']);
  expect(rel.code, rel.stderr).toBe(0);

  // Tasks and lock rounds at once: each host a loop of `t next` until null, beside a loop of acquire/release.
  const runs: ProcResult[][] = hosts.map(() => []);
  const reportedGrants: string[] = [`${winner} 1`];
  const problems: string[] = [];
  await Promise.all(
    hosts.flatMap((h, i) => {
      const agent = `host-${i + 1}`;
      const claims = async () => {
        for (let n = 0; n < o.tasks + 5; n++) {
          const x = await run(h, ['t', 'next', 'W', agent, '--json']);
          runs[i]!.push(x);
          if (x.code !== 0) break;
        }
      };
      const locks = async () => {
        const holder = `${agent}-lock`;
        for (let round = 0; round < o.rounds; round++) {
          let got: Lock | null = null;
          for (let tries = 0; tries < 300 && !got && !problems.length; tries++) {
            const x = await run(h, ['lock', 'acquire', 'deploy', holder, '--ttl', '5m', '--json']);
            if (x.code === 0) got = JSON.parse(x.stdout) as Lock;
            else if (x.code === 1 && /held by host-\d-lock/.test(x.stderr)) await sleep(200 + Math.random() * 400);
            else return void problems.push(`${holder} acquire exited ${x.code}: ${x.stderr}`);
          }
          if (problems.length) return;
          if (!got) return void problems.push(`${holder} never got the lock`);
          reportedGrants.push(`${holder} ${got.token}`);
          const y = await run(h, ['lock', 'release', 'deploy', holder, '--json']);
          if (y.code !== 0) return void problems.push(`${holder} release exited ${y.code}: ${y.stderr}`);
          if ((JSON.parse(y.stdout) as Lock).token !== got.token) problems.push(`${holder} released another token: ${y.stdout}`);
        }
      };
      return [claims(), locks()];
    }),
  );
  expect(problems).toEqual([]);
  expect(maxOverlap(runs.flat())).toBeGreaterThanOrEqual(2);

  const claims = new Map<string, string>(); // task id -> host
  const dup: string[] = [];
  runs.forEach((mine, i) => {
    const agent = `host-${i + 1}`;
    const last = mine[mine.length - 1]!;
    expect({ agent, code: last.code, stdout: last.stdout.trim() }, last.stderr).toEqual({ agent, code: 1, stdout: 'null' });
    for (const x of mine.slice(0, -1)) {
      expect(x.code, x.stderr).toBe(0);
      const t = JSON.parse(x.stdout) as Task;
      expect(t).toMatchObject({ status: 'in_progress', assigned_to: agent });
      if (claims.has(t.id)) dup.push(`${t.id}: ${claims.get(t.id)} and ${agent}`);
      claims.set(t.id, agent);
    }
  });
  expect(dup).toEqual([]);
  expect(claims.size).toBe(o.tasks);

  // Every reported success is a commit on the remote's branch, exactly once.
  const subjects = remoteSubjects(r.bare);
  const claimSubjects = subjects.filter((s) => /^claim W\//.test(s));
  expect(claimSubjects.length).toBe(o.tasks);
  for (const [id, agent] of claims) expect(claimSubjects.filter((s) => s.startsWith(`claim W/${id} for ${agent}:`)), id).toHaveLength(1);
  // One holder at a time, tokens 1..N, and the grants are the reported ones.
  const life = lockLife(r.bare, 'deploy');
  expect(life.problems).toEqual([]);
  expect(life.grants).toEqual([...reportedGrants].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1])));
  expect(life.grants).toHaveLength(1 + o.hosts * o.rounds);
  expect(subjects.filter((s) => /^release lock deploy /.test(s))).toHaveLength(1 + o.hosts * o.rounds);
  // Built on what was there, one commit after another.
  expect(gitRaw(r.bare, 'merge-base', '--is-ancestor', tipBefore, 'orc').code).toBe(0);
  expect(git(r.bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
  expect(gitRaw(r.bare, 'fsck', '--strict', '--no-progress').code).toBe(0);

  // A host that joins now reads the same.
  const fresh = cloneVia(r, 'late-host');
  const tasks = orcJsonEnv<Task[]>(fresh, ['t', 'list', 'W'], r.env);
  expect(tasks).toHaveLength(o.tasks);
  for (const t of tasks) expect({ id: t.id, status: t.status, assigned_to: t.assigned_to }).toEqual({ id: t.id, status: 'in_progress', assigned_to: claims.get(t.id) });
  expect(orcJsonEnv<Lock[]>(fresh, ['lock', 'list'], r.env)).toEqual([]);
  // Each host's own branch ended where the remote is or behind it, never beside it (its tip is on the remote's line).
  for (const h of hosts) expect(gitRaw(fresh, 'merge-base', '--is-ancestor', git(h, 'rev-parse', 'orc'), 'orc').code, path.basename(h)).toBe(0);
}

const NOT_PUBLISHED = /^orc: committed locally, not yet published to "origin": remote "origin" cannot be reached/m;

/**
 * The server goes away (stop) and comes back (start): meanwhile exclusive ops
 * exit 3 naming the remote and the others commit locally; `orc sync` then
 * publishes them in order on top of what another host published since.
 */
export async function offlineReplay(r: Reach, server: { stop(): Promise<void>; start(): Promise<void> }): Promise<void> {
  const a = cloneVia(r, 'host-a');
  const b = cloneVia(r, 'host-b');
  orcOkEnv(a, ['t', 'claim', 'W', 't-00', 'host-a'], r.env);
  expect(orc(a, ['status'], { env: r.env }).stdout).toMatch(/^remote origin: in sync /m);
  const tipBefore = git(r.bare, 'rev-parse', 'orc');

  await server.stop();

  const localBefore = git(a, 'rev-parse', 'orc');
  for (const args of [['t', 'claim', 'W', 't-01', 'host-a'], ['lock', 'acquire', 'deploy', 'host-a']]) {
    const x = orc(a, args, { env: r.env });
    expect({ args, code: x.code }, x.stderr).toEqual({ args, code: 3 });
    expect(x.stderr).toMatch(/^orc: remote "origin" cannot be reached \(.+\); exclusive ops need it/);
    expect(x.stdout).toBe('');
  }
  expect(git(a, 'rev-parse', 'orc')).toBe(localBefore);

  const queued = [
    ['t', 'add', 'W', 'added offline', '--id', 'off-1'],
    ['kb', 'write', 'notes/outage', 'the remote went away'],
    ['event', 'outage', '{"seen_by":"host-a"}'],
  ];
  for (const args of queued) {
    const x = orc(a, args, { env: r.env });
    expect({ args, code: x.code }, x.stderr).toEqual({ args, code: 0 });
    expect(x.stderr).toMatch(NOT_PUBLISHED);
  }
  const made = git(a, 'log', '--reverse', '--format=%s', `${localBefore}..orc`).split('\n');
  expect(made).toEqual(['add task W/off-1: added offline', 'write knowledge notes/outage (20 bytes)', 'event outage']);
  expect(git(r.bare, 'rev-parse', 'orc')).toBe(tipBefore);
  expect(orc(a, ['sync'], { env: r.env }).code).toBe(3);

  await server.start(); // same port

  // Another host publishes first, so host-a's queue is replayed on top of it.
  orcOkEnv(b, ['t', 'claim', 'W', 't-01', 'host-b'], r.env);
  const report = orcJsonEnv<{ went_out: number; replayed: number; refused: unknown[]; came_in: number }>(a, ['sync'], r.env);
  expect(report).toMatchObject({ went_out: 3, replayed: 3, refused: [] });
  expect(report.came_in).toBeGreaterThanOrEqual(1);
  expect(git(r.bare, 'log', '--reverse', '--format=%s', `${tipBefore}..orc`).split('\n')).toEqual(['claim W/t-01 for host-b: task 1', ...made]);
  expect(git(r.bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
  expect(gitRaw(r.bare, 'fsck', '--strict', '--no-progress').code).toBe(0);
  expect(git(a, 'rev-parse', 'orc')).toBe(git(r.bare, 'rev-parse', 'orc'));

  // host-b reads host-a's offline work, and exclusive ops work again through the remote.
  orcOkEnv(b, ['sync'], r.env);
  expect(orc(b, ['kb', 'read', 'notes/outage'], { env: r.env }).stdout).toBe('the remote went away');
  orcOkEnv(a, ['lock', 'acquire', 'deploy', 'host-a'], r.env);
  expect(remoteSubjects(r.bare).at(-1)).toMatch(/^acquire lock deploy for host-a/);
}
