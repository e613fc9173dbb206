/**
 * Races between real OS processes (each `orc` call is `node dist/cli/main.js`
 * in its own process) on one state branch: DESIGN.md invariants 1–3, and the
 * ref lock left by another process (stale: exit 3 with the fix; fresh: wait).
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson, tmpRepo } from './helpers.js';
import { catFileBatch, commitCount, history, maxOverlap, reflogChain, runOrc, sleep, spawnOrc, stateLockPath, type ProcResult } from './race-helpers.js';

afterAll(cleanup);

const AGENTS = Array.from({ length: 8 }, (_, i) => `agent-${i}`);

interface Task {
  id: string;
  workstream: string;
  title: string;
  status: string;
  assigned_to: string | null;
}
interface Lock {
  resource: string;
  agent: string;
  token: number;
}
interface OrcEvent {
  ts: string;
  agent: string;
  action: string;
  [k: string]: unknown;
}

const allEvents = (repo: string, extra: string[] = []) => orcJson<OrcEvent[]>(repo, ['events', '--last', '100000', ...extra]);

describe('8 processes racing `orc t next` over 40 tasks', () => {
  it('gives every task to exactly one agent, and every reported claim is one commit in the final history', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(orcJson<Task>(repo, ['t', 'add', 'W', `task ${i}`, '--id', `task-${String(i).padStart(2, '0')}`]).id);
    const before = commitCount(repo);
    const tipBefore = git(repo, 'rev-parse', 'orc');
    expect(before).toBe(41);

    // Each agent is a loop of real processes: `t next` until it says null (exit 1).
    const runs = new Map<string, ProcResult[]>();
    await Promise.all(
      AGENTS.map(async (agent) => {
        const mine: ProcResult[] = [];
        runs.set(agent, mine);
        for (let n = 0; n < 60; n++) {
          const r = await runOrc(repo, ['t', 'next', 'W', agent, '--json']);
          mine.push(r);
          if (r.code !== 0) break;
        }
      }),
    );

    // The processes really ran at the same time.
    expect(maxOverlap([...runs.values()].flat())).toBeGreaterThanOrEqual(4);

    const claims: { agent: string; task: Task }[] = [];
    for (const agent of AGENTS) {
      const mine = runs.get(agent)!;
      const last = mine[mine.length - 1]!;
      // The loop ends on "nothing left": exit 1 and `null`, never an error.
      expect({ agent, code: last.code, stdout: last.stdout.trim(), stderr: last.stderr }).toEqual({ agent, code: 1, stdout: 'null', stderr: last.stderr });
      for (const r of mine.slice(0, -1)) {
        expect(r.code, r.stderr).toBe(0);
        const t = JSON.parse(r.stdout) as Task;
        expect(t).not.toBeNull();
        expect(t.status).toBe('in_progress');
        expect(t.assigned_to).toBe(agent);
        claims.push({ agent, task: t });
      }
    }

    // No task claimed twice, and all 40 claimed.
    expect(claims.length).toBe(40);
    expect(new Set(claims.map((c) => c.task.id)).size).toBe(40);
    expect(claims.map((c) => c.task.id).sort()).toEqual([...ids].sort());

    // Every reported claim is in the final state with that agent.
    const final = orcJson<Task[]>(repo, ['t', 'list', 'W']);
    const byId = new Map(final.map((t) => [t.id, t]));
    expect(final.length).toBe(40);
    for (const c of claims) {
      expect(byId.get(c.task.id)?.status).toBe('in_progress');
      expect(byId.get(c.task.id)?.assigned_to).toBe(c.agent);
    }

    // One task_claimed event per reported claim, the same pairs.
    const claimed = allEvents(repo, ['--action', 'task_claimed']);
    expect(claimed.length).toBe(40);
    expect(claimed.map((e) => `${e.agent} ${String(e.task_id)}`).sort()).toEqual(claims.map((c) => `${c.agent} ${c.task.id}`).sort());

    // Exactly one commit per successful op; history stays linear on top of the old tip.
    expect(commitCount(repo)).toBe(before + 40);
    // git's reflog of the branch: one unbroken chain of moves, one per commit.
    expect(reflogChain(repo)).toEqual({ moves: before + 40, breaks: [] });
    expect(git(repo, 'rev-list', '--merges', 'orc')).toBe('');
    expect(git(repo, 'merge-base', '--is-ancestor', tipBefore, 'orc')).toBe('');
    const reachable = new Set(git(repo, 'log', '--format=%H', 'orc').split('\n'));

    // Each claim's own commit: authored by its agent, reachable, and made on a parent where the task was still pending.
    const specs: string[] = [];
    const seen = new Set<string>();
    for (const agent of AGENTS) {
      const mine = claims.filter((c) => c.agent === agent);
      const commits = git(repo, 'log', 'orc', `--author=^${agent} <`, '--format=%H%x09%s')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t') as [string, string]);
      expect(commits.length, `commits authored by ${agent}`).toBe(mine.length);
      for (const c of mine) {
        const hit = commits.filter(([, s]) => s.startsWith(`claim W/${c.task.id} for ${agent}:`));
        expect(hit.length, `commit of ${agent}'s claim of ${c.task.id}`).toBe(1);
        const commit = hit[0]![0];
        expect(reachable.has(commit)).toBe(true);
        expect(seen.has(commit)).toBe(false);
        seen.add(commit);
        const file = git(repo, 'ls-tree', '-r', '--name-only', commit, '--', 'workstreams/W/tasks')
          .split('\n')
          .find((p) => p.endsWith(`/${c.task.id}.json`));
        expect(file).toBeDefined();
        specs.push(`${commit}:${file}`, `${commit}^:${file}`);
      }
    }
    const blobs = catFileBatch(repo, specs);
    for (let i = 0; i < specs.length; i += 2) {
      const after = JSON.parse(blobs[i]!.toString('utf8')) as Task;
      const parent = JSON.parse(blobs[i + 1]!.toString('utf8')) as Task;
      expect(parent.status, `${specs[i + 1]} before the claim`).toBe('pending');
      expect(parent.assigned_to).toBeNull();
      expect(after.status).toBe('in_progress');
    }
  }, 180_000);
});

describe('8 processes racing `orc lock acquire`', () => {
  it('grants the lock to exactly one; then repeated acquire/release keeps one holder at a time with tokens 1..N', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['init']);
    const before = commitCount(repo);

    // All at once: one winner.
    const first = await Promise.all(AGENTS.map((a) => runOrc(repo, ['lock', 'acquire', 'deploy', a, '--json'])));
    const winners = first.map((r, i) => ({ r, agent: AGENTS[i]! })).filter((x) => x.r.code === 0);
    expect(winners.length, first.map((r) => `${r.code} ${r.stderr}`).join('\n')).toBe(1);
    const winner = winners[0]!.agent;
    const lock0 = JSON.parse(winners[0]!.r.stdout) as Lock;
    expect(lock0).toMatchObject({ resource: 'deploy', agent: winner, token: 1 });
    for (const r of first) {
      if (r.code === 0) continue;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`held by ${winner}`);
      expect(r.stdout.trim()).toBe('');
    }
    expect(commitCount(repo)).toBe(before + 1);
    expect(orcJson<Lock[]>(repo, ['lock', 'list'])).toMatchObject([{ resource: 'deploy', agent: winner, token: 1 }]);

    const rel0 = await runOrc(repo, ['lock', 'release', 'deploy', winner, '--json']);
    expect(rel0.code, rel0.stderr).toBe(0);
    expect(JSON.parse(rel0.stdout)).toMatchObject({ resource: 'deploy', agent: winner, token: 1 });

    // Then every agent loops: acquire (retrying on exit 1), release; twice each.
    const ROUNDS = 2;
    const grants: { agent: string; token: number; acquiredAt: number; releasedAt: number }[] = [];
    const problems: string[] = [];
    let refusals = 0;
    await Promise.all(
      AGENTS.map(async (agent) => {
        for (let round = 0; round < ROUNDS; round++) {
          let lock: Lock | null = null;
          let acquiredAt = 0;
          for (let tries = 0; tries < 400 && !lock; tries++) {
            const r = await runOrc(repo, ['lock', 'acquire', 'deploy', agent, '--json']);
            if (r.code === 0) {
              lock = JSON.parse(r.stdout) as Lock;
              acquiredAt = r.endedAt;
              if (lock.agent !== agent || lock.resource !== 'deploy') problems.push(`${agent} got ${r.stdout}`);
            } else if (r.code === 1 && /held by agent-\d/.test(r.stderr)) {
              refusals++;
              await sleep(20 + Math.random() * 60);
            } else {
              problems.push(`${agent} acquire exited ${r.code}: ${r.stderr}`);
              return;
            }
          }
          if (!lock) {
            problems.push(`${agent} never got the lock`);
            return;
          }
          const rel = await runOrc(repo, ['lock', 'release', 'deploy', agent, '--json']);
          if (rel.code !== 0) {
            problems.push(`${agent} release exited ${rel.code}: ${rel.stderr}`);
            return;
          }
          const released = JSON.parse(rel.stdout) as Lock;
          if (released.token !== lock.token || released.agent !== agent) problems.push(`${agent} released ${rel.stdout} after acquiring token ${lock.token}`);
          grants.push({ agent, token: lock.token, acquiredAt, releasedAt: rel.startedAt });
        }
      }),
    );
    expect(problems).toEqual([]);
    const N = 1 + AGENTS.length * ROUNDS;

    // Every token 2..N granted exactly once (1 went to the first race).
    expect(grants.map((g) => g.token).sort((a, b) => a - b)).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 2));
    // Ordered by token, a grant was reported only after the previous holder had asked to release.
    const byToken = [...grants].sort((a, b) => a.token - b.token);
    for (let i = 1; i < byToken.length; i++) expect(byToken[i]!.acquiredAt).toBeGreaterThan(byToken[i - 1]!.releasedAt);

    // The event log: lock_acquired tokens strictly increase in time order, 1..N; each released once.
    const acquired = allEvents(repo, ['--action', 'lock_acquired']);
    expect(acquired.map((e) => e.token)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    for (const e of acquired) expect(e.previous_agent, 'no lock was taken over: every hold ended with a release').toBeUndefined();
    const released = allEvents(repo, ['--action', 'lock_released']);
    expect(released.map((e) => e.token)).toEqual(Array.from({ length: N }, (_, i) => i + 1));

    // The history alternates acquire k by A, release k by A, acquire k+1, …: holds never overlap.
    const lockCommits = history(repo).filter((h) => / lock deploy /.test(h.subject));
    expect(lockCommits.length).toBe(2 * N);
    for (let k = 1; k <= N; k++) {
      const acq = lockCommits[2 * (k - 1)]!;
      const rel = lockCommits[2 * (k - 1) + 1]!;
      expect(acq.subject).toBe(`acquire lock deploy for ${acq.author} (token ${k})`);
      expect(rel.subject).toBe(`release lock deploy by ${acq.author} (token ${k})`);
      expect(rel.author).toBe(acq.author);
    }
    // One commit per successful op (acquire or release); refusals make none.
    expect(refusals).toBeGreaterThan(0);
    expect(commitCount(repo)).toBe(before + 2 * N);
    expect(orcJson<Lock[]>(repo, ['lock', 'list'])).toEqual([]);
  }, 240_000);
});

describe('a mixed race of non-conflicting ops', () => {
  it('keeps every op of 8 processes × 10: one commit and one event each (a known agent\'s heartbeat: its presence ref only), and all the data', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'M']);
    const commitsBefore = commitCount(repo);
    const eventsBefore = allEvents(repo).length;
    expect(eventsBefore).toBe(commitsBefore);

    const opsOf = (n: number) =>
      Array.from({ length: 10 }, (_, i): string[] => {
        const agent = `agent-${n}`;
        switch (i % 4) {
          case 0:
            return ['t', 'add', 'M', `task ${n}-${i}`, `made by ${agent}`, String(1 + (i % 5)), '--id', `t${n}-${i}`, '--agent', agent, '--json'];
          case 1:
            return ['kb', 'write', `notes/${agent}/${i}`, `knowledge ${n} ${i}`, 'second word', '--agent', agent, '--json'];
          case 2:
            return ['a', 'heartbeat', agent, '--json'];
          default:
            return ['event', 'custom_n', JSON.stringify({ n, i }), '--agent', agent, '--json'];
        }
      });
    const failures: string[] = [];
    const all: ProcResult[] = [];
    await Promise.all(
      AGENTS.map(async (_, n) => {
        for (const args of opsOf(n)) {
          const r = await runOrc(repo, args);
          all.push(r);
          if (r.code !== 0) failures.push(`orc ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(maxOverlap(all)).toBeGreaterThanOrEqual(4);

    // Each agent's second heartbeat moves only refs/orc/presence/<agent> (issue 13): 72 commits for 80 ops.
    expect(commitCount(repo)).toBe(commitsBefore + 72);
    expect(reflogChain(repo)).toEqual({ moves: commitsBefore + 72, breaks: [] });
    const events = allEvents(repo);
    expect(events.length).toBe(eventsBefore + 72);
    expect(git(repo, 'rev-list', '--merges', 'orc')).toBe('');

    const tasks = new Map(orcJson<Task[]>(repo, ['t', 'list', 'M']).map((t) => [t.id, t]));
    const agents = new Set(orcJson<{ id: string }[]>(repo, ['a', 'list']).map((a) => a.id));
    const topics = new Set(orcJson<string[]>(repo, ['kb', 'list']));
    for (let n = 0; n < 8; n++) {
      const agent = `agent-${n}`;
      const mine = allEvents(repo, ['--agent', agent]);
      expect(mine.map((e) => e.action).sort(), agent).toEqual(['agent_heartbeat', 'custom_n', 'custom_n', 'knowledge_written', 'knowledge_written', 'knowledge_written', 'task_created', 'task_created', 'task_created']);
      expect(git(repo, 'rev-list', '--count', `--author=^${agent} <`, 'orc')).toBe('9');
      const beats = all.filter((r) => r.stdout.includes(`"id": "${agent}"`)).map((r) => (JSON.parse(r.stdout) as { last_heartbeat: string }).last_heartbeat);
      expect(beats).toHaveLength(2);
      expect(git(repo, 'log', '-1', '--format=%B', `refs/orc/presence/${agent}`)).toContain(`"at":"${beats.sort()[1]}"`);
      expect(agents.has(agent)).toBe(true);
      for (let i = 0; i < 10; i++) {
        if (i % 4 === 0) {
          expect(tasks.get(`t${n}-${i}`)).toMatchObject({ title: `task ${n}-${i}`, status: 'pending', priority: 1 + (i % 5) });
        } else if (i % 4 === 1) {
          expect(topics.has(`notes/${agent}/${i}`)).toBe(true);
          const r = orc(repo, ['kb', 'read', `notes/${agent}/${i}`]);
          expect(r.code).toBe(0);
          expect(r.stdout).toBe(`knowledge ${n} ${i} second word`);
        } else if (i % 4 === 3) {
          expect(mine.filter((e) => e.action === 'custom_n' && e.n === n && e.i === i).length).toBe(1);
        }
      }
    }
    expect(tasks.size).toBe(24);
    expect(topics.size).toBe(24);
  }, 180_000);
});

describe('the ref lock of another process', () => {
  it('a stale refs/heads/orc.lock makes an op exit 3 quickly with the rm fix; after removing it, ops go on', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const lock = stateLockPath(repo);
    const tip = git(repo, 'rev-parse', 'orc');
    fs.writeFileSync(lock, '');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, past, past);

    const t0 = Date.now();
    const r = orc(repo, ['t', 'add', 'W', 'blocked']);
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(3);
    expect(took).toBeLessThan(5_000);
    expect(r.stderr).toContain('rm');
    expect(r.stderr).toContain(lock);
    expect(r.stderr).toContain(`rm '${lock}'`);
    expect(r.stdout).toBe('');
    // Refused without a commit, and orc left the lock for the user to judge.
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);
    expect(fs.existsSync(lock)).toBe(true);
    // Readers are not blocked by a ref lock.
    expect(orcJson<{ commit: string }>(repo, ['status']).commit).toBe(tip);

    // Do what the message says.
    const m = /rm '([^']+)'/.exec(r.stderr);
    expect(m?.[1]).toBe(lock);
    fs.rmSync(m![1]!);
    const after = orcJson<Task>(repo, ['t', 'add', 'W', 'unblocked']);
    expect(after.title).toBe('unblocked');
    expect(commitCount(repo)).toBe(2);
    expect(git(repo, 'rev-parse', 'orc^')).toBe(tip);
  }, 60_000);

  it('a fresh ref lock held for 300 ms makes ops wait, then succeed after it is gone', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const before = commitCount(repo);
    const lock = stateLockPath(repo);
    const fd = fs.openSync(lock, 'wx');
    fs.closeSync(fd);
    const started = Date.now();
    const procs = [0, 1, 2].map((i) => spawnOrc(repo, ['t', 'add', 'W', `waiting ${i}`, '--json']));
    await sleep(Math.max(0, 300 - (Date.now() - started)));
    // None of them may have committed while the lock was there.
    expect(commitCount(repo)).toBe(before);
    expect(procs.every((p) => p.running())).toBe(true);
    const removedAt = Date.now();
    fs.rmSync(lock);
    const results = await Promise.all(procs.map((p) => p.done));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.endedAt).toBeGreaterThanOrEqual(removedAt);
      expect(r.endedAt - removedAt).toBeLessThan(5_000);
    }
    expect(commitCount(repo)).toBe(before + 3);
    const titles = orcJson<Task[]>(repo, ['t', 'list', 'W']).map((t) => t.title).sort();
    expect(titles).toEqual(['waiting 0', 'waiting 1', 'waiting 2']);
  }, 60_000);
});
