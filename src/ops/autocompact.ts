/**
 * Automatic compaction: the policy (git config over orc.json settings over
 * the default: on, weekly, keep 14 days), the one-at-a-time lock in
 * <git dir>/orc/compact.lock, and the detached `orc compact --auto` an op
 * starts after its commit when the epoch is older than the interval.
 */
import { childProcess, fs, os, path } from '../node.js';
import { fileURLToPath } from 'node:url';
import { DAY_MS, epochOf } from '../model/compact.js';
import { readConfigFile, type StateReader } from '../model/state.js';
import { isTrue, last, loadConfig } from '../store/config.js';
import { processAlive } from '../store/process.js';
import type { GitStore } from '../store/gitstore.js';
import type { RepoPaths } from '../store/repo.js';

export const DEFAULT_KEEP_DAYS = 14;
export const DEFAULT_COMPACT_INTERVAL_MS = 7 * DAY_MS;
/**
 * An epoch with more commits than this is compacted before its week is out,
 * so that what a clone fetches stays bounded however busy the team is
 * (measured ~0.6-1 KB a commit packed: 5,000 commits is 3-5 MB).
 */
export const DEFAULT_COMPACT_MAX_COMMITS = 5_000;

export interface CompactPolicy {
  enabled: boolean;
  intervalMs: number;
  keepDays: number;
  /** Compact when the epoch has more commits than this (0: by age only). */
  maxCommits: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const numStr = (v: string | undefined) => (v === undefined || v.trim() === '' || !Number.isFinite(Number(v)) || Number(v) < 0 ? undefined : Number(v));

/**
 * git config (orc.compaction, orc.compactInterval in ms, orc.compactKeepDays)
 * over orc.json settings (compaction, compact_interval_ms, compact_keep_days)
 * over the default: on, weekly, keep 14 days.
 */
export function compactPolicy(repo: RepoPaths, settings: () => object | null | undefined, cached = false): CompactPolicy {
  const g = gitPolicy(repo, cached);
  const s = (settings() ?? {}) as { compaction?: unknown; compact_interval_ms?: unknown; compact_keep_days?: unknown; compact_max_commits?: unknown };
  return {
    enabled: g.enabled ?? s.compaction !== false,
    intervalMs: g.intervalMs ?? num(s.compact_interval_ms) ?? DEFAULT_COMPACT_INTERVAL_MS,
    keepDays: g.keepDays ?? num(s.compact_keep_days) ?? DEFAULT_KEEP_DAYS,
    maxCommits: g.maxCommits ?? num(s.compact_max_commits) ?? DEFAULT_COMPACT_MAX_COMMITS,
  };
}

const cfgCache = new Map<string, { at: number; enabled?: boolean; intervalMs?: number; keepDays?: number; maxCommits?: number }>();

/** The git config part; after an op (`cached`) read at most every few seconds, as the packing policy is. */
function gitPolicy(repo: RepoPaths, cached: boolean): { enabled?: boolean; intervalMs?: number; keepDays?: number; maxCommits?: number } {
  const hit = cfgCache.get(repo.commonDir);
  if (cached && hit && Date.now() - hit.at < 10_000) return hit;
  const cfg = loadConfig(repo);
  const g = last(cfg, 'orc.compaction');
  const out = { at: Date.now(), enabled: g === undefined ? undefined : isTrue(g), intervalMs: numStr(last(cfg, 'orc.compactinterval')), keepDays: numStr(last(cfg, 'orc.compactkeepdays')), maxCommits: numStr(last(cfg, 'orc.compactmaxcommits')) };
  cfgCache.set(repo.commonDir, out);
  return out;
}

/** When the current epoch started: the last compaction, or the branch's creation. */
export function epochStart(snap: StateReader): { n: number; started_at: string | null } {
  const cfg = readConfigFile(snap);
  const e = epochOf(snap);
  return { n: e?.n ?? 0, started_at: e?.started_at ?? cfg?.created_at ?? null };
}

/** Due when the epoch is older than the interval, or has more commits than maxCommits (the epoch's history is the branch's: its root has no parent). */
export function compactDue(store: GitStore, now: Date): boolean {
  const tip = store.tip();
  if (!tip) return false;
  const snap = store.snapshot(tip);
  const p = compactPolicy(store.paths, () => readConfigFile(snap)?.settings);
  if (!p.enabled) return false;
  const { started_at } = epochStart(snap);
  const t = started_at ? Date.parse(started_at) : NaN;
  if (Number.isFinite(t) && now.getTime() - t >= p.intervalMs) return true;
  return p.maxCommits > 0 && epochCommits(store, tip, p.maxCommits) > p.maxCommits;
}

/** Commits on `tip`'s first-parent line, counted up to `max` + 1 (in-process: no git start). */
export function epochCommits(store: GitStore, tip: string, max: number): number {
  let n = 0;
  for (let at: string | undefined = tip; at && n <= max; n++) at = store.readCommit(at).parents[0];
  return n;
}

/**
 * How often an op looks at the epoch's length: about 64 times per maxCommits
 * ops, by chance, so a busy branch is compacted soon after it passes the
 * mark while an op almost never pays for the look (one detached process).
 */
const sizeCheckChance = (maxCommits: number) => (maxCommits > 0 ? Math.min(1, 64 / maxCommits) : 0);

const LOCK_MAX_AGE_MS = 30 * 60_000;

export const compactLockPath = (commonDir: string) => path.join(commonDir, 'orc', 'compact.lock');


function lockHeld(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (Date.now() - st.mtimeMs > LOCK_MAX_AGE_MS) return false;
    const m = /^(\d+) (\S+)/.exec(fs.readFileSync(file, 'utf8'));
    if (!m) return Date.now() - st.mtimeMs < 10_000;
    return m[2] !== os.hostname() || processAlive(Number(m[1]));
  } catch {
    return false;
  }
}

