// orc benchmark: `npm run bench` (builds first). Prints a table on stdout,
// progress on stderr, and writes the raw numbers to bench/results.json.
//
//   1. start-up of the CLI against a bare `node -e 0`
//   2. the cost of one op on an empty branch vs one with 10,000 tasks and 100,000 events
//   3. status() of 10,000 tasks, cold and warm, loose objects and packed
//   4. peak memory of read commands at that size
//   5. 8 processes racing on one ref
//   6. across hosts: a claim through a remote (git daemon) vs local; 4 hosts racing (bench/remote.mjs)
//   7. 8 hosts claiming and completing: library agents, CLI processes, a 25 ms WAN (bench/hosts.mjs)
//   7. orc serve: GET /api/status at 10,000 tasks warm and cold, commit to SSE message (bench/server.mjs)
//   8. orc mcp: the tools/list token budget, orc prime's size, tool round trips (bench/mcp.mjs)
//   9. waiting: idle CPU of --wait waiters and orc watch, wake-up latency (bench/wait.mjs)
//  10. storage: 5,000 ops with packing on and off, loose objects and .git size after (bench/pack.mjs)
//  11. a big host repo: CLI ops with 350,000 host objects in 40 packs and after git gc vs an empty repo (bench/hostrepo.mjs)
//  12. the overlap check: lock acquire at 2,000 tasks / 200 running, with and without the running index (bench/overlap.mjs)
//  13. a month for 20 agents: clone size, per-op and status growth, loose objects, heartbeat commits (bench/month.mjs)
//
// Environment: BENCH_KEEP=1 keeps the scratch repos (their path is printed); BENCH_MONTH_OPS shrinks the month;
// BENCH_ONLY=startup,perop,... runs only the named sections (startup perop status memory contention remote hosts
// server mcp wait pack hostrepo overlap month), to rerun one at rest.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { eventDayDir } from '../dist/model/layout.js';
import { SEGMENT_MAX_LINES } from '../dist/model/events.js';
import { buildBigBranch } from './build-big.mjs';
import { remoteBench } from './remote.mjs';
import { hostsBench } from './hosts.mjs';
import { serverBench } from './server.mjs';
import { mcpBench } from './mcp.mjs';
import { waitBench } from './wait.mjs';
import { packBench } from './pack.mjs';
import { hostRepoBench } from './hostrepo.mjs';
import { overlapBench } from './overlap.mjs';
import { monthBench } from './month.mjs';
import { childEnv, createLatency, git, makeRepo, max, median, ms, nowMs, pct, ratio, round, run, table, verdict } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
// The command users run: package.json's bin (the bundled CLI), and tsc's unbundled entry for reference.
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const CLI = path.join(ROOT, typeof PKG.bin === 'string' ? PKG.bin : PKG.bin.orc);
const CLI_UNBUNDLED = path.join(ROOT, 'dist', 'cli', 'main.js');
const NODE = process.execPath;
const benchStart = nowMs();

const CFG = {
  startupWarmup: 5,
  startupRuns: 40,
  opWarmup: 10,
  opRuns: 200,
  statusProcesses: 7,
  statusInProcess: 7,
  memRuns: 3,
  racers: 8,
  racerOps: 50,
  bigWorkstreams: [
    ['W', 4000],
    ['api', 3000],
    ['web', 2000],
    ['infra', 1000],
  ],
  bigEvents: 100_000,
  bigDays: 30,
  settleMaxMs: 240_000,
};
const SECTIONS = ['startup', 'perop', 'status', 'memory', 'contention', 'remote', 'hosts', 'server', 'mcp', 'wait', 'pack', 'hostrepo', 'overlap', 'month'];
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((x) => x.trim()).filter(Boolean)) : null;
for (const name of ONLY ?? []) if (!SECTIONS.includes(name)) throw new Error(`BENCH_ONLY: no section ${name} (sections: ${SECTIONS.join(' ')})`);
const want = (name) => !ONLY || ONLY.has(name);
const TARGET = { startupRatio: 1.5, opRatio: 1.5, statusMs: 300, memMiB: 150 };

