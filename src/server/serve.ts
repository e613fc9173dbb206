/** Starts the REST API on a port: `orc serve`. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrcError } from '../errors.js';
import type { Orc } from '../ops/orc.js';
import { createApp, type OrcApp } from './app.js';
import { isLoopback } from './security.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  token?: string | null;
  bodyLimit?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  app: OrcApp;
  server: http.Server;
  close(): Promise<void>;
}

export async function startServer(orc: Orc, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token || null;
  if (!isLoopback(host) && !token) {
    throw new OrcError('USAGE', `refusing to listen on ${host} without a token: anyone who can reach it could write; give --token T or ORC_TOKEN`);
  }
  let port = opts.port ?? 4000;
  const app = createApp(orc, { host, port: () => port, token, bodyLimit: opts.bodyLimit });
  const server = http.createServer(app.app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      app.close();
      reject(e.code === 'EADDRINUSE' ? new OrcError('ENV', `port ${port} on ${host} is in use; pick another with --port N (0: any free port)`) : e);
    });
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    host,
    app,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        app.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
