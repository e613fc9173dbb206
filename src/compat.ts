/**
 * `import { open } from 'git-orc/compat'`: the original tool's module over
 * orc's ops, only async. The same calls and arguments, and its answers:
 * `true`/`false` where it said so (locks, deleteKnowledge), `null` where
 * nothing was found, its state shape from `loadState()`. Every write is still
 * one op (one commit) of the typed API, so both can be used on one branch.
 * README ("Porting from the original tool") lists what still differs.
 */
import { OrcError } from './errors.js';
import type { EventQuery } from './model/events.js';
import * as S from './model/state.js';
import type { Agent, Lock, OrcEvent, Task, Workstream, WorkstreamSummary } from './model/types.js';
import { renderStatusText } from './ops/status-text.js';
import { open as openOrc, type AgentOptions, type OpenOptions, type Orc, type Status, type TaskSpec, type WorkstreamOptions } from './ops/orc.js';

export type { OpenOptions } from './ops/orc.js';

/** The original's header line of statusText(). */
export const STATUS_HEADER = '=== OpSpawn Orchestrator Status ===';

/** A workstream in the original's state.json: keyed by name, its tasks inline. */
export interface StateWorkstream extends Omit<Workstream, 'name'> {
  tasks: Task[];
}

/** The original tool's state.json, read from one commit of the branch. */
export interface OriginalState {
  /** The number of ops on the branch (0 before the first). */
  version: number;
  /** The time of the branch's last op; before the first, the time of the read. */
  updated_at: string;
  workstreams: Record<string, StateWorkstream>;
  agents: Record<string, Omit<Agent, 'id'> & { last_seen: string }>;
  /** Locks not released (the original kept an expired lock until it was taken again). */
  locks: Record<string, Omit<Lock, 'resource'>>;
}

/** A refusal the original answered with a value rather than an exception. */
const refused = (e: unknown, ...codes: string[]): boolean => e instanceof OrcError && codes.includes(e.code);

/** The original module's functions, async, over an open coordination repo. */
export class OrcCompat {
  /** The typed API on the same repository (richer returns, OrcError codes). */
  constructor(readonly orc: Orc) {}

  async loadState(): Promise<OriginalState> {
    const s = this.orc.store.snapshot(this.orc.store.tip());
    const workstreams: Record<string, StateWorkstream> = {};
    for (const name of S.workstreamNames(s)) {
      const w = S.getWorkstream(s, name);
      if (!w) continue;
      const { name: _n, ...rest } = w;
      const tasks = S.listTasksRaw(s, name).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
      workstreams[name] = { ...rest, tasks };
    }
    const agents: OriginalState['agents'] = {};
    for (const a of S.listAgentsRaw(s).sort((x, y) => x.id.localeCompare(y.id))) {
      const { id, ...rest } = a;
      agents[id] = { ...rest, last_seen: a.last_heartbeat };
    }
    const locks: OriginalState['locks'] = {};
    for (const l of S.listLockRecords(s).sort((x, y) => x.resource.localeCompare(y.resource))) {
      if (l.released_at) continue;
      const { resource, ...rest } = S.publicLock(l);
      locks[resource] = rest;
    }
    const version = await this.orc.opCount(s.commit);
    const updated_at = s.commit ? new Date(this.orc.store.readCommit(s.commit).committer.time * 1000).toISOString() : this.orc.now().toISOString();
    this.orc.store.flushMemo();
    return { version, updated_at, workstreams, agents, locks };
  }

  // ------------------------------------------------------------ events

  /** Logs a free-form event as `agent`; resolves the event as the original returned it. */
  async logEvent(agent: string, action: string, data: Record<string, unknown> = {}): Promise<OrcEvent> {
    const at = this.orc.now().toISOString();
    await this.orc.logEvent(agent, action, data);
    return { ts: at, agent, action, ...data };
  }

  /** Events oldest first; every event unless `last` is given. */
  getEvents(opts: EventQuery = {}): Promise<OrcEvent[]> {
    return this.orc.getEvents(opts);
  }

  // ------------------------------------------------------------ workstreams

  /** Rejects when the name is taken, as the original threw. */
  async createWorkstream(name: string, opts: WorkstreamOptions = {}): Promise<StateWorkstream & { name: string }> {
    const w = await this.orc.createWorkstream(name, opts);
    return { ...w, tasks: [] };
  }

