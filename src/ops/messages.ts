/**
 * Messages between agents, as library functions over an open Orc (the CLI,
 * the server and the MCP tools call these). Sending is a non-exclusive op:
 * it commits locally and is published like `t add`, or queued for `orc sync`.
 */
import { crypto } from '../node.js';
import { OrcError } from '../errors.js';
import * as M from '../model/messages.js';
import { checkName } from '../model/validate.js';
import type { OpOutcome } from './engine.js';
import type { Orc } from './orc.js';

export type { InboxEntry, Message, RecipientState } from '../model/messages.js';

export interface SendOptions {
  /** An agent, `a,b`, `@all`, `@ws:W`, or a list of those. */
  to: string | string[];
  subject: string;
  body?: string | Buffer;
  cc?: string | string[];
  /** A message of the thread this one answers. */
  thread?: string | null;
  importance?: string;
  ack?: boolean;
  /** Choose the id (as `YYYYMMDDHHMMSS-xxxxxx`); generated otherwise. */
  id?: string;
}

const snap = (orc: Orc) => orc.store.snapshot(orc.store.tip());

/** The agent a read or ack is for: the one named, else the acting agent; the operator (no agent) cannot. */
function reader(orc: Orc, agent?: string | null): string {
  const a = agent || orc.agent;
  if (!a) throw new OrcError('USAGE', 'name the agent whose messages these are: as an argument, with --agent NAME, or ORC_AGENT');
  return checkName('agent', a);
}

/** Sends a message as this Orc's agent (or 'system', the operator). */
export async function sendMessage(orc: Orc, o: SendOptions): Promise<OpOutcome<M.Message>> {
  const input = M.msgSend.parse({ ...o, id: o.id ?? M.newMessageId(orc.now(), crypto.randomBytes(3).toString('hex')) } as unknown as Record<string, unknown>);
  return orc.runDef(M.msgSend, input);
}

/** An agent's messages, newest first, with its read/ack state. */
export async function inbox(orc: Orc, agent?: string | null, f: { unread?: boolean; thread?: string | null } = {}): Promise<M.InboxEntry[]> {
  const who = reader(orc, agent);
  const th = f.thread ? M.checkMessageId(f.thread) : null;
  const s = snap(orc);
  const root = th ? M.requireMessage(s, th).thread : null;
  const list = M.inbox(s, who, { unread: f.unread, thread: root });
  orc.store.flushMemo();
  return list;
}

/** How many unread messages an agent has, and the newest few. */
export async function unread(orc: Orc, agent: string, few = 3): Promise<{ count: number; latest: M.InboxEntry[] }> {
  const list = M.inbox(snap(orc), checkName('agent', agent), { unread: true });
  orc.store.flushMemo();
  return { count: list.length, latest: list.slice(0, few) };
}

/** A message and its exact body bytes; NOT_FOUND if there is none. */
export async function getMessage(orc: Orc, id: string): Promise<{ message: M.Message; body: Buffer }> {
  const s = snap(orc);
  const message = M.requireMessage(s, M.checkMessageId(id));
  return { message, body: M.getBody(s, id) };
}

/** Reads a message and marks it read for `agent` (the acting agent by default) when it is one of its recipients. */
export async function readMessage(orc: Orc, id: string, agent?: string | null): Promise<{ message: M.Message; body: Buffer; state: M.RecipientState | null }> {
  const got = await getMessage(orc, id);
  const who = agent || orc.agent;
  if (!who) return { ...got, state: null };
  const out = await orc.as(checkName('agent', who)).runDef(M.msgRead, M.msgRead.parse({ id, agent: who }));
  const { changed: _c, ...state } = out.result;
  return { ...got, state: M.isRecipient(got.message, who) ? state : null };
}

/** Acknowledges a message for `agent` (the acting agent by default); CONFLICT if it is not a recipient. */
export async function ackMessage(orc: Orc, id: string, agent?: string | null): Promise<M.RecipientState> {
  const who = reader(orc, agent);
  const out = await orc.as(who).runDef(M.msgAck, M.msgAck.parse({ id, agent: who }));
  const { changed: _c, ...state } = out.result;
  return state;
}

/** Every message of the thread `id` belongs to, oldest first. */
export async function thread(orc: Orc, id: string): Promise<M.Message[]> {
  const list = M.thread(snap(orc), M.checkMessageId(id));
  orc.store.flushMemo();
  return list;
}

/** Messages, newest first: all, or those from or to one agent. */
export async function listMessages(orc: Orc, f: { agent?: string | null; last?: number } = {}): Promise<M.Message[]> {
  const who = f.agent ? checkName('agent', f.agent) : null;
  const list = M.listMessages(snap(orc))
    .filter((m) => !who || m.from === who || M.isRecipient(m, who))
    .reverse()
    .slice(0, f.last ?? 100);
  orc.store.flushMemo();
  return list;
}
