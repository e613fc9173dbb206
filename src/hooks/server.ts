/**
 * `orc hooks run pre-receive`, on the shared bare remote: reads git's ref
 * updates from stdin and refuses the push when the state branch would get a
 * non-fast-forward or a commit fsck.ts or validate.ts refuses, or a presence
 * ref (refs/orc/presence/<agent>) an update that is not that agent's presence,
 * is from the future or goes back in time, or a host's request ref
 * (refs/orc/hosts/<host>/req|ans) anything but such a commit (or a deletion).
 * Other refs pass.
 */
import { execFile } from 'node:child_process';
import { last, loadConfig } from '../store/config.js';
import { GitStore } from '../store/gitstore.js';
import { discoverRepo } from '../store/repo.js';
import { CatFile, inspectPush, PushObjects, PUSH_LIMITS } from './fsck.js';
import { PRESENCE_MAX_BYTES, PRESENCE_PREFIX, parsePresence, readAllPresence } from '../store/presence.js';
import { HOSTS_MAX_BYTES, HOSTS_PREFIX, hostRefProblem } from '../store/hostreq.js';
import { DEFAULT_SKEW_MS, validatePresenceUpdates, type PushGit, type RefUpdate } from './validate.js';
import { validatePushWithCompaction } from './compaction.js';

export function parseUpdates(stdin: string): RefUpdate[] {
  return stdin
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map(([o, n, ref]) => ({ old: o!, new: n!, ref: ref! }));
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 128) : 0;
      resolve({ code, stdout });
    });
  });
}

/** Loads the runner's ops into OPS, so their commits can be decided again. */
async function loadRunnerOps(): Promise<void> {
  await import('../runner/runner.js').catch(() => undefined);
}

export async function preReceive(stdin: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; problems: string[]; branch: string }> {
  const paths = discoverRepo(process.cwd(), env);
  const cfg = loadConfig(paths, env);
  const branch = last(cfg, 'orc.branch') ?? 'orc';
  const ref = `refs/heads/${branch}`;
  const updates = parseUpdates(stdin);
  const presenceUpdates = updates.filter((u) => u.ref.startsWith(PRESENCE_PREFIX));
  const hostUpdates = updates.filter((u) => u.ref.startsWith(HOSTS_PREFIX));
  if (!updates.some((u) => u.ref === ref) && !presenceUpdates.length && !hostUpdates.length) return { ok: true, problems: [], branch };
  const hexLen = (last(cfg, 'extensions.objectformat') ?? 'sha1').toLowerCase() === 'sha256' ? 64 : 40;
  const skew = Number(last(cfg, 'orc.clockskew') ?? DEFAULT_SKEW_MS);
  const skewMs = Number.isFinite(skew) && skew >= 0 ? skew : DEFAULT_SKEW_MS;
  // During pre-receive the pushed objects sit in git's quarantine folder; git cat-file and the store see it through git's env.
  const store = new GitStore(paths, ref, false, env);
  // Presence (heartbeats, beside the branch): what the remote holds now, and the push's own updates, checked.
  const held = readAllPresence(paths.commonDir, store.objects);
  const now = new Date();
  const read = (oid: string): Buffer | null => {
    try {
      return store.objects.read(oid, 'commit', { maxBytes: PRESENCE_MAX_BYTES }).content;
    } catch {
      return null;
    }
  };
  const presenceProblems = validatePresenceUpdates(presenceUpdates, read, (a) => held.get(a) ?? null, { now, skewMs }, hexLen);
  if (presenceProblems.length) return { ok: false, problems: presenceProblems, branch };
  // A host's requests and answers: orc's own commits only; never deleted (a lost answer would let its op be decided again).
  const hostProblems: string[] = [];
  for (const u of hostUpdates) {
    if (/^0+$/.test(u.new)) {
      hostProblems.push(`${u.ref}: deleting a host's request ref is refused`);
      continue;
    }
    let b: Buffer | null = null;
    try {
      b = /^[0-9a-f]+$/.test(u.new) && u.new.length === hexLen ? store.objects.read(u.new, 'commit', { maxBytes: HOSTS_MAX_BYTES }).content : null;
    } catch {
      b = null;
    }
    const p = hostRefProblem(u.ref, b, u.new);
    if (p) hostProblems.push(`${u.ref}: ${p}`);
  }
  if (hostProblems.length) return { ok: false, problems: hostProblems, branch };
  const times = new Map([...held].map(([a, p]) => [a, p.at]));
  for (const u of presenceUpdates) {
    const b = read(u.new);
    const p = b ? parsePresence(b, u.new) : null;
    if (p && typeof p !== 'string') times.set(p.agent, p.at);
  }
  if (!updates.some((u) => u.ref === ref)) return { ok: true, problems: [], branch };
  await loadRunnerOps();
  const cwd = process.cwd();
  const run = async (args: string[]) => {
    const r = await git(args, cwd, env);
    if (r.code !== 0) throw new Error(`git ${args.slice(0, 4).join(' ')} failed`);
    return r.stdout.split('\n').filter(Boolean);
  };
  const g: PushGit = {
    isAncestor: async (a, b) => (await git(['merge-base', '--is-ancestor', a, b], cwd, env)).code === 0,
    // A new state branch brings its whole history, whatever other refs already hold it: none of it was checked as state.
    newCommits: (old, tip) => run(['rev-list', '--topo-order', '--reverse', `--max-count=${PUSH_LIMITS.commits + 1}`, tip, ...(old ? [`^${old}`] : [])]),
    between: async (exclude, include, max) => run(['rev-list', '--topo-order', '--reverse', `--max-count=${max + 1}`, ...include, `^${exclude}`]),
  };
  const objects = new PushObjects(store, hexLen);
  const cat = new CatFile(cwd, env, hexLen);
  try {
    const problems = await validatePushWithCompaction(objects, ref, updates, g, { now, skewMs, presence: (a) => times.get(a) ?? null }, (commits) => inspectPush(cat, objects, commits));
    return { ok: problems.length === 0, problems, branch };
  } finally {
    cat.close();
  }
}

