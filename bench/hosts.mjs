// orc benchmark, many hosts: 8 clones of one bare repo served by `git daemon`
// on 127.0.0.1, each host claiming and completing tasks in a loop:
//
//   7a. 2 long-lived library agents per host (one process per host, as an MCP
//       server would hold them), for BENCH_HOSTS_SECONDS (default 20)
//   7b. loops of one `orc` CLI process per op, 4 loops per host
//   7c. 7a through bench/delay-proxy.mjs, 25 ms added each way
//   7d. 7a with `git config orc.hostRequests off` on every host (hosts do not
//       decide each other's ops: what src/ops/hostreq.ts gains)
//   (BENCH_HOSTS_ROWS=lib,off runs only those rows, for quick comparisons)
//
// Aggregate exclusive ops/s (claims + completes), claim p99, each host's share
// of the claims against a fair share, calls that failed. Every claim reported
// is checked on the remote and no task is claimed twice.
// Called by run.mjs; `node bench/hosts.mjs` runs it alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { startDelayProxy } from './delay-proxy.mjs';
import { childEnv, git, makeRepo, pct, round, run, table } from './lib.mjs';
import { bare, startDaemon, withTasks } from './remote.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms_) => new Promise((r) => setTimeout(r, ms_));

export const HOSTS_CFG = { hosts: 8, agentsPerHost: 2, cliLoopsPerHost: 4, seconds: Number(process.env.BENCH_HOSTS_SECONDS ?? 20), tasks: 900, delayMs: 25 };

const ids = (n) => Array.from({ length: n }, (_, i) => `h-${String(i).padStart(4, '0')}`);

