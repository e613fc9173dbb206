// The orc dashboard: reads the REST API, re-reads what it shows when
// /api/stream says the branch moved, and sends writes through the same API
// (so the same ops and conflict rules as the command line). No framework and
// no build step: plain ES modules, served as they are.
import { api, ApiError, connect, seg, segs, token } from './api.js';
import { $, clock, fill, h, plural, short, tick, when } from './dom.js';
import { hunks, lineDiff } from './diff.js';

const ACTOR_KEY = 'orc.agent';
/** Task rows shown per workstream before "show all". */
const TASK_ROWS = 200;
/** A workstream with more tasks than this starts folded (its tasks are fetched when opened). */
const FOLD_OVER = 500;
const STATUSES = ['pending', 'in_progress', 'done', 'failed'];
const STATUS_TEXT = { pending: 'pending', in_progress: 'in progress', done: 'done', failed: 'failed' };

const state = {
  status: null,
  /** The commit the page shows. */
  tip: null,
  /** workstream name -> its tasks, for the workstreams shown unfolded. */
  tasks: new Map(),
  events: [],
  route: { view: 'overview' },
  task: null,
  kb: { topic: null, content: null, missing: false, editing: false, base: null, editor: null, confirmDelete: false },
  history: { entries: [], want: 50, detail: new Map(), error: null },
  ui: { open: new Map(), filter: new Map(), showAll: new Set(), heartbeats: false, eventAgent: '', eventAction: '' },
};

const actor = () => $('#actor').value.trim() || undefined;

// ------------------------------------------------------------------ routing

function parseRoute() {
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, '').split('/').filter((p, i) => p !== '' || i === 0).map(decodeURIComponent);
  } catch {
    return { view: 'overview' };
  }
  switch (parts[0]) {
    case 'task':
      return parts.length >= 3 ? { view: 'task', ws: parts[1], id: parts.slice(2).join('/') } : { view: 'overview' };
    case 'kb':
      return { view: 'kb', topic: parts.slice(1).join('/') || null };
    case 'kb-new':
      return { view: 'kb', topic: null, creating: true };
    case 'history':
      return { view: 'history', commit: parts[1] || null };
    default:
      return { view: 'overview' };
  }
}

const taskHref = (ws, id) => `#/task/${seg(ws)}/${seg(id)}`;
const kbHref = (topic) => `#/kb/${segs(topic)}`;
const commitHref = (c) => `#/history/${c}`;

function onRoute() {
  const r = parseRoute();
  const prev = state.route;
  state.route = r;
  if (r.view === 'kb' && (prev.view !== 'kb' || prev.topic !== r.topic || prev.creating !== r.creating)) {
    state.kb = { topic: r.topic, content: null, missing: false, editing: !!r.creating, base: null, editor: null, confirmDelete: false };
  }
  if (r.view === 'task' && (prev.ws !== r.ws || prev.id !== r.id)) state.task = null;
  for (const v of document.querySelectorAll('.view')) v.hidden = v.dataset.view !== r.view;
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.view === r.view || (r.view === 'task' && a.dataset.view === 'overview'));
  render();
  void refresh();
  if (r.view !== prev.view) window.scrollTo(0, 0);
}

// ------------------------------------------------------------------ loading

let running = null;
let again = false;

/** Reads what the current view shows; calls made while one runs fold into one more run. */
function refresh() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      try {
        await load();
        setProblem(null);
      } catch (e) {
        setProblem(e);
      }
      render();
    } while (again);
  })().finally(() => {
    running = null;
  });
  return running;
}

async function load() {
  const status = await api.get('/status');
  state.status = status;
  state.tip = status.commit;
  const r = state.route;
  const jobs = [];
  if (r.view === 'overview') {
    const names = new Set(status.workstreams.map((w) => w.name));
    for (const k of state.tasks.keys()) if (!names.has(k)) state.tasks.delete(k);
    for (const ws of status.workstreams) {
      if (isOpen(ws)) jobs.push(api.get(`/workstreams/${seg(ws.name)}/tasks`).then((t) => state.tasks.set(ws.name, t)));
      else state.tasks.delete(ws.name);
    }
    jobs.push(loadEvents());
  } else if (r.view === 'task') jobs.push(loadTask(r));
  else if (r.view === 'kb') jobs.push(loadKb(r));
  else if (r.view === 'history') jobs.push(loadHistory(r));
  await Promise.all(jobs);
  scheduleExpiry();
}

async function loadEvents() {
  const q = new URLSearchParams({ last: '300' });
  if (state.ui.eventAgent) q.set('agent', state.ui.eventAgent);
  if (state.ui.eventAction) q.set('action', state.ui.eventAction);
  state.events = await api.get(`/events?${q}`);
}

