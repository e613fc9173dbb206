import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanup, orc, orcJson, tmpRepo } from './helpers.js';

afterAll(cleanup);

interface St {
  summary: { tasks: { pending: number; in_progress: number; done: number; total: number } };
  workstreams: { name: string; task_counts: { pending: number; done: number } }[];
}

it('task counts memoised per shard tree stay right across processes, and a damaged cache is ignored', () => {
  const repo = tmpRepo();
  orc(repo, ['ws', 'create', 'w']);
  const ids = Array.from({ length: 12 }, (_, i) => orc(repo, ['t', 'add', 'w', `t${i}`]).stdout.trim());
  expect(orcJson<St>(repo, ['status']).summary.tasks).toMatchObject({ pending: 12, total: 12 });
  const memo = path.join(repo, '.git', 'orc', 'memo.json');
  expect(fs.existsSync(memo)).toBe(true);
  // Other processes change tasks; the next status must see it although the cache was written before.
  orc(repo, ['t', 'claim', 'w', ids[0]!, 'a1']);
  orc(repo, ['t', 'complete', 'w', ids[1]!, 'r']);
  orc(repo, ['t', 'add', 'w', 'late']);
  expect(orcJson<St>(repo, ['status']).summary.tasks).toMatchObject({ pending: 11, in_progress: 1, done: 1, total: 13 });
  expect(orcJson<St['workstreams']>(repo, ['ws', 'list'])[0]!.task_counts).toMatchObject({ pending: 11, done: 1 });
  fs.writeFileSync(memo, '{not json');
  expect(orcJson<St>(repo, ['status']).summary.tasks).toMatchObject({ pending: 11, in_progress: 1, done: 1, total: 13 });
  fs.writeFileSync(memo, JSON.stringify({ v: 2, entries: { x: 1 } }));
  expect(orcJson<St>(repo, ['status']).summary.tasks.total).toBe(13);
});
