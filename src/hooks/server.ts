/**
 * `orc hooks run pre-receive`, on the shared bare remote: reads git's ref
 * updates from stdin and refuses the push when the state branch would get a
 * non-fast-forward or a commit validate.ts refuses. Other refs pass.
 */
import { execFile } from 'node:child_process';
import { last, loadConfig } from '../store/config.js';
import { GitStore } from '../store/gitstore.js';
import { discoverRepo } from '../store/repo.js';
import { validatePush, ZERO, type PushGit, type RefUpdate } from './validate.js';

export function parseUpdates(stdin: string): RefUpdate[] {
  return stdin
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map(([o, n, ref]) => ({ old: o!, new: n!, ref: ref! }));
}

function git(args: string[], cwd: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout) => {
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
  const branch = last(loadConfig(paths, env), 'orc.branch') ?? 'orc';
  const ref = `refs/heads/${branch}`;
  const updates = parseUpdates(stdin);
  if (!updates.some((u) => u.ref === ref)) return { ok: true, problems: [], branch };
  // During pre-receive the pushed objects sit in git's quarantine folder; the store reads it through git's env.
  const store = new GitStore(paths, ref, false, env);
  await loadRunnerOps();
  const cwd = process.cwd();
  const g: PushGit = {
    isAncestor: async (a, b) => (await git(['merge-base', '--is-ancestor', a, b], cwd)).code === 0,
    newCommits: async (old, tip) => {
      const args = old && old !== ZERO ? ['rev-list', '--reverse', `${old}..${tip}`] : ['rev-list', '--reverse', tip, '--not', '--all'];
      const r = await git(args, cwd);
      if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed`);
      return r.stdout.split('\n').filter(Boolean);
    },
  };
  const problems = await validatePush(store, ref, updates, g);
  return { ok: problems.length === 0, problems, branch };
}
