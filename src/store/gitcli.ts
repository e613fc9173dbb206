import { childProcess, crypto, fs, path } from '../node.js';
import { OrcError } from '../errors.js';
import type { SharedPerm } from './perm.js';
import { casRef, readRef } from './refs.js';
import type { RepoPaths } from './repo.js';

/**
 * The git command line, for what crosses machines: fetch and push use git's
 * own transports, so ssh, credential helpers and `insteadOf` rules work as
 * they do for `git push`. Local state never goes through here.
 */

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runGit(repo: RepoPaths, args: string[], timeoutMs = 60_000): Promise<GitResult> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    delete env.GIT_INDEX_FILE;
    childProcess().execFile('git', ['--git-dir', repo.gitDir, ...args], { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      // A number is git's exit status; anything else (ENOENT, a kill on timeout) did not get that far.
      const code = typeof e.code === 'number' ? e.code : e.killed ? 124 : 127;
      resolve({ code, stdout, stderr: stderr || (e.killed ? `timed out after ${timeoutMs / 1000} s` : e.message) });
    });
  });
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.replace(/^(fatal|error): /, '').trim())
      .find((l) => l.length > 0) ?? 'no output'
  );
}

export function unreachable(remote: string, detail: string): OrcError {
  return new OrcError('ENV', `remote "${remote}" cannot be reached (${detail}); exclusive ops need it: retry when it is back, or run locally after \`git config --unset orc.remote\``, { remote });
}

/** git's words for losing a local ref or file lock to another process of this clone: a race, not a dead remote. */
const LOCAL_LOCK_RACE = /cannot lock ref|unable to (?:create|lock|update)[^\n]*\.lock|File exists|is at [0-9a-f]+ but expected/i;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Moves a ref we only mirror (the remote-tracking ref) to `value`, best
 * effort: when another process of this clone is moving it right now, it is
 * left to that one, which holds a value as fresh as ours.
 */
function mirrorRef(repo: RepoPaths, ref: string, value: string, shared: SharedPerm | null): void {
  for (let i = 0; i < 3; i++) {
    let cur: string | null;
    try {
      cur = readRef(repo.commonDir, ref);
    } catch {
      return;
    }
    if (cur === value) return;
    let r: string;
    try {
      r = casRef(repo.commonDir, ref, cur, value, { reflog: false, reflogIdent: '', reflogMessage: '', shared });
    } catch {
      return;
    }
    if (r !== 'moved') return;
  }
}

/**
 * Fetches the remote's state branch; its commit, or null if the remote has no
 * such branch. Each call fetches into a ref of its own (refs/orc/fetch/<unique>,
 * removed at once), so concurrent fetches in one clone (several agents on one
 * host) never fight over one ref's lock; refs/remotes/<remote>/<branch> is then
 * brought along, best effort. A lost local lock is retried; ENV only when git
 * says the remote cannot be reached.
 */
