/**
 * Output into a pipe is written in full before orc exits. Node writes to a
 * pipe asynchronously; an exit right after the write dropped everything past
 * the pipe's 64 KiB buffer, so `orc kb read T | …` and `orc t list --json |
 * jq` got cut-off data. And a reader that goes away first (`| head -1`)
 * ends orc quietly, with the command's exit code, not an EPIPE stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { ORC_BIN, cleanup, orc, testEnv, tmpRepo } from '../helpers.js';

afterAll(cleanup);

function piped(cwd: string, ...args: string[]): { status: number | null; stdout: Buffer } {
  const r = spawnSync(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv({ ORC_AGENT: 'a1' }), maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout };
}

describe('output into a pipe', () => {
  it('kb read prints every byte of a 400 KiB topic, and --json lists of many tasks parse', async () => {
    const repo = tmpRepo();
    const big = crypto.randomBytes(300 * 1024).toString('base64');
    expect(orc(repo, ['kb', 'write', 'big', '-'], { input: big }).code).toBe(0);
    const r = piped(repo, 'kb', 'read', 'big');
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(Buffer.byteLength(big));
    expect(r.stdout.toString()).toBe(big);

    const lib = await open({ repo, agent: 'a1' });
    await lib.createWorkstream('w');
    const long = 'x'.repeat(400);
    for (let i = 0; i < 200; i++) await lib.addTask('w', `${long} ${i}`, long);
    const list = piped(repo, 't', 'list', 'w', '--json');
    expect(list.stdout.length).toBeGreaterThan(128 * 1024);
    expect((JSON.parse(list.stdout.toString()) as unknown[]).length).toBe(200);
  }, 120_000);

  /** Runs orc with stdout into a pipe whose reader closes before orc writes (after `readFirst` bytes with it). */
  function closedReader(cwd: string, args: string[], opts: { readFirst?: boolean; then?: () => void } = {}): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: testEnv({ ORC_AGENT: 'a1' }), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      if (opts.readFirst) {
        child.stdout.once('data', () => {
          child.stdout.destroy();
          opts.then?.();
        });
      } else child.stdout.destroy();
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`orc ${args.join(' ')} did not end after its reader went away; stderr: ${stderr}`));
      }, 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  it('a reader that goes away ends orc quietly: help, a long list, a write op (committed) and watch', async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, agent: 'a1' });
    await lib.createWorkstream('w');
    for (let i = 0; i < 300; i++) await lib.addTask('w', `task ${i} ${'y'.repeat(200)}`);

    for (const args of [['t', 'add', '--help'], ['t', 'list', 'w'], ['t', 'list', 'w', '--json']]) {
      const r = await closedReader(repo, args);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
    // A write op whose output nobody reads: committed all the same, exit 0.
    const add = await closedReader(repo, ['t', 'add', 'w', 'unread']);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect((await lib.listTasks('w')).some((t) => t.title === 'unread')).toBe(true);
    // A refused op keeps its exit code (1) though its reader is gone.
    const refused = await closedReader(repo, ['t', 'claim', 'w', 'no-such-task']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toMatch(/EPIPE|at .*\.cjs/);

    // `orc watch | head -1`: watch ends at its next write after its reader left.
    let read = false;
    const watch = closedReader(repo, ['watch'], { readFirst: true, then: () => (read = true) });
    let ended = false;
    void watch.then(() => (ended = true));
    // Events until watch has printed one, then more until it ends (bounded: 40 ops).
    for (let i = 0; i < 40 && !ended; i++) {
      await new Promise((r) => setTimeout(r, read ? 50 : 300));
      orc(repo, ['t', 'add', 'w', `after ${i}`]);
    }
    const w = await watch;
    expect(read).toBe(true);
    expect(w.stderr).toBe('orc: watching orc; Ctrl-C stops\n'); // its notice, and nothing after
    expect(w.code).toBe(0);
  }, 120_000);
});
