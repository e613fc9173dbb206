/**
 * Waiting and watching from the command line: `--wait` for `t next` and
 * `lock acquire`, and `orc watch`. The logic is in ops/wait.ts and
 * ops/watch-feed.ts; this file parses, prints and handles signals.
 */
import type { Command } from 'commander';
import { parseSeconds } from '../model/duration.js';
import type { Lock, Task } from '../model/types.js';
import type { Orc } from '../ops/orc.js';

interface Globals {
  json?: boolean;
}

type Act = (fn: (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>) => (...args: unknown[]) => Promise<void>;

const note = (message: string) => process.stderr.write(`orc: ${message}\n`);
const remoteNote = (_ok: boolean, message: string) => process.stderr.write(`orc: ${message}\n`);

/** An AbortSignal fired by SIGINT or SIGTERM, so a waiter leaves its queue ticket behind cleanly; `which` names the signal. */
function stopSignal(): { signal: AbortSignal; which: () => NodeJS.Signals | null; dispose: () => void } {
  const ac = new AbortController();
  let which: NodeJS.Signals | null = null;
  const on = (sig: NodeJS.Signals) => () => {
    which ??= sig;
    ac.abort();
  };
  const int = on('SIGINT');
  const term = on('SIGTERM');
  process.once('SIGINT', int);
  process.once('SIGTERM', term);
  return {
    signal: ac.signal,
    which: () => which,
    dispose: () => {
      process.removeListener('SIGINT', int);
      process.removeListener('SIGTERM', term);
    },
  };
}

/**
 * A wait stopped by a signal is not a timeout: it ends with 128 + the
 * signal's number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a
 * command the signal killed, so a script can tell it from "nothing to claim" (1).
 */
function interrupted(sig: NodeJS.Signals, what: string): Error {
  return Object.assign(new Error(`interrupted by ${sig} while waiting; ${what}`), { orcExitCode: sig === 'SIGINT' ? 130 : 143 });
}

const timeoutOf = (t: string | undefined): number | null => (t === undefined ? null : parseSeconds(t));

/** `orc t next WS --wait`: the claimed task, or null on timeout; a signal throws (see interrupted). */
export async function waitForNext(orc: Orc, ws: string, agent: string, opts: { lease?: string; timeout?: string }): Promise<Task | null> {
  const timeoutMs = timeoutOf(opts.timeout);
  const { nextTaskWaiting } = await import('../ops/wait.js');
  const stop = stopSignal();
  try {
    const task = await nextTaskWaiting(orc, ws, agent, { leaseMs: opts.lease, timeoutMs, signal: stop.signal, onRemote: remoteNote, onWaiting: note });
    const sig = stop.which();
    if (!task && sig) throw interrupted(sig, `no task was claimed in ${ws}`);
    return task;
  } finally {
    stop.dispose();
  }
}

/** `orc lock acquire RES --wait`: the grant (with its fencing token), or null on timeout; a signal throws (see interrupted). */
export async function waitForLock(orc: Orc, resource: string, agent: string, opts: { ttl?: string; task?: string; timeout?: string }): Promise<Lock | null> {
  const timeoutMs = timeoutOf(opts.timeout);
  const { acquireLockWaiting } = await import('../ops/wait.js');
  const stop = stopSignal();
  try {
    const lock = await acquireLockWaiting(orc, resource, agent, opts.ttl, { task: opts.task, timeoutMs, signal: stop.signal, onRemote: remoteNote, onWaiting: note });
    const sig = stop.which();
    if (!lock && sig) throw interrupted(sig, `lock "${resource}" was not acquired`);
    return lock;
  } finally {
    stop.dispose();
  }
}

export function registerWatchCommand(program: Command, act: Act): void {
  program
    .command('watch')
    .description('print each new event as it lands on the state branch, whoever made it, until stopped (Ctrl-C)')
    .option('--action <action>', 'only this action, e.g. task_claimed')
    .option('--workstream <name>', 'only events of this workstream')
    .addHelpText('after', '\nExamples:\n  orc watch\n  orc watch --json --action task_completed | jq .task_id\n  orc watch --workstream api')
    .action(
      act(async (orc, g, opts: { action?: string; workstream?: string }) => {
        const { Waker } = await import('../ops/wait.js');
        const { commitEvents, matches, watchLine } = await import('../ops/watch-feed.js');
        const seen = new Set<string>();
        const stop = stopSignal();
        const waker = new Waker(orc, {
          onRemote: remoteNote,
          onCommits: (commits) => {
            for (const c of commits) {
              // The local branch and the remote's can bring the same commit: print it once.
              if (seen.has(c.commit)) continue;
              seen.add(c.commit);
              if (seen.size > 10_000) seen.delete(seen.values().next().value as string);
              for (const e of commitEvents(orc.store, c)) {
                if (!matches(e, opts)) continue;
                process.stdout.write(g.json ? `${JSON.stringify(e)}\n` : `${watchLine(e)}\n`);
              }
            }
          },
        });
        process.stderr.write(`orc: watching ${orc.branch}${orc.remote ? ` and ${orc.remote.remote}` : ''}; Ctrl-C stops\n`);
        // A filter naming no workstream now is most likely a typo: said, though its events may still come (it may be created).
        if (opts.workstream && !(await orc.getWorkstream(opts.workstream))) note(`no workstream "${opts.workstream}" yet (see \`orc ws list\`); showing its events if it is created`);
        try {
          while (!stop.signal.aborted) await waker.wait(null, stop.signal);
        } finally {
          waker.close();
          stop.dispose();
        }
        return 0;
      }),
    );
}
