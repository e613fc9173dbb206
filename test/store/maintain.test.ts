/**
 * orc keeps its own objects packed: past a threshold of loose objects an op
 * starts `git repack` detached; it never blocks the op, never races a
 * `git gc` into losing anything, and a repack killed with SIGKILL loses
 * nothing that an op reported.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcAsync, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { DEFAULT_PACK_THRESHOLD, estimateLoose, packPolicy, storageInfo } from '../../src/store/maintain.js';
import { discoverRepo } from '../../src/store/repo.js';

afterAll(cleanup);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function loose(repo: string): number {
  return Number(/^count: (\d+)$/m.exec(git(repo, 'count-objects', '-v'))![1]);
}

function lockPid(repo: string): number | null {
  try {
    const m = /^(\d+) /.exec(fs.readFileSync(path.join(repo, '.git', 'orc', 'pack.lock'), 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until no repack started by orc still runs. */
async function packingDone(repo: string, maxMs = 60_000): Promise<void> {
  const until = Date.now() + maxMs;
  for (;;) {
    const pid = lockPid(repo);
    if (pid === null || !alive(pid)) return;
    if (Date.now() > until) throw new Error(`repack ${pid} still running after ${maxMs} ms`);
    await sleep(50);
  }
}

function taskCount(repo: string, ws: string): number {
  return orcJson<unknown[]>(repo, ['t', 'list', ws]).length;
}

function fsckClean(repo: string): void {
  // Throws on any error; --connectivity-only would miss a broken object, so check fully.
  const out = git(repo, 'fsck', '--full', '--no-dangling', '--no-progress');
  expect(out).toBe('');
}

