// The orc dashboard: reads the REST API, re-reads what it shows when
// /api/stream says the branch moved, and sends writes through the same API
// (so the same ops and conflict rules as the command line). No framework and
// no build step: plain ES modules, served as they are.
import { acting, api, ApiError, connect, seg, segs, token } from './api.js';
import { $, clock, fill, h, plural, short, tick, when } from './dom.js';
import { hunks, lineDiff } from './diff.js';
import { loadMessages, renderMessages } from './messages.js';

const ACTOR_KEY = 'orc.agent';
/** Task rows shown per workstream before "show all". */
const TASK_ROWS = 200;
/** A workstream with more tasks than this starts folded (its tasks are fetched when opened). */
const FOLD_OVER = 500;
const STATUSES = ['pending', 'in_progress', 'done', 'failed'];
const STATUS_TEXT = { pending: 'pending', in_progress: 'in progress', done: 'done', failed: 'failed' };
/** The actions orc's own ops log, offered by the timeline's filter before any is seen. */
const ACTIONS = ['task_created', 'task_claimed', 'task_taken_over', 'task_completed', 'task_failed', 'task_reopened', 'task_dependencies_added', 'workstream_created', 'agent_registered', 'agent_heartbeat', 'lock_acquired', 'lock_renewed', 'lock_released', 'knowledge_written', 'knowledge_deleted', 'code_committed', 'message_sent', 'message_read', 'message_acked', 'op_replay_refused'];
const HISTORY_PAGE = 50;
/** Op details kept in memory (each can hold file contents). */
const DETAIL_CACHE = 40;

const state = {
  status: null,
  /** The commit the page shows. */
  tip: null,
  /** workstream name -> its tasks, for the workstreams shown unfolded. */
  tasks: new Map(),
  events: [],
  route: {},
  task: null,
  kb: { topic: null, content: null, missing: false, editing: false, base: null, editor: null, confirmDelete: false },
  /** Unsaved knowledge drafts by topic, kept when the page moves elsewhere. */
  drafts: new Map(),
  history: { entries: [], more: true, older: false, detail: new Map() },
  /** The Messages view's last read (messages.js). */
  messages: null,
  ui: { open: new Map(), filter: new Map(), showAll: new Set(), archived: new Set(), heartbeats: false, eventAgent: '', eventAction: '', text: '' },
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
    case 'inbox':
      return { view: 'inbox', agent: parts[1] || null, msg: parts[2] || null };
    case 'thread':
      return { view: 'inbox', agent: null, msg: parts[1] || null };
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
    keepDraft();
    const draft = state.drafts.get(r.creating ? '' : r.topic);
    state.kb = { topic: r.topic, content: null, missing: false, editing: !!r.creating || !!draft, base: draft?.base ?? null, editor: null, confirmDelete: false, draft };
  } else if (r.view !== 'kb') keepDraft();
  if (r.view === 'task' && (prev.ws !== r.ws || prev.id !== r.id)) state.task = null;
  for (const v of document.querySelectorAll('.view')) v.hidden = v.dataset.view !== r.view;
  // A new view takes the focus (keyboard and screen-reader users start there), except on the first load.
  if (prev.view !== undefined && (r.view !== prev.view || r.ws !== prev.ws || r.id !== prev.id || r.topic !== prev.topic || r.commit !== prev.commit)) {
    document.querySelector(`.view[data-view="${r.view}"]`)?.focus({ preventScroll: true });
  }
  for (const a of document.querySelectorAll('.tabs a')) {
    const on = a.dataset.view === r.view || (r.view === 'task' && a.dataset.view === 'overview');
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  render();
  void refresh();
  if (r.view !== prev.view) window.scrollTo(0, 0);
  // On one column the op's diff is below the list: bring it into view once it is drawn.
  if (r.view === 'history' && r.commit && prev.view === 'history') state.history.reveal = true;
}

