// The REST API and the commit stream, as the page uses them.

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const TOKEN_KEY = 'orc.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set: (t) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY)),
};

/** The agent writes are made as (the header's "as" box): sent as X-Orc-Agent, so the branch records who did what. */
export const acting = { agent: '' };

/** `/api/workstreams/${seg(name)}/…`: one path segment, encoded. Topics and resources keep their '/'. */
export const seg = (s) => encodeURIComponent(s);
// A '.' or '..' part (even as %2E%2E) would be resolved out of the URL by the browser before the server
// could refuse it: such a name goes as one segment, its '/' encoded, and the server says what is wrong.
const dotted = (parts) => parts.some((p) => p === '.' || p === '..');
export const segs = (s) => {
  const parts = String(s).split('/');
  return dotted(parts) ? encodeURIComponent(s) : parts.map(encodeURIComponent).join('/');
};

async function request(method, path, body, opts = {}) {
  const headers = { Accept: opts.text ? 'text/plain' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const t = token.get();
  if (t && method !== 'GET') headers.Authorization = `Bearer ${t}`;
  if (acting.agent && method !== 'GET') headers['X-Orc-Agent'] = acting.agent;
  let res;
  try {
    res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the orc server is not answering; is `orc serve` still running?');
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    let code;
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === 'string') msg = j.error;
      code = j.code;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(res.status, msg, code);
  }
  if (opts.text) return text;
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body = {}) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  del: (path, body) => request('DELETE', path, body),
};

/**
 * The live connection: `/api/stream` sends `hello` (the tip when it opened)
 * and one `commit` per new commit. The browser reconnects by itself; every
 * (re)connection says hello, so commits missed while away are caught up.
 */
export function connect({ onCommit, onHello, onState, onPresence = () => {} }) {
  let es = null;
  let closed = false;
  const open = () => {
    es = new EventSource('/api/stream');
    onState('connecting');
    es.addEventListener('open', () => onState('live'));
    es.addEventListener('hello', (e) => onHello(JSON.parse(e.data)));
    es.addEventListener('commit', (e) => onCommit(JSON.parse(e.data)));
    // A heartbeat: the agent's presence ref moved (no commit).
    es.addEventListener('presence', (e) => onPresence(JSON.parse(e.data)));
    es.addEventListener('error', () => {
      if (closed) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered with an error): try again ourselves, slowly.
        onState('offline');
        setTimeout(() => !closed && open(), 3000);
      } else onState('reconnecting');
    });
  };
  open();
  return () => {
    closed = true;
    es?.close();
  };
}
