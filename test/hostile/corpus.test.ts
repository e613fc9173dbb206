/**
 * The hostile-input corpus (corpus.ts) against every name- and value-taking
 * surface: the library in-process for all of it, then samples through the
 * REST API of a real server and through the CLI binary. Each value is either
 * refused with the documented code and no commit (branch tip unchanged), or
 * accepted and read back exactly. Whatever was accepted passes git fsck --strict.
 */
import * as http from 'node:http';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, OrcError, type Orc } from '../../src/index.js';
import { cleanup, orc, testEnv, tmpRepo, waitMaintenance } from '../helpers.js';
import { serve, type Served } from '../server/helpers.js';
import { NAMES, NUMBERS } from './corpus.js';

afterAll(cleanup);

type Surface = { name: string; values: unknown[]; unset?: unknown; write: (lib: Orc, v: any, i: number) => Promise<unknown>; readBack: (lib: Orc, v: any, i: number) => Promise<unknown> };

const SURFACES: Surface[] = [
  { name: 'workstream name', values: NAMES, write: (l, v) => l.createWorkstream(v), readBack: async (l, v) => (await l.getWorkstream(v))?.name },
  { name: 'workstream priority', values: NUMBERS, write: (l, v, i) => l.createWorkstream(`wp${i}`, '', v), readBack: async (l, _v, i) => (await l.getWorkstream(`wp${i}`))?.priority, unset: 3 },
  { name: 'agent id', values: NAMES, write: (l, v) => l.registerAgent(v), readBack: async (l, v) => (await l.listAgents()).find((a) => a.id === v)?.id },
  { name: 'agent type', values: NAMES, write: (l, v, i) => l.registerAgent(`at${i}`, v), readBack: async (l, _v, i) => (await l.listAgents()).find((a) => a.id === `at${i}`)?.type, unset: 'general' },
  { name: 'task id', values: NAMES, write: (l, v) => l.addTask('w', 'title', '', undefined, { id: v }), readBack: async (l, v) => (await l.getTask('w', v))?.id },
  { name: 'task title', values: NAMES, write: (l, v, i) => l.addTask('w', v, '', undefined, { id: `ti${i}` }), readBack: async (l, _v, i) => (await l.getTask('w', `ti${i}`))?.title },
  { name: 'task description', values: NAMES, write: (l, v, i) => l.addTask('w', 't', v, undefined, { id: `de${i}` }), readBack: async (l, _v, i) => (await l.getTask('w', `de${i}`))?.description, unset: '' },
  { name: 'task priority', values: NUMBERS, write: (l, v, i) => l.addTask('w', 't', '', v, { id: `pr${i}` }), readBack: async (l, _v, i) => (await l.getTask('w', `pr${i}`))?.priority, unset: 5 },
  { name: 'task estimate', values: NUMBERS, write: (l, v, i) => l.addTask('w', 't', '', undefined, { id: `es${i}`, estimate: v }), readBack: async (l, _v, i) => (await l.getTask('w', `es${i}`))?.estimate, unset: null },
  { name: 'task resource', values: NAMES, write: (l, v, i) => l.addTask('w', 't', '', undefined, { id: `re${i}`, resources: [v] }), readBack: async (l, _v, i) => (await l.getTask('w', `re${i}`))?.resources[0] },
  { name: 'task topic', values: NAMES, write: (l, v, i) => l.addTask('w', 't', '', undefined, { id: `kb${i}`, kb: [v] }), readBack: async (l, _v, i) => (await l.getTask('w', `kb${i}`))?.kb[0] },
  { name: 'knowledge topic', values: NAMES, write: (l, v) => l.writeKnowledge(v, 'content'), readBack: async (l, v) => ((await l.readKnowledge(v)) === 'content' && (await l.listKnowledge()).includes(v) ? v : 'not read back') },
  { name: 'knowledge content', values: NAMES, write: (l, v, i) => l.writeKnowledge(`c${i}`, v), readBack: (l, _v, i) => l.readKnowledge(`c${i}`) },
  { name: 'lock resource', values: NAMES, write: (l, v) => l.acquireLock(v, 'locker'), readBack: async (l, v) => (await l.listLocks()).find((k) => k.resource === v)?.resource },
  { name: 'lock ttl', values: NUMBERS, write: (l, v, i) => l.acquireLock(`ttl${i}`, 'locker', v), readBack: async (l, _v, i) => (await l.listLocks()).find((k) => k.resource === `ttl${i}`)?.ttl_ms, unset: 60_000 },
  { name: 'event action', values: NAMES, write: (l, v) => l.logEvent(v), readBack: async (l, v) => (await l.getEvents({ action: v }))[0]?.action },
  { name: 'event data', values: [...NAMES, 'x'.repeat(30_000)], write: (l, v, i) => l.logEvent('probe', { field: v, n: i }), readBack: async (l, _v, i) => (await l.getEvents({ action: 'probe' })).find((e) => e.n === i)?.field },
];

/** What an accepted value must read back as: the same string; for numbers the number it denotes, and the default for '' (unset). */
const expected = (s: Surface, v: unknown): unknown => ('unset' in s && v === '' ? s.unset : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) + 0 : typeof v === 'number' ? v + 0 : v);