/** An open knowledge edit with changes is kept (in this tab) when the page moves elsewhere. */
function keepDraft() {
  const k = state.kb;
  if (!k.editing || !k.editor) return;
  const { text, name } = k.editor;
  const key = k.topic ?? '';
  if (text.value !== (k.base ?? '') || (!k.topic && name.value)) state.drafts.set(key, { text: text.value, name: name.value, base: k.base });
  else state.drafts.delete(key);
}

const dirty = () => state.route.view === 'kb' && state.kb.editing && state.kb.editor && state.kb.editor.text.value !== (state.kb.base ?? '');

// ------------------------------------------------------------------ loading

let running = null;
let again = false;
/** A commit came while the tab was hidden: read once when it is shown again. */
let staleWhileHidden = false;

/**
 * What the next read must fetch again. A commit whose op is known to touch
 * only some workstreams' tasks (or none) leaves the others' task lists as
 * they are: an agent's heartbeat then costs one /status read, not every
 * open workstream's list. Anything else reads everything.
 */
const pending = { all: true, ws: new Set() };
/** The last commit this page knows of: a commit whose parent is not it means some went unseen. */
let lastSeen = null;

/** Workstreams whose tasks an op may change; null when it could be any. */
function opWorkstreams(op) {
  if (!op || typeof op.op !== 'string') return null;
  const input = op.input ?? {};
  if (op.op.startsWith('task.') || op.op === 'ws.create') return typeof input.workstream === 'string' ? [input.workstream] : null;
  // A heartbeat extends the leases of the agent's claims.
  if (op.op === 'agent.heartbeat') return [...state.tasks].filter(([, list]) => list.some((t) => t.status === 'in_progress' && t.assigned_to === input.id)).map(([ws]) => ws);
  if (op.op.startsWith('msg.')) return [];
  if (['agent.register', 'lock.acquire', 'lock.release', 'kb.write', 'kb.delete', 'event.log'].includes(op.op)) return [];
  return null;
}

function onCommit(c) {
  if (c.commit === state.tip) {
    lastSeen = c.commit;
    return;
  }
  const ws = opWorkstreams(c.op);
  if (ws === null || !lastSeen || c.parents?.[0] !== lastSeen) pending.all = true;
  else for (const w of ws) pending.ws.add(w);
  lastSeen = c.commit;
  void refresh(false);
}

/** A heartbeat (presence, not a commit): the status, and the workstreams whose leases it extends. */
function onPresence(p) {
  for (const w of opWorkstreams({ op: 'agent.heartbeat', input: { id: p.agent } }) ?? []) pending.ws.add(w);
  void refresh(false);
}

/** Reads what the current view shows; calls made while one runs fold into one more run. */
function refresh(all = true) {
  if (all) pending.all = true;
  if (document.hidden) {
    staleWhileHidden = true;
    return Promise.resolve();
  }
  if (running) {
    again = true;
    return running;
  }
  // While reading, <html data-busy>: for styles, and for tests to know when the page has settled.
  document.documentElement.dataset.busy = '';
  running = (async () => {
    do {
      again = false;
      try {
        await load();
        setProblem(null);
      } catch (e) {
        setProblem(e);
      }
      try {
        render();
      } catch (e) {
        console.error(e);
        toast(`could not show the state: ${e.message}`, 'error');
      }
    } while (again);
  })().finally(() => {
    running = null;
    delete document.documentElement.dataset.busy;
  });
  return running;
}

async function load() {
  const all = pending.all;
  const only = new Set(pending.ws);
  pending.all = false;
  pending.ws.clear();
  try {
    await read(all, only);
  } catch (e) {
    pending.all = true; // read everything next time
    throw e;
  }
}

