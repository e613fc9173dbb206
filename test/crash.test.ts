/**
 * SIGKILL in the middle of ops (DESIGN.md invariants 3–5): several workers
 * run loops of real `orc` processes while a killer SIGKILLs them at random
 * moments. Afterwards git fsck is clean, the branch is at a commit whose
 * tree parses, every op that reported success is in the state, and a ref
 * lock left by a killed process is reported with its fix (exit 3) once stale.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson, tmpRepo } from './helpers.js';
import { catFileBatch, changedFiles, commitCount, fsck, fsckProblems, history, sleep, spawnOrc, stateLockPath, type OrcProc, type ProcResult } from './race-helpers.js';

afterAll(cleanup);

interface Task {
  id: string;
  title: string;
  status: string;
  assigned_to: string | null;
}
interface OrcEvent {
  ts: string;
  agent: string;
  action: string;
  [k: string]: unknown;
}

type Kind = 'add' | 'next' | 'kb' | 'event' | 'heartbeat' | 'acquire' | 'release';

interface Attempt {
  worker: number;
  k: number;
  kind: Kind;
  args: string[];
  result: ProcResult;
  killed: boolean;
}

const WORKERS = 4;
const MIN_KILLS = 40;

function argsFor(kind: Kind, w: number, k: number): string[] {
  const agent = `worker-${w}`;
  switch (kind) {
    case 'add':
      return ['t', 'add', 'W', `crash ${w}-${k}`, '--id', `c${w}-${k}`, '--agent', agent, '--json'];
    case 'next':
      return ['t', 'next', 'W', agent, '--json'];
    case 'kb':
      return ['kb', 'write', `crash/${w}-${k}`, `content of ${w}-${k}`, '--agent', agent, '--json'];
    case 'event':
      return ['event', 'crash_ev', JSON.stringify({ w, k }), '--agent', agent, '--json'];
    case 'heartbeat':
      return ['a', 'heartbeat', agent, '--json'];
    case 'acquire':
      return ['lock', 'acquire', `res-${w}`, agent, '--json'];
    case 'release':
      return ['lock', 'release', `res-${w}`, agent, '--json'];
  }
}

const CYCLE: Kind[] = ['add', 'kb', 'next', 'event', 'acquire', 'add', 'heartbeat', 'release', 'next'];

/** Parses stdout if it is one complete JSON value (what orc prints only after the op committed). */
function reported(r: ProcResult): unknown {
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    return undefined;
  }
}

/** True when the ref lock is there and was left by a process that is gone: an orc holder whose pid is dead, or older than 10 s. */
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

