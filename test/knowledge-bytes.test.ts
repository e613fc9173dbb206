import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ORC_BIN, cleanup, git, orc, testEnv, tmpRepo } from './helpers.js';

afterAll(cleanup);

it('kb write - / kb read keep any bytes, not only valid UTF-8; a refused op writes nothing, not even in .git', () => {
  const repo = tmpRepo();
  const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0d, 0x0a, 0xc3, 0x28, 0x0a, 0x0a]);
  const w = spawnSync(process.execPath, [ORC_BIN, 'kb', 'write', 'bin/blob', '-'], { cwd: repo, env: testEnv(), input: bytes });
  expect(w.status).toBe(0);
  const r = spawnSync(process.execPath, [ORC_BIN, 'kb', 'read', 'bin/blob'], { cwd: repo, env: testEnv() });
  expect(r.status).toBe(0);
  expect(Buffer.compare(r.stdout, bytes)).toBe(0);
  expect(Buffer.compare(execGitBytes(repo, 'show', 'orc:knowledge/bin/blob.md'), bytes)).toBe(0);

  const fresh = tmpRepo();
  const listing = () => walk(path.join(fresh, '.git')).join('\n');
  const before = listing();
  expect(orc(fresh, ['kb', 'write', '../escape', 'x']).code).toBe(2);
  expect(orc(fresh, ['t', 'add', 'nope', 'x']).code).toBe(1);
  expect(listing()).toBe(before);
  expect(spawnSync('git', ['rev-parse', '-q', '--verify', 'refs/heads/orc'], { cwd: fresh, env: testEnv() }).status).not.toBe(0);
});

function execGitBytes(cwd: string, ...args: string[]): Buffer {
  return spawnSync('git', args, { cwd, env: testEnv() }).stdout;
}

function walk(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}
