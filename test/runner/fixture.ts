/**
 * A state branch built through the library with a fixed clock and fixed
 * ids, so the runner's output is the same on every run (golden files).
 */
import { open, type Orc } from '../../src/ops/orc.js';
import { testEnv, tmpRepo } from '../helpers.js';

export const CYCLE = '20300101-100000-abcd';

export interface Fixture {
  repo: string;
  /** Acting as `system`. */
  orc: Orc;
  /** The same repo, acting as `agent`. */
  as(agent: string): Promise<Orc>;
  /** Sets the clock every Orc of the fixture reads. */
  at(iso: string): void;
}

export async function fixtureRepo(repo = tmpRepo()): Promise<Fixture> {
  let now = new Date('2030-01-01T09:00:00Z');
  const clock = () => new Date(now);
  const env = testEnv();
  const orc = await open({ repo, clock, env });
  return { repo, orc, as: (agent) => open({ repo, agent, clock, env }), at: (iso) => (now = new Date(iso)) };
}

/** Workstreams, tasks with resources, dependencies and topics, agents, a lock and knowledge: the state before the plan. */
export async function buildState(f: Fixture): Promise<void> {
  const { orc, at } = f;
  const a1 = await f.as('agent-1');
  const a2 = await f.as('agent-2');
  at('2030-01-01T09:00:00Z');
  await orc.createWorkstream('api', 'The public API', 1);
  await orc.createWorkstream('web', 'The web site', 2);
  await orc.createWorkstream('ops', 'Deploys and monitoring', 3);
  await orc.createWorkstream('docs', 'User documentation', 4);
  at('2030-01-01T09:01:00Z');
  await a1.registerAgent('agent-1', 'claude');
  await a2.registerAgent('agent-2', 'codex');
  at('2030-01-01T09:02:00Z');
  await orc.addTask('api', 'Design the payments endpoint', 'Decide the shape of POST /payments.', 1, { id: 'design' });
  await orc.addTask('api', 'Build the payments endpoint', 'Implement POST /payments in src/api/payments.ts, as designed.\nKeep it *idempotent*.', 1, {
    id: 'build',
    after: ['design'],
    resources: ['src/api/**'],
    kb: ['api/conventions', 'api/missing-topic'],
    estimate: 3,
  });
  await orc.addTask('api', 'Remove the old endpoint', '', 3, { id: 'cleanup' });
  await orc.addTask('web', 'Call payments from checkout', 'Use the API client for payments.', 1, { id: 'checkout', resources: ['src/api/client.ts', 'web/checkout/**'] });
  await orc.addTask('ops', 'Deploy payments', 'Ship it.', 2, { id: 'deploy', resources: ['deploy'] });
  await orc.addTask('docs', 'Review the API reference', '', 2, { id: 'review', resources: ['docs/**'] });
  await orc.addTask('docs', 'Write the payments guide', '', 1, { id: 'guide', after: ['review'] });
  at('2030-01-01T09:10:00Z');
  await orc.writeKnowledge('api/conventions', '# API conventions\n\nEvery endpoint lives under src/api/ and takes an idempotency key.\n');
  await orc.writeKnowledge('payments', 'Payments settle in USDC. The checkout flow retries on 409.\n');
  await orc.writeKnowledge('web/style', 'The web site uses plain CSS; no frameworks.\n');
  await orc.writeKnowledge('unrelated', 'Lunch is at noon.\n');
  at('2030-01-01T09:20:00Z');
  await a1.claimTask('api', 'design', 'agent-1');
  await a2.claimTask('docs', 'review', 'agent-2', { leaseMs: 4 * 3600_000 });
  at('2030-01-01T09:40:00Z');
  await a1.completeTask('api', 'design', 'POST /payments with an Idempotency-Key header; 201 on success, 409 on replay.');
  at('2030-01-01T09:50:00Z');
  await a2.acquireLock('deploy', 'agent-2', 3600_000);
}

/** After the plan: work done, claims held and lapsed, a failure, knowledge written. */
export async function workTheCycle(f: Fixture): Promise<void> {
  const a1 = await f.as('agent-1');
  const a3 = await f.as('agent-3');
  f.at('2030-01-01T10:05:00Z');
  // checkout (src/api/client.ts) and build (src/api/**) overlap: build is claimed once checkout's lease has lapsed.
  await a3.claimTask('web', 'checkout', 'agent-3', { leaseMs: 60_000 });
  f.at('2030-01-01T10:07:00Z');
  await a1.claimTask('api', 'build', 'agent-1');
  f.at('2030-01-01T10:30:00Z');
  await a1.completeTask('api', 'build', 'Done: POST /payments in src/api/payments.ts, tests in test/api/payments.test.ts.');
  await a1.writeKnowledge('api/payments-notes', 'The endpoint rejects amounts over 10,000 USDC.\n');
  await a1.claimTask('api', 'cleanup', 'agent-1', { leaseMs: 2 * 3600_000 });
  f.at('2030-01-01T10:40:00Z');
  await f.orc.completeTask('ops', 'deploy', 'The deploy lock was never released.', { failed: true });
  f.at('2030-01-01T11:00:00Z');
}
