#!/usr/bin/env node
/**
 * The `orc` command line. Parsing and output only: every command calls the
 * library (ops), loaded lazily so that a command pays only for what it uses.
 */
import { Command, CommanderError, Option } from 'commander';
import { OrcError, invalid } from '../errors.js';
import { checkInt } from '../model/validate.js';
import { open, type Orc } from '../ops/orc.js';
import * as output from './output.js';
import { run } from './run.js';
import { registerHooksCommands } from './hooks-commands.js';
import { registerServeCommands } from './serve-commands.js';
import { registerDemoCommands } from './demo-commands.js';
import { registerRunnerCommands, registerTaskAfter, type RunnerCommand } from './runner-commands.js';
import { registerWatchCommand } from './watch-commands.js';
import { LIST_COMMANDS, commandPath, selectFields } from './list-fields.js';
import { registerHelpCommands } from './completion.js';
import { addExamples } from './help-examples.js';
import { registerMsgCommands } from './msg-commands.js';
import { registerAgentUse, registerMcpCommand, registerPrimeCommand, registerSetupCommand } from './agentdoor-commands.js';
import { setOpLoader } from '../model/ops.js';
import { setServeOthers } from '../ops/sync.js';
import { termSafe } from '../ops/status-text.js';

// A replay (sync) meeting a runner op loads the runner then, and only then (Handlebars stays off every other path).
setOpLoader((name) => (/^(runner|template)\./.test(name) ? import('../runner/runner.js') : undefined));
// A command exits with its answer; it does not stay to decide other hosts' waiting ops (`orc serve` and `orc mcp` do).
setServeOthers(false);

interface Globals {
  json?: boolean;
  repo?: string;
  agent?: string;
}

type Action = (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>;

const collect = (v: string, prev: string[] = []) => [...prev, v];

function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals() as Globals;
}

/** Wraps an action: opens the repo with the global options, runs, and sets the exit code. */
function act(fn: Action) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const g = globals(cmd);
    const orc = await open({ repo: g.repo, agent: g.agent, onWarning: (m) => process.stderr.write(`orc: ${m}\n`) });
    const code = await (fn as (...a: unknown[]) => Promise<void | number>)(orc, g, ...args.slice(0, -1));
    if (typeof code === 'number') process.exitCode = code;
  };
}

// Everything but the runner (Handlebars) is loaded up front: every command needs it, and one bundle loads fastest.
const out = async () => output;

