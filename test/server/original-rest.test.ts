/**
 * The original server's REST answers, route by route (its README's table):
 * the status code and every key it sent, side by side with what orc adds.
 * A real `orc serve` process over a real repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { cleanup, git, orcJson, testEnv, tmpRepo } from '../helpers.js';
import { commitCount, eventsAdded, tip } from '../cli/util.js';
import { req, serve, type Served } from './helpers.js';

let repo: string;
let s: Served;

const TASK_KEYS = ['id', 'title', 'description', 'status', 'priority', 'estimate', 'assigned_to', 'created_at', 'updated_at', 'result'];
const WS_KEYS = ['name', 'description', 'priority', 'status', 'tasks', 'created_at', 'task_count', 'pending', 'in_progress', 'done'];
const AGENT_KEYS = ['id', 'type', 'status', 'capabilities', 'registered_at', 'last_seen', 'stale'];
const LOCK_KEYS = ['resource', 'agent', 'acquired_at', 'ttl_ms'];
const hasKeys = (o: unknown, keys: string[]) => expect(Object.keys(o as object)).toEqual(expect.arrayContaining(keys));

beforeAll(async () => {
  repo = tmpRepo();
  s = await serve(repo);
}, 30_000);

afterAll(async () => {
  expect(await s.stop()).toBe(0);
  cleanup();
});

describe("the original's routes, codes and keys (orc's additions beside them)", () => {
  let taskId = '';

  it('POST/GET /api/workstreams: 201 with tasks: []; entries with task_count, pending, in_progress, done and tasks; ?tasks=0 leaves tasks out', async () => {
    const w = await req('POST', `${s.base}/workstreams`, { name: 'build', description: 'Build things', priority: 1 });
    expect(w.status).toBe(201);
    hasKeys(w.body, ['description', 'priority', 'status', 'tasks', 'created_at']);
    expect(w.body.tasks).toEqual([]);
    expect((await req('POST', `${s.base}/workstreams`, {})).status).toBe(400);

    const t = await req('POST', `${s.base}/workstreams/build/tasks`, { title: 'Ship v1', description: 'd', priority: 1, estimate: '2h' });
    expect(t.status).toBe(201);
    hasKeys(t.body, TASK_KEYS);
    expect(t.body.estimate).toBe('2h');
    taskId = t.body.id;
    expect((await req('POST', `${s.base}/workstreams/build/tasks`, { estimate: 3 })).status).toBe(400);
    expect((await req('POST', `${s.base}/workstreams/build/tasks`, { title: 'n', estimate: 3 })).body.estimate).toBe(3);

    const list = await req('GET', `${s.base}/workstreams`);
    expect(list.status).toBe(200);
    hasKeys(list.body[0], WS_KEYS);
    expect(list.body[0]).toMatchObject({ name: 'build', task_count: 2, pending: 2, in_progress: 0, done: 0 });
    hasKeys(list.body[0].tasks[0], TASK_KEYS);
    expect(list.body[0].tasks.map((x: { id: string }) => x.id)[0]).toBe(taskId);
    expect(list.body[0].task_counts.total).toBe(2); // orc's
    const lean = await req('GET', `${s.base}/workstreams?tasks=0`);
    expect(lean.body[0]).not.toHaveProperty('tasks');
    expect(lean.body[0].pending).toBe(2);
    expect((await req('GET', `${s.base}/workstreams?tasks=maybe`)).status).toBe(400);
  });

  it('GET /api/workstreams/:name/tasks: 200 list, 404 unknown', async () => {
    const l = await req('GET', `${s.base}/workstreams/build/tasks`);
    expect(l.status).toBe(200);
    hasKeys(l.body[0], TASK_KEYS);
    expect((await req('GET', `${s.base}/workstreams/nope/tasks`)).status).toBe(404);
  });

  it('claim 200; next 200 with the task or {message: "No pending tasks"}; complete 200 with an empty body, for the owner', async () => {
    const c = await req('POST', `${s.base}/workstreams/build/tasks/${taskId}/claim`, { agent: 'agent-1' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'in_progress', assigned_to: 'agent-1' });
    expect((await req('POST', `${s.base}/workstreams/build/tasks/${taskId}/claim`, {})).status).toBe(400);
    const n = await req('POST', `${s.base}/workstreams/build/next`, { agent: 'agent-2' });
    expect(n.status).toBe(200);
    hasKeys(n.body, TASK_KEYS);
    const none = await req('POST', `${s.base}/workstreams/build/next`, { agent: 'agent-2' });
    expect([none.status, none.body]).toEqual([200, { message: 'No pending tasks' }]);
    expect((await req('POST', `${s.base}/workstreams/build/next`, {})).status).toBe(400);
    // The original's dashboard completed with an empty body: done for the owner, and the event says by whom.
    const done = await req('POST', `${s.base}/workstreams/build/tasks/${taskId}/complete`, {});
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'done', assigned_to: 'agent-1' });
    const c1 = tip(repo)!;
    expect(eventsAdded(repo, c1, `${c1}~1`)[0]).toMatchObject({ action: 'task_completed', agent: 'system', overrode: 'agent-1', on_behalf_of: 'agent-1', by: 'operator' });
  });

  it('agents: POST 201, GET with last_seen and stale, heartbeat {ok: true}', async () => {
    const a = await req('POST', `${s.base}/agents`, { id: 'agent-9', type: 'worker', capabilities: ['code'] });
    expect(a.status).toBe(201);
    hasKeys(a.body, ['type', 'status', 'capabilities', 'registered_at', 'last_seen']);
    expect((await req('POST', `${s.base}/agents`, {})).status).toBe(400);
    const l = await req('GET', `${s.base}/agents`);
    expect(l.status).toBe(200);
    hasKeys(l.body.find((x: { id: string }) => x.id === 'agent-9'), AGENT_KEYS);
    const hb = await req('POST', `${s.base}/agents/agent-9/heartbeat`);
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ ok: true, id: 'agent-9' });
    expect(hb.body.last_seen).toBe(hb.body.last_heartbeat);
  });

  it('knowledge: PUT {ok: true} by the body\'s agent, GET {topic, content} or 404, DELETE {ok: true} by the body\'s agent or 404', async () => {
    const p = await req('PUT', `${s.base}/knowledge/findings`, { content: '# Results', agent: 'agent-9' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ ok: true, topic: 'findings' });
    let c = tip(repo)!;
    expect(git(repo, 'log', '-1', '--format=%an', c)).toBe('agent-9');
    expect(eventsAdded(repo, c, `${c}~1`)[0]).toMatchObject({ action: 'knowledge_written', agent: 'agent-9' });
    expect((await req('PUT', `${s.base}/knowledge/x`, {})).status).toBe(400);
    expect((await req('GET', `${s.base}/knowledge`)).body).toEqual(['findings']);
    expect((await req('GET', `${s.base}/knowledge/findings`)).body).toEqual({ topic: 'findings', content: '# Results' });
    expect((await req('GET', `${s.base}/knowledge/none`)).status).toBe(404);
    const d = await req('DELETE', `${s.base}/knowledge/findings`, { agent: 'agent-1' });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ ok: true, topic: 'findings' });
    c = tip(repo)!;
    expect(eventsAdded(repo, c, `${c}~1`)[0]).toMatchObject({ action: 'knowledge_deleted', agent: 'agent-1' });
    expect((await req('DELETE', `${s.base}/knowledge/findings`)).status).toBe(404);
  });

  it('locks: POST 200 {acquired: true} with the lock and token, 409 {acquired: false}; ttl honoured; DELETE 200 {released}', async () => {
    const l = await req('POST', `${s.base}/locks`, { resource: 'git', agent: 'agent-1', ttl: 5000 });
    expect(l.status).toBe(200);
    expect(l.body).toMatchObject({ acquired: true, resource: 'git', agent: 'agent-1', ttl_ms: 5000, token: 1 });
    expect(l.body.lock).toMatchObject({ resource: 'git', token: 1 });
    expect(Date.parse(l.body.expires_at) - Date.parse(l.body.acquired_at)).toBe(5000);
    const held = await req('POST', `${s.base}/locks`, { resource: 'git', agent: 'agent-2' });
    expect(held.status).toBe(409);
    expect(held.body).toMatchObject({ acquired: false, holder: 'agent-1' });
    expect(typeof held.body.error).toBe('string');
    expect((await req('POST', `${s.base}/locks`, { agent: 'agent-1' })).status).toBe(400);
    expect((await req('POST', `${s.base}/locks`, { resource: 'x', agent: 'agent-1', ttl: 5000, ttl_ms: 6000 })).status).toBe(400);
    const list = await req('GET', `${s.base}/locks`);
    expect(list.status).toBe(200);
    hasKeys(list.body[0], LOCK_KEYS);
    const n = commitCount(repo);
    expect((await req('DELETE', `${s.base}/locks/git`, { agent: 'agent-2' })).body).toMatchObject({ released: false });
    expect(commitCount(repo)).toBe(n);
    const r = await req('DELETE', `${s.base}/locks/git`, { agent: 'agent-1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ released: true, resource: 'git', token: 1 });
    expect((await req('DELETE', `${s.base}/locks/git`, { agent: 'agent-1' })).body).toMatchObject({ released: false });
    expect((await req('DELETE', `${s.base}/locks/git`, {})).status).toBe(400);
  });

  it('GET /api/status: version (the op count) and updated_at, workstreams with tasks (?tasks=0 without), agents with last_seen', async () => {
    const st = await req('GET', `${s.base}/status`);
    expect(st.status).toBe(200);
    hasKeys(st.body, ['version', 'updated_at', 'workstreams', 'agents', 'active_locks', 'recent_events', 'knowledge_topics']);
    expect(st.body.version).toBe(commitCount(repo));
    expect(st.body.updated_at).toBe(new Date(Number(git(repo, 'log', '-1', '--format=%ct', 'orc')) * 1000).toISOString());
    hasKeys(st.body.workstreams[0], WS_KEYS);
    hasKeys(st.body.agents[0], AGENT_KEYS);
    expect(st.body).toHaveProperty('summary'); // orc's
    const lean = await req('GET', `${s.base}/status?tasks=0`);
    expect(lean.body.workstreams[0]).not.toHaveProperty('tasks');
    expect(lean.body.version).toBe(st.body.version);
    const tx = await req('GET', `${s.base}/status/text`);
    expect([tx.status, tx.type]).toEqual([200, expect.stringMatching(/text\/plain/)]);
  });

  it('GET /api/events: the whole log with no `last` (streamed), filters as the original', async () => {
    const lib = await open({ repo, agent: 'bulk', env: testEnv() });
    for (let i = 0; i < 120; i++) await lib.logEvent('tick', { i });
    const all = await fetch(`${s.base}/events`);
    expect(all.status).toBe(200);
    expect(all.headers.get('transfer-encoding')).toBe('chunked');
    const events = (await all.json()) as { ts: string; agent: string; action: string; i?: number }[];
    const ticks = events.filter((e) => e.action === 'tick');
    expect(ticks.map((e) => e.i)).toEqual([...Array(120).keys()]);
    expect(events.length).toBe(orcJson<unknown[]>(repo, ['events', '--last', '100000']).length);
    for (const e of events) hasKeys(e, ['ts', 'agent', 'action']);
    const f = await req('GET', `${s.base}/events?agent=bulk&action=tick&last=3`);
    expect(f.body.map((e: { i: number }) => e.i)).toEqual([117, 118, 119]);
    const since = await req('GET', `${s.base}/events?action=tick&since=${encodeURIComponent(ticks[100]!.ts)}`);
    expect(since.body.length).toBeGreaterThanOrEqual(20);
    expect(since.body.every((e: { action: string }) => e.action === 'tick')).toBe(true);
    expect((await req('GET', `${s.base}/events?since=nope`)).status).toBe(400);
  });

  it('unknown routes: 404 {error}', async () => {
    const u = await req('GET', `${s.base}/nope`);
    expect(u.status).toBe(404);
    expect(typeof u.body.error).toBe('string');
  });
});