export async function fetchBranch(
  repo: RepoPaths,
  remote: string,
  branch: string,
  opts: {
    shared?: SharedPerm | null;
    /** Also fetches refs/orc/presence/* (in the same git process) into a folder of refs of its own, handed to this before they are removed. */
    presence?: (prefix: string) => void;
    /** The same for refs/orc/hosts/* (store/hostreq.ts). */
    hostRequests?: (prefix: string) => void;
  } = {},
): Promise<string | null> {
  const tracking = `refs/remotes/${remote}/${branch}`;
  const own = `refs/orc/fetch/${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  const presenceNs = `${own}-presence/`;
  const hostsNs = `${own}-hosts/`;
  const also = [...(opts.presence ? [`+refs/orc/presence/*:${presenceNs}*`] : []), ...(opts.hostRequests ? [`+refs/orc/hosts/*:${hostsNs}*`] : [])];
  for (let attempt = 1; ; attempt++) {
    // maintenance.auto=false: not git's `maintenance run --auto` after every fetch (a process start each; orc packs its own objects).
    const r = await runGit(repo, ['-c', 'maintenance.auto=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--refmap=', remote, `+refs/heads/${branch}:${own}`, ...also]);
    if (r.code !== 0) {
      if (/couldn't find remote ref/i.test(r.stderr)) return null;
      if (LOCAL_LOCK_RACE.test(r.stderr) && attempt < 20) {
        await sleep(Math.random() * 10 * attempt);
        continue;
      }
      throw unreachable(remote, firstLine(r.stderr));
    }
    break;
  }
  let tip: string | null;
  try {
    tip = readRef(repo.commonDir, own);
    if (opts.presence) opts.presence(presenceNs);
    if (opts.hostRequests) opts.hostRequests(hostsNs);
  } finally {
    await dropOwnRef(repo, own);
    if (opts.presence) await dropOwnRefs(repo, presenceNs);
    if (opts.hostRequests) await dropOwnRefs(repo, hostsNs);
  }
  if (tip) mirrorRef(repo, tracking, tip, opts.shared ?? null);
  return tip;
}

/**
 * The remote's values of `refs` (absent ones left out), by `git ls-remote`:
 * a poll that writes nothing and starts one process here where a fetch starts
 * three (fetch, its connectivity check, unpack). ENV when the remote cannot be reached.
 */
export async function lsRemote(repo: RepoPaths, remote: string, refs: string[]): Promise<Map<string, string>> {
  const r = await runGit(repo, ['ls-remote', '--quiet', remote, ...refs]);
  if (r.code !== 0) throw unreachable(remote, firstLine(r.stderr));
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line);
    if (m && refs.includes(m[2]!)) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Removes a ref only this process uses; through git only if a concurrent `git pack-refs` packed it meanwhile. */
async function dropOwnRef(repo: RepoPaths, ref: string): Promise<void> {
  fs.rmSync(path.join(repo.commonDir, ref), { force: true });
  let still: string | null = null;
  try {
    still = readRef(repo.commonDir, ref);
  } catch {
    still = null;
  }
  if (still) await runGit(repo, ['update-ref', '-d', ref]);
}

/** Removes a folder of refs only this process uses (see dropOwnRef). */
async function dropOwnRefs(repo: RepoPaths, prefix: string): Promise<void> {
  fs.rmSync(path.join(repo.commonDir, prefix), { recursive: true, force: true });
  let packed = '';
  try {
    packed = fs.readFileSync(path.join(repo.commonDir, 'packed-refs'), 'utf8');
  } catch {
    return;
  }
  for (const line of packed.split('\n')) {
    const ref = line.slice(41);
    if (line[40] === ' ' && ref.startsWith(prefix)) await runGit(repo, ['update-ref', '-d', ref]);
  }
}

/**
 * Pushes refs that only their own writer moves (presence), each with a lease
 * on the value the remote was last seen to hold (null: none), in one push.
 * Best effort: a ref the remote refuses (it holds a later one) is left;
 * ENV when the remote cannot be reached. Returns the refs the remote took.
 */
export async function pushOwnRefs(repo: RepoPaths, remote: string, updates: { ref: string; oid: string; expected: string | null }[]): Promise<string[]> {
  if (!updates.length) return [];
  const args = ['push', '--quiet', '--porcelain', ...updates.map((u) => `--force-with-lease=${u.ref}:${u.expected ?? ''}`), remote, ...updates.map((u) => `+${u.oid}:${u.ref}`)];
  const r = await runGit(repo, args);
  const all = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0 && !/\[rejected\]|\[remote rejected\]|stale info|pre-receive hook declined/i.test(all)) throw unreachable(remote, firstLine(r.stderr || r.stdout));
  // --porcelain: one line per ref, "<flag>\t<from>:<to>\t<summary>"; '!' is a refusal.
  return updates.filter((u) => r.stdout.split('\n').some((l) => l.includes(`:${u.ref}\t`) && !l.startsWith('!')) || r.code === 0).map((u) => u.ref);
}

export type PushResult = 'ok' | 'rejected';

const REFUSED = /\[rejected\]|stale info|fetch first|non-fast-forward|\[remote rejected\].*(lock|failed to update|atomic)/i;