export function buildProgram(argv?: string[]): Command {
  const program = new Command('orc')
    .description('Coordinate AI agents through git: workstreams, tasks, agents, locks, events and knowledge on one branch.')
    .option('--json', 'machine output: one JSON value on stdout')
    .option('--repo <path>', 'the coordination repo (default: ORC_REPO, then the current directory)')
    .option('--agent <name>', 'the acting agent (default: ORC_AGENT, then git config orc.agent)')
    .version('0.1.0')
    .enablePositionalOptions()
    .exitOverride();

  const initCmd = (): void => {
    program
      .command('init')
      .description('create the state branch (every op also creates it on first use); --remote makes a git remote the point of order')
      .option('--remote <name>', 'a git remote shared by every host: claims and locks are decided there')
      .action(
        act(async (orc, g, opts: { remote?: string }) => {
          if (opts.remote !== undefined) {
            const r = await orc.initRemote(opts.remote);
            if (g.json) output.printJson({ branch: orc.branch, ...r });
            else output.print(`orc.remote = ${r.remote}; ${output.syncText(r.report)}`);
            return r.report.refused.length ? 1 : 0;
          }
          const created = await orc.init();
          if (g.json) output.printJson({ created, branch: orc.branch });
          else output.print(created ? `created branch ${orc.branch}` : `branch ${orc.branch} already set up`);
        }),
      );
  };

  const syncCmd = (): void => {
    program
      .command('sync')
      .description('fetch the state branch from the remote, replay what only this host has, push; prints what came in and went out')
      .action(
        act(async (orc, g) => {
          const r = await orc.sync();
          if (g.json) output.printJson(r);
          else output.print(output.syncText(r));
          return r.refused.length ? 1 : 0;
        }),
      );
  };
  const statusCmd = (): void => {
    program
      .command('status')
      .description('workstreams, agents, locks, knowledge and recent events')
      .action(
        act(async (orc, g) => {
          const o = await out();
          if (g.json) o.printJson(await orc.status());
          else o.print(await orc.statusText());
        }),
      );
  };
  const wsCmd = (): void => {
    // ---------------------------------------------------------------- workstreams
    const ws = program.command('ws').alias('workstream').description('workstreams');
    ws.command('create <name> [description] [priority]')
      .description('create a workstream (priority 1 is the highest; default 3)')
      .action(
        act(async (orc, g, name: string, description?: string, priority?: string) => {
          const w = await orc.createWorkstream(name, description, priority);
          const o = await out();
          if (g.json) o.printJson(w);
          else o.print(`created workstream ${w.name}`);
        }),
      );
    ws.command('list')
      .description('workstreams with task counts per status')
      .action(
        act(async (orc, g) => {
          const o = await out();
          const list = await orc.listWorkstreams();
          if (g.json) o.printJson(list);
          else o.print(o.workstreamsText(list));
        }),
      );
  };
  const tCmd = (): void => {
    // ---------------------------------------------------------------- tasks
    const t = program.command('t').alias('task').description('tasks');
    t.command('add <workstream> <title> [description] [priority]')
      .description('add a task; prints its id')
      .option('--estimate <n>', 'an estimate: a whole number in your unit, or text such as 2h')
      .option('--resource <name>', 'a resource it touches: lock name, path or glob (repeatable)', collect)
      .option('--after <id>', 'a task it waits for: ID in this workstream, WS/ID in another (repeatable)', collect)
      .option('--kb <topic>', 'a knowledge topic that matters to it (repeatable)', collect)
      .option('--id <id>', 'choose the id instead of generating one')
      .action(
        act(async (orc, g, wsName: string, title: string, description?: string, priority?: string, opts?: { estimate?: string; resource?: string[]; after?: string[]; kb?: string[]; id?: string }) => {
          const task = await orc.addTask(wsName, title, description, priority, {
            id: opts?.id,
            estimate: opts?.estimate ?? null,
            resources: opts?.resource,
            after: opts?.after,
            kb: opts?.kb,
          });
          const o = await out();
          if (g.json) o.printJson(task);
          else o.print(task.id);
        }),
      );
    t.command('list [workstream]')
      .description('tasks of a workstream (or of all, with --all, --mine or --agent), best first')
      .addOption(new Option('--status <status>', 'only tasks with this status').choices(['pending', 'in_progress', 'done', 'failed']))
      .option('--mine', "only the acting agent's tasks (across workstreams unless one is named)")
      .option('--agent <name>', "only this agent's tasks (across workstreams unless one is named)")
      .option('--all', 'every workstream, and archived tasks too (moved by `orc compact`)')
      .action(
        act(async (orc, g, wsName: string | undefined, opts: { status?: 'pending' | 'in_progress' | 'done' | 'failed'; mine?: boolean; agent?: string; all?: boolean }, cmd?: Command) => {
          const o = await out();
          // --agent here filters; --mine means the agent named the usual way (before the command, ORC_AGENT, git config).
          const own = (cmd?.opts() ?? opts) as typeof opts;
          const { selectTasks, tasksAcrossText } = await import('./task-list.js');
          const list = await selectTasks(orc, wsName, own, orc.agent);
          if (g.json) o.printJson(list);
          else o.print(tasksAcrossText(list, new Date(), !wsName));
        }),
      );
    t.command('show <workstream> <id>')
      .description('one task')
      .action(
        act(async (orc, g, wsName: string, id: string) => {
          const o = await out();
          const task = await orc.getTask(wsName, id);
          if (!task) {
            throw new OrcError('NOT_FOUND', `no task "${id}" in workstream "${wsName}"; see \`orc t list ${wsName}\``);
          }
          const { taskCommits, commitsText } = await import('../hooks/client.js');
          const commits = await taskCommits(orc, task);
          if (g.json) o.printJson({ ...task, commits });
          else o.print(o.taskText(task, new Date()) + commitsText(commits));
        }),
      );
    t.command('claim <workstream> <id> [agent]')
      .description('claim a task for an agent, under a lease')
      .option('--lease <duration>', 'lease length: 10m, 90s, 2h or ms (default 10m; heartbeats extend it)')
      .action(
        act(async (orc, g, wsName: string, id: string, agent: string | undefined, opts: { lease?: string }) => {
          const task = await orc.claimTask(wsName, id, needAgent(orc, agent), { leaseMs: opts.lease });
          const o = await out();
          if (g.json) o.printJson(task);
          else o.print(`claimed ${task.workstream}/${task.id} for ${task.assigned_to}: ${task.title}`);
        }),
      );
    t.command('next <workstream> [agent]')
      .description('claim the best pending task (priority, then oldest); --json prints it or null')
      .option('--lease <duration>', 'lease length: 10m, 90s, 2h or ms (default 10m; heartbeats extend it)')
      .option('--wait', 'if none is claimable, wait until one is (added, reopened, unblocked, lease ended), then claim it')
      .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1); 30, 90s, 10m')
      .action(
        act(async (orc, g, wsName: string, agent: string | undefined, opts: { lease?: string; wait?: boolean; timeout?: string }) => {
          if (opts.timeout !== undefined && !opts.wait) throw new OrcError('USAGE', '--timeout needs --wait (without it, next does not wait); add --wait or drop --timeout');
          const who = needAgent(orc, agent);
          const task = opts.wait ? await (await import('./watch-commands.js')).waitForNext(orc, wsName, who, opts) : await orc.getNextTask(wsName, who, { leaseMs: opts.lease });
          const o = await out();
          if (g.json) o.printJson(task);
          else if (task) o.print(`${task.id}\t${task.title}`);
          else process.stderr.write(`orc: no claimable task in ${wsName}${opts.wait ? ' before the timeout' : ''}\n`);
          return task ? 0 : 1;
        }),
      );
    const complete = (failed: boolean) =>
      act(async (orc, g, wsName: string, id: string, result?: string) => {
        const task = await orc.completeTask(wsName, id, result, { failed });
        const o = await out();
        if (g.json) o.printJson(task);
        else o.print(`${failed ? 'failed' : 'completed'} ${task.workstream}/${task.id}: ${task.title}`);
      });
    t.command('complete <workstream> <id> [result]').alias('done').description('complete a task, with its result').action(complete(false));
    t.command('fail <workstream> <id> [reason]').description('mark a task failed, with the reason').action(complete(true));
    t.command('reopen <workstream> <id> [reason]')
      .alias('retry')
      .description('put a done or failed task back to pending, to be claimed again; the last result stays in the event log')
      .action(
        act(async (orc, g, wsName: string, id: string, reason?: string) => {
          const task = await orc.reopenTask(wsName, id, reason);
          const o = await out();
          if (g.json) o.printJson(task);
          else o.print(`reopened ${task.workstream}/${task.id}: ${task.title}`);
        }),
      );
    registerTaskAfter(t, act);
  };
  const aCmd = (): void => {
    // ---------------------------------------------------------------- agents
    const a = program.command('a').alias('agent').description('agents');
    a.command('register <id> [type]')
      .description('register an agent (or update it)')
      .option('--capabilities <list>', 'comma-separated capabilities')
      .action(
        act(async (orc, g, id: string, type: string | undefined, opts: { capabilities?: string }) => {
          const caps = opts.capabilities ? opts.capabilities.split(',').map((c) => c.trim()).filter(Boolean) : [];
          const agent = await orc.registerAgent(id, type, caps);
          const o = await out();
          if (g.json) o.printJson(agent);
          else o.print(`registered ${agent.id} (${agent.type})`);
        }),
      );
    a.command('heartbeat [id]')
      .description("record that an agent is alive; extends its claims' leases and its locks; exit 1 if a claim was taken from it since the last one")
      .action(
        act(async (orc, g, id?: string) => {
          const agent = await orc.heartbeat(needAgent(orc, id));
          const o = await out();
          if (g.json) o.printJson(agent);
          else o.print(`heartbeat ${agent.id} at ${agent.last_heartbeat}`);
          if (!agent.lost.length) return 0;
          const what = agent.lost.map((l) => `${l.workstream}/${l.id} (${l.action === 'taken_over' ? 'taken over' : l.action} by ${l.by} at ${l.at})`);
          process.stderr.write(`orc: ${agent.id} lost ${what.length === 1 ? 'its claim of' : `${what.length} claims:`} ${what.join(', ')}; stop working on ${what.length === 1 ? 'it' : 'them'}\n`);
          return 1;
        }),
      );
    a.command('list')
      .description('agents, last seen, stale flag')
      .action(
        act(async (orc, g) => {
          const o = await out();
          const list = await orc.listAgents();
          if (g.json) o.printJson(list);
          else o.print(o.agentsText(list, new Date()));
        }),
      );
    registerAgentUse(a, act);
  };
  const lockCmd = (): void => {
    // ---------------------------------------------------------------- locks
    const lock = program.command('lock').description('locks on named resources, with TTL and fencing tokens');
    lock
      .command('acquire <resource> [more...]')
      .description('acquire (or renew) locks, all or nothing in one commit; the last of 2+ arguments is the agent when it is an agent name (no "/" or wildcard) and no --agent is given; exit 1 if another agent holds an overlapping one or runs a task with an overlapping resource')
      .option('--ttl <duration>', 'time to live: 60s, 5m or ms (default 60s); heartbeats extend it')
      .option('--task <ws/id>', 'the task it is for: released when that task completes or fails')
      .option('--wait', 'if another agent holds it, queue (first come, first served on this host) until it is free')
      .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1); 30, 90s, 10m')
      .action(
        act(async (orc, g, resource: string, more: string[], opts: { ttl?: string; task?: string; wait?: boolean; timeout?: string }) => {
          const args = [resource, ...more];
          const agent = !g.agent && args.length > 1 && /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/.test(args[args.length - 1]!) ? args.pop() : undefined;
          if (opts.timeout !== undefined && !opts.wait) throw new OrcError('USAGE', '--timeout needs --wait (without it, acquire does not wait); add --wait or drop --timeout');
          if (opts.wait && args.length > 1) throw new OrcError('USAGE', '--wait takes one resource; wait for each in turn, or acquire several at once without --wait');
          if (opts.wait) {
            const l = await (await import('./watch-commands.js')).waitForLock(orc, resource, needAgent(orc, agent), opts);
            if (!l) {
              process.stderr.write(`orc: lock "${resource}" still held when the wait ended; see \`orc lock list\`\n`);
              return 1;
            }
            const o = await out();
            if (g.json) o.printJson(l);
            else o.print(`locked ${l.resource} for ${l.agent} until ${l.expires_at} (token ${l.token})`);
            return;
          }
          const o = await out();
          if (args.length > 1) {
            const list = await orc.acquireLocks(args, needAgent(orc, agent), opts.ttl, { task: opts.task });
            if (g.json) o.printJson(list);
            else o.print(list.map((l) => `locked ${l.resource} for ${l.agent} until ${l.expires_at} (token ${l.token})`).join('\n'));
            return;
          }
          const l = await orc.acquireLock(resource, needAgent(orc, agent), opts.ttl, { task: opts.task });
          if (g.json) o.printJson(l);
          else o.print(`locked ${l.resource} for ${l.agent} until ${l.expires_at} (token ${l.token})`);
        }),
      );
    lock
      .command('release <resource> [agent]')
      .description('release a lock; only its holder can')
      .action(
        act(async (orc, g, resource: string, agent?: string) => {
          const l = await orc.releaseLock(resource, needAgent(orc, agent));
          const o = await out();
          if (g.json) o.printJson(l);
          else o.print(`released ${l.resource} (token ${l.token})`);
        }),
      );
    lock
      .command('list')
      .description('active locks')
      .action(
        act(async (orc, g) => {
          const o = await out();
          const list = await orc.listLocks();
          if (g.json) o.printJson(list);
          else o.print(o.locksText(list, new Date()));
        }),
      );
  };
  const kbCmd = (): void => {
    // ---------------------------------------------------------------- knowledge
    const kb = program.command('kb').alias('knowledge').description('the knowledge base');
    kb.command('write <topic> <content...>')
      .description('write a topic (content "-" reads stdin); topics may contain "/"')
      .action(
        act(async (orc, g, topic: string, content: string[]) => {
          const text = content.length === 1 && content[0] === '-' ? await readStdin() : content.join(' ');
          // stdin is taken byte for byte; arguments are text.
          const r = await orc.writeKnowledge(topic, text);
          const o = await out();
          if (g.json) o.printJson(r);
          else o.print(`wrote ${r.topic} (${r.bytes} bytes)`);
        }),
      );
    kb.command('read <topic>')
      .description('print a topic exactly as written')
      .action(
        act(async (orc, g, topic: string) => {
          const bytes = await orc.readKnowledgeBytes(topic);
          if (bytes === null) {
            throw new OrcError('NOT_FOUND', `no knowledge topic "${topic}"; see \`orc kb list\``);
          }
          if (g.json) (await out()).printJson({ topic, content: bytes.toString('utf8') });
          // Exactly the bytes written; a newline is added only for a person at a terminal.
          else process.stdout.write(bytes.length && bytes[bytes.length - 1] !== 10 && process.stdout.isTTY ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes);
        }),
      );
    kb.command('list')
      .description('topics')
      .action(
        act(async (orc, g) => {
          const list = await orc.listKnowledge();
          const o = await out();
          if (g.json) o.printJson(list);
          else if (list.length) o.print(o.linesText(list));
        }),
      );
    kb.command('rm <topic>')
      .alias('delete')
      .description('delete a topic')
      .action(
        act(async (orc, g, topic: string) => {
          const r = await orc.deleteKnowledge(topic);
          const o = await out();
          if (g.json) o.printJson(r);
          else o.print(`deleted ${r.topic}`);
        }),
      );
  };
  const eventsCmd = (): void => {
    // ---------------------------------------------------------------- events and log
    program
      .command('events')
      .description('the event log, oldest first')
      .option('--last <n>', 'the newest N matching events', '50')
      .option('--agent <name>', 'only events by this agent')
      .option('--action <action>', 'only this action, e.g. task_claimed')
      .option('--since <time>', 'only events at or after this ISO time')
      .option('--workstream <name>', 'only events of this workstream')
      .action(
        act(async (orc, g, opts: { last: string; agent?: string; action?: string; since?: string; workstream?: string }, cmd?: Command) => {
          // --agent here filters; the global --agent names the actor, so read this command's own value.
          const own = (cmd?.opts() ?? opts) as typeof opts;
          // Named as the flag it is here (the library and REST say `since`).
          if (own.since !== undefined && !Number.isFinite(Date.parse(own.since))) throw invalid(`--since ${JSON.stringify(own.since)} is not a time; use an ISO time like 2026-01-31T12:00:00Z`);
          const list = await orc.getEvents({ last: checkInt('--last', own.last, 1, 1_000_000), agent: own.agent, action: own.action, since: own.since, workstream: own.workstream });
          const o = await out();
          if (g.json) o.printJson(list);
          else o.print(o.eventsText(list));
        }),
      );
  };
  const eventCmd = (): void => {
    program
      .command('event <action> [data]')
      .description('log a free-form event; data is a JSON object')
      .action(
        act(async (orc, g, action: string, data?: string) => {
          let parsed: Record<string, unknown> = {};
          if (data !== undefined) {
            try {
              parsed = JSON.parse(data) as Record<string, unknown>;
            } catch {
              throw invalid(`event data is not JSON: ${data.slice(0, 60)}; give an object like '{"env":"prod"}'`);
            }
          }
          // Straight to the op: parsed JSON that is a string must be refused as data, not read as logEvent(agent, action).
          const r = (await orc.run<{ action: string }>('event.log', { action, data: parsed })).result;
          const o = await out();
          if (g.json) o.printJson(r);
          else o.print(`logged ${r.action}`);
        }),
      );
  };
  const logCmd = (): void => {
    program
      .command('log')
      .description('the audit log: the branch history, op by op, newest first')
      .option('--last <n>', 'how many commits', '50')
      .action(
        act(async (orc, g, opts: { last: string }) => {
          const list = await orc.log({ last: checkInt('--last', opts.last, 1, 1_000_000) });
          const o = await out();
          if (g.json) o.printJson(list);
          else o.print(o.logText(list));
        }),
      );
  };
  const compactCmd = (): void => {
    program
      .command('compact')
      .description('restart the state branch as a new epoch: done/failed tasks older than N days move to archive/, older history stays under refs/orc/archive/<n>')
      .option('--keep-days <n>', 'keep tasks finished and events of the last N days (default: the setting, 14)')
      .option('--auto', 'only if due (the epoch is older than the compaction interval); what an op starts on its own')
      .action(
        act(async (orc, g, opts: { keepDays?: string; auto?: boolean }) => {
          const { compact } = await import('../ops/compact.js');
          const r = await compact(orc, { keepDays: opts.keepDays === undefined ? undefined : checkInt('--keep-days', opts.keepDays, 0, 100_000), auto: opts.auto });
          if (g.json) output.printJson(r);
          else output.print(r.compacted ? `compacted to epoch ${r.epoch} (${r.commit!.slice(0, 12)}): ${r.archived_tasks} task(s) archived, ${r.removed_event_files} event file(s) before ${r.cutoff!.slice(0, 10)} left in the archive; old history kept as ${r.archive_ref}` : `not compacted: ${r.reason}`);
        }),
      );
  };
  const runnerCmd = (name: RunnerCommand) => (): void => registerRunnerCommands(program, act, [name]);

  // Each top-level command registers itself; only the one invoked is built,
  // unless help or an unknown command needs them all (it saves ~2 ms a run).
  const groups: [string[], () => void][] = [
    [['init'], initCmd],
    [['sync'], syncCmd],
    [['status'], statusCmd],
    [['ws', 'workstream'], wsCmd],
    [['t', 'task'], tCmd],
    [['a', 'agent'], aCmd],
    [['lock'], lockCmd],
    [['kb', 'knowledge'], kbCmd],
    [['events'], eventsCmd],
    [['event'], eventCmd],
    [['log'], logCmd],
    [['compact'], compactCmd],
    [['plan'], runnerCmd('plan')],
    [['ready'], runnerCmd('ready')],
    [['brief'], runnerCmd('brief')],
    [['collect'], runnerCmd('collect')],
    [['templates', 'template'], runnerCmd('templates')],
    [['hooks'], () => registerHooksCommands(program)],
    [['serve'], () => registerServeCommands(program, act)],
    [['demo'], () => registerDemoCommands(program)],
    [['mcp'], () => registerMcpCommand(program, act)],
    [['prime'], () => registerPrimeCommand(program, act)],
    [['setup'], () => registerSetupCommand(program, act)],
    [['watch'], () => registerWatchCommand(program, act)],
    [['msg', 'message', 'inbox'], () => registerMsgCommands(program, act)],
  ];
  const wanted = argv ? commandName(argv) : undefined;
  const only = groups.find(([names]) => wanted !== undefined && names.includes(wanted));
  if (only) only[1]();
  else for (const [, register] of groups) register();
  registerHelpCommands(program);
  addExamples(program);

  addGlobalsToLeaves(program);
  oneLineErrors(program);
  program.hook('preAction', (_p, leaf) => {
    const json: unknown = leaf.opts().json;
    // `--json ""` (an unset $FIELDS) is a bare --json, not "no --json": one JSON value, every field.
    if (json === '') leaf.setOptionValue('json', true);
    selectFields(json, commandPath(leaf));
  });
  return program;
}

