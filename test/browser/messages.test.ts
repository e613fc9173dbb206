/// <reference lib="dom" />
/**
 * The dashboard's Messages view in a real browser against a real `orc serve`:
 * an agent's inbox (unread marked), a message's thread with bodies, hostile
 * subjects and bodies shown as text (nothing runs), a message sent by the CLI
 * appearing without a reload, and marking read / acknowledging as the agent.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, orc, orcJson, tmpRepo } from '../helpers.js';
import { serve, type Served } from '../server/helpers.js';
import { launch, watchProblems } from './browser.js';

const XSS_IMG = '<img src=x onerror="window.__xss=1">';
const XSS_SCRIPT = '<script>window.__xss = 2</script>';
const XSS_ATTR = '"><svg onload="window.__xss=3">';

let repo = '';
let server: Served;
let browser: Browser;
let first = '';
let reply = '';
const as = (agent: string) => ({ env: { ORC_AGENT: agent } });
const body1 = `${XSS_SCRIPT}\n${XSS_ATTR}\r\nline three`;

beforeAll(async () => {
  repo = tmpRepo();
  for (const a of ['alice', 'bob']) orc(repo, ['a', 'register', a]);
  first = orcJson<{ id: string }>(repo, ['msg', 'send', 'bob', XSS_IMG, body1, '--ack'], as('alice')).id;
  reply = orcJson<{ id: string }>(repo, ['msg', 'send', 'alice', `re: ${XSS_ATTR}`, XSS_IMG, '--thread', first], as('bob')).id;
  server = await serve(repo, [], { ORC_AGENT: 'server' });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  cleanup();
});

async function open(hash: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watchProblems(page);
  await page.goto(`${server.url}/${hash}`);
  await page.locator('#live[data-state=live]').waitFor();
  await page.locator('html:not([data-busy])').waitFor({ state: 'attached' });
  return { page, problems };
}

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

describe('dashboard messages', () => {
  it("shows an agent's inbox and a thread with bodies, hostile text as text", async () => {
    const { page, problems } = await open(`#/inbox/bob/${first}`);
    await page.locator('#inbox-list li.msg').first().waitFor();
    expect(await page.locator('#inbox-list li.msg .msg-subject').allTextContents()).toEqual([XSS_IMG]);
    expect(await page.locator('#inbox-list li.msg.unread').count()).toBe(1);
    await page.locator('#thread li.thread-msg').nth(1).waitFor();
    expect(await page.locator('#thread .msg-subject').allTextContents()).toEqual([XSS_IMG, `re: ${XSS_ATTR}`]);
    expect(await page.locator('#thread .msg-body').allTextContents()).toEqual([body1, XSS_IMG]);
    // Nothing ran, and no element came from the hostile text.
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#view-inbox img, #view-inbox script, #view-inbox svg').count()).toBe(0);
    // The thread view by itself.
    await page.goto(`${server.url}/#/thread/${reply}`);
    await poll(() => page.locator('#thread li.thread-msg').count()).toBe(2);
    expect(await page.locator('.thread-title').textContent()).toBe(XSS_IMG);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a message sent by the CLI appears without a reload; mark read and acknowledge write as the agent', async () => {
    const { page, problems } = await open('#/inbox/bob');
    await page.locator('#inbox-list li.msg').first().waitFor();
    const sent = orcJson<{ id: string }>(repo, ['msg', 'send', 'bob', 'fresh one', 'hello'], as('alice')).id;
    await poll(() => page.locator('#inbox-list li.msg .msg-subject').allTextContents()).toEqual(['fresh one', XSS_IMG]);
    await page.locator(`#inbox-list li[data-id="${first}"] a`).click();
    await page.locator('[data-action=mark-read]').click();
    await poll(() => orcJson<{ id: string; unread: boolean }[]>(repo, ['inbox', 'bob']).find((m) => m.id === first)?.unread).toBe(false);
    await page.locator('[data-action=ack]').click();
    await poll(() => orcJson<{ id: string; acked_at: string | null }[]>(repo, ['inbox', 'bob']).find((m) => m.id === first)?.acked_at).toBeTruthy();
    await poll(() => page.locator(`#inbox-list li[data-id="${first}"]`).getAttribute('class')).not.toContain('unread');
    expect(await page.locator(`#inbox-list li[data-id="${sent}"]`).getAttribute('class')).toContain('unread');
    expect(problems).toEqual([]);
    await page.close();
  });
});
