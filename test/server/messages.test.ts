/**
 * Messages over REST with a real `orc serve`: send, inbox (?unread=1), read
 * and ack per recipient (agent from the body or X-Orc-Agent), thread, and
 * bad input answered 400 with no commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, orcJson, tmpRepo } from '../helpers.js';
import { req, serve, type Served } from './helpers.js';

let repo: string;
let s: Served;
const tip = () => git(repo, 'rev-parse', 'orc');

beforeAll(async () => {
  repo = tmpRepo();
  for (const a of ['alice', 'bob', 'carol']) orcJson(repo, ['a', 'register', a]);
  orcJson(repo, ['ws', 'create', 'api']);
  orcJson(repo, ['t', 'add', 'api', 'x', '--id', 't1']);
  orcJson(repo, ['t', 'claim', 'api', 't1', 'carol']);
  s = await serve(repo);
}, 30_000);

afterAll(async () => {
  expect(await s.stop()).toBe(0);
  cleanup();
});

describe('REST messages', () => {
  let id: string;
  const body = 'line one\r\n<img src=x onerror=alert(1)> ✓\n\n';

  it('POST /api/messages sends as the X-Orc-Agent (or body "from") agent; 201 with the message', async () => {
    const r = await req('POST', `${s.base}/messages`, { to: ['bob', 'carol'], subject: 'over rest', body, importance: 'high', ack: true }, { 'x-orc-agent': 'alice' });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ from: 'alice', to: ['bob', 'carol'], subject: 'over rest', importance: 'high', ack_required: true, bytes: Buffer.byteLength(body) });
    id = r.body.id;
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('alice');
    const w = await req('POST', `${s.base}/messages`, { from: 'bob', to: '@ws:api', subject: 'to the api holders', thread: id });
    expect(w.status, w.text).toBe(201);
    expect(w.body).toMatchObject({ from: 'bob', to: ['carol'], thread: id, reply_to: id });
    const got = await req('GET', `${s.base}/messages/${id}`);
    expect(got.body.body).toBe(body);
    const th = await req('GET', `${s.base}/messages/${w.body.id}/thread`);
    expect(th.body.map((m: { id: string }) => m.id)).toEqual([id, w.body.id]);
    const all = await req('GET', `${s.base}/messages?agent=bob`);
    expect(all.body.map((m: { id: string }) => m.id)).toEqual([w.body.id, id]);
  });

  it('GET /api/agents/:id/inbox (?unread=1); POST read and ack are per recipient', async () => {
    expect((await req('GET', `${s.base}/agents/bob/inbox?unread=1`)).body.map((m: { id: string }) => m.id)).toEqual([id]);
    const rd = await req('POST', `${s.base}/messages/${id}/read`, { agent: 'bob' });
    expect(rd.status, rd.text).toBe(200);
    expect(rd.body.read_at).toBeTruthy();
    expect(rd.body.body).toBe(body);
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('bob');
    expect((await req('GET', `${s.base}/agents/bob/inbox?unread=1`)).body).toEqual([]);
    expect((await req('GET', `${s.base}/agents/carol/inbox?unread=1`)).body).toHaveLength(2);
    const ack = await req('POST', `${s.base}/messages/${id}/ack`, {}, { 'x-orc-agent': 'carol' });
    expect(ack.status, ack.text).toBe(200);
    expect(ack.body).toMatchObject({ id, agent: 'carol' });
    const box = (await req('GET', `${s.base}/agents/carol/inbox`)).body as { id: string; acked_at: string | null; unread: boolean }[];
    expect(box.find((m) => m.id === id)).toMatchObject({ unread: false, acked_at: ack.body.acked_at });
    const no = await req('POST', `${s.base}/messages/${id}/ack`, { agent: 'alice' });
    expect(no.status).toBe(409);
  });

  it('bad input: 400 (unknown recipient, empty subject, body over 1 MiB, hostile names), 404 for no such message; no commit', async () => {
    const before = tip();
    const bad: [unknown, number][] = [
      [{ to: 'nobody', subject: 'hi' }, 400],
      [{ to: 'bob', subject: '' }, 400],
      [{ to: 'bob' }, 400],
      [{ subject: 'hi' }, 400],
      [{ to: '../../x', subject: 'hi' }, 400],
      [{ to: 'bob', subject: 'hi', cc: [{}] }, 400],
      [{ to: 'bob', subject: 'hi', importance: 'urgent' }, 400],
      [{ to: 'bob', subject: 'hi', body: 42 }, 400],
      [{ to: 'bob', subject: 'hi', thread: '20260101000000-abcdef' }, 404],
      [{ to: 'bob', subject: 'big', body: 'x'.repeat(1_048_577) }, 413],
    ];
    for (const [b, status] of bad) {
      const r = await req('POST', `${s.base}/messages`, b, { 'x-orc-agent': 'alice' });
      expect({ b: JSON.stringify(b).slice(0, 80), status: r.status }).toEqual({ b: JSON.stringify(b).slice(0, 80), status });
      expect(typeof r.body.error).toBe('string');
    }
    expect((await req('GET', `${s.base}/messages/20260101000000-abcdef`)).status).toBe(404);
    expect((await req('GET', `${s.base}/messages/..%2F..%2Fx`)).status).toBe(400);
    expect((await req('POST', `${s.base}/messages/20260101000000-abcdef/read`, { agent: 'bob' })).status).toBe(404);
    expect((await req('GET', `${s.base}/agents/..x/inbox`)).status).toBe(400);
    expect(tip()).toBe(before);
  });
});
