// `orc status` in a repository of many packs: wall time (median) and peak RSS.
//
//   node bench/packs.mjs            (after npm run build)
//   ORC_CLI=/other/dist/cli/bin.cjs node bench/packs.mjs   (compare another build)
//
// The repository: orc state of 500 tasks, plus PACKS packs of one ~24 MB
// incompressible blob each (a big project's history split into packs), and
// orc's own objects in a pack of their own (`git repack -d`). Then the same
// after `git repack -ad` (one pack).
// Reading a pack whole costs its size in memory; reading entries in place
// costs only the objects read.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = process.env.ORC_CLI ?? path.join(HERE, '..', 'dist', 'cli', 'bin.cjs');
const PACKS = Number(process.env.PACKS ?? 11);
const BLOB_MB = 24;
const RUNS = 7;

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
for (const k of Object.keys(env)) if (k.startsWith('ORC_')) delete env[k];
const git = (cwd, args, input) => {
  const r = spawnSync('git', args, { cwd, env, input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString().trim();
};

function measure(repo) {
  const walls = [];
  let peak = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    // maxRSS of the orc process itself, reported on exit.
    const r = spawnSync(process.execPath, ['-e', `process.on('exit',()=>process.stderr.write('\\nMAXRSS '+process.resourceUsage().maxRSS+'\\n'));process.argv=[process.argv[0],${JSON.stringify(CLI)},'status','--json'];require(${JSON.stringify(CLI)})`], { cwd: repo, env, encoding: 'utf8', maxBuffer: 1 << 28 });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`orc status: ${r.stderr}`);
    const m = /MAXRSS (\d+)/.exec(r.stderr);
    if (m) peak = Math.max(peak, Number(m[1]) / 1024);
  }
  walls.sort((a, b) => a - b);
  return { median: walls[Math.floor(walls.length / 2)], peak };
}

const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-packs-'));
try {
  git(repo, ['init', '-q', '-b', 'main']);
  git(repo, ['commit', '-q', '--allow-empty', '-m', 'init']);
  const orc = (...a) => {
    const r = spawnSync(process.execPath, [CLI, ...a], { cwd: repo, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`orc ${a.join(' ')}: ${r.stderr}`);
  };
  orc('ws', 'create', 'W');
  // 500 tasks through the library of this build (fast), then orc's objects into loose-*.pack.
  const lib = path.join(path.dirname(CLI), '..', 'index.js');
  const { open } = await import(lib);
  const o = await open({ repo, env });
  for (let i = 0; i < 500; i++) await o.addTask('W', `task ${i}`);
  // orc's objects into a pack of their own (`git repack -d`, which builds before this one read too).
  git(repo, ['repack', '-dq']);
  for (let p = 0; p < PACKS; p++) {
    const oid = git(repo, ['hash-object', '-w', '--stdin'], crypto.randomBytes(BLOB_MB * 1024 * 1024));
    git(repo, ['tag', `big-${p}`, oid]);
    const packDir = path.join(repo, '.git', 'objects', 'pack');
    spawnSync('sh', ['-c', `echo ${oid} | git pack-objects -q '${packDir}/pack' && git prune-packed`], { cwd: repo, env });
  }
  const packs = fs.readdirSync(path.join(repo, '.git', 'objects', 'pack')).filter((n) => n.endsWith('.pack')).length;
  const many = measure(repo);
  git(repo, ['repack', '-adq']);
  const one = measure(repo);
  console.log(`| repository | orc status median | peak RSS |`);
  console.log(`|---|---|---|`);
  console.log(`| ${packs} packs (${PACKS} x ${BLOB_MB} MB + orc's own) | ${many.median.toFixed(0)} ms | ${many.peak.toFixed(0)} MiB |`);
  console.log(`| the same, one pack after git repack -ad | ${one.median.toFixed(0)} ms | ${one.peak.toFixed(0)} MiB |`);
} finally {
  if (!process.env.BENCH_KEEP) fs.rmSync(repo, { recursive: true, force: true });
}