async function loadTask(r) {
  const base = `/workstreams/${seg(r.ws)}/tasks/${seg(r.id)}`;
  try {
    const [task, commits, events, siblings] = await Promise.all([
      api.get(base),
      api.get(`${base}/commits`),
      api.get(`/events?${new URLSearchParams({ workstream: r.ws, last: '2000' })}`),
      api.get(`/workstreams/${seg(r.ws)}/tasks`),
    ]);
    state.task = { key: `${r.ws}/${r.id}`, task, commits, events: events.filter((e) => e.task_id === r.id), siblings };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) state.task = { key: `${r.ws}/${r.id}`, missing: e.message };
    else throw e;
  }
}

async function loadKb(r) {
  if (!r.topic) return;
  try {
    const k = await api.get(`/knowledge/${segs(r.topic)}`);
    if (state.route.topic !== r.topic) return;
    state.kb.content = k.content;
    state.kb.missing = false;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      state.kb.content = null;
      state.kb.missing = true;
    } else throw e;
  }
}

async function loadHistory(r) {
  state.history.entries = await api.get(`/log?last=${state.history.want}`);
  if (r.commit && !state.history.detail.has(r.commit)) {
    try {
      state.history.detail.set(r.commit, await api.get(`/log/${encodeURIComponent(r.commit)}`));
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) state.history.detail.set(r.commit, { error: e.message });
      else throw e;
    }
  }
}

const isOpen = (ws) => state.ui.open.get(ws.name) ?? (ws.task_counts.total <= FOLD_OVER && state.status.workstreams.length <= 12);

/** Locks and leases run out without a commit: read again just after the first one does (a timer, not a poll). */
let expiryTimer = null;
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const now = Date.now();
  let next = Infinity;
  for (const l of state.status?.active_locks ?? []) next = Math.min(next, Date.parse(l.expires_at));
  for (const list of state.tasks.values()) for (const t of list) if (t.status === 'in_progress' && t.lease_expires_at) next = Math.min(next, Date.parse(t.lease_expires_at));
  if (Number.isFinite(next) && next > now) expiryTimer = setTimeout(() => void refresh(), Math.min(next - now + 250, 2 ** 31 - 1));
}

// ------------------------------------------------------------------ feedback

function toast(message, kind = 'ok', extra = null) {
  const el = h('div', { class: ['toast', kind], role: kind === 'error' ? 'alert' : 'status' }, h('span', { class: 'msg' }, message), extra, h('button', { type: 'button', class: 'link close', 'aria-label': 'dismiss', onclick: () => el.remove() }, '×'));
  $('#toasts').append(el);
  if (!extra) setTimeout(() => el.remove(), kind === 'error' ? 9000 : 3500);
  return el;
}

let problemToast = null;
function setProblem(e) {
  if (!e) {
    problemToast?.remove();
    problemToast = null;
    return;
  }
  const msg = e instanceof ApiError ? e.message : `could not read the state: ${e.message}`;
  if (problemToast?.isConnected) problemToast.querySelector('.msg').textContent = msg;
  else problemToast = toast(msg, 'error', h('span'));
}

/** Runs a write; says what happened; asks for the server token when a write needs one. */
async function act(what, fn) {
  try {
    const r = await fn();
    toast(what);
    void refresh();
    return r;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) askToken(what, fn);
    else toast(e.message, 'error');
    return undefined;
  }
}

function askToken(what, fn) {
  const input = h('input', { type: 'password', placeholder: 'token', 'aria-label': 'server token', autocomplete: 'off' });
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: (ev) => {
        ev.preventDefault();
        token.set(input.value.trim());
        el.remove();
        void act(what, fn);
      },
    },
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Retry'),
  );
  const el = toast('This server needs its token for writes (orc serve --token).', 'error', form);
  input.focus();
}

// ------------------------------------------------------------------ rendering

function render() {
  renderHeader();
  const v = state.route.view;
  if (!state.status) return;
  if (v === 'overview') {
    renderSummary();
    renderWorkstreams();
    renderAgents();
    renderLocks();
    renderEvents();
  } else if (v === 'task') renderTask();
  else if (v === 'kb') renderKb();
  else if (v === 'history') renderHistory();
  tick();
}

function renderHeader() {
  const s = state.status;
  const where = $('#where');
  if (!s) return fill(where, 'loading…');
  const remote = s.remote
    ? h('span', { class: 'remote', title: `remote ${s.remote.name}` }, ` · ${s.remote.name}`, s.remote.ahead === null ? ' (not fetched)' : ` ↑${s.remote.ahead} ↓${s.remote.behind}`)
    : null;
  fill(where, h('span', { class: 'branch' }, s.branch), ' @ ', s.commit ? h('a', { class: 'mono', href: commitHref(s.commit), id: 'tip' }, short(s.commit)) : h('span', { class: 'muted' }, 'no commits'), remote);
  document.title = `orc · ${s.summary.tasks.in_progress} running · ${s.branch}`;
}

