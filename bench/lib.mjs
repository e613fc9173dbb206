// Small helpers shared by the benchmark scripts: statistics, git, processes, tables.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const sorted = (a) => [...a].sort((x, y) => x - y);

export function median(a) {
  if (a.length === 0) return NaN;
  const s = sorted(a);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile. */
export function pct(a, p) {
  if (a.length === 0) return NaN;
  const s = sorted(a);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const max = (a) => a.reduce((m, x) => (x > m ? x : m), -Infinity);
export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Runs git; throws with its stderr when it fails. */
export function git(cwd, ...args) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

/** A fresh non-bare repository with automatic gc and orc's packing off, so nothing repacks behind the benchmark's back. */
export function makeRepo(root, name) {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'gc.auto', '0');
  git(dir, 'config', 'orc.packing', 'false');
  // No automatic compaction either: a branch built with a month of history would start one, detached,
  // in the middle of what is being timed, and archive the big branch's done tasks under it. The month
  // bench compacts when it means to, with `orc compact`.
  git(dir, 'config', 'orc.compaction', 'false');
  return dir;
}

/** The environment for child processes: no ORC_* variables leaking in from the caller. */
export function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of ['ORC_REPO', 'ORC_AGENT', 'ORC_DEBUG', 'GIT_DIR', 'GIT_COMMON_DIR', 'GIT_WORK_TREE']) if (!(k in extra)) delete env[k];
  return env;
}

/** Spawns a process and resolves with its exit code, stdout and stderr. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid }));
  });
}

/** A fixed-width text table. */
export function table(title, headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.every((r) => r[i] === '' || r[i] === undefined || /^[-+]?[0-9.,]+( ?[a-zA-Z/%]+)?x?$/.test(String(r[i]))));
  const line = (r) => r.map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [`\n${title}`, line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells.slice(1)) out.push(line(r));
  return out.join('\n');
}

export const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)} ms` : 'n/a');
export const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');
export const verdict = (ok) => (ok ? 'ok' : 'MISSED');

/**
 * Median time (ms) to create one small file the way a loose object is written (open with O_CREAT,
 * write, close, rename) in each fan-out folder of a repo's object store; the files are removed again.
 * After `git gc --prune` deleted thousands of files, this disk makes new files in those folders
 * several times slower for minutes (measured: 0.36 vs 0.05 ms, on ext4 mounted with `discard`).
 */
export function createLatency(repo, n = 256) {
  const objects = path.join(repo, '.git', 'objects');
  const buf = Buffer.alloc(300, 1);
  const s = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(objects, (i % 256).toString(16).padStart(2, '0'));
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `tmp_obj_bench_${process.pid}_${i}`);
    const t = nowMs();
    const fd = fs.openSync(tmp, 'w', 0o444);
    fs.writeSync(fd, buf);
    fs.closeSync(fd);
    fs.renameSync(tmp, `${tmp}_done`);
    s.push(nowMs() - t);
    fs.unlinkSync(`${tmp}_done`);
  }
  return median(s);
}