const progress = (msg) => process.stderr.write(`[bench ${((nowMs() - benchStart) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-'));
const env = childEnv();
const results = { started_at: new Date().toISOString(), config: CFG, targets: TARGET };
const report = [];
const missed = [];

// ================================================================== 1. start-up

function timeProcess(cmd, args, cwd) {
  const t = nowMs();
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const d = nowMs() - t;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return d;
}

async function startup() {
  progress('start-up: CLI processes vs node -e 0, interleaved');
  const repo = makeRepo(tmp, 'startup');
  const orc = await open({ repo });
  await orc.createWorkstream('W', 'start-up benchmark');
  const cmds = [
    ['node -e 0', ['-e', '0']],
    ['orc t add W TITLE', [CLI, 't', 'add', 'W', 'a start-up benchmark task']],
    ['orc status', [CLI, 'status']],
    ['orc --version', [CLI, '--version']],
    ['orc t add W TITLE (unbundled dist/cli/main.js)', [CLI_UNBUNDLED, 't', 'add', 'W', 'a start-up benchmark task']],
  ];
  const samples = Object.fromEntries(cmds.map(([n]) => [n, []]));
  for (let i = 0; i < CFG.startupWarmup + CFG.startupRuns; i++) {
    // Rotate the order every round so that no command always runs right after another.
    for (let k = 0; k < cmds.length; k++) {
      const [name, args] = cmds[(i + k) % cmds.length];
      const d = timeProcess(NODE, args, repo);
      if (i >= CFG.startupWarmup) samples[name].push(d);
    }
  }
  const base = median(samples['node -e 0']);
  const rows = [];
  results.startup = {};
  for (const [name] of cmds) {
    const s = samples[name];
    const r = median(s) / base;
    results.startup[name] = { samples_ms: s.map((x) => round(x, 3)), median_ms: round(median(s), 3), p90_ms: round(pct(s, 90), 3), ratio_to_node: round(r, 3) };
    const isTarget = name === 'orc t add W TITLE';
    if (isTarget && !(r <= TARGET.startupRatio)) missed.push(`start-up: orc t add is ${ratio(r)} of node -e 0 (target <= ${TARGET.startupRatio}x)`);
    rows.push([name, s.length, ms(median(s)), ms(pct(s, 90)), ratio(r), isTarget ? `<= ${TARGET.startupRatio}x ${verdict(r <= TARGET.startupRatio)}` : name === 'node -e 0' ? 'baseline' : 'reference']);
  }
  report.push(table(`1. Start-up: whole process, wall time; orc = node ${path.relative(ROOT, CLI)} (package.json bin) (${CFG.startupRuns} runs each after ${CFG.startupWarmup} warm-up rounds, interleaved)`, ['command', 'runs', 'median', 'p90', 'vs node', 'target'], rows));
}

// ================================================================== build the big branch

async function buildBig() {
  const total = CFG.bigWorkstreams.reduce((s, [, n]) => s + n, 0);
  progress(`building the big branch: ${total} tasks, ${CFG.bigEvents} events over ${CFG.bigDays} days`);
  const repo = makeRepo(tmp, 'big');
  const t = nowMs();
  const b = await buildBigBranch(repo, { workstreams: CFG.bigWorkstreams, events: CFG.bigEvents, days: CFG.bigDays });
  const buildMs = nowMs() - t;
  // Verify with the library, from a fresh open(), and with git itself.
  const orc = await open({ repo });
  const st = await orc.status();
  const events = await orc.getEvents({});
  const gitFiles = git(repo, 'ls-tree', '-r', '--name-only', 'refs/heads/orc').split('\n').length;
  git(repo, 'fsck', '--connectivity-only', '--no-progress');
  const ok = st.summary.tasks.total === total && events.length === CFG.bigEvents && gitFiles === b.files && JSON.stringify(st.summary.tasks) === JSON.stringify(b.counts);
  if (!ok) throw new Error(`big branch verification failed: status ${JSON.stringify(st.summary.tasks)}, events ${events.length}, files ${gitFiles}/${b.files}`);
  // Claimable by a1 whatever runs: no resources (a pending task's resources may overlap a running one's, and the claim would be refused).
  const pendingW = b.tasksByWs.get('W').filter((x) => x.status === 'pending' && !(x.resources ?? []).length).map((x) => x.id);
  results.big_branch = {
    build_ms: round(buildMs, 1),
    commit: b.commit,
    files: b.files,
    tasks: b.counts,
    events: CFG.bigEvents,
    event_segments: b.segments,
    event_days: b.days,
    event_writers: b.writers.length,
    max_segment_lines: b.maxSegmentLines,
    max_segment_bytes: b.maxSegmentBytes,
    verified: { status_total: st.summary.tasks.total, events_read: events.length, git_ls_tree_files: gitFiles },
  };
  report.push(
    `\nBig branch: ${b.files} files in one commit, built in ${(buildMs / 1000).toFixed(1)} s; ` +
      `tasks ${b.counts.total} (pending ${b.counts.pending}, in_progress ${b.counts.in_progress}, done ${b.counts.done}, failed ${b.counts.failed}) ` +
      `in ${CFG.bigWorkstreams.map(([w, n]) => `${w}:${n}`).join(' ')}; ` +
      `${CFG.bigEvents} events in ${b.segments} segments (<= ${b.maxSegmentLines} lines, <= ${b.maxSegmentBytes} B) over ${b.days} days by ${b.writers.length} writers. ` +
      `Verified: library status total ${st.summary.tasks.total}, getEvents ${events.length}, git ls-tree ${gitFiles} files, git fsck clean.`,
  );
  return { repo, commit: b.commit, pendingW, total };
}

const resetBig = (big) => git(big.repo, 'update-ref', 'refs/heads/orc', big.commit);

// ================================================================== 2. flat per-op cost

let emptyRepo = null;

async function perOp(big, storage) {
  progress(`per-op cost (${storage} objects): empty branch vs big branch, interleaved`);
  resetBig(big);
  if (!emptyRepo) {
    emptyRepo = makeRepo(tmp, 'empty');
    const e = await open({ repo: emptyRepo, agent: 'a1' });
    await e.createWorkstream('W');
    await e.createWorkstream('api');
    await e.registerAgent('a1');
  }
  const E = await open({ repo: emptyRepo, agent: 'a1' });
  const L = await open({ repo: big.repo, agent: 'a1' });
  const n = CFG.opWarmup + CFG.opRuns;
  // getNextTask needs pending tasks on the empty side too: added here, untimed.
  for (let i = 0; i < n; i++) await E.addTask('api', `next candidate ${i}`, undefined, 1 + (i % 5));
  const content = (i) => `# notes ${i}\n\n${'Findings of the benchmark run, one line of notes. '.repeat(20 + (i % 20))}\n`;
  const claimIds = { E: [], L: big.pendingW.slice(0, n) };
  if (claimIds.L.length < n) throw new Error('not enough pending tasks on the big branch');
  const kinds = [
    ['addTask', async (o, side, i) => {
      const t = await o.addTask('W', `bench task ${storage} ${i}`, 'a task added by the benchmark', 1 + (i % 5));
      if (side === 'E') claimIds.E.push(t.id);
    }],
    ['claimTask (by id)', (o, side, i) => o.claimTask('W', claimIds[side][i], 'a1')],
    ['completeTask', (o, side, i) => o.completeTask('W', claimIds[side][i], 'finished by the benchmark')],
    ['acquireLock + releaseLock', async (o, _s, i) => {
      await o.acquireLock(`bench/res-${i % 8}`, 'a1', 60_000);
      await o.releaseLock(`bench/res-${i % 8}`, 'a1');
    }],
    ['writeKnowledge', (o, _s, i) => o.writeKnowledge(`bench/topic-${i % 25}`, content(i))],
    ['heartbeat', (o) => o.heartbeat('a1')],
    ['logEvent', (o, _s, i) => o.logEvent('bench_tick', { i, storage })],
    ['getNextTask (scans its workstream)', async (o) => {
      if (!(await o.getNextTask('api', 'a1'))) throw new Error('getNextTask found nothing');
    }],
  ];
  // Every op rewrites this writer's newest event segment for today, whose size cycles from 1 to
  // 500 lines: start both sides at the same fill so that they move through it in step.
  const padded = await alignSegments(E, L);
  const before = { E: { ...E.stats }, L: { ...L.stats } };
  const rows = [];
  const out = {};
  for (const [name, fn] of kinds) {
    const s = { E: [], L: [] };
    for (let i = 0; i < n; i++) {
      for (const side of i % 2 ? ['L', 'E'] : ['E', 'L']) {
        const o = side === 'E' ? E : L;
        const t = nowMs();
        await fn(o, side, i);
        const d = nowMs() - t;
        if (i >= CFG.opWarmup) s[side].push(d);
      }
    }
    const r = median(s.L) / median(s.E);
    const informational = name.startsWith('getNextTask');
    out[name] = { empty_ms: s.E.map((x) => round(x, 3)), big_ms: s.L.map((x) => round(x, 3)), empty_median_ms: round(median(s.E), 3), big_median_ms: round(median(s.L), 3), empty_p90_ms: round(pct(s.E, 90), 3), big_p90_ms: round(pct(s.L, 90), 3), ratio: round(r, 3) };
    if (!informational && !(r <= TARGET.opRatio)) missed.push(`per-op (${storage}): ${name} big/empty = ${ratio(r)} (target <= ${TARGET.opRatio}x)`);
    rows.push([name, s.E.length, ms(median(s.E)), ms(pct(s.E, 90)), ms(median(s.L)), ms(pct(s.L, 90)), ratio(r), informational ? 'no target' : `<= ${TARGET.opRatio}x ${verdict(r <= TARGET.opRatio)}`]);
  }
  const d = (o, b) => ({ ops: o.stats.ops - b.ops, commits: o.stats.commits - b.commits, retries: o.stats.retries - b.retries });
  out.stats = { empty: d(E, before.E), big: d(L, before.L) };
  out.big_branch_tasks_at_start = big.total;
  out.segment_alignment = padded;
  results[`per_op_${storage}`] = out;
  const note = storage === 'packed' ? 'both repos after `git gc`, new objects loose on top of the pack' : 'loose objects';
  report.push(
    table(
      `2${storage === 'packed' ? 'b' : ''}. One op through the library, ${note} (median of ${CFG.opRuns} after ${CFG.opWarmup} warm-up, empty and big interleaved; lock row = 2 ops)`,
      ['op', 'n', 'empty med', 'empty p90', 'big med', 'big p90', 'big/empty', 'target'],
      rows,
    ) +
      `\n   engine counters in this section: empty ${JSON.stringify(out.stats.empty)}, big ${JSON.stringify(out.stats.big)}` +
      `\n   today's event segment of this writer aligned before timing: ${padded.lines} lines on both sides (${padded.padE} + ${padded.padL} untimed logEvent ops)`,
  );
  resetBig(big);
}

