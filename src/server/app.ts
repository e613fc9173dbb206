/**
 * The REST API over one repository's state branch: an express app (no
 * listen here; see serve.ts). Reads are cached by the branch tip (cache.ts);
 * writes run the same ops as the command line; every error is `{error}` with
 * the status of its OrcError code.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OrcError, httpStatusOf, invalid, notFound } from '../errors.js';
import * as S from '../model/state.js';
import { checkInt, checkTopic } from '../model/validate.js';
import type { Orc, Status } from '../ops/orc.js';
import type { Agent, Lock } from '../model/types.js';
import { ReadCache, type Cached } from './cache.js';
import { taskCommits } from '../hooks/client.js';
import { changes, logPage } from './log.js';
import { mountMessages } from './messages.js';
import { guard } from './security.js';
import { SseHub } from './sse.js';
import { PresenceWatcher, TipWatcher } from './watch.js';
import { body, query, str, type Body } from './request.js';

export interface AppOptions {
  /** The address the server listens on (Host checks); default 127.0.0.1. */
  host?: string;
  /** The bound port, known once listening (Host checks). */
  port: () => number;
  /** Writes need `Authorization: Bearer <token>` when set. */
  token?: string | null;
  /** Largest request body in bytes (413 past it); default 1 MiB. */
  bodyLimit?: number;
  /** Fallback poll of the branch tip, ms; default 1000. */
  pollMs?: number;
  /** The dashboard's static files (default: the package's dashboard/; ORC_DASHBOARD_DIR overrides). */
  dashboardDir?: string;
}

/** Where the dashboard's files are: beside dist/ in the package (from dist/server/ and from the bundle in dist/bin/ alike). */
export function dashboardDir(): string {
  return process.env.ORC_DASHBOARD_DIR ?? fileURLToPath(new URL('../../dashboard/', import.meta.url));
}

/**
 * The page may load only its own files and talk only to this server: no inline
 * script, no eval, no frames, no plugins. With every user string put in the
 * page as text (dashboard/dom.js), this is the second wall against XSS.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface OrcApp {
  app: express.Express;
  cache: ReadCache;
  hub: SseHub;
  watcher: TipWatcher;
  /** Ends SSE streams and stops watching (the caller closes the HTTP server). */
  close(): void;
}


/** The path after a wildcard route's prefix: topics and lock resources may contain '/'. */
function rest(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  return Array.isArray(v) ? v.join('/') : String(v ?? '');
}

/** A JSON array written item by item, waiting when the client reads slowly; stops if it goes away. */
async function streamArray(res: Response, items: Iterable<unknown>): Promise<void> {
  res.status(200).type('application/json; charset=utf-8');
  let gone = false;
  res.once('close', () => (gone = true));
  let sep = '[';
  for (const item of items) {
    if (gone) return;
    if (!res.write(sep + JSON.stringify(item))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    sep = ',';
  }
  res.end(sep === '[' ? '[]' : ']');
}

const send = (res: Response, c: Cached) => res.status(200).type(c.type === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8').send(c.body);
const json = (v: unknown) => ({ body: JSON.stringify(v), type: 'json' as const });

/** When a list of agents stops being true: the first live agent turning stale. */
function agentsUntil(list: Agent[], staleMs: number): number {
  let until = Infinity;
  for (const a of list) if (!a.stale) until = Math.min(until, Date.parse(a.last_heartbeat) + staleMs + 1);
  return until;
}

/** When a list of locks stops being true: the first to expire. */
const locksUntil = (list: Lock[]): number => list.reduce((m, l) => Math.min(m, Date.parse(l.expires_at) + 1), Infinity);

/**
 * Refuses an oversized body without reading it: a declared Content-Length
 * past the limit is answered 413 at once; a body without one (chunked) is
 * counted as it arrives and answered 413 the moment it passes the limit.
 * Either way the connection is closed after the answer, so the rest is
 * never read (express's parsers would read it all before answering).
 */
function bodyCap(limit: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const tooLarge = () => {
      if (res.headersSent) return;
      res.setHeader('Connection', 'close');
      // Half-close once the answer is out (the client reads it), then drop the connection: the rest is never read.
      res.on('finish', () => {
        req.socket.end();
        setTimeout(() => req.socket.destroy(), 1000).unref();
      });
      res.status(413).json({ error: `request body too large; the limit is ${limit} bytes`, code: 'INVALID' });
      req.unpipe();
      req.pause();
    };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return tooLarge();
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined) {
      let seen = 0;
      const count = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) {
          req.off('data', count);
          tooLarge();
        }
      };
      req.on('data', count);
    }
    next();
  };
}

