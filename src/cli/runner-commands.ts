/**
 * The runner's commands: plan, ready, brief, collect, templates (and
 * `t after`). Handlebars is loaded only inside their actions, by a dynamic
 * import of the runner, so no other command pays for it.
 */
import { fs } from '../node.js';
import type { Command } from 'commander';
import type { Orc } from '../ops/orc.js';
import * as output from './output.js';

export interface Globals {
  json?: boolean;
  repo?: string;
  agent?: string;
}

/** main.ts's `act`: opens the repo with the global options, runs the action, sets the exit code. */
export type Act = (fn: (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>) => (...args: unknown[]) => Promise<void>;

export const RUNNER_COMMANDS = ['plan', 'ready', 'brief', 'collect', 'templates'] as const;
export type RunnerCommand = (typeof RUNNER_COMMANDS)[number];

const runner = () => import('../runner/runner.js');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Declares the runner's top-level commands (all of them, or only those named: the CLI builds just the one invoked). */
export function registerRunnerCommands(program: Command, act: Act, only: readonly RunnerCommand[] = RUNNER_COMMANDS): void {
  const want = (n: RunnerCommand) => only.includes(n);

  if (want('plan')) {
    program
      .command('plan')
      .description('plan a cycle: the best ready task of each workstream, in parallel or in series; commits plans/<cycle>.md, cycles/<cycle>.json and briefs/<ws>/<id>.md')
      .option('--dry-run', 'render without committing')
      .action(
        act(async (orc, g, opts: { dryRun?: boolean }) => {
          const r = await (await runner()).plan(orc, { dryRun: opts.dryRun });
          if (g.json) output.printJson(r.data);
          else output.print(r.markdown);
        }),
      );
  }

  if (want('ready')) {
    program
      .command('ready [workstream]')
      .description('tasks ready to run: pending, every dependency done; of one workstream or of all')
      .action(
        act(async (orc, g, ws?: string) => {
          const list = await orc.readyTasks(ws);
          if (g.json) output.printJson(list);
          else if (!list.length) output.print(ws ? `no ready task in ${ws}` : 'no ready tasks');
          else output.print(table([['WORKSTREAM', 'ID', 'PRI', 'TITLE'], ...list.map((t) => [t.workstream, t.id, `P${t.priority}`, t.title])]));
        }),
      );
  }

  if (want('brief')) {
    program
      .command('brief <workstream> [id]')
      .description("a task's brief: what to do, dependencies and their results, knowledge, recent events, commands (the best ready task when no id)")
      .action(
        act(async (orc, g, ws: string, id?: string) => {
          const r = await (await runner()).brief(orc, ws, id);
          if (g.json) output.printJson(r.data);
          else output.print(r.markdown);
        }),
      );
  }

  if (want('collect')) {
    program
      .command('collect [cycle]')
      .description('what the newest cycle (or the one named) completed, what is in progress, failed or expired, and the knowledge written since; commits cycles/<cycle>-collect.md')
      .option('--dry-run', 'render without committing')
      .action(
        act(async (orc, g, cycle: string | undefined, opts: { dryRun?: boolean }) => {
          const r = await (await runner()).collect(orc, { dryRun: opts.dryRun, cycle });
          if (g.json) output.printJson(r.data);
          else output.print(r.markdown);
        }),
      );
  }

  if (want('templates')) {
    const t = program.command('templates').alias('template').description("the runner's templates: defaults, or a team's overrides committed on the state branch");
    t.command('list')
      .description('every template and where it comes from (branch or default)')
      .action(
        act(async (orc, g) => {
          const list = await (await runner()).listTemplates(orc);
          if (g.json) output.printJson(list);
          else output.print(table([['NAME', 'FROM', 'BYTES'], ...list.map((x) => [x.name, x.from, String(x.bytes)])]));
        }),
      );
    t.command('show <name>')
      .description('print a template as it renders now (the override, else the default)')
      .action(
        act(async (orc, g, name: string) => {
          const tpl = await (await runner()).showTemplate(orc, name);
          if (g.json) output.printJson({ name: tpl.template, from: tpl.from, text: tpl.text });
          else process.stdout.write(tpl.text);
        }),
      );
    t.command('edit <name>')
      .description('edit a template in $EDITOR (else $VISUAL, else vi); commits it as templates/<name>.hbs if it parses')
      .action(
        act(async (orc, g, name: string) => {
          const r = await (await runner()).editTemplate(orc, name);
          if (g.json) output.printJson(r);
          else output.print(r.changed ? `committed ${r.path} (${r.bytes} bytes)` : `no change to ${r.name}; nothing committed`);
        }),
      );
    t.command('write <name> <file>')
      .description('commit a template from a file ("-" reads stdin) as templates/<name>.hbs, if it parses')
      .action(
        act(async (orc, g, name: string, file: string) => {
          const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
          const r = await (await runner()).writeTemplate(orc, name, text);
          if (g.json) output.printJson(r);
          else output.print(r.commit ? `committed ${r.path} (${r.bytes} bytes)` : `${r.path} already holds that; nothing committed`);
        }),
      );
    t.command('rm <name>')
      .alias('reset')
      .description("remove the branch's override, so the default applies again")
      .action(
        act(async (orc, g, name: string) => {
          const r = await (await runner()).removeTemplate(orc, name);
          if (g.json) output.printJson(r);
          else output.print(`removed ${r.path}; the default applies`);
        }),
      );
  }
}

/** `orc t after WS ID DEP...`: the task waits for more tasks (DEP is ID or WS/ID); a dependency cycle is refused (exit 2). */
export function registerTaskAfter(t: Command, act: Act): void {
  t.command('after <workstream> <id> <deps...>')
    .description('make a task wait for other tasks: ID in its workstream, WS/ID in another; refuses a dependency cycle')
    .action(
      act(async (orc, g, ws: string, id: string, deps: string[]) => {
        const task = await orc.addDependencies(ws, id, deps);
        if (g.json) output.printJson(task);
        else output.print(`${task.workstream}/${task.id} waits for ${task.after.join(', ')}`);
      }),
    );
}