async function read(all, only) {
  // Tasks come per open workstream below, not with every status read (10,000 tasks would travel each time).
  const status = await api.get('/status?tasks=0');
  state.status = status;
  state.tip = status.commit;
  lastSeen = status.commit;
  const r = state.route;
  const jobs = [];
  if (r.view === 'overview') {
    const names = new Set(status.workstreams.map((w) => w.name));
    for (const k of state.tasks.keys()) if (!names.has(k)) state.tasks.delete(k);
    for (const ws of status.workstreams) {
      if (!isOpen(ws)) state.tasks.delete(ws.name);
      else if (all || only.has(ws.name) || !state.tasks.has(ws.name)) jobs.push(api.get(`/workstreams/${seg(ws.name)}/tasks${state.ui.archived.has(ws.name) ? '?all=1' : ''}`).then((t) => state.tasks.set(ws.name, t)));
    }
    jobs.push(loadEvents());
  } else if (r.view === 'task') jobs.push(loadTask(r));
  else if (r.view === 'kb') jobs.push(loadKb(r));
  else if (r.view === 'history') jobs.push(loadHistory(r));
  else if (r.view === 'inbox') jobs.push(loadMessages(r).then((d) => (state.messages = d)));
  await Promise.all(jobs);
  scheduleExpiry();
}

async function loadEvents() {
  const ui = state.ui;
  const q = new URLSearchParams({ last: '100' });
  if (ui.eventAgent) q.set('agent', ui.eventAgent);
  if (ui.eventAction) q.set('action', ui.eventAction);
  // Heartbeats would crowd out everything else: the server leaves them out unless asked.
  else if (!ui.heartbeats) q.set('exclude', 'agent_heartbeat');
  state.events = await api.get(`/events?${q}`);
}

