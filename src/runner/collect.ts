import { OrcError } from '../errors.js';
import { queryEvents } from '../model/events.js';
import { knowledgeFile } from '../model/layout.js';
import { registerOp, type Decision, type OpDef } from '../model/ops.js';
import * as S from '../model/state.js';
import type { StateReader } from '../model/state.js';
import type { Agent, Task } from '../model/types.js';
import { CYCLE_ID, checkCycleId, cyclePath, type PlanData } from './plan.js';
import { renderer } from './render.js';

export interface CollectedTask {
  workstream: string;
  task_id: string;
  title: string;
  status: string;
  assigned_to: string | null;
  result: string | null;
  claimed_at: string | null;
  completed_at: string | null;
  lease_expires_at: string | null;
  /** Whether the cycle's plan picked it. */
  planned: boolean;
}

export interface CollectedTopic {
  topic: string;
  writes: number;
  last_agent: string;
  last_written_at: string;
  bytes: number;
  /** False when the topic was deleted since. */
  exists: boolean;
}

export interface CollectData {
  cycle: string;
  generated_at: string;
  planned_at: string;
  commit: string | null;
  planned: { workstream: string; task_id: string; title: string; status: string }[];
  completed: CollectedTask[];
  in_progress: CollectedTask[];
  failed: CollectedTask[];
  expired: CollectedTask[];
  knowledge: CollectedTopic[];
}

export const collectPath = (cycle: string): string => `cycles/${cycle}-collect.md`;

/** The newest planned cycle on the branch (cycle ids sort by time), or null. */
export function latestCycle(s: StateReader): string | null {
  const ids = s
    .list('cycles')
    .filter((e) => !e.dir && e.name.endsWith('.json') && CYCLE_ID.test(e.name.slice(0, -5)))
    .map((e) => e.name.slice(0, -5))
    .sort();
  return ids.at(-1) ?? null;
}

export function readCycle(s: StateReader, cycle: string | null): PlanData {
  const id = cycle ?? latestCycle(s);
  if (!id) throw new OrcError('NOT_FOUND', 'no cycle has been planned yet; run `orc plan` first', {});
  const data = s.json<PlanData>(cyclePath(id));
  if (!data) throw new OrcError('NOT_FOUND', `no cycle ${id}; see \`git ls-tree --name-only orc cycles/\``, { cycle: id });
  if (typeof data.generated_at !== 'string' || !Number.isFinite(Date.parse(data.generated_at))) throw S.corrupt(s, cyclePath(id), 'has no valid generated_at');
  return data;
}

/**
 * What became of a cycle: tasks completed or failed since it was planned
 * (with results), tasks held now and by whom, claims whose lease ran out,
 * and the knowledge written since the plan.
 */
export function buildCollect(s: StateReader, cycle: string | null, now: Date): CollectData {
  const plan = readCycle(s, cycle);
  const since = Date.parse(plan.generated_at);
  const picks = [...(plan.recommended_parallel ?? []), ...(plan.recommended_serial ?? [])];
  const pickKey = new Set(picks.map((p) => `${p.workstream}/${p.task_id}`));
  const agents = new Map<string, Agent | null>();
  const owner = (id: string | null) => {
    if (!id) return null;
    if (!agents.has(id)) agents.set(id, S.getAgent(s, id));
    return agents.get(id) ?? null;
  };
  const out: Pick<CollectData, 'completed' | 'in_progress' | 'failed' | 'expired'> = { completed: [], in_progress: [], failed: [], expired: [] };
  const byKey = new Map<string, Task>();
  const wsNames = S.workstreamNames(s)
    .map((n) => S.getWorkstream(s, n))
    .filter((w) => w !== null)
    .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
  for (const w of wsNames) {
    // Archived tasks too: a cycle's tasks that `orc compact` moved since are still what became of it.
    for (const t of S.listTasksAll(s, w.name).sort(S.byPriority)) {
      const key = `${w.name}/${t.id}`;
      byKey.set(key, t);
      const planned = pickKey.has(key);
      const exp = S.leaseExpiry(t, owner(t.assigned_to));
      const row: CollectedTask = {
        workstream: w.name,
        task_id: t.id,
        title: t.title,
        status: t.status,
        assigned_to: t.assigned_to,
        result: t.result,
        claimed_at: t.claimed_at,
        completed_at: t.completed_at,
        lease_expires_at: exp === null ? null : new Date(exp).toISOString(),
        planned,
      };
      const finishedSince = t.completed_at !== null && Date.parse(t.completed_at) >= since;
      if (t.status === 'done' && (finishedSince || planned)) out.completed.push(row);
      else if (t.status === 'failed' && (finishedSince || planned)) out.failed.push(row);
      else if (t.status === 'in_progress') (exp !== null && exp > now.getTime() ? out.in_progress : out.expired).push(row);
    }
  }
  const planned = picks.map((p) => ({ workstream: p.workstream, task_id: p.task_id, title: p.title, status: byKey.get(`${p.workstream}/${p.task_id}`)?.status ?? 'missing' }));
  const topics = new Map<string, CollectedTopic>();
  for (const e of queryEvents(s, { action: 'knowledge_written', since: plan.generated_at })) {
    if (typeof e.topic !== 'string') continue;
    const old = topics.get(e.topic);
    topics.set(e.topic, { topic: e.topic, writes: (old?.writes ?? 0) + 1, last_agent: e.agent, last_written_at: e.ts, bytes: typeof e.bytes === 'number' ? e.bytes : 0, exists: false });
  }
  const knowledge = [...topics.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  for (const k of knowledge) k.exists = s.read(knowledgeFile(k.topic)) !== null;
  return { cycle: plan.cycle, generated_at: now.toISOString(), planned_at: plan.generated_at, commit: s.commit, planned, ...out, knowledge };
}

export interface CollectResult {
  data: CollectData;
  markdown: string;
  path: string;
}

/** The `runner.collect` op: cycles/<cycle>-collect.md (the newest cycle unless one is named), in one commit. */
export const collectOp: OpDef<{ cycle: string | null }, CollectResult> = registerOp({
  name: 'runner.collect',
  exclusive: false,
  parse: (r) => ({ cycle: r.cycle === undefined || r.cycle === null || r.cycle === '' ? null : checkCycleId(r.cycle) }),
  decide(s, i, ctx): Decision<CollectResult> {
    const data = buildCollect(s, i.cycle, ctx.now);
    const markdown = renderer(s)('collect.md', data);
    const path = collectPath(data.cycle);
    return {
      changes: new Map([[path, Buffer.from(markdown, 'utf8')]]),
      event: { action: 'cycle_collected', cycle: data.cycle, completed: data.completed.length, in_progress: data.in_progress.length, failed: data.failed.length, expired: data.expired.length, knowledge: data.knowledge.length },
      summary: `collect cycle ${data.cycle}: ${data.completed.length} completed, ${data.in_progress.length} in progress, ${data.failed.length + data.expired.length} failed or expired`,
      result: { data, markdown, path },
    };
  },
});
