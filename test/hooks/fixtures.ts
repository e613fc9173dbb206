/**
 * Fixtures for the hook tests: hooks call `orc` from PATH, so a temp bin
 * folder holding an `orc` wrapper of the built binary goes first on PATH;
 * a PATH without it tests the "orc is missing" path. Real git throughout.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ORC_BIN, git, testEnv, tmpDir } from '../helpers.js';
import { GitDaemon } from '../sync/daemon.js';

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

/** `git daemon` serving `base` with receive-pack on, orc on its PATH (its hooks inherit it). */
export function startDaemon(base: string): Promise<GitDaemon> {
  return GitDaemon.start(base, hookEnv());
}

/** A bare remote with orc's hooks installed and a host cloned from it over file:// with `main` pushed (no orc state yet). */
export function hookedRemoteAndHost(env: NodeJS.ProcessEnv): { bare: string; base: string; url: string; host: string } {
  const { bare, base } = bareRemote();
  const url = `file://${bare}`;
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  const host = path.join(tmpDir('orc-host-'), 'host');
  gitE(path.dirname(host), env, 'clone', '-q', url, host);
  git(host, 'commit', '-q', '--allow-empty', '-m', 'init');
  if (gitE(host, env, 'push', '-q', url, 'main').code !== 0) throw new Error(`git push of main to ${url} failed`);
  return { bare, base, url, host };
}
