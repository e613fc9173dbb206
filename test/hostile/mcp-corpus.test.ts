/**
 * The hostile-input corpus through `orc mcp`, the SDK's own client over a
 * real stdio transport: every name- and value-taking tool either refuses a
 * value as a tool error with orc's code and makes no commit, or accepts it
 * and reads it back exactly.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, orc, testEnv, tmpRepo } from '../helpers.js';
import { tip } from '../cli/util.js';
import { NAMES, NUMBERS } from './corpus.js';

interface CallResult {
  isError?: boolean;
  content: { type: string; text: string }[];
}

let repo: string;
let client: Client;

beforeAll(async () => {
  repo = tmpRepo();
  expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
  expect(orc(repo, ['t', 'add', 'w', 'one']).code).toBe(0);
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(testEnv({ ORC_AGENT: 'agent-1' }))) if (v !== undefined) childEnv[k] = v;
  client = new Client({ name: 'orc-corpus', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [ORC_BIN, 'mcp'], cwd: repo, env: childEnv, stderr: 'pipe' }));
});

afterAll(async () => {
  await client?.close();
  cleanup();
});

async function call(name: string, args: Record<string, unknown>): Promise<CallResult> {
  return (await client.callTool({ name, arguments: args })) as CallResult;
}

/** Refused (a tool error with one of `codes`, one line, and no commit) or accepted; says which. */
async function refusedOrAccepted(name: string, args: Record<string, unknown>, codes: string[]): Promise<CallResult | null> {
  const before = tip(repo);
  const r = await call(name, args);
  const text = r.content[0]?.text ?? '';
  if (r.isError) {
    expect(codes.some((c) => text.startsWith(`${c}: `)), `${name} ${JSON.stringify(args).slice(0, 120)}: ${text}`).toBe(true);
    expect(text).not.toContain('\n');
    expect(tip(repo), `${name} refused but committed`).toBe(before);
    return null;
  }
  return r;
}

describe('hostile corpus through orc mcp', () => {
  it('kb_write topics and contents: refused with no commit, or read back exactly', async () => {
    let accepted = 0;
    for (const v of NAMES) {
      if (await refusedOrAccepted('kb_write', { topic: v, content: v }, ['INVALID', 'CONFLICT'])) {
        accepted++;
        const back = await call('kb_read', { topic: v });
        expect(back.isError, `kb_read ${JSON.stringify(v)}`).toBeFalsy();
        expect(JSON.parse(back.content[0]!.text)).toEqual({ topic: v, content: v });
      }
      const w = await refusedOrAccepted('kb_write', { topic: 'notes/corpus', content: v }, ['INVALID']);
      if (w) expect(JSON.parse((await call('kb_read', { topic: 'notes/corpus' })).content[0]!.text).content).toBe(v);
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(NAMES.length);
  });

  it('lock resources, workstreams, task ids and event actions: refused with no commit, or accepted as given', async () => {
    for (const v of NAMES) {
      const got = await refusedOrAccepted('lock', { resource: v, ttl_ms: 60_000 }, ['INVALID', 'CONFLICT']);
      if (got) {
        expect(JSON.parse(got.content[0]!.text).resource).toBe(v);
        expect((await call('unlock', { resource: v })).isError).toBeFalsy();
      }
      await refusedOrAccepted('claim', { workstream: v }, ['INVALID', 'NOT_FOUND']);
      await refusedOrAccepted('claim', { workstream: 'w', id: v }, ['INVALID', 'NOT_FOUND']);
      await refusedOrAccepted('complete', { workstream: 'w', id: v, result: v }, ['INVALID', 'NOT_FOUND']);
      const ev = await refusedOrAccepted('event', { action: v, data: { note: v } }, ['INVALID']);
      if (ev) expect(JSON.parse(ev.content[0]!.text).action).toBe(v);
    }
  });

  it('numbers for leases and TTLs: refused with no commit, or taken', async () => {
    for (const n of NUMBERS) {
      const got = await refusedOrAccepted('lock', { resource: 'deploy', ttl_ms: n }, ['INVALID']);
      if (got) expect((await call('unlock', { resource: 'deploy' })).isError).toBeFalsy();
      await refusedOrAccepted('claim', { workstream: 'w', id: 'nope', lease_ms: n }, ['INVALID', 'NOT_FOUND']);
    }
  });
});
