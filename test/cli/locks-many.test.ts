/**
 * Several locks at once (`orc lock acquire R1 R2 [AGENT]`, the library's
 * acquireLocks, POST /api/locks {resources}): all or nothing, in one commit
 * (op lock.acquire_many), each resource with its own fencing token.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { req, serve } from '../server/helpers.js';
import { commitCount, eventsAdded, expectRefused, ok, opOf, tip } from './util.js';

afterAll(cleanup);

interface LockJson {
  resource: string;
  agent: string;
  expires_at: string;
  token: number;
  ttl_ms: number;
}

describe('lock acquire with several resources', () => {
  it('takes them all in one commit with a token each; the last argument is the agent when it is an agent name', () => {
    const repo = tmpRepo();
    ok(repo, ['lock', 'acquire', 'src/db.ts', 'a1']);
    ok(repo, ['lock', 'release', 'src/db.ts', 'a1']);
    const before = commitCount(repo);
    const parent = tip(repo);
    const locks = ok<LockJson[]>(repo, ['lock', 'acquire', 'src/api/**', 'src/db.ts', 'deploy', 'a2', '--ttl', '30000']);
    expect(commitCount(repo)).toBe(before + 1);
    expect(locks.map((l) => [l.resource, l.agent, l.token, l.ttl_ms])).toEqual([
      ['src/api/**', 'a2', 1, 30000],
      ['src/db.ts', 'a2', 2, 30000],
      ['deploy', 'a2', 1, 30000],
    ]);
    expect(opOf(repo, tip(repo)!)).toMatchObject({ op: 'lock.acquire_many', agent: 'a2' });
    expect(eventsAdded(repo, tip(repo)!, parent)).toEqual([
      expect.objectContaining({ action: 'locks_acquired', agent: 'a2', locks: [expect.objectContaining({ resource: 'src/api/**', token: 1 }), expect.objectContaining({ resource: 'src/db.ts', token: 2 }), expect.objectContaining({ resource: 'deploy', token: 1 })] }),
    ]);
    expect(ok<LockJson[]>(repo, ['lock', 'list']).map((l) => l.resource).sort()).toEqual(['deploy', 'src/api/**', 'src/db.ts']);

    // A last argument with "/" or a wildcard is a resource: the agent comes from ORC_AGENT; so with --agent.
    const env = { ORC_AGENT: 'a3' };
    const text = orc(repo, ['lock', 'acquire', 'docs/a.md', 'docs/b.md'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^locked docs\/a\.md for a3 until \S+ \(token 1\)\nlocked docs\/b\.md for a3 until \S+ \(token 1\)\n$/);
    const flagged = ok<LockJson[]>(repo, ['--agent', 'a4', 'lock', 'acquire', 'x', 'y']);
    expect(flagged.map((l) => [l.resource, l.agent])).toEqual([
      ['x', 'a4'],
      ['y', 'a4'],
    ]);
    // Two arguments, the last an agent name: as before, one lock for that agent.
    expect(ok<LockJson>(repo, ['lock', 'acquire', 'z', 'a5'])).toMatchObject({ resource: 'z', agent: 'a5', token: 1 });
    // Renewing some of one's own with a new one: one commit, tokens kept.
    const again = ok<LockJson[]>(repo, ['lock', 'acquire', 'src/db.ts', 'deploy', 'cache', 'a2']);
    expect(again.map((l) => [l.resource, l.token])).toEqual([
      ['src/db.ts', 2],
      ['deploy', 1],
      ['cache', 1],
    ]);
  });

  it("is all or nothing: one resource overlapping another agent's lock refuses every one, with no commit", () => {
    const repo = tmpRepo();
    ok(repo, ['lock', 'acquire', 'src/api/users.ts', 'holder']);
    expectRefused(repo, ['lock', 'acquire', 'free-one', 'src/api/**', 'free/two', 'a2'], 1, ['src/api/**', 'holder']);
    expect(ok<LockJson[]>(repo, ['lock', 'list']).map((l) => l.resource)).toEqual(['src/api/users.ts']);
    // Bad input: no commit either (exit 2).
    expectRefused(repo, ['lock', 'acquire', 'ok', '/abs', 'a2'], 2, ['/abs']);
    const lib = open({ repo, agent: 'a2' });
    return lib.then(async (o) => {
      const before = tip(repo);
      await expect(o.acquireLocks(['lib-free', 'src/**'])).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(o.acquireLocks([])).rejects.toMatchObject({ code: 'INVALID' });
      expect(tip(repo)).toBe(before);
      const got = await o.acquireLocks(['lib-free', 'lib/**'], undefined, 5000);
      expect(got.map((l) => [l.resource, l.agent, l.token, l.ttl_ms])).toEqual([
        ['lib-free', 'a2', 1, 5000],
        ['lib/**', 'a2', 1, 5000],
      ]);
      expect(git(repo, 'rev-list', '--count', `${before}..orc`)).toBe('1');
    });
  });

  it('POST /api/locks with resources: 200 with every lock, 409 with none taken', async () => {
    const repo = tmpRepo();
    ok(repo, ['lock', 'acquire', 'db', 'holder']);
    const s = await serve(repo);
    try {
      const good = await req('POST', `${s.base}/locks`, { resources: ['src/a.ts', 'src/b/**'], agent: 'web', ttl_ms: 20000 });
      expect(good.status).toBe(200);
      expect(good.body.acquired).toBe(true);
      expect(good.body.locks.map((l: LockJson) => [l.resource, l.agent, l.token, l.ttl_ms])).toEqual([
        ['src/a.ts', 'web', 1, 20000],
        ['src/b/**', 'web', 1, 20000],
      ]);
      const before = tip(repo);
      const bad = await req('POST', `${s.base}/locks`, { resources: ['other', 'db'], agent: 'web' });
      expect(bad.status).toBe(409);
      expect(bad.body).toMatchObject({ acquired: false, code: 'CONFLICT', holder: 'holder' });
      expect((await req('POST', `${s.base}/locks`, { resources: 'nope', agent: 'web' })).status).toBe(400);
      expect((await req('POST', `${s.base}/locks`, { resource: 'a', resources: ['b'], agent: 'web' })).status).toBe(400);
      expect(tip(repo)).toBe(before);
    } finally {
      await s.stop();
    }
  });
});
