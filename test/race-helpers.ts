/**
 * Helpers for the race, crash and checkout tests: real `orc` processes that
 * can be killed, and bulk reads of the state branch through real git.
 * Nothing here mocks git or orc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ORC_BIN, git, testEnv, waitMaintenance, type RunResult } from './helpers.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ProcResult extends RunResult {
  /** The signal that ended the process (SIGKILL for the ones we killed), or null. */
  signal: NodeJS.Signals | null;
  startedAt: number;
  endedAt: number;
}

export interface OrcProc {
  child: ChildProcess;
  args: string[];
  startedAt: number;
  done: Promise<ProcResult>;
  /** True while the process has not exited. */
  running(): boolean;
}

/** Starts `node dist/cli/main.js ARGS` as its own OS process; `done` resolves when it has exited and its output is closed. */
export function spawnOrc(cwd: string, args: string[], opts: { env?: Record<string, string> } = {}): OrcProc {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('exit', () => (exited = true));
  const done = new Promise<ProcResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr, startedAt, endedAt: Date.now() }));
  });
  return { child, args, startedAt, done, running: () => !exited };
}

/** Runs one orc process to its end. */
export function runOrc(cwd: string, args: string[], opts: { env?: Record<string, string> } = {}): Promise<ProcResult> {
  return spawnOrc(cwd, args, opts).done;
}

/** Number of commits reachable from `ref` (0 if it does not exist). */
export function commitCount(repo: string, ref = 'orc'): number {
  const r = spawnSync('git', ['rev-list', '--count', ref, '--'], { cwd: repo, env: testEnv(), encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : 0;
}

/** The absolute common git dir (where refs and objects live, also for a linked worktree). */
export function commonDir(repo: string): string {
  return path.resolve(repo, git(repo, 'rev-parse', '--git-common-dir'));
}

/** Where git (and orc) put the lock of the state branch. */
export function stateLockPath(repo: string, ref = 'refs/heads/orc'): string {
  return path.join(commonDir(repo), `${ref}.lock`);
}

/**
 * Reads many objects at once with `git cat-file --batch`: for each spec
 * (`<commit>:<path>`, an oid, …) the content, or null when git says it is missing.
 */
export function catFileBatch(repo: string, specs: string[]): (Buffer | null)[] {
  if (!specs.length) return [];
  const r = spawnSync('git', ['cat-file', '--batch'], { cwd: repo, env: testEnv(), input: `${specs.join('\n')}\n`, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git cat-file --batch exited ${r.status}: ${r.stderr.toString()}`);
  const out = r.stdout;
  const res: (Buffer | null)[] = [];
  let pos = 0;
  for (let i = 0; i < specs.length; i++) {
    const nl = out.indexOf(10, pos);
    if (nl < 0) throw new Error(`git cat-file --batch: output ended early at spec ${i} (${specs[i]})`);
    const header = out.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      res.push(null);
      continue;
    }
    const m = /^([0-9a-f]{40}) (\w+) (\d+)$/.exec(header);
    if (!m) throw new Error(`git cat-file --batch: unexpected header "${header}" for ${specs[i]}`);
    const size = Number(m[3]);
    res.push(out.subarray(pos, pos + size));
    pos += size + 1; // content, then a newline
  }
  return res;
}

export interface HistoryEntry {
  commit: string;
  parents: string[];
  author: string;
  subject: string;
}

/** The branch's commits oldest first, as git sees them. */
export function history(repo: string, ref = 'orc'): HistoryEntry[] {
  const text = git(repo, 'log', '--reverse', '--format=%H%x09%P%x09%an%x09%s', ref, '--');
  if (!text) return [];
  return text.split('\n').map((line) => {
    const [commit, parents, author, ...rest] = line.split('\t');
    return { commit: commit!, parents: parents ? parents.split(' ') : [], author: author!, subject: rest.join('\t') };
  });
}

/** Every file a commit changed or added (not deleted), for each commit of the branch: `[commit, path]`. */
export function changedFiles(repo: string, ref = 'orc'): [string, string][] {
  const text = git(repo, 'log', '--format=C %H', '--name-only', '--diff-filter=AMT', '--no-renames', ref, '--');
  const out: [string, string][] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('C ')) cur = line.slice(2);
    else if (line.trim()) out.push([cur, line.trim()]);
  }
  return out;
}

/** Runs `git fsck --strict` and returns its exit code and all output. */
export function fsck(repo: string): { code: number; output: string } {
  waitMaintenance(repo);
  const r = spawnSync('git', ['fsck', '--strict', '--no-progress'], { cwd: repo, env: testEnv(), encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Lines of fsck output that are not about dangling or unreachable objects (which are fine after lost races and crashes). */
export function fsckProblems(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(dangling|unreachable) (blob|tree|commit|tag) [0-9a-f]{40}$/.test(l) && !/^Checking /.test(l));
}

/** The largest number of processes that were running at one moment. */
export function maxOverlap(runs: { startedAt: number; endedAt: number }[]): number {
  const points = runs.flatMap((r) => [
    [r.startedAt, 1],
    [r.endedAt, -1],
  ]);
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) {
    cur += d!;
    max = Math.max(max, cur);
  }
  return max;
}

/**
 * Checks the state branch's reflog is one unbroken chain (each move starts where the last ended)
 * ending at the tip; returns the number of moves. Only meaningful when no process was killed.
 */
export function reflogChain(repo: string, ref = 'refs/heads/orc'): { moves: number; breaks: string[] } {
  const lines = fs.readFileSync(path.join(commonDir(repo), 'logs', ref), 'utf8').split('\n').filter(Boolean);
  const breaks: string[] = [];
  let prev = '0'.repeat(40);
  for (const [i, line] of lines.entries()) {
    const [oldOid, newOid] = line.split(' ');
    if (oldOid !== prev) breaks.push(`line ${i + 1} moves from ${oldOid}, but the ref was at ${prev}`);
    prev = newOid!;
  }
  const tip = git(repo, 'rev-parse', ref);
  if (prev !== tip) breaks.push(`the reflog ends at ${prev}, the ref is at ${tip}`);
  return { moves: lines.length, breaks };
}
