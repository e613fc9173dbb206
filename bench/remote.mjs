// orc benchmark, across hosts: a bare repo served by a real `git daemon` on
// 127.0.0.1 (git://, receive-pack on) as the remote, clones of it as hosts.
//
//   6a. one `orc t claim` through the remote, whole process, against a local
//       `orc t claim` (no remote) in the same run, interleaved
//   6b. 4 hosts racing for 80 tasks: 4 processes, each its own clone, each a
//       `getNextTask` loop through the library (orc.stats.retries counts the
//       pushes the remote rejected); and the same race as loops of
//       `orc t next` processes, for reference
//
// Called by run.mjs; `node bench/remote.mjs child ...` is one racing host.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../dist/index.js';
import { git, makeRepo, max, median, ms, nowMs, pct, ratio, round, run, table } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const REMOTE_CFG = { claimWarmup: 3, claimRuns: 21, fetchRuns: 15, hosts: 4, raceTasks: 80 };

const sleep = (ms_) => new Promise((r) => setTimeout(r, ms_));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** `git daemon` on 127.0.0.1 in its own process group; stop() kills the group. */
export async function startDaemon(base, env) {
  const port = await freePort();
  const args = ['daemon', '--reuseaddr', `--base-path=${base}`, '--export-all', '--enable=receive-pack', '--listen=127.0.0.1', `--port=${port}`, '--informative-errors', base];
  const child = spawn('git', args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', kill);
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      kill();
      throw new Error(`git daemon did not start on ${port}: ${log}`);
    }
    await sleep(20);
  }
  return {
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    stop: async () => {
      const gone = child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
      kill();
      await gone;
      process.off('exit', kill);
    },
  };
}

/** A bare repo `name` under `base`. */
export function bare(base, name) {
  const dir = path.join(base, name);
  git(base, 'init', '-q', '--bare', '-b', 'main', dir);
  return dir;
}

/** A repo with workstream W and `ids` as tasks, made with the library (no remote yet). */
export async function withTasks(dir, ids) {
  const o = await open({ repo: dir });
  await o.createWorkstream('W', 'remote benchmark');
  for (const id of ids) await o.addTask('W', `task ${id}`, undefined, undefined, { id });
}

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/**
 * Runs the across-hosts benchmark in `tmp`. Returns text tables, raw results,
 * and any verification failures.
 */