/** Lines in this writer's newest event segment for today (0 if none). */
function segmentFill(orc) {
  const snap = orc.store.snapshot(orc.store.tip());
  const day = eventDayDir(new Date().toISOString());
  const writer = orc.store.writerId();
  let best = null;
  for (const e of snap.list(day)) {
    const m = /^([0-9a-z]+)-(\d+)\.jsonl$/.exec(e.name);
    if (m && m[1] === writer && (!best || Number(m[2]) > best.seq)) best = { seq: Number(m[2]), name: e.name };
  }
  if (!best) return 0;
  const buf = snap.read(`${day}/${best.name}`);
  let n = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

async function alignSegments(E, L) {
  let padE = 0;
  let padL = 0;
  for (let guard = 0; guard < 2 * SEGMENT_MAX_LINES; guard++) {
    const e = segmentFill(E);
    const l = segmentFill(L);
    if (e === l) return { lines: e, padE, padL };
    // The side behind appends (a full segment counts as behind: its next event starts a new one).
    const eBehind = e === SEGMENT_MAX_LINES ? false : l === SEGMENT_MAX_LINES ? true : e < l;
    if (eBehind) {
      await E.logEvent('bench_align');
      padE++;
    } else {
      await L.logEvent('bench_align');
      padL++;
    }
  }
  throw new Error('could not align event segments');
}

// ================================================================== 3. status of 10,000 tasks

async function statusBench(big, storage) {
  progress(`status of ${big.total} tasks (${storage}): fresh processes and in-process`);
  resetBig(big);
  const child = path.join(HERE, 'status-child.mjs');
  const procs = [];
  for (let i = 0; i < CFG.statusProcesses; i++) {
    const r = spawnSync(NODE, [child, big.repo], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`status-child failed: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    if (j.tasks !== big.total) throw new Error(`status-child saw ${j.tasks} tasks`);
    procs.push(j);
  }
  const inproc = { cold: [], warm: [] };
  for (let i = 0; i < CFG.statusInProcess; i++) {
    let t = nowMs();
    const orc = await open({ repo: big.repo });
    const s = await orc.status();
    inproc.cold.push(nowMs() - t);
    t = nowMs();
    await orc.status();
    inproc.warm.push(nowMs() - t);
    if (s.summary.tasks.total !== big.total) throw new Error('status count changed');
  }
  const col = (k) => procs.map((p) => p[k]);
  const lines = [
    ['fresh process: open() + first status() (cold)', col('cold_ms'), true],
    ['fresh process: second status(), same Orc (warm)', col('warm_ms'), true],
    ['fresh process: third status(), same Orc', col('warm2_ms'), false],
    ['fresh process: import of dist/index.js (not counted above)', col('import_ms'), false],
    ['same process: new open() + status() (cold Orc, warm JIT)', inproc.cold, true],
    ['same process: second status(), same Orc (warm)', inproc.warm, true],
  ];
  const rows = [];
  const out = { tasks: big.total, processes: procs, in_process: inproc };
  for (const [label, s, isTarget] of lines) {
    const m = median(s);
    if (isTarget && !(m < TARGET.statusMs)) missed.push(`status (${storage}): ${label} median ${ms(m)} (target < ${TARGET.statusMs} ms)`);
    rows.push([label, s.length, ms(m), ms(pct(s, 90)), ms(max(s)), isTarget ? `< ${TARGET.statusMs} ms ${verdict(m < TARGET.statusMs)}` : 'reference']);
  }
  if (storage === 'packed') out.count_objects = results.gc?.count_objects_after;
  results[`status_${storage}`] = out;
  const label = storage === 'packed' ? 'packed (after git gc)' : 'loose objects';
  report.push(table(`3${storage === 'packed' ? 'b' : ''}. status() of ${big.total} tasks + ${CFG.bigEvents} events, library, ${label}`, ['measurement', 'n', 'median', 'p90', 'max', 'target'], rows));
}

// ================================================================== git gc

async function gcBoth(big) {
  progress('git gc of the big and the empty repo');
  resetBig(big);
  const count = (repo) => Object.fromEntries(git(repo, 'count-objects', '-v').split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  const before = count(big.repo);
  const preBig = Math.min(createLatency(big.repo), createLatency(big.repo));
  const t = nowMs();
  git(big.repo, 'gc', '--prune=now', '--quiet');
  const gcMs = nowMs() - t;
  git(emptyRepo, 'gc', '--prune=now', '--quiet');
  // The kernel writes the fresh pack out for seconds after gc returns; ops timed meanwhile wait on that
  // (open() of a new loose object blocked behind the journal: 4.4x big/empty per claim without this,
  // 1.24x with it, on this machine's ext4). Flushed first, so the rows time orc, not the writeback.
  const ts = nowMs();
  spawnSync('sync', [], { stdio: 'ignore' });
  const syncMs = nowMs() - ts;
  // Then, on a disk mounted with `discard`, creating a file in the object folders gc just emptied stays
  // several times slower for minutes (0.36 vs 0.05 ms per file; an op writes ~10), the big repo more than
  // the empty one (it deleted 26,000 files): the packed rows measured that (addTask 2.5-2.9x big/empty
  // in three runs). Wait, bounded, until creating files in both repos' object folders costs about what it
  // cost before gc, and report how long that took.
  const settle = { before_ms: round(preBig, 4), waited_s: 0, probes: [] };
  const deadline = nowMs() + CFG.settleMaxMs;
  for (let ok = 0; ok < 2 && nowMs() < deadline; ) {
    const b = createLatency(big.repo);
    const e = createLatency(emptyRepo);
    settle.probes.push([round(b, 4), round(e, 4)]);
    ok = Math.max(b, e) <= preBig * 1.5 + 0.02 ? ok + 1 : 0;
    if (ok < 2) await new Promise((r) => setTimeout(r, 2000));
  }
  settle.waited_s = round((nowMs() - ts - syncMs) / 1000, 1);
  settle.settled = nowMs() < deadline;
  const after = count(big.repo);
  results.gc = { big_gc_ms: round(gcMs, 1), sync_ms: round(syncMs, 1), settle, count_objects_before: before, count_objects_after: after };
  const last = settle.probes.at(-1) ?? [];
  report.push(
    `\ngit gc of the big repo: ${(gcMs / 1000).toFixed(1)} s (then \`sync\`, ${ms(syncMs)}); loose objects ${before.count} -> ${after.count}, packed ${after['in-pack']} objects in ${after.packs} pack(s), ${after['size-pack']} KiB` +
      `\nfile creation in the object folders after gc: ${settle.probes[0]?.[0]} ms (big) / ${settle.probes[0]?.[1]} ms (empty) per file, ${preBig.toFixed(3)} ms before gc; ` +
      (settle.settled ? `waited ${settle.waited_s} s until ${last[0]} / ${last[1]} ms` : `still ${last[0]} / ${last[1]} ms after ${settle.waited_s} s (gave up waiting: the packed rows include the disk's slowness)`),
  );
}

// ================================================================== 4. peak memory

const HAS_TIME = (() => {
  try {
    return spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
})();

/** Runs a command; resolves with its wall time and max RSS in KiB. */
async function peakRss(args, cwd) {
  if (HAS_TIME) {
    const outFile = path.join(tmp, `time-${process.pid}.txt`);
    const t = nowMs();
    const r = await run('/usr/bin/time', ['-f', '%M', '-o', outFile, NODE, ...args], { cwd, env });
    const wall = nowMs() - t;
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return { wall_ms: wall, max_rss_kib: Number(fs.readFileSync(outFile, 'utf8').trim().split('\n').pop()), stdout_bytes: r.stdout.length };
  }
  // No GNU time: poll the child's high-water mark until it exits.
  return new Promise((resolve, reject) => {
    const t = nowMs();
    const c = spawn(NODE, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let bytes = 0;
    let err = '';
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        /* gone */
      }
    };
    const timer = setInterval(poll, 2);
    c.stdout.on('data', (d) => {
      bytes += d.length;
      poll();
    });
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ wall_ms: nowMs() - t, max_rss_kib: peak, stdout_bytes: bytes });
    });
  });
}

