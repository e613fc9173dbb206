/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's chromium through playwright-core)
 * against a real `orc serve` process, with the state made and checked by the
 * CLI in other processes: it renders the state, shows a commit from another
 * process without a reload within a second (and does not poll), the task and
 * knowledge actions write through the API, hostile titles stay text, the
 * history opens an op's diff, a task lists its linked code commits, and the
 * page fits a phone.
 */
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcAsync, orcJson, tmpRepo } from '../helpers.js';
import { gitE, hookEnv, orcOk } from '../hooks/fixtures.js';
import { serve, type Served } from '../server/helpers.js';
import { artifact, launch, watchProblems } from './browser.js';

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>window.__xss = 1</script>';
const XSS_ATTR = '"><svg onload="window.__xss=2">';

let repo = '';
let server: Served;
let browser: Browser;
let codeCommit = '';
const env = hookEnv({ ORC_AGENT: 'alice' });

const cli = (...args: string[]) => orcOk(repo, env, ...args);

beforeAll(async () => {
  repo = tmpRepo();
  cli('ws', 'create', 'api', 'The REST API', '1');
  cli('ws', 'create', 'docs', 'Guides');
  cli('t', 'add', 'api', 'Write the handler', 'GET /things, paged', '1', '--id', 't1', '--resource', 'src/api/**');
  cli('t', 'add', 'api', 'Test the handler', '--id', 't2', '--after', 't1');
  cli('t', 'add', 'api', XSS_IMG, '--id', 'x1');
  cli('t', 'add', 'api', XSS_SCRIPT, XSS_ATTR, '--id', 'x2');
  cli('t', 'add', 'docs', 'Document the API', '--id', 'd1');
  cli('a', 'register', 'alice', 'coder');
  cli('a', 'register', 'bob', 'reviewer');
  cli('t', 'claim', 'api', 't1', 'alice');
  cli('lock', 'acquire', 'src/api/handler.ts', 'alice', '--ttl', '3600000');
  cli('kb', 'write', 'conventions', 'Tabs, not spaces.\nSmall commits.');
  cli('kb', 'write', 'hostile', `${XSS_IMG}\n${XSS_SCRIPT}`);
  // A code commit by alice, in a linked worktree, while she holds t1: the hooks link it to the task.
  cli('hooks', 'install');
  const wt = path.join(path.dirname(repo), `${path.basename(repo)}-wt`);
  git(repo, 'worktree', 'add', '-q', '-b', 'alice', wt);
  const r = gitE(wt, env, 'commit', '-q', '--allow-empty', '-m', 'handler: first cut');
  if (r.code !== 0) throw new Error(r.stderr);
  codeCommit = git(wt, 'rev-parse', 'HEAD');
  server = await serve(repo, [], { ORC_AGENT: 'server' });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  cleanup();
});

async function open(hash = '', viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const problems = watchProblems(page);
  await page.goto(`${server.url}/${hash}`);
  await page.locator('#live[data-state=live]').waitFor();
  await page.locator('#where .branch').waitFor();
  await page.locator('html:not([data-busy])').waitFor({ state: 'attached' });
  return { page, problems };
}

