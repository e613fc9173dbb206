/// <reference lib="dom" />
/**
 * `orc demo` as a person sees it: the real bin started from a folder that is
 * no repo, the dashboard open in chromium, the agents' work arriving in the
 * page without a reload, then Ctrl-C (SIGINT) stopping everything cleanly.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, testEnv, tmpDir } from '../helpers.js';
import { artifact, launch, watchProblems } from './browser.js';

afterAll(cleanup);

describe('orc demo in the browser', () => {
  it('shows three agents working live, and stops cleanly on Ctrl-C', async () => {
    const cwd = tmpDir('orc-demo-cwd-');
    const proc = spawn(process.execPath, [ORC_BIN, 'demo', '--port', '0', '--speed', '150', '--json'], { cwd, env: testEnv() });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const browser = await launch();
    try {
      const start = Date.now();
      while (!out.includes('\n')) {
        if (proc.exitCode !== null || Date.now() - start > 30_000) throw new Error(`orc demo did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ready = JSON.parse(out.split('\n')[0]!) as { url: string; dir: string };
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems = watchProblems(page);
      await page.goto(ready.url);
      await page.locator('#live[data-state=live]').waitFor();
      await page.locator('#summary [data-count=done]').waitFor();
      await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
      const done = async () => Number(await page.locator('#summary [data-count=done] .value').textContent());
      const first = await done();
      // The agents' work arrives without a reload.
      await expect.poll(done, { timeout: 30_000 }).toBeGreaterThanOrEqual(first + 3);
      await expect.poll(() => page.locator('#agents li.fresh').count(), { timeout: 15_000 }).toBe(3);
      await expect.poll(() => page.locator('#events li[data-action=code_committed]').count(), { timeout: 15_000 }).toBeGreaterThan(0);
      expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
      await page.screenshot({ path: artifact('demo.png'), fullPage: true });
      expect(problems).toEqual([]);

      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(fs.existsSync(ready.dir)).toBe(false);
      expect(err).toMatch(/orc demo: stopped .*removed/);
      // The page says the server is gone instead of showing stale data as live.
      await page.locator('#live:not([data-state=live])').waitFor();
      expect(fs.readdirSync(cwd)).toEqual([]);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await browser.close();
    }
  }, 120_000);
});