function badge(status) {
  return h('span', { class: ['badge', `s-${status}`] }, STATUS_TEXT[status] ?? status);
}

function renderSummary() {
  const s = state.status.summary;
  const card = (label, value, cls, sub) => h('div', { class: ['card', cls], dataset: { count: label } }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label), sub ? h('div', { class: 'sub' }, sub) : null);
  fill(
    $('#summary'),
    card('workstreams', s.workstreams),
    card('pending', s.tasks.pending, 's-pending'),
    card('in progress', s.tasks.in_progress, 's-in_progress'),
    card('done', s.tasks.done, 's-done', s.tasks.total ? `${Math.round((100 * s.tasks.done) / s.tasks.total)}% of ${s.tasks.total}` : null),
    card('failed', s.tasks.failed, 's-failed'),
    card('agents', s.agents - s.stale_agents, null, s.stale_agents ? `${s.stale_agents} stale` : `${s.agents} registered`),
    card('locks', s.active_locks),
    card('knowledge', s.knowledge_topics),
  );
}

function progress(c) {
  const seg = (k) => {
    const el = h('span', { class: ['bar', `s-${k}`], title: `${c[k]} ${STATUS_TEXT[k]}` });
    el.style.flexGrow = String(c[k]);
    return c[k] ? el : null;
  };
  return h('div', { class: 'progress', role: 'img', 'aria-label': `${c.done} of ${c.total} done` }, ['done', 'in_progress', 'failed', 'pending'].map(seg));
}

function renderWorkstreams() {
  const list = state.status.workstreams;
  // The add-task form's workstream choice, kept across updates.
  const sel = $('#add-task-form select[name=workstream]');
  const chosen = sel.value;
  fill(sel, list.map((w) => h('option', { value: w.name }, w.name)));
  if (list.some((w) => w.name === chosen)) sel.value = chosen;

  const root = $('#workstreams');
  if (!list.length) return fill(root, h('p', { class: 'empty' }, 'No workstreams yet. Create one with “New workstream”, or ', h('code', null, 'orc ws create NAME'), '.'));
  fill(root, list.map(renderWorkstream));
}

function renderWorkstream(ws) {
  const c = ws.task_counts;
  const open = isOpen(ws);
  const filter = state.ui.filter.get(ws.name) ?? '';
  const tasks = state.tasks.get(ws.name);
  const head = h(
    'div',
    { class: 'ws-head' },
    h(
      'button',
      {
        type: 'button',
        class: 'link fold',
        'aria-expanded': String(open),
        onclick: () => {
          state.ui.open.set(ws.name, !open);
          render();
          void refresh();
        },
      },
      open ? '▾' : '▸',
      ' ',
      h('span', { class: 'ws-name' }, ws.name),
    ),
    ws.status !== 'active' ? h('span', { class: 'badge' }, ws.status) : null,
    h('span', { class: 'muted small' }, `priority ${ws.priority}`),
    h('span', { class: 'ws-count' }, `${c.done}/${c.total} done`, c.failed ? `, ${c.failed} failed` : '', c.in_progress ? `, ${c.in_progress} running` : ''),
    h('button', { type: 'button', class: 'small', title: 'claim the best ready task for the agent named above', onclick: () => claimNext(ws.name) }, 'Claim next'),
  );
  const body = [];
  if (open) {
    body.push(
      h(
        'div',
        { class: 'chips', role: 'group', 'aria-label': 'show' },
        ['', ...STATUSES].map((s) =>
          h(
            'button',
            {
              type: 'button',
              class: ['chip', filter === s && 'on'],
              'aria-pressed': String(filter === s),
              onclick: () => {
                state.ui.filter.set(ws.name, s);
                render();
              },
            },
            s ? `${STATUS_TEXT[s]} ${c[s]}` : `all ${c.total}`,
          ),
        ),
      ),
    );
    if (!tasks) body.push(h('p', { class: 'muted' }, 'loading tasks…'));
    else body.push(taskTable(ws.name, filter ? tasks.filter((t) => t.status === filter) : tasks));
  }
  return h('article', { class: 'ws', dataset: { ws: ws.name } }, head, ws.description ? h('p', { class: 'ws-desc' }, ws.description) : null, progress(c), body);
}

