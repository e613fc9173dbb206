import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, cleanup, git, testEnv, tmpDir, tmpRepo } from './helpers.js';

afterAll(cleanup);

it('the bin runs the same with its V8 code cache missing, garbage or stale, and writes it back', () => {
  // A private copy of the build, so that nothing here disturbs other tests running the real one.
  const copy = tmpDir('orc-bin-');
  for (const d of ['cli', 'bin']) fs.cpSync(path.join(ROOT, 'dist', d), path.join(copy, 'dist', d), { recursive: true });
  fs.cpSync(path.join(ROOT, 'templates'), path.join(copy, 'templates'), { recursive: true });
  const bin = path.join(copy, 'dist', 'cli', 'bin.cjs');
  const cache = path.join(copy, 'dist', 'bin', 'core.cjs.v8cache');
  const repo = tmpRepo();
  const orc = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: repo, env: testEnv(), encoding: 'utf8' });
  expect(orc('ws', 'create', 'w').status).toBe(0);

  fs.rmSync(cache, { force: true });
  let r = orc('t', 'add', 'w', 'without a cache');
  expect(r.status, r.stderr).toBe(0);
  const written = fs.readFileSync(cache);
  expect(written.length).toBeGreaterThan(1000);

  fs.writeFileSync(cache, Buffer.from('not a V8 code cache at all'));
  r = orc('t', 'add', 'w', 'with a garbage cache');
  expect(r.status, r.stderr).toBe(0);
  expect(fs.readFileSync(cache).length).toBeGreaterThan(1000);

  // A new build: the source changes, the old cache no longer fits it and is replaced.
  fs.appendFileSync(path.join(copy, 'dist', 'bin', 'core.cjs'), '\n// rebuilt\n');
  const before = fs.readFileSync(cache);
  r = orc('t', 'add', 'w', 'with a stale cache');
  expect(r.status, r.stderr).toBe(0);
  expect(Buffer.compare(fs.readFileSync(cache), before)).not.toBe(0);

  // Runner and hooks chunks share the one loaded core (one OrcError class: a refusal is a clean exit 1/2).
  r = orc('plan', '--dry-run');
  expect(r.status, r.stderr).toBe(0);
  r = orc('t', 'show', 'w', 'nope');
  expect([r.status, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
  expect(JSON.parse(orc('t', 'list', 'w', '--json').stdout).map((t: { title: string }) => t.title).sort()).toEqual(['with a garbage cache', 'with a stale cache', 'without a cache']);
  expect(git(repo, 'rev-list', '--count', 'orc')).toBe('4');
});