/** Takes the compaction lock (or finds it already naming this process); returns its release, or null if another holds it. */
export function takeCompactLock(commonDir: string, pid = process.pid): (() => void) | null {
  const file = compactLockPath(commonDir);
  const mine = `${pid} ${os.hostname()}\n`;
  const release = () => {
    try {
      if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
    } catch {
      /* gone */
    }
  };
  try {
    if (fs.readFileSync(file, 'utf8') === mine) return release;
  } catch {
    /* none */
  }
  for (let i = 0; i < 2; i++) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || lockHeld(file)) return null;
      fs.rmSync(file, { force: true });
    }
  }
  return null;
}

function orcBin(): string {
  return fileURLToPath(new URL('../cli/bin.cjs', import.meta.url));
}

const lastStart = new Map<string, number>();

/**
 * After an op's commit: when the epoch is older than the interval, starts a
 * detached `orc compact --auto` (one at a time, by the lock) and returns at
 * once. Never throws and never blocks the op. Returns the child's pid.
 */
export function maybeCompact(store: GitStore, commit: string, now: Date): number | null {
  try {
    if (process.env.ORC_NO_AUTO_COMPACT === '1') return null;
    const snap = store.snapshot(commit);
    const p = compactPolicy(store.paths, () => readConfigFile(snap)?.settings, true);
    if (!p.enabled) return null;
    const { started_at } = epochStart(snap);
    const t = started_at ? Date.parse(started_at) : NaN;
    const old = Number.isFinite(t) && now.getTime() - t >= p.intervalMs;
    // Not old: now and then the detached child counts the epoch's commits (compactDue) and compacts a long one.
    if (!old && !(Math.random() < sizeCheckChance(p.maxCommits))) return null;
    const file = compactLockPath(store.paths.commonDir);
    // At most one start a minute from one process (a long-running server, a bench with an injected clock).
    const tried = lastStart.get(store.paths.commonDir);
    if (tried !== undefined && Date.now() - tried < 60_000) return null;
    if (lockHeld(file)) return null;
    lastStart.set(store.paths.commonDir, Date.now());
    const bin = orcBin();
    if (!fs.existsSync(bin)) return null;
    const release = takeCompactLock(store.paths.commonDir);
    if (!release) return null;
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', ORC_NO_AUTO_COMPACT: '1' };
    delete env.GIT_INDEX_FILE;
    delete env.GIT_DIR;
    delete env.GIT_WORK_TREE;
    const where = store.paths.workTree ?? store.paths.gitDir;
    let child: import('node:child_process').ChildProcess;
    try {
      child = childProcess().spawn(process.execPath, [bin, 'compact', '--auto', '--repo', where], { cwd: where, detached: true, stdio: 'ignore', env });
    } catch {
      release();
      return null;
    }
    if (!child.pid) {
      release();
      return null;
    }
    // The lock now names the child, which finds it its own and releases it when done.
    fs.writeFileSync(file, `${child.pid} ${os.hostname()}\n`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } catch {
    return null;
  }
}