  /** Workstreams by priority, each with its tasks and the original's task_count, pending, in_progress, done. */
  listWorkstreams(): Promise<WorkstreamSummary[]> {
    return this.orc.listWorkstreams({ tasks: true });
  }

  // ------------------------------------------------------------ tasks

  addTask(workstream: string, opts: TaskSpec): Promise<Task> {
    return this.orc.addTask(workstream, opts);
  }

  /** Rejects when the task is claimed by another agent (or done), as the original threw. */
  claimTask(workstream: string, id: string, agent: string): Promise<Task> {
    return this.orc.claimTask(workstream, id, agent);
  }

  /**
   * Completes the task for whoever owns it, as the original's main loop did
   * for its sub-agents; the event says it was done on the owner's behalf
   * (`overrode`, `on_behalf_of`) and by whom (`by`, this module's agent or "operator").
   */
  async completeTask(workstream: string, id: string, result: string | null = null): Promise<Task> {
    return (await this.orc.run<Task>('task.complete', { workstream, id, result })).result;
  }

  /** Claims the best pending task, or resolves null when there is none. */
  getNextTask(workstream: string, agent: string): Promise<Task | null> {
    return this.orc.getNextTask(workstream, agent);
  }

  // ------------------------------------------------------------ agents

  /** Registers (or re-registers) an agent; its type defaults to "general" as the original's did. */
  registerAgent(id: string, opts: AgentOptions = {}): Promise<Agent> {
    return this.orc.registerAgent(id, { type: opts.type || 'general', capabilities: opts.capabilities });
  }

  /** Renews a registered agent; an unknown agent is left alone (no commit), as the original did. */
  async heartbeat(id: string): Promise<void> {
    if (!S.getAgent(this.orc.store.snapshot(this.orc.store.tip()), id)) return;
    await this.orc.heartbeat(id);
  }

  // ------------------------------------------------------------ locks

  /** true when `agent` holds the lock now (newly or renewed), false when another agent holds it. */
  async acquireLock(resource: string, agent: string, ttlMs = 60_000): Promise<boolean> {
    try {
      await this.orc.acquireLock(resource, agent, ttlMs);
      return true;
    } catch (e) {
      if (refused(e, 'CONFLICT')) return false;
      throw e;
    }
  }

  /** true when released, false when `agent` did not hold it. */
  async releaseLock(resource: string, agent: string): Promise<boolean> {
    try {
      await this.orc.releaseLock(resource, agent);
      return true;
    } catch (e) {
      if (refused(e, 'CONFLICT', 'NOT_FOUND')) return false;
      throw e;
    }
  }

  // ------------------------------------------------------------ knowledge

  /** Writes the topic by `agent` (default: this module's agent, else "system"); the text is kept as given, with no header line. */
  async writeKnowledge(topic: string, content: string, agent?: string): Promise<void> {
    await this.orc.writeKnowledge(topic, content, agent);
  }

  /** The topic's text, or null when there is none. */
  readKnowledge(topic: string): Promise<string | null> {
    return this.orc.readKnowledge(topic);
  }

  /** true when deleted, false when there was no such topic. */
  async deleteKnowledge(topic: string, agent?: string): Promise<boolean> {
    try {
      await this.orc.deleteKnowledge(topic, agent);
      return true;
    } catch (e) {
      if (refused(e, 'NOT_FOUND')) return false;
      throw e;
    }
  }

  listKnowledge(): Promise<string[]> {
    return this.orc.listKnowledge();
  }

  // ------------------------------------------------------------ status

  /** orc's status, with `version`, `updated_at` and each workstream's tasks, as the original's. */
  status(): Promise<Status> {
    return this.orc.status({ tasks: true });
  }

  /** The original's header line and state version, then orc's status text. */
  async statusText(): Promise<string> {
    const st = await this.orc.status();
    const updated = st.updated_at ?? st.generated_at;
    return `${STATUS_HEADER}\nState version: ${st.version} | Updated: ${updated}\n\n${renderStatusText(st, this.orc.now())}`;
  }
}

/** Opens the coordination repo (the same options as `git-orc`'s open) as the original tool's module. */
export async function open(opts: OpenOptions = {}): Promise<OrcCompat> {
  return new OrcCompat(await openOrc(opts));
}
