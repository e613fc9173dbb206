import * as fs from 'node:fs';
import * as path from 'node:path';
/**
 * The agents' front door: `orc mcp`, `orc prime`, `orc setup`, `orc agent use`.
 * Each loads its module on use: the MCP SDK only for `orc mcp`.
 */
import type { Command } from 'commander';
import { OrcError } from '../errors.js';
import type { Orc } from '../ops/orc.js';
import * as output from './output.js';

interface Globals {
  json?: boolean;
  agent?: string;
}

type Act = (fn: (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>) => (...args: unknown[]) => Promise<void>;

const identity = async (orc: Orc, g: Globals) => (await import('../prime/identity.js')).identify(orc.repo, g.agent, process.env);

export function registerMcpCommand(program: Command, act: Act): void {
  program
    .command('mcp')
    .description('serve orc to an AI client as MCP tools and resources over stdio (one server per agent)')
    .action(
      act(async (orc, g) => {
        const { serveMcp } = await import('../mcp/server.js');
        (await import('../ops/sync.js')).setServeOthers(true);
        await serveMcp(orc, await identity(orc, g));
        return 0;
      }),
    );
}

export function registerPrimeCommand(program: Command, act: Act): void {
  program
    .command('prime')
    .description('what an agent needs at session start: who it is, its claims and locks, ready tasks, its loop')
    .option('--if-repo', 'outside a git repository print nothing and exit 0 (the session hook of a user-level setup, which runs in every session)')
    .action(async (...args: unknown[]) => {
      const opts = args[args.length - 2] as { ifRepo?: boolean };
      try {
        await act(async (orc, g) => {
          const { buildPrime, primeText } = await import('../prime/prime.js');
          const p = await buildPrime(orc, await identity(orc, g));
          if (g.json) output.printJson(p);
          else output.print(primeText(p));
        })(...args);
      } catch (e) {
        if (opts.ifRepo && e instanceof OrcError && e.code === 'ENV' && e.data.not_a_repo === true) return;
        throw e;
      }
    });
}

export function registerSetupCommand(program: Command, act: Act): void {
  program
    .command('setup <target>')
    .description('write orc instructions, MCP registration and session hook for claude, codex, cursor or agents-md')
    .option('--remove', "take orc's part out again (the user's bytes come back exactly)")
    .option('--dry-run', 'show the diff, write nothing')
    .option('--global', "the client's user-level files instead of this repo's")
    .action(
      act(async (orc, g, target: string, opts: { remove?: boolean; dryRun?: boolean; global?: boolean }) => {
        const { setup } = await import('../setup/setup.js');
        const root = orc.repo.workTree;
        if (!root && !opts.global) throw Object.assign(new Error('orc setup writes into a worktree; run it inside one (or give --global)'), { orcUsage: true });
        const changes = setup(target, { root: root ?? '', gitDir: orc.repo.gitDir, remove: opts.remove, dryRun: opts.dryRun, global: opts.global });
        if (g.json) return output.printJson(changes);
        for (const c of changes) output.print(c.diff ?? `${c.action} ${c.path}`);
        if (!opts.remove && !opts.dryRun && !orc.agent) output.print('next: name this worktree\'s agent with `orc agent use NAME`, then `orc prime`');
        // The client starts `orc mcp` and runs `orc prime` by name: said when that name finds nothing here.
        if (!opts.remove && !onPath('orc')) process.stderr.write("orc: note: no `orc` on PATH here, and the client runs `orc mcp` and `orc prime` by that name; install it (npm install -g in orc's checkout) or put absolute paths in the entries\n");
      }),
    );
}

export function registerAgentUse(a: Command, act: Act): void {
  a.command('use <name>')
    .description("name this worktree's agent (git config --worktree orc.agent, turning on extensions.worktreeConfig)")
    .action(
      act(async (orc, g, name: string) => {
        const r = await (await import('../prime/identity.js')).useAgent(orc.repo, name);
        if (g.json) output.printJson(r);
        else output.print(`this worktree's agent is now ${r.agent}${r.enabled_worktree_config ? ' (turned on extensions.worktreeConfig)' : ''}`);
      }),
    );
}

/** Whether an executable of that name is on PATH. */
function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}
