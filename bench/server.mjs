// orc benchmark, the REST server (`orc serve`) on the big branch (10,000 tasks):
//
//   7a. GET /api/status, warm: the tip did not move, the cached JSON is sent
//   7b. GET /api/status after a commit by another process (cold: read from git objects)
//   7c. a commit by another process (this one, through the library) to the SSE `commit` message
//   7d. the dashboard in chromium (when there is one): first render, and a commit to the page showing it,
//       with every workstream folded and with the 4,000-task one open
//
// Called by run.mjs; `node bench/server.mjs REPO` runs it alone on an existing repo.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { childEnv, median, ms, nowMs, pct, round, table } from './lib.mjs';

export const SERVER_CFG = { warmRuns: 300, coldRuns: 15, sseRuns: 20, pageRuns: 15 };
const TARGET = { warmP99Ms: 20, coldMedianMs: 500, sseMedianMs: 100, pageMedianMs: 1000 };

function findChromium() {
  for (const c of [process.env.ORC_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean)) if (fs.existsSync(c)) return c;
  return null;
}

/** The dashboard against the big branch: time to first render, and commit -> the page showing it. */
async function pageBench(base, orc, C) {
  const exe = findChromium();
  if (!exe) return null;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const t0 = nowMs();
    await page.goto(base.replace(/\/api$/, '/'));
    await page.waitForSelector('#summary [data-count=pending]');
    await page.waitForSelector('html:not([data-busy])', { state: 'attached' });
    const first = nowMs() - t0;
    const pending = async () => Number(await page.textContent('#summary [data-count=pending] .value'));
    const commitToPage = async (ws) => {
      const out = [];
      for (let i = 0; i < C.pageRuns; i++) {
        const want = (await pending()) + 1;
        await orc.addTask(ws, `bench page ${i}`);
        const committed = nowMs();
        // The count and the open lists are drawn by the same render, after every read it needs (then data-busy goes).
        await page.waitForFunction(
          (w) => {
            const v = document.querySelector('#summary [data-count=pending] .value');
            return !document.documentElement.hasAttribute('data-busy') && v && Number(v.textContent) === w;
          },
          want,
          { polling: 'raf', timeout: 10_000 },
        );
        out.push(nowMs() - committed);
        await sleep(50);
      }
      return out;
    };
    const folded = await commitToPage('W');
    // Open the 4,000-task workstream: every commit to it now re-reads and redraws its list.
    await page.click('.ws[data-ws=W] button.fold');
    await page.waitForSelector('.ws[data-ws=W] tbody tr');
    const open = await commitToPage('W');
    return { first, folded, open };
  } finally {
    await browser.close();
  }
}
const sleep = (t) => new Promise((r) => setTimeout(r, t));

function startServer(repo, env, cli, node) {
  return new Promise((resolve, reject) => {
    const p = spawn(node, [cli, 'serve', '--port', '0'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => reject(new Error(`orc serve exited ${code}: ${err}`)));
    p.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/\S+)\/api/.exec(out);
      if (m) resolve({ proc: p, base: `${m[1]}/api` });
    });
  });
}

async function get(url) {
  const t = nowMs();
  const r = await fetch(url);
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
  return nowMs() - t;
}

