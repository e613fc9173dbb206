// orc benchmark, waiting instead of polling:
//
//   9a. CPU time of idle waiters over WAIT_IDLE_S seconds (default 60): `t next --wait`, `lock acquire --wait`, `orc watch`
//       (utime + stime from /proc/PID/stat; target < 1% of a core each)
//   9b. wake-up latency: the commit that frees the work (made in this process through the library) to the waiter's
//       answer on stdout, median / max of a few rounds (target < 1 s); for a task added and for a lock released
//
// Called by run.mjs; `node bench/wait.mjs` runs it alone (after `npm run build`).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { childEnv, makeRepo, max, median, ms, nowMs, table } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = { idleCpuPct: 1, wakeMs: 1000 };
const CLK_TCK = 100; // Linux's USER_HZ

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

/** A long-running orc child; resolves `ready` once its stderr matches `re`. */
function child(node, cli, repo, env, args, re) {
  const p = spawn(node, [cli, ...args], { cwd: repo, env });
  let out = '';
  let err = '';
  const waiters = [];
  p.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  p.stderr.on('data', (d) => {
    err += d;
    for (const w of waiters.splice(0)) w();
  });
  const until = (test, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`orc ${args.join(' ')}: no ${what} after 30 s: ${err}`)), 30_000);
      const check = () => {
        if (test()) {
          clearTimeout(timer);
          resolve(nowMs());
        } else waiters.push(check);
      };
      check();
    });
  return { p, ready: until(() => re.test(err), String(re)), answered: () => until(() => out.trim().length > 0, 'answer on stdout'), stop: () => p.kill('SIGTERM') };
}

export async function waitBench({ tmp, env, cli, node, progress, idleS = Number(process.env.WAIT_IDLE_S ?? 60), rounds = 8 }) {
  const repo = makeRepo(tmp, 'wait');
  const e = { ...env, ORC_AGENT: 'bench' };
  const o = await open({ repo, env: e });
  await o.createWorkstream('W');
  await o.acquireLock('deploy', 'holder', '1h');

  progress(`wait: ${idleS} s of idle waiters (t next --wait, lock acquire --wait, watch)`);
  const idle = [
    ['t next W --wait', child(node, cli, repo, e, ['t', 'next', 'W', '--wait', '--timeout', String(idleS + 60)], /waiting for a claimable task/)],
    ['lock acquire deploy --wait', child(node, cli, repo, e, ['lock', 'acquire', 'deploy', 'w1', '--wait', '--timeout', String(idleS + 60)], /waiting for lock/)],
    ['watch', child(node, cli, repo, e, ['watch'], /watching/)],
  ];
  for (const [, c] of idle) await c.ready;
  const before = idle.map(([, c]) => cpuSeconds(c.p.pid));
  const t0 = nowMs();
  await new Promise((r) => setTimeout(r, idleS * 1000));
  const wall = (nowMs() - t0) / 1000;
  const cpuPct = idle.map(([, c], i) => ((cpuSeconds(c.p.pid) - before[i]) / wall) * 100);
  for (const [, c] of idle) c.stop();

  progress(`wait: wake-up latency, ${rounds} rounds each`);
  const task = [];
  const lock = [];
  for (let i = 0; i < rounds; i++) {
    const w = child(node, cli, repo, e, ['t', 'next', 'W', `w${i}`, '--wait', '--timeout', '60'], /waiting for a claimable task/);
    await w.ready;
    const answered = w.answered();
    await o.addTask('W', `wake ${i}`);
    const t = nowMs();
    task.push((await answered) - t);
    w.stop();
    const holder = i === 0 ? 'holder' : `l${i - 1}`;
    const l = child(node, cli, repo, e, ['lock', 'acquire', 'deploy', `l${i}`, '--wait', '--timeout', '60', '--ttl', '1h'], /waiting for lock/);
    await l.ready;
    const granted = l.answered();
    await o.releaseLock('deploy', holder);
    const t2 = nowMs();
    lock.push((await granted) - t2);
    l.stop();
  }

  const missed = [];
  const rows = idle.map(([name], i) => {
    const okCpu = cpuPct[i] < TARGET.idleCpuPct;
    if (!okCpu) missed.push(`wait: ${name} used ${cpuPct[i].toFixed(2)}% of a core idle (target < ${TARGET.idleCpuPct}%)`);
    return [`${name}: CPU over ${wall.toFixed(0)} s idle`, `${cpuPct[i].toFixed(3)}%`, `< ${TARGET.idleCpuPct}% ${okCpu ? 'ok' : 'MISSED'}`];
  });
  for (const [name, s] of [
    ['task added -> t next --wait claims it', task],
    ['lock released -> lock acquire --wait granted', lock],
  ]) {
    const okWake = max(s) < TARGET.wakeMs;
    if (!okWake) missed.push(`wait: ${name} took up to ${ms(max(s))} (target < ${TARGET.wakeMs} ms)`);
    rows.push([`${name}, median / max of ${s.length}`, `${ms(median(s))} / ${ms(max(s))}`, `< ${TARGET.wakeMs} ms ${okWake ? 'ok' : 'MISSED'}`]);
  }
  return {
    results: { idle_s: wall, idle_cpu_pct: Object.fromEntries(idle.map(([n], i) => [n, cpuPct[i]])), wake_task_ms: task, wake_lock_ms: lock },
    tables: [table('9. Waiting instead of polling: idle cost and wake-up latency (local repo, fs.watch on the git dir)', ['measure', 'value', 'target'], rows)],
    missed,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-wait-'));
  try {
    const r = await waitBench({ tmp, env: childEnv(), cli: path.join(ROOT, 'dist', 'cli', 'bin.cjs'), node: process.execPath, progress: (m) => process.stderr.write(`[bench] ${m}\n`) });
    process.stdout.write(`${r.tables.join('\n')}\n${r.missed.length ? `\nMISSED: ${r.missed.join('; ')}\n` : ''}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
