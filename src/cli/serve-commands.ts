/**
 * `orc serve`: the REST API over the state branch. express and the server
 * code are loaded only here, by dynamic import, so no other command pays for them.
 */
import type { Command } from 'commander';
import { invalid } from '../errors.js';
import { checkInt } from '../model/validate.js';
import type { Orc } from '../ops/orc.js';
import * as output from './output.js';

interface Globals {
  json?: boolean;
}

type Act = (fn: (orc: Orc, g: Globals, ...args: never[]) => Promise<void | number>) => (...args: unknown[]) => Promise<void>;

export function registerServeCommands(program: Command, act: Act): void {
  program
    .command('serve')
    .description('serve the dashboard (/), the REST API (/api) and its live stream over the state branch; 127.0.0.1 unless --host, which then needs --token')
    .option('--port <n>', 'port (default: PORT, then 4000; 0 picks a free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--token <token>', 'writes need Authorization: Bearer <token> (default: ORC_TOKEN); required off loopback')
    .action(
      act(async (orc, g, opts: { port?: string; host?: string; token?: string }) => {
        const rawPort = opts.port ?? process.env.PORT ?? '4000';
        const port = checkInt('--port', rawPort, 0, 65535);
        if (opts.host !== undefined && !opts.host.trim()) throw invalid('--host is empty');
        const { startServer } = await import('../server/serve.js');
        (await import('../ops/sync.js')).setServeOthers(true);
        const s = await startServer(orc, { port, host: opts.host, token: opts.token ?? process.env.ORC_TOKEN ?? null });
        if (g.json) output.printJson({ url: s.url, port: s.port, host: s.host, branch: orc.branch });
        else output.print(`orc: dashboard at ${s.url}/ · API at ${s.url}/api · branch ${orc.branch} (Ctrl-C stops)`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void s.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        return 0;
      }),
    );
}
