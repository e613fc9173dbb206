import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { cleanup, git, orc, orcAsync, orcJson, testEnv, tmpRepo } from '../helpers.js';
import { req, serve, type Served } from './helpers.js';

let repo: string;
let s: Served;

function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', reject);
    r.end();
  });
}

beforeAll(async () => {
  repo = tmpRepo();
  orcJson(repo, ['ws', 'create', 'w', 'the workstream', '2']);
  orcJson(repo, ['t', 'add', 'w', 'first', '--id', 't1']);
  orcJson(repo, ['a', 'register', 'cli-agent', 'claude']);
  orcJson(repo, ['kb', 'write', 'notes/setup', 'from the cli']);
  s = await serve(repo);
}, 30_000);

afterAll(async () => {
  expect(await s.stop()).toBe(0);
  cleanup();
});

describe('orc serve: reads of state made by the CLI', () => {
  it('status, status/text, health', async () => {
    const st = await req('GET', `${s.base}/status`);
    expect(st.status).toBe(200);
    expect(st.body.workstreams.map((w: { name: string }) => w.name)).toEqual(['w']);
    expect(st.body.summary.tasks.pending).toBe(1);
    const tx = await req('GET', `${s.base}/status/text`);
    expect(tx.status).toBe(200);
    expect(tx.type).toMatch(/text\/plain/);
    const h = await req('GET', `${s.base}/health`);
    expect(h.body.ok).toBe(true);
    expect(h.body.commit).toBe(st.body.commit);
  });

  it('a second GET /api/status at the same tip reads no git object', async () => {
    await req('GET', `${s.base}/status`);
    const before = (await req('GET', `${s.base}/health`)).body.cache;
    const a = await req('GET', `${s.base}/status`);
    const b = await req('GET', `${s.base}/status`);
    const after = (await req('GET', `${s.base}/health`)).body.cache;
    expect(a.text).toBe(b.text);
    expect(after.object_reads).toBe(before.object_reads);
    expect(after.hits).toBe(before.hits + 2);
    // A commit by another process is seen by the next request.
    orcJson(repo, ['t', 'add', 'w', 'cache buster']);
    const c = await req('GET', `${s.base}/status`);
    expect(c.body.summary.tasks.pending).toBe(a.body.summary.tasks.pending + 1);
  });

  it('workstreams, tasks, agents, knowledge, events, locks', async () => {
    expect((await req('GET', `${s.base}/workstreams`)).body[0].name).toBe('w');
    const tasks = await req('GET', `${s.base}/workstreams/w/tasks`);
    expect(tasks.body.some((t: { id: string }) => t.id === 't1')).toBe(true);
    expect((await req('GET', `${s.base}/workstreams/w/tasks?status=done`)).body).toEqual([]);
    expect((await req('GET', `${s.base}/workstreams/w/tasks?status=bogus`)).status).toBe(400);
    expect((await req('GET', `${s.base}/workstreams/w/tasks/t1`)).body.title).toBe('first');
    expect((await req('GET', `${s.base}/workstreams/w/tasks/nope`)).status).toBe(404);
    expect((await req('GET', `${s.base}/workstreams/nope/tasks`)).status).toBe(404);
    expect((await req('GET', `${s.base}/agents`)).body.map((a: { id: string }) => a.id)).toContain('cli-agent');
    expect((await req('GET', `${s.base}/knowledge`)).body).toEqual(['notes/setup']);
    expect((await req('GET', `${s.base}/knowledge/notes/setup`)).body).toEqual({ topic: 'notes/setup', content: 'from the cli' });
    const txt = await req('GET', `${s.base}/knowledge/notes/setup`, undefined, { accept: 'text/plain' });
    expect(txt.text).toBe('from the cli');
    const missing = await req('GET', `${s.base}/knowledge/nope`);
    expect(missing.status).toBe(404);
    expect(typeof missing.body.error).toBe('string');
    const ev = await req('GET', `${s.base}/events?action=task_created&last=5`);
    expect(ev.status).toBe(200);
    expect(ev.body.every((e: { action: string }) => e.action === 'task_created')).toBe(true);
    const since = await req('GET', `${s.base}/events?since=not-a-time`);
    expect(since.status).toBe(400);
    // Worded for REST as for the CLI: the parameter's name, not the CLI's flag.
    expect(since.body).toEqual({ error: 'since "not-a-time" is not a time; use an ISO time like 2026-01-31T12:00:00Z', code: 'INVALID' });
    expect((await req('GET', `${s.base}/events?last=x`)).status).toBe(400);
    expect((await req('GET', `${s.base}/locks`)).body).toEqual([]);
  });
});

