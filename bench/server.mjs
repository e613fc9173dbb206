// orc benchmark, the REST server (`orc serve`) on the big branch (10,000 tasks):
//
//   7a. GET /api/status, warm: the tip did not move, the cached JSON is sent
//   7b. GET /api/status after a commit by another process (cold: read from git objects)
//   7c. a commit by another process (this one, through the library) to the SSE `commit` message
//
// Called by run.mjs; `node bench/server.mjs REPO` runs it alone on an existing repo.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { childEnv, median, ms, nowMs, pct, round, table } from './lib.mjs';

export const SERVER_CFG = { warmRuns: 300, coldRuns: 15, sseRuns: 20 };
const TARGET = { warmP99Ms: 20, coldMedianMs: 500, sseMedianMs: 100 };
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
    const first = await get(`${srv.base}/status`);
    const warm = [];
    for (let i = 0; i < C.warmRuns; i++) warm.push(await get(`${srv.base}/status`));

    progress('server: GET /api/status after a commit (cold)');
    const cold = [];
    for (let i = 0; i < C.coldRuns; i++) {
      await orc.logEvent('bench_cold', { i });
      cold.push(await get(`${srv.base}/status`));
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