async function loadTask(r) {
  const base = `/workstreams/${seg(r.ws)}/tasks/${seg(r.id)}`;
  try {
    const task = await api.get(base);
    // The task's events: its workstream's since it was made (none can be older), heartbeats left out.
    const [commits, events, siblings] = await Promise.all([
      api.get(`${base}/commits`),
      api.get(`/events?${new URLSearchParams({ workstream: r.ws, since: task.created_at, exclude: 'agent_heartbeat', last: '100000' })}`),
      api.get(`/workstreams/${seg(r.ws)}/tasks?all=1`),
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
    if (state.kb.topic !== r.topic) return;
    state.kb.content = k.content;
    state.kb.missing = false;
  } catch (e) {
    if (state.kb.topic !== r.topic) return;
    if (e instanceof ApiError && e.status === 404) {
      state.kb.content = null;
      state.kb.missing = true;
    } else throw e;
  }
}

/** The newest page, joined to the older pages already read (the branch only grows at the tip). */
async function loadHistory(r) {
  const hs = state.history;
  const page = await api.get(`/log?last=${HISTORY_PAGE}`);
  const at = hs.entries.findIndex((e) => e.commit === page.at(-1)?.commit);
  if (at >= 0) hs.entries = [...page, ...hs.entries.slice(at + 1)];
  else {
    hs.entries = page;
    hs.more = page.length === HISTORY_PAGE;
  }
  if (r.commit && !hs.detail.has(r.commit)) {
    try {
      const d = await api.get(`/log/${encodeURIComponent(r.commit)}`);
      d.diffs = d.files.map((f) => hunks(lineDiff(f.old, f.new)));
      hs.detail.set(r.commit, d);
      while (hs.detail.size > DETAIL_CACHE) hs.detail.delete(hs.detail.keys().next().value);
      hs.error = null;
    } catch (e) {
      // Not cached: the next read tries again.
      if (e instanceof ApiError && e.status < 500) hs.error = { commit: r.commit, message: e.message };
      else throw e;
    }
  }
}

async function olderHistory() {
  const hs = state.history;
  const last = hs.entries.at(-1);
  if (!last || hs.older) return;
  hs.older = true;
  try {
    const page = await api.get(`/log?last=${HISTORY_PAGE}&before=${last.commit}`);
    hs.entries = [...hs.entries, ...page];
    hs.more = page.length === HISTORY_PAGE;
  } catch (e) {
    toast(e.message, 'error');
  } finally {
    hs.older = false;
    render();
  }
}

const isOpen = (ws) => state.ui.open.get(ws.name) ?? ws.task_counts.total <= FOLD_OVER;

/** Locks and leases run out without a commit: read again just after the first one does (a timer, not a poll). */
let expiryTimer = null;
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const now = Date.now();
  let next = Infinity;
  for (const l of state.status?.active_locks ?? []) next = Math.min(next, Date.parse(l.expires_at));
  const tasks = [...[...state.tasks.values()].flat(), ...(state.route.view === 'task' && state.task?.task ? [state.task.task] : [])];
  for (const t of tasks) if (t.status === 'in_progress' && t.lease_expires_at) next = Math.min(next, Date.parse(t.lease_expires_at));
  const staleMs = state.status?.settings?.agent_stale_ms;
  if (staleMs) for (const a of state.status.agents) if (!a.stale) next = Math.min(next, Date.parse(a.last_heartbeat) + staleMs);
  if (Number.isFinite(next) && next > now) expiryTimer = setTimeout(() => void refresh(), Math.min(next - now + 250, 2 ** 31 - 1));
}

// ------------------------------------------------------------------ feedback

function toast(message, kind = 'ok', extra = null) {
  const el = h('div', { class: ['toast', kind], role: kind === 'error' ? 'alert' : 'status' }, h('span', { class: 'msg' }, message), extra, h('button', { type: 'button', class: 'link close', 'aria-label': 'dismiss', onclick: () => el.remove() }, '×'));
  const box = $('#toasts');
  box.append(el);
  // At most four at a time: the oldest that is not waiting for an answer goes.
  const waiting = (t) => t.querySelector('form');
  while (box.children.length > 4) {
    const old = [...box.children].find((t) => !waiting(t) && t !== el);
    if (!old) break;
    old.remove();
  }
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
  const el = toast(token.get() ? 'The server refused this token; check it (orc serve --token / ORC_TOKEN).' : 'This server needs its token for writes (orc serve --token).', 'error', form);
  input.focus();
}

// ------------------------------------------------------------------ rendering

/**
 * Re-renders the current view from state. Controls carry a stable data-key,
 * so the one that had focus gets it back after its region is rebuilt: a
 * keyboard user keeps their place while agents commit.
 */
function render() {
  const active = document.activeElement;
  const key = active && active !== document.body ? active.dataset?.key : undefined;
  renderView();
  if (key && !document.activeElement?.dataset?.key) document.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus({ preventScroll: true });
}

function renderView() {
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
  else if (v === 'inbox') {
    const r = state.route;
    const m = state.messages?.key === `${r.agent ?? ''}/${r.msg ?? ''}` ? state.messages : { agent: r.agent, msg: r.msg };
    renderMessages($('#inbox-pane'), $('#thread-pane'), state.status.agents, m, act);
  }
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
    card('agents', s.agents, null, s.stale_agents ? `${s.agents - s.stale_agents} live, ${s.stale_agents} stale` : s.agents ? 'all live' : null),
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
  // A workstream whose summary, tasks and view settings are what they were keeps its elements (a big one costs to rebuild).
  const kept = new Map();
  const nodes = list.map((ws) => {
    const key = [JSON.stringify(ws), isOpen(ws), state.ui.filter.get(ws.name) ?? '', state.ui.showAll.has(ws.name), state.ui.text];
    const tasks = state.tasks.get(ws.name);
    const old = wsNodes.get(ws.name);
    const node = old && old.tasks === tasks && old.key.every((v, i) => v === key[i]) ? old.node : renderWorkstream(ws);
    kept.set(ws.name, { key, tasks, node });
    return node;
  });
  wsNodes = kept;
  // Nothing changed: leave the elements in place (focus, selection and scroll stay too).
  if (nodes.length === root.children.length && nodes.every((n, i) => n === root.children[i])) return;
  fill(root, nodes);
}

let wsNodes = new Map();

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
        dataset: { key: `fold:${ws.name}` },
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
    h('button', { type: 'button', class: 'small', title: 'claim the best ready task for the agent named above', 'aria-label': `claim the next task of ${ws.name}`, dataset: { key: `next:${ws.name}` }, onclick: () => claimNext(ws.name) }, 'Claim next'),
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
              dataset: { key: `chip:${ws.name}:${s}` },
              onclick: () => {
                state.ui.filter.set(ws.name, s);
                render();
              },
            },
            s ? `${STATUS_TEXT[s]} ${c[s]}` : `all ${c.total}`,
          ),
        ),
        // Tasks `orc compact` archived: listed (read-only) after the live ones when asked for.
        ws.archived
          ? h(
              'button',
              {
                type: 'button',
                class: ['chip', state.ui.archived.has(ws.name) && 'on'],
                'aria-pressed': String(state.ui.archived.has(ws.name)),
                dataset: { key: `chip:${ws.name}:archived` },
                onclick: () => {
                  if (!state.ui.archived.delete(ws.name)) state.ui.archived.add(ws.name);
                  state.tasks.delete(ws.name);
                  render();
                  void refresh();
                },
              },
              `archived ${ws.archived}`,
            )
          : null,
      ),
    );
    if (!tasks) body.push(h('p', { class: 'muted' }, 'loading tasks…'));
    else body.push(taskTable(ws.name, tasks.filter((t) => (!filter || t.status === filter) && matches(t))));
  }
  return h('article', { class: 'ws', dataset: { ws: ws.name } }, head, ws.description ? h('p', { class: 'ws-desc' }, ws.description) : null, progress(c), body);
}

