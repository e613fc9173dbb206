/**
 * Clock skew between hosts (README "Clocks"). A lease expires at the time the
 * granting host wrote (its clock + the lease); a take-over is decided with
 * the clock of the host deciding it, against that recorded lease. Hosts here
 * are clones of one bare remote, opened with the library and an injected
 * clock each; `now` is the true time, each host reads now + its skew.
 *
 * What is tolerated, and tested as the exact boundary:
 * - a host whose clock runs S ms AHEAD may take over a lease up to S ms
 *   before it really expires, never earlier: with lease L = 10 s and S = 5 s,
 *   refused at true time L − S − 1 ms, allowed at L − S;
 * - a host with a correct clock takes over exactly at L, and one whose clock
 *   runs BEHIND only later (L + S): late is safe, early is bounded by S;
 * - the lease is the one recorded by the owner (10 s), not the deciding
 *   host's default (10 min), and a heartbeat moves it with the owner's clock;
 * - lock TTLs are judged the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrcError, open, type Orc } from '../../src/index.js';
import { cleanup, git, testEnv } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl } from './daemon.js';

afterAll(cleanup);

const LEASE = 10_000;
const SKEW = 5_000;

let now = 0; // the true time, ms
let bare: string;
let A: Orc; // owner, correct clock
let B: Orc; // clock SKEW ahead
let C: Orc; // correct clock
let D: Orc; // clock SKEW behind

async function host(url: string, name: string, skew: number): Promise<Orc> {
  const dir = cloneHost(url, name);
  return open({ repo: dir, agent: name, clock: () => new Date(now + skew), env: testEnv() });
}

beforeAll(async () => {
  // git run by the library in this process: no user or system config.
  Object.assign(process.env, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' });
  const r = bareRemote();
  bare = r.bare;
  const url = fileUrl(bare);
  now = Date.now();
  const seed = await open({ repo: cloneHost(url, 'seed'), clock: () => new Date(now), env: testEnv() });
  await seed.createWorkstream('W');
  A = await host(url, 'host-a', 0);
  B = await host(url, 'host-b', SKEW);
  C = await host(url, 'host-c', 0);
  D = await host(url, 'host-d', -SKEW);
});

/** Runs `fn`, expecting the op to be refused by the state (CONFLICT). */
async function refused(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OrcError);
    expect((e as OrcError).code).toBe('CONFLICT');
    return (e as OrcError).message;
  }
  throw new Error('expected the op to be refused');
}

const remoteTip = () => git(bare, 'log', '-1', '--format=%s', 'orc');

describe('clock skew: take-over of a claim is judged by the deciding host’s clock against the lease the owner recorded', () => {
  it('a host 5 s ahead takes over a 10 s lease no earlier than 5 s after the claim; a correct clock at 10 s; a clock 5 s behind at 15 s', async () => {
    const t0 = (now = Date.now());
    await A.addTask('W', 'skewed', undefined, undefined, { id: 'k1' });
    const claimed = await A.claimTask('W', 'k1', 'host-a', { leaseMs: LEASE });
    expect(claimed.lease_expires_at).toBe(new Date(t0 + LEASE).toISOString());

    // True time L − S − 1: host-b's clock reads L − 1. Refused, by both claim and next.
    now = t0 + LEASE - SKEW - 1;
    expect(await refused(() => B.claimTask('W', 'k1'))).toMatch(new RegExp(`claimed by host-a until ${new Date(t0 + LEASE).toISOString()}`));
    expect(await B.getNextTask('W')).toBeNull();

    // True time L − S: a host with a correct clock and one behind still see the lease running...
    now = t0 + LEASE - SKEW;
    await refused(() => C.claimTask('W', 'k1'));
    await refused(() => D.claimTask('W', 'k1'));
    // ...host-b (its clock reads L) takes it over, through the remote.
    const took = await B.getNextTask('W');
    expect(took).toMatchObject({ id: 'k1', assigned_to: 'host-b', status: 'in_progress' });
    expect(remoteTip()).toBe('take over (lease of host-a expired) W/k1 for host-b: skewed');
    await C.sync(); // reads are local: fetch first
    const ev = (await C.getEvents({ action: 'task_taken_over' })).at(-1)!;
    expect(ev).toMatchObject({ task_id: 'k1', agent: 'host-b', previous_agent: 'host-a' });
    // The take-over is stamped with host-b's clock: its record says it decided at L.
    expect(ev.ts).toBe(new Date(t0 + LEASE).toISOString());
  });

  it('with no skew the boundary is the lease itself; with the clock behind, it comes later', async () => {
    const t0 = (now = Date.now() + 60_000);
    await A.addTask('W', 'straight', undefined, undefined, { id: 'k2' });
    await A.claimTask('W', 'k2', 'host-a', { leaseMs: LEASE });
    now = t0 + LEASE - 1;
    await refused(() => C.claimTask('W', 'k2'));
    await refused(() => D.claimTask('W', 'k2'));
    now = t0 + LEASE; // host-c reads L: expired (the lease is the owner's 10 s, not host-c's default of 10 min)
    expect(await C.claimTask('W', 'k2')).toMatchObject({ assigned_to: 'host-c' });

    const t1 = (now = t0 + 60_000);
    await A.addTask('W', 'late clock', undefined, undefined, { id: 'k3' });
    await A.claimTask('W', 'k3', 'host-a', { leaseMs: LEASE });
    now = t1 + LEASE + SKEW - 1; // host-d reads L − 1
    await refused(() => D.claimTask('W', 'k3'));
    now = t1 + LEASE + SKEW;
    expect(await D.claimTask('W', 'k3')).toMatchObject({ assigned_to: 'host-d' });
  });

  it('a heartbeat of the owner moves the lease with the owner’s clock, judged the same way', async () => {
    const t0 = (now = Date.now() + 300_000);
    await A.addTask('W', 'beating', undefined, undefined, { id: 'k4' });
    await A.claimTask('W', 'k4', 'host-a', { leaseMs: LEASE });
    now = t0 + 3_000;
    await A.heartbeat('host-a'); // lease now runs to t0 + 13 s (host-a's clock)
    now = t0 + 3_000 + LEASE - SKEW - 1;
    await refused(() => B.claimTask('W', 'k4'));
    now = t0 + 3_000 + LEASE - SKEW;
    expect(await B.claimTask('W', 'k4')).toMatchObject({ assigned_to: 'host-b' });
  });

  it('a lock TTL: a host 5 s ahead takes a 10 s lock over no earlier than 5 s after it was taken', async () => {
    const t0 = (now = Date.now() + 600_000);
    const lock = await A.acquireLock('deploy', 'host-a', LEASE);
    expect(lock.expires_at).toBe(new Date(t0 + LEASE).toISOString());
    now = t0 + LEASE - SKEW - 1;
    expect(await refused(() => B.acquireLock('deploy', 'host-b', LEASE))).toMatch(/lock "deploy" is held by host-a/);
    now = t0 + LEASE - SKEW;
    await refused(() => C.acquireLock('deploy', 'host-c', LEASE));
    const took = await B.acquireLock('deploy', 'host-b', LEASE);
    expect(took).toMatchObject({ agent: 'host-b', token: 2 });
    expect(remoteTip()).toBe('acquire lock deploy for host-b (token 2)');
  });
});