function taskTable(wsName, tasks) {
  if (!tasks.length) return h('p', { class: 'empty' }, 'No tasks here.');
  const all = state.ui.showAll.has(wsName);
  const shown = all ? tasks : tasks.slice(0, TASK_ROWS);
  const rows = shown.map((t) =>
    h(
      'tr',
      { class: `s-${t.status}`, dataset: { task: t.id } },
      h('td', { 'data-label': 'status' }, badge(t.status)),
      h('td', { class: 'title', 'data-label': 'task' }, h('a', { href: taskHref(wsName, t.id) }, t.title), t.after?.length ? h('span', { class: 'muted small' }, ` after ${t.after.length}`) : null),
      h('td', { class: 'mono small muted', 'data-label': 'id' }, t.id),
      h('td', { class: 'num', 'data-label': 'priority' }, t.priority),
      h('td', { 'data-label': 'agent' }, t.assigned_to ?? h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'lease' }, t.status === 'in_progress' && t.lease_expires_at ? clock('countdown', t.lease_expires_at, { class: 'lease' }) : null),
      h('td', { class: 'actions' }, taskActions(wsName, t, true)),
    ),
  );
  const more =
    tasks.length > shown.length
      ? h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              state.ui.showAll.add(wsName);
              render();
            },
          },
          `show all ${tasks.length}`,
        )
      : null;
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: 'tasks' }, h('thead', null, h('tr', null, ['status', 'task', 'id', 'prio', 'agent', 'lease', ''].map((x) => h('th', null, x)))), h('tbody', null, rows)),
    more,
  );
}

function leaseOver(t) {
  return t.status === 'in_progress' && t.lease_expires_at && Date.parse(t.lease_expires_at) <= Date.now();
}

function taskActions(wsName, t, compact) {
  const path = `/workstreams/${seg(wsName)}/tasks/${seg(t.id)}`;
  const out = [];
  if (t.status === 'pending' || leaseOver(t)) {
    out.push(
      h(
        'button',
        { type: 'button', class: 'small primary', dataset: { action: 'claim' }, onclick: () => act(`claimed “${t.title}”`, () => api.post(`${path}/claim`, { agent: actor() })) },
        t.status === 'pending' ? 'Claim' : 'Take over',
      ),
    );
  }
  if (t.status === 'in_progress' && compact) {
    out.push(h('button', { type: 'button', class: 'small', dataset: { action: 'done' }, onclick: () => act(`completed “${t.title}”`, () => api.post(`${path}/complete`, { agent: actor() })) }, 'Done'));
    out.push(h('a', { class: 'button small', href: taskHref(wsName, t.id), title: 'complete with a result, or fail' }, '…'));
  }
  return out;
}

async function claimNext(wsName) {
  try {
    const t = await api.post(`/workstreams/${seg(wsName)}/next`, { agent: actor() });
    if (t) toast(`claimed “${t.title}” as ${t.assigned_to}`);
    else toast(`nothing ready to claim in ${wsName}`, 'warn');
    void refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) askToken(`claimed the next task in ${wsName}`, () => api.post(`/workstreams/${seg(wsName)}/next`, { agent: actor() }));
    else toast(e.message, 'error');
  }
}

function renderAgents() {
  const agents = state.status.agents;
  const working = new Map();
  for (const list of state.tasks.values()) for (const t of list) if (t.status === 'in_progress' && t.assigned_to) working.set(t.assigned_to, [...(working.get(t.assigned_to) ?? []), t]);
  if (!agents.length) return fill($('#agents'), h('p', { class: 'empty' }, 'No agents have registered.'));
  fill(
    $('#agents'),
    h(
      'ul',
      { class: 'plain-list agents' },
      agents.map((a) =>
        h(
          'li',
          { class: ['agent', a.stale ? 'stale' : 'fresh'], dataset: { agent: a.id } },
          h('span', { class: 'dot', title: a.stale ? 'stale: no recent heartbeat' : 'alive' }),
          h('span', { class: 'agent-id' }, a.id),
          a.type ? h('span', { class: 'muted small' }, a.type) : null,
          h('span', { class: 'beat small' }, '♥ ', clock('ago', a.last_heartbeat)),
          a.capabilities?.length ? h('div', { class: 'caps small muted' }, a.capabilities.join(', ')) : null,
          (working.get(a.id) ?? []).map((t) => h('div', { class: 'small' }, '→ ', h('a', { href: taskHref(t.workstream, t.id) }, t.title))),
        ),
      ),
    ),
  );
}

function renderLocks() {
  const locks = state.status.active_locks;
  if (!locks.length) return fill($('#locks'), h('p', { class: 'empty' }, 'No locks held.'));
  fill(
    $('#locks'),
    h(
      'ul',
      { class: 'plain-list locks' },
      locks.map((l) =>
        h(
          'li',
          { class: 'lock', dataset: { resource: l.resource } },
          h('span', { class: 'mono resource' }, l.resource),
          h('span', { class: 'token', title: 'fencing token: grows with every grant of this resource' }, `#${l.token}`),
          h('span', { class: 'small' }, l.agent),
          h('span', { class: 'small ttl', title: `expires ${when(l.expires_at)}` }, 'ttl ', clock('countdown', l.expires_at)),
          h(
            'button',
            {
              type: 'button',
              class: 'small link',
              title: 'release (as the agent named above; only its holder can)',
              onclick: () => act(`released ${l.resource}`, () => api.del(`/locks/${segs(l.resource)}${actor() ? `?agent=${encodeURIComponent(actor())}` : ''}`)),
            },
            'release',
          ),
        ),
      ),
    ),
  );
}

