/**
 * Group commit on one host: many `orc` processes in one clone, their
 * exclusive ops queued through the host's leader (a lock file in
 * <commondir>/orc/group) and published in batches through a real git daemon.
 * Every reported success is on the remote, no task is claimed twice, one lock
 * holder; a leader killed with SIGKILL at any point loses nothing and no op
 * is applied twice; the remote sees fewer pushes than ops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORC_BIN, git, testEnv } from '../helpers.js';
import { cloneHost, remoteSubjects, seedRemote, servedRemote, sleep } from './daemon.js';

const served = servedRemote();

interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(cwd: string, args: string[]): Proc {
  const child = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((r) => child.on('close', (code, signal) => r({ code: code ?? -1, signal, stdout, stderr })));
  return { child, done };
}

/** Counts the pushes the remote accepts (a post-update hook appends a line per push). */
function countPushes(bare: string): () => number {
  const log = path.join(bare, 'pushes.log');
  fs.writeFileSync(path.join(bare, 'hooks', 'post-update'), `#!/bin/sh\necho "$@" >> '${log}'\n`, { mode: 0o755 });
  return () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
}

/** The remote's claim commits as [task, agent], in order (a task claimed twice shows twice). */
function remoteClaims(bare: string): [string, string][] {
  return remoteSubjects(bare).flatMap((s) => {
    const m = /^claim W\/(\S+) for (\S+):/.exec(s);
    return m ? [[m[1]!, m[2]!] as [string, string]] : [];
  });
}

describe('group commit: many processes on one host', () => {
  it('queues 12 processes through one leader: no task twice, one lock holder, every success on the remote, fewer pushes than ops', async () => {
    await seedRemote(served.daemon.url(), 30);
    const pushes = countPushes(served.remote.bare);
    const host = cloneHost(served.daemon.url(), 'group-host');
    const before = pushes();
    const procs = Array.from({ length: 12 }, (_, i) => [start(host, ['t', 'next', 'W', `agent-${i}`, '--json']), start(host, ['lock', 'acquire', 'db', `agent-${i}`, '--json'])]);
    const res = await Promise.all(procs.flat().map((p) => p.done));
    const next = res.filter((_, i) => i % 2 === 0);
    const locks = res.filter((_, i) => i % 2 === 1);
    const why = res.map((r) => `${r.code} ${r.stdout.trim()} ${r.stderr.trim()}`).join('\n');
    // Every call waited its turn: 12 claims, one lock winner, 11 refused with exit 1, nothing failed with ENV.
    expect(next.map((r) => r.code), why).toEqual(Array(12).fill(0));
    const claimed = next.map((r) => (JSON.parse(r.stdout) as { id: string }).id);
    expect(new Set(claimed).size, why).toBe(12);
    expect(locks.filter((r) => r.code === 0).length, why).toBe(1);
    expect(locks.filter((r) => r.code === 1).length, why).toBe(11);
    // On the remote: exactly these claims, once each.
    const onRemote = remoteClaims(served.remote.bare);
    expect(onRemote.length).toBe(12);
    expect(onRemote.map(([id, agent]) => `${id} ${agent}`).sort()).toEqual(claimed.map((id, i) => `${id} agent-${i}`).sort());
    expect(remoteSubjects(served.remote.bare).filter((s) => s.startsWith('acquire lock db ')).length).toBe(1);
    // Batched: 13 commits in fewer pushes.
    expect(pushes() - before).toBeLessThan(13);
    // The queue folder is left empty: no request or outcome behind, no leader.
    const dir = path.join(git(host, 'rev-parse', '--git-common-dir'), 'orc', 'group');
    const left = fs.readdirSync(path.resolve(host, dir)).filter((n) => n !== 'state.json');
    expect(left).toEqual([]);
  });

  it('a leader killed with SIGKILL mid-queue, again and again: the next takes over; nothing reported lost, nothing applied twice', async () => {
    git(served.remote.base, 'init', '-q', '--bare', '-b', 'main', 'kill.git');
    const bare = path.join(served.remote.base, 'kill.git');
    await seedRemote(served.daemon.url('kill.git'), 40, 'W');
    const host = cloneHost(served.daemon.url('kill.git'), 'kill-host');
    const common = path.resolve(host, git(host, 'rev-parse', '--git-common-dir'));
    const lockFile = path.join(common, 'orc', 'group', 'leader.lock');
    const procs = Array.from({ length: 16 }, (_, i) => start(host, ['t', 'next', 'W', `agent-${i}`, '--json']));
    const byPid = new Map(procs.map((p) => [p.child.pid!, p]));
    const killed = new Set<number>();
    let running = true;
    void Promise.all(procs.map((p) => p.done)).then(() => (running = false));
    // Kill whoever leads, at random moments, up to 5 times (only our own children).
    for (let round = 0; round < 400 && running && killed.size < 5; round++) {
      await sleep(5 + Math.random() * 60);
      let pid = 0;
      try {
        pid = Number(/^(\d+)/.exec(fs.readFileSync(lockFile, 'utf8'))?.[1] ?? 0);
      } catch {
        continue;
      }
      if (byPid.has(pid) && !killed.has(pid)) {
        byPid.get(pid)!.child.kill('SIGKILL');
        killed.add(pid);
      }
    }
    const res = await Promise.all(procs.map((p) => p.done));
    const why = res.map((r, i) => `agent-${i}: ${r.code} ${r.signal ?? ''} ${r.stdout.trim()} ${r.stderr.trim()}`).join('\n');
    expect(killed.size, why).toBeGreaterThan(0);
    const onRemote = remoteClaims(bare);
    const ids = onRemote.map(([id]) => id);
    // No task claimed twice on the remote.
    expect(new Set(ids).size, onRemote.join('\n')).toBe(ids.length);
    res.forEach((r, i) => {
      const agent = `agent-${i}`;
      const mine = onRemote.filter(([, a]) => a === agent).map(([id]) => id);
      if (r.signal === 'SIGKILL') {
        // Killed: its op may or may not have landed, never twice.
        expect(mine.length, why).toBeLessThanOrEqual(1);
        return;
      }
      // Every survivor got its answer (no ENV), and what it reported is on the remote, once.
      expect(r.code, why).toBe(0);
      const id = (JSON.parse(r.stdout) as { id: string }).id;
      expect(mine.length, `${agent}\n${onRemote.join('\n')}`).toBe(1);
      expect(mine[0], `${agent}\n${onRemote.join('\n')}`).toBe(id);
    });
  });
});
