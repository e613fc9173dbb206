/**
 * The MCP tools send_message and inbox, through the SDK's own Client over
 * stdio against a spawned `orc mcp`: a send is the CLI's msg.send op (one
 * commit by the agent), inbox lists, reads (marks read) and acknowledges.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, git, orc, orcJson, testEnv, tmpRepo } from '../helpers.js';
import { commitCount, opOf, tip } from '../cli/util.js';

const clients: Client[] = [];

async function connect(repo: string, agent: string): Promise<Client> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(testEnv({ ORC_AGENT: agent }))) if (v !== undefined) env[k] = v;
  const client = new Client({ name: 'orc-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [ORC_BIN, 'mcp'], cwd: repo, env, stderr: 'pipe' }));
  clients.push(client);
  return client;
}

type Result = { isError?: boolean; content: { type: string; text: string }[] };
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as Result;
async function callJson<T = any>(c: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(c, name, args);
  expect(r.isError, `${name}: ${r.content[0]?.text}`).toBeFalsy();
  return JSON.parse(r.content[0]!.text) as T;
}

afterEach(async () => {
  while (clients.length) await clients.pop()!.close();
});
afterAll(cleanup);

describe('MCP messages', () => {
  it('send_message is one msg.send commit by the agent; inbox lists, reads and acks per recipient', async () => {
    const repo = tmpRepo();
    for (const a of ['a1', 'a2', 'a3']) orc(repo, ['a', 'register', a]);
    const c1 = await connect(repo, 'a1');
    const before = commitCount(repo);
    const body = 'line\r\n<b>not bold</b> ✓\n';
    const m = await callJson(c1, 'send_message', { to: 'a2,a3', subject: 'hand-over', body, importance: 'high', ack: true });
    expect(m).toMatchObject({ from: 'a1', to: ['a2', 'a3'], subject: 'hand-over', importance: 'high', ack_required: true });
    expect(commitCount(repo)).toBe(before + 1);
    expect(opOf(repo, tip(repo)!)).toMatchObject({ op: 'msg.send', agent: 'a1' });
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('a1');

    const c2 = await connect(repo, 'a2');
    const box = await callJson<{ id: string; unread: boolean }[]>(c2, 'inbox', { unread: true });
    expect(box.map((x) => [x.id, x.unread])).toEqual([[m.id, true]]);
    const read = await callJson(c2, 'inbox', { id: m.id });
    expect(read).toMatchObject({ id: m.id, body, acked_at: null });
    expect(read.read_at).toBeTruthy();
    expect(await callJson(c2, 'inbox', { unread: true })).toEqual([]);
    const acked = await callJson(c2, 'inbox', { id: m.id, ack: true });
    expect(acked.acked_at).toBeTruthy();
    // a3's state is its own.
    expect(orcJson<{ unread: boolean; acked_at: string | null }[]>(repo, ['inbox', 'a3'])[0]).toMatchObject({ unread: true, acked_at: null });

    // Refusals are tool errors with orc's code, and make no commit.
    const t = tip(repo);
    const bad = await call(c1, 'send_message', { to: 'ghost', subject: 'x' });
    expect(bad.isError).toBe(true);
    expect(bad.content[0]!.text).toMatch(/^INVALID: recipient "ghost" is not a registered agent/);
    expect((await call(c1, 'send_message', { to: 'a2', subject: '' })).content[0]!.text).toMatch(/^INVALID: subject is missing/);
    expect((await call(c1, 'send_message', { to: 'a2', subject: 'x', importance: 'urgent' })).isError).toBe(true);
    expect((await call(c1, 'inbox', { id: m.id, ack: true })).content[0]!.text).toMatch(/^CONFLICT: /);
    expect(tip(repo)).toBe(t);
  });
});