describe('orc serve: writes', () => {
  it('workstreams and tasks: create, claim (409 on a lost claim), complete, next', async () => {
    const ws = await req('POST', `${s.base}/workstreams`, { name: 'api', description: 'd', priority: 1 });
    expect(ws.status).toBe(201);
    expect(ws.body.name).toBe('api');
    expect((await req('POST', `${s.base}/workstreams`, { name: 'api' })).status).toBe(409);
    expect((await req('POST', `${s.base}/workstreams`, { name: '../x' })).status).toBe(400);
    expect((await req('POST', `${s.base}/workstreams`, {})).status).toBe(400);
    const t = await req('POST', `${s.base}/workstreams/api/tasks`, { title: 'do it', priority: 1, resources: ['src/a.ts'], estimate: 2 });
    expect(t.status).toBe(201);
    expect(t.body.resources).toEqual(['src/a.ts']);
    expect((await req('POST', `${s.base}/workstreams/nope/tasks`, { title: 'x' })).status).toBe(404);
    const c = await req('POST', `${s.base}/workstreams/api/tasks/${t.body.id}/claim`, { agent: 'a1', lease_ms: 60000 });
    expect(c.status).toBe(200);
    expect(c.body.assigned_to).toBe('a1');
    const lost = await req('POST', `${s.base}/workstreams/api/tasks/${t.body.id}/claim`, { agent: 'a2' });
    expect(lost.status).toBe(409);
    expect(typeof lost.body.error).toBe('string');
    const done = await req('POST', `${s.base}/workstreams/api/tasks/${t.body.id}/complete`, { result: 'ok', agent: 'a1' });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('done');
    const none = await req('POST', `${s.base}/workstreams/api/next`, { agent: 'a1' });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ message: 'No pending tasks' });
    orcJson(repo, ['t', 'add', 'api', 'from cli', '--id', 'c1']);
    const next = await req('POST', `${s.base}/workstreams/api/next`, { agent: 'a3' });
    expect(next.body.id).toBe('c1');
    const failed = await req('POST', `${s.base}/workstreams/api/tasks/c1/complete`, { result: 'no', agent: 'a3', failed: true });
    expect(failed.body.status).toBe('failed');
  });

  it('agents and heartbeat', async () => {
    const a = await req('POST', `${s.base}/agents`, { id: 'web-1', type: 'claude', capabilities: ['ts'] });
    expect(a.status).toBe(201);
    expect(a.body.capabilities).toEqual(['ts']);
    expect((await req('POST', `${s.base}/agents/web-1/heartbeat`)).body.id).toBe('web-1');
    expect((await req('POST', `${s.base}/agents`, { id: 'x', capabilities: 'ts' })).status).toBe(400);
  });

  it("locks: 200 acquired, 409 when held, release 200 {released} (the original's codes)", async () => {
    const l = await req('POST', `${s.base}/locks`, { resource: 'src/db/schema.ts', agent: 'a1', ttl_ms: 60000 });
    expect(l.status).toBe(200);
    expect(l.body).toMatchObject({ acquired: true, resource: 'src/db/schema.ts' });
    expect((await req('POST', `${s.base}/locks`, { resource: 'src/db/schema.ts', agent: 'a2' })).status).toBe(409);
    expect((await req('GET', `${s.base}/locks`)).body.map((x: { resource: string }) => x.resource)).toEqual(['src/db/schema.ts']);
    expect((await req('DELETE', `${s.base}/locks/src/db/schema.ts?agent=a2`)).body).toMatchObject({ released: false, code: 'CONFLICT' });
    expect((await req('DELETE', `${s.base}/locks/src/db/schema.ts`, { agent: 'a1' })).body).toMatchObject({ released: true });
    const never = await req('DELETE', `${s.base}/locks/never-held?agent=a1`);
    expect([never.status, never.body.released, never.body.code]).toEqual([200, false, 'NOT_FOUND']);
  });

  it('knowledge: PUT as JSON and as text, GET, DELETE; a topic that escapes is 400', async () => {
    const j = await req('PUT', `${s.base}/knowledge/design/api`, { content: 'json body' });
    expect(j.status).toBe(200);
    expect(j.body).toEqual({ ok: true, topic: 'design/api', bytes: 9 });
    const t = await req('PUT', `${s.base}/knowledge/design/text`, 'plain body', { 'content-type': 'text/plain' });
    expect(t.body).toEqual({ ok: true, topic: 'design/text', bytes: 10 });
    expect(orc(repo, ['kb', 'read', 'design/text']).stdout).toBe('plain body');
    expect((await req('PUT', `${s.base}/knowledge/x`, { content: 5 })).status).toBe(400);
    expect((await req('PUT', `${s.base}/knowledge/a%2F..%2Fb`, { content: 'x' })).status).toBe(400);
    expect((await req('GET', `${s.base}/knowledge/..%2Fx`)).status).toBe(400);
    expect((await req('DELETE', `${s.base}/knowledge/design/api`)).status).toBe(200);
    expect((await req('DELETE', `${s.base}/knowledge/design/api`)).status).toBe(404);
  });

  it('errors: unknown route 404, malformed JSON 400, oversized 413, all as {error}', async () => {
    const u = await req('GET', `${s.base}/nope`);
    expect(u.status).toBe(404);
    expect(typeof u.body.error).toBe('string');
    expect((await req('GET', `${s.url}/elsewhere`)).status).toBe(404);
    const bad = await req('POST', `${s.base}/workstreams`, '{nope', { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
    expect(typeof bad.body.error).toBe('string');
    const arr = await req('POST', `${s.base}/workstreams`, [1, 2]);
    expect(arr.status).toBe(400);
    const big = await req('PUT', `${s.base}/knowledge/big`, { content: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(typeof big.body.error).toBe('string');
    // Every 4xx body has a code, as an OrcError's does.
    for (const r of [u, bad, arr, big]) expect(typeof r.body.code, r.text).toBe('string');
    expect(bad.body.code).toBe('INVALID');
    // A form (`curl -d name=x`) is 415 saying to send JSON, not a 400 for a missing name; nothing committed.
    const tip = git(repo, 'rev-parse', 'orc');
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const form = await req('POST', `${s.base}/workstreams`, 'name=formed', { 'content-type': type });
      expect(form.status, type).toBe(415);
      expect(form.body.code).toBe('INVALID');
      expect(form.body.error).toMatch(/send JSON with Content-Type: application\/json/);
    }
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);
  });
});