/**
 * `--json`, `--repo` and `--agent` work before the command and after it
 * (`orc t next ws a1 --json`): program options are positional, and every
 * leaf command takes them again unless it defines its own (`events --agent`
 * filters by agent).
 */
function addGlobalsToLeaves(cmd: Command): void {
  for (const sub of cmd.commands) {
    if (sub.commands.length) {
      addGlobalsToLeaves(sub);
      continue;
    }
    const has = (flag: string) => sub.options.some((o) => o.long === flag);
    if (!has('--json') && LIST_COMMANDS.has(commandPath(sub))) sub.option('--json [fields]', 'machine output: one JSON value on stdout; FIELDS (id,title,…) keeps only those');
    if (!has('--json')) sub.option('--json', 'machine output: one JSON value on stdout');
    if (!has('--repo')) sub.option('--repo <path>', 'the coordination repo');
    if (!has('--agent')) sub.option('--agent <name>', 'the acting agent');
  }
  oneLineErrors(cmd);
}

/** Commander's errors as one `orc:` line that says where help is, like every other orc error. */
function oneLineErrors(cmd: Command): void {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  const where = names.join(' ');
  cmd.configureOutput({
    // Commander puts its suggestion on a line of its own ("\n(Did you mean status?)"): folded into the one line.
    outputError: (str, write) => {
      let msg = str.replace(/^error:\s*/, '').trim().replace(/\s*\n\(Did you mean (.*?)\?\)/, '; did you mean $1?');
      // `orc t show W ID --json title`: the field list of list commands, given where --json takes none.
      const j = process.argv.indexOf('--json');
      if (/^too many arguments/.test(msg) && j > 0 && process.argv[j + 1] && !process.argv[j + 1]!.startsWith('-') && !LIST_COMMANDS.has(names.slice(1).join(' '))) {
        msg = `${msg.replace(/\.$/, '')}; --json takes a field list only on list commands (${[...LIST_COMMANDS].join(', ')}), here it takes none`;
      }
      write(`orc: ${termSafe(msg)} (see \`${where} --help\`)\n`);
    },
  });
  for (const sub of cmd.commands) oneLineErrors(sub);
}

/** The command word of argv (after node and the script), skipping the global options. */
function commandName(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--repo' || a === '--agent') i++;
    else if (a === '-h' || a === '--help' || a === '-V' || a === '--version') return undefined;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

function needAgent(orc: Orc, given: string | undefined): string {
  const agent = given ?? orc.agent;
  if (!agent) {
    throw Object.assign(new Error('name the agent: as an argument, with --agent NAME, ORC_AGENT, or `git config --worktree orc.agent NAME`'), { orcUsage: true });
  }
  return agent;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export { CommanderError };

run(() => buildProgram(process.argv));
