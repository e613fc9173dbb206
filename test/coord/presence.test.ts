/**
 * Issue 13, "Presence is not history": a heartbeat moves only the agent's
 * presence ref (refs/orc/presence/<agent>), never the state branch, while it
 * still extends the agent's leases; a lease whose agent went silent is taken
 * over once it runs out, on one host and across hosts; a heartbeat made while
 * the remote is unreachable is published by the next sync. Real `orc`
 * processes, real git.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { commitCount, runOrc, sleep } from '../race-helpers.js';
import { okJson, settings } from './hosts.js';

afterAll(cleanup);

const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

interface TaskJson {
  id: string;
  status: string;
  assigned_to: string | null;
}

/** What each agent's heartbeat loop has done so far: the times its beats recorded, and the first failure. */
const beatLog = new Map<string, { times: number[]; failed: string | null }>();

/** Heartbeats of `agent` from `cwd`, one `orc a heartbeat` process after another, until `until`; the times they recorded. A failed beat ends the loop and is reported by `beatsOf`. */
async function beatUntil(cwd: string, agent: string, until: number): Promise<number[]> {
  const log = { times: [] as number[], failed: null as string | null };
  beatLog.set(agent, log);
  for (let i = 0; i < 1000 && Date.now() < until; i++) {
    const r = await runOrc(cwd, ['a', 'heartbeat', agent, '--json']);
    if (r.code !== 0) {
      log.failed = `exit ${r.code}: ${r.stderr.trim()}`;
      break;
    }
    log.times.push(Date.parse((JSON.parse(r.stdout) as { last_heartbeat: string }).last_heartbeat));
  }
  expect(log.failed, `heartbeat ${agent}`).toBeNull();
  return log.times;
}

/** For a failure message: how `agent`'s heartbeats stood (last beat's age, count, failure). */
function beatsOf(agent: string): string {
  const log = beatLog.get(agent);
  if (!log) return `${agent}: no heartbeat loop`;
  const last = log.times.length ? `${Date.now() - Math.max(...log.times)} ms ago` : 'never';
  return `${agent}: ${log.times.length} beats, last ${last}${log.failed ? `, failed: ${log.failed}` : ''}`;
}

/** `t next W AGENT` finds nothing to claim (exit 1, `null`). */
function nothingNext(cwd: string, agent: string): void {
  const r = orc(cwd, ['t', 'next', 'W', agent, '--json']);
  expect(r.code, r.stderr).toBe(1);
  expect(JSON.parse(r.stdout)).toBeNull();
}

/** A heartbeat that reports lost claims (exit 1, the agent as JSON on stdout). */
function lostOnBeat(cwd: string, agent: string): { id: string; by: string }[] {
  const r = orc(cwd, ['a', 'heartbeat', agent, '--json']);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/lost its claim/);
  return (JSON.parse(r.stdout) as { lost: { id: string; by: string }[] }).lost;
}

/** The time agent's presence ref records in `repo`, or null. */
function presenceAt(repo: string, agent: string): number | null {
  try {
    const msg = git(repo, 'log', '-1', '--format=%B', `refs/orc/presence/${agent}`);
    return Date.parse((JSON.parse(msg) as { at: string }).at);
  } catch {
    return null;
  }
}

