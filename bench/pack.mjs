// orc benchmark, storage upkeep:
//
//   9. 5,000 ops (a mix of task adds, heartbeats, events, lock acquire/release) with packing on (the default
//      threshold) and off: loose objects and packs after, the size of .git, and the per-op median of each side.
//
// Called by run.mjs; `node bench/pack.mjs` runs it alone (after `npm run build`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from '../dist/index.js';
import { storageInfo } from '../dist/store/maintain.js';
import { git, makeRepo, median, ms, nowMs, table } from './lib.mjs';

const TARGET = { looseAfter: 10_000 };

function duBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

function lockPid(repo) {
  try {
    return Number(/^(\d+) /.exec(fs.readFileSync(path.join(repo, '.git', 'orc', 'pack.lock'), 'utf8'))?.[1]) || null;
  } catch {
    return null;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function side(tmp, name, packing, ops) {
  const repo = makeRepo(tmp, name);
  git(repo, 'config', 'orc.packing', packing ? 'true' : 'false');
  const orc = await open({ repo, agent: 'a1' });
  await orc.createWorkstream('W', 'storage benchmark');
  await orc.registerAgent('a1');
  const times = [];
  let repacks = 0;
  let lastPid = null;
  for (let i = 0; i < ops; i++) {
    const t = nowMs();
    switch (i % 5) {
      case 0:
      case 1:
        await orc.addTask('W', `storage task ${i}`, 'a task added by the benchmark', 1 + (i % 5));
        break;
      case 2:
        await orc.heartbeat('a1');
        break;
      case 3:
        await orc.logEvent('bench_note', { n: i });
        break;
      default:
        await orc.acquireLock(`bench/res-${i % 8}`, 'a1', 60_000);
        await orc.releaseLock(`bench/res-${i % 8}`, 'a1');
    }
    times.push(nowMs() - t);
    const pid = lockPid(repo);
    if (pid && pid !== lastPid) {
      repacks++;
      lastPid = pid;
    }
  }
  // Bounded wait for the last detached repack.
  const until = Date.now() + 120_000;
  while (lastPid && alive(lastPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const st = storageInfo(path.join(repo, '.git', 'objects'));
  return { packing, ops, repacks, ...st, git_dir_bytes: duBytes(path.join(repo, '.git')), op_median_ms: median(times) };
}

export async function packBench({ tmp, progress, ops = 5000 }) {
  progress(`storage: ${ops} ops with packing on, then off`);
  const on = await side(tmp, 'pack-on', true, ops);
  progress(`storage: packing on done (${on.repacks} repacks), now off`);
  const off = await side(tmp, 'pack-off', false, ops);
  const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const row = (s) => [s.packing ? 'on (default, threshold 2000)' : 'off', String(s.repacks), String(s.loose_objects), String(s.packs), mb(s.pack_bytes), mb(s.git_dir_bytes), ms(s.op_median_ms)];
  const tables = [table(`10. storage after ${ops} ops (loose objects target < ${TARGET.looseAfter})`, ['packing', 'repacks', 'loose', 'packs', 'pack size', '.git size', 'op median'], [row(on), row(off)])];
  const missed = on.loose_objects < TARGET.looseAfter ? [] : [`storage: ${on.loose_objects} loose objects after ${ops} ops with packing on (target < ${TARGET.looseAfter})`];
  return { results: { on, off }, tables, missed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-pack-'));
  try {
    const r = await packBench({ tmp, progress: (m) => process.stderr.write(`${m}\n`), ops: Number(process.env.BENCH_OPS) || 5000 });
    process.stdout.write(`${r.tables.join('\n')}\n${JSON.stringify(r.results, null, 2)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