/**
 * Pushes several refs all or none (`git push --atomic`), each only if the
 * remote still holds its `expected` value (null: absent): one compare-and-swap
 * over all of them at the remote. `branch` (if among them) is mirrored to its
 * tracking ref on success.
 */
export async function pushAtomic(repo: RepoPaths, remote: string, updates: { ref: string; oid: string; expected: string | null }[], opts: { shared?: SharedPerm | null; branch?: string } = {}): Promise<PushResult> {
  const args = ['push', '--quiet', '--porcelain', '--atomic', ...updates.map((u) => `--force-with-lease=${u.ref}:${u.expected ?? ''}`), remote, ...updates.map((u) => `${u.oid}:${u.ref}`)];
  const r = await runGit(repo, args);
  if (r.code === 0) {
    const b = opts.branch ? updates.find((u) => u.ref === `refs/heads/${opts.branch}`) : undefined;
    if (b) mirrorRef(repo, `refs/remotes/${remote}/${opts.branch}`, b.oid, opts.shared ?? null);
    return 'ok';
  }
  if (REFUSED.test(`${r.stdout}\n${r.stderr}`)) return 'rejected';
  throw unreachable(remote, firstLine(r.stderr || r.stdout));
}

/**
 * Pushes `commit` to the remote's state branch only if the remote still holds
 * `expected` (null: the branch must not exist): a compare-and-swap at the
 * remote, which is the point of order.
 */
export async function pushBranch(repo: RepoPaths, remote: string, branch: string, commit: string, expected: string | null, opts: { shared?: SharedPerm | null } = {}): Promise<PushResult> {
  const ref = `refs/heads/${branch}`;
  const r = await runGit(repo, ['push', '--quiet', '--porcelain', `--force-with-lease=${ref}:${expected ?? ''}`, remote, `${commit}:${ref}`]);
  if (r.code === 0) {
    mirrorRef(repo, `refs/remotes/${remote}/${branch}`, commit, opts.shared ?? null);
    return 'ok';
  }
  if (REFUSED.test(`${r.stdout}\n${r.stderr}`)) return 'rejected';
  throw unreachable(remote, firstLine(r.stderr || r.stdout));
}

/** Whether `a` is `b` or one of its ancestors. */
export async function isAncestor(repo: RepoPaths, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const r = await runGit(repo, ['merge-base', '--is-ancestor', a, b]);
  if (r.code === 0) return true;
  if (r.code === 1) return false;
  throw new OrcError('ENV', `git merge-base failed: ${firstLine(r.stderr)}`);
}

/** How many commits `local` has that `remote` lacks, and the other way round. */
export async function aheadBehind(repo: RepoPaths, local: string, remote: string): Promise<{ ahead: number; behind: number }> {
  const r = await runGit(repo, ['rev-list', '--left-right', '--count', `${local}...${remote}`]);
  const [ahead, behind] = r.stdout.trim().split(/\s+/).map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

/**
 * The commits of `tip` that `base` lacks, oldest first. With `all`, every
 * non-merge commit on any side of a merge (what a replay must carry over),
 * parents before children; without it, the first-parent line.
 */
export async function commitsSince(repo: RepoPaths, base: string | null, tip: string, all = false): Promise<string[]> {
  const walk = all ? ['--no-merges', '--topo-order'] : ['--first-parent'];
  const r = await runGit(repo, ['rev-list', ...walk, '--reverse', tip, ...(base ? [`^${base}`] : [])]);
  if (r.code !== 0) throw new OrcError('ENV', `git rev-list failed: ${firstLine(r.stderr)}`);
  return r.stdout.split('\n').filter(Boolean);
}

export async function remoteExists(repo: RepoPaths, remote: string): Promise<boolean> {
  return (await runGit(repo, ['remote', 'get-url', remote])).code === 0;
}

export async function setConfig(repo: RepoPaths, key: string, value: string): Promise<void> {
  const r = await runGit(repo, ['config', key, value]);
  if (r.code !== 0) throw new OrcError('ENV', `git config ${key} failed: ${firstLine(r.stderr)}`);
}

export async function updateRef(repo: RepoPaths, ref: string, value: string): Promise<void> {
  await runGit(repo, ['update-ref', ref, value]);
}
