// orc benchmark, a month of use (issue 13 "Numbers"):
//
//  11. 20 agents, a month of simulated time through the library with an injected clock: at least 50,000 ops
//      in a realistic mix (task add, next/claim, complete, lock acquire + release, knowledge writes, events),
//      plus heartbeats every minute per agent (sampled: BENCH_MONTH_HB_MIN minutes of each day, all 20 agents
//      every minute; the rest of the day's heartbeats are extrapolated from what the sample added). Weekly
//      `orc compact --keep-days 14` when this orc has it. Reports: what a fresh clone fetches for the state
//      branch, per-op time and status() time at the end against the start, loose objects, heartbeat commits.
//      Also bytes per op: 2,000 ops of the same mix (no heartbeats), `git gc`, pack bytes / commits.
//
// Called by run.mjs; `node bench/month.mjs` runs it alone (after `npm run build`).
// Environment: BENCH_MONTH_OPS (default 50000), BENCH_MONTH_HB_MIN (default 10), BENCH_MONTH_DAYS (default 30).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { git, makeRepo, median, ms, nowMs, ratio, table, verdict } from './lib.mjs';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'bin.cjs');
const TARGET = { cloneBytes: 5 * 2 ** 20, opRatio: 1.2, statusRatio: 1.2, loose: 10_000, hbCommits: 0 };
const DAY = 86_400_000;
const AGENTS = 20;

const mb = (b) => `${(b / 2 ** 20).toFixed(2)} MB`;

