/**
 * Messages between agents (issue 15). Layout on the state branch:
 *
 *   messages/YYYY/MM/<id>.json          the message: sender, recipients (expanded), subject, thread
 *   messages/YYYY/MM/<id>.body          its body, byte for byte
 *   messages/state/<agent>/<id>.json    that recipient's read/ack state
 *
 * A message is written once and never rewritten; reading or acknowledging
 * it writes only the reader's own small file. Two hosts' messages are thus
 * always different files, and their ops replay onto each other cleanly.
 * Ids begin with the UTC send time (YYYYMMDDHHMMSS-xxxxxx), so the id alone
 * names the message's folder and sorts by time.
 */
import { crypto } from '../node.js';
import { conflict, invalid, notFound } from '../errors.js';
import * as S from './state.js';
import type { StateReader } from './state.js';
import { registerOp, type Decision, type OpDef } from './ops.js';
import * as V from './validate.js';

export type Importance = 'low' | 'normal' | 'high';

export interface Message {
  id: string;
  from: string;
  /** Recipients as expanded at send time (registered agents). */
  to: string[];
  cc: string[];
  /** TO and CC as given (`@all`, `@ws:W`, names), for the record. */
  addressed: { to: string[]; cc: string[] };
  subject: string;
  importance: Importance;
  /** The sender asks for an acknowledgement. */
  ack_required: boolean;
  /** The id of the thread's first message (its own id for a new thread). */
  thread: string;
  /** The message this one answers (given with --thread), or null. */
  reply_to: string | null;
  created_at: string;
  /** Body length in bytes. */
  bytes: number;
}

export interface RecipientState {
  id: string;
  agent: string;
  read_at: string | null;
  acked_at: string | null;
}

export const MESSAGE_ID = /^(\d{4})(\d{2})\d{8}-[0-9a-f]{6}$/;
export const BODY_LIMIT = 1_048_576;

export function messageDir(id: string): string {
  const m = MESSAGE_ID.exec(id);
  if (!m) throw invalid(`message id ${JSON.stringify(id.slice(0, 60))} is not valid; ids look like 20260131120000-3fa9c1 (see \`orc inbox\`)`);
  return `messages/${m[1]}/${m[2]}`;
}
export const messageFile = (id: string) => `${messageDir(id)}/${id}.json`;
export const bodyFile = (id: string) => `${messageDir(id)}/${id}.body`;
export const stateFile = (agent: string, id: string) => `messages/state/${agent}/${id}.json`;

export function checkMessageId(v: unknown): string {
  if (typeof v !== 'string' || !v) throw invalid('message id is missing; give one such as 20260131120000-3fa9c1 (see `orc inbox`)');
  messageDir(v);
  return v;
}

/** A new id: the UTC time to the second, then 24 random bits (given, so that decide stays pure). */
export function newMessageId(now: Date, random: string): string {
  return `${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${random}`;
}

/**
 * The body is recorded in the commit's Orc-Op trailer by its blob id (the
 * blob is in the commit's tree), as kb.write records its content: the input
 * serialises its body as `{blob, bytes}`, and a replay reads the blob back.
 */
function recordByBlob(body: Buffer): void {
  const blob = crypto.createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
  Object.defineProperty(body, 'toJSON', { value: () => ({ blob, bytes: body.length }), enumerable: false });
}

const json = (v: unknown): Buffer => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');

/** One address: an agent name, `@all`, or `@ws:<workstream>`. */
export function checkAddress(v: unknown): string {
  if (v === '@all') return v;
  if (typeof v === 'string' && v.startsWith('@ws:')) return `@ws:${V.checkName('workstream', v.slice(4))}`;
  return V.checkName('recipient', v);
}

/** A TO or CC list: an array, or one string of comma-separated addresses. */
export function checkAddresses(kind: string, v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === 'string' ? x.split(',').map((p) => p.trim()).filter(Boolean) : [x]));
  return V.checkList(kind, parts, checkAddress, 200);
}

