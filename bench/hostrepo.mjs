// orc benchmark, a big host repository:
//
//  11. orc ops (`t add`, `status`, `lock acquire`, the CLI as users run it) in a repository whose own history is
//      big (~350,000 objects, the size of git's own repository) split into 40 packs, as many fetches between gcs
//      leave it, and again after `git gc` (one pack), against the same ops in an empty repository.
//
// The host history is synthetic (no network here): 40 runs of `git fast-import`, each writing one pack of
// ~8,750 small blobs plus their tree and commit. orc's own objects are few: a pack of their own (as orc's
// packing leaves them), the newest, and loose ones on top; after `git gc` they are in the host's one big pack.
// Finding them must not cost reading the host's pack indexes (~10 MB of .idx in all).
//
// Called by run.mjs; `node bench/hostrepo.mjs` runs it alone (after `npm run build`);
// ORC_CLI=/other/dist/cli/bin.cjs compares another build.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, git, makeRepo, median, ms, nowMs, ratio, table, verdict } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = process.env.ORC_CLI ?? path.join(HERE, '..', 'dist', 'cli', 'bin.cjs');
const CFG = { packs: 40, objects: 350_000, warmup: 2, runs: 21 };
const TARGET = { ratio: 1.2 };

/** One `git fast-import` run: `blobs` blobs in a folder of their own, one commit on main. One run, one pack. */
function importChunk(repo, chunk, blobs, first) {
  const parts = [];
  for (let i = 0; i < blobs; i++) {
    const body = `chunk ${chunk} blob ${i} ${'x'.repeat(i % 97)}\n`;
    parts.push(`blob\nmark :${i + 1}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
  }
  const msg = `chunk ${chunk}\n`;
  parts.push(`commit refs/heads/main\ncommitter b <b@b> ${1_700_000_000 + chunk} +0000\ndata ${msg.length}\n${msg}`);
  if (!first) parts.push('from refs/heads/main^0\n');
  for (let i = 0; i < blobs; i++) parts.push(`M 100644 :${i + 1} c${chunk}/f${i}\n`);
  parts.push('\n');
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: repo, input: parts.join(''), maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git fast-import: ${r.stderr}`);
}

export function buildHostRepo(dir, packs = CFG.packs, objects = CFG.objects) {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'gc.auto', '0');
  git(dir, 'config', 'orc.packing', 'false');
  const perPack = Math.ceil(objects / packs);
  for (let c = 0; c < packs; c++) importChunk(dir, c, perPack, c === 0);
  git(dir, 'reset', '-q', '--soft', 'main'); // HEAD and index untouched: only the ref matters to orc
  return dir;
}

function packInfo(repo) {
  const d = path.join(repo, '.git', 'objects', 'pack');
  const idx = fs.readdirSync(d).filter((n) => n.endsWith('.idx'));
  return { packs: idx.length, idx_bytes: idx.reduce((s, n) => s + fs.statSync(path.join(d, n)).size, 0) };
}

/**
 * One CLI run: its wall time, and its CPU time (user + system, reported by the process on exit), which a
 * machine loaded by other work disturbs far less than the wall time.
 */
function orc(env, repo, args) {
  const t = nowMs();
  const probe = `process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\nORC_CPU_US '+(u.userCPUTime+u.systemCPUTime)+'\\n')});process.argv=[process.argv[0],${JSON.stringify(CLI)},...${JSON.stringify(args)}];require(${JSON.stringify(CLI)})`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: repo, env, encoding: 'utf8' });
  const wall = nowMs() - t;
  if (r.status !== 0) throw new Error(`orc ${args.join(' ')} in ${repo} exited ${r.status}: ${r.stderr}`);
  const m = /ORC_CPU_US (\d+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) / 1000 : NaN };
}

const OPS = [
  ['t add', (i) => ['t', 'add', 'W', `task ${i}`]],
  ['status', () => ['status']],
  ['lock acquire', (i) => ['lock', 'acquire', `res-${i}`, 'a1', '--ttl', '600000']],
];

/** Median wall time of each op in each repo, the repos interleaved run by run so that load drifts hit both alike. */
function measure(env, repos) {
  const out = {};
  for (const [name] of OPS) out[name] = Object.fromEntries(repos.map((r) => [r.label, { wall: [], cpu: [] }]));
  let n = 0;
  for (let i = 0; i < CFG.warmup + CFG.runs; i++) {
    for (const [name, args] of OPS) {
      for (const r of repos) {
        const d = orc(env, r.dir, args(n++));
        if (i < CFG.warmup) continue;
        out[name][r.label].wall.push(d.wall);
        out[name][r.label].cpu.push(d.cpu);
      }
    }
  }
  for (const [name] of OPS) for (const r of repos) out[name][r.label] = { wall: median(out[name][r.label].wall), cpu: median(out[name][r.label].cpu) };
  return out;
}

