import * as crypto from 'node:crypto';
import { invalid } from '../errors.js';
import { blockedBy, claimable, registerOp, type Decision, type OpDef } from '../model/ops.js';
import * as S from '../model/state.js';
import type { StateReader } from '../model/state.js';
import type { Agent, Lock, Task, TaskCounts } from '../model/types.js';
import { buildBrief } from './brief.js';
import { renderer } from './render.js';
import { firstOverlap } from '../model/resources.js';

export interface PlannedTask {
  workstream: string;
  /** The task itself, as the original's plan gave it. */
  task: Task;
  task_id: string;
  title: string;
  description: string;
  priority: number;
  workstream_priority: number;
  resources: string[];
  after: string[];
  kb: string[];
  /** The brief's markdown, as the original's plan carried it (filled in once rendered). */
  brief: string;
  /** Where the task's brief is on the state branch. */
  brief_path: string;
}

export interface SerialTask extends PlannedTask {
  reason: string;
  /** The tasks that must not run together, as WS/ID (the original's shape): this one, then what it waits on, if a task. */
  tasks: string[];
}

/** A task some agent holds under a live lease while the plan is made. */
export interface RunningTask {
  workstream: string;
  task_id: string;
  title: string;
  assigned_to: string | null;
  resources: string[];
  lease_expires_at: string | null;
}

/**
 * The original tool's plan JSON (`generated_at`, `workstreams`,
 * `recommended_parallel`, `recommended_serial`), plus the cycle, the state
 * commit it was planned from, the tasks running and the locks held.
 */
export interface PlanData {
  cycle: string;
  generated_at: string;
  commit: string | null;
  /** Per workstream; `next_task` and `pending_count` are the original's (the pick, and the pending tasks). */
  workstreams: { name: string; description: string; priority: number; next_task: Task | null; pending_count: number; task_counts: TaskCounts; ready: number; blocked: number; pick: string | null }[];
  recommended_parallel: PlannedTask[];
  recommended_serial: SerialTask[];
  in_progress: RunningTask[];
  active_locks: Lock[];
}

export const CYCLE_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** A cycle id: sorts by time (UTC, to the second), with a random suffix so two planners never collide. */
export function newCycleId(now: Date): string {
  const t = now.toISOString();
  return `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19).replace(/:/g, '')}-${crypto.randomBytes(2).toString('hex')}`;
}

export function checkCycleId(v: unknown): string {
  if (typeof v !== 'string' || !CYCLE_ID.test(v)) throw invalid(`cycle id ${JSON.stringify(v)} is not valid; cycle ids look like 20260131-120000-ab12`, { cycle: v });
  return v;
}

export const briefPath = (ws: string, id: string): string => `briefs/${ws}/${id}.md`;
export const planPath = (cycle: string): string => `plans/${cycle}.md`;
export const cyclePath = (cycle: string): string => `cycles/${cycle}.json`;

/**
 * Picks the best ready task (pending, every dependency done) of each active
 * workstream and splits the picks into what can run at once and what must
 * wait: a pick whose resources overlap a lock held now, a task running now,
 * or an earlier pick goes in series, with the reason.
 */
