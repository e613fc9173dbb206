/**
 * A real browser for the dashboard tests: Debian's chromium driven by
 * playwright-core (no browser download). `.ci/run` installs chromium where
 * it is missing; ORC_CHROMIUM names another binary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers.js';

export function chromiumPath(): string {
  const candidates = [process.env.ORC_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p);
  for (const c of candidates) if (fs.existsSync(c)) return c;
  const found = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new Error('no chromium for the browser tests: install it (apt-get install -y chromium; .ci/run does) or set ORC_CHROMIUM to a Chrome/Chromium binary');
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
}

/** Where screenshots go: test-artifacts/ (gitignored; CI keeps it). */
export function artifact(name: string): string {
  const dir = path.join(ROOT, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** Everything the page complains about: console errors, uncaught exceptions, dialogs (an XSS would open one). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return problems;
}