/** A `git` first on PATH that runs the real one, slowly (after `delayS`) for `repack`. */
function slowGitPath(delayS: number): string {
  const dir = tmpDir('orc-slowgit-');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = repack ] && sleep ${delayS}; done\nexec ${realGit} "$@"\n`, { mode: 0o755 });
  return `${dir}:${process.env.PATH}`;
}

describe('orc packs its own loose objects', () => {
  it('estimates loose objects from a sample, as gc --auto does', () => {
    const repo = tmpRepo();
    orc(repo, ['ws', 'create', 'w'], { env: { ORC_AGENT: 'a' } });
    git(repo, 'config', 'orc.packing', 'false');
    for (let i = 0; i < 8; i++) orc(repo, ['t', 'add', 'w', `t${i}`]);
    const exact = storageInfo(path.join(repo, '.git', 'objects')).loose_objects;
    expect(exact).toBe(loose(repo));
    // Sampling every directory is exact.
    expect(estimateLoose(path.join(repo, '.git', 'objects'), 1)).toBe(exact);
  });

  it('counts loose objects exactly through its per-folder cache: objects added or removed at once, or later, are seen', async () => {
    const objects = tmpDir('orc-objects-');
    const dir = path.join(objects, 'ab');
    fs.mkdirSync(dir);
    const put = (n: number) => fs.writeFileSync(path.join(dir, `${String(n % 10).repeat(38)}`), '');
    put(1);
    expect(storageInfo(objects).loose_objects).toBe(1);
    // Within the folder's timestamp tick: not kept, so the next object is seen.
    put(2);
    expect(storageInfo(objects).loose_objects).toBe(2);
    await sleep(120);
    expect(storageInfo(objects).loose_objects).toBe(2); // kept now
    put(3);
    expect(storageInfo(objects).loose_objects).toBe(3);
    await sleep(120);
    expect(storageInfo(objects).loose_objects).toBe(3);
    fs.rmSync(path.join(dir, '2'.repeat(38)));
    expect(storageInfo(objects).loose_objects).toBe(2);
    // A folder replaced by another of the same name (prune-packed removes empty ones; new objects make it again).
    await sleep(120);
    expect(storageInfo(objects).loose_objects).toBe(2);
    fs.rmSync(dir, { recursive: true });
    expect(storageInfo(objects).loose_objects).toBe(0);
    fs.mkdirSync(dir);
    put(4);
    expect(storageInfo(objects).loose_objects).toBe(1);
  });

  it('estimates right after a repack was killed while pruning: loose objects left only in the later fan-out folders', () => {
    // `git prune-packed` empties 00, 01, … in order; killed half way, 00-7f are empty and 80-ff full.
    const objects = tmpDir('orc-objects-');
    let made = 0;
    for (let d = 0x80; d < 0x100; d++) {
      const dir = path.join(objects, d.toString(16));
      fs.mkdirSync(dir);
      for (let j = 0; j < 4; j++, made++) fs.writeFileSync(path.join(dir, `${String(j).repeat(38)}`), '');
    }
    expect(made).toBe(512);
    // The threshold's sample (82 folders at 100) is spread over the fan-out, so it sees them.
    for (const threshold of [100, 300, 2000]) {
      const est = estimateLoose(objects, threshold);
      expect(est, `threshold ${threshold}`).toBeGreaterThan(made * 0.7);
      expect(est, `threshold ${threshold}`).toBeLessThan(made * 1.3);
    }
  });

  it('the policy: git config over orc.json settings over the default (on, 2000)', () => {
    const a = tmpRepo();
    expect(packPolicy(discoverRepo(a, testEnv()), null)).toEqual({ enabled: true, threshold: DEFAULT_PACK_THRESHOLD });
    const b = tmpRepo();
    expect(packPolicy(discoverRepo(b, testEnv()), { packing: false, pack_threshold: 300 })).toEqual({ enabled: false, threshold: 300 });
    const c = tmpRepo();
    git(c, 'config', 'orc.packing', 'true');
    git(c, 'config', 'orc.packThreshold', '500');
    expect(packPolicy(discoverRepo(c, testEnv()), { packing: false, pack_threshold: 300 })).toEqual({ enabled: true, threshold: 500 });
  });

  it('packs past the threshold: loose objects drop below it, nothing lost', async () => {
    const repo = tmpRepo();
    git(repo, 'config', 'orc.packThreshold', '200');
    orc(repo, ['ws', 'create', 'w']);
    for (let i = 0; i < 40; i++) expect(orc(repo, ['t', 'add', 'w', `task ${i}`]).code).toBe(0);
    await packingDone(repo);
    // The last ops may have added objects after the last repack, and an op judges the count from a
    // sample of folders (as gc --auto does), which can read a little under it: a few more ops past
    // the threshold pack again (bounded).
    for (let i = 0; i < 40 && loose(repo) >= 200; i++) {
      orc(repo, ['t', 'add', 'w', `one more ${i}`]);
      await packingDone(repo);
    }
    expect(loose(repo)).toBeLessThan(200);
    expect(Number(git(repo, 'count-objects', '-v').match(/^packs: (\d+)$/m)![1])).toBeGreaterThan(0);
    expect(taskCount(repo, 'w')).toBeGreaterThanOrEqual(40);
    fsckClean(repo);
    const st = orcJson<{ summary: { storage: { loose_objects: number; packs: number; pack_bytes: number } } }>(repo, ['status']);
    expect(st.summary.storage.loose_objects).toBe(loose(repo));
    expect(st.summary.storage.packs).toBeGreaterThan(0);
    expect(st.summary.storage.pack_bytes).toBeGreaterThan(0);
    expect(orc(repo, ['status']).stdout).toMatch(/^storage: \d+ loose objects? · \d+ packs? /m);
  });

  it('does not pack with packing off', async () => {
    const repo = tmpRepo();
    git(repo, 'config', 'orc.packThreshold', '100');
    git(repo, 'config', 'orc.packing', 'false');
    orc(repo, ['ws', 'create', 'w']);
    for (let i = 0; i < 20; i++) orc(repo, ['t', 'add', 'w', `task ${i}`]);
    expect(lockPid(repo)).toBeNull();
    expect(loose(repo)).toBeGreaterThan(100);
  });

  it('the op that notices returns while the repack still runs (detached)', async () => {
    const repo = tmpRepo();
    orc(repo, ['ws', 'create', 'w']);
    git(repo, 'config', 'orc.packing', 'false');
    for (let i = 0; i < 20; i++) orc(repo, ['t', 'add', 'w', `task ${i}`]);
    git(repo, 'config', 'orc.packing', 'true');
    git(repo, 'config', 'orc.packThreshold', '100');
    // A repack that sleeps 3 s first: the op must exit without waiting for it.
    const r = orc(repo, ['t', 'add', 'w', 'trigger'], { env: { PATH: slowGitPath(3) } });
    expect(r.code).toBe(0);
    const pid = lockPid(repo);
    expect(pid).not.toBeNull();
    expect(alive(pid!)).toBe(true);
    // While it runs, another op does not start a second one.
    expect(orc(repo, ['t', 'add', 'w', 'second'], { env: { PATH: slowGitPath(3) } }).code).toBe(0);
    expect(lockPid(repo)).toBe(pid);
    await packingDone(repo);
    expect(loose(repo)).toBeLessThan(100);
    fsckClean(repo);
  });

  it('packing beside a `git gc` loop and 4 orc processes: nothing lost, fsck clean', async () => {
    const repo = tmpRepo();
    git(repo, 'config', 'orc.packThreshold', '100');
    orc(repo, ['ws', 'create', 'w']);
    let writing = true;
    let gcs = 0;
    // The repacks orc started, seen through its pack lock.
    const repacks = new Set<number>();
    const gcLoop = (async () => {
      // Bounded: at most 40 gcs, and only while the writers write. orc starts
      // no repack while a gc runs, so between two gcs the loop gives orc up to
      // 1.5 s to start one: the next gc then runs beside it or just after it.
      while (writing && gcs < 40) {
        await new Promise<void>((res) => {
          const p = spawn('git', ['gc', '--quiet'], { cwd: repo, env: testEnv(), stdio: 'ignore' });
          p.on('exit', () => res());
          p.on('error', () => res());
        });
        gcs++;
        const before = lockPid(repo);
        for (let i = 0; i < 30 && writing; i++) {
          const pid = lockPid(repo);
          if (pid !== null && pid !== before) {
            repacks.add(pid);
            break;
          }
          await sleep(50);
        }
      }
    })();
    const per = 12;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      let ok = 0;
      for (let i = 0; i < per; i++) {
        const r = await orcAsync(repo, ['t', 'add', 'w', `w${w} task ${i}`]);
        const pid = lockPid(repo);
        if (pid !== null) repacks.add(pid);
        if (r.code === 0) ok++;
        else throw new Error(r.stderr);
      }
      return ok;
    });
    let done = 0;
    try {
      done = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
    } finally {
      writing = false;
      await gcLoop;
    }
    await packingDone(repo);
    expect(gcs).toBeGreaterThan(0);
    expect(repacks.size).toBeGreaterThan(0);
    expect(done).toBe(4 * per);
    expect(taskCount(repo, 'w')).toBe(4 * per);
    // One more op after the gcs: packs what is left past the threshold, then all is whole.
    orc(repo, ['t', 'add', 'w', 'last']);
    await packingDone(repo);
    expect(taskCount(repo, 'w')).toBe(4 * per + 1);
    fsckClean(repo);
  }, 120_000);

  it('a repack killed with SIGKILL at any point loses nothing', async () => {
    const repo = tmpRepo();
    orc(repo, ['ws', 'create', 'w']);
    git(repo, 'config', 'orc.packThreshold', '100');
    let ops = 0;
    let kills = 0;
    for (const delay of [0, 10, 40, 100]) {
      git(repo, 'config', 'orc.packing', 'false');
      for (let i = 0; i < 11; i++) {
        expect(orc(repo, ['t', 'add', 'w', `d${delay} t${i}`]).code).toBe(0);
        ops++;
      }
      git(repo, 'config', 'orc.packing', 'true');
      const tipBefore = git(repo, 'rev-parse', 'refs/heads/orc');
      expect(orc(repo, ['t', 'add', 'w', `d${delay} trigger`]).code).toBe(0);
      ops++;
      const pid = lockPid(repo);
      if (pid !== null && alive(pid)) {
        await sleep(delay);
        try {
          // Its own process group (detached): the repack and the pack-objects it runs.
          process.kill(-pid, 'SIGKILL');
          kills++;
        } catch {
          // Already done.
        }
      }
      await packingDone(repo);
      expect(git(repo, 'merge-base', '--is-ancestor', tipBefore, 'refs/heads/orc')).toBe('');
      expect(taskCount(repo, 'w')).toBe(ops);
      fsckClean(repo);
    }
    expect(kills).toBeGreaterThan(0);
    // A later packing finishes the job. The threshold is judged from a sample of fan-out folders
    // (as git gc --auto does), so the op that notices may come a few ops later: at most 10.
    for (let i = 0; i < 10 && loose(repo) >= 100; i++) {
      expect(orc(repo, ['t', 'add', 'w', `after ${i}`]).code).toBe(0);
      ops++;
      await packingDone(repo);
    }
    expect(loose(repo)).toBeLessThan(100);
    expect(taskCount(repo, 'w')).toBe(ops);
    fsckClean(repo);
  }, 120_000);
});
