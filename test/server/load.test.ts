import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, orcJson, tmpRepo } from '../helpers.js';
import { req, serve, type Served } from './helpers.js';

let repo: string;
let s: Served;

beforeAll(async () => {
  repo = tmpRepo();
  orcJson(repo, ['ws', 'create', 'load']);
  s = await serve(repo);
}, 30_000);

afterAll(async () => {
  await s.stop();
  cleanup();
});

it('50 readers and 8 writers for 10 s: no errors, no lost writes, every write in the history', async () => {
  const end = Date.now() + 10_000;
  const errors: string[] = [];
  const written: string[] = [];
  let reads = 0;
  const reader = async () => {
    while (Date.now() < end) {
      const r = await req('GET', `${s.base}/status`);
      if (r.status !== 200) errors.push(`read ${r.status} ${r.text}`);
      reads++;
    }
  };
  const writer = async (w: number) => {
    for (let i = 0; Date.now() < end; i++) {
      const r = await req('POST', `${s.base}/workstreams/load/tasks`, { title: `w${w}-${i}`, id: `w${w}-${i}` });
      if (r.status !== 201) errors.push(`write ${r.status} ${r.text}`);
      else written.push(r.body.id);
    }
  };
  await Promise.all([...Array.from({ length: 50 }, reader), ...Array.from({ length: 8 }, (_, i) => writer(i))]);
  expect(errors).toEqual([]);
  expect(written.length).toBeGreaterThan(8);
  expect(reads).toBeGreaterThan(50);
  // Checked by another process (the CLI) and through the server.
  const st = orcJson<{ summary: { tasks: { total: number } } }>(repo, ['status']);
  expect(st.summary.tasks.total).toBe(written.length);
  const tasks = (await req('GET', `${s.base}/workstreams/load/tasks`)).body as { id: string }[];
  const ids = new Set(tasks.map((t) => t.id));
  for (const id of written) expect(ids.has(id)).toBe(true);
  const log = (await req('GET', `${s.base}/log?last=${written.length + 10}`)).body as { op: { op: string; input: { id: string } } | null }[];
  const inLog = new Set(log.filter((e) => e.op?.op === 'task.add').map((e) => e.op!.input.id));
  for (const id of written) expect(inLog.has(id)).toBe(true);
}, 40_000);