export function buildPlan(s: StateReader, cycle: string, now: Date): PlanData {
  const locks = S.activeLocks(s, now);
  const agents = new Map<string, Agent | null>();
  const owner = (id: string | null) => {
    if (!id) return null;
    if (!agents.has(id)) agents.set(id, S.getAgent(s, id));
    return agents.get(id) ?? null;
  };
  const workstreams: PlanData['workstreams'] = [];
  const picks: PlannedTask[] = [];
  const running: RunningTask[] = [];
  const list = S.workstreamNames(s)
    .map((n) => S.getWorkstream(s, n))
    .filter((w) => w !== null)
    .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
  for (const w of list) {
    const tasks = S.listTasksRaw(s, w.name);
    const status = new Map(tasks.map((t) => [t.id, t.status]));
    for (const t of tasks.filter((x) => x.status === 'in_progress').sort(S.byPriority)) {
      const exp = S.leaseExpiry(t, owner(t.assigned_to));
      if (exp === null || exp <= now.getTime()) continue;
      running.push({ workstream: w.name, task_id: t.id, title: t.title, assigned_to: t.assigned_to, resources: t.resources ?? [], lease_expires_at: new Date(exp).toISOString() });
    }
    const ready = w.status === 'active' ? claimable(s, w.name, now).filter((t) => t.status === 'pending') : [];
    const blocked = tasks.filter((t) => t.status === 'pending' && blockedBy(t, (id) => status.get(id), s) !== null).length;
    const best = ready[0];
    const counts = S.countTasks(tasks);
    workstreams.push({ name: w.name, description: w.description, priority: w.priority, next_task: best ?? null, pending_count: counts.pending, task_counts: counts, ready: ready.length, blocked, pick: best?.id ?? null });
    if (best) {
      picks.push({
        workstream: w.name,
        task: best,
        task_id: best.id,
        title: best.title,
        description: best.description,
        priority: best.priority,
        workstream_priority: w.priority,
        resources: best.resources ?? [],
        after: best.after ?? [],
        kb: best.kb ?? [],
        brief: '',
        brief_path: briefPath(w.name, best.id),
      });
    }
  }
  const parallel: PlannedTask[] = [];
  const serial: SerialTask[] = [];
  const key = (t: { workstream: string; task_id: string }) => `${t.workstream}/${t.task_id}`;
  const overlap = (o: [string, string]) => (o[0] === o[1] ? `shares ${o[0]}` : `${o[0]} overlaps ${o[1]}`);
  for (const p of picks) {
    const locked = locks.map((l) => ({ l, o: firstOverlap(p.resources, [l.resource]) })).find((x) => x.o);
    if (locked) {
      const what = locked.o![0] === locked.l.resource ? `resource ${locked.l.resource}` : `${locked.o![0]} overlaps ${locked.l.resource}, which`;
      serial.push({ ...p, reason: `${what} is locked by ${locked.l.agent} until ${locked.l.expires_at}`, tasks: [key(p)] });
      continue;
    }
    const busy = running.map((r) => ({ r, o: firstOverlap(p.resources, r.resources) })).find((x) => x.o);
    if (busy) {
      serial.push({ ...p, reason: `${overlap(busy.o!)} with ${key(busy.r)}, in progress by ${busy.r.assigned_to ?? 'an agent'}`, tasks: [key(p), key(busy.r)] });
      continue;
    }
    const clash = parallel.map((q) => ({ q, o: firstOverlap(p.resources, q.resources) })).find((x) => x.o);
    if (clash) {
      serial.push({ ...p, reason: `${overlap(clash.o!)} with ${key(clash.q)}`, tasks: [key(p), key(clash.q)] });
      continue;
    }
    parallel.push(p);
  }
  return { cycle, generated_at: now.toISOString(), commit: s.commit, workstreams, recommended_parallel: parallel, recommended_serial: serial, in_progress: running, active_locks: locks };
}

export interface PlanResult {
  data: PlanData;
  markdown: string;
  /** Path → markdown of each picked task's brief. */
  briefs: Record<string, string>;
}

/** The `runner.plan` op: plans/<cycle>.md, cycles/<cycle>.json and a brief per pick, in one commit. */
export const planOp: OpDef<{ cycle: string }, PlanResult> = registerOp({
  name: 'runner.plan',
  exclusive: false,
  parse: (r) => ({ cycle: checkCycleId(r.cycle) }),
  decide(s, i, ctx): Decision<PlanResult> {
    if (s.read(cyclePath(i.cycle))) throw invalid(`cycle ${i.cycle} is already planned; plan a new one`, { cycle: i.cycle });
    const data = buildPlan(s, i.cycle, ctx.now);
    const r = renderer(s);
    // Briefs first: each pick carries its brief's text in the plan's data, as the original's did.
    const changes = new Map<string, Buffer>();
    const briefs: Record<string, string> = {};
    for (const p of [...data.recommended_parallel, ...data.recommended_serial]) {
      const md = r('brief.md', buildBrief(s, p.workstream, p.task_id, ctx.now, i.cycle));
      p.brief = md;
      briefs[p.brief_path] = md;
      changes.set(p.brief_path, Buffer.from(md, 'utf8'));
    }
    const markdown = r('plan.md', data);
    changes.set(planPath(i.cycle), Buffer.from(markdown, 'utf8'));
    changes.set(cyclePath(i.cycle), Buffer.from(`${JSON.stringify(data, null, 2)}\n`, 'utf8'));
    return {
      changes,
      event: { action: 'cycle_planned', cycle: i.cycle, parallel: data.recommended_parallel.length, serial: data.recommended_serial.length },
      summary: `plan cycle ${i.cycle}: ${data.recommended_parallel.length} in parallel, ${data.recommended_serial.length} in series`,
      result: { data, markdown, briefs },
    };
  },
});