export function createApp(orc: Orc, opts: AppOptions): OrcApp {
  const hub = new SseHub();
  let watcher: TipWatcher | undefined;
  const cache = new ReadCache(orc.store, () => watcher?.check());
  watcher = new TipWatcher(
    orc.store,
    (commits) => {
      cache.invalidate();
      for (const c of commits) hub.send('commit', c, c.commit);
    },
    opts.pollMs ?? 1000,
  );
  // Heartbeats move presence refs, not the tip: each change is told as a `presence` event (the page reads the status again).
  const presence = new PresenceWatcher(orc.store, (agent, at) => {
    cache.invalidate();
    hub.send('presence', { agent, at });
  }, opts.pollMs ?? 1000);
  const limit = opts.bodyLimit ?? 1024 * 1024;
  const settings = () => S.settingsOf(orc.store.snapshot(orc.store.tip()));
  const staleMs = () => settings().agent_stale_ms;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(guard({ host: opts.host ?? '127.0.0.1', port: opts.port, token: opts.token ?? null }));
  app.use(bodyCap(limit));
  // A form (what `curl -d name=x` sends) would reach the routes as an empty body and be refused for a
  // missing field; it is refused for what it is instead.
  app.use((req, res, next) => {
    if (req.is(['application/x-www-form-urlencoded', 'multipart/form-data'])) {
      res.status(415).json({ error: `request body is ${req.get('content-type')?.split(';')[0]}; send JSON with Content-Type: application/json (curl: --json '{...}' or -H 'Content-Type: application/json')`, code: 'INVALID' });
      return;
    }
    next();
  });
  app.use(express.json({ limit, type: ['application/json', 'application/*+json'] }));
  app.use(express.text({ limit, type: 'text/plain' }));
  app.use(express.raw({ limit, type: () => true }));

  /** The Orc a write goes through: as the agent the request names in X-Orc-Agent (the dashboard's "as" box), else the server's own. */
  const acting = (req: Request): Orc => {
    const named = req.get('x-orc-agent')?.trim();
    return named ? orc.as(named) : orc;
  };

  const a = express.Router();
  const cached = (key: string, compute: () => Promise<Omit<Cached, 'until'> & { until?: number }>) => async (_req: Request, res: Response) => {
    send(res, await cache.get(key, compute));
  };

  // ---------------------------------------------------------------- status, health, log, stream
  // Workstream entries carry their tasks, as the original's did; ?tasks=0 leaves them out (orc's dashboard).
  const withTasks = (req: Request): boolean => {
    const v = query(req, 'tasks');
    if (v === undefined || v === '1' || v === 'true') return true;
    if (v === '0' || v === 'false') return false;
    throw invalid(`tasks=${JSON.stringify(v)} is not 0 or 1`);
  };
  a.get('/status', async (req, res) => {
    const tasks = withTasks(req);
    send(res, await cache.get(`status:${tasks}`, async () => {
      const s: Status = await orc.status({ tasks });
      // Plus the settings a client needs to tell when an agent turns stale or a lease runs out without a commit.
      const set = settings();
      return { ...json({ ...s, settings: set }), until: Math.min(locksUntil(s.active_locks), agentsUntil(s.agents, set.agent_stale_ms)) };
    }));
  });
  a.get(
    '/status/text',
    cached('status.text', async () => {
      const s = await orc.status();
      return { body: `${await orc.statusText()}\n`, type: 'text', until: Math.min(locksUntil(s.active_locks), agentsUntil(s.agents, staleMs()), Date.now() + 1000) };
    }),
  );
  a.get('/health', (_req, res) => {
    res.json({ ok: true, branch: orc.branch, commit: cache.current(), cache: cache.stats, sse_clients: hub.size });
  });
  a.get('/log', async (req, res) => {
    const last = checkInt('last', query(req, 'last') ?? '50', 1, 10_000);
    const before = query(req, 'before');
    const diff = ['1', 'true'].includes(query(req, 'diff') ?? '');
    const c = await cache.get(`log:${last}:${before ?? ''}:${diff}`, async () => {
      const page = logPage(orc.store, last, before);
      return json(diff ? page.map((e) => changes(orc.store, e.commit)) : page);
    });
    send(res, c);
  });
  a.get('/log/:commit', async (req, res) => {
    const commit = String(req.params.commit);
    // A commit never changes: the tip only guards the cache's lifetime.
    send(res, await cache.get(`log.commit:${commit}`, async () => json(changes(orc.store, commit))));
  });
  a.get('/stream', (_req, res) => {
    watcher?.check();
    hub.add(res, { commit: cache.current(), branch: orc.branch });
  });

  // ---------------------------------------------------------------- workstreams and tasks
  a.get('/workstreams', async (req, res) => {
    const tasks = withTasks(req);
    send(res, await cache.get(`workstreams:${tasks}`, async () => json(await orc.listWorkstreams({ tasks }))));
  });
  a.post('/workstreams', async (req, res) => {
    const b = body(req);
    // A new workstream has no tasks yet: `tasks: []`, as the original answered.
    res.status(201).json({ ...(await acting(req).createWorkstream(str(b, 'name') as string, str(b, 'description'), b.priority as number | undefined)), tasks: [] });
  });
  a.get('/workstreams/:name/tasks', async (req, res) => {
    const name = String(req.params.name);
    const status = query(req, 'status');
    if (status !== undefined && !['pending', 'in_progress', 'done', 'failed'].includes(status)) throw invalid(`status ${JSON.stringify(status)} is not one of pending, in_progress, done, failed`);
    // ?all=1 adds the archived tasks (moved by `orc compact`, each with archived: true) after the live ones.
    const allQ = query(req, 'all');
    if (allQ !== undefined && !['0', '1', 'true', 'false'].includes(allQ)) throw invalid(`all=${JSON.stringify(allQ)} is not 0 or 1`);
    const all = allQ === '1' || allQ === 'true';
    send(res, await cache.get(`tasks:${name}:${status ?? ''}:${all ? 'all' : ''}`, async () => json(await orc.listTasks(name, { status: status as 'pending' | undefined, all }))));
  });
  a.get('/workstreams/:name/tasks/:id', async (req, res) => {
    const name = String(req.params.name);
    const id = String(req.params.id);
    const c = await cache.get(`task:${name}:${id}`, async () => {
      const t = await orc.getTask(name, id);
      if (!t) throw notFound(`no task "${id}" in workstream "${name}"`);
      return json(t);
    });
    send(res, c);
  });
  a.get('/workstreams/:name/tasks/:id/commits', async (req, res) => {
    const name = String(req.params.name);
    const id = String(req.params.id);
    const c = await cache.get(`task.commits:${name}:${id}`, async () => {
      const t = await orc.getTask(name, id);
      if (!t) throw notFound(`no task "${id}" in workstream "${name}"`);
      return json(await taskCommits(orc, t));
    });
    send(res, c);
  });
  a.post('/workstreams/:name/tasks', async (req, res) => {
    const b = body(req);
    const task = await acting(req).addTask(String(req.params.name), str(b, 'title') as string, str(b, 'description'), b.priority as number | undefined, {
      id: str(b, 'id'),
      estimate: b.estimate as number | string | null | undefined,
      resources: b.resources as string[] | undefined,
      after: b.after as string[] | undefined,
      kb: b.kb as string[] | undefined,
    });
    res.status(201).json(task);
  });
  a.post('/workstreams/:name/tasks/:id/claim', async (req, res) => {
    const b = body(req);
    res.json(await acting(req).claimTask(String(req.params.name), String(req.params.id), str(b, 'agent'), { leaseMs: b.lease_ms as number | undefined }));
  });
  a.post('/workstreams/:name/tasks/:id/complete', async (req, res) => {
    const b = body(req);
    if (b.failed !== undefined && typeof b.failed !== 'boolean') throw invalid('"failed" must be true or false');
    res.json(await acting(req).completeTask(String(req.params.name), String(req.params.id), str(b, 'result'), { agent: str(b, 'agent'), failed: b.failed as boolean | undefined }));
  });
  a.post('/workstreams/:name/tasks/:id/after', async (req, res) => {
    const b = body(req);
    res.json(await acting(req).addDependencies(String(req.params.name), String(req.params.id), b.after as string[]));
  });
  a.post('/workstreams/:name/tasks/:id/reopen', async (req, res) => {
    const b = body(req);
    res.json(await acting(req).reopenTask(String(req.params.name), String(req.params.id), str(b, 'reason')));
  });
  a.post('/workstreams/:name/next', async (req, res) => {
    const b = body(req);
    // 200 with the task, or 200 with the original's message when nothing is claimable.
    const task = await acting(req).getNextTask(String(req.params.name), str(b, 'agent'), { leaseMs: b.lease_ms as number | undefined });
    res.json(task ?? { message: 'No pending tasks' });
  });

  // ---------------------------------------------------------------- agents
  a.get(
    '/agents',
    cached('agents', async () => {
      const list = await orc.listAgents();
      return { ...json(list), until: agentsUntil(list, staleMs()) };
    }),
  );
  a.post('/agents', async (req, res) => {
    const b = body(req);
    if (b.capabilities !== undefined && !(Array.isArray(b.capabilities) && b.capabilities.every((c) => typeof c === 'string'))) throw invalid('"capabilities" must be a list of strings');
    res.status(201).json(await acting(req).registerAgent(str(b, 'id') as string, str(b, 'type'), b.capabilities as string[] | undefined));
  });
  a.post('/agents/:id/heartbeat', async (req, res) => {
    res.json({ ok: true, ...(await acting(req).heartbeat(String(req.params.id))) });
  });

  // ---------------------------------------------------------------- events
  a.get('/events', async (req, res) => {
    const filter = {
      agent: query(req, 'agent'),
      action: query(req, 'action'),
      since: query(req, 'since'),
      workstream: query(req, 'workstream'),
      exclude: query(req, 'exclude')?.split(',').filter(Boolean),
    };
    const last = query(req, 'last');
    // No `last`: the whole log, as the original answered, streamed a day at a time so it never sits in memory.
    if (last === undefined) {
      // A range before this epoch reads archived epochs: fetched here first if missing (compaction).
      await orc.prepareEvents(filter.since);
      return streamArray(res, orc.eachEvent(filter));
    }
    const q = { ...filter, last: checkInt('last', last, 1, 1_000_000) };
    send(res, await cache.get(`events:${JSON.stringify(q)}`, async () => json(await orc.getEvents(q))));
  });

  // ---------------------------------------------------------------- knowledge
  a.get(
    '/knowledge',
    cached('knowledge', async () => json(await orc.listKnowledge())),
  );
  a.get('/knowledge/*topic', async (req, res) => {
    const topic = checkTopic(rest(req, 'topic'));
    const asText = req.accepts(['application/json', 'text/plain']) === 'text/plain';
    const c = await cache.get(`kb:${asText}:${topic}`, async () => {
      const content = await orc.readKnowledge(topic);
      if (content === null) throw notFound(`no knowledge topic "${topic}"`);
      return asText ? { body: content, type: 'text' } : json({ topic, content });
    });
    send(res, c);
  });
  a.put('/knowledge/*topic', async (req, res) => {
    const topic = rest(req, 'topic');
    let content: string | Buffer;
    if (typeof req.body === 'string') content = req.body;
    else if (Buffer.isBuffer(req.body) && req.is('application/json') === false) content = req.body;
    else {
      const c = body(req).content;
      if (typeof c !== 'string') throw invalid('give the topic\'s text as {"content": "..."} (JSON) or as a text/plain body');
      content = c;
    }
    // The body's (or ?agent=) agent writes it, as the original honoured `agent`.
    const agent = query(req, 'agent') ?? (req.is('application/json') ? str(body(req), 'agent') : undefined);
    res.json({ ok: true, ...(await acting(req).writeKnowledge(topic, content, agent)) });
  });
  a.delete('/knowledge/*topic', async (req, res) => {
    const b = Buffer.isBuffer(req.body) || typeof req.body === 'string' ? {} : body(req);
    res.json({ ok: true, ...(await acting(req).deleteKnowledge(rest(req, 'topic'), query(req, 'agent') ?? str(b, 'agent'))) });
  });

  // ---------------------------------------------------------------- locks
  a.get(
    '/locks',
    cached('locks', async () => {
      const list = await orc.listLocks();
      return { ...json(list), until: locksUntil(list) };
    }),
  );
  // The original's answers: 200 {acquired: true} or 409 {acquired: false}; 200 {released: true|false}. orc adds the lock and the reason.
  a.post('/locks', async (req, res) => {
    const b = body(req);
    if (b.ttl !== undefined && b.ttl_ms !== undefined && b.ttl !== b.ttl_ms) throw invalid('give the lock\'s time to live once, as "ttl" or "ttl_ms" (milliseconds)');
    try {
      if (b.resources !== undefined) {
        if (b.resource !== undefined) throw invalid('give "resource" (one) or "resources" (a list), not both');
        const locks = await acting(req).acquireLocks(b.resources as string[], str(b, 'agent'), (b.ttl_ms ?? b.ttl) as number | undefined, { task: str(b, 'task') });
        res.json({ acquired: true, locks });
        return;
      }
      const lock = await acting(req).acquireLock(str(b, 'resource') as string, str(b, 'agent'), (b.ttl_ms ?? b.ttl) as number | undefined, { task: str(b, 'task') });
      res.json({ acquired: true, ...lock, lock });
    } catch (e) {
      if (!(e instanceof OrcError) || e.code !== 'CONFLICT') throw e;
      res.status(409).json({ ...e.data, acquired: false, error: e.message, code: e.code });
    }
  });
  a.delete('/locks/*resource', async (req, res) => {
    const b = Buffer.isBuffer(req.body) || typeof req.body === 'string' ? {} : body(req);
    try {
      const lock = await acting(req).releaseLock(rest(req, 'resource'), query(req, 'agent') ?? str(b, 'agent'));
      res.json({ released: true, ...lock, lock });
    } catch (e) {
      if (!(e instanceof OrcError) || (e.code !== 'CONFLICT' && e.code !== 'NOT_FOUND')) throw e;
      res.json({ ...e.data, released: false, error: e.message, code: e.code });
    }
  });

  mountMessages(a, orc, acting, cache);
  a.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} /api${req.path}`, code: 'NOT_FOUND' });
  });
  app.use('/api', a);

  // ---------------------------------------------------------------- the dashboard (static, no build step)
  const dir = opts.dashboardDir ?? dashboardDir();
  const page = (res: Response) => {
    res.set({
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-cache',
    });
  };
  app.use((req, res, next) => {
    page(res);
    next();
  });
  if (fs.existsSync(dir)) app.use(express.static(dir, { index: 'index.html', dotfiles: 'ignore', fallthrough: true, etag: true, lastModified: true }));
  else {
    app.get('/', (_req, res) => {
      res.status(404).json({ error: `the dashboard's files are missing (${dir}); reinstall git-orc or set ORC_DASHBOARD_DIR`, code: 'ENV' });
    });
  }
  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}; the API is under /api`, code: 'NOT_FOUND' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof OrcError) {
      res.status(httpStatusOf(err.code)).json({ error: err.message, code: err.code });
      return;
    }
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string; orcUsage?: boolean };
    // Every 4xx body has a code, as OrcErrors' do, so a client can switch on it.
    if (e.orcUsage) {
      res.status(400).json({ error: e.message, code: 'INVALID' });
      return;
    }
    const status = e.status ?? e.statusCode ?? 500;
    if (e.type === 'entity.too.large') res.status(413).json({ error: `request body too large; the limit is ${limit} bytes`, code: 'INVALID' });
    else if (e.type === 'entity.parse.failed') res.status(400).json({ error: `request body is not valid JSON: ${e.message ?? ''}`, code: 'INVALID' });
    else if (status >= 400 && status < 500) res.status(status).json({ error: e.message ?? 'bad request', code: status === 404 ? 'NOT_FOUND' : 'INVALID' });
    else {
      if (process.env.ORC_DEBUG) console.error(err);
      res.status(500).json({ error: `internal error: ${e.message ?? String(err)}`, code: 'INTERNAL' });
    }
  });

  return {
    app,
    cache,
    hub,
    watcher,
    close() {
      watcher?.close();
      presence.close();
      hub.close();
    },
  };
}