describe('SIGKILL during ops', () => {
  it('leaves a clean repo, a parseable branch, and every reported op in the state', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    for (let i = 0; i < 5; i++) orcJson(repo, ['t', 'add', 'W', `seed ${i}`, '--id', `seed-${i}`]);
    const lockPath = stateLockPath(repo);

    const attempts: Attempt[] = [];
    const problems: string[] = [];
    const killedProcs = new Set<OrcProc>();
    let kills = 0;
    let leftLocksInLoop = 0;
    let okCount = 0;
    const t0 = Date.now();

    // Kills land at a random point of the last part of a process's life, where the op runs
    // (node's start-up is the first ~50 ms): the age is drawn from the durations seen so far.
    const durations: number[] = [];
    const typicalLife = () => {
      if (durations.length < 5) return 90;
      const recent = durations.slice(-30).sort((x, y) => x - y);
      return recent[Math.floor(recent.length / 2)]!;
    };
    const maybeKill = (p: OrcProc) => {
      if (Math.random() >= 0.5) return;
      const age = typicalLife() * (0.7 + Math.random() * 0.35);
      setTimeout(() => {
        if (p.running() && p.child.kill('SIGKILL')) {
          killedProcs.add(p);
          kills++;
        }
      }, age);
    };
    const landed = () => attempts.filter((a) => a.killed).length;
    const done = () => (landed() >= MIN_KILLS && okCount >= MIN_KILLS && Date.now() - t0 > 4_000) || Date.now() - t0 > 40_000;

    const worker = async (w: number) => {
      for (let k = 0; !done(); k++) {
        const kind = CYCLE[k % CYCLE.length]!;
        const args = argsFor(kind, w, k);
        const p = spawnOrc(repo, args);
        maybeKill(p);
        const result = await p.done;
        const killed = killedProcs.has(p) && result.signal === 'SIGKILL';
        if (!killed) durations.push(result.endedAt - result.startedAt);
        attempts.push({ worker: w, k, kind, args, result, killed });
        if (killed) continue;
        if (result.code === 0) {
          okCount++;
          if (reported(result) === undefined) problems.push(`orc ${args.join(' ')} exited 0 without JSON: ${result.stdout}`);
        } else if (result.code === 1 && ((kind === 'next' && result.stdout.trim() === 'null') || (kind === 'release' && /not held/.test(result.stderr)))) {
          // refused: nothing to claim, or the acquire before it was killed
        } else if (result.code === 3 && result.stderr.includes('rm ')) {
          // A kill between creating refs/heads/orc.lock and the rename: do what the message says.
          // Other orc processes are running, so first make sure (synchronously: no other handler interleaves)
          // that the file there now is still the dead one and not a live process's new lock.
          const m = /rm '([^']+)'/.exec(result.stderr);
          if (m?.[1] !== lockPath) problems.push(`stale lock message names ${m?.[1]}, not ${lockPath}: ${result.stderr}`);
          else if (leftByDeadProcess(lockPath)) fs.rmSync(lockPath);
          leftLocksInLoop++;
        } else {
          problems.push(`orc ${args.join(' ')} exited ${result.code} (${result.signal}): ${result.stderr}`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    expect(problems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    const killedCount = attempts.filter((a) => a.killed).length;
    expect(killedCount).toBeGreaterThanOrEqual(MIN_KILLS);

    // A lock left behind by a kill: the next op exits 3 with the fix (at once: its holder is dead); remove it as told.
    let leftLockAtEnd = false;
    if (fs.existsSync(lockPath)) {
      leftLockAtEnd = true;
      const r = orc(repo, ['event', 'after_kill']);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`rm '${lockPath}'`);
      fs.rmSync(lockPath);
    }

    // git sees a sound repository: no missing or broken objects, refs or reflogs.
    const f = fsck(repo);
    expect(fsckProblems(f.output), f.output).toEqual([]);
    expect(f.code, f.output).toBe(0);

    // Real git can take the ref lock: nothing was left behind.
    const tip = git(repo, 'rev-parse', 'orc');
    git(repo, 'update-ref', 'refs/heads/orc', tip, tip);

    // orc reads the state at the tip.
    const status = orcJson<{ commit: string; summary: { tasks: { total: number } } }>(repo, ['status']);
    expect(status.commit).toBe(tip);

    // Every op that reported success is in the state.
    const tasks = new Map(orcJson<Task[]>(repo, ['t', 'list', 'W']).map((t) => [t.id, t]));
    const events = orcJson<OrcEvent[]>(repo, ['events', '--last', '1000000']);
    const subjects = new Set(history(repo).map((h) => h.subject));
    const claimedBy = new Map<string, string>();
    let successes = 0;
    for (const a of attempts) {
      const out = reported(a.result);
      if (out === undefined || out === null) continue;
      successes++;
      const agent = `worker-${a.worker}`;
      const what = `${a.args.join(' ')} (${a.killed ? 'killed after reporting' : 'exited'})`;
      switch (a.kind) {
        case 'add': {
          expect(tasks.get(`c${a.worker}-${a.k}`)?.title, what).toBe(`crash ${a.worker}-${a.k}`);
          expect(subjects.has(`add task W/c${a.worker}-${a.k}: crash ${a.worker}-${a.k}`), what).toBe(true);
          break;
        }
        case 'next': {
          const t = out as Task;
          expect(claimedBy.get(t.id), `${t.id} reported claimed twice`).toBeUndefined();
          claimedBy.set(t.id, agent);
          expect(tasks.get(t.id)?.status, what).toBe('in_progress');
          expect(tasks.get(t.id)?.assigned_to, what).toBe(agent);
          expect(subjects.has(`claim W/${t.id} for ${agent}: ${t.title}`), what).toBe(true);
          break;
        }
        case 'kb': {
          const r = orc(repo, ['kb', 'read', `crash/${a.worker}-${a.k}`]);
          expect(r.code, what).toBe(0);
          expect(r.stdout, what).toBe(`content of ${a.worker}-${a.k}`);
          break;
        }
        case 'event': {
          expect(events.filter((e) => e.action === 'crash_ev' && e.w === a.worker && e.k === a.k && e.agent === agent).length, what).toBe(1);
          break;
        }
        case 'heartbeat': {
          // A registering heartbeat is a commit with its event; any other moves only the agent's presence ref (issue 13).
          const hb = (out as { last_heartbeat: string }).last_heartbeat;
          const registered = events.filter((e) => e.action === 'agent_heartbeat' && e.agent === agent && e.ts === hb).length;
          const seen = JSON.parse(git(repo, 'log', '-1', '--format=%B', `refs/orc/presence/${agent}`)) as { at: string };
          expect(registered === 1 || Date.parse(seen.at) >= Date.parse(hb), what).toBe(true);
          break;
        }
        case 'acquire':
        case 'release': {
          const token = (out as { token: number }).token;
          const actions = a.kind === 'release' ? ['lock_released'] : ['lock_acquired', 'lock_renewed'];
          expect(events.filter((e) => actions.includes(e.action) && e.resource === `res-${a.worker}` && e.token === token && e.agent === agent).length, what).toBeGreaterThanOrEqual(1);
          break;
        }
      }
    }
    expect(successes).toBeGreaterThanOrEqual(MIN_KILLS);

    // Killed processes whose op is in the state anyway: the kill came after the CAS (shows kills land inside ops).
    const landedLate = attempts.filter(
      (a) =>
        a.killed &&
        reported(a.result) === undefined &&
        ((a.kind === 'add' && tasks.has(`c${a.worker}-${a.k}`)) || (a.kind === 'event' && events.some((e) => e.action === 'crash_ev' && e.w === a.worker && e.k === a.k))),
    ).length;

    // Fencing tokens still grow by one per grant, per resource, whatever was killed.
    for (let w = 0; w < WORKERS; w++) {
      const tokens = events.filter((e) => e.action === 'lock_acquired' && e.resource === `res-${w}`).map((e) => e.token as number);
      expect(tokens, `tokens of res-${w}`).toEqual(tokens.map((_, i) => i + 1));
    }

    // Each commit is one op with one event: no commit lost its event, no event lacks its commit.
    expect(events.length).toBe(commitCount(repo));

    // Every commit of the branch: linear, with a readable orc.json and every state file it wrote parseable.
    const hist = history(repo);
    for (const h of hist.slice(1)) expect(h.parents.length, h.commit).toBe(1);
    expect(hist[0]!.parents).toEqual([]);
    const configs = catFileBatch(
      repo,
      hist.map((h) => `${h.commit}:orc.json`),
    );
    configs.forEach((b, i) => {
      expect(b, `${hist[i]!.commit}:orc.json`).not.toBeNull();
      expect((JSON.parse(b!.toString('utf8')) as { format: unknown }).format, `${hist[i]!.commit}:orc.json`).toBeDefined();
    });
    const files = changedFiles(repo).filter(([, p]) => p.endsWith('.json') || p.endsWith('.jsonl'));
    const blobs = catFileBatch(
      repo,
      files.map(([c, p]) => `${c}:${p}`),
    );
    files.forEach(([c, p], i) => {
      const text = blobs[i]?.toString('utf8');
      expect(text, `${c}:${p}`).toBeDefined();
      const docs = p.endsWith('.jsonl') ? text!.split('\n').filter(Boolean) : [text!];
      for (const d of docs) expect(() => JSON.parse(d), `${c}:${p}`).not.toThrow();
    });

    // And ops go on.
    orcJson(repo, ['event', 'after_crashes']);
    expect(commitCount(repo)).toBe(hist.length + 1);
    expect(fsckProblems(fsck(repo).output)).toEqual([]);

    console.log(
      `crash test: ${attempts.length} processes, ${killedCount} killed, ${successes} reported successes, ${hist.length} commits, ` +
        `${landedLate} killed after their commit, stale ref locks handled in loop: ${leftLocksInLoop}, at end: ${leftLockAtEnd ? 1 : 0}`,
    );
  }, 180_000);

  /**
   * A process that takes the state branch's ref lock with O_EXCL, as git and orc do, and holds it
   * until killed (or, with `releaseAfterMs`, removes it itself and exits). It writes into it what
   * orc's CAS writes first ("orc PID HOST"), or what git writes (the new commit id).
   */
  async function lockHolder(lockPath: string, as: 'orc' | 'git', releaseAfterMs?: number) {
    const content = as === 'orc' ? '`orc ${process.pid} ${require("os").hostname()}\\n`' : JSON.stringify(`${'0'.repeat(40)}\n`);
    const code = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(lockPath)}, 'wx');
      fs.writeSync(fd, ${content});
      fs.closeSync(fd);
      console.log('locked');
      ${releaseAfterMs === undefined ? 'setInterval(() => {}, 1000);' : `setTimeout(() => { fs.rmSync(${JSON.stringify(lockPath)}); console.log('released'); }, ${releaseAfterMs});`}
    `;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const lines: ((l: string) => void)[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const f of lines) f(out);
    });
    const waitFor = (word: string) => new Promise<number>((resolve) => {
      const check = (o: string) => o.includes(word) && resolve(Date.now());
      lines.push(check);
      check(out);
    });
    await waitFor('locked');
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return {
      child,
      released: () => waitFor('released'),
      kill: async () => {
        child.kill('SIGKILL');
        await closed;
      },
      closed,
    };
  }

  it('a ref lock left by a killed orc on this host: the next op exits 3 at once with the fix; after rm, ops go on', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const tip = git(repo, 'rev-parse', 'orc');
    const lockPath = stateLockPath(repo);

    // What orc's own CAS writes into the lock before it compares: "orc PID HOST".
    const holder = await lockHolder(lockPath, 'orc');
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(`orc ${holder.child.pid} ${os.hostname()}\n`);
    await holder.kill();
    expect(fs.existsSync(lockPath)).toBe(true);

    const t0 = Date.now();
    const r = orc(repo, ['t', 'add', 'W', 'after the crash']);
    expect(r.code, r.stderr).toBe(3);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.stderr).toContain(`rm '${lockPath}'`);
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);
    expect(fs.existsSync(lockPath)).toBe(true);

    fs.rmSync(/rm '([^']+)'/.exec(r.stderr)![1]!);
    expect(orcJson<Task>(repo, ['t', 'add', 'W', 'after the fix']).title).toBe('after the fix');
    expect(git(repo, 'rev-parse', 'orc^')).toBe(tip);
    expect(fsckProblems(fsck(repo).output)).toEqual([]);
  }, 60_000);

  it('a ref lock held by a live orc process is waited for, not reported', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const tip = git(repo, 'rev-parse', 'orc');
    const lockPath = stateLockPath(repo);

    const holder = await lockHolder(lockPath, 'orc', 1_500);
    const p = spawnOrc(repo, ['t', 'add', 'W', 'waited']);
    const releasedAt = await holder.released();
    await holder.closed;
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.endedAt).toBeGreaterThanOrEqual(releasedAt);
    expect(git(repo, 'rev-parse', 'orc^')).toBe(tip);
    expect(orcJson<Task[]>(repo, ['t', 'list', 'W']).map((t) => t.title)).toEqual(['waited']);
  }, 60_000);

  it('a ref lock left by a killed non-orc process (as git would leave it): ops wait while it is fresh, exit 3 with the fix once stale', async () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const tip = git(repo, 'rev-parse', 'orc');
    const lockPath = stateLockPath(repo);

    // git writes the new value into the lock: no holder to check, so only its age tells.
    const holder = await lockHolder(lockPath, 'git');
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(`${'0'.repeat(40)}\n`);
    const lockedAt = fs.statSync(lockPath).mtimeMs;
    await holder.kill();
    expect(fs.existsSync(lockPath)).toBe(true);

    const p = spawnOrc(repo, ['t', 'add', 'W', 'after the crash']);
    await sleep(3_000);
    // Still waiting: a fresh lock may belong to a live process.
    expect(p.running()).toBe(true);
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);
    const r = await p.done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.endedAt - lockedAt).toBeGreaterThanOrEqual(10_000);
    expect(r.endedAt - lockedAt).toBeLessThan(20_000);
    expect(r.stderr).toContain(`rm '${lockPath}'`);
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);

    // Remove it as the message says; ops go on, and git agrees all is well.
    fs.rmSync(/rm '([^']+)'/.exec(r.stderr)![1]!);
    expect(orcJson<Task>(repo, ['t', 'add', 'W', 'after the fix']).title).toBe('after the fix');
    expect(git(repo, 'rev-parse', 'orc^')).toBe(tip);
    expect(fsckProblems(fsck(repo).output)).toEqual([]);
  }, 60_000);
});