export async function serverBench({ repo, env = childEnv(), cli, node = process.execPath, progress = () => {} }) {
  const C = SERVER_CFG;
  const results = { config: C, targets: TARGET };
  const missed = [];
  const srv = await startServer(repo, env, cli, node);
  const orc = await open({ repo, agent: 'bench' });
  try {
    progress('server: GET /api/status warm');
    const first = await get(`${srv.base}/status?tasks=0`);
    const warm = [];
    for (let i = 0; i < C.warmRuns; i++) warm.push(await get(`${srv.base}/status?tasks=0`));

    progress('server: GET /api/status after a commit (cold)');
    const cold = [];
    for (let i = 0; i < C.coldRuns; i++) {
      await orc.logEvent('bench_cold', { i });
      cold.push(await get(`${srv.base}/status?tasks=0`));
    }

    progress('server: commit to SSE message');
    const ac = new AbortController();
    const res = await fetch(`${srv.base}/stream`, { signal: ac.signal });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const arrivals = new Map();
    const pump = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += dec.decode(value);
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const msg = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const m = /^data: (.*)$/m.exec(msg);
            if (m && msg.includes('event: commit')) arrivals.set(JSON.parse(m[1]).commit, nowMs());
          }
        }
      } catch {
        /* aborted */
      }
    })();
    await sleep(200);
    const sse = [];
    for (let i = 0; i < C.sseRuns; i++) {
      const out = await orc.run('event.log', { action: 'bench_sse', data: { i } });
      const committed = nowMs();
      const deadline = committed + 5000;
      while (!arrivals.has(out.commit) && nowMs() < deadline) await sleep(1);
      const at = arrivals.get(out.commit);
      sse.push(at === undefined ? Infinity : Math.max(0, at - committed));
      await sleep(20);
    }
    ac.abort();
    await pump;

    progress('server: the dashboard in chromium');
    const pg = await pageBench(srv.base, orc, { ...C });

    results.status_first_ms = round(first, 2);
    results.status_warm = { median_ms: round(median(warm), 3), p99_ms: round(pct(warm, 99), 3) };
    results.status_cold = { median_ms: round(median(cold), 2), p99_ms: round(pct(cold, 99), 2) };
    results.sse = { median_ms: round(median(sse), 2), p99_ms: round(pct(sse, 99), 2), max_ms: round(Math.max(...sse), 2) };
    const rows = [
      ['GET /api/status, first request of the process', ms(first), '', '1'],
      ['GET /api/status, warm (tip unchanged)', ms(median(warm)), ms(pct(warm, 99)), `${C.warmRuns}`],
      ['GET /api/status after a commit (cold)', ms(median(cold)), ms(pct(cold, 99)), `${C.coldRuns}`],
      ['commit by another process -> SSE message', ms(median(sse)), ms(pct(sse, 99)), `${C.sseRuns}`],
    ];
    if (pg) {
      results.page = {
        first_render_ms: round(pg.first, 1),
        commit_to_page_folded: { median_ms: round(median(pg.folded), 1), p99_ms: round(pct(pg.folded, 99), 1) },
        commit_to_page_open_4000: { median_ms: round(median(pg.open), 1), p99_ms: round(pct(pg.open, 99), 1) },
      };
      rows.push(
        ['dashboard: load to first render (chromium)', ms(pg.first), '', '1'],
        ['dashboard: commit -> page shows it (workstreams folded)', ms(median(pg.folded)), ms(pct(pg.folded, 99)), `${C.pageRuns}`],
        ['dashboard: commit -> page shows it (4,000-task list open)', ms(median(pg.open)), ms(pct(pg.open, 99)), `${C.pageRuns}`],
      );
      if (!(median(pg.open) <= TARGET.pageMedianMs)) missed.push(`dashboard: commit to page (4,000-task list open) median ${ms(median(pg.open))} > ${TARGET.pageMedianMs} ms`);
    } else rows.push(['dashboard: skipped (no chromium; apt-get install chromium or set ORC_CHROMIUM)', '', '', '']);
    const tables = [table('Server (orc serve, 10,000 tasks)', ['what', 'median', 'p99', 'runs'], rows)];
    if (!(pct(warm, 99) <= TARGET.warmP99Ms)) missed.push(`server: warm GET /api/status p99 ${ms(pct(warm, 99))} > ${TARGET.warmP99Ms} ms`);
    if (!(median(cold) <= TARGET.coldMedianMs)) missed.push(`server: cold GET /api/status median ${ms(median(cold))} > ${TARGET.coldMedianMs} ms`);
    if (!(median(sse) <= TARGET.sseMedianMs)) missed.push(`server: commit to SSE median ${ms(median(sse))} > ${TARGET.sseMedianMs} ms`);
    return { results, tables, missed };
  } finally {
    srv.proc.removeAllListeners('exit');
    srv.proc.kill('SIGTERM');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = process.argv[2];
  if (!repo) throw new Error('usage: node bench/server.mjs REPO');
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'bin.cjs');
  const r = await serverBench({ repo, cli, progress: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`${r.tables.join('\n')}\n${r.missed.join('\n')}\n`);
}
