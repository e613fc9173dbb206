import { childProcess, fs, os, path } from '../node.js';
import { isTrue, last, loadConfig } from './config.js';
import { processAlive } from './process.js';
import type { RepoPaths } from './repo.js';

/**
 * orc keeps its own objects packed. Every op writes a dozen loose objects;
 * past a threshold, the op that notices starts `git repack` detached and
 * returns at once. One packing at a time (a lock in <commonDir>/orc/ naming
 * the repack's pid), none while a `git gc` holds gc.pid. A repack writes its
 * pack before it deletes any loose object, so killing it loses nothing.
 */

export const DEFAULT_PACK_THRESHOLD = 2000;
/** A pack lock older than this is stale whatever its pid says (a pid may be reused). */
const LOCK_MAX_AGE_MS = 60 * 60_000;
/** git's own rule for gc.pid: older than this, the gc that wrote it is gone. */
const GC_PID_MAX_AGE_MS = 12 * 3600_000;

export interface PackPolicy {
  enabled: boolean;
  threshold: number;
}

export interface StorageInfo {
  loose_objects: number;
  packs: number;
  pack_bytes: number;
}

/** Settings as read from orc.json: `packing` (boolean) and `pack_threshold` (objects); loosely typed, it is user input. */
export type PackSettings = object | null | undefined;

const cfgCache = new Map<string, { at: number; enabled?: boolean; threshold?: number }>();

function fromGitConfig(repo: RepoPaths): { enabled?: boolean; threshold?: number } {
  const hit = cfgCache.get(repo.commonDir);
  // A long-running server sees a changed git config within seconds.
  if (hit && Date.now() - hit.at < 10_000) return hit;
  const cfg = loadConfig(repo);
  const p = last(cfg, 'orc.packing');
  const t = Number(last(cfg, 'orc.packthreshold'));
  const out = { at: Date.now(), enabled: p === undefined ? undefined : isTrue(p), threshold: Number.isInteger(t) && t > 0 ? t : undefined };
  cfgCache.set(repo.commonDir, out);
  return out;
}

/**
 * The policy: git config (orc.packing, orc.packThreshold) over orc.json
 * settings (packing, pack_threshold) over the default. `settings` is asked
 * only when git config does not decide both.
 */
export function packPolicy(repo: RepoPaths, settings: PackSettings | (() => PackSettings)): PackPolicy {
  const g = fromGitConfig(repo);
  if (g.enabled === false) return { enabled: false, threshold: g.threshold ?? DEFAULT_PACK_THRESHOLD };
  if (g.enabled !== undefined && g.threshold !== undefined) return { enabled: g.enabled, threshold: g.threshold };
  const s = ((typeof settings === 'function' ? settings() : settings) ?? {}) as { packing?: unknown; pack_threshold?: unknown };
  const sThreshold = typeof s.pack_threshold === 'number' && Number.isInteger(s.pack_threshold) && s.pack_threshold > 0 ? s.pack_threshold : undefined;
  return {
    enabled: g.enabled ?? s.packing !== false,
    threshold: g.threshold ?? sThreshold ?? DEFAULT_PACK_THRESHOLD,
  };
}

const HEX2 = /^[0-9a-f]{2}$/;
const LOOSE = /^[0-9a-f]{38}$/;

/**
 * Loose-object counts of fan-out folders, kept while the folder's change and
 * modify times and inode stay what they were: a stat instead of a listing
 * (storageInfo lists 256 folders; 1 ms of stats against 4.5 ms of listings).
 * As git's index does against "racy" timestamps, a count is kept only when
 * the folder was last changed well before it was listed (FRESH_MS), so a
 * change within the same timestamp tick as the listing cannot hide behind an
 * unchanged time.
 */
const dirCounts = new Map<string, { ino: bigint; mtime: bigint; ctime: bigint; n: number }>();
const FRESH_MS = 50n;

function countDirCached(dir: string): number {
  const st = fs.statSync(dir, { bigint: true, throwIfNoEntry: false });
  if (!st) {
    dirCounts.delete(dir);
    return 0;
  }
  const known = dirCounts.get(dir);
  if (known && known.ino === st.ino && known.mtime === st.mtimeNs && known.ctime === st.ctimeNs) return known.n;
  const n = countDir(dir);
  const now = BigInt(Date.now()) * 1_000_000n;
  if (now - st.mtimeNs > FRESH_MS * 1_000_000n && now - st.ctimeNs > FRESH_MS * 1_000_000n) dirCounts.set(dir, { ino: st.ino, mtime: st.mtimeNs, ctime: st.ctimeNs, n });
  else dirCounts.delete(dir);
  return n;
}

function countDir(dir: string): number {
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) if (LOOSE.test(f)) n++;
  } catch {
    // No such fan-out directory: no objects in it.
  }
  return n;
}

/**
 * Estimates the loose objects as git's gc --auto does, from a sample of
 * fan-out directories, sized so that the sample holds some 32 objects at the
 * threshold: a few readdirs per op. The sample is spread over the whole
 * fan-out (every 256/k-th folder from 17), not k folders in a row:
 * `git prune-packed` empties the folders in order, so a repack killed while
 * it pruned leaves loose objects only in the later folders, and a sample of
 * neighbours read ~0 there until new objects alone passed the threshold.
 */
