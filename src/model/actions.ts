/**
 * Event actions orc itself writes. A free-form event (`orc event`,
 * `logEvent`) may not use them, nor any name in the families
 * below, so nobody can forge a claim, a completion, a lock or a linked
 * commit in the log (task pages and `collect` trust these).
 */
export const RESERVED_ACTIONS: readonly string[] = [
  'orc_initialized',
  'workstream_created',
  'task_created',
  'task_dependencies_added',
  'task_claimed',
  'task_taken_over',
  'task_completed',
  'task_failed',
  'task_reopened',
  'agent_registered',
  'agent_heartbeat',
  'lock_acquired',
  'lock_renewed',
  'lock_released',
  'locks_acquired',
  'knowledge_written',
  'knowledge_deleted',
  'code_committed',
  'op_replay_refused',
  'cycle_planned',
  'cycle_collected',
  'template_written',
  'template_removed',
];

/**
 * Families orc owns outright (task pages and lock views trust them): any
 * action in them is reserved, not only today's. Other families keep room for
 * free-form events of their own (the demo logs agent_waiting, agent_stopped).
 */
export const RESERVED_PREFIXES: readonly string[] = ['task_', 'lock_', 'message_'];

export function isReservedAction(action: string): boolean {
  return RESERVED_ACTIONS.includes(action) || RESERVED_PREFIXES.some((p) => action.startsWith(p));
}
