/**
 * Many hosts at once, with crashes: 8 clones of one bare remote served by a
 * real `git daemon`, 4 worker loops of `orc` processes on each (32 at a
 * time), racing for tasks and for one lock, while SIGKILL lands at random
 * moments of the processes' lives. Afterwards: every op that reported success
 * is on the remote, no task was claimed twice, the lock had one holder at a
 * time with fencing tokens growing by one, and the remote is fsck-clean.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git } from '../helpers.js';
import { fsck, fsckProblems, sleep, spawnOrc, type OrcProc } from '../race-helpers.js';
import { GitDaemon, bareRemote, cloneHost, remoteSubjects, seedRemote } from '../sync/daemon.js';
import { lockLife, orcJsonEnv, type Lock, type Task } from './race.js';

const HOSTS = 8;
const PER_HOST = 4;
const TASKS = 40;
/** Worker loops stop starting processes after this long (each process then runs to its end). */
const RUN_MS = 20_000;

/** True when the ref lock at `lockPath` was left by a process that is gone: an orc holder whose pid is dead, or older than 10 s. */
function leftByDeadProcess(lockPath: string): boolean {
  let text: string;
  let age: number;
  try {
    age = Date.now() - fs.statSync(lockPath).mtimeMs;
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return false;
  }
  const m = /^orc (\d+) (\S+)\n/.exec(text);
  if (m && m[2] === os.hostname()) {
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  return age > 10_000;
}

function parsed<T>(stdout: string): T | undefined {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    return undefined;
  }
}