/** The agents an address names now: every registered agent but the sender, every live claim holder in a workstream, or one agent orc knows. */
export function expand(s: StateReader, addr: string, sender: string, now: Date): string[] {
  if (addr === '@all') return S.listAgentsRaw(s).map((a) => a.id).filter((a) => a !== sender);
  if (addr.startsWith('@ws:')) {
    const ws = addr.slice(4);
    S.requireWorkstream(s, ws);
    const holders = S.listTasksRaw(s, ws)
      .filter((t) => t.status === 'in_progress' && t.assigned_to && S.leaseLive(t, s, now))
      .map((t) => t.assigned_to as string);
    return [...new Set(holders)].filter((a) => a !== sender);
  }
  // A name is an agent orc knows: registered, or holding a live claim (as @ws: reaches it; agents may
  // claim without registering). The scan runs only for a name that is not registered.
  if (!S.getAgent(s, addr) && !holdsLiveClaim(s, addr, now)) {
    throw invalid(`recipient "${addr}" is not a registered agent and holds no live claim; see \`orc a list\`, or register it with \`orc a register ${addr}\``, { recipient: addr });
  }
  return [addr];
}

function holdsLiveClaim(s: StateReader, agent: string, now: Date): boolean {
  return S.workstreamNames(s).some((ws) => S.listTasksRaw(s, ws).some((t) => t.status === 'in_progress' && t.assigned_to === agent && S.leaseLive(t, s, now)));
}

export interface SendInput {
  id: string;
  to: string[];
  cc: string[];
  subject: string;
  body: Buffer;
  importance: Importance;
  ack: boolean;
  thread: string | null;
}

export function getMessage(s: StateReader, id: string): Message | null {
  return s.json<Message>(messageFile(id));
}

export function requireMessage(s: StateReader, id: string): Message {
  const m = getMessage(s, id);
  if (!m) throw notFound(`no message "${id}"; see \`orc inbox\``, { id });
  return m;
}

export function getBody(s: StateReader, id: string): Buffer {
  return s.read(bodyFile(id)) ?? Buffer.alloc(0);
}

export function getState(s: StateReader, agent: string, id: string): RecipientState | null {
  return s.json<RecipientState>(stateFile(agent, id));
}