export async function hostsBench({ tmp, env, cli, node = process.execPath, progress = () => {} }) {
  const C = HOSTS_CFG;
  const results = { config: C };
  const tables = [];
  const missed = [];
  const base = path.join(tmp, 'hosts-base');
  fs.mkdirSync(base, { recursive: true });
  const daemon = await startDaemon(base, env);
  // Not spawnSync: the delay proxy runs in this process's event loop.
  const orcOk = async (cwd, args) => {
    const r = await run(node, [cli, ...args], { cwd, env });
    if (r.code !== 0) throw new Error(`orc ${args.join(' ')} in ${cwd} exited ${r.code}: ${r.stderr}`);
  };
  const setup = async (name, urlOf, config = []) => {
    bare(base, `${name}.git`);
    const seedDir = makeRepo(tmp, `${name}-seed`);
    await withTasks(seedDir, ids(C.tasks));
    git(seedDir, 'remote', 'add', 'origin', daemon.url(`${name}.git`));
    await orcOk(seedDir, ['init', '--remote', 'origin']);
    const dirs = [];
    for (let i = 0; i < C.hosts; i++) {
      const dir = makeRepo(tmp, `${name}-host-${i + 1}`);
      git(dir, 'remote', 'add', 'origin', urlOf(`${name}.git`));
      for (const [k, v] of config) git(dir, 'config', k, v);
      await orcOk(dir, ['init', '--remote', 'origin']);
      dirs.push(dir);
    }
    return dirs;
  };
  /** Checks the run against the remote: each reported claim there, none twice. */
  const verify = (name, claims) => {
    const subjects = git(path.join(base, `${name}.git`), 'log', '--format=%s', 'orc').split('\n');
    const onRemote = subjects.filter((s) => s.startsWith('claim W/')).length;
    const distinct = new Set(claims).size;
    const pushes = fs.existsSync(path.join(base, `${name}.pushes`)) ? fs.readFileSync(path.join(base, `${name}.pushes`), 'utf8').split('\n').filter(Boolean).length : null;
    const ok = distinct === claims.length && onRemote >= claims.length;
    if (!ok) missed.push(`hosts (${name}): ${claims.length} claims reported, ${distinct} distinct, ${onRemote} on the remote`);
    return { ok, onRemote, pushes };
  };
  const countPushes = (name) => {
    const hook = path.join(base, `${name}.git`, 'hooks', 'post-update');
    fs.writeFileSync(hook, `#!/bin/sh\necho x >> ${JSON.stringify(path.join(base, `${name}.pushes`))}\n`, { mode: 0o755 });
  };
  const summarize = (label, name, perHost, wallS) => {
    const claims = perHost.flatMap((h) => h.claims);
    const lat = perHost.flatMap((h) => h.claimMs);
    const ops = perHost.reduce((s, h) => s + h.ops, 0);
    const failed = perHost.reduce((s, h) => s + h.failed, 0);
    const fair = claims.length / perHost.length;
    const shares = perHost.map((h) => h.claims.length / fair);
    const v = verify(name, claims);
    const row = {
      ops_per_s: round(ops / wallS, 2),
      rejected_pushes: perHost.reduce((s, h) => s + (h.stats?.retries ?? 0), 0),
      ops,
      claims: claims.length,
      claim_p50_ms: round(pct(lat, 50), 1),
      claim_p99_ms: round(pct(lat, 99), 1),
      min_share: round(Math.min(...shares), 2),
      per_host: perHost.map((h) => h.claims.length),
      failed,
      errors: [...new Set(perHost.flatMap((h) => h.errors))].slice(0, 5),
      pushes: v.pushes,
      verified: v.ok,
    };
    results[name] = row;
    return [label, row.ops_per_s.toFixed(1), `${Math.round(row.claim_p50_ms)} / ${Math.round(row.claim_p99_ms)} ms`, `${row.min_share.toFixed(2)} (${row.per_host.join('/')})`, String(failed), v.pushes === null ? '' : `${v.pushes} for ${ops}`, v.ok ? 'yes' : 'NO'];
  };

  const libRun = async (name, urlOf, config = []) => {
    const hosts = await setup(name, urlOf, config);
    countPushes(name);
    const startAt = Date.now() + 2500;
    const t0 = startAt;
    const kids = await Promise.all(
      hosts.map(async (dir, i) => {
        const r = await run(node, [path.join(HERE, 'hosts.mjs'), 'child', dir, `host${i + 1}`, String(C.agentsPerHost), String(startAt), String(C.seconds * 1000)], { env });
        if (r.code !== 0) throw new Error(`hosts child ${i + 1} exited ${r.code}: ${r.stderr}`);
        return JSON.parse(r.stdout);
      }),
    );
    const wallS = (Math.max(...kids.map((k) => k.end)) - t0) / 1000;
    return { kids, wallS };
  };
  const rows = [];
  const sharesOk = (name) => !results[name] || results[name].min_share >= 0.5;
  // BENCH_HOSTS_ROWS=lib,cli,wan,off (default all) runs only those rows (quick comparisons).
  const only = new Set((process.env.BENCH_HOSTS_ROWS ?? 'lib,cli,wan,off').split(','));
  try {
    if (only.has('lib')) {
      progress(`hosts: ${C.hosts} hosts x ${C.agentsPerHost} library agents, claim+complete for ${C.seconds} s (git daemon)`);
      const a = await libRun('lib', (n) => daemon.url(n));
      rows.push(summarize(`library, ${C.hosts} x ${C.agentsPerHost} agents`, 'lib', a.kids, a.wallS));
    }
    if (only.has('cli')) {
      progress(`hosts: ${C.hosts} hosts x ${C.cliLoopsPerHost} loops of orc CLI processes for ${C.seconds} s`);
      const hosts = await setup('cli', (n) => daemon.url(n));
      countPushes('cli');
      const stopAt = Date.now() + C.seconds * 1000;
      const t0 = Date.now();
      const perHost = await Promise.all(
        hosts.map(async (dir, h) => {
          const acc = { claims: [], claimMs: [], ops: 0, failed: 0, errors: [] };
          await Promise.all(
            Array.from({ length: C.cliLoopsPerHost }, async (_, k) => {
              const agent = `host${h + 1}-p${k + 1}`;
              while (Date.now() < stopAt) {
                const t = Date.now();
                const r = await run(node, [cli, 't', 'next', 'W', agent, '--json'], { cwd: dir, env });
                if (r.code !== 0) {
                  acc.failed++;
                  acc.errors.push(r.stderr.trim().split('\n')[0]);
                  continue;
                }
                const task = JSON.parse(r.stdout);
                if (!task) break;
                acc.claimMs.push(Date.now() - t);
                acc.claims.push(task.id);
                acc.ops++;
                const d = await run(node, [cli, 't', 'done', 'W', task.id, 'ok', '--agent', agent], { cwd: dir, env });
                if (d.code !== 0) {
                  acc.failed++;
                  acc.errors.push(d.stderr.trim().split('\n')[0]);
                } else acc.ops++;
              }
            }),
          );
          return acc;
        }),
      );
      rows.push(summarize(`CLI, ${C.hosts} x ${C.cliLoopsPerHost} process loops`, 'cli', perHost, (Date.now() - t0) / 1000));
    }
    if (only.has('wan')) {
      progress(`hosts: the library run through a ${C.delayMs} ms delay proxy`);
      const proxy = await startDelayProxy({ targetPort: daemon.port, delayMs: C.delayMs });
      try {
        const w = await libRun('wan', (n) => `git://127.0.0.1:${proxy.port}/${n}`);
        rows.push(summarize(`library via ${C.delayMs} ms delay proxy`, 'wan', w.kids, w.wallS));
      } finally {
        await proxy.close();
      }
    }
    if (only.has('off')) {
      progress(`hosts: the library run with host requests off (orc.hostRequests off), for comparison`);
      const off = await libRun('off', (n) => daemon.url(n), [['orc.hostRequests', 'off']]);
      rows.push(summarize(`library, host requests off`, 'off', off.kids, off.wallS));
    }
  } finally {
    await daemon.stop();
  }
  for (const n of ['lib', 'cli', 'wan']) if (results[n] && !sharesOk(n)) missed.push(`hosts (${n}): a host got ${results[n].min_share} of its fair share of claims`);
  tables.push(
    table(`7. ${C.hosts} hosts (clones) claiming and completing through one git daemon on 127.0.0.1 for ${C.seconds} s; exclusive ops = claims + completes`, ['run', 'ops/s', 'claim p50 / p99', 'min host share (claims per host)', 'failed calls', 'pushes', 'verified'], rows) +
      `\n(share: a host's claims over the mean; pushes: post-update hook runs on the remote, fewer than ops = group commit; ${os.cpus().length} cores)`,
  );
  return { tables, results, missed };
}

