// The Messages view: one agent's inbox (#/inbox/AGENT) and a message's
// thread with its bodies (#/inbox/AGENT/ID, or #/thread/ID). Every subject,
// name and body reaches the page as text through dom.js (never as HTML).
import { api, ApiError, seg } from './api.js';
import { clock, fill, h, plural, when } from './dom.js';

/** Messages of a thread whose bodies are read (the rest are listed by subject). */
const THREAD_BODIES = 20;

export const inboxHref = (agent, id) => `#/inbox/${seg(agent)}${id ? `/${seg(id)}` : ''}`;
export const threadHref = (id) => `#/thread/${seg(id)}`;

/** What the view shows for route {agent, msg}: the agent's inbox, and the thread of msg with bodies. */
export async function loadMessages(r) {
  const out = { key: `${r.agent ?? ''}/${r.msg ?? ''}`, agent: r.agent, msg: r.msg, inbox: null, thread: null, bodies: new Map(), error: null };
  const jobs = [];
  if (r.agent) jobs.push(api.get(`/agents/${seg(r.agent)}/inbox`).then((l) => (out.inbox = l)));
  if (r.msg) {
    jobs.push(
      api.get(`/messages/${seg(r.msg)}/thread`).then(async (list) => {
        out.thread = list;
        const read = list.slice(-THREAD_BODIES);
        const full = await Promise.all(read.map((m) => api.get(`/messages/${seg(m.id)}`)));
        for (const m of full) out.bodies.set(m.id, m.body);
      }),
    );
  }
  try {
    await Promise.all(jobs);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) out.error = e.message;
    else throw e;
  }
  return out;
}

function recipients(m) {
  return [...m.to, ...m.cc.map((c) => `cc ${c}`)].join(', ');
}

function inboxItem(agent, m, current) {
  return h(
    'li',
    { class: ['msg', m.unread && 'unread', m.id === current && 'active'], dataset: { id: m.id } },
    h(
      'a',
      { href: inboxHref(agent, m.id) },
      h('span', { class: 'msg-subject' }, m.subject),
      m.importance === 'high' ? h('span', { class: 'badge s-failed' }, 'high') : null,
      m.ack_required ? h('span', { class: 'badge', title: m.acked_at ? `acknowledged ${when(m.acked_at)}` : 'acknowledgement requested' }, m.acked_at ? 'acked' : 'ack?') : null,
      h('span', { class: 'muted msg-meta' }, ' from ', m.from, ' · ', clock('ago', m.created_at)),
    ),
  );
}

/**
 * Draws the view into `list` (the agents and the inbox) and `detail` (the
 * thread). `agents`: the status's agents; `data`: what loadMessages read;
 * `act(what, fn)`: the page's write wrapper (toast, refresh).
 */
export function renderMessages(list, detail, agents, data, act) {
  const r = data ?? { agent: null, msg: null };
  fill(
    list,
    h('h3', null, 'Agents'),
    h(
      'ul',
      { class: 'plain-list agents-pick' },
      agents.length ? agents.map((a) => h('li', { class: ['topic', a.id === r.agent && 'active'] }, h('a', { href: inboxHref(a.id) }, a.id))) : h('li', { class: 'empty' }, 'No agents yet.'),
    ),
    r.agent ? h('h3', null, `Inbox of ${r.agent}`, r.inbox ? h('span', { class: 'muted' }, ` · ${plural(r.inbox.filter((m) => m.unread).length, 'unread')}`) : null) : null,
    r.agent
      ? h('ol', { class: 'plain-list inbox', id: 'inbox-list' }, !r.inbox ? h('li', { class: 'muted' }, 'loading…') : r.inbox.length ? r.inbox.map((m) => inboxItem(r.agent, m, r.msg)) : h('li', { class: 'empty' }, 'No messages.'))
      : h('p', { class: 'empty' }, 'Pick an agent to see its inbox.'),
  );
  if (data?.error) return fill(detail, h('p', { class: 'empty' }, data.error));
  if (!r.msg) return fill(detail, h('p', { class: 'empty' }, 'Pick a message to see its thread.'));
  if (!data?.thread) return fill(detail, h('p', { class: 'muted' }, 'loading…'));
  const root = data.thread[0];
  const mine = r.agent && r.inbox ? r.inbox.find((m) => m.id === r.msg) : null;
  const tools = mine
    ? h(
        'div',
        { class: 'row' },
        mine.unread ? h('button', { type: 'button', dataset: { action: 'mark-read' }, onclick: () => act(`marked read for ${r.agent}`, () => api.post(`/messages/${seg(r.msg)}/read`, { agent: r.agent })) }, `Mark read for ${r.agent}`) : null,
        !mine.acked_at ? h('button', { type: 'button', dataset: { action: 'ack' }, onclick: () => act(`acknowledged for ${r.agent}`, () => api.post(`/messages/${seg(r.msg)}/ack`, { agent: r.agent })) }, `Acknowledge as ${r.agent}`) : null,
      )
    : null;
  fill(
    detail,
    h('h1', { class: 'thread-title' }, root?.subject ?? ''),
    h('p', { class: 'muted' }, `Thread ${root?.id ?? ''} · ${plural(data.thread.length, 'message')}`),
    tools,
    h(
      'ol',
      { class: 'plain-list thread', id: 'thread' },
      data.thread.map((m) =>
        h(
          'li',
          { class: ['thread-msg', m.id === r.msg && 'active'], dataset: { id: m.id } },
          h('div', { class: 'msg-head' }, h('strong', null, m.from), ' → ', recipients(m), ' · ', h('span', { title: when(m.created_at) }, clock('ago', m.created_at)), m.importance !== 'normal' ? ` · ${m.importance}` : ''),
          h('div', { class: 'msg-subject' }, m.subject),
          data.bodies.has(m.id) ? h('pre', { class: 'msg-body' }, data.bodies.get(m.id)) : h('p', { class: 'muted' }, `${m.bytes} bytes: \`orc msg read ${m.id}\``),
        ),
      ),
    ),
  );
}
