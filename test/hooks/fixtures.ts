/**
 * Fixtures for the hook tests: hooks call `orc` from PATH, so a temp bin
 * folder holding an `orc` wrapper of the built binary goes first on PATH;
 * a PATH without it tests the "orc is missing" path. Real git throughout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ORC_BIN, git, testEnv, tmpDir } from '../helpers.js';

let bin: string | null = null;

/** A folder with an `orc` on it that runs the built binary. */
export function orcBinDir(): string {
  if (bin && fs.existsSync(bin)) return bin;
  bin = tmpDir('orc-bin-');
  fs.writeFileSync(path.join(bin, 'orc'), `#!/bin/sh\nexec '${process.execPath}' '${ORC_BIN}' "$@"\n`, { mode: 0o755 });
  return bin;
}

/** PATH with nothing of orc's: the folders git and sh come from. */
export const BARE_PATH = [...new Set([path.dirname(spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim()), '/usr/bin', '/bin'])].join(':');

/** The environment of an agent's shell: orc on PATH (unless `withOrc` is false), git's identity fixed. */
export function hookEnv(extra: Record<string, string> = {}, withOrc = true): NodeJS.ProcessEnv {
  return testEnv({ PATH: withOrc ? `${orcBinDir()}:${BARE_PATH}` : BARE_PATH, ...extra });
}

export interface Res {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git in `cwd` with `env`, never throwing. */
export function sh(cwd: string, env: NodeJS.ProcessEnv, cmd: string, ...args: string[]): Res {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '' };
}

export const gitE = (cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) => sh(cwd, env, 'git', ...args);

/** `orc ARGS` in `cwd` with `env` (the hook environment), required to succeed. */
export function orcOk(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(process.execPath, [ORC_BIN, ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`orc ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** An empty bare repo (HEAD main) in a fresh folder, which is the daemon's base path. */
export function bareRemote(): { base: string; bare: string } {
  const base = tmpDir('orc-remote-');
  const bare = path.join(base, 'remote.git');
  git(base, 'init', '-q', '--bare', '-b', 'main', bare);
  return { base, bare };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

/** `git daemon` serving `base` with receive-pack on, orc on its PATH (its hooks inherit it). */
export async function startDaemon(base: string): Promise<{ url: (repo: string) => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const args = ['daemon', '--reuseaddr', `--base-path=${base}`, '--export-all', '--enable=receive-pack', '--listen=127.0.0.1', `--port=${port}`, base];
  const child: ChildProcess = spawn('git', args, { env: hookEnv(), stdio: 'ignore', detached: true });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', kill);
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('git daemon did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: (repo: string) => `git://127.0.0.1:${port}/${repo}`,
    stop: async () => {
      const gone = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      kill();
      await gone;
      process.off('exit', kill);
    },
  };
}