async function memory(big, storage) {
  progress(`peak memory of CLI commands (${storage})`);
  resetBig(big);
  const cmds = [
    ['orc status --json', ['status', '--json']],
    ['orc t list W --json', ['t', 'list', 'W', '--json']],
    ['orc t next W a1', ['t', 'next', 'W', 'a1']],
    ['orc events --last 100', ['events', '--last', '100']],
    ['orc status (text)', ['status']],
  ];
  const rows = [];
  const out = { method: HAS_TIME ? '/usr/bin/time -f %M' : '/proc/<pid>/status VmHWM polling' };
  const baseline = [];
  for (let i = 0; i < CFG.memRuns; i++) baseline.push((await peakRss(['-e', '0'], big.repo)).max_rss_kib);
  out['node -e 0'] = { max_rss_kib: baseline };
  rows.push(['node -e 0 (baseline)', `${(max(baseline) / 1024).toFixed(1)} MiB`, '', 'reference']);
  for (const [name, args] of cmds) {
    const runs = [];
    for (let i = 0; i < CFG.memRuns; i++) {
      runs.push(await peakRss([CLI, ...args], big.repo));
      resetBig(big); // `t next` commits a claim: keep measuring the same state
    }
    const peak = max(runs.map((r) => r.max_rss_kib)) / 1024;
    const wall = median(runs.map((r) => r.wall_ms));
    out[name] = runs;
    const isTarget = name !== 'orc status (text)';
    if (isTarget && !(peak < TARGET.memMiB)) missed.push(`memory (${storage}): ${name} peaks at ${peak.toFixed(1)} MiB (target < ${TARGET.memMiB} MiB)`);
    rows.push([name, `${peak.toFixed(1)} MiB`, ms(wall), isTarget ? `< ${TARGET.memMiB} MiB ${verdict(peak < TARGET.memMiB)}` : 'reference']);
  }
  results[`memory_${storage}`] = out;
  report.push(table(`4${storage === 'packed' ? 'b' : ''}. Peak memory (max RSS, worst of ${CFG.memRuns}; via ${out.method}) at ${big.total} tasks / ${CFG.bigEvents} events, ${storage} objects`, ['command', 'max RSS', 'wall med', 'target'], rows));
}

