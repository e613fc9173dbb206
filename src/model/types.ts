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
}

export interface Task {
  id: string;
  workstream: string;
  title: string;
  description: string;
  status: TaskStatus;
  priority: number;
  estimate: number | null;
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
  /** Ids of tasks in the same workstream that must be done first. */
  after: string[];
  /** Knowledge topics that matter to this task. */
  kb: string[];
}

export interface Agent {
  id: string;
  type: string;
  capabilities: string[];
  status: 'active';
  registered_at: string;
  last_heartbeat: string;
  /** Computed when read: no heartbeat for longer than the stale threshold. */
  stale?: boolean;
}

export interface Lock {
  resource: string;
  agent: string;
  acquired_at: string;
  ttl_ms: number;
  expires_at: string;
  /** Fencing token: grows with every grant of this resource. */
  token: number;
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