/** What an event says, beyond who and when. */
function eventDetail(e) {
  const out = [];
  if (e.workstream && e.task_id) out.push(h('a', { href: taskHref(e.workstream, e.task_id) }, e.title ? `${e.title}` : `${e.workstream}/${e.task_id}`));
  else if (e.workstream) out.push(h('span', null, e.workstream));
  if (e.previous_agent) out.push(` from ${e.previous_agent}`);
  if (e.resource) out.push(h('span', { class: 'mono' }, e.resource), e.token !== undefined ? ` #${e.token}` : '');
  if (e.topic) out.push(h('a', { href: kbHref(e.topic) }, e.topic));
  if (e.agent_id && e.agent_id !== e.agent && e.action !== 'agent_heartbeat') out.push(e.agent_id);
  if (e.type && e.action === 'agent_registered') out.push(h('span', { class: 'muted' }, e.type));
  if (e.commit) out.push(h('span', { class: 'mono' }, short(e.commit)), e.subject ? ` ${e.subject}` : '');
  if (e.result) out.push(h('span', { class: 'result' }, ` — ${e.result}`));
  if (e.reason) out.push(h('span', { class: 'result' }, ` — ${e.reason}`));
  if (!out.length) {
    const rest = Object.entries(e).filter(([k]) => !['ts', 'agent', 'action'].includes(k));
    if (rest.length) out.push(h('span', { class: 'muted' }, JSON.stringify(Object.fromEntries(rest)).slice(0, 160)));
  }
  return out;
}

function eventItem(e) {
  return h(
    'li',
    { class: ['event', `a-${e.action}`], dataset: { action: e.action } },
    clock('ago', e.ts, { class: 'small muted' }),
    h('span', { class: 'who' }, e.agent),
    h('span', { class: 'action' }, e.action.replace(/_/g, ' ')),
    h('span', { class: 'what' }, eventDetail(e)),
  );
}

function renderEvents() {
  const ui = state.ui;
  // Filter choices: what this page has seen, plus the current choice.
  const agents = new Set([...state.status.agents.map((a) => a.id), ...state.events.map((e) => e.agent)]);
  const actions = new Set(state.events.map((e) => e.action));
  setOptions($('#event-agent'), 'all agents', agents, ui.eventAgent);
  setOptions($('#event-action'), 'all actions', actions, ui.eventAction);
  $('#event-heartbeats').checked = ui.heartbeats;
  const shown = state.events
    .filter((e) => ui.heartbeats || e.action !== 'agent_heartbeat' || ui.eventAction === 'agent_heartbeat')
    .slice(-100)
    .reverse();
  fill($('#events'), shown.length ? shown.map(eventItem) : h('li', { class: 'empty' }, 'No events.'));
}

function setOptions(select, none, values, chosen) {
  const list = [...new Set([...values, ...(chosen ? [chosen] : [])])].sort();
  fill(select, h('option', { value: '' }, none), list.map((v) => h('option', { value: v }, v)));
  select.value = chosen;
}

// ------------------------------------------------------------------ task view

