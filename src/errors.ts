/**
 * The one error type of orc. `code` is stable (tests and callers branch on it,
 * never on message text); the CLI maps it to an exit status and the server to
 * an HTTP status, each in one place.
 */
export type ErrorCode =
  | 'INVALID' // bad input: a name, a number, a missing argument
  | 'USAGE' // the command line itself is wrong
  | 'NOT_FOUND' // no such workstream, task, topic, agent
  | 'CONFLICT' // refused by the state: task not pending, lock held, name taken
  | 'ENV' // not a git repo, unreadable repo
  | 'REF_LOCKED' // a ref lock left behind by a crashed process
  | 'CONTENTION' // gave up after too many lost races
  | 'CORRUPT' // the state branch holds something orc cannot read
  | 'TEMPLATE'; // a template failed to parse or render

export class OrcError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = 'OrcError';
    this.code = code;
    this.data = data;
  }
  toJSON(): { code: ErrorCode; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** Exit status per DESIGN.md: 1 refused/not found, 2 bad usage/input, 3 environment. */
export function exitCodeOf(code: ErrorCode): 1 | 2 | 3 {
  switch (code) {
    case 'NOT_FOUND':
    case 'CONFLICT':
      return 1;
    case 'INVALID':
    case 'USAGE':
    case 'TEMPLATE':
      return 2;
    case 'ENV':
    case 'REF_LOCKED':
    case 'CONTENTION':
    case 'CORRUPT':
      return 3;
  }
}

/** HTTP status per code, for the server. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'INVALID':
    case 'USAGE':
    case 'TEMPLATE':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'CONTENTION':
    case 'REF_LOCKED':
      return 503;
    case 'ENV':
    case 'CORRUPT':
      return 500;
  }
}

export const invalid = (message: string, data?: Record<string, unknown>) => new OrcError('INVALID', message, data);
export const notFound = (message: string, data?: Record<string, unknown>) => new OrcError('NOT_FOUND', message, data);
export const conflict = (message: string, data?: Record<string, unknown>) => new OrcError('CONFLICT', message, data);
