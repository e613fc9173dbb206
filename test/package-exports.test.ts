import { spawnSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { ROOT, cleanup, testEnv, tmpRepo } from './helpers.js';

afterAll(cleanup);

it("the package's entry points: `git-orc` (the library) and `git-orc/runner` (plans, briefs, templates)", () => {
  const repo = tmpRepo();
  const script = `
    const { open } = await import('git-orc');
    const runner = await import('git-orc/runner');
    const orc = await open({ repo: process.argv[1], agent: 'a1' });
    await orc.createWorkstream('w', 'demo', 1);
    await orc.addTask('w', 'first task');
    const p = await runner.plan(orc, { dryRun: true });
    console.log(JSON.stringify({ fns: ['plan', 'brief', 'collect', 'writeTemplate'].map((f) => typeof runner[f]), picked: p.data.recommended_parallel.length, md: p.markdown.startsWith('# Cycle') }));`;
  // Run from the package root, so the package resolves itself by name through its "exports".
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, repo], { cwd: ROOT, env: testEnv(), encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ fns: ['function', 'function', 'function', 'function'], picked: 1, md: true });
});