describe('orc serve: what the dashboard needs beyond the original API', () => {
  it('POST .../tasks/:id/reopen: 200 for a done task (back to pending), 409 for a pending one', async () => {
    const t = await req('POST', `${s.base}/workstreams/w/tasks`, { title: 'to reopen', id: 'ro1' });
    expect(t.status).toBe(201);
    expect((await req('POST', `${s.base}/workstreams/w/tasks/ro1/reopen`, {})).status).toBe(409);
    await req('POST', `${s.base}/workstreams/w/tasks/ro1/claim`, { agent: 'cli-agent' });
    await req('POST', `${s.base}/workstreams/w/tasks/ro1/complete`, { agent: 'cli-agent', result: 'first go' });
    const r = await req('POST', `${s.base}/workstreams/w/tasks/ro1/reopen`, { reason: 'not really done' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'ro1', status: 'pending', assigned_to: null, result: null });
  });

  it('a write made as the agent named in X-Orc-Agent is recorded as that agent; a bad name is 400 and commits nothing', async () => {
    const w = await req('POST', `${s.base}/workstreams`, { name: 'by-header' }, { 'x-orc-agent': 'carol' });
    expect(w.status).toBe(201);
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('carol');
    const ev = await req('GET', `${s.base}/events?last=1`);
    expect(ev.body[0]).toMatchObject({ action: 'workstream_created', agent: 'carol' });
    const tip = git(repo, 'rev-parse', 'orc');
    const bad = await req('PUT', `${s.base}/knowledge/x`, { content: 'y' }, { 'x-orc-agent': '../etc' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/agent/);
    expect(git(repo, 'rev-parse', 'orc')).toBe(tip);
  });

  it('/api/status carries the settings; /api/events?exclude= leaves actions out before taking the last N', async () => {
    const st = await req('GET', `${s.base}/status`);
    expect(st.body.settings).toEqual({ lease_ms: expect.any(Number), lock_ttl_ms: expect.any(Number), agent_stale_ms: expect.any(Number) });
    orcJson(repo, ['t', 'add', 'w', 'before the heartbeats', '--id', 'hb0']);
    for (let i = 0; i < 3; i++) orcJson(repo, ['a', 'heartbeat', 'hb-agent']);
    const plain = await req('GET', `${s.base}/events?last=2`);
    // Only the first heartbeat (it registers hb-agent) is an event; the others are presence, not history.
    expect(plain.body.map((e: { action: string }) => e.action)).toEqual(['task_created', 'agent_heartbeat']);
    expect(plain.body[1]).toMatchObject({ agent_id: 'hb-agent', registered: true });
    const some = await req('GET', `${s.base}/events?last=1&exclude=agent_heartbeat,lock_acquired`);
    expect(some.body).toHaveLength(1);
    expect(some.body[0]).toMatchObject({ action: 'task_created', task_id: 'hb0' });
  });
});

describe('orc serve: the dashboard files', () => {
  it('serves the page at / with a strict Content-Security-Policy, and its modules as JavaScript', async () => {
    const page = await fetch(`${s.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    // No inline script anywhere: the CSP would block it.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    for (const f of ['app.js', 'api.js', 'dom.js', 'diff.js']) {
      const r = await fetch(`${s.url}/${f}`);
      expect(r.status, f).toBe(200);
      expect(r.headers.get('content-type'), f).toMatch(/javascript/);
    }
    expect((await fetch(`${s.url}/style.css`)).headers.get('content-type')).toMatch(/text\/css/);
  });

  it('never serves a file from outside dashboard/', async () => {
    for (const p of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/package.json', '/.%2e/src/server/app.ts', '/README.md/../../package.json']) {
      const r = await rawGet(s.port, p, { host: `127.0.0.1:${s.port}` });
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.body, p).not.toContain('"name": "git-orc"');
    }
  });

  it("GET /api/workstreams/:name/tasks/:id/commits: the task's linked code commits", async () => {
    orcJson(repo, ['t', 'claim', 'w', 't1', 'cli-agent']);
    // The post-commit hook's own op (a free-form `orc event code_committed` is refused: the action is reserved).
    expect(orc(repo, ['event', 'code_committed', JSON.stringify({ workstream: 'w', task_id: 't1', commit: 'b'.repeat(40) })]).code).toBe(2);
    const lib = await open({ repo, agent: 'cli-agent', env: testEnv() });
    await lib.linkCommit({ workstream: 'w', task_id: 't1', commit: 'a'.repeat(40), branch: 'feature', subject: 'did it' });
    const r = await req('GET', `${s.base}/workstreams/w/tasks/t1/commits`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([{ commit: 'a'.repeat(40), branch: 'feature', subject: 'did it', agent: 'cli-agent', ts: expect.any(String) }]);
    expect((await req('GET', `${s.base}/workstreams/w/tasks/nope/commits`)).status).toBe(404);
    expect((await req('GET', `${s.base}/workstreams/none/tasks/t1/commits`)).status).toBe(404);
  });
});

describe('orc serve: log and stream', () => {
  it('pages the audit log and gives one op\'s changed files', async () => {
    const page = await req('GET', `${s.base}/log?last=3`);
    expect(page.body).toHaveLength(3);
    const next = await req('GET', `${s.base}/log?last=2&before=${page.body[2].commit}`);
    expect(next.body[0].commit).toBe(page.body[2].parents[0]);
    const one = await req('GET', `${s.base}/log/${page.body[0].commit}`);
    expect(one.status).toBe(200);
    expect(one.body.files.length).toBeGreaterThan(0);
    for (const f of one.body.files) expect(['added', 'modified', 'deleted']).toContain(f.status);
    expect((await req('GET', `${s.base}/log/xyz`)).status).toBe(400);
    expect((await req('GET', `${s.base}/log/${'0'.repeat(40)}`)).status).toBe(404);
    const withDiff = await req('GET', `${s.base}/log?last=1&diff=1`);
    expect(withDiff.body[0].files).toBeDefined();
  });

  it('sends an SSE commit message for a commit made by another process', async () => {
    const ac = new AbortController();
    const r = await fetch(`${s.base}/stream`, { signal: ac.signal });
    expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = r.body!.getReader();
    let buf = '';
    const got = (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        buf += dec.decode(value);
        const m = /event: commit\ndata: (.*)\n/.exec(buf);
        if (m && buf.includes('"task.add"')) return buf;
      }
    })();
    // Wait for the hello so the stream is registered.
    for (let i = 0; i < 100 && !buf.includes('event: hello'); i++) await new Promise((res) => setTimeout(res, 20));
    const add = await orcAsync(repo, ['t', 'add', 'w', 'seen by sse']);
    expect(add.code).toBe(0);
    const text = await Promise.race([got, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
    ac.abort();
    expect(text).toMatch(/seen by sse/);
  });
});

describe('orc serve: commits by git itself', () => {
  it('a ref moved by git update-ref (as a fetch would) reaches the stream and the next read', async () => {
    const before = (await req('GET', `${s.base}/status`)).body.commit as string;
    const other = tmpRepo();
    // Another clone makes a commit on the branch; a fetch brings it in.
    git(other, 'fetch', '-q', repo, 'orc:orc');
    orcJson(other, ['t', 'add', 'w', 'made elsewhere', '--id', 'elsewhere']);
    const ac = new AbortController();
    const r = await fetch(`${s.base}/stream`, { signal: ac.signal });
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const got = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return buf;
        buf += dec.decode(value);
        if (buf.includes('"elsewhere"')) return buf;
      }
    })();
    for (let i = 0; i < 100 && !buf.includes('event: hello'); i++) await new Promise((res) => setTimeout(res, 20));
    git(repo, 'fetch', '-q', other, 'orc:orc');
    const text = await Promise.race([got, new Promise<string>((res) => setTimeout(() => res(buf), 8000))]);
    ac.abort();
    expect(text).toMatch(/event: commit/);
    expect(text).toContain('"elsewhere"');
    const after = await req('GET', `${s.base}/workstreams/w/tasks/elsewhere`);
    expect(after.status).toBe(200);
    expect((await req('GET', `${s.base}/status`)).body.commit).not.toBe(before);
  });
});

describe('orc serve: safety', () => {
  it('403 for a Host that is not the listening address (reads too)', async () => {
    const evil = await rawGet(s.port, '/api/status', { host: `evil.example:${s.port}` });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).code).toBe('FORBIDDEN');
    expect(JSON.parse(evil.body).error).toMatch(/Host/);
    expect((await rawGet(s.port, '/api/status', { host: `localhost:${s.port}` })).status).toBe(200);
  });

  it('403 for a cross-site write; same-origin and no-Origin writes pass', async () => {
    const x = await req('POST', `${s.base}/agents`, { id: 'x1' }, { origin: 'http://evil.example' });
    expect(x.status).toBe(403);
    expect(x.body.code).toBe('FORBIDDEN');
    expect((await req('POST', `${s.base}/agents`, { id: 'x2' }, { origin: s.url })).status).toBe(201);
    expect((await req('POST', `${s.base}/agents`, { id: 'x3' }, { origin: 'null' })).status).toBe(403);
  });

  it('refuses a non-loopback address without a token', () => {
    const r = orc(repo, ['serve', '--port', '0', '--host', '0.0.0.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/token/);
  });

  it('with a token, writes need the bearer header', async () => {
    const t = await serve(repo, ['--token', 'sekrit']);
    try {
      const noToken = await req('POST', `${t.base}/agents`, { id: 'tk' });
      expect(noToken.status).toBe(401);
      expect(noToken.body.code).toBe('UNAUTHORIZED');
      expect((await req('POST', `${t.base}/agents`, { id: 'tk' }, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await req('POST', `${t.base}/agents`, { id: 'tk' }, { authorization: 'Bearer sekrit' })).status).toBe(201);
      expect((await req('GET', `${t.base}/agents`)).status).toBe(200);
    } finally {
      expect(await t.stop('SIGINT')).toBe(0);
    }
  });
});