describe('hostile corpus', () => {
  it(`library: ${SURFACES.length} surfaces × the corpus (${NAMES.length} names, ${NUMBERS.length} numbers)`, async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, agent: 'prober', env: testEnv() });
    await lib.createWorkstream('w');
    const tally: Record<string, { accepted: number; refused: number }> = {};
    for (const s of SURFACES) {
      const t = (tally[s.name] = { accepted: 0, refused: 0 });
      for (let i = 0; i < s.values.length; i++) {
        const v = s.values[i];
        const label = `${s.name} ${JSON.stringify(v)}`;
        const before = lib.store.tip();
        let err: unknown = null;
        try {
          await s.write(lib, v, i);
        } catch (e) {
          err = e;
        }
        if (err) {
          expect(err, `${label}: ${String(err)}`).toBeInstanceOf(OrcError);
          expect(['INVALID', 'CONFLICT'], `${label}: ${(err as OrcError).message}`).toContain((err as OrcError).code);
          expect(lib.store.tip(), `${label}: no commit`).toBe(before);
          t.refused++;
        } else {
          expect(lib.store.tip(), `${label}: one commit`).not.toBe(before);
          expect(await s.readBack(lib, v, i), `${label}: read back`).toEqual(expected(s, v));
          t.accepted++;
        }
      }
    }
    // Every surface both accepts and refuses something: the corpus reaches past its checks.
    for (const [name, t] of Object.entries(tally)) {
      expect(t.accepted, `${name} accepts something`).toBeGreaterThan(0);
      expect(t.refused, `${name} refuses something`).toBeGreaterThan(0);
    }
    waitMaintenance(repo);
    const fsck = spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo, env: testEnv(), encoding: 'utf8' });
    expect(fsck.status, fsck.stderr + fsck.stdout).toBe(0);
    // And status/lists still read it all.
    expect(orc(repo, ['status']).code).toBe(0);
  }, 180_000);
});

describe('hostile corpus over REST and the CLI', () => {
  let repo: string;
  let s: Served;
  let lib: Orc;
  beforeAll(async () => {
    repo = tmpRepo();
    lib = await open({ repo, agent: 'prober', env: testEnv() });
    await lib.createWorkstream('w');
    s = await serve(repo);
  });
  afterAll(async () => {
    await s?.stop();
  });

  function send(method: string, path: string, body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      const data = Buffer.from(JSON.stringify(body));
      const r = http.request({ host: '127.0.0.1', port: s.port, method, path, headers: { 'content-type': 'application/json', 'content-length': data.length, 'x-orc-agent': 'rest' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      r.on('error', reject);
      r.end(data);
    });
  }

  const SAMPLE = NAMES.filter((_, i) => i % 6 === 0);
  const REST: { name: string; write: (v: string, i: number) => Promise<number>; readBack: (v: string, i: number) => Promise<unknown> }[] = [
    { name: 'POST /api/workstreams name', write: (v) => send('POST', '/api/workstreams', { name: v }), readBack: async (v) => (await lib.getWorkstream(v))?.name },
    { name: 'POST /api/agents type', write: (v, i) => send('POST', '/api/agents', { id: `ra${i}`, type: v }), readBack: async (_v, i) => (await lib.listAgents()).find((a) => a.id === `ra${i}`)?.type },
    { name: 'POST /api/locks resource', write: (v) => send('POST', '/api/locks', { resource: v, agent: 'rest' }), readBack: async (v) => (await lib.listLocks()).find((k) => k.resource === v)?.resource },
    { name: 'POST tasks title and id', write: (v) => send('POST', '/api/workstreams/w/tasks', { title: v, id: v }), readBack: async (v) => (await lib.getTask('w', v))?.title },
    { name: 'PUT knowledge content', write: (v, i) => send('PUT', `/api/knowledge/rc${i}`, { content: v }), readBack: (_v, i) => lib.readKnowledge(`rc${i}`) },
  ];

  it(`REST: ${REST.length} routes × ${SAMPLE.length} values: 400 and no commit, or 2xx and read back`, async () => {
    for (const r of REST) {
      for (let i = 0; i < SAMPLE.length; i++) {
        const v = SAMPLE[i]!;
        const label = `${r.name} ${JSON.stringify(v)}`;
        const before = lib.store.tip();
        const status = await r.write(v, i);
        if (status >= 400) {
          expect([400, 409], label).toContain(status);
          expect(lib.store.tip(), `${label}: no commit`).toBe(before);
        } else {
          expect(status, label).toBeLessThan(300);
          expect(await r.readBack(v, i), `${label}: read back`).toEqual(v);
        }
      }
    }
  }, 120_000);

  it('CLI binary: a sample of names as topics, workstreams and lock resources', async () => {
    // argv carries neither NUL nor a lone surrogate: those are for the library and REST.
    const sample = NAMES.filter((v, i) => i % 25 === 0 && !v.includes('\0') && !/\p{Cs}/u.test(v));
    for (const [i, v] of sample.entries()) {
      for (const [args, readBack] of [
        [['kb', 'write', v, 'cli content'], async () => ((await lib.readKnowledge(v)) === 'cli content' ? v : null)],
        [['ws', 'create', v], async () => (await lib.getWorkstream(v))?.name],
        [['lock', 'acquire', v, `cli${i}`], async () => (await lib.listLocks()).find((k) => k.resource === v)?.resource],
      ] as [string[], () => Promise<unknown>][]) {
        const label = `orc ${JSON.stringify(args)}`;
        const before = lib.store.tip();
        const r = orc(repo, ['--', ...args].slice(1));
        if (r.code !== 0) {
          expect([1, 2], `${label}: ${r.stderr}`).toContain(r.code);
          expect(r.stderr, label).not.toMatch(/^\s+at /m);
          expect(lib.store.tip(), `${label}: no commit`).toBe(before);
        } else {
          expect(await readBack(), `${label}: read back`).toEqual(v);
        }
      }
    }
  }, 120_000);
});