describe('heartbeats are presence, not history', () => {
  it('8 processes heartbeating leave the branch unchanged while their leases extend; a silent agent loses its claim', async () => {
    const [, make] = settings[0]!;
    const h = make();
    const LEASE = 6000;
    const agents = Array.from({ length: 8 }, (_, i) => `agent-${i}`);
    okJson(h.a, ['ws', 'create', 'W']);
    for (const a of agents) {
      okJson(h.a, ['t', 'add', 'W', `task of ${a}`, '--id', `t-${a}`]);
      okJson(h.a, ['a', 'register', a]);
      okJson(h.a, ['t', 'claim', 'W', `t-${a}`, a, '--lease', String(LEASE)]);
    }
    const claimedAt = Date.now();
    const before = commitCount(h.a);
    const stop = claimedAt + LEASE * 1.6;
    const loops = agents.map((a) => beatUntil(h.a, a, stop));
    // Past every claim's own lease, while the heartbeats go on: nothing can be taken. The thief's
    // tries run as child processes the test awaits: a synchronous spawn would stall the event loop
    // that starts the next heartbeats, and on a loaded machine let a lease run out for real.
    await sleepUntil(claimedAt + LEASE + 1500);
    const next = await runOrc(h.a, ['t', 'next', 'W', 'thief', '--json']);
    expect([next.code, next.stdout.trim(), next.stderr]).toEqual([1, 'null', expect.anything()]);
    for (const a of agents) {
      const tried = await runOrc(h.a, ['t', 'claim', 'W', `t-${a}`, 'thief']);
      expect(tried.code, `${beatsOf(a)}; ${tried.stderr.trim()}`).toBe(1);
    }
    const beats = await Promise.all(loops);
    expect(beats.flat().length).toBeGreaterThanOrEqual(16);
    // Not one commit for all those heartbeats, and no heartbeat event.
    expect(commitCount(h.a)).toBe(before);
    expect(okJson<{ action: string }[]>(h.a, ['events', '--action', 'agent_heartbeat'])).toEqual([]);
    for (const a of agents) expect(presenceAt(h.a, a), a).toBe(Math.max(...beats[agents.indexOf(a)]!));
    // The dashboard's and `a list`'s heartbeat ages come from presence.
    const listed = okJson<{ id: string; last_heartbeat: string }[]>(h.a, ['a', 'list']);
    for (const a of agents) expect(Date.parse(listed.find((x) => x.id === a)!.last_heartbeat)).toBe(presenceAt(h.a, a));
    // agent-0 goes silent; the others keep beating. Once agent-0's lease ran out from its last heartbeat, it is taken over.
    const last0 = Math.max(...beats[0]!);
    const others = agents.slice(1).map((a) => beatUntil(h.a, a, last0 + LEASE + 3000));
    await sleepUntil(last0 + LEASE + 200);
    const taken = okJson<TaskJson>(h.a, ['t', 'claim', 'W', 't-agent-0', 'thief']);
    expect(taken).toMatchObject({ status: 'in_progress', assigned_to: 'thief' });
    await Promise.all(others);
    nothingNext(h.a, 'thief');
    expect(commitCount(h.a)).toBe(before + 1);
    // The silent agent's next heartbeat reports the claim it lost, still without a commit.
    expect(lostOnBeat(h.a, 'agent-0')).toEqual([expect.objectContaining({ id: 't-agent-0', by: 'thief' })]);
    expect(okJson<{ lost: unknown[] }>(h.a, ['a', 'heartbeat', 'agent-0']).lost).toEqual([]);
    expect(commitCount(h.a)).toBe(before + 1);
  }, 120_000);

  it("across hosts: the remote holder's heartbeats keep its claim; once they stop it is taken over; the branch's history does not grow", async () => {
    const [, make] = settings[1]!;
    const h = make();
    const LEASE = 4000;
    okJson(h.a, ['ws', 'create', 'W']);
    okJson(h.a, ['t', 'add', 'W', 'shared', '--id', 't1']);
    okJson(h.b, ['a', 'register', 'bee']);
    okJson(h.b, ['t', 'claim', 'W', 't1', 'bee', '--lease', String(LEASE)]);
    const claimedAt = Date.now();
    const before = commitCount(h.bare!);
    const beats = beatUntil(h.b, 'bee', claimedAt + LEASE * 2);
    await sleepUntil(claimedAt + LEASE + 1500);
    // Host a never saw bee heartbeat locally: it judges the lease with the presence it fetches.
    const r = orc(h.a, ['t', 'claim', 'W', 't1', 'ant']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/claimed by bee/);
    const times = await beats;
    expect(commitCount(h.bare!)).toBe(before);
    expect(presenceAt(h.bare!, 'bee')).toBe(Math.max(...times));
    await sleepUntil(Math.max(...times) + LEASE + 200);
    expect(okJson<TaskJson>(h.a, ['t', 'claim', 'W', 't1', 'ant'])).toMatchObject({ assigned_to: 'ant' });
    expect(commitCount(h.bare!)).toBe(before + 1);
    expect(lostOnBeat(h.b, 'bee')).toEqual([expect.objectContaining({ id: 't1', by: 'ant' })]);
  }, 120_000);

  it('a heartbeat while the remote is unreachable succeeds locally and is published by the next sync; a fetch never moves presence back', () => {
    const [, make] = settings[1]!;
    const h = make();
    okJson(h.b, ['a', 'register', 'bee']);
    okJson(h.b, ['a', 'heartbeat', 'bee']);
    const published = presenceAt(h.bare!, 'bee')!;
    expect(published).toBe(presenceAt(h.b, 'bee'));
    const url = git(h.b, 'remote', 'get-url', 'origin');
    git(h.b, 'remote', 'set-url', 'origin', `${url}-gone`);
    const r = orc(h.b, ['a', 'heartbeat', 'bee', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not yet published/);
    const offline = Date.parse((JSON.parse(r.stdout) as { last_heartbeat: string }).last_heartbeat);
    expect(presenceAt(h.b, 'bee')).toBe(offline);
    expect(presenceAt(h.bare!, 'bee')).toBe(published);
    okJson(h.a, ['sync']);
    expect(presenceAt(h.a, 'bee')).toBe(published);
    // Back online: b's sync fetches the remote's older presence (not adopted over b's newer one) and publishes b's.
    git(h.b, 'remote', 'set-url', 'origin', url);
    okJson(h.b, ['sync']);
    expect(presenceAt(h.bare!, 'bee')).toBe(offline);
    expect(presenceAt(h.b, 'bee')).toBe(offline);
    okJson(h.a, ['sync']);
    expect(presenceAt(h.a, 'bee')).toBe(offline);
  });
});

describe('an agent whose name ends in .lock', () => {
  it('gets a presence ref git accepts ("%2Elock"), read back under its own name', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['a', 'register', 'w.lock']).code).toBe(0);
    const before = commitCount(repo);
    const r = orc(repo, ['a', 'heartbeat', 'w.lock', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(commitCount(repo)).toBe(before);
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/orc/presence')).toBe('refs/orc/presence/w%2Elock');
    expect(git(repo, 'fsck', '--strict', '--no-progress')).toBe('');
    const seen = JSON.parse(orc(repo, ['a', 'list', '--json']).stdout) as { id: string; last_heartbeat: string }[];
    expect(seen.find((a) => a.id === 'w.lock')?.last_heartbeat).toBe((JSON.parse(r.stdout) as { last_heartbeat: string }).last_heartbeat);
  });
});