export async function remoteBench({ tmp, env, cli, node = process.execPath, progress = () => {} }) {
  const C = REMOTE_CFG;
  const results = { config: C };
  const tables = [];
  const missed = [];
  const base = path.join(tmp, 'remote-base');
  fs.mkdirSync(base, { recursive: true });
  const daemon = await startDaemon(base, env);
  results.transport = `git daemon on 127.0.0.1:${daemon.port} (git://)`;
  const orcRun = (cwd, args) => {
    const t = nowMs();
    const r = spawnSync(node, [cli, ...args], { cwd, env, encoding: 'utf8' });
    const d = nowMs() - t;
    if (r.status !== 0) throw new Error(`orc ${args.join(' ')} in ${cwd} exited ${r.status}: ${r.stderr}`);
    return d;
  };
  /** A host: a fresh repo with origin = url, made a host by `orc init --remote origin`. */
  const host = (name, url) => {
    const dir = makeRepo(tmp, name);
    git(dir, 'remote', 'add', 'origin', url);
    orcRun(dir, ['init', '--remote', 'origin']);
    return dir;
  };
  const seed = async (name, bareName, taskIds) => {
    bare(base, bareName);
    const dir = makeRepo(tmp, name);
    await withTasks(dir, taskIds);
    git(dir, 'remote', 'add', 'origin', daemon.url(bareName));
    orcRun(dir, ['init', '--remote', 'origin']);
    return dir;
  };

  try {
    // ------------------------------------------------------------ 6a. one claim
    progress(`remote: one orc t claim through git:// vs local, ${C.claimRuns} runs each, interleaved`);
    const n = C.claimWarmup + C.claimRuns;
    const claimIds = ids('c', n);
    await seed('claim-seed', 'claim.git', claimIds);
    const remoteHost = host('claim-host', daemon.url('claim.git'));
    const local = makeRepo(tmp, 'claim-local');
    await withTasks(local, claimIds);
    const samples = { local: [], remote: [], fetch: [] };
    for (let i = 0; i < n; i++) {
      const pair = [
        ['local', local],
        ['remote', remoteHost],
      ];
      if (i % 2) pair.reverse(); // neither always runs first
      for (const [k, dir] of pair) {
        const d = orcRun(dir, ['t', 'claim', 'W', claimIds[i], 'bench-agent']);
        if (i >= C.claimWarmup) samples[k].push(d);
      }
    }
    for (let i = 0; i < C.fetchRuns; i++) {
      const t = nowMs();
      git(remoteHost, 'fetch', '--quiet', 'origin', '+refs/heads/orc:refs/remotes/origin/orc');
      samples.fetch.push(nowMs() - t);
    }
    // Verify: every remote claim is on the remote's branch.
    const claimSubjects = git(path.join(base, 'claim.git'), 'log', '--format=%s', 'orc')
      .split('\n')
      .filter((s) => s.startsWith('claim W/'));
    const claimOk = claimSubjects.length === n;
    if (!claimOk) missed.push(`remote claim: ${claimSubjects.length} claim commits on the remote, expected ${n}`);
    const mL = median(samples.local);
    const mR = median(samples.remote);
    results.claim = {
      local_ms: samples.local.map((x) => round(x, 3)),
      remote_ms: samples.remote.map((x) => round(x, 3)),
      git_fetch_noop_ms: samples.fetch.map((x) => round(x, 3)),
      local_median_ms: round(mL, 3),
      remote_median_ms: round(mR, 3),
      ratio: round(mR / mL, 3),
      extra_ms: round(mR - mL, 3),
      verified_on_remote: claimOk,
    };
    tables.push(
      table(`6a. One claim across hosts: whole \`orc t claim\` process, remote = bare repo via git daemon on 127.0.0.1 (${C.claimRuns} runs each after ${C.claimWarmup} warm-up, interleaved)`, ['measurement', 'runs', 'median', 'p90', 'max', 'vs local'], [
        ['orc t claim, local branch (no remote)', samples.local.length, ms(mL), ms(pct(samples.local, 90)), ms(max(samples.local)), '1.00x'],
        ['orc t claim through the remote (decide on the tip last seen or fetched, push --force-with-lease)', samples.remote.length, ms(mR), ms(pct(samples.remote, 90)), ms(max(samples.remote)), ratio(mR / mL)],
        ['git fetch of the branch alone (no-op, reference)', samples.fetch.length, ms(median(samples.fetch)), ms(pct(samples.fetch, 90)), ms(max(samples.fetch)), ''],
      ]) + `\n(the remote claim costs ${ms(mR - mL)} more than the local one; every one of the ${n} remote claims verified on the remote's branch: ${claimOk ? 'yes' : 'NO'})`,
    );

    // ------------------------------------------------------------ 6b. 4 hosts racing
    const raceRow = async (label, bareName, hostLoop) => {
      progress(`remote: ${C.hosts} hosts racing for ${C.raceTasks} tasks (${label})`);
      const taskIds = ids('r', C.raceTasks);
      await seed(`${bareName}-seed`, bareName, taskIds);
      const hosts = Array.from({ length: C.hosts }, (_, i) => host(`${bareName}-host-${i + 1}`, daemon.url(bareName)));
      const t = nowMs();
      const kids = await Promise.all(hosts.map((dir, i) => hostLoop(dir, `host-${i + 1}`)));
      const wallS = (nowMs() - t) / 1000;
      // Verify from a host that joins afterwards, and on the remote itself.
      const fresh = host(`${bareName}-late`, daemon.url(bareName));
      const r = spawnSync(node, [cli, 't', 'list', 'W', '--json'], { cwd: fresh, env, encoding: 'utf8' });
      const final = JSON.parse(r.stdout);
      const claimed = kids.flatMap((k) => k.claimed.map((id) => [id, k.agent]));
      const owner = new Map(claimed);
      const remoteClaims = git(path.join(base, bareName), 'log', '--format=%s', 'orc')
        .split('\n')
        .filter((s) => s.startsWith('claim W/')).length;
      const merges = Number(git(path.join(base, bareName), 'rev-list', '--merges', '--count', 'orc'));
      const verified =
        claimed.length === C.raceTasks &&
        owner.size === C.raceTasks &&
        remoteClaims === C.raceTasks &&
        merges === 0 &&
        final.length === C.raceTasks &&
        final.every((x) => x.status === 'in_progress' && owner.get(x.id) === x.assigned_to);
      if (!verified) missed.push(`remote race (${label}): verification failed (claims ${claimed.length}, distinct ${owner.size}, on remote ${remoteClaims}, merges ${merges})`);
      return { wallS, kids, verified, remoteClaims };
    };

    // Library loops in child processes: the retry counter is the engine's.
    let startAt = 0;
    const lib = await raceRow('library getNextTask loops in 4 processes', 'race-lib.git', async (dir, agent) => {
      // Every child loads and opens first, then all start together.
      startAt ||= Date.now() + 1500;
      const r = await run(node, [path.join(HERE, 'remote.mjs'), 'child', dir, agent, String(startAt)], { env });
      if (r.code !== 0) throw new Error(`remote race child ${agent} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    });
    // CLI loops: each host a loop of `orc t next` processes.
    const cliRace = await raceRow('loops of orc t next processes', 'race-cli.git', async (dir, agent) => {
      const claimed = [];
      for (;;) {
        const r = await run(node, [cli, 't', 'next', 'W', agent, '--json'], { cwd: dir, env });
        if (r.code === 1 && r.stdout.trim() === 'null') break;
        if (r.code !== 0) throw new Error(`orc t next in ${dir} exited ${r.code}: ${r.stderr}`);
        claimed.push(JSON.parse(r.stdout).id);
      }
      return { agent, claimed, stats: null };
    });
    const retries = lib.kids.reduce((s, k) => s + k.stats.retries, 0);
    const attempts = lib.kids.reduce((s, k) => s + k.stats.ops, 0);
    const perHost = (x) => x.kids.map((k) => k.claimed.length).join(' / ');
    results.race = {
      hosts: C.hosts,
      tasks: C.raceTasks,
      library: {
        wall_s: round(lib.wallS, 3),
        claims_per_s: round(C.raceTasks / lib.wallS, 2),
        retries,
        retries_per_claim: round(retries / C.raceTasks, 3),
        attempts,
        verified: lib.verified,
        children: lib.kids.map(({ claimed, ...k }) => ({ ...k, claimed: claimed.length })),
      },
      cli: { wall_s: round(cliRace.wallS, 3), claims_per_s: round(C.raceTasks / cliRace.wallS, 2), per_host: cliRace.kids.map((k) => k.claimed.length), verified: cliRace.verified },
    };
    tables.push(
      table(`6b. ${C.hosts} hosts racing for ${C.raceTasks} tasks through one remote (git daemon on 127.0.0.1); each host its own clone and OS process(es)`, ['measure', 'library loops (4 processes)', 'orc t next process loops'], [
        ['wall time', `${lib.wallS.toFixed(2)} s`, `${cliRace.wallS.toFixed(2)} s`],
        ['claims per second (all hosts)', `${(C.raceTasks / lib.wallS).toFixed(1)}`, `${(C.raceTasks / cliRace.wallS).toFixed(1)}`],
        ['retries per claim (pushes rejected by the remote)', `${(retries / C.raceTasks).toFixed(2)} (${retries} in ${attempts} attempts)`, 'not exposed by the CLI'],
        ['claims per host', perHost(lib), perHost(cliRace)],
        ['verified: 80 distinct claims, each on the remote, linear', lib.verified ? 'yes' : 'NO', cliRace.verified ? 'yes' : 'NO'],
      ]),
    );
  } finally {
    await daemon.stop();
  }
  return { tables, results, missed };
}

// ------------------------------------------------------------ one racing host (child process)

async function child(repo, agent, startAt) {
  const orc = await open({ repo, agent });
  const late = Date.now() - startAt;
  if (late < 0) await sleep(-late);
  const start = Date.now();
  const claimed = [];
  for (;;) {
    const t = await orc.getNextTask('W', agent);
    if (!t) break;
    claimed.push(t.id);
  }
  process.stdout.write(`${JSON.stringify({ agent, late_ms: Math.max(0, late), start, end: Date.now(), claimed, stats: orc.stats })}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === 'child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]));
}
