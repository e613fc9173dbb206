/** The entities orc keeps, with the original tool's field names. Times are ISO-8601 UTC strings. */

export type TaskStatus = 'pending' | 'in_progress' | 'done' | 'failed';

export interface Workstream {
  name: string;
  description: string;
  priority: number;
  status: 'active' | 'paused' | 'archived';
  created_at: string;
  updated_at: string;
}

export interface TaskCounts {
  pending: number;
  in_progress: number;
  done: number;
  failed: number;
  total: number;
}

export interface WorkstreamSummary extends Workstream {
  task_counts: TaskCounts;
  /** The original tool's counts, beside task_counts. */
  task_count: number;
  pending: number;
  in_progress: number;
  done: number;
  /** Tasks moved to the archive by `orc compact` (done or failed), not in the counts above. */
  archived: number;
  /** The workstream's tasks, oldest first, when asked for (REST and the compat module send them). */
  tasks?: Task[];
}

export interface Task {
  id: string;
  workstream: string;
  title: string;
  description: string;
  status: TaskStatus;
  priority: number;
  /** A whole number, or the original tool's text ("2h"), as given. */
  estimate: number | string | null;
  assigned_to: string | null;
  created_at: string;
  updated_at: string;
  result: string | null;
  created_by: string;
  claimed_at: string | null;
  /** Lease length; the claim stays live until the later of claimed_at and the owner's last heartbeat, plus this. */
  lease_ms: number | null;
  /** Computed when read: when the claim's lease runs out (null unless in progress). */
  lease_expires_at?: string | null;
  completed_at: string | null;
  /** Resources the task touches (lock names, paths, globs). */
  resources: string[];
  /** Tasks that must be done first: `ID` in the same workstream, `WS/ID` in another. */
  after: string[];
  /** Knowledge topics that matter to this task. */
  kb: string[];
  /** Set when read from the archive (`orc compact` moved it there): done or failed, and read-only. */
  archived?: true;
}

export interface Agent {
  id: string;
  type: string;
  capabilities: string[];
  status: 'active';
  registered_at: string;
  last_heartbeat: string;
  /** The original tool's name for last_heartbeat, added when read. */
  last_seen?: string;
  /** Computed when read: no heartbeat for longer than the stale threshold. */
  stale?: boolean;
  /** Claims taken from this agent (taken over, or finished over its head), kept until the heartbeat after the one that reported them. */
  lost?: LostClaim[];
}

/** One of an agent's claims that another agent or the operator took from it. */
export interface LostClaim {
  workstream: string;
  id: string;
  /** The agent that took it over or finished it, or 'operator'. */
  by: string;
  at: string;
  action: 'taken_over' | 'completed' | 'failed';
}

export interface Lock {
  resource: string;
  agent: string;
  acquired_at: string;
  ttl_ms: number;
  expires_at: string;
  /** Fencing token: grows with every grant of this resource. */
  token: number;
  /** The task (`ws/id`) the lock was taken for: released in the same commit as that task's complete or fail. */
  task?: string;
}

/** A lock file on the branch: the last grant, kept after release so tokens keep growing. */
export interface LockRecord extends Lock {
  released_at: string | null;
}

export interface OrcEvent {
  ts: string;
  agent: string;
  action: string;
  [field: string]: unknown;
}

export interface Settings {
  /** Default claim lease. */
  lease_ms: number;
  /** Default lock TTL. */
  lock_ttl_ms: number;
  /** An agent with no heartbeat for this long is shown as stale. */
  agent_stale_ms: number;
  /** Priority of a task added without one (1 highest); 5, the original tool's lowest, when unset. */
  default_priority?: number;
}

export interface OrcConfigFile {
  format: number;
  created_at: string;
  settings: Settings;
}

export const FORMAT_VERSION = 1;

export const DEFAULT_SETTINGS: Settings = {
  lease_ms: 10 * 60_000,
  lock_ttl_ms: 60_000,
  agent_stale_ms: 5 * 60_000,
};
