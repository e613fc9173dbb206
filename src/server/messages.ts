/**
 * REST routes for messages, mounted on the /api router by app.ts:
 *
 *   GET  /api/messages[?agent=A&last=N]      newest first (all, or from/to A)
 *   POST /api/messages                       {to, subject, body?, cc?, thread?, importance?, ack?, from?} -> 201
 *   GET  /api/messages/:id                   the message with its body as text
 *   GET  /api/messages/:id/thread            its thread, oldest first
 *   POST /api/messages/:id/read | /ack       {agent?}: for that recipient
 *   GET  /api/agents/:id/inbox[?unread=1&thread=ID]
 *
 * The sender and the reader are `from`/`agent` of the body, else the agent
 * named in X-Orc-Agent, else the server's own.
 */
import type { Request, Response, Router } from 'express';
import { invalid } from '../errors.js';
import { checkInt } from '../model/validate.js';
import * as Msg from '../ops/messages.js';
import type { Orc } from '../ops/orc.js';
import type { Cached, ReadCache } from './cache.js';
import { body, query, str, type Body } from './request.js';


const flag = (v: string | undefined, name: string): boolean => {
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw invalid(`${name}=${JSON.stringify(v)} is not 0 or 1`);
};

const send = (res: Response, c: Cached) => res.status(200).type('application/json; charset=utf-8').send(c.body);
const json = (v: unknown) => ({ body: JSON.stringify(v), type: 'json' as const });

export function mountMessages(a: Router, orc: Orc, acting: (req: Request) => Orc, cache: ReadCache): void {
  const by = (req: Request, named: string | undefined): Orc => (named ? orc.as(named) : acting(req));

  a.get('/messages', async (req, res) => {
    const agent = query(req, 'agent');
    const last = checkInt('last', query(req, 'last') ?? '100', 1, 10_000);
    send(res, await cache.get(`messages:${agent ?? ''}:${last}`, async () => json(await Msg.listMessages(orc, { agent, last }))));
  });
  a.post('/messages', async (req, res) => {
    const b = body(req);
    const to = b.to;
    if (to !== undefined && typeof to !== 'string' && !(Array.isArray(to) && to.every((x) => typeof x === 'string'))) throw invalid('"to" must be an agent, "a,b", "@all", "@ws:W", or a list of those');
    const cc = b.cc;
    if (cc !== undefined && cc !== null && typeof cc !== 'string' && !(Array.isArray(cc) && cc.every((x) => typeof x === 'string'))) throw invalid('"cc" must be a string or a list of strings');
    if (b.ack !== undefined && typeof b.ack !== 'boolean') throw invalid('"ack" must be true or false');
    const out = await Msg.sendMessage(by(req, str(b, 'from') ?? str(b, 'agent')), {
      to: (to ?? []) as string | string[],
      subject: str(b, 'subject') ?? '',
      body: str(b, 'body'),
      cc: (cc ?? undefined) as string | string[] | undefined,
      thread: str(b, 'thread'),
      importance: str(b, 'importance'),
      ack: b.ack === true,
    });
    res.status(201).json({ ...out.result, ...(out.published === false ? { published: false } : {}) });
  });
  a.get('/messages/:id', async (req, res) => {
    const id = String(req.params.id);
    send(res, await cache.get(`message:${id}`, async () => {
      const m = await Msg.getMessage(orc, id);
      return json({ ...m.message, body: m.body.toString('utf8') });
    }));
  });
  a.get('/messages/:id/thread', async (req, res) => {
    const id = String(req.params.id);
    send(res, await cache.get(`message.thread:${id}`, async () => json(await Msg.thread(orc, id))));
  });
  a.post('/messages/:id/read', async (req, res) => {
    const who = by(req, str(body(req), 'agent'));
    const r = await Msg.readMessage(who, String(req.params.id), who.agent ?? undefined);
    res.json({ ...r.message, body: r.body.toString('utf8'), read_at: r.state?.read_at ?? null, acked_at: r.state?.acked_at ?? null });
  });
  a.post('/messages/:id/ack', async (req, res) => {
    const who = by(req, str(body(req), 'agent'));
    res.json(await Msg.ackMessage(who, String(req.params.id)));
  });
  a.get('/agents/:id/inbox', async (req, res) => {
    const agent = String(req.params.id);
    const unread = flag(query(req, 'unread'), 'unread');
    const thread = query(req, 'thread');
    send(res, await cache.get(`inbox:${agent}:${unread}:${thread ?? ''}`, async () => json(await Msg.inbox(orc, agent, { unread, thread }))));
  });
}
