/**
 * The tree of a new epoch (`orc compact`), as a pure function of the old
 * tip's state and the recorded cutoff: done and failed tasks completed before
 * the cutoff move to archive/, event days before the cutoff's day leave the
 * tree (they stay in the archived history), and orc.json records the epoch.
 * The pre-receive hook computes the same to accept exactly a valid compaction.
 */
import { eventDays } from './events.js';
import * as L from './layout.js';
import { corrupt, readConfigFile, type StateReader } from './state.js';
import type { OrcConfigFile, Task } from './types.js';

export interface EpochInfo {
  /** 1 for the first compaction, then one more each time. */
  n: number;
  /** When the compaction was made. */
  started_at: string;
  /** The tip of the history before it (kept under refs/orc/archive/<n>). */
  prev: string;
  /** Tasks completed and event days before this were archived. */
  cutoff: string;
}

/** What a compaction commit records in its Orc-Op trailer's input: enough to recompute its tree. */
export interface CompactInput {
  cutoff: string;
  keep_days: number;
}

export const DAY_MS = 86_400_000;

/** The epoch recorded in orc.json, or null before the first compaction. */
export function epochOf(s: StateReader): EpochInfo | null {
  const cfg = readConfigFile(s) as (OrcConfigFile & { epoch?: unknown }) | null;
  const e = cfg?.epoch as Partial<EpochInfo> | undefined;
  if (!e || typeof e !== 'object') return null;
  if (typeof e.n !== 'number' || typeof e.started_at !== 'string' || typeof e.prev !== 'string' || typeof e.cutoff !== 'string') {
    throw corrupt(s, L.ORC_JSON, 'has an "epoch" that is not {n, started_at, prev, cutoff}');
  }
  return e as EpochInfo;
}

/** The day (yyyy-mm-dd) of the cutoff: event days before it leave the tree. */
export const cutoffDay = (cutoff: string) => new Date(Date.parse(cutoff)).toISOString().slice(0, 10);

function isOld(t: Task, cutoffMs: number): boolean {
  if (t.status !== 'done' && t.status !== 'failed') return false;
  const at = Date.parse(t.completed_at ?? t.updated_at);
  return Number.isFinite(at) && at < cutoffMs;
}

const dirs = (s: StateReader, d: string) => s.list(d).filter((e) => e.dir).map((e) => e.name).sort();

/**
 * The file changes from the state at `s` (the old tip) to the new epoch's
 * tree: path → new bytes, or null for removed. Deterministic in (s, input, at).
 */
export function compactChanges(s: StateReader, input: CompactInput, at: string): Map<string, Buffer | null> {
  if (!s.commit) throw new Error('compactChanges needs a commit');
  const cutoffMs = Date.parse(input.cutoff);
  const changes = new Map<string, Buffer | null>();
  for (const ws of dirs(s, 'workstreams')) {
    const tdir = L.tasksDir(ws);
    for (const shard of dirs(s, tdir)) {
      for (const e of s.list(`${tdir}/${shard}`)) {
        if (e.dir || !e.name.endsWith('.json')) continue;
        const p = `${tdir}/${shard}/${e.name}`;
        const t = s.jsonBlob<Task>(e.oid, p);
        if (!t || typeof t !== 'object' || !isOld(t, cutoffMs)) continue;
        const bytes = s.read(p)!;
        changes.set(p, null);
        changes.set(`archive/${p}`, bytes);
      }
    }
  }
  const day = cutoffDay(input.cutoff);
  // Every layout of day folders (events/<yyyy-mm-dd>, and the earlier events/<yyyy-mm>/<dd> and events/<yyyy>/<mm>/<dd>).
  for (const { day: d, dirs: held } of eventDays(s)) {
    if (d >= day) continue;
    for (const dir of held) for (const e of s.list(dir)) if (!e.dir) changes.set(`${dir}/${e.name}`, null);
  }
  const cfg = readConfigFile(s);
  if (!cfg) throw corrupt(s, L.ORC_JSON, 'is missing');
  const prevEpoch = epochOf(s);
  const epoch: EpochInfo = { n: (prevEpoch?.n ?? 0) + 1, started_at: at, prev: s.commit, cutoff: input.cutoff };
  changes.set(L.ORC_JSON, Buffer.from(`${JSON.stringify({ ...cfg, epoch }, null, 2)}\n`, 'utf8'));
  return changes;
}
