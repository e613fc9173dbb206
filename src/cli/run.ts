import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { OrcError, exitCodeOf } from '../errors.js';

/**
 * Runs the program and turns every failure into one line on stderr and the
 * exit code of DESIGN.md: 2 for usage, the error's own for an OrcError, 3 for
 * anything from the environment. Stack traces only with ORC_DEBUG.
 */
export function run(build: () => Command): void {
  const program = build();
  program.parseAsync(process.argv).then(
    () => {
      process.exit(process.exitCode ?? 0);
    },
    async (e: unknown) => {
      if (e instanceof CommanderError) {
        // Help and --version end here too, with exit code 0.
        process.exit(e.exitCode === 0 ? 0 : 2);
      }
      if (process.env.ORC_DEBUG) console.error(e);
      if (e instanceof OrcError) {
        process.stderr.write(`orc: ${e.message}\n`);
        process.exit(exitCodeOf(e.code));
      }
      const err = e as NodeJS.ErrnoException & { orcUsage?: boolean };
      if (err.orcUsage) {
        process.stderr.write(`orc: ${err.message}\n`);
        process.exit(2);
      }
      const where = err.path ? ` (${err.path})` : '';
      process.stderr.write(`orc: ${err.code ? `${err.code}${where}: ` : ''}${err.message ?? String(e)}${process.env.ORC_DEBUG ? '' : ' — set ORC_DEBUG=1 for details'}\n`);
      process.exit(3);
    },
  );
}