/** Every message, oldest first. */
export function listMessages(s: StateReader): Message[] {
  const out: Message[] = [];
  for (const y of s.list('messages')) {
    if (!y.dir || !/^\d{4}$/.test(y.name)) continue;
    for (const m of s.list(`messages/${y.name}`)) {
      if (!m.dir || !/^\d{2}$/.test(m.name)) continue;
      const dir = `messages/${y.name}/${m.name}`;
      // Not memoised across processes (the memo file would carry every header): each blob is parsed once per process.
      for (const f of s.list(dir)) if (!f.dir && f.name.endsWith('.json')) out.push(s.jsonBlob<Message>(f.oid, `${dir}/${f.name}`));
    }
  }
  return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

/** One agent's read/ack state of every message it has read, by message id. */
export function statesOf(s: StateReader, agent: string): Map<string, RecipientState> {
  const dir = `messages/state/${agent}`;
  const out = new Map<string, RecipientState>();
  for (const f of s.list(dir)) {
    if (f.dir || !f.name.endsWith('.json')) continue;
    const st = s.jsonBlob<RecipientState>(f.oid, `${dir}/${f.name}`);
    out.set(st.id, st);
  }
  return out;
}

export const isRecipient = (m: Message, agent: string): boolean => m.to.includes(agent) || m.cc.includes(agent);

export interface InboxEntry extends Message {
  read_at: string | null;
  acked_at: string | null;
  unread: boolean;
}

/** An agent's messages, newest first, with its read/ack state. */
export function inbox(s: StateReader, agent: string, f: { unread?: boolean; thread?: string | null } = {}): InboxEntry[] {
  const states = statesOf(s, agent);
  return listMessages(s)
    .filter((m) => isRecipient(m, agent) && (!f.thread || m.thread === f.thread))
    .map((m) => {
      const st = states.get(m.id);
      return { ...m, read_at: st?.read_at ?? null, acked_at: st?.acked_at ?? null, unread: !st?.read_at };
    })
    .filter((m) => !f.unread || m.unread)
    .reverse();
}

/** The thread a message belongs to, oldest first. */
export function thread(s: StateReader, id: string): Message[] {
  const root = requireMessage(s, id).thread;
  return listMessages(s).filter((m) => m.thread === root);
}

const IMPORTANCE = new Set(['low', 'normal', 'high']);

function def<I, R>(d: OpDef<I, R>): OpDef<I, R> {
  return d;
}

export const msgSend = def({
  name: 'msg.send',
  exclusive: false,
  parse: (r): SendInput => {
    const body = r.body === undefined || r.body === null ? Buffer.alloc(0) : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : Buffer.isBuffer(r.body) ? r.body : undefined;
    if (body === undefined) throw invalid('message body must be text');
    if (body.length > BODY_LIMIT) throw invalid(`message body is ${body.length} bytes; the limit is ${BODY_LIMIT} (1 MiB): put big things in the knowledge base and send the topic`);
    recordByBlob(body);
    const to = checkAddresses('recipients', r.to);
    if (!to.length) throw invalid('name the recipients: an agent, several as a,b, @all, or @ws:WORKSTREAM');
    const importance = r.importance === undefined || r.importance === null || r.importance === '' ? 'normal' : r.importance;
    if (typeof importance !== 'string' || !IMPORTANCE.has(importance)) throw invalid(`importance ${JSON.stringify(importance)} is not one of low, normal, high`);
    return {
      id: checkMessageId(r.id),
      to,
      cc: checkAddresses('cc recipients', r.cc),
      subject: V.checkLine('subject', r.subject, V.LIMITS.title),
      body,
      importance: importance as Importance,
      ack: r.ack === true || r.ack === 'true',
      thread: r.thread === undefined || r.thread === null || r.thread === '' ? null : checkMessageId(r.thread),
    };
  },
  decide(s, i, ctx): Decision<Message> {
    if (getMessage(s, i.id)) throw conflict(`message "${i.id}" already exists`, { id: i.id });
    const parent = i.thread ? requireMessage(s, i.thread) : null;
    const sender = ctx.actor;
    const to = [...new Set(i.to.flatMap((a) => expand(s, a, sender, ctx.now)))];
    const cc = [...new Set(i.cc.flatMap((a) => expand(s, a, sender, ctx.now)))].filter((a) => !to.includes(a));
    if (!to.length && !cc.length) throw invalid(`${[...i.to, ...i.cc].join(', ')} names nobody right now (no other registered agent, or no live claim there); nothing was sent`, { to: i.to });
    const msg: Message = {
      id: i.id,
      from: sender,
      to,
      cc,
      addressed: { to: i.to, cc: i.cc },
      subject: i.subject,
      importance: i.importance,
      ack_required: i.ack,
      thread: parent ? parent.thread : i.id,
      reply_to: parent ? parent.id : null,
      created_at: ctx.now.toISOString(),
      bytes: i.body.length,
    };
    return {
      changes: new Map([
        [messageFile(i.id), json(msg)],
        [bodyFile(i.id), i.body],
      ]),
      event: { action: 'message_sent', message_id: i.id, to, cc, subject: i.subject, thread: msg.thread, importance: i.importance, ...(i.ack ? { ack_required: true } : {}) },
      summary: `message ${i.id} from ${sender} to ${[...to, ...cc].join(', ')}: ${i.subject}`,
      result: msg,
    };
  },
});

const stateInput = (r: Record<string, unknown>) => ({ id: checkMessageId(r.id), agent: V.checkName('agent', r.agent) });

function stateChange(s: StateReader, id: string, agent: string, now: Date, ack: boolean): Decision<RecipientState & { changed: boolean }> {
  const m = requireMessage(s, id);
  const old = getState(s, agent, id);
  const base: RecipientState = old ?? { id, agent, read_at: null, acked_at: null };
  if (!isRecipient(m, agent)) {
    if (ack) throw conflict(`message ${id} is not addressed to ${agent}; only its recipients (${[...m.to, ...m.cc].join(', ')}) can acknowledge it`, { id, agent });
    return { changes: new Map(), event: null, summary: 'not a recipient', result: { ...base, changed: false } };
  }
  if (ack ? base.acked_at : base.read_at) return { changes: new Map(), event: null, summary: 'no change', result: { ...base, changed: false } };
  const at = now.toISOString();
  const next: RecipientState = { ...base, read_at: base.read_at ?? at, acked_at: ack ? at : base.acked_at };
  return {
    changes: new Map([[stateFile(agent, id), json(next)]]),
    event: { action: ack ? 'message_acked' : 'message_read', message_id: id, from: m.from },
    summary: `${ack ? 'acknowledge' : 'read'} message ${id} by ${agent}`,
    result: { ...next, changed: true },
    actor: agent,
  };
}

export const msgRead = def({
  name: 'msg.read',
  exclusive: false,
  parse: stateInput,
  decide: (s, i, ctx) => stateChange(s, i.id, i.agent, ctx.now, false),
});

export const msgAck = def({
  name: 'msg.ack',
  exclusive: false,
  parse: stateInput,
  decide: (s, i, ctx) => stateChange(s, i.id, i.agent, ctx.now, true),
});

registerOp(msgSend);
registerOp(msgRead);
registerOp(msgAck);
