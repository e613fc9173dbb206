import { spawn, type ChildProcess } from 'node:child_process';
import { ORC_BIN, testEnv } from '../helpers.js';

export interface Served {
  url: string;
  base: string;
  port: number;
  proc: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `orc serve --port 0` as a real child process; resolves with its URL once it listens. */
export function serve(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [ORC_BIN, 'serve', '--port', '0', ...args], { cwd, env: testEnv(env) });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`orc serve did not start: ${err}`)), 20_000);
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`orc serve exited ${code}: ${err}`));
    });
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/[^\s]+):(\d+)\/api/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[2]);
        resolve({
          url: `${m[1]}:${port}`,
          base: `${m[1]}:${port}/api`,
          port,
          proc,
          stop: (signal: NodeJS.Signals = 'SIGTERM') =>
            new Promise((r) => {
              if (proc.exitCode !== null) return r(proc.exitCode);
              proc.removeAllListeners('exit');
              proc.on('exit', (code) => r(code));
              proc.kill(signal);
            }),
        });
      }
    });
  });
}

export async function req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string; type: string }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string') init.body = body;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
  }
  const r = await fetch(url, init);
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text, type: r.headers.get('content-type') ?? '' };
}