function renderTask() {
  const root = $('#view-task');
  const r = state.route;
  const back = h('a', { href: '#/', class: 'back' }, '← overview');
  const d = state.task;
  if (!d || d.key !== `${r.ws}/${r.id}`) return fill(root, back, h('p', { class: 'muted' }, 'loading…'));
  if (d.missing) return fill(root, back, h('p', { class: 'empty' }, d.missing));
  const t = d.task;
  const byId = new Map(d.siblings.map((x) => [x.id, x]));
  const dependents = d.siblings.filter((x) => x.after?.includes(t.id));
  const field = (k, v) => (v === null || v === undefined || v === '' ? null : [h('dt', null, k), h('dd', null, v)]);
  const path = `/workstreams/${seg(r.ws)}/tasks/${seg(t.id)}`;
  // The result box survives updates: same element, same text, focus and caret kept.
  const kept = root.querySelector('textarea[name=result]');
  const result = kept && kept.dataset.task === d.key ? kept : h('textarea', { name: 'result', rows: '3', placeholder: 'result (optional): what was done, or why it failed', 'aria-label': 'result' });
  const focused = document.activeElement === result;
  const caret = [result.selectionStart, result.selectionEnd];
  result.dataset.task = d.key;
  const complete = (failed) => act(failed ? `marked “${t.title}” failed` : `completed “${t.title}”`, () => api.post(`${path}/complete`, { agent: actor(), result: result.value || undefined, failed }));
  const taskLink = (id) => {
    const x = byId.get(id);
    return h('li', null, x ? badge(x.status) : null, ' ', h('a', { href: taskHref(r.ws, id) }, x ? x.title : id), h('span', { class: 'mono small muted' }, ` ${id}`));
  };
  fill(
    root,
    back,
    h(
      'article',
      { class: 'panel task-detail', dataset: { task: t.id } },
      h('div', { class: 'panel-head' }, h('h1', null, t.title), badge(t.status)),
      h(
        'dl',
        { class: 'meta' },
        field('workstream', t.workstream),
        field('id', h('span', { class: 'mono' }, t.id)),
        field('priority', String(t.priority)),
        field('estimate', t.estimate === null ? null : String(t.estimate)),
        field('assigned to', t.assigned_to),
        field('claimed', t.claimed_at ? clock('ago', t.claimed_at) : null),
        field('lease', t.status === 'in_progress' && t.lease_expires_at ? clock('countdown', t.lease_expires_at, { class: 'lease' }) : null),
        field('created', [clock('ago', t.created_at), ` by ${t.created_by}`]),
        field('updated', clock('ago', t.updated_at)),
        field('completed', t.completed_at ? clock('ago', t.completed_at) : null),
        field('resources', t.resources?.length ? h('span', { class: 'mono' }, t.resources.join(', ')) : null),
        field('knowledge', t.kb?.length ? t.kb.map((k, i) => [i ? ', ' : '', h('a', { href: kbHref(k) }, k)]) : null),
      ),
      t.description ? h('div', { class: 'prose' }, t.description) : null,
      t.result ? h('section', null, h('h3', null, t.status === 'failed' ? 'Why it failed' : 'Result'), h('div', { class: 'prose result' }, t.result)) : null,
      t.after?.length ? h('section', null, h('h3', null, 'After'), h('ul', { class: 'plain-list deps' }, t.after.map(taskLink))) : null,
      dependents.length ? h('section', null, h('h3', null, 'Waiting on this'), h('ul', { class: 'plain-list deps' }, dependents.map((x) => taskLink(x.id)))) : null,
      h(
        'section',
        { class: 'task-actions' },
        taskActions(r.ws, t, false),
        t.status === 'in_progress'
          ? h(
              'div',
              { class: 'form' },
              result,
              h(
                'div',
                { class: 'row' },
                h('button', { type: 'button', class: 'primary', dataset: { action: 'done' }, onclick: () => complete(false) }, 'Done'),
                h('button', { type: 'button', class: 'danger', dataset: { action: 'fail' }, onclick: () => complete(true) }, 'Failed'),
              ),
            )
          : null,
      ),
      h(
        'section',
        { class: 'commits-linked' },
        h('h3', null, 'Commits'),
        d.commits.length
          ? h(
              'table',
              { class: 'linked' },
              h(
                'tbody',
                null,
                d.commits.map((c) =>
                  h('tr', { dataset: { commit: c.commit } }, h('td', { class: 'mono' }, short(c.commit)), h('td', null, c.subject), h('td', { class: 'small' }, c.branch ?? '(detached)'), h('td', { class: 'small' }, c.agent), h('td', { class: 'small muted' }, clock('ago', c.ts))),
                ),
              ),
            )
          : h('p', { class: 'empty' }, 'No code commits linked yet. ', h('span', { class: 'muted' }, 'Agents link theirs with the hooks from '), h('code', null, 'orc hooks install'), '.'),
      ),
      h('section', null, h('h3', null, 'Events'), h('ol', { class: 'timeline' }, d.events.length ? d.events.slice().reverse().map(eventItem) : h('li', { class: 'empty' }, 'No events.'))),
    ),
  );
  if (focused && result.isConnected) {
    result.focus();
    result.setSelectionRange(caret[0], caret[1]);
  }
}

// ------------------------------------------------------------------ knowledge

