/**
 * Installs orc's hook scripts (the package's hooks/ folder) into a repo's
 * hooks folder: core.hooksPath when set, else the common git dir's hooks/
 * (shared by every linked worktree). A hook the user already had is kept as
 * `<name>.orc-chained` and run first by orc's script; uninstall puts it back.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrcError } from '../errors.js';

export const CLIENT_HOOKS = ['pre-commit', 'prepare-commit-msg', 'post-commit'] as const;
export const SERVER_HOOKS = ['pre-receive'] as const;
export type HookName = (typeof CLIENT_HOOKS)[number] | (typeof SERVER_HOOKS)[number];

/** Every script orc installs carries this line; a hook without it is the user's. */
export const MARKER = '# orc-hook: installed by `orc hooks install`';
export const CHAINED = '.orc-chained';

export interface HookState {
  name: HookName;
  path: string;
  /** orc's script, someone else's hook, or nothing. */
  state: 'orc' | 'other' | 'none';
  /** A hook that was there before orc's, kept as <name>.orc-chained and run first. */
  chained: boolean;
}

export interface HookTarget {
  /** The repo's hooks folder. */
  dir: string;
  bare: boolean;
  hooks: readonly HookName[];
}

function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_INDEX_FILE']) delete env[k];
    execFile('git', ['-C', cwd, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 128) : 0;
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/** The package's hooks/ folder: two levels up from dist/bin/orc.js and from dist/hooks/install.js alike. */
export function sourceDir(): string {
  return process.env.ORC_HOOKS_SOURCE ?? fileURLToPath(new URL('../../hooks/', import.meta.url));
}

/**
 * Where `repo`'s hooks live: core.hooksPath (relative to the worktree root,
 * or to the git dir of a bare repo), else <common git dir>/hooks.
 */
export async function hookTarget(repo: string, remote: boolean): Promise<HookTarget> {
  if (!fs.existsSync(repo)) throw new OrcError('ENV', `no such folder: ${repo}`, { path: repo });
  const bareR = await git(repo, ['rev-parse', '--is-bare-repository']);
  if (bareR.code !== 0) throw new OrcError('ENV', `not a git repository: ${repo}; pass a repo${remote ? ' (the bare remote)' : ''}`, { path: repo });
  const bare = bareR.stdout === 'true';
  if (remote && !bare) throw new OrcError('USAGE', `${repo} is not a bare repository; --remote-repo names the shared remote's bare repo`, { path: repo });
  const common = (await git(repo, ['rev-parse', '--path-format=absolute', '--git-common-dir'])).stdout;
  const configured = (await git(repo, ['config', '--get', 'core.hooksPath'])).stdout;
  let dir = path.join(common, 'hooks');
  if (configured) {
    const expanded = configured.replace(/^~(?=\/|$)/, process.env.HOME ?? '~');
    const base = bare ? common : (await git(repo, ['rev-parse', '--show-toplevel'])).stdout;
    dir = path.resolve(base, expanded);
  }
  return { dir, bare, hooks: remote ? SERVER_HOOKS : CLIENT_HOOKS };
}

function isOrcs(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').includes(MARKER);
  } catch {
    return false;
  }
}

export function hookStates(t: HookTarget): HookState[] {
  return t.hooks.map((name) => {
    const p = path.join(t.dir, name);
    const exists = fs.existsSync(p) || isSymlink(p);
    return { name, path: p, state: !exists ? 'none' : isOrcs(p) ? 'orc' : 'other', chained: fs.existsSync(`${p}${CHAINED}`) || isSymlink(`${p}${CHAINED}`) };
  });
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Installs (or refreshes) orc's scripts; idempotent. A user's hook is moved aside once and chained. */
export function install(t: HookTarget): HookState[] {
  fs.mkdirSync(t.dir, { recursive: true });
  for (const s of hookStates(t)) {
    const script = fs.readFileSync(path.join(sourceDir(), s.name), 'utf8');
    if (!script.includes(MARKER)) throw new OrcError('ENV', `${path.join(sourceDir(), s.name)} is not orc's hook script; reinstall orc`);
    if (s.state === 'other') {
      if (s.chained) throw new OrcError('CONFLICT', `${s.path} is not orc's and ${s.path}${CHAINED} exists too; move one of them away, then install again`, { path: s.path });
      fs.renameSync(s.path, `${s.path}${CHAINED}`);
    }
    const tmp = `${s.path}.orc-tmp-${process.pid}`;
    fs.writeFileSync(tmp, script, { mode: 0o755 });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, s.path);
  }
  return hookStates(t);
}

/** Removes orc's scripts and puts back the hooks they chained to, exactly as they were. */
export function uninstall(t: HookTarget): HookState[] {
  for (const s of hookStates(t)) {
    if (s.state === 'other') continue;
    if (s.state === 'orc') fs.rmSync(s.path);
    if (s.chained) fs.renameSync(`${s.path}${CHAINED}`, s.path);
  }
  return hookStates(t);
}