/** The header's text filter: every word must be in the title, id or assignee. */
function matches(t) {
  const q = state.ui.text;
  if (!q) return true;
  const hay = `${t.title}\n${t.id}\n${t.assigned_to ?? ''}`.toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}

function taskTable(wsName, tasks) {
  if (!tasks.length) return h('p', { class: 'empty' }, state.ui.text ? 'No tasks here match the filter.' : 'No tasks here.');
  const all = state.ui.showAll.has(wsName);
  const shown = all ? tasks : tasks.slice(0, TASK_ROWS);
  const rows = shown.map((t) =>
    h(
      'tr',
      { class: `s-${t.status}`, dataset: { task: t.id } },
      h('td', { 'data-label': 'status' }, badge(t.status), t.archived ? h('span', { class: 'muted small' }, ' archived') : null),
      h('td', { class: 'title', 'data-label': 'task' }, h('a', { href: taskHref(wsName, t.id), dataset: { key: `open:${wsName}/${t.id}` } }, t.title), t.after?.length ? h('span', { class: 'muted small' }, ` after ${t.after.length}`) : null),
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
  if (t.archived) return out; // read-only history: the server refuses every change to it
  if (t.status === 'pending' || leaseOver(t)) {
    out.push(
      h(
        'button',
        { type: 'button', class: 'small primary', 'aria-label': `claim ${t.title}`, dataset: { action: 'claim', key: `claim:${compact}:${wsName}/${t.id}` }, onclick: () => act(`claimed “${t.title}”`, () => api.post(`${path}/claim`, { agent: actor() })) },
        t.status === 'pending' ? 'Claim' : 'Take over',
      ),
    );
  }
  if (t.status === 'failed' && compact) {
    out.push(h('button', { type: 'button', class: 'small', 'aria-label': `retry ${t.title}`, dataset: { action: 'reopen', key: `reopen:${wsName}/${t.id}` }, onclick: () => act(`reopened “${t.title}”`, () => api.post(`${path}/reopen`, {})) }, 'Retry'));
  }
  if (t.status === 'in_progress' && compact) {
    out.push(h('button', { type: 'button', class: 'small', 'aria-label': `complete ${t.title}`, dataset: { action: 'done', key: `done:${wsName}/${t.id}` }, onclick: () => act(`completed “${t.title}”`, () => api.post(`${path}/complete`, { agent: actor() })) }, 'Done'));
    out.push(h('a', { class: 'button small', href: taskHref(wsName, t.id), title: 'complete with a result, or fail', 'aria-label': `open ${t.title}`, dataset: { key: `more:${wsName}/${t.id}` } }, '…'));
  }
  return out;
}

async function claimNext(wsName) {
  try {
    const t = await api.post(`/workstreams/${seg(wsName)}/next`, { agent: actor() });
    // Nothing claimable answers 200 {message} (the original's answer), a task has an id.
    if (t && t.id) toast(`claimed “${t.title}” as ${t.assigned_to}`);
    else toast(`nothing ready to claim in ${wsName}`, 'warn');
    void refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) askToken(`claimed the next task in ${wsName}`, () => api.post(`/workstreams/${seg(wsName)}/next`, { agent: actor() }));
    else toast(e.message, 'error');
  }
}

function renderAgents() {
  const agents = state.status.agents;
  const list = $('#agent-list');
  if (list.options.length !== agents.length || agents.some((a, i) => list.options[i].value !== a.id)) fill(list, agents.map((a) => h('option', { value: a.id })));
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
          a.stale ? h('span', { class: 'stale-label' }, 'stale') : null,
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
              'aria-label': `release ${l.resource}`,
              dataset: { key: `release:${l.resource}` },
              onclick: () => act(`released ${l.resource}`, () => api.del(`/locks/${segs(l.resource)}${actor() ? `?agent=${encodeURIComponent(actor())}` : ''}`)),
            },
            'release',
          ),
        ),
      ),
    ),
  );
}

