/**
 * Many hosts, one remote (DESIGN.md "Across hosts"): 4 clones of a bare repo,
 * each a host, race for 40 tasks and for one lock through the remote, once
 * over file:// and once over git:// (a real `git daemon` on 127.0.0.1).
 * Each host is a loop of real `orc` processes; the hosts run concurrently.
 * Proves: every task claimed at most once, exactly one lock winner, and every
 * success a host reported is on the remote's branch.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, orcJson } from '../helpers.js';
import { maxOverlap, runOrc, type ProcResult } from '../race-helpers.js';
import { bareRemote, cloneHost, fileUrl, gitRaw, remoteSubjects, seedRemote, servedRemote } from './daemon.js';

interface Task {
  id: string;
  status: string;
  assigned_to: string | null;
}
interface Lock {
  resource: string;
  agent: string;
  token: number;
}

const HOSTS = 4;
const TASKS = 40;

const served = servedRemote();

const transports: [string, () => { bare: string; url: string }][] = [
  ['file://', () => {
    const r = bareRemote();
    return { bare: r.bare, url: fileUrl(r.bare) };
  }],
  ['git:// (git daemon on 127.0.0.1)', () => ({ bare: served.remote.bare, url: served.daemon.url() })],
];

describe.each(transports)('%s: 4 hosts race for 40 tasks and one lock', (_name, makeRemote) => {
  it('claims each task at most once, has one lock winner, and every reported success is on the remote', async () => {
    const { bare, url } = makeRemote();
    await seedRemote(url, TASKS);
    const hosts = Array.from({ length: HOSTS }, (_, i) => cloneHost(url, `host-${i + 1}`));
    const tipBefore = git(bare, 'rev-parse', 'orc');

    // The lock: all hosts at once.
    const lockRuns = await Promise.all(hosts.map((h, i) => runOrc(h, ['lock', 'acquire', 'deploy', `host-${i + 1}`, '--json'])));
    const winners = lockRuns.map((r, i) => ({ r, agent: `host-${i + 1}` })).filter(({ r }) => r.code === 0);
    expect(winners.length, lockRuns.map((r) => `${r.code} ${r.stderr}`).join('\n')).toBe(1);
    for (const r of lockRuns) if (r.code !== 0) {
      // The losers were refused by the state (exit 1: held), not by an error.
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/lock "deploy" is held by host-\d/);
    }
    const winner = winners[0]!.agent;
    const won = JSON.parse(winners[0]!.r.stdout) as Lock;
    expect(won).toMatchObject({ resource: 'deploy', agent: winner, token: 1 });

    // The tasks: each host a loop of `orc t next W host-N --json` until it says null.
    const runs: ProcResult[][] = hosts.map(() => []);
    await Promise.all(
      hosts.map(async (h, i) => {
        for (let n = 0; n < TASKS + 5; n++) {
          const r = await runOrc(h, ['t', 'next', 'W', `host-${i + 1}`, '--json']);
          runs[i]!.push(r);
          if (r.code !== 0) break;
        }
      }),
    );
    expect(maxOverlap(runs.flat())).toBeGreaterThanOrEqual(3);

    const claims = new Map<string, string>(); // task id -> host
    const dup: string[] = [];
    runs.forEach((mine, i) => {
      const agent = `host-${i + 1}`;
      const last = mine[mine.length - 1]!;
      expect({ agent, code: last.code, stdout: last.stdout.trim() }, last.stderr).toEqual({ agent, code: 1, stdout: 'null' });
      for (const r of mine.slice(0, -1)) {
        expect(r.code, r.stderr).toBe(0);
        const t = JSON.parse(r.stdout) as Task;
        expect(t).toMatchObject({ status: 'in_progress', assigned_to: agent });
        if (claims.has(t.id)) dup.push(`${t.id}: ${claims.get(t.id)} and ${agent}`);
        claims.set(t.id, agent);
      }
    });
    expect(dup).toEqual([]);
    expect(claims.size).toBe(TASKS);
    // More than one host got work: it really was a race.
    expect(new Set(claims.values()).size).toBeGreaterThan(1);

    // Every reported success is a commit on the remote's branch, exactly once.
    const subjects = remoteSubjects(bare);
    const claimSubjects = subjects.filter((s) => /^claim W\//.test(s));
    expect(claimSubjects.length).toBe(TASKS);
    for (const [id, agent] of claims) expect(claimSubjects.filter((s) => s.startsWith(`claim W/${id} for ${agent}:`)), id).toHaveLength(1);
    expect(subjects.filter((s) => /^(acquire|renew) lock deploy /.test(s))).toEqual([`acquire lock deploy for ${winner} (token 1)`]);
    // Built on what was there, one commit after another.
    expect(gitRaw(bare, 'merge-base', '--is-ancestor', tipBefore, 'orc').code).toBe(0);
    expect(git(bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
    expect(gitRaw(bare, 'fsck', '--strict', '--no-progress').code).toBe(0);

    // A host that joins now reads the same: every task in progress with the host that reported it, the lock with its winner.
    const fresh = cloneHost(url, 'late-host');
    const tasks = orcJson<Task[]>(fresh, ['t', 'list', 'W']);
    expect(tasks).toHaveLength(TASKS);
    for (const t of tasks) expect({ id: t.id, status: t.status, assigned_to: t.assigned_to }).toEqual({ id: t.id, status: 'in_progress', assigned_to: claims.get(t.id) });
    expect(orcJson<Lock[]>(fresh, ['lock', 'list']).map((l) => [l.resource, l.agent, l.token])).toEqual([['deploy', winner, 1]]);
    // Each host's own branch ended where the remote is or behind it, never beside it.
    for (const h of hosts) expect(gitRaw(h, 'merge-base', '--is-ancestor', 'orc', git(fresh, 'rev-parse', 'orc')).code, path.basename(h)).toBe(0);
  });
});
