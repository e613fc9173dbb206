/// <reference lib="dom" />
/**
 * orc's dashboard over the REST answers kept from the original server: it
 * reads /api/status with ?tasks=0 (tasks come per open workstream), and
 * "Claim next" with nothing pending reads the original's {message} answer
 * as "nothing ready", not as a claimed task; a WS/ID dependency links to
 * the other workstream's task.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, orcJson, tmpRepo } from '../helpers.js';
import { serve, type Served } from '../server/helpers.js';
import { launch, watchProblems } from './browser.js';

let repo = '';
let server: Served;
let browser: Browser;

beforeAll(async () => {
  repo = tmpRepo();
  orcJson(repo, ['ws', 'create', 'api']);
  orcJson(repo, ['t', 'add', 'api', 'Only task', '--id', 't1']);
  orcJson(repo, ['t', 'claim', 'api', 't1', 'alice']);
  orcJson(repo, ['ws', 'create', 'docs']);
  orcJson(repo, ['t', 'add', 'docs', 'Guide', '--id', 'g1', '--after', 'api/t1']);
  server = await serve(repo, [], { ORC_AGENT: 'server' });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  cleanup();
});

it('reads status without tasks, and says nothing is ready when next answers {message}', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watchProblems(page);
  const statusReads: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/status') statusReads.push(u.search);
  });
  await page.goto(`${server.url}/`);
  await page.locator('#live[data-state=live]').waitFor();
  await page.locator('.ws[data-ws=api] tr[data-task=t1]').waitFor();
  expect(statusReads.length).toBeGreaterThan(0);
  expect(statusReads.every((q) => q === '?tasks=0')).toBe(true);

  await page.locator('button[aria-label="claim the next task of api"]').click();
  await page.locator('.toast', { hasText: 'nothing ready to claim in api' }).waitFor();
  expect(await page.locator('.toast', { hasText: 'claimed' }).count()).toBe(0);
  expect(problems).toEqual([]);
});

it("links a dependency on another workstream's task to that task's page", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watchProblems(page);
  await page.goto(`${server.url}/#/task/docs/g1`);
  const link = page.locator('ul.deps a', { hasText: 'api/t1' });
  await link.waitFor();
  expect(await link.getAttribute('href')).toBe('#/task/api/t1');
  await link.click();
  await page.locator('article.task-detail[data-task=t1] h1', { hasText: 'Only task' }).waitFor();
  expect(problems).toEqual([]);
});
