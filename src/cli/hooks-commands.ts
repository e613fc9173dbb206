/**
 * `orc hooks install|uninstall|status`, and the hidden `orc hooks run NAME`
 * that the scripts in hooks/ call. The hooks' logic lives in src/hooks/,
 * loaded only when a hooks command runs.
 */
import type { Command } from 'commander';
import { open } from '../ops/orc.js';
import * as output from './output.js';

interface Globals {
  json?: boolean;
  repo?: string;
  agent?: string;
}

const debug = (m: string) => {
  if (process.env.ORC_DEBUG) process.stderr.write(`orc: ${m}\n`);
};

function where(g: Globals, remoteRepo?: string): string {
  return remoteRepo ?? g.repo ?? process.env.ORC_REPO ?? process.cwd();
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs a client hook: any failure is swallowed (one line with ORC_DEBUG), so a commit is never blocked by orc. */
async function clientHook(name: string, args: string[], g: Globals): Promise<number> {
  try {
    const client = await import('../hooks/client.js');
    const orc = await open({ repo: g.repo, agent: g.agent, onWarning: debug });
    const what = name === 'prepare-commit-msg' ? await client.prepareCommitMsg(orc, args) : await client.postCommit(orc);
    debug(`${name}: ${what}`);
  } catch (e) {
    debug(`${name} hook failed, commit not affected: ${(e as Error).message}`);
  }
  return 0;
}

/**
 * The pre-commit guard, answering on stdout for hooks/pre-commit: nothing
 * (go on), one line (go on: orc itself failed), or `refused` and the reasons
 * (exit 1). It never refuses on orc's own error.
 */
async function checkCommit(g: Globals): Promise<number> {
  try {
    const guard = await import('../hooks/guard.js');
    const orc = await open({ repo: g.repo, agent: g.agent, onWarning: debug });
    const r = await guard.checkCommit(orc);
    debug(`pre-commit: ${r.note}`);
    if (!r.blocked.length) return 0;
    process.stdout.write(`refused\n${guard.refusalText(orc.agent!, r.blocked)}`);
    return 1;
  } catch (e) {
    process.stdout.write(`orc: pre-commit guard skipped, commit not checked: ${(e as Error).message.split('\n')[0]}\n`);
    return 0;
  }
}

export function registerHooksCommands(program: Command): void {
  const hooks = program.command('hooks').description("install git hooks: a guard for the shared remote's state branch, and Orc-Task trailers linking agents' commits to their tasks");

  const states = (list: import('../hooks/install.js').HookState[]) =>
    list.map((s) => `${s.name.padEnd(19)} ${s.state === 'orc' ? 'orc' : s.state === 'other' ? 'not orc (yours)' : 'none'}${s.chained ? `, chained to ${s.name}.orc-chained` : ''}`).join('\n');

  for (const verb of ['install', 'uninstall', 'status'] as const) {
    const desc = {
      install: "install orc's hooks (pre-commit, prepare-commit-msg, post-commit; pre-receive with --remote-repo); a hook you had is kept and run first",
      uninstall: "remove orc's hooks and put back the ones they chained to",
      status: "show which hooks are orc's",
    }[verb];
    hooks
      .command(verb)
      .description(desc)
      .option('--remote-repo <path>', "the shared remote's bare repository (pre-receive)")
      .action(async (opts: { remoteRepo?: string }, cmd: Command) => {
        const g = cmd.optsWithGlobals() as Globals;
        const inst = await import('../hooks/install.js');
        const target = await inst.hookTarget(where(g, opts.remoteRepo), opts.remoteRepo !== undefined);
        const list = verb === 'install' ? inst.install(target) : verb === 'uninstall' ? inst.uninstall(target) : inst.hookStates(target);
        if (g.json) output.printJson({ dir: target.dir, hooks: list });
        else output.print(`${target.dir}\n${states(list)}`);
      });
  }

  hooks
    .command('check-commit', { hidden: true })
    .description("the pre-commit guard: refuse staged paths another agent holds (called by orc's pre-commit script)")
    .action(async (_opts: unknown, cmd: Command) => {
      process.exitCode = await checkCommit(cmd.optsWithGlobals() as Globals);
    });

  hooks
    .command('run <hook> [args...]', { hidden: true })
    .description('run one hook (called by the scripts orc installs)')
    .allowUnknownOption()
    .action(async (name: string, args: string[], _opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (name === 'pre-receive') {
        try {
          const { preReceive } = await import('../hooks/server.js');
          const r = await preReceive(await readStdin());
          for (const p of r.problems) process.stderr.write(`orc: ${p}\n`);
          if (!r.ok) process.stderr.write(`orc: push to refs/heads/${r.branch} refused (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}); see README "Hooks"\n`);
          process.exitCode = r.ok ? 0 : 1;
        } catch (e) {
          process.stderr.write(`orc: push refused: the pre-receive check failed: ${(e as Error).message}\n`);
          process.exitCode = 1;
        }
        return;
      }
      if (name === 'prepare-commit-msg' || name === 'post-commit') {
        process.exitCode = await clientHook(name, args ?? [], g);
        return;
      }
      process.stderr.write(`orc: no hook "${name}"; orc runs pre-receive, prepare-commit-msg and post-commit\n`);
      process.exitCode = 2;
    });
}