/** orc state of a few ops, then packed as orc's packing does it (a pack of the loose objects, the host's packs untouched). */
function prepare(env, repo) {
  orc(env, repo, ['ws', 'create', 'W']);
  orc(env, repo, ['a', 'register', 'a1']);
  for (let i = 0; i < 20; i++) orc(env, repo, ['t', 'add', 'W', `setup ${i}`]);
  git(repo, 'repack', '-d', '-q', '-l');
}

export async function hostRepoBench({ tmp, progress = () => {} }) {
  const env = childEnv();
  const t0 = nowMs();
  progress(`host repo: building ${CFG.objects} objects in ${CFG.packs} packs (git fast-import)`);
  const empty = makeRepo(tmp, 'host-empty');
  git(empty, 'commit', '-q', '--allow-empty', '-m', 'init');
  const big = buildHostRepo(path.join(tmp, 'host-big'));
  const many = packInfo(big);
  progress(`host repo: built in ${((nowMs() - t0) / 1000).toFixed(1)} s: ${many.packs} packs, ${(many.idx_bytes / 2 ** 20).toFixed(1)} MiB of .idx`);
  prepare(env, empty);
  prepare(env, big);
  const a = measure(env, [{ label: 'empty', dir: empty }, { label: 'packs', dir: big }]);
  progress('host repo: git gc');
  git(big, 'gc', '-q');
  const gced = packInfo(big);
  const b = measure(env, [{ label: 'empty', dir: empty }, { label: 'gc', dir: big }]);
  const rows = [];
  const missed = [];
  const results = { config: CFG, packs_before_gc: many, packs_after_gc: gced, ops: {} };
  for (const [name] of OPS) {
    // Judged on CPU time (wall time shown too): the empty and big runs interleave, but other work on the machine
    // still moves wall times by more than the effect measured.
    const r40 = a[name].packs.cpu / a[name].empty.cpu;
    const rgc = b[name].gc.cpu / b[name].empty.cpu;
    const w40 = a[name].packs.wall / a[name].empty.wall;
    const wgc = b[name].gc.wall / b[name].empty.wall;
    results.ops[name] = { empty: a[name].empty, packs: a[name].packs, empty2: b[name].empty, gc: b[name].gc, cpu_ratio_packs: r40, cpu_ratio_gc: rgc, wall_ratio_packs: w40, wall_ratio_gc: wgc };
    rows.push([
      name,
      `${ms(a[name].empty.cpu)} / ${ms(a[name].empty.wall)}`,
      `${ms(a[name].packs.cpu)} / ${ms(a[name].packs.wall)}`,
      `${ratio(r40)} / ${ratio(w40)}`,
      `${ms(b[name].gc.cpu)} / ${ms(b[name].gc.wall)}`,
      `${ratio(rgc)} / ${ratio(wgc)}`,
      `<= ${TARGET.ratio}x ${verdict(r40 <= TARGET.ratio && rgc <= TARGET.ratio)}`,
    ]);
    if (r40 > TARGET.ratio) missed.push(`host repo: ${name} with ${many.packs} packs takes ${ratio(r40)} of an empty repo (target <= ${TARGET.ratio}x)`);
    if (rgc > TARGET.ratio) missed.push(`host repo: ${name} after git gc takes ${ratio(rgc)} of an empty repo (target <= ${TARGET.ratio}x)`);
  }
  const title = `11. A big host repo: CLI ops in a repo of ${CFG.objects} host objects in ${many.packs} packs (${(many.idx_bytes / 2 ** 20).toFixed(1)} MiB of .idx), and after git gc (${gced.packs} pack), vs an empty repo (median of ${CFG.runs}, interleaved; CPU / wall time, the target on CPU time)`;
  const tables = [table(title, ['op', 'empty', `${many.packs} packs`, 'ratio', 'after gc', 'ratio', 'target'], rows)];
  return { results, tables, missed };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-host-'));
  try {
    const r = await hostRepoBench({ tmp, progress: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${r.tables.join('\n')}\n${JSON.stringify(r.results, null, 2)}\n`);
  } finally {
    if (process.env.BENCH_KEEP) process.stderr.write(`kept ${tmp}\n`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}
