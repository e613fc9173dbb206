import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const script = path.resolve(ROOT, '..', 'shared', 'acceptance', 'cli.sh');

// The shared black-box checks of DESIGN.md's command line, run as a new user would.
describe.skipIf(!fs.existsSync(script))('../shared/acceptance/cli.sh', () => {
  it('passes every check', () => {
    const r = spawnSync('bash', [script], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    const summary = r.stdout.trim().split('\n').pop();
    expect(r.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(summary).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.status).toBe(0);
  }, 300_000);
});
