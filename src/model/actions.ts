/**
 * Event actions orc itself records: each names something an op did (a task
 * claimed, knowledge written, a commit linked to a task), and readers trust
 * them for that (task pages list `code_committed` commits, `collect` lists
 * `knowledge_written` topics). A free-form event (`orc event`, the event.log
 * op) may not use them; the shared remote's pre-receive hook refuses them too.
 */
export const RESERVED_ACTIONS: ReadonlySet<string> = new Set([
  // model/ops.ts
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
  // the runner
  'cycle_planned',
  'cycle_collected',
  'template_written',
  'template_removed',
  // recorded through the event.log op by orc itself: the post-commit hook and `orc sync`
  'code_committed',
  'op_replay_refused',
]);

/** Reserved actions that orc today records through the event.log op (see hooks/validate.ts for how the hook tells them apart). */
export const ORC_LOGGED_ACTIONS: ReadonlySet<string> = new Set(['code_committed', 'op_replay_refused']);
