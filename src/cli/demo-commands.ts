/**
 * `orc demo`: simulated agents in a throwaway repo, with the dashboard live.
 * The demo (and with it express and the hooks) is loaded only here, by
 * dynamic import. It needs no repo: it makes its own, so unlike other
 * commands it does not open one.
 */
import type { Command } from 'commander';
import { OrcError, invalid } from '../errors.js';
import { checkInt } from '../model/validate.js';
import * as output from './output.js';

interface Globals {
  json?: boolean;
  repo?: string;
  agent?: string;
}

interface DemoFlags {
  port?: string;
  host?: string;
  token?: string;
  dir?: string;
  keep?: boolean;
  speed: string;
  agents: string;
  quiet?: boolean;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** `12:00:01  agent-ada      claimed    api/todo-model          Define the Todo model…`, local time. */
function activityLine(a: Activity): string {
  return `${a.at.toTimeString().slice(0, 8)}  ${pad(a.who, 13)}  ${pad(a.what, 9)}  ${a.task ? `${pad(a.task, 22)}  ` : ''}${a.detail}\n`;
}

export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description('a throwaway repo where simulated agents work through workstreams in their own worktrees, with the dashboard live; Ctrl-C stops and cleans up')
    .option('--port <n>', 'port (default: PORT, then 4000, or any free port if 4000 is busy; 0 picks a free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1; another needs --token)')
    .option('--token <token>', 'writes through the API need Authorization: Bearer <token> (default: ORC_TOKEN)')
    .option('--dir <path>', 'build the demo in this new or empty folder, and keep it')
    .option('--keep', 'keep the temporary repo when stopped')
    .option('--speed <ms>', 'mean time an agent works on a task, in ms', '2500')
    .option('--agents <n>', 'how many agents', '3')
    .option('--quiet', 'no activity lines: only the ready line and the closing one')
    .action(async (opts: DemoFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (g.repo !== undefined) throw new OrcError('USAGE', 'orc demo makes its own repo and does not take --repo; use --dir PATH to choose where it goes');
      if (g.agent !== undefined) throw new OrcError('USAGE', 'orc demo names its own agents and does not take --agent; use --agents N for how many');
      const port = checkInt('--port', opts.port ?? process.env.PORT ?? '4000', 0, 65535);
      const speedMs = checkInt('--speed', opts.speed, 1, 3_600_000);
      if (opts.host !== undefined && !opts.host.trim()) throw invalid('--host is empty');
      if (opts.dir !== undefined && !opts.dir.trim()) throw invalid('--dir is empty');
      const mod = await import('../demo/demo.js');
      const agents = checkInt('--agents', opts.agents, 1, mod.MAX_AGENTS);
      process.exitCode = await runDemo(mod, {
        json: !!g.json,
        quiet: !!opts.quiet,
        options: {
          port,
          anyPortIfBusy: opts.port === undefined && process.env.PORT === undefined,
          host: opts.host,
          token: opts.token ?? process.env.ORC_TOKEN ?? null,
          dir: opts.dir,
          keep: !!opts.keep,
          speedMs,
          agents,
        },
      });
    });
}

type DemoModule = typeof import('../demo/demo.js');
type Demo = Awaited<ReturnType<DemoModule['startDemo']>>;
type DemoOptions = Parameters<DemoModule['startDemo']>[0];
type Activity = import('../demo/demo.js').Activity;

/**
 * Starts the demo, prints the ready line, and runs until SIGINT, SIGTERM or
 * SIGHUP (or the demo failing); then stops it and prints one closing line.
 * A second signal exits at once.
 */
async function runDemo({ startDemo, isAbort }: DemoModule, o: { json: boolean; quiet: boolean; options: DemoOptions }): Promise<number> {
  // Messages for a person go to stdout; with --json, stdout holds only the ready line.
  const human = o.json ? process.stderr : process.stdout;
  const say = (line: string) => human.write(`${line}\n`);
  let dir: string | null = null;
  let wake: (() => void) | null = null;
  let signalled = false;
  const setup = new AbortController();
  const onSignal = () => {
    if (signalled) {
      process.stderr.write(`\norc demo: stopping at once${dir ? `; ${dir} may be left behind` : ''}\n`);
      process.exit(130);
    }
    signalled = true;
    setup.abort();
    wake?.();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  try {
    let demo: Demo;
    try {
      demo = await startDemo({
        ...o.options,
        signal: setup.signal,
        onWarning: (m) => process.stderr.write(`orc demo: ${m}\n`),
        onActivity: o.json || o.quiet ? undefined : (a) => process.stdout.write(activityLine(a)),
      });
    } catch (e) {
      if (!isAbort(e)) throw e;
      say(`${human.isTTY ? '\n' : ''}orc demo: stopped while setting up; nothing left behind`);
      return 0;
    }
    dir = demo.dir;
    if (signalled) {
      // Stopped in the last moment of set-up: no ready line for a demo that is already ending.
    } else if (o.json) {
      process.stdout.write(`${JSON.stringify({ url: demo.url, api: demo.api, port: demo.port, dir: demo.dir, branch: demo.branch, agents: demo.agents, worktrees: demo.worktrees })}\n`);
    } else {
      output.print(`orc demo: dashboard at ${demo.url}  (${demo.agents.length} agent${demo.agents.length === 1 ? '' : 's'} working in ${demo.dir}; Ctrl-C stops)`);
    }
    let failure: unknown = null;
    if (!signalled) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        demo.failed.catch((e: unknown) => {
          failure = e;
          resolve();
        });
      });
    }
    const r = await demo.stop();
    const tasks = `${r.done} task${r.done === 1 ? '' : 's'} done${r.failed ? `, ${r.failed} failed` : ''} in ${r.rounds} round${r.rounds === 1 ? '' : 's'}`;
    const what = r.removed
      ? `removed ${r.dir}`
      : r.removeError
        ? `could not remove ${r.dir}: ${r.removeError}`
        : `kept ${r.dir} (try: orc --repo ${r.dir} status; git -C ${r.dir} log --all --oneline)`;
    const late = r.unfinished ? `; ${r.unfinished} agent${r.unfinished === 1 ? '' : 's'} did not finish in time` : '';
    if (failure) {
      say(`orc demo: stopped after an error (${tasks}); ${what}`);
      throw failure;
    }
    // After the terminal's ^C, start on a line of our own.
    say(`${signalled && human.isTTY ? '\n' : ''}orc demo: stopped (${tasks}); ${what}${late}`);
    if (r.removeError) throw new OrcError('ENV', `could not remove ${r.dir}: ${r.removeError}; remove it by hand`, { path: r.dir });
    return 0;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