// ------------------------------------------------------------ one host (child process)

async function child(repo, host, agents, startAt, durationMs) {
  const orc = await open({ repo, agent: `${host}-a1` });
  const acc = { host, claims: [], claimMs: [], ops: 0, failed: 0, errors: [], end: 0 };
  await sleep(Math.max(0, startAt - Date.now()));
  const stopAt = startAt + durationMs;
  await Promise.all(
    Array.from({ length: agents }, async (_, k) => {
      const agent = `${host}-a${k + 1}`;
      const me = orc.as(agent);
      while (Date.now() < stopAt) {
        const t = Date.now();
        let task;
        try {
          task = await me.getNextTask('W', agent);
        } catch (e) {
          acc.failed++;
          acc.errors.push(`${e.code}: ${e.message}`);
          continue;
        }
        if (!task) break;
        acc.claimMs.push(Date.now() - t);
        acc.claims.push(task.id);
        acc.ops++;
        try {
          await me.completeTask('W', task.id, 'ok', { agent });
          acc.ops++;
        } catch (e) {
          acc.failed++;
          acc.errors.push(`${e.code}: ${e.message}`);
        }
      }
    }),
  );
  acc.end = Date.now();
  acc.stats = orc.stats;
  process.stdout.write(`${JSON.stringify(acc)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'child') {
    await child(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6]), Number(process.argv[7]));
  } else {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-hosts-'));
    const env = childEnv();
    try {
      const r = await hostsBench({ tmp, env, cli: path.join(HERE, '..', 'dist', 'cli', 'bin.cjs'), progress: (m) => process.stderr.write(`${m}\n`) });
      console.log(r.tables.join('\n\n'));
      console.log(JSON.stringify(r.results, null, 1));
      if (r.missed.length) console.log('MISSED:\n' + r.missed.join('\n'));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}
