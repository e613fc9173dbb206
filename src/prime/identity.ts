/**
 * Who the acting agent is and how that was decided, in the order `open()`
 * applies: --agent, ORC_AGENT, then git config orc.agent (this worktree's
 * config.worktree, the repo's config, the user's), else none. `orc agent use`
 * sets the worktree's.
 */
import { fs, path } from '../node.js';
import { isTrue, last, loadConfig, parseConfig } from '../store/config.js';
import type { RepoPaths } from '../store/repo.js';
import { runGit } from '../store/gitcli.js';
import { OrcError } from '../errors.js';
import { checkName } from '../model/validate.js';

export type AgentSource = 'flag' | 'env' | 'worktree-config' | 'repo-config' | 'user-config' | 'none';

export interface Identity {
  name: string | null;
  source: AgentSource;
}

function configValue(file: string, key: string): string | undefined {
  try {
    return last(parseConfig(fs.readFileSync(file, 'utf8')), key);
  } catch {
    return undefined;
  }
}

export function identify(paths: RepoPaths, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Identity {
  if (flag) return { name: flag, source: 'flag' };
  if (env.ORC_AGENT) return { name: env.ORC_AGENT, source: 'env' };
  const cfg = loadConfig(paths, env);
  const name = last(cfg, 'orc.agent');
  if (!name) return { name: null, source: 'none' };
  const worktreeOn = isTrue(last(cfg, 'extensions.worktreeconfig'));
  if (worktreeOn && configValue(path.join(paths.gitDir, 'config.worktree'), 'orc.agent') === name) return { name, source: 'worktree-config' };
  if (configValue(path.join(paths.commonDir, 'config'), 'orc.agent') === name) return { name, source: 'repo-config' };
  return { name, source: 'user-config' };
}

/** One line saying how the name was decided. */
export function identityText(id: Identity): string {
  switch (id.source) {
    case 'flag':
      return 'named by --agent';
    case 'env':
      return 'named by ORC_AGENT';
    case 'worktree-config':
      return "named by this worktree's git config, `orc agent use`";
    case 'repo-config':
      return "named by the repo's git config orc.agent, shared by every worktree; `orc agent use NAME` names this worktree alone";
    case 'user-config':
      return 'named by your global git config orc.agent';
    case 'none':
      return 'run `orc agent use NAME` in this worktree (or pass --agent, or set ORC_AGENT)';
  }
}

/**
 * `orc agent use NAME`: names the agent of this worktree only. Turns on
 * extensions.worktreeConfig (shared) where it is off, then writes orc.agent
 * to this worktree's config.worktree. Other worktrees keep their own names.
 */
export async function useAgent(paths: RepoPaths, name: string): Promise<{ agent: string; worktree: string | null; file: string; enabled_worktree_config: boolean }> {
  checkName('agent', name);
  const common = path.join(paths.commonDir, 'config');
  const on = isTrue(configValue(common, 'extensions.worktreeConfig'));
  if (!on) {
    // With the extension on, git reads core.worktree and core.bare=true from each worktree's own file only.
    const r = await runGit(paths, ['config', '--file', common, 'extensions.worktreeConfig', 'true']);
    if (r.code !== 0) throw new OrcError('ENV', `cannot turn on extensions.worktreeConfig: ${r.stderr.trim().split('\n')[0]}; run \`git config extensions.worktreeConfig true\``);
  }
  const r = await runGit(paths, ['config', '--worktree', 'orc.agent', name]);
  if (r.code !== 0) throw new OrcError('ENV', `git config --worktree orc.agent failed: ${r.stderr.trim().split('\n')[0]}`);
  return { agent: name, worktree: paths.workTree, file: path.join(paths.gitDir, 'config.worktree'), enabled_worktree_config: !on };
}