/** expect.poll with room for a loaded 2-core machine. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/** Every visible element's box lies within the viewport's width (nothing hangs off either edge). */
async function offscreen(page: Page, width: number): Promise<string[]> {
  return page.evaluate((w) => {
    const out: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.closest('.table-wrap, .timeline, pre, .list-pane .plain-list')) continue; // scroll containers of their own
      if (r.left < -0.5 || r.right > w + 0.5) out.push(`${el.tagName.toLowerCase()}.${el.className} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
    return out;
  }, width);
}

const count = (page: Page, label: string) => page.locator(`#summary [data-count="${label}"] .value`).textContent();

describe('dashboard', () => {
  it('renders the state: counts, workstreams and tasks, agents, locks, events', async () => {
    const { page, problems } = await open();
    await page.locator('#summary .card').first().waitFor();
    const status = orcJson<{ summary: { tasks: Record<string, number> } }>(repo, ['status', '--json']);
    expect(await count(page, 'pending')).toBe(String(status.summary.tasks.pending));
    expect(await count(page, 'in progress')).toBe('1');
    expect(await count(page, 'workstreams')).toBe('2');
    expect(await count(page, 'locks')).toBe('1');
    expect(await count(page, 'knowledge')).toBe('2');

    const api = page.locator('.ws[data-ws=api]');
    await poll(() => api.locator('tbody tr').count()).toBe(4);
    const t1 = api.locator('tr[data-task=t1]');
    expect(await t1.locator('.badge').textContent()).toBe('in progress');
    expect(await t1.locator('td[data-label=agent]').textContent()).toBe('alice');
    expect(await t1.locator('.lease').textContent()).toMatch(/^\d+m( \d\ds)?$/);
    expect(await api.locator('.progress').getAttribute('aria-label')).toBe('0 of 4 done');
    expect(await page.locator('.ws[data-ws=docs] tr[data-task=d1] td.title a').textContent()).toBe('Document the API');

    expect(await page.locator('#agents li[data-agent]').evaluateAll((els) => els.map((e) => e.getAttribute('data-agent')))).toEqual(['alice', 'bob']);
    expect(await page.locator('#agents li[data-agent=alice]').textContent()).toContain('Write the handler');
    const lock = page.locator('#locks li[data-resource="src/api/handler.ts"]');
    expect(await lock.locator('.token').textContent()).toBe('#1');
    expect(await lock.locator('.ttl').textContent()).toMatch(/^ttl (59m( \d\ds)?|1h)$/);
    expect(await page.locator('#events li[data-action=task_claimed]').first().textContent()).toContain('Write the handler');
    expect(await page.locator('#events li[data-action=code_committed]').first().textContent()).toContain('handler: first cut');

    await page.screenshot({ path: artifact('dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows hostile titles, descriptions and knowledge as text', async () => {
    const { page, problems } = await open();
    const api = page.locator('.ws[data-ws=api]');
    await api.locator('tr[data-task=x2]').waitFor();
    expect(await api.locator('tr[data-task=x1] td.title a').textContent()).toBe(XSS_IMG);
    expect(await api.locator('tr[data-task=x2] td.title a').textContent()).toBe(XSS_SCRIPT);
    await page.goto(`${server.url}/#/task/api/x2`);
    await page.locator('.task-detail h1').waitFor();
    expect(await page.locator('.task-detail h1').textContent()).toBe(XSS_SCRIPT);
    expect(await page.locator('.task-detail .prose').first().textContent()).toBe(XSS_ATTR);
    await page.goto(`${server.url}/#/kb/hostile`);
    await page.locator('.kb-content').waitFor();
    expect(await page.locator('.kb-content').textContent()).toBe(`${XSS_IMG}\n${XSS_SCRIPT}`);
    // Nothing was parsed as markup, nothing ran.
    expect(await page.evaluate(() => document.querySelectorAll('img, svg, script:not([src])').length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a commit made by the CLI in another process within a second, without reloading or polling', async () => {
    const { page, problems } = await open();
    await page.locator('.ws[data-ws=docs] tr[data-task=d1]').waitFor();
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    // Idle: the page asks the server nothing while nothing changes.
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.waitForTimeout(2500);
    expect(requests.filter((u) => !u.endsWith('/api/stream'))).toEqual([]);

    const added = await orcAsync(repo, ['t', 'add', 'docs', 'Live from another process', '--id', 'live1'], { env: { ORC_AGENT: 'bob' } });
    expect(added.code).toBe(0);
    const t0 = Date.now();
    await page.locator('.ws[data-ws=docs] tr[data-task=live1]').waitFor({ timeout: 1000 });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(1000);
    expect(await count(page, 'pending')).toBe(String(orcJson<{ summary: { tasks: { pending: number } } }>(repo, ['status', '--json']).summary.tasks.pending));
    expect(await page.locator('#events li[data-action=task_created]').first().textContent()).toContain('Live from another process');
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("reads only what a commit's op can have changed: a heartbeat re-reads its agent's workstreams, not the others", async () => {
    const { page, problems } = await open();
    await page.locator('.ws[data-ws=docs] tr[data-task=d1]').waitFor();
    const docsRow = await page.locator('.ws[data-ws=docs] tbody tr').first().elementHandle();
    let requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    const beat = async (agent: string) => {
      requests = [];
      const before = await page.locator(`#agents li[data-agent=${agent}] .beat time`).getAttribute('datetime');
      expect((await orcAsync(repo, ['a', 'heartbeat', agent])).code).toBe(0);
      await poll(() => page.locator(`#agents li[data-agent=${agent}] .beat time`).getAttribute('datetime')).not.toBe(before);
      await page.waitForTimeout(200);
      return requests.filter((u) => u !== '/api/stream');
    };
    // bob holds nothing: only the status and the timeline are read again.
    expect((await beat('bob')).filter((u) => u.startsWith('/api/workstreams'))).toEqual([]);
    // alice holds api/t1, whose lease the heartbeat extends.
    expect((await beat('alice')).filter((u) => u.startsWith('/api/workstreams'))).toEqual(['/api/workstreams/api/tasks']);
    // The untouched workstream's rows are the same elements as before.
    expect(await page.evaluate((el) => el!.isConnected, docsRow)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('adds, claims and completes a task through the page, as the agent named in the header', async () => {
    const { page, problems } = await open();
    await page.fill('#actor', 'carol');
    await page.locator('#actor').dispatchEvent('change');
    await page.click('#add-task summary');
    await page.selectOption('#add-task-form select[name=workstream]', 'docs');
    await page.fill('#add-task-form input[name=title]', 'Made in the browser');
    await page.fill('#add-task-form textarea[name=description]', 'by a person');
    await page.fill('#add-task-form input[name=priority]', '2');
    await page.click('#add-task-form button[type=submit]');
    await page.locator('#add-task[open]').waitFor({ state: 'detached' });
    const row = page.locator('.ws[data-ws=docs] tr', { hasText: 'Made in the browser' });
    await row.waitFor();
    const id = (await row.getAttribute('data-task'))!;
    const made = orcJson<{ title: string; priority: number; description: string; created_by: string }>(repo, ['t', 'show', 'docs', id, '--json']);
    // Made as the agent in the header's box (X-Orc-Agent), and recorded so.
    expect(made).toMatchObject({ title: 'Made in the browser', priority: 2, description: 'by a person', status: 'pending', created_by: 'carol' });
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('carol');

    await row.locator('button[data-action=claim]').click();
    await poll(() => row.locator('td[data-label=agent]').textContent()).toBe('carol');
    expect(orcJson<{ status: string; assigned_to: string }>(repo, ['t', 'show', 'docs', id, '--json'])).toMatchObject({ status: 'in_progress', assigned_to: 'carol' });

    await row.locator('td.title a').click();
    // The new view takes the keyboard focus.
    await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('view-task');
    await page.locator('.task-detail textarea[name=result]').fill('shipped it');
    await page.click('.task-detail button[data-action=done]');
    await poll(() => page.locator('.task-detail .panel-head .badge').textContent()).toBe('done');
    expect(orcJson<{ status: string; result: string }>(repo, ['t', 'show', 'docs', id, '--json'])).toMatchObject({ status: 'done', result: 'shipped it' });
    // Not done after all: reopen it from its page.
    await page.fill('.task-detail input[name=reason]', 'needs a second pass');
    await page.click('.task-detail button[data-action=reopen]');
    await poll(() => page.locator('.task-detail .panel-head .badge').textContent()).toBe('pending');
    expect(orcJson<{ status: string; result: string | null }>(repo, ['t', 'show', 'docs', id, '--json'])).toMatchObject({ status: 'pending', result: null });
    expect(orcJson<Record<string, unknown>[]>(repo, ['events', '--action', 'task_reopened', '--json']).at(-1)).toMatchObject({ task_id: id, previous_result: 'shipped it', reason: 'needs a second pass', agent: 'carol' });

    // A claim the server refuses (another agent holds t1) is reported, not swallowed.
    await page.goto(`${server.url}/#/`);
    await page.evaluate(() => (location.hash = '#/task/api/t1'));
    await page.locator('.task-detail h1').waitFor();
    await page.click('.task-detail button[data-action=done]');
    await page.locator('.toast.error').waitFor();
    expect(await page.locator('.toast.error .msg').textContent()).toMatch(/alice/);
    expect(orcJson<{ status: string }>(repo, ['t', 'show', 'api', 't1', '--json']).status).toBe('in_progress');
    expect(problems.filter((p) => !/409/.test(p))).toEqual([]);
    await page.close();
  });

  it('refuses a topic that would leave its folder with the server\'s message', async () => {
    const { page, problems } = await open('#/kb-new');
    await page.fill('#kb-detail input[name=topic]', '../evil');
    await page.fill('#kb-detail textarea[name=content]', 'x');
    await page.click('#kb-detail button[data-action=save]');
    await page.locator('.toast.error').waitFor();
    expect(await page.locator('.toast.error .msg').textContent()).toMatch(/topic/);
    expect(await page.locator('.toast.error .msg').textContent()).not.toMatch(/no route/);
    expect(orcJson<string[]>(repo, ['kb', 'list', '--json'])).not.toContain('evil');
    expect(problems.filter((p) => !/400/.test(p))).toEqual([]);
    await page.close();
  });

  it('writes, edits and deletes a knowledge topic', async () => {
    const { page, problems } = await open('#/kb-new');
    await page.fill('#kb-detail input[name=topic]', 'notes/dashboard');
    await page.fill('#kb-detail textarea[name=content]', 'first line\n<b>not bold</b>\n');
    await page.click('#kb-detail button[data-action=save]');
    await page.waitForFunction(() => location.hash === '#/kb/notes/dashboard');
    await poll(() => page.locator('.kb-content').textContent()).toBe('first line\n<b>not bold</b>\n');
    expect(orc(repo, ['kb', 'read', 'notes/dashboard']).stdout).toBe('first line\n<b>not bold</b>\n');
    expect(await page.locator('#kb-topics li.active').textContent()).toBe('notes/dashboard');

    await page.click('#kb-detail button[data-action=edit]');
    await page.fill('#kb-detail textarea[name=content]', 'rewritten');
    await page.click('#kb-detail button[data-action=save]');
    await poll(() => page.locator('.kb-content').textContent()).toBe('rewritten');
    expect(orc(repo, ['kb', 'read', 'notes/dashboard']).stdout).toBe('rewritten');

    // An edit in progress survives another process changing the topic, and says so.
    await page.click('#kb-detail button[data-action=edit]');
    await page.fill('#kb-detail textarea[name=content]', 'my draft');
    expect((await orcAsync(repo, ['kb', 'write', 'notes/dashboard', 'from elsewhere'])).code).toBe(0);
    await page.locator('#kb-detail .notice:not([hidden])').waitFor();
    expect(await page.inputValue('#kb-detail textarea[name=content]')).toBe('my draft');
    await page.click('#kb-detail button:text("Cancel")');
    await poll(() => page.locator('.kb-content').textContent()).toBe('from elsewhere');

    await page.click('#kb-detail button[data-action=delete]');
    await page.click('#kb-detail button[data-action=confirm-delete]');
    await page.waitForFunction(() => location.hash === '#/kb');
    await poll(() => page.locator('#kb-topics li', { hasText: 'notes/dashboard' }).count()).toBe(0);
    expect(orcJson<string[]>(repo, ['kb', 'list', '--json'])).not.toContain('notes/dashboard');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("lists a task's linked code commits", async () => {
    const { page, problems } = await open('#/task/api/t1');
    const row = page.locator(`.commits-linked tr[data-commit="${codeCommit}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('handler: first cut');
    expect(await row.textContent()).toContain('alice');
    expect(await row.textContent()).toContain(codeCommit.slice(0, 10));
    expect(await page.locator('.task-detail .deps, .task-detail h3', { hasText: 'Waiting on this' }).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens any op in the history and shows what it changed', async () => {
    const { page, problems } = await open('#/history');
    const op = page.locator('#history li', { hasText: 'kb.write' }).filter({ hasText: 'conventions' }).first();
    await op.waitFor();
    await op.locator('a').click();
    const file = page.locator('#op-detail section.file[data-path="knowledge/conventions.md"]');
    await file.waitFor();
    expect(await file.locator('.badge').textContent()).toBe('added');
    expect(await file.locator('tr.add').allTextContents()).toEqual(['1+ Tabs, not spaces.', '2+ Small commits.']);
    expect(await page.locator('#op-detail section.file[data-path^="events/"] tr.add').count()).toBe(1);
    // The tip in the header opens the newest op.
    await page.click('#tip');
    await page.locator('#history li.active').waitFor();
    expect(await page.locator('#history li.active').getAttribute('data-commit')).toBe(git(repo, 'rev-parse', 'orc'));
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a phone screen, even with a 200-character name', async () => {
    cli('ws', 'create', 'n'.repeat(200));
    cli('a', 'register', 'a'.repeat(100));
    const { page, problems } = await open('', { width: 390, height: 844 });
    await page.locator(`.ws[data-ws="${'n'.repeat(200)}"]`).waitFor();
    await page.locator('.ws[data-ws=api] tr[data-task=t1]').waitFor();
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await offscreen(page, 390)).toEqual([]);
    for (const pop of ['#add-task', '#add-ws']) {
      await page.click(`${pop} summary`);
      expect(await offscreen(page, 390), pop).toEqual([]);
      await page.keyboard.press('Escape');
      expect(await page.locator(`${pop}[open]`).count(), pop).toBe(0);
    }
    expect(await page.locator('.tabs').isVisible()).toBe(true);
    const claim = page.locator('.ws[data-ws=api] tr[data-task=t2] button[data-action=claim]');
    const box = (await claim.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: artifact('dashboard-phone.png'), fullPage: true });
    // History on one column: tapping an op brings its diff into view.
    await page.evaluate(() => (location.hash = '#/history'));
    await page.locator('#history li a').nth(2).click();
    await page.locator('#op-detail section.file').first().waitFor();
    await poll(async () => (await page.locator('#op-detail').boundingBox())!.y).toBeLessThan(300);
    const views: [string, string][] = [
      ['#/task/api/t1', '.task-detail .commits-linked'],
      ['#/history', '#history li'],
      ['#/kb/conventions', '.kb-content'],
    ];
    for (const [hash, ready] of views) {
      await page.evaluate((h) => (location.hash = h), hash);
      await page.locator(ready).first().waitFor();
      expect(await page.evaluate(() => document.scrollingElement!.scrollWidth), hash).toBeLessThanOrEqual(390);
      expect(await offscreen(page, 390), hash).toEqual([]);
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('dashboard: forms, focus and reconnection', () => {
  it('creates a workstream and a task with the default priority', async () => {
    const { page, problems } = await open();
    await page.click('#add-ws summary');
    await page.fill('#add-ws-form input[name=name]', 'ops@2');
    await page.click('#add-ws-form button[type=submit]');
    await page.locator('.ws[data-ws="ops@2"]').waitFor();
    expect(orcJson<{ name: string; priority: number }[]>(repo, ['ws', 'list', '--json']).find((w) => w.name === 'ops@2')?.priority).toBe(3);
    await page.click('#add-task summary');
    await page.selectOption('#add-task-form select[name=workstream]', 'ops@2');
    await page.fill('#add-task-form input[name=title]', 'defaults');
    await page.click('#add-task-form button[type=submit]');
    await page.locator('.ws[data-ws="ops@2"] tr', { hasText: 'defaults' }).waitFor();
    expect(orcJson<{ priority: number }[]>(repo, ['t', 'list', 'ops@2', '--json'])[0]!.priority).toBe(3);
    expect(await page.locator('.toast.error').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('filters the task lists by words of a title, an id or an agent', async () => {
    const { page, problems } = await open();
    await page.locator('.ws[data-ws=api] tr[data-task=t1]').waitFor();
    await page.fill('#task-filter', 'HANDLER');
    await poll(() => page.locator('.ws[data-ws=api] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')))).toEqual(['t1', 't2']);
    expect(await page.locator('.ws[data-ws=docs] .empty').textContent()).toBe('No tasks here match the filter.');
    await page.fill('#task-filter', 'alice write');
    await poll(() => page.locator('.ws[data-ws=api] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')))).toEqual(['t1']);
    await page.fill('#task-filter', '');
    await poll(() => page.locator('.ws[data-ws=api] tbody tr').count()).toBe(4);
    // The header's agent box offers the registered agents.
    expect(await page.locator('#agent-list option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps keyboard focus on the same control when another process commits', async () => {
    const { page, problems } = await open();
    const claim = page.locator('.ws[data-ws=docs] tr[data-task=d1] button[data-action=claim]');
    await claim.focus();
    const key = await claim.getAttribute('data-key');
    expect((await orcAsync(repo, ['t', 'add', 'docs', 'focus test'], { env: { ORC_AGENT: 'bob' } })).code).toBe(0);
    await page.locator('.ws[data-ws=docs] tr', { hasText: 'focus test' }).waitFor();
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key)).toBe(key);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('catches up after the server restarts, and clears its error', async () => {
    const own = await serve(repo);
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${own.url}/`);
    await page.locator('#live[data-state=live]').waitFor();
    await page.locator('.ws[data-ws=docs]').waitFor();
    await own.stop();
    await page.locator('#live:not([data-state=live])').waitFor();
    // A read while the server is away says so (folding a workstream reads again).
    await page.click('.ws[data-ws=docs] button.fold');
    await page.locator('.toast.error', { hasText: 'not answering' }).waitFor();
    await page.click('.ws[data-ws=docs] button.fold');
    cli('t', 'add', 'docs', 'made while the server was away', '--id', 'away1');
    const again = await serve(repo, ['--port', String(own.port)]);
    try {
      await page.locator('.ws[data-ws=docs] tr[data-task=away1]').waitFor({ timeout: 20_000 });
      await page.locator('#live[data-state=live]').waitFor();
      await poll(() => page.locator('.toast.error').count()).toBe(0);
      expect(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p))).toEqual([]);
    } finally {
      await page.close();
      await again.stop();
    }
  });
});

describe('dashboard with a token', () => {
  it('asks for the token on a write and retries with it', async () => {
    const guarded = await serve(repo, ['--token', 'sesame']);
    try {
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(`${guarded.url}/#/`);
      const claim = page.locator('.ws[data-ws=api] tr[data-task=x1] button[data-action=claim]');
      await claim.waitFor();
      await page.fill('#actor', 'bob');
      await claim.click();
      // A wrong token is refused, and the page says so.
      await page.locator('.toast input[type=password]').fill('wrong');
      await page.click('.toast button:text("Retry")');
      await page.locator('.toast', { hasText: 'refused this token' }).waitFor();
      await page.locator('.toast input[type=password]').fill('sesame');
      await page.click('.toast button:text("Retry")');
      await poll(() => orcJson<{ assigned_to: string | null }>(repo, ['t', 'show', 'api', 'x1', '--json']).assigned_to).toBe('bob');
      expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
      await page.close();
    } finally {
      await guarded.stop();
    }
  });
});
