/**
 * The hostile corpus on the surfaces this issue added: `orc compact
 * --keep-days` (every number of the corpus, as the CLI gets it) and REST's
 * `?all=` on task lists. Refused with exit 2 / HTTP 400 and no commit, or
 * taken and read back as the number it denotes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { req, serve } from '../server/helpers.js';
import { NUMBERS, SHELL } from './corpus.js';

afterAll(cleanup);

const tip = (repo: string) => git(repo, 'rev-parse', 'orc');

describe('hostile input on orc compact and ?all=', () => {
  it('orc compact --keep-days: exit 2 and no commit, or a compaction that records the number given', () => {
    const repo = tmpRepo();
    git(repo, 'config', 'orc.compaction', 'false');
    expect(orc(repo, ['ws', 'create', 'W']).code).toBe(0);
    const values = [...NUMBERS.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String), ...SHELL.slice(0, 6)];
    for (const v of values) {
      const before = tip(repo);
      const r = orc(repo, ['compact', '--keep-days', v, '--json']);
      if (r.code === 0) {
        expect(/^\s*\d+\s*$/.test(v), `accepted ${JSON.stringify(v)}`).toBe(true);
        expect(JSON.parse(r.stdout), v).toMatchObject({ compacted: true });
        expect(git(repo, 'log', '-1', '--format=%B', 'orc')).toContain(`"keep_days":${Number(v)}`);
      } else {
        expect(r.code, `${JSON.stringify(v)}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(tip(repo), v).toBe(before);
      }
    }
  });

  it('GET /api/workstreams/W/tasks?all=: 400 and nothing written, or the list', async () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'W']).code).toBe(0);
    expect(orc(repo, ['t', 'add', 'W', 'one']).code).toBe(0);
    const before = tip(repo);
    const server = await serve(repo, [], { ORC_AGENT: 'server' });
    try {
      for (const v of ['1', '0', 'true', 'false', '', '2', 'yes', '1;rm', '%00', '..', '1&all=1']) {
        const r = await req("GET", `${server.base}/workstreams/W/tasks?all=${encodeURIComponent(v)}`);
        expect([200, 400], `${v}: ${r.status}`).toContain(r.status);
        if (r.status === 200) expect(Array.isArray(r.body) || Array.isArray((r.body as { tasks?: unknown }).tasks), v).toBe(true);
      }
      expect(tip(repo)).toBe(before);
    } finally {
      await server.stop();
    }
  });
});
