// orc benchmark, the overlap check at size:
//
//  11. `lock acquire` (which checks the resource against every running task's) and `lock list` through the CLI,
//      at 2,000 tasks with 200 running with resources, on a branch without the running-resources index
//      (every task is read: what orc did before the index) and with it (running/<agent>.json).
//
// Called by run.mjs; `node bench/overlap.mjs` runs it alone (after `npm run build`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { agentFile, taskFile, wsFile, ORC_JSON } from '../dist/model/layout.js';
import { DEFAULT_SETTINGS, FORMAT_VERSION } from '../dist/model/types.js';
import { childEnv, git, makeRepo, median, ms, nowMs, ratio, run, table } from './lib.mjs';

const json = (v) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');
const iso = (t) => new Date(t).toISOString();

/** 4 workstreams of 500 tasks; 200 in progress by 20 agents, each with a resource of its own; the rest pending or done. */
async function buildState(repo, now) {
  const orc = await open({ repo, agent: 'bench' });
  const changes = new Map([[ORC_JSON, json({ format: FORMAT_VERSION, created_at: iso(now - 86_400_000), settings: DEFAULT_SETTINGS })]]);
  const agents = Array.from({ length: 20 }, (_, i) => `a${i + 1}`);
  for (const id of agents) changes.set(agentFile(id), json({ id, type: 'worker', capabilities: [], status: 'active', registered_at: iso(now - 3_600_000), last_heartbeat: iso(now) }));
  let n = 0;
  for (const ws of ['W', 'api', 'web', 'infra']) {
    changes.set(wsFile(ws), json({ name: ws, description: '', priority: 3, status: 'active', created_at: iso(now - 86_400_000), updated_at: iso(now - 86_400_000) }));
    for (let i = 0; i < 500; i++, n++) {
      const id = `t${String(n).padStart(5, '0')}`;
      const running = n % 10 === 0;
      const done = !running && n % 3 === 0;
      const status = running ? 'in_progress' : done ? 'done' : 'pending';
      const at = iso(now - 60_000);
      changes.set(
        taskFile(ws, id),
        json({ id, workstream: ws, title: `task ${n}`, description: '', status, priority: 3, estimate: null, assigned_to: running || done ? agents[n % 20] : null, created_at: at, updated_at: at, result: done ? 'ok' : null, created_by: 'bench', claimed_at: running || done ? at : null, lease_ms: running ? 3_600_000 : null, completed_at: done ? at : null, resources: running || n % 7 === 0 ? [`src/${ws}/${n}/**`] : [], after: [], kb: [] }),
      );
    }
  }
  const ident = { name: 'bench', email: 'bench@orc.invalid', time: Math.floor(now / 1000), tz: '+0000' };
  git(repo, 'update-ref', 'refs/heads/orc', orc.store.writeCommit(null, changes, [], ident, 'bench: 2,000 tasks, 200 running\n'));
}

async function timeCli(cli, node, env, repo, argsOf, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    const r = await run(node, [cli, ...argsOf(i)], { cwd: repo, env });
    if (r.code !== 0) throw new Error(`orc ${argsOf(i).join(' ')}: ${r.stderr}`);
    times.push(nowMs() - t0);
  }
  return median(times);
}

export async function overlapBench({ tmp, progress, cli, node, env = childEnv(), runs = 15 }) {
  const now = Date.now();
  const out = {};
  for (const indexed of [false, true]) {
    const repo = makeRepo(tmp, `overlap-${indexed ? 'index' : 'scan'}`);
    await buildState(repo, now);
    // One claim more: of a task with resources on the indexed side (that op writes the index whole, from a scan),
    // of one without on the other (which leaves the branch without an index).
    const claim = indexed ? ['t', 'claim', 'W', 't00007', 'a1', '--lease', '1h'] : ['t', 'claim', 'W', 't00001', 'a1', '--lease', '1h'];
    const c = await run(node, [cli, ...claim], { cwd: repo, env });
    if (c.code !== 0) throw new Error(`orc ${claim.join(' ')}: ${c.stderr}`);
    const has = git(repo, 'ls-tree', '--name-only', 'refs/heads/orc', 'running/').length > 0;
    if (has !== indexed) throw new Error(`the ${indexed ? 'indexed' : 'scanned'} branch ${has ? 'has' : 'has no'} running/`);
    progress(`overlap: ${indexed ? 'with' : 'without'} the index, ${runs} lock acquires and lists`);
    const acquire = await timeCli(cli, node, env, repo, (i) => ['lock', 'acquire', `bench/res-${i}`, 'zz', '--ttl', '60000'], runs);
    const list = await timeCli(cli, node, env, repo, () => ['lock', 'list'], runs);
    out[indexed ? 'index' : 'scan'] = { lock_acquire_ms: acquire, lock_list_ms: list };
  }
  const row = (k, label) => [label, ms(out[k].lock_acquire_ms), ms(out[k].lock_list_ms), ratio(out[k].lock_acquire_ms / out[k].lock_list_ms)];
  const tables = [table('12. overlap check at 2,000 tasks, 200 running (CLI medians)', ['branch', 'lock acquire', 'lock list', 'acquire/list'], [row('scan', 'no index: every task read'), row('index', 'running/<agent>.json')])];
  return { results: out, tables, missed: [] };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const HERE = path.dirname(fileURLToPath(import.meta.url));
  const PKG = JSON.parse(fs.readFileSync(path.join(HERE, '..', 'package.json'), 'utf8'));
  const cli = path.join(HERE, '..', typeof PKG.bin === 'string' ? PKG.bin : PKG.bin.orc);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-overlap-'));
  try {
    const r = await overlapBench({ tmp, progress: (m) => process.stderr.write(`${m}\n`), cli, node: process.execPath });
    process.stdout.write(`${r.tables.join('\n')}\n${JSON.stringify(r.results)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