describe('8 hosts x 4 processes through git daemon, killed at random', () => {
  let remote: ReturnType<typeof bareRemote>;
  let daemon: GitDaemon;
  beforeAll(async () => {
    remote = bareRemote();
    daemon = await GitDaemon.start(remote.base);
  });
  afterAll(async () => {
    await daemon?.stop();
    cleanup();
  });

  it('loses nothing that reported success, claims no task twice, and has one lock holder at a time', async () => {
    const url = daemon.url();
    await seedRemote(url, TASKS);
    const hosts = Array.from({ length: HOSTS }, (_, i) => cloneHost(url, `host-${i + 1}`));

    const claims: { agent: string; id: string }[] = [];
    const acquired: string[] = []; // "agent token"
    const released: string[] = [];
    const problems: string[] = [];
    const killed = new Set<OrcProc>();
    let landed = 0;
    let staleLocks = 0;
    let ok = 0;
    const durations: number[] = [];
    const life = () => {
      if (durations.length < 5) return 400;
      const recent = durations.slice(-40).sort((x, y) => x - y);
      return recent[Math.floor(recent.length / 2)]!;
    };
    const t0 = Date.now();

    // One process: started, maybe killed at a random moment of a typical life, its end classified.
    const step = async (host: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null> => {
      const p = spawnOrc(host, args);
      if (Math.random() < 0.4) {
        setTimeout(() => {
          if (p.running() && p.child.kill('SIGKILL')) killed.add(p);
        }, life() * (0.1 + 0.8 * Math.random()));
      }
      const r = await p.done;
      if (killed.has(p) && r.signal === 'SIGKILL') {
        landed++;
        return null;
      }
      durations.push(r.endedAt - r.startedAt);
      if (r.code === 3 && /rm '([^']+)'/.test(r.stderr)) {
        // A process killed between taking the clone's ref lock and renaming it: do what the message says, once
        // sure (synchronously) that the file there is still the dead one's.
        const lockPath = /rm '([^']+)'/.exec(r.stderr)![1]!;
        if (leftByDeadProcess(lockPath)) fs.rmSync(lockPath, { force: true });
        staleLocks++;
        return null;
      }
      return r;
    };

    const worker = async (h: number, w: number) => {
      const host = hosts[h]!;
      const agent = `h${h + 1}p${w + 1}`;
      let tasksLeft = true;
      for (let k = 0; Date.now() - t0 < RUN_MS; k++) {
        if (tasksLeft && k % 3 !== 2) {
          const r = await step(host, ['t', 'next', 'W', agent, '--json']);
          if (!r) continue;
          if (r.code === 0) {
            ok++;
            const t = parsed<Task>(r.stdout);
            if (!t || t.assigned_to !== agent || t.status !== 'in_progress') problems.push(`${agent} t next printed ${r.stdout}`);
            else claims.push({ agent, id: t.id });
          } else if (r.code === 1 && r.stdout.trim() === 'null') tasksLeft = false;
          else problems.push(`${agent} t next exited ${r.code}: ${r.stderr}`);
          continue;
        }
        const a = await step(host, ['lock', 'acquire', 'deploy', agent, '--ttl', '4s', '--json']);
        if (!a) continue;
        if (a.code === 1 && /lock "deploy" is held by h\d+p\d+/.test(a.stderr)) {
          await sleep(Math.random() * 200);
          continue;
        }
        if (a.code !== 0) {
          problems.push(`${agent} lock acquire exited ${a.code}: ${a.stderr}`);
          continue;
        }
        ok++;
        const lock = parsed<Lock>(a.stdout);
        if (!lock || lock.agent !== agent) {
          problems.push(`${agent} lock acquire printed ${a.stdout}`);
          continue;
        }
        acquired.push(`${agent} ${lock.token}`);
        const rel = await step(host, ['lock', 'release', 'deploy', agent, '--json']);
        if (!rel) continue;
        if (rel.code === 0) {
          ok++;
          released.push(`${agent} ${(parsed<Lock>(rel.stdout) ?? { token: -1 }).token}`);
        } else if (!(rel.code === 1 && /lock "deploy" is ((held|last held \(now expired\)) by h\d+p\d+, not |not held)/.test(rel.stderr))) {
          // Refused only when the lock ran out and another took it over (and maybe released it since); anything else is a problem.
          problems.push(`${agent} lock release exited ${rel.code}: ${rel.stderr}`);
        }
      }
    };
    await Promise.all(hosts.flatMap((_, h) => Array.from({ length: PER_HOST }, (_, w) => worker(h, w))));

    console.log(`8x4 race: ${ok} successes, ${claims.length} claims, ${acquired.length} lock grants, ${landed} kills, ${staleLocks} stale ref locks, ${Math.round((Date.now() - t0) / 1000)} s`);
    expect(problems).toEqual([]);
    // It was a race with crashes: processes were killed, and others succeeded.
    expect(landed).toBeGreaterThanOrEqual(5);
    expect(claims.length).toBeGreaterThanOrEqual(5);
    expect(acquired.length).toBeGreaterThanOrEqual(1);

    // The remote is sound and linear.
    const f = fsck(remote.bare);
    expect(fsckProblems(f.output), f.output).toEqual([]);
    expect(git(remote.bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');

    // No task claimed twice: not by what processes reported, not on the remote (killed ones included).
    const subjects = remoteSubjects(remote.bare);
    expect(new Set(claims.map((c) => c.id)).size).toBe(claims.length);
    const claimed = subjects.filter((s) => /^(claim|take over|renew claim of)/.test(s) && / W\//.test(s));
    const perTask = new Map<string, number>();
    for (const s of claimed) {
      const id = /W\/(t-\d+)/.exec(s)![1]!;
      perTask.set(id, (perTask.get(id) ?? 0) + 1);
    }
    expect([...perTask].filter(([, n]) => n > 1)).toEqual([]);
    expect(claimed.every((s) => s.startsWith('claim W/'))).toBe(true);
    // Every reported claim is on the remote, with the agent that reported it.
    for (const c of claims) expect(subjects.filter((s) => s.startsWith(`claim W/${c.id} for ${c.agent}:`)), c.id).toHaveLength(1);

    // The lock: one holder at a time, tokens 1, 2, 3, …; every reported grant and release is on the remote.
    const lock = lockLife(remote.bare, 'deploy');
    expect(lock.problems).toEqual([]);
    for (const g of acquired) expect(lock.grants, g).toContain(g);
    for (const r of released) {
      const [agent, token] = r.split(' ');
      expect(subjects, r).toContain(`release lock deploy by ${agent} (token ${token})`);
    }

    // A host that joins now reads every reported claim.
    const fresh = cloneHost(url, 'late-host');
    const tasks = new Map(orcJsonEnv<Task[]>(fresh, ['t', 'list', 'W'], {}).map((t) => [t.id, t]));
    for (const c of claims) expect(tasks.get(c.id), c.id).toMatchObject({ status: 'in_progress', assigned_to: c.agent });
  }, 180_000);
});
