import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { OrcError, exitCodeOf } from '../errors.js';
import { termSafe } from '../ops/status-text.js';

/**
 * Exits once stdout and stderr have written everything. Into a pipe Node
 * writes asynchronously: `process.exit` right after a write would drop what
 * the reader had not taken yet (a pipe holds 64 KiB), so `orc t list --json |
 * jq` would get cut-off JSON.
 */
export function exit(code: number): void {
  process.exitCode = code;
  let waiting = 2;
  const done = () => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength === 0 || stream.destroyed) done();
    else stream.write('', done);
  }
}

/**
 * A reader that went away (`orc t list | head -1`, `orc watch | grep -m1 …`)
 * ends the command quietly, as it ends git or cat: no stack trace, and the
 * exit code the command had so far (what an op committed stays committed;
 * output comes after it). Only a closed pipe: any other write error still fails.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      if (stream === process.stdout) process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}

/**
 * Runs the program and turns every failure into one line on stderr and the
 * exit code of DESIGN.md: 2 for usage, the error's own for an OrcError, 3 for
 * anything from the environment. Stack traces only with ORC_DEBUG. The line
 * is escaped as all human output is: a name quoted back cannot repaint the terminal.
 */
export function run(build: () => Command): void {
  quietOnClosedPipe();
  const program = build();
  program.parseAsync(process.argv).then(
    () => {
      exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    },
    async (e: unknown) => {
      if (e instanceof CommanderError) {
        // Help and --version end here too, with exit code 0.
        return exit(e.exitCode === 0 ? 0 : 2);
      }
      if (process.env.ORC_DEBUG) console.error(e);
      if (e instanceof OrcError) {
        process.stderr.write(`orc: ${termSafe(e.message)}\n`);
        return exit(exitCodeOf(e.code));
      }
      const err = e as NodeJS.ErrnoException & { orcUsage?: boolean; orcExitCode?: number };
      if (err.orcUsage || err.orcExitCode) {
        process.stderr.write(`orc: ${termSafe(err.message)}\n`);
        return exit(err.orcExitCode ?? 2);
      }
      const where = err.path ? ` (${err.path})` : '';
      process.stderr.write(`orc: ${termSafe(`${err.code ? `${err.code}${where}: ` : ''}${err.message ?? String(e)}`)}${process.env.ORC_DEBUG ? '' : ' — set ORC_DEBUG=1 for details'}\n`);
      exit(3);
    },
  );
}