function dirBytes(dir) {
  let n = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

function countObjects(repo) {
  const out = {};
  for (const l of git(repo, 'count-objects', '-v').split('\n')) {
    const [k, v] = l.split(': ');
    out[k] = Number(v);
  }
  return out;
}

function packLockPid(repo) {
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

async function packDone(repo) {
  const until = Date.now() + 120_000;
  for (let pid = packLockPid(repo); pid && alive(pid) && Date.now() < until; pid = packLockPid(repo)) await new Promise((r) => setTimeout(r, 100));
}

/** Does the built CLI have `orc compact`? (Another part of issue 13; the bench uses it when it is there.) */
function cliHasCompact() {
  const r = spawnSync(process.execPath, [CLI, 'compact', '--help'], { encoding: 'utf8' });
  return r.status === 0 && /compact/.test(r.stdout);
}

/**
 * One agent's next op in the mix: complete the task it holds, else (by turn)
 * add a task, claim the next one, take and release a lock, write knowledge,
 * or log an event. Returns the op's name and how many ops it made.
 */
async function mixOp(orc, a, i, held) {
  const me = orc.as(a);
  const h = held.get(a);
  if (h) {
    held.delete(a);
    try {
      await me.completeTask('web', h, `done: change ${i} merged`);
    } catch (e) {
      // Its lease ran out and another agent took the task over and finished it: refused, no commit.
      if (e?.code !== 'CONFLICT') throw e;
      return ['complete_refused', 0];
    }
    return ['complete', 1];
  }
  switch (i % 10) {
    case 0:
    case 1:
      await me.addTask('web', `task ${i}`, `what to do for task ${i}: a sentence or two of description`, 1 + (i % 4));
      return ['add', 1];
    case 2:
    case 3: {
      const t = await me.getNextTask('web', a, { leaseMs: 4 * 3_600_000 });
      if (t) held.set(a, t.id);
      return ['next', 1];
    }
    case 4:
    case 5:
      await me.acquireLock(`src/module-${i % 30}.ts`, a, 600_000);
      await me.releaseLock(`src/module-${i % 30}.ts`, a);
      return ['lock', 2];
    case 6:
      await me.writeKnowledge(`notes/topic-${i % 40}`, `# Topic ${i % 40}\n\nWhat ${a} learned at op ${i}: ${'details of the finding, '.repeat(6)}\n`, a);
      return ['kb', 1];
    default:
      await me.logEvent(a, 'progress', { note: `step ${i}` });
      return ['event', 1];
  }
}

async function newRepo(tmp, name, packing) {
  const repo = makeRepo(tmp, name);
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'code');
  if (packing) git(repo, 'config', '--unset', 'orc.packing'); // orc's default: packing on
  git(repo, 'config', '--unset', 'orc.compaction'); // and orc's default for automatic compaction, as a team has it
  return repo;
}

/** What a fresh clone fetches for the state branch: a new repo fetching refs/heads/orc over a file:// URL (a real pack). */
function cloneFetch(tmp, repo) {
  const dest = path.join(tmp, `clone-${path.basename(repo)}`);
  fs.rmSync(dest, { recursive: true, force: true });
  git(tmp, 'init', '-q', '--bare', dest);
  const t = nowMs();
  git(dest, '-c', 'fetch.unpackLimit=1', 'fetch', '-q', `file://${repo}`, 'refs/heads/orc:refs/heads/orc');
  const fetchMs = nowMs() - t;
  const bytes = dirBytes(path.join(dest, 'objects'));
  const commits = Number(git(dest, 'rev-list', '--count', 'orc'));
  fs.rmSync(dest, { recursive: true, force: true });
  return { bytes, commits, fetch_ms: fetchMs };
}

/** Bytes per op after `git gc`: `ops` ops of the mix (no heartbeats), by object type. */
export async function bytesPerOp(tmp, ops) {
  const repo = await newRepo(tmp, 'month-bytes', false);
  let t = Date.parse('2026-01-05T08:00:00Z');
  const orc = await open({ repo, agent: 'system', clock: () => new Date(t) });
  await orc.createWorkstream('web', 'the product');
  const agents = Array.from({ length: AGENTS }, (_, k) => `agent-${k + 1}`);
  for (const a of agents) await orc.registerAgent(a);
  const base = Number(git(repo, 'rev-list', '--count', 'orc'));
  const held = new Map();
  for (let i = 0, n = 0; n < ops; i++) {
    t += 30_000;
    n += (await mixOp(orc, agents[i % AGENTS], i, held))[1];
  }
  const commits = Number(git(repo, 'rev-list', '--count', 'orc')) - base;
  git(repo, 'gc', '-q');
  const byType = {};
  const packDir = path.join(repo, '.git', 'objects', 'pack');
  let pack = 0;
  for (const f of fs.readdirSync(packDir)) {
    if (!f.endsWith('.pack')) continue;
    pack += fs.statSync(path.join(packDir, f)).size;
    const vp = spawnSync('git', ['verify-pack', '-v', path.join(packDir, f.replace(/\.pack$/, '.idx'))], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout;
    for (const l of vp.split('\n')) {
      const m = /^[0-9a-f]{40} (commit|tree|blob)\s+\d+ (\d+)/.exec(l);
      if (m) byType[m[1]] = (byType[m[1]] ?? 0) + Number(m[2]);
    }
  }
  return { ops, commits, pack_bytes: pack, per_commit: pack / commits, per_commit_by_type: Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, v / commits])) };
}

