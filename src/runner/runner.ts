import type { Orc } from '../ops/orc.js';
import { newCycleId, planOp, type PlanResult } from './plan.js';

/** Plans a new cycle and commits it; with dryRun, renders from the tip without committing. */
export async function plan(orc: Orc, opts: { dryRun?: boolean; now?: Date } = {}): Promise<PlanResult & { commit: string | null }> {
  const now = opts.now ?? new Date();
  const input = planOp.parse({ cycle: newCycleId(now) });
  if (opts.dryRun) {
    const snap = orc.store.snapshot(orc.store.tip());
    const d = planOp.decide(snap, input, { actor: orc.agent ?? 'system', now, settings: { lease_ms: 0, lock_ttl_ms: 0, agent_stale_ms: 0 } });
    orc.store.flushMemo();
    return { ...d.result, commit: null };
  }
  const out = await orc.engine.run(planOp, input, orc.agent ?? 'system');
  orc.store.flushMemo();
  return { ...out.result, commit: out.commit };
}
