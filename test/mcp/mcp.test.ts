/**
 * `orc mcp` against the SDK's own Client over a real stdio transport: a
 * spawned `node dist/cli/bin.cjs mcp` in a temp repo. Every tool is called;
 * refusals are tool errors with orc's code; writes are the CLI's ops (one
 * commit each); two servers race for one task; a subscribed client hears of
 * another process's commit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { commitCount, opOf, tip } from '../cli/util.js';

const clients: Client[] = [];

function env(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(testEnv(extra))) if (v !== undefined) out[k] = v;
  return out;
}

async function connect(repo: string, agent: string | null): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [ORC_BIN, 'mcp'], cwd: repo, env: env(agent ? { ORC_AGENT: agent } : {}), stderr: 'pipe' });
  const client = new Client({ name: 'orc-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

interface CallResult {
  isError?: boolean;
  content: { type: string; text: string }[];
}

async function call(c: Client, name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
  return (await c.callTool({ name, arguments: args })) as CallResult;
}

async function callJson<T = any>(c: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(c, name, args);
  expect(r.isError, `${name} ${JSON.stringify(args)}: ${r.content[0]?.text}`).toBeFalsy();
  return JSON.parse(r.content[0]!.text) as T;
}

async function callError(c: Client, name: string, args: Record<string, unknown>, code: string): Promise<string> {
  const r = await call(c, name, args);
  expect(r.isError, `${name} ${JSON.stringify(args)} is refused`).toBe(true);
  const text = r.content[0]!.text;
  expect(text.startsWith(`${code}: `), text).toBe(true);
  expect(text).not.toContain('\n');
  expect(text).not.toMatch(/\bat .*\.(c?js|ts):\d+/);
  return text;
}

afterEach(async () => {
  while (clients.length) await clients.pop()!.close();
});
afterAll(cleanup);

function populated(): string {
  const repo = tmpRepo();
  orc(repo, ['ws', 'create', 'W']);
  return repo;
}

describe('orc mcp', () => {
  it('lists a small tool set with strict schemas, within 2,500 tokens', async () => {
    const c = await connect(populated(), 'a1');
    const r = await c.listTools();
    const names = r.tools.map((t) => t.name).sort();
    expect(names).toEqual(['brief', 'claim', 'complete', 'event', 'heartbeat', 'inbox', 'kb_read', 'kb_write', 'lock', 'prime', 'ready', 'send_message', 'status', 'unlock']);
    for (const t of r.tools) expect(t.inputSchema, t.name).toMatchObject({ type: 'object', additionalProperties: false });
    expect(JSON.stringify(r).length / 4).toBeLessThanOrEqual(2500);
  });

  it('runs every tool: reads give the CLI --json, writes are one commit of the CLI op', async () => {
    const repo = populated();
    const t1 = orcJson<{ id: string }>(repo, ['t', 'add', 'W', 'first', '--resource', 'src/a.ts']).id;
    const t2 = orcJson<{ id: string }>(repo, ['t', 'add', 'W', 'second', '', '2']).id;
    const c = await connect(repo, 'a1');

    const status = await callJson(c, 'status');
    const cli = orcJson<any>(repo, ['status']);
    expect({ ...status, generated_at: null, agents: null }).toEqual({ ...cli, generated_at: null, agents: null });
    expect(await callJson(c, 'ready', { workstream: 'W' })).toEqual(orcJson(repo, ['ready', 'W']));
    expect(await callJson(c, 'ready')).toEqual(orcJson(repo, ['ready']));

    const write = async (name: string, args: Record<string, unknown>, op: string) => {
      const before = commitCount(repo);
      const out = await callJson(c, name, args);
      expect(commitCount(repo), `${name} makes one commit`).toBe(before + 1);
      const rec = opOf(repo, tip(repo)!);
      expect(rec.op).toBe(op);
      expect(rec.agent).toBe('a1');
      return out;
    };
    const claimed = await write('claim', { workstream: 'W', id: t2 }, 'task.claim');
    expect(claimed).toMatchObject({ id: t2, status: 'in_progress', assigned_to: 'a1' });
    const next = await write('claim', { workstream: 'W', lease_ms: 60000 }, 'task.next');
    expect(next).toMatchObject({ id: t1, assigned_to: 'a1', lease_ms: 60000 });
    expect(await callJson(c, 'claim', { workstream: 'W' }), 'nothing left: null, as --json prints').toBeNull();
    expect(await write('heartbeat', {}, 'agent.heartbeat')).toMatchObject({ id: 'a1' });
    const lock = await write('lock', { resource: 'deploy', ttl_ms: 30000 }, 'lock.acquire');
    expect(lock).toMatchObject({ resource: 'deploy', agent: 'a1', ttl_ms: 30000, token: 1 });
    expect(await write('unlock', { resource: 'deploy' }, 'lock.release')).toMatchObject({ resource: 'deploy', token: 1 });
    expect(await write('kb_write', { topic: 'notes/api', content: 'use v2\n' }, 'kb.write')).toEqual({ topic: 'notes/api', bytes: 7 });
    expect(await callJson(c, 'kb_read', { topic: 'notes/api' })).toEqual(orcJson(repo, ['kb', 'read', 'notes/api']));
    expect(await write('event', { action: 'deployed', data: { env: 'prod' } }, 'event.log')).toEqual({ action: 'deployed' });
    expect(await write('complete', { workstream: 'W', id: t2, result: 'done it' }, 'task.complete')).toMatchObject({ id: t2, status: 'done', result: 'done it' });
    expect(await write('complete', { workstream: 'W', id: t1, result: 'no', failed: true }, 'task.complete')).toMatchObject({ id: t1, status: 'failed' });

    const brief = await call(c, 'brief', { workstream: 'W', id: t1 });
    expect(brief.isError).toBeFalsy();
    expect(brief.content[0]!.text).toContain('# first');
    const bj = await callJson(c, 'brief', { workstream: 'W', id: t1, format: 'json' });
    expect({ ...bj, generated_at: null }).toEqual({ ...orcJson<object>(repo, ['brief', 'W', t1]), generated_at: null });
    const prime = await call(c, 'prime');
    expect(prime.content[0]!.text).toContain('You are **a1**');
  });

  it('refuses bad input and state conflicts as tool errors with orc code, with no commit', async () => {
    const repo = populated();
    const id = orcJson<{ id: string }>(repo, ['t', 'add', 'W', 'one']).id;
    orc(repo, ['t', 'claim', 'W', id, 'other']);
    const c = await connect(repo, 'a1');
    const before = tip(repo);
    expect(await callError(c, 'claim', { workstream: 'W', id, bogus: true }, 'INVALID')).toContain('bogus');
    await callError(c, 'status', { verbose: true }, 'INVALID');
    await callError(c, 'claim', {}, 'INVALID');
    await callError(c, 'claim', { workstream: 'W', lease_ms: '10m' }, 'INVALID');
    await callError(c, 'brief', { workstream: 'W', format: 'html' }, 'INVALID');
    await callError(c, 'claim', { workstream: 'W', id }, 'CONFLICT');
    await callError(c, 'claim', { workstream: 'nope' }, 'NOT_FOUND');
    await callError(c, 'claim', { workstream: 'W', id: '../x' }, 'INVALID');
    await callError(c, 'unlock', { resource: 'deploy' }, 'NOT_FOUND');
    await callError(c, 'kb_read', { topic: 'missing' }, 'NOT_FOUND');
    await callError(c, 'nope', {}, 'NOT_FOUND');
    expect(tip(repo), 'no refusal commits').toBe(before);
  });

  it('refuses writes when no agent is named, saying how to name one', async () => {
    const c = await connect(populated(), null);
    expect(await callError(c, 'heartbeat', {}, 'USAGE')).toContain('orc agent use');
  });

  it('two servers racing for one task: one claims it, the other gets CONFLICT', async () => {
    const repo = populated();
    const ids = [1, 2, 3, 4].map((i) => orcJson<{ id: string }>(repo, ['t', 'add', 'W', `task ${i}`]).id);
    const [a, b] = await Promise.all([connect(repo, 'a1'), connect(repo, 'a2')]);
    for (const id of ids) {
      const [ra, rb] = await Promise.all([call(a, 'claim', { workstream: 'W', id }), call(b, 'claim', { workstream: 'W', id })]);
      const results = [ra, rb];
      expect(results.filter((r) => !r.isError), `exactly one wins ${id}`).toHaveLength(1);
      const lost = results.find((r) => r.isError)!;
      expect(lost.content[0]!.text).toMatch(/^CONFLICT: /);
      const won = JSON.parse(results.find((r) => !r.isError)!.content[0]!.text) as { assigned_to: string };
      expect(orcJson<{ assigned_to: string }>(repo, ['t', 'show', 'W', id]).assigned_to).toBe(won.assigned_to);
    }
  });

  it('tells a subscribed client when another process commits', async () => {
    const repo = populated();
    const c = await connect(repo, 'a1');
    const got: string[] = [];
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
      got.push(n.params.uri);
    });
    const list = await c.listResources();
    expect(list.resources.map((r) => r.uri).sort()).toEqual(['orc://brief', 'orc://prime', 'orc://status']);
    await c.subscribeResource({ uri: 'orc://status' });
    expect(orc(repo, ['t', 'add', 'W', 'new work'], { env: { ORC_AGENT: 'lead' } }).code).toBe(0);
    for (let i = 0; i < 100 && !got.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(got).toContain('orc://status');
    const status = await c.readResource({ uri: 'orc://status' });
    expect(JSON.parse((status.contents[0] as { text: string }).text).summary.tasks.pending).toBe(1);
    const prime = await c.readResource({ uri: 'orc://prime' });
    expect((prime.contents[0] as { text: string }).text).toContain('new work');
  });
});

describe('start-up stays lazy', () => {
  /** The files a command loaded (require.cache at exit), through a --require preload. */
  function loaded(repo: string, args: string[]): string[] {
    const dir = tmpDir('orc-loaded-');
    const out = path.join(dir, 'loaded.json');
    const pre = path.join(dir, 'pre.cjs');
    fs.writeFileSync(pre, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const r = spawnSync(process.execPath, ['--require', pre, ORC_BIN, ...args], { cwd: repo, env: testEnv(), input: '', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
  }
  const hasSdk = (files: string[]) => files.some((f) => f.includes('@modelcontextprotocol') || (fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('node_modules/@modelcontextprotocol/sdk')));

  it('orc status does not load the MCP SDK; orc mcp does', () => {
    const repo = populated();
    git(repo, 'config', 'orc.agent', 'a1');
    expect(hasSdk(loaded(repo, ['status']))).toBe(false);
    expect(hasSdk(loaded(repo, ['prime']))).toBe(false);
    expect(hasSdk(loaded(repo, ['mcp']))).toBe(true);
  });
});

describe('lines that are not JSON-RPC', () => {
  it('are answered as JSON-RPC 2.0 says (-32700 parse error, -32600 invalid request, id null) and named on stderr; the session goes on', () => {
    const repo = populated();
    const input = ['not json', '{"foo":1}', '{"jsonrpc":"2.0","id":7,"method":"ping"}', ''].join('\n');
    const r = spawnSync(process.execPath, [ORC_BIN, 'mcp', '--agent', 'a1'], { cwd: repo, env: testEnv(), input, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const replies = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; error?: { code: number; message: string }; result?: unknown });
    expect(replies).toHaveLength(3);
    expect(replies[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(replies[1]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(replies[2]).toMatchObject({ jsonrpc: '2.0', id: 7, result: {} });
    expect(r.stderr).toMatch(/^orc mcp: Parse error: /m);
    expect(r.stderr).toMatch(/^orc mcp: Invalid Request/m);
  });
});