function renderKb() {
  const topics = state.status.knowledge_topics;
  const q = $('#kb-filter').value.trim().toLowerCase();
  const k = state.kb;
  fill(
    $('#kb-topics'),
    topics.length
      ? topics.filter((t) => !q || t.toLowerCase().includes(q)).map((t) => h('li', { class: ['topic', t === k.topic && 'active'] }, h('a', { href: kbHref(t) }, t)))
      : h('li', { class: 'empty' }, 'No topics yet.'),
  );
  const root = $('#kb-detail');
  if (k.editing) return renderKbEditor(root);
  if (!k.topic) return fill(root, h('p', { class: 'empty' }, 'Pick a topic, or write a new one.'));
  if (k.missing) return fill(root, h('h1', null, k.topic), h('p', { class: 'empty' }, 'This topic is not on the branch (deleted, or never written).'), h('button', { type: 'button', onclick: () => startEdit('') }, 'Write it'));
  if (k.content === null) return fill(root, h('h1', null, k.topic), h('p', { class: 'muted' }, 'loading…'));
  const del = k.confirmDelete
    ? h(
        'span',
        { class: 'confirm' },
        'Delete this topic? ',
        h('button', { type: 'button', class: 'danger', dataset: { action: 'confirm-delete' }, onclick: () => deleteTopic(k.topic) }, 'Delete'),
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              k.confirmDelete = false;
              render();
            },
          },
          'Keep',
        ),
      )
    : h(
        'button',
        {
          type: 'button',
          class: 'danger',
          dataset: { action: 'delete' },
          onclick: () => {
            k.confirmDelete = true;
            render();
          },
        },
        'Delete',
      );
  fill(
    root,
    h('div', { class: 'panel-head' }, h('h1', { class: 'mono' }, k.topic), h('div', { class: 'panel-tools' }, h('button', { type: 'button', class: 'primary', dataset: { action: 'edit' }, onclick: () => startEdit(k.content) }, 'Edit'), del)),
    h('pre', { class: 'kb-content' }, k.content),
  );
}

function startEdit(content) {
  Object.assign(state.kb, { editing: true, base: content, editor: null, confirmDelete: false });
  render();
}

/** The editor is built once per edit and kept across updates, so typing is never lost to a refresh. */
function renderKbEditor(root) {
  const k = state.kb;
  const creating = !k.topic;
  if (!k.editor) {
    const name = h('input', { name: 'topic', required: true, placeholder: 'topic, e.g. conventions/testing', spellcheck: 'false', 'aria-label': 'topic' });
    const text = h('textarea', { name: 'content', rows: '18', spellcheck: 'false', 'aria-label': 'content' });
    text.value = k.base ?? '';
    const notice = h('p', { class: 'notice', hidden: true });
    const cancel = () => {
      if (creating) location.hash = '#/kb';
      else {
        Object.assign(k, { editing: false, editor: null });
        render();
      }
    };
    const form = h(
      'form',
      {
        class: 'form kb-editor',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const topic = creating ? name.value.trim() : k.topic;
          if (!topic) return;
          const ok = await act(`saved ${topic}`, () => api.put(`/knowledge/${segs(topic)}`, { content: text.value }));
          if (ok === undefined) return;
          Object.assign(k, { editing: false, editor: null, content: text.value, missing: false });
          if (creating) location.hash = kbHref(topic);
          else render();
        },
      },
      creating ? h('label', null, 'Topic ', name) : h('h1', { class: 'mono' }, k.topic),
      notice,
      text,
      h('div', { class: 'row end' }, h('button', { type: 'button', onclick: cancel }, 'Cancel'), h('button', { type: 'submit', class: 'primary', dataset: { action: 'save' } }, 'Save')),
    );
    k.editor = { form, notice };
    fill(root, form);
    (creating ? name : text).focus();
  } else if (!root.contains(k.editor.form)) fill(root, k.editor.form);
  // Someone else changed the topic while this edit is open: say so, keep the draft.
  const changed = !creating && k.content !== null && k.base !== null && k.content !== k.base;
  const gone = !creating && k.missing && k.base !== '';
  k.editor.notice.hidden = !(changed || gone);
  k.editor.notice.textContent = gone ? 'This topic was deleted on the branch while you were editing; saving writes it again.' : 'This topic changed on the branch since you started editing; saving replaces that change.';
}

async function deleteTopic(topic) {
  const ok = await act(`deleted ${topic}`, () => api.del(`/knowledge/${segs(topic)}`));
  if (ok !== undefined) location.hash = '#/kb';
}

// ------------------------------------------------------------------ history

