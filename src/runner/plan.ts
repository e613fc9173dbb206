import * as crypto from 'node:crypto';
import { invalid } from '../errors.js';
import { claimable, type Decision, type OpDef } from '../model/ops.js';
import * as S from '../model/state.js';
import type { StateReader } from '../model/state.js';
import type { Lock, TaskCounts } from '../model/types.js';
import { firstOverlap } from './resources.js';
import { loadTemplate, render } from './render.js';

export interface PlannedTask {
  workstream: string;
  task_id: string;
  title: string;
  description: string;
  priority: number;
  workstream_priority: number;
  resources: string[];
  after: string[];
  brief: string;
}

export interface SerialTask extends PlannedTask {
  reason: string;
}

/** The original tool's plan JSON (`generated_at`, `workstreams`, `recommended_parallel`, `recommended_serial`), plus the cycle. */
export interface PlanData {
  cycle: string;
  generated_at: string;
  commit: string | null;
  workstreams: { name: string; description: string; priority: number; task_counts: TaskCounts; ready: number; pick: string | null }[];
  recommended_parallel: PlannedTask[];
  recommended_serial: SerialTask[];
  active_locks: Lock[];
}

export function newCycleId(now: Date): string {
  const t = now.toISOString();
  return `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19).replace(/:/g, '')}-${crypto.randomBytes(2).toString('hex')}`;
}

/**
 * Picks the best ready task of each active workstream and splits the picks
 * into what can run at once and what must wait: a pick that shares a
 * resource with an earlier pick, or whose resource another agent has locked
 * now, goes in series, with the reason.
 */
export function buildPlan(s: StateReader, cycle: string, now: Date): PlanData {
  const locks = S.listLockRecords(s).filter((l) => S.lockIsActive(l, now)).map(S.publicLock);
  const workstreams: PlanData['workstreams'] = [];
  const picks: PlannedTask[] = [];
  const names = S.workstreamNames(s)
    .map((n) => S.getWorkstream(s, n))
    .filter((w) => w !== null)
    .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
  for (const w of names) {
    const ready = w.status === 'active' ? claimable(s, w.name, now).filter((t) => t.status === 'pending') : [];
    const best = ready[0];
    workstreams.push({ name: w.name, description: w.description, priority: w.priority, task_counts: S.countWorkstreamTasks(s, w.name), ready: ready.length, pick: best?.id ?? null });
    if (best) {
      picks.push({
        workstream: w.name,
        task_id: best.id,
        title: best.title,
        description: best.description,
        priority: best.priority,
        workstream_priority: w.priority,
        resources: best.resources ?? [],
        after: best.after ?? [],
        brief: `briefs/${w.name}/${best.id}.md`,
      });
    }
  }
  const parallel: PlannedTask[] = [];
  const serial: SerialTask[] = [];
  for (const p of picks) {
    const locked = locks.find((l) => firstOverlap(p.resources, [l.resource]));
    if (locked) {
      serial.push({ ...p, reason: `resource ${locked.resource} is locked by ${locked.agent} until ${locked.expires_at}` });
      continue;
    }
    const clash = parallel.map((q) => ({ q, o: firstOverlap(p.resources, q.resources) })).find((x) => x.o);
    if (clash?.o) {
      const [mine, theirs] = clash.o;
      serial.push({ ...p, reason: `${mine === theirs ? `shares ${mine}` : `${mine} overlaps ${theirs}`} with ${clash.q.workstream}/${clash.q.task_id}` });
      continue;
    }
    parallel.push(p);
  }
  return { cycle, generated_at: now.toISOString(), commit: s.commit, workstreams, recommended_parallel: parallel, recommended_serial: serial, active_locks: locks };
}

export interface PlanResult {
  data: PlanData;
  markdown: string;
}

/** The `runner.plan` op: plans/<cycle>.md and cycles/<cycle>.json in one commit. */
export const planOp: OpDef<{ cycle: string }, PlanResult> = {
  name: 'runner.plan',
  exclusive: false,
  parse: (r) => {
    if (typeof r.cycle !== 'string' || !/^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/.test(r.cycle)) throw invalid(`cycle id ${JSON.stringify(r.cycle)} is not valid`);
    return { cycle: r.cycle };
  },
  decide(s, i, ctx): Decision<PlanResult> {
    const data = buildPlan(s, i.cycle, ctx.now);
    const markdown = render(loadTemplate(s, 'plan.md'), data);
    return {
      changes: new Map([
        [`plans/${i.cycle}.md`, Buffer.from(markdown, 'utf8')],
        [`cycles/${i.cycle}.json`, Buffer.from(`${JSON.stringify(data, null, 2)}\n`, 'utf8')],
      ]),
      event: { action: 'cycle_planned', cycle: i.cycle, parallel: data.recommended_parallel.length, serial: data.recommended_serial.length },
      summary: `plan cycle ${i.cycle}: ${data.recommended_parallel.length} in parallel, ${data.recommended_serial.length} in series`,
      result: { data, markdown },
    };
  },
};
