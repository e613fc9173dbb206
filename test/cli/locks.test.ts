/**
 * Locks: `lock acquire/release/list`, the lock JSON shape, TTLs, renewal,
 * expiry and fencing tokens.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { commitCount, eventsAdded, expectOneLineError, ok, sleepUntil, tip } from './util.js';

afterAll(cleanup);

interface LockJson {
  resource: string;
  agent: string;
  acquired_at: string;
  ttl_ms: number;
  expires_at: string;
  token: number;
}

const LOCK_KEYS = ['acquired_at', 'agent', 'expires_at', 'resource', 'token', 'ttl_ms'];

describe('locks', () => {
  it('acquire returns exactly {resource, agent, acquired_at, ttl_ms, expires_at, token} with a 60 s default TTL', () => {
    const repo = tmpRepo();
    const l = ok<LockJson>(repo, ['lock', 'acquire', 'deploy', 'a1']);
    expect(Object.keys(l).sort()).toEqual(LOCK_KEYS);
    expect(l).toMatchObject({ resource: 'deploy', agent: 'a1', ttl_ms: 60000, token: 1 });
    expect(Date.parse(l.expires_at) - Date.parse(l.acquired_at)).toBe(60000);
    expect(Math.abs(Date.parse(l.acquired_at) - Date.now())).toBeLessThan(60_000);
    const text = orc(repo, ['lock', 'acquire', 'src/api/**', 'a2', '--ttl', '30000']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^locked src\/api\/\*\* for a2 until \S+ \(token 1\)\n$/);
    const list = ok<LockJson[]>(repo, ['lock', 'list']);
    expect(list.map((x) => [x.resource, x.agent, x.ttl_ms])).toEqual([
      ['deploy', 'a1', 60000],
      ['src/api/**', 'a2', 30000],
    ]);
    for (const x of list) expect(Object.keys(x).sort()).toEqual(LOCK_KEYS);
    // A path-like resource is one file under locks/, not a folder tree.
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'orc', 'locks/').split('\n');
    expect(files).toHaveLength(2);
    for (const f of files) expect(f).toMatch(/^locks\/[^/]+\.json$/);
    const listText = orc(repo, ['lock', 'list']).stdout.split('\n');
    expect(listText[0]).toMatch(/^RESOURCE\s+AGENT\s+TOKEN\s+EXPIRES/);
    expect(listText[1]).toMatch(/^deploy\s+a1\s+1\s+in \d+s/);
  });

  it('a lock held by another agent is refused (exit 1) naming the holder; renewal by the holder keeps the token', () => {
    const repo = tmpRepo();
    const first = ok<LockJson>(repo, ['lock', 'acquire', 'db', 'owner']);
    const before = tip(repo);
    const r = orc(repo, ['lock', 'acquire', 'db', 'intruder']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, ['db', 'owner']);
    expect(tip(repo)).toBe(before);
    const renewed = ok<LockJson>(repo, ['lock', 'acquire', 'db', 'owner', '--ttl', '120000']);
    expect(renewed).toMatchObject({ resource: 'db', agent: 'owner', token: first.token, ttl_ms: 120000, acquired_at: first.acquired_at });
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(Date.parse(first.expires_at));
    expect(eventsAdded(repo, tip(repo)!, before)).toEqual([expect.objectContaining({ action: 'lock_renewed', agent: 'owner', resource: 'db', token: 1 })]);
    expect(ok<LockJson[]>(repo, ['lock', 'list'])).toEqual([renewed]);
  });

  it('release: only the holder may (exit 1 otherwise); releasing an unheld lock is exit 1; the token grows on the next grant', () => {
    const repo = tmpRepo();
    ok(repo, ['lock', 'acquire', 'git', 'a1']);
    let before = tip(repo);
    const wrong = orc(repo, ['lock', 'release', 'git', 'a2']);
    expect(wrong.code).toBe(1);
    expectOneLineError(wrong.stderr, ['git', 'a1']);
    expect(tip(repo)).toBe(before);
    const rel = orc(repo, ['lock', 'release', 'git', 'a1']);
    expect(rel.code).toBe(0);
    expect(rel.stdout.trim()).toBe('released git (token 1)');
    expect(ok<LockJson[]>(repo, ['lock', 'list'])).toEqual([]);
    before = tip(repo);
    const again = orc(repo, ['lock', 'release', 'git', 'a1']);
    expect(again.code).toBe(1);
    expectOneLineError(again.stderr, ['git']);
    const never = orc(repo, ['lock', 'release', 'never-held', 'a1']);
    expect(never.code).toBe(1);
    expectOneLineError(never.stderr, ['never-held']);
    expect(tip(repo)).toBe(before);
    const next = ok<LockJson>(repo, ['lock', 'acquire', 'git', 'a2']);
    expect(next).toMatchObject({ agent: 'a2', token: 2 });
    expect(ok<LockJson>(repo, ['lock', 'release', 'git', 'a2']).token).toBe(2);
    expect(ok<LockJson>(repo, ['lock', 'acquire', 'git', 'a1']).token).toBe(3);
  });

  it('an expired lock (--ttl 1000) drops out of lock list and may be taken by another agent with token + 1', async () => {
    const repo = tmpRepo();
    const l = ok<LockJson>(repo, ['lock', 'acquire', 'deploy', 'slow', '--ttl', '1000']);
    expect(l.ttl_ms).toBe(1000);
    expect(Date.parse(l.expires_at) - Date.parse(l.acquired_at)).toBe(1000);
    if (Date.now() < Date.parse(l.expires_at) - 300) expect(orc(repo, ['lock', 'acquire', 'deploy', 'fast']).code).toBe(1);
    await sleepUntil(Date.parse(l.expires_at) + 100);
    expect(ok<LockJson[]>(repo, ['lock', 'list'])).toEqual([]);
    expect(ok(repo, ['status']).active_locks).toEqual([]);
    const before = tip(repo);
    const count = commitCount(repo);
    const taken = ok<LockJson>(repo, ['lock', 'acquire', 'deploy', 'fast']);
    expect(taken).toMatchObject({ resource: 'deploy', agent: 'fast', token: l.token + 1, ttl_ms: 60000 });
    expect(commitCount(repo)).toBe(count + 1);
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('fast');
    expect(eventsAdded(repo, tip(repo)!, before)).toEqual([expect.objectContaining({ action: 'lock_acquired', agent: 'fast', token: 2, previous_agent: 'slow' })]);
    // The stale holder can no longer release it.
    const stale = orc(repo, ['lock', 'release', 'deploy', 'slow']);
    expect(stale.code).toBe(1);
    expectOneLineError(stale.stderr, ['fast']);
    const evs = ok<{ action: string; token: number }[]>(repo, ['events', '--action', 'lock_acquired']);
    expect(evs.map((e) => e.token)).toEqual([1, 2]);
  });
});