function renderHistory() {
  const hs = state.history;
  const sel = state.route.commit;
  $('#history-count').textContent = hs.entries.length ? plural(hs.entries.length, 'commit') : '';
  fill(
    $('#history'),
    hs.entries.map((e) =>
      h(
        'li',
        { class: ['commit', e.commit === sel && 'active'], dataset: { commit: e.commit } },
        h(
          'a',
          { href: commitHref(e.commit) },
          h('span', { class: 'op' }, e.op?.op ?? 'commit'),
          h('span', { class: 'who small' }, e.op?.agent ?? e.author),
          clock('ago', e.time, { class: 'small muted' }),
          h('span', { class: 'summary' }, e.summary),
        ),
      ),
    ),
  );
  $('#history-more').hidden = hs.entries.length < hs.want || hs.entries.at(-1)?.parents.length === 0;
  const root = $('#op-detail');
  if (!sel) return fill(root, h('p', { class: 'empty' }, 'Pick an op to see what it changed.'));
  const d = hs.detail.get(sel);
  if (!d) return fill(root, h('p', { class: 'muted' }, 'loading…'));
  if (d.error) return fill(root, h('p', { class: 'empty' }, d.error));
  fill(
    root,
    h('div', { class: 'panel-head' }, h('h1', null, d.summary)),
    h(
      'dl',
      { class: 'meta' },
      h('dt', null, 'commit'),
      h('dd', { class: 'mono' }, d.commit),
      h('dt', null, 'parent'),
      h('dd', { class: 'mono' }, d.parents.length ? d.parents.map((p, i) => [i ? ', ' : '', h('a', { href: commitHref(p) }, short(p))]) : 'none'),
      h('dt', null, 'when'),
      h('dd', null, when(d.time), ' (', clock('ago', d.time), ')'),
      h('dt', null, 'by'),
      h('dd', null, d.op?.agent ?? d.author),
    ),
    d.op ? h('details', { class: 'op-input' }, h('summary', null, `op ${d.op.op}: input`), h('pre', null, JSON.stringify(d.op.input, null, 2))) : h('p', { class: 'muted' }, 'Not an orc op (no Orc-Op trailer): a commit made by hand or by git.'),
    h('h3', null, plural(d.files.length, 'file'), ' changed'),
    d.files.map(fileDiff),
  );
}

function fileDiff(f) {
  const lines = hunks(lineDiff(f.old, f.new));
  return h(
    'section',
    { class: 'file', dataset: { path: f.path } },
    h('div', { class: 'file-head' }, h('span', { class: ['badge', `f-${f.status}`] }, f.status), h('span', { class: 'mono' }, f.path)),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'diff' },
        h(
          'tbody',
          null,
          lines.map((l) =>
            l.skip
              ? h('tr', { class: 'skip' }, h('td', { colspan: '3' }, `⋯ ${plural(l.skip, 'unchanged line')}`))
              : h('tr', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx' }, h('td', { class: 'ln' }, l.a ?? ''), h('td', { class: 'ln' }, l.b ?? ''), h('td', { class: 'code' }, `${l.op} ${l.text}`)),
          ),
        ),
      ),
    ),
  );
}

// ------------------------------------------------------------------ forms and start-up

function listOf(v) {
  return v
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function wireForms() {
  $('#add-task-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const ws = f.workstream.value;
    if (!ws) return toast('create a workstream first', 'warn');
    const body = { title: f.title.value.trim(), description: f.description.value.trim() || undefined, priority: Number(f.priority.value || 0) };
    if (f.after.value.trim()) body.after = listOf(f.after.value);
    if (f.resources.value.trim()) body.resources = listOf(f.resources.value);
    const t = await act(`added “${body.title}” to ${ws}`, () => api.post(`/workstreams/${seg(ws)}/tasks`, body));
    if (t) {
      f.title.value = '';
      f.description.value = '';
      f.after.value = '';
      f.resources.value = '';
      $('#add-task').open = false;
    }
  });
  $('#add-ws-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const name = f.name.value.trim();
    const w = await act(`created workstream ${name}`, () => api.post('/workstreams', { name, description: f.description.value.trim() || undefined, priority: Number(f.priority.value || 0) }));
    if (w) {
      f.reset();
      $('#add-ws').open = false;
    }
  });
  const actorInput = $('#actor');
  actorInput.value = localStorage.getItem(ACTOR_KEY) ?? '';
  actorInput.addEventListener('change', () => localStorage.setItem(ACTOR_KEY, actorInput.value.trim()));
  $('#event-agent').addEventListener('change', (ev) => {
    state.ui.eventAgent = ev.target.value;
    void refresh();
  });
  $('#event-action').addEventListener('change', (ev) => {
    state.ui.eventAction = ev.target.value;
    void refresh();
  });
  $('#event-heartbeats').addEventListener('change', (ev) => {
    state.ui.heartbeats = ev.target.checked;
    render();
  });
  $('#kb-filter').addEventListener('input', () => render());
  $('#history-more').addEventListener('click', () => {
    state.history.want += 50;
    void refresh();
  });
}

function setLive(s) {
  const el = $('#live');
  el.dataset.state = s;
  el.textContent = { live: 'live', connecting: 'connecting', reconnecting: 'reconnecting…', offline: 'offline' }[s] ?? s;
}

function start() {
  wireForms();
  window.addEventListener('hashchange', onRoute);
  connect({
    onState: setLive,
    onHello: (hello) => {
      if (hello.commit !== state.tip) void refresh();
    },
    onCommit: (c) => {
      if (c.commit !== state.tip) void refresh();
    },
  });
  setInterval(() => tick(), 1000);
  onRoute();
}

start();
