/**
 * Durations: `90s`, `10m`, `2h`, `1d`, `250ms` and plain milliseconds,
 * wherever orc takes ms: the library, and REST (ttl_ms, lease_ms) through a
 * real `orc serve`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration, parseSeconds } from '../../src/model/duration.js';
import { open } from '../../src/ops/orc.js';
import { cleanup, orc, testEnv, tmpRepo } from '../helpers.js';
import { req, serve } from '../server/helpers.js';

afterAll(cleanup);

describe('parseDuration', () => {
  it('reads units, keeps plain numbers for the caller, refuses other text with INVALID', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5000')).toBe('5000');
    expect(parseDuration(5000)).toBe(5000);
    expect(() => parseDuration('10x', 'ttl')).toThrow(expect.objectContaining({ code: 'INVALID', message: expect.stringMatching(/^ttl must be a duration like 90s/) }));
    expect(parseSeconds('30')).toBe(30_000);
    expect(parseSeconds('2m')).toBe(120_000);
  });
});

describe('durations through the library and REST', () => {
  it('library: acquireLock(…, "2m") and claimTask(…, {leaseMs: "90s"})', async () => {
    const repo = tmpRepo();
    const o = await open({ repo, env: testEnv() });
    expect((await o.acquireLock('db', 'a1', '2m')).ttl_ms).toBe(120_000);
    await o.createWorkstream('w');
    const t = await o.addTask('w', 'x');
    expect((await o.claimTask('w', t.id, 'a1', { leaseMs: '90s' })).lease_ms).toBe(90_000);
  });

  it('REST: ttl_ms "5m" and lease_ms "1h" are taken; "soon" is 400', async () => {
    const repo = tmpRepo();
    orc(repo, ['ws', 'create', 'w']);
    const id = orc(repo, ['t', 'add', 'w', 'x']).stdout.trim();
    const s = await serve(repo);
    try {
      const l = await req('POST', `${s.base}/locks`, { resource: 'deploy', agent: 'a1', ttl_ms: '5m' });
      expect(l.status).toBeLessThan(300);
      expect(l.body.ttl_ms).toBe(300_000);
      const c = await req('POST', `${s.base}/workstreams/w/tasks/${id}/claim`, { agent: 'a1', lease_ms: '1h' });
      expect(c.status).toBe(200);
      expect(c.body.lease_ms).toBe(3_600_000);
      expect((await req('POST', `${s.base}/locks`, { resource: 'other', agent: 'a1', ttl_ms: 'soon' })).status).toBe(400);
    } finally {
      await s.stop();
    }
  }, 30_000);
});
