/**
 * Output into a pipe is written in full before orc exits. Node writes to a
 * pipe asynchronously; an exit right after the write dropped everything past
 * the pipe's 64 KiB buffer, so `orc kb read T | …` and `orc t list --json |
 * jq` got cut-off data.
 */
import { spawnSync } from 'node:child_process';
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
});
