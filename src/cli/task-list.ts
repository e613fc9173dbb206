/**
 * `orc t list [WS] [--mine | --agent A | --all]`: one workstream's tasks, or
 * every workstream's, optionally only those assigned to an agent; --all
 * includes archived tasks (status shown as e.g. `done (archived)`).
 */
import type { Orc } from '../ops/orc.js';
import type { Task, TaskStatus } from '../model/types.js';
import * as output from './output.js';

export interface TaskListOptions {
  status?: TaskStatus;
  mine?: boolean;
  agent?: string;
  all?: boolean;
}

const usage = (message: string) => Object.assign(new Error(message), { orcUsage: true });

/** The tasks asked for, best first (across workstreams: by workstream priority, then the task's). */
export async function selectTasks(orc: Orc, ws: string | undefined, opts: TaskListOptions, me: string | null): Promise<Task[]> {
  if (opts.mine && opts.agent) throw usage('give --mine or --agent A, not both');
  const who = opts.mine ? me : opts.agent ?? null;
  if (opts.mine && !who) throw usage('--mine needs to know who you are: `orc agent use NAME`, --agent NAME before the command, or ORC_AGENT');
  if (!ws && !opts.all && !who) throw usage('name a workstream, or give --all, --mine or --agent A; see `orc ws list`');
  const names = ws ? [ws] : (await orc.listWorkstreams()).sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name)).map((w) => w.name);
  const out: Task[] = [];
  // --all also lists archived tasks (moved by `orc compact`), after each workstream's live ones.
  for (const n of names) out.push(...(await orc.listTasks(n, { status: opts.status, all: opts.all })).filter((t) => !who || t.assigned_to === who));
  return out;
}

export function tasksAcrossText(list: Task[], now: Date, across: boolean): string {
  return output.tasksText(across ? list.map((t) => ({ ...t, id: `${t.workstream}/${t.id}` })) : list, now);
}
