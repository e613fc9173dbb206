/** The library: `import { open } from 'git-orc'`. */
export { open, Orc, newTaskId } from './ops/orc.js';
export type { OpenOptions, AddTaskOptions, AgentOptions, LogEntry, Status, TaskSpec, WorkstreamOptions } from './ops/orc.js';
export type { OpOutcome, EngineStats } from './ops/engine.js';
export type { EventQuery } from './model/events.js';
export type { Agent, Lock, OrcEvent, Settings, Task, TaskCounts, TaskStatus, Workstream, WorkstreamSummary } from './model/types.js';
export { OrcError, exitCodeOf, httpStatusOf } from './errors.js';
export type { ErrorCode } from './errors.js';