// ================================================================== 5. contention

async function contention() {
  const { racers, racerOps } = CFG;
  progress(`contention: ${racers} processes x ${racerOps} ops on one ref`);
  const repo = makeRepo(tmp, 'race');
  const setup = await open({ repo });
  await setup.createWorkstream('W', 'contention');
  const commitsBefore = Number(git(repo, 'rev-list', '--count', 'refs/heads/orc'));
  const child = path.join(HERE, 'contention-child.mjs');
  const startAt = Date.now() + 2500; // every child loads and opens first, then all start together
  const runs = await Promise.all(Array.from({ length: racers }, (_, i) => run(NODE, [child, repo, String(i + 1), String(racerOps), String(startAt), 'W'], { env })));
  const kids = runs.map((r) => {
    if (r.code !== 0) throw new Error(`contention child exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  const commitsAfter = Number(git(repo, 'rev-list', '--count', 'refs/heads/orc'));
  const sum = (f) => kids.reduce((s, k) => s + f(k), 0);
  const ops = sum((k) => k.stats.ops);
  const commits = sum((k) => k.stats.commits);
  const retries = sum((k) => k.stats.retries);
  const added = sum((k) => k.added);
  const claimed = sum((k) => k.claimed);
  const nulls = sum((k) => k.nulls);
  const wallS = (max(kids.map((k) => k.end)) - Math.min(...kids.map((k) => k.start))) / 1000;
  // Verify: every op that reported a commit is on the branch, every claim is distinct and recorded.
  const check = await open({ repo });
  const st = await check.status();
  const claimEvents = await check.getEvents({ action: 'task_claimed' });
  const allClaimed = kids.flatMap((k) => k.claimedIds);
  const unique = new Set(allClaimed).size;
  const git_fsck = spawnSync('git', ['fsck', '--no-progress'], { cwd: repo, encoding: 'utf8' }).status === 0;
  const verified =
    commitsAfter - commitsBefore === commits &&
    commits === added + claimed &&
    st.summary.tasks.total === added &&
    st.summary.tasks.in_progress === claimed &&
    unique === claimed &&
    claimEvents.length === claimed &&
    git_fsck;
  if (!verified) missed.push('contention: verification failed (see results.json contention)');
  results.contention = {
    racers,
    ops_per_racer: racerOps,
    wall_s: round(wallS, 3),
    ops,
    ops_per_s: round(ops / wallS, 1),
    commits,
    commits_on_branch: commitsAfter - commitsBefore,
    retries,
    added,
    claimed,
    next_returned_null: nulls,
    unique_claimed: unique,
    claim_events: claimEvents.length,
    status_tasks: st.summary.tasks,
    git_fsck_clean: git_fsck,
    verified,
    children: kids.map(({ claimedIds, ...k }) => k),
  };
  const rows = [
    ['processes x ops', `${racers} x ${racerOps} (addTask / getNextTask alternating)`],
    ['wall time', `${wallS.toFixed(2)} s (latest start lag ${max(kids.map((k) => k.late_ms))} ms)`],
    ['aggregate throughput', `${(ops / wallS).toFixed(1)} ops/s`],
    ['lost races (orc.stats.retries, summed)', `${retries} (${(retries / ops).toFixed(2)} per op; per process ${kids.map((k) => k.stats.retries).join(' ')})`],
    ['ops that committed / new commits on branch', `${commits} / ${commitsAfter - commitsBefore}`],
    ['tasks added / on branch', `${added} / ${st.summary.tasks.total}`],
    ['claims reported / in_progress / distinct / claim events', `${claimed} / ${st.summary.tasks.in_progress} / ${unique} / ${claimEvents.length} (next returned null ${nulls}x)`],
    ['git fsck', git_fsck ? 'clean' : 'ERRORS'],
    ['all ops verified present', verified ? 'yes' : 'NO'],
  ];
  report.push(table('5. Contention: separate OS processes on one repo, one ref', ['measure', 'value'], rows));
}

// ================================================================== main

async function main() {
  const cpus = os.cpus();
  results.machine = {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    mem_gib: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    git: git(ROOT, '--version'),
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
  };
  report.push(
    'orc benchmark',
    `machine: ${results.machine.cpus} cpus (${results.machine.cpu_model}), ${results.machine.mem_gib} GiB, ${results.machine.platform}`,
    `node ${results.machine.node}, ${results.machine.git}, load average at start ${results.machine.loadavg_at_start.join(' ')} (1/5/15 min), scratch ${tmp}`,
  );
  process.stdout.write(`${report.join('\n')}\n`);

  try {
    if (want('startup')) await startup();
    const needBig = ['perop', 'status', 'memory', 'server'].some(want);
    const big = needBig ? await buildBig() : null;
    if (want('perop')) await perOp(big, 'loose');
    if (want('status')) await statusBench(big, 'loose');
    if (want('memory')) await memory(big, 'loose');
    if (needBig) await gcBoth(big);
    if (want('status')) await statusBench(big, 'packed');
    if (want('perop')) await perOp(big, 'packed');
    if (want('memory')) await memory(big, 'packed');
    if (want('contention')) await contention();
    const add = (key, r) => {
      results[key] = r.results;
      report.push(...r.tables);
      missed.push(...(r.missed ?? []));
    };
    if (want('remote')) add('remote', await remoteBench({ tmp, env, cli: CLI, node: NODE, progress }));
    if (want('hosts')) add('hosts', await hostsBench({ tmp, env, cli: CLI, node: NODE, progress }));
    if (want('server')) add('server', await serverBench({ repo: big.repo, env, cli: CLI, node: NODE, progress }));
    if (want('mcp')) add('mcp', await mcpBench({ tmp, env, cli: CLI, node: NODE, progress }));
    if (want('wait')) add('wait', await waitBench({ tmp, env, cli: CLI, node: NODE, progress }));
    if (want('pack')) add('storage', await packBench({ tmp, progress }));
    if (want('hostrepo')) add('host_repo', await hostRepoBench({ tmp, progress }));
    if (want('overlap')) add('overlap', await overlapBench({ tmp, progress, cli: CLI, node: NODE, env }));
    if (want('month')) add('month', await monthBench({ tmp, progress, ops: Number(process.env.BENCH_MONTH_OPS) || 50_000, hbMinutes: Number(process.env.BENCH_MONTH_HB_MIN) || 10 }));
  } catch (e) {
    // Show what was measured before the failure, then fail.
    process.stdout.write(`${report.slice(3).join('\n')}\n\nBENCH FAILED: ${e?.stack ?? e}\n`);
    results.error = String(e?.stack ?? e);
    throw e;
  } finally {
    results.total_runtime_s = round((nowMs() - benchStart) / 1000, 1);
    results.machine.loadavg_at_end = os.loadavg().map((x) => round(x, 2));
    results.missed = missed;
    fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (process.env.BENCH_KEEP) progress(`kept scratch repos in ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }

  report.push(`\ntotal bench runtime: ${results.total_runtime_s} s; load average at end ${results.machine.loadavg_at_end.join(' ')} on ${results.machine.cpus} cpus; raw numbers in bench/results.json`);
  report.push(missed.length ? `\nMISSED TARGETS:\n${missed.map((m) => `  - ${m}`).join('\n')}` : '\nall targets met');
  process.stdout.write(`${report.slice(3).join('\n')}\n`);
}

await main();