export async function monthBench({ tmp, progress, ops = 50_000, hbMinutes = 10, days = 30, bytesOps = 2000 }) {
  const started = nowMs();
  progress(`month: bytes per op (${bytesOps} ops, git gc)`);
  const bytes = await bytesPerOp(tmp, bytesOps);

  const repo = await newRepo(tmp, 'month', true);
  const compact = cliHasCompact();
  // The month ends now, so that a CLI compaction (real clock) given keep-days + the days still to come
  // archives exactly what is 14 days old in simulated time.
  const end = Math.floor(Date.now() / DAY) * DAY;
  const start = end - days * DAY;
  let t = start;
  const clock = () => new Date(t);
  const orc = await open({ repo, agent: 'system', clock });
  await orc.createWorkstream('web', 'the product');
  const agents = Array.from({ length: AGENTS }, (_, k) => `agent-${k + 1}`);
  for (const a of agents) await orc.registerAgent(a);
  const step = (days * DAY) / ops;
  const window = Math.min(1000, Math.max(50, Math.floor(ops / 10)));
  const held = new Map();
  const counts = {};
  const opTimes = [];
  const hb = { beats: 0, commits: 0, ms: [] };
  const compactions = [];
  let statusStart = NaN;
  let nextBurst = start + 10 * 3_600_000; // 10:00 each day
  let nextCompact = start + 7 * DAY;
  let done = 0;
  const statusMs = async () => {
    const times = [];
    for (let k = 0; k < 5; k++) {
      const t0 = nowMs();
      await orc.status();
      times.push(nowMs() - t0);
    }
    return median(times);
  };
  for (let i = 0; done < ops; i++) {
    t = start + done * step;
    if (t >= nextBurst) {
      // hbMinutes of this day's heartbeats: every agent once a minute.
      // The tip before the burst: commits made since whose subject is a heartbeat's (an automatic compaction may restart the
      // branch meanwhile, so not a difference of counts, which went negative then).
      const before = git(repo, 'rev-parse', 'orc');
      const saved = t;
      for (let m = 0; m < hbMinutes; m++) {
        for (let k = 0; k < AGENTS; k++) {
          t = nextBurst + m * 60_000 + k * 1000;
          const t0 = nowMs();
          await orc.as(agents[k]).heartbeat(agents[k]);
          hb.ms.push(nowMs() - t0);
          hb.beats++;
        }
      }
      t = saved;
      hb.commits += Number(git(repo, 'rev-list', '--count', '--grep=^heartbeat of ', 'orc', `^${before}`));
      nextBurst += DAY;
    }
    if (compact && t >= nextCompact) {
      const left = Math.ceil((end - t) / DAY);
      const t0 = nowMs();
      const r = spawnSync(process.execPath, [CLI, 'compact', '--keep-days', String(14 + left), '--json'], { cwd: repo, encoding: 'utf8', env: { ...process.env, ORC_AGENT: 'system' } });
      compactions.push({ day: Math.round((t - start) / DAY), ok: r.status === 0, ms: nowMs() - t0, error: r.status === 0 ? undefined : r.stderr.trim().slice(0, 300) });
      nextCompact += 7 * DAY;
    }
    const t0 = nowMs();
    const [kind, n] = await mixOp(orc, agents[i % AGENTS], i, held);
    opTimes.push({ at: done, ms: (nowMs() - t0) / n });
    counts[kind] = (counts[kind] ?? 0) + n;
    done += n;
    if (n === 0) continue;
    if (done >= window && !Number.isFinite(statusStart)) statusStart = await statusMs();
    if (i % 5000 === 0 && i) progress(`month: ${done}/${ops} ops, day ${Math.floor((t - start) / DAY)}, ${((nowMs() - started) / 1000).toFixed(0)} s`);
  }
  const statusEnd = await statusMs();
  await packDone(repo);
  const first = median(opTimes.filter((o) => o.at < window).map((o) => o.ms));
  const last = median(opTimes.filter((o) => o.at >= ops - window).map((o) => o.ms));
  const objects = countObjects(repo);
  const clone = cloneFetch(tmp, repo);
  // Heartbeats outside the sampled minutes, had each added what the sampled ones did.
  const hbPerCommit = hb.beats ? hb.commits / hb.beats : 0;
  const unsampled = AGENTS * 60 * 24 * days - hb.beats;
  const bytesPerCommit = clone.commits ? clone.bytes / clone.commits : 0;
  const cloneAll = clone.bytes + unsampled * hbPerCommit * bytesPerCommit;
  const results = {
    ops: done,
    days,
    agents: AGENTS,
    counts,
    runtime_s: (nowMs() - started) / 1000,
    bytes_per_op: bytes,
    op_ms_start: first,
    op_ms_end: last,
    op_ratio: last / first,
    status_ms_start: statusStart,
    status_ms_end: statusEnd,
    status_ratio: statusEnd / statusStart,
    count_objects: objects,
    clone,
    clone_bytes_all_heartbeats: cloneAll,
    heartbeats: { per_agent_per_hour: 60, sampled_minutes_per_day: hbMinutes, beats: hb.beats, commits: hb.commits, commits_per_beat: hbPerCommit, median_ms: median(hb.ms) },
    compact: compact ? compactions : 'not in this orc (no `orc compact`)',
  };
  const c = results;
  const rows = [
    ['bytes per op after git gc (mix, no heartbeats)', `${Math.round(bytes.per_commit)} B`, `commit ${Math.round(bytes.per_commit_by_type.commit ?? 0)} + tree ${Math.round(bytes.per_commit_by_type.tree ?? 0)} + blob ${Math.round(bytes.per_commit_by_type.blob ?? 0)}`, ''],
    ['fresh clone fetches for refs/heads/orc', mb(clone.bytes), `${clone.commits} commits, ${ms(clone.fetch_ms)}`, `${verdict(clone.bytes <= TARGET.cloneBytes)} (<= 5 MB)`],
    ['  with every minute\'s heartbeats (extrapolated)', mb(cloneAll), `${unsampled} unsampled beats x ${hbPerCommit.toFixed(2)} commits`, `${verdict(cloneAll <= TARGET.cloneBytes)} (<= 5 MB)`],
    ['per-op time, end vs start', ratio(c.op_ratio), `${ms(first)} -> ${ms(last)} (median of ${window})`, `${verdict(c.op_ratio <= TARGET.opRatio)} (<= 1.2x)`],
    ['status() time, end vs start', ratio(c.status_ratio), `${ms(statusStart)} -> ${ms(statusEnd)}`, `${verdict(c.status_ratio <= TARGET.statusRatio)} (<= 1.2x)`],
    ['loose objects at the end', String(objects.count), `${objects.packs} packs, ${objects['size-pack']} KiB packed`, `${verdict(objects.count < TARGET.loose)} (< 10,000)`],
    ['heartbeats per agent per hour', '60', `${hb.beats} run (${hbMinutes} min/day sampled), median ${ms(median(hb.ms))}`, ''],
    ['commits heartbeats added to the branch', String(hb.commits), `${hbPerCommit.toFixed(2)} per heartbeat`, `${verdict(hb.commits <= TARGET.hbCommits)} (target 0)`],
    ['weekly orc compact', compact ? `${compactions.filter((x) => x.ok).length}/${compactions.length} ok` : 'n/a', compact ? compactions.map((x) => `day ${x.day} ${ms(x.ms)}`).join(', ') : 'this orc has no `orc compact`', ''],
  ];
  const tables = [
    table(`13. a month for ${AGENTS} agents: ${done} ops over ${days} simulated days (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}), library, injected clock, ${(c.runtime_s / 60).toFixed(1)} min`, ['measurement', 'value', 'detail', 'target'], rows),
  ];
  const missed = [];
  if (clone.bytes > TARGET.cloneBytes) missed.push(`month: a fresh clone fetches ${mb(clone.bytes)} for the state branch (target <= 5 MB)`);
  if (cloneAll > TARGET.cloneBytes) missed.push(`month: with every minute's heartbeats a clone would fetch ${mb(cloneAll)} (target <= 5 MB)`);
  if (!(c.op_ratio <= TARGET.opRatio)) missed.push(`month: per-op time grew ${ratio(c.op_ratio)} over the month (target <= 1.2x)`);
  if (!(c.status_ratio <= TARGET.statusRatio)) missed.push(`month: status() time grew ${ratio(c.status_ratio)} over the month (target <= 1.2x)`);
  if (objects.count >= TARGET.loose) missed.push(`month: ${objects.count} loose objects at the end (target < 10,000)`);
  if (hb.commits > TARGET.hbCommits) missed.push(`month: ${hb.commits} commits from ${hb.beats} heartbeats (target 0)`);
  for (const x of compactions) if (!x.ok) missed.push(`month: orc compact on day ${x.day} failed: ${x.error}`);
  return { results, tables, missed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-month-'));
  try {
    const r = await monthBench({
      tmp,
      progress: (m) => process.stderr.write(`${m}\n`),
      ops: Number(process.env.BENCH_MONTH_OPS) || 50_000,
      hbMinutes: Number(process.env.BENCH_MONTH_HB_MIN) || 10,
      days: Number(process.env.BENCH_MONTH_DAYS) || 30,
    });
    process.stdout.write(`${r.tables.join('\n')}\n${JSON.stringify(r.results, null, 2)}\n`);
  } finally {
    if (process.env.BENCH_KEEP) process.stderr.write(`kept ${tmp}\n`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}