/** What an event says, beyond who and when. Fields are shown only when they are text (events are free-form). */
function eventDetail(ev) {
  const e = Object.fromEntries(Object.entries(ev).map(([k, v]) => [k, typeof v === 'string' || typeof v === 'number' ? v : undefined]));
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
  for (let i = out.length - 1; i > 0; i--) if (out[i] !== '' && out[i - 1] !== '') out.splice(i, 0, ' ');
  if (!out.length) {
    const rest = Object.entries(ev).filter(([k]) => !['ts', 'agent', 'action'].includes(k));
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
  const actions = new Set([...ACTIONS, ...state.events.map((e) => e.action)]);
  setOptions($('#event-agent'), 'all agents', agents, ui.eventAgent);
  setOptions($('#event-action'), 'all actions', actions, ui.eventAction);
  $('#event-heartbeats').checked = ui.heartbeats;
  const shown = state.events.slice().reverse();
  fill($('#events'), shown.length ? shown.map(eventItem) : h('li', { class: 'empty' }, 'No events.'));
}

/** Refills a select only when its choices changed (refilling closes it under the user's pointer). */
function setOptions(select, none, values, chosen) {
  const list = [...new Set([...values, ...(chosen ? [chosen] : [])])].sort();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.length !== list.length || have.some((v, i) => v !== list[i])) fill(select, h('option', { value: '' }, none), list.map((v) => h('option', { value: v }, v)));
  if (select.value !== chosen) select.value = chosen;
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
  const keptReason = root.querySelector('input[name=reason]');
  const reasonValue = keptReason && keptReason.dataset.task === d.key ? keptReason.value : '';
  const caret = [result.selectionStart, result.selectionEnd];
  result.dataset.task = d.key;
  const complete = (failed) => act(failed ? `marked “${t.title}” failed` : `completed “${t.title}”`, () => api.post(`${path}/complete`, { agent: actor(), result: result.value || undefined, failed }));
  // A dependency is ID (this workstream) or WS/ID (another one's: linked there, its status read on its page).
  const taskLink = (id) => {
    const at = id.indexOf('/');
    const x = at < 0 ? byId.get(id) : undefined;
    const href = at < 0 ? taskHref(r.ws, id) : taskHref(id.slice(0, at), id.slice(at + 1));
    return h('li', null, x ? badge(x.status) : null, ' ', h('a', { href }, x ? x.title : id), h('span', { class: 'mono small muted' }, ` ${id}`));
  };
  fill(
    root,
    back,
    h(
      'article',
      { class: 'panel task-detail', dataset: { task: t.id } },
      h('div', { class: 'panel-head' }, h('h1', null, t.title), badge(t.status), t.archived ? h('span', { class: 'badge', title: 'moved to the archive by orc compact: read-only' }, 'archived') : null),
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
                h('button', { type: 'button', class: 'primary', dataset: { action: 'done', key: 'task-done' }, onclick: () => complete(false) }, 'Done'),
                h('button', { type: 'button', class: 'danger', dataset: { action: 'fail', key: 'task-fail' }, onclick: () => complete(true) }, 'Failed'),
              ),
            )
          : null,
        (t.status === 'done' || t.status === 'failed') && !t.archived
          ? h(
              'form',
              {
                class: 'form reopen',
                onsubmit: (ev) => {
                  ev.preventDefault();
                  const reason = ev.target.reason.value.trim();
                  void act(`reopened “${t.title}”`, () => api.post(`${path}/reopen`, { reason: reason || undefined }));
                },
              },
              h('input', { name: 'reason', value: reasonValue, placeholder: t.status === 'failed' ? 'why it can be tried again (optional)' : 'why it is not done after all (optional)', 'aria-label': 'reason', dataset: { task: d.key, key: 'task-reason' } }),
              h('div', { class: 'row' }, h('button', { type: 'submit', dataset: { action: 'reopen', key: 'task-reopen' } }, t.status === 'failed' ? 'Retry: back to pending' : 'Reopen: back to pending')),
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
              h('thead', null, h('tr', null, ['commit', 'subject', 'branch', 'agent', 'when'].map((x) => h('th', null, x)))),
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
    text.value = k.draft?.text ?? k.base ?? '';
    name.value = k.draft?.name ?? '';
    const notice = h('p', { class: 'notice', role: 'status', hidden: true });
    const save = h('button', { type: 'submit', class: 'primary', dataset: { action: 'save' } }, 'Save');
    const cancel = () => {
      state.drafts.delete(k.topic ?? '');
      if (creating) location.hash = '#/kb';
      else {
        Object.assign(k, { editing: false, editor: null, draft: undefined });
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
          // A new topic never silently replaces one that exists; an edit over someone else's change asks first.
          if (creating && state.status.knowledge_topics.includes(topic)) {
            notice.hidden = false;
            notice.textContent = `“${topic}” already exists: open it to edit it, or pick another name.`;
            return;
          }
          if (!creating && k.editor.changed() && save.dataset.confirm !== 'yes') {
            save.dataset.confirm = 'yes';
            save.textContent = 'Save anyway';
            return;
          }
          const ok = await act(`saved ${topic}`, () => api.put(`/knowledge/${segs(topic)}`, { content: text.value }));
          if (ok === undefined) return;
          state.drafts.delete(k.topic ?? '');
          Object.assign(k, { editing: false, editor: null, draft: undefined, content: text.value, missing: false });
          if (creating) location.hash = kbHref(topic);
          else render();
        },
      },
      creating ? h('label', null, 'Topic ', name) : h('h1', { class: 'mono' }, k.topic),
      notice,
      text,
      h('div', { class: 'row end' }, h('button', { type: 'button', dataset: { action: 'cancel' }, onclick: cancel }, 'Cancel'), save),
    );
    k.editor = {
      form,
      notice,
      text,
      name,
      save,
      // Someone else changed (or deleted) the topic since this edit began.
      changed: () => !creating && k.base !== null && ((k.content !== null && k.content !== k.base) || (k.missing && k.base !== '')),
    };
    fill(root, form);
    (creating ? name : text).focus();
  } else if (!root.contains(k.editor.form)) fill(root, k.editor.form);
  if (creating) return;
  const changed = k.editor.changed();
  k.editor.notice.hidden = !changed;
  if (changed) k.editor.notice.textContent = k.missing ? 'This topic was deleted on the branch while you were editing; saving writes it again.' : 'This topic changed on the branch since you started editing; saving replaces that change.';
  else if (k.editor.save.dataset.confirm) {
    delete k.editor.save.dataset.confirm;
    k.editor.save.textContent = 'Save';
  }
}

