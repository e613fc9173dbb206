/**
 * Fixtures for the multi-host tests: a bare repo as the remote, served over
 * file:// or by a real `git daemon` (the git:// protocol over TCP on
 * 127.0.0.1), and clones of it acting as hosts. Real git, real processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { open } from '../../src/index.js';
import { cleanup, git, orc, testEnv, tmpDir, tmpRepo, type RunResult } from '../helpers.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** A `git daemon` serving every repo under `base` (receive-pack on) on 127.0.0.1:port; stop() kills it, start() starts it again on the same port. */
export class GitDaemon {
  private child: ChildProcess | null = null;
  private log = '';
  constructor(
    readonly base: string,
    readonly port: number,
    /** The daemon's environment, which the repos' hooks inherit (default: testEnv()). */
    private readonly env: NodeJS.ProcessEnv = testEnv(),
  ) {}

  static async start(base: string, env?: NodeJS.ProcessEnv): Promise<GitDaemon> {
    const d = new GitDaemon(base, await freePort(), env);
    await d.start();
    return d;
  }

  url(repo = 'remote.git'): string {
    return `git://127.0.0.1:${this.port}/${repo}`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('git daemon already running');
    const args = ['daemon', '--reuseaddr', `--base-path=${this.base}`, '--export-all', '--enable=receive-pack', '--listen=127.0.0.1', `--port=${this.port}`, '--informative-errors', this.base];
    // Its own process group: `git daemon` runs git-daemon as a child, which forks one process per connection; stop() kills them all.
    const child = spawn('git', args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    // Should the test process end without afterAll, take the daemon with it.
    const pid = child.pid!;
    const reap = () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null) throw new Error(`git daemon exited ${child.exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`git daemon did not accept connections on ${this.port}: ${this.log}`);
      await sleep(20);
    }
  }

  /** Kills the daemon and its connection handlers (SIGKILL to its process group: the remote just goes away) and waits until the port refuses connections. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const gone = child.exitCode === null && child.signalCode === null ? new Promise<void>((r) => child.once('exit', () => r())) : Promise.resolve();
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await gone;
    const deadline = Date.now() + 5_000;
    while (await accepts(this.port)) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still accepts connections after the daemon was killed`);
      await sleep(20);
    }
  }
}

export interface Remote {
  /** Folder holding remote.git (the daemon's base path). */
  base: string;
  /** The bare repo. */
  bare: string;
  url: string;
}

/** An empty bare repo `remote.git` (HEAD main) in a fresh folder. */
export function bareRemote(): { base: string; bare: string } {
  const base = tmpDir('orc-remote-');
  const bare = path.join(base, 'remote.git');
  git(base, 'init', '-q', '--bare', '-b', 'main', bare);
  return { base, bare };
}

export function fileUrl(bare: string): string {
  return `file://${bare}`;
}

/** Runs orc and requires exit 0; returns the result. */
export function orcOk(cwd: string, args: string[]): RunResult {
  const r = orc(cwd, args);
  if (r.code !== 0) throw new Error(`orc ${args.join(' ')} in ${cwd} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** A clone of the remote (its main branch checked out) made a host: `orc init --remote origin`. */
export function cloneHost(url: string, name: string): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  const r = spawnSync('git', ['clone', '-q', url, dir], { env: testEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone ${url} failed: ${r.stderr}`);
  orcOk(dir, ['init', '--remote', 'origin']);
  return dir;
}

/** Runs git in the bare repo (or anywhere) without throwing: status and output. */
export function gitRaw(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { cwd, env: testEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr };
}

/** Subjects of the remote's state branch, oldest first. */
export function remoteSubjects(bare: string): string[] {
  return git(bare, 'log', '--reverse', '--format=%s', 'orc').split('\n').filter(Boolean);
}

/** Makes a file:// remote unreachable by moving the bare repo away; the returned function puts it back. */
export function takeOffline(bare: string): () => void {
  const away = `${bare}.away`;
  fs.renameSync(bare, away);
  return () => fs.renameSync(away, bare);
}

/**
 * The first host: a repo whose main is pushed to the (empty) remote, given a
 * workstream W with `tasks` tasks (ids t-00, t-01, …) through the library
 * (fast, before any remote is set), then `orc init --remote origin`, which
 * publishes the state branch.
 */
export async function seedRemote(url: string, tasks: number, ws = 'W'): Promise<string> {
  const repo = tmpRepo();
  git(repo, 'remote', 'add', 'origin', url);
  git(repo, 'push', '-q', 'origin', 'main');
  const o = await open({ repo, env: testEnv() });
  await o.createWorkstream(ws, 'multi-host test');
  for (let i = 0; i < tasks; i++) await o.addTask(ws, `task ${i}`, undefined, undefined, { id: `t-${String(i).padStart(2, '0')}` });
  orcOk(repo, ['init', '--remote', 'origin']);
  return repo;
}

export interface ServedRemote {
  daemon: GitDaemon;
  remote: ReturnType<typeof bareRemote>;
}

/** A bare remote served by a `git daemon` for one test file: started before its tests, stopped (and every temp folder removed) after. */
export function servedRemote(): ServedRemote {
  const served = {} as ServedRemote;
  beforeAll(async () => {
    served.remote = bareRemote();
    served.daemon = await GitDaemon.start(served.remote.base);
  });
  afterAll(async () => {
    await served.daemon?.stop();
    cleanup();
  });
  return served;
}
