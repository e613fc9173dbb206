/**
 * Test fixtures: real git repos in temp folders and the real `orc` binary in
 * real processes. Nothing here mocks git.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactLockPath } from '../src/ops/autocompact.js';
import { packLockPath } from '../src/store/maintain.js';
import { processAlive } from '../src/store/process.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The installed entry point (package.json bin), the bundle a user runs. */
export const ORC_BIN = path.join(ROOT, 'dist', 'cli', 'bin.cjs');

/** Environment for git and orc: fixed identity, no user or system config, no inherited agent. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GIT_') || k.startsWith('ORC_')) delete env[k];
  return {
    ...env,
    GIT_AUTHOR_NAME: 'tester',
    GIT_AUTHOR_EMAIL: 'tester@example.invalid',
    GIT_COMMITTER_NAME: 'tester',
    GIT_COMMITTER_EMAIL: 'tester@example.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // Nothing a test runs may wait on an interactive editor (vitest itself sets EDITOR=vi).
    EDITOR: 'false',
    VISUAL: 'false',
    ...extra,
  };
}

const made: string[] = [];

/** A fresh temp folder, removed by cleanup(). */
export function tmpDir(prefix = 'orc-test-'): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  made.push(d);
  return d;
}

/**
 * Removes the folders made. A detached child orc started (a repack, an
 * automatic compaction's look at the epoch) may still be writing into one:
 * removal is retried briefly (0.5 s), and a folder still busy after that is left
 * in the temp dir with a warning rather than failing the tests that used it.
 */
export function cleanup(): void {
  while (made.length) {
    const dir = made.pop()!;
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (e) {
      process.stderr.write(`cleanup: left ${dir} (${(e as Error).message})\n`);
    }
  }
}

/** Runs git and returns its trimmed stdout; throws on failure. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: testEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Waits (bounded, 60 s) until no upkeep orc started in `repo` in the
 * background still runs: a detached repack (its pack lock) or an automatic
 * compaction (its compaction lock), each naming its pid, judged alive as orc
 * judges it (a zombie is done). `git fsck` run while a repack deletes the
 * loose objects it packed reports them as unreadable; call this before it.
 */
export function waitMaintenance(repo: string): void {
  const common = path.resolve(repo, git(repo, 'rev-parse', '--git-common-dir'));
  const deadline = Date.now() + 60_000;
  for (const file of [packLockPath(common), compactLockPath(common)]) {
    while (Date.now() < deadline) {
      let pid: number;
      try {
        pid = Number(/^(\d+)/.exec(fs.readFileSync(file, 'utf8'))?.[1] ?? 0);
        // A lock without a pid is being written right now, or was left by a process killed taking it.
        if (!pid && Date.now() - fs.statSync(file).mtimeMs > 10_000) break;
      } catch {
        break; // no lock: nothing runs
      }
      if (pid && !processAlive(pid)) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** A new repo on branch main with one empty commit. */
export function tmpRepo(): string {
  const d = tmpDir('orc-repo-');
  git(d, 'init', '-q', '-b', 'main');
  git(d, 'commit', '-q', '--allow-empty', '-m', 'init');
  return d;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `orc ARGS` synchronously in `cwd`. */
export function orc(cwd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv(opts.env), input: opts.input ?? '', encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `orc ARGS --json` and parses stdout; throws with stderr if it failed. */
export function orcJson<T = unknown>(cwd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): T {
  const r = orc(cwd, [...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`orc ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs `orc ARGS` as a child process, resolving when it exits (for races across processes). */
export function orcAsync(cwd: string, args: string[], opts: { env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every file under `dir` (not .git) with its bytes, plus git's view of HEAD, index and stash, to compare before/after. */
export function fingerprint(repo: string): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(`${path.relative(repo, p)}\0${fs.readFileSync(p).toString('base64')}`);
    }
  };
  walk(repo);
  const gitDir = git(repo, 'rev-parse', '--absolute-git-dir');
  const index = fs.existsSync(path.join(gitDir, 'index')) ? fs.readFileSync(path.join(gitDir, 'index')).toString('base64') : '';
  const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8');
  const stash = spawnSync('git', ['rev-parse', '-q', '--verify', 'refs/stash'], { cwd: repo, env: testEnv(), encoding: 'utf8' }).stdout.trim();
  return JSON.stringify({ files: files.sort(), index, head, headCommit: git(repo, 'rev-parse', 'HEAD'), stash, status: git(repo, 'status', '--porcelain=v2', '--branch') });
}