async function deleteTopic(topic) {
  const ok = await act(`deleted ${topic}`, () => api.del(`/knowledge/${segs(topic)}`));
  if (ok !== undefined) location.hash = '#/kb';
}

// ------------------------------------------------------------------ history

function renderHistory() {
  const hs = state.history;
  const sel = state.route.commit;
  $('#history-count').textContent = hs.entries.length ? `newest ${plural(hs.entries.length, 'commit')}` : '';
  fill(
    $('#history'),
    !hs.entries.length && state.status ? h('li', { class: 'empty' }, `No commits on ${state.status.branch} yet.`) : null,
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
          h('span', { class: 'subject' }, e.summary),
        ),
      ),
    ),
  );
  const more = $('#history-more');
  more.hidden = !hs.more || !hs.entries.length || hs.entries.at(-1).parents.length === 0;
  more.disabled = hs.older;
  const root = $('#op-detail');
  const d = sel ? hs.detail.get(sel) : undefined;
  if (!d) delete root.dataset.shown;
  if (!sel) return fill(root, h('p', { class: 'empty' }, 'Pick an op to see what it changed.'));
  if (!d && hs.error?.commit === sel) return fill(root, h('p', { class: 'empty' }, hs.error.message));
  if (!d) return fill(root, h('p', { class: 'muted' }, 'loading…'));
  if (root.dataset.shown === sel) return; // an op never changes: keep what is shown (and its scroll)
  root.dataset.shown = sel;
  if (hs.reveal) {
    hs.reveal = false;
    if (window.matchMedia('(max-width: 1000px)').matches) requestAnimationFrame(() => root.scrollIntoView({ block: 'start' }));
  }
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
    d.files.map((f, i) => fileDiff(f, d.diffs[i])),
  );
}