export function estimateLoose(objectsDir: string, threshold: number): number {
  const k = Math.max(1, Math.min(256, Math.ceil((256 * 32) / threshold)));
  let n = 0;
  for (let i = 0; i < k; i++) n += countDir(path.join(objectsDir, ((0x17 + Math.floor((i * 256) / k)) % 256).toString(16).padStart(2, '0')));
  return Math.round((n * 256) / k);
}

/** The repository's object storage, read from objects/ in place (what `git count-objects -v` says, without running git). */
export function storageInfo(objectsDir: string): StorageInfo {
  let loose = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(objectsDir);
  } catch {
    names = [];
  }
  for (const d of names) if (HEX2.test(d)) loose += countDirCached(path.join(objectsDir, d));
  let packs = 0;
  let bytes = 0;
  const packDir = path.join(objectsDir, 'pack');
  let files: string[] = [];
  try {
    files = fs.readdirSync(packDir);
  } catch {
    files = [];
  }
  for (const f of files) {
    if (!f.endsWith('.pack') || f.startsWith('.tmp')) continue;
    try {
      bytes += fs.statSync(path.join(packDir, f)).size;
      packs++;
    } catch {
      // Removed by a repack since the listing.
    }
  }
  return { loose_objects: loose, packs, pack_bytes: bytes };
}


/** True while a `git gc` is running, judged as git judges its gc.pid. */
export function gcRunning(commonDir: string, now = Date.now()): boolean {
  const f = readPidFile(path.join(commonDir, 'gc.pid'));
  if (!f || now - f.mtime > GC_PID_MAX_AGE_MS) return false;
  if (!f.pid) return true;
  return f.host !== os.hostname() || processAlive(f.pid);
}

/** A lock file holding "<pid> <host>" (as git's gc.pid): its time, and its pid and host when readable. */
function readPidFile(file: string): { mtime: number; pid: number | null; host: string | null } | null {
  try {
    const mtime = fs.statSync(file).mtimeMs;
    const m = /^(\d+) (\S+)/.exec(fs.readFileSync(file, 'utf8'));
    return { mtime, pid: m ? Number(m[1]) : null, host: m ? m[2]! : null };
  } catch {
    return null;
  }
}

export function packLockPath(commonDir: string): string {
  return path.join(commonDir, 'orc', 'pack.lock');
}

/** True while the pack lock names a repack that still runs. */
function lockHeld(file: string, now: number): boolean {
  const f = readPidFile(file);
  if (!f || now - f.mtime > LOCK_MAX_AGE_MS) return false;
  // Being written right now by the process that took it.
  if (!f.pid) return now - f.mtime < 10_000;
  return f.host !== os.hostname() || processAlive(f.pid);
}

/** Takes the pack lock: true if this process now holds it. A stale lock is replaced. */
function takeLock(file: string): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        continue;
      }
      if (code !== 'EEXIST' || lockHeld(file, Date.now())) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

/** The command that packs: loose objects into a pack, small packs rolled up geometrically (so packs stay few), never the host's big ones. */
export const REPACK_ARGS = ['repack', '-d', '-q', '-l', '--geometric=2', '--no-write-bitmap-index'];

/**
 * Starts `git repack` detached and returns its pid, or null when packing
 * is not due, already running, or a `git gc` runs. Never throws: packing is
 * upkeep, never a reason for an op to fail.
 */
export function startPacking(repo: RepoPaths): number | null {
  try {
    if (gcRunning(repo.commonDir)) return null;
    const lock = packLockPath(repo.commonDir);
    if (!takeLock(lock)) return null;
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    delete env.GIT_INDEX_FILE;
    let child: import('node:child_process').ChildProcess;
    try {
      child = childProcess().spawn('git', ['--git-dir', repo.gitDir, ...REPACK_ARGS], { detached: true, stdio: 'ignore', env });
    } catch {
      fs.rmSync(lock, { force: true });
      return null;
    }
    const mine = `${child.pid} ${os.hostname()}\n`;
    const release = () => {
      // Only our own lock: a stale one may have been replaced since.
      try {
        if (fs.readFileSync(lock, 'utf8') === mine) fs.rmSync(lock, { force: true });
      } catch {
        // Gone already.
      }
    };
    child.on('error', () => fs.rmSync(lock, { force: true }));
    child.on('exit', release);
    child.unref();
    if (!child.pid) return null;
    fs.writeFileSync(lock, mine);
    return child.pid;
  } catch {
    return null;
  }
}

/**
 * After an op's commit: packs when the loose objects are past the threshold.
 * A few readdirs when it is not due. Returns the repack's pid if one started.
 */
export function maybePack(repo: RepoPaths, objectsDir: string, settings: () => PackSettings): number | null {
  try {
    const policy = packPolicy(repo, settings);
    if (!policy.enabled) return null;
    if (estimateLoose(objectsDir, policy.threshold) <= policy.threshold) return null;
    return startPacking(repo);
  } catch {
    return null;
  }
}
