/** Long-running orc processes for tests (waiters, watchers): their output so far, a wait for a stderr line, their end. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ORC_BIN, testEnv } from '../helpers.js';

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stderr (or stdout) matches (bounded by the test's timeout). */
  saw: (re: RegExp, stream?: 'stderr' | 'stdout') => Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const live: ChildProcess[] = [];
/** Kills what a test left running (call from afterAll). */
export function stopAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export function start(cwd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv(env) });
  live.push(child);
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  const saw = async (re: RegExp, stream: 'stderr' | 'stdout' = 'stderr') => {
    let exited = false;
    void done.then(() => {
      exited = true;
      for (const w of waiters.splice(0)) w();
    });
    while (!re.test(stream === 'stderr' ? err : out)) {
      if (exited) throw new Error(`process exited before printing ${re}: ${err}${out}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, stdout: () => out, stderr: () => err, saw, done };
}