function fileDiff(f, lines) {
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
    const body = { title: f.title.value.trim(), description: f.description.value.trim() || undefined, priority: f.priority.value ? Number(f.priority.value) : undefined };
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
    const w = await act(`created workstream ${name}`, () => api.post('/workstreams', { name, description: f.description.value.trim() || undefined, priority: f.priority.value ? Number(f.priority.value) : undefined }));
    if (w) {
      f.reset();
      $('#add-ws').open = false;
    }
  });
  const actorInput = $('#actor');
  actorInput.value = localStorage.getItem(ACTOR_KEY) ?? '';
  acting.agent = actorInput.value.trim();
  actorInput.addEventListener('input', () => (acting.agent = actorInput.value.trim()));
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
  $('#task-filter').addEventListener('input', (ev) => {
    state.ui.text = ev.target.value.trim().toLowerCase();
    render();
  });
  $('#history-more').addEventListener('click', () => void olderHistory());
  // Escape closes an open pop-up form.
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    for (const d of document.querySelectorAll('details.pop[open]')) {
      d.open = false;
      d.querySelector('summary')?.focus();
    }
  });
  window.addEventListener('beforeunload', (ev) => {
    if (dirty()) ev.preventDefault();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && staleWhileHidden) {
      staleWhileHidden = false;
      void refresh();
    }
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
    // On (re)connection: read again if commits came while away, or the last read failed.
    onHello: (hello) => {
      if (hello.commit !== state.tip || !state.status || problemToast?.isConnected) void refresh();
    },
    onCommit,
    onPresence,
  });
  setInterval(() => tick(), 1000);
  onRoute();
}

start();
