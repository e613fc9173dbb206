// orc benchmark, the agents' front door:
//
//   8a. the token cost of `orc mcp`'s tools/list answer (JSON characters / 4; target <= 2,500)
//   8b. `orc prime` output, markdown and --json, on a small populated repo (target <= ~1,500 tokens of markdown)
//   8c. a tool call round trip (claim, then complete) through the SDK's Client over stdio, median
//
// Called by run.mjs; `node bench/mcp.mjs` runs it alone (after `npm run build`).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { childEnv, makeRepo, median, ms, nowMs, pct, table } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = { toolsListTokens: 2500, primeTokens: 1500 };

export async function mcpBench({ tmp, env, cli, node, progress, calls = 40 }) {
  progress('mcp: tools/list size, prime size, tool round trips');
  const repo = makeRepo(tmp, 'mcp');
  const run = (...args) => {
    const r = spawnSync(node, [cli, ...args], { cwd: repo, env: { ...env, ORC_AGENT: 'bench' }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`orc ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  run('ws', 'create', 'W');
  for (let i = 0; i < 8; i++) run('t', 'add', 'W', `bench task ${i}`);
  run('t', 'next', 'W');
  run('lock', 'acquire', 'deploy');
  const primeMd = run('prime');
  const primeJson = run('prime', '--json');

  const transport = new StdioClientTransport({ command: node, args: [cli, 'mcp'], cwd: repo, env: { ...env, ORC_AGENT: 'bench' }, stderr: 'ignore' });
  const client = new Client({ name: 'orc-bench', version: '1.0.0' });
  await client.connect(transport);
  const list = await client.listTools();
  const listChars = JSON.stringify(list).length;
  for (let i = 0; i < calls; i++) run('t', 'add', 'W', `round trip ${i}`);
  const claim = [];
  const complete = [];
  for (let i = 0; i < calls; i++) {
    let t = nowMs();
    const r = await client.callTool({ name: 'claim', arguments: { workstream: 'W' } });
    claim.push(nowMs() - t);
    const task = JSON.parse(r.content[0].text);
    t = nowMs();
    await client.callTool({ name: 'complete', arguments: { workstream: 'W', id: task.id, result: 'ok' } });
    complete.push(nowMs() - t);
  }
  await client.close();

  const toolsTokens = Math.round(listChars / 4);
  const primeTokens = Math.round(primeMd.length / 4);
  const missed = [];
  if (!(toolsTokens <= TARGET.toolsListTokens)) missed.push(`mcp: tools/list is ${toolsTokens} tokens (target <= ${TARGET.toolsListTokens})`);
  if (!(primeTokens <= TARGET.primeTokens)) missed.push(`prime: ${primeTokens} tokens of markdown (target <= ${TARGET.primeTokens})`);
  const ok = (b) => (b ? 'ok' : 'MISSED');
  const rows = [
    [`tools/list (${list.tools.length} tools), tokens = JSON chars / 4`, `${toolsTokens}`, `<= ${TARGET.toolsListTokens} ${ok(toolsTokens <= TARGET.toolsListTokens)}`],
    ['orc prime (markdown), tokens', `${primeTokens}`, `<= ${TARGET.primeTokens} ${ok(primeTokens <= TARGET.primeTokens)}`],
    ['orc prime --json, tokens', `${Math.round(primeJson.length / 4)}`, 'reference'],
    [`claim tool round trip, median / p90 of ${calls}`, `${ms(median(claim))} / ${ms(pct(claim, 90))}`, 'reference'],
    [`complete tool round trip, median / p90 of ${calls}`, `${ms(median(complete))} / ${ms(pct(complete, 90))}`, 'reference'],
  ];
  return {
    results: { tools_list_chars: listChars, tools_list_tokens: toolsTokens, tools: list.tools.length, prime_md_tokens: primeTokens, prime_json_tokens: Math.round(primeJson.length / 4), claim_ms: claim, complete_ms: complete },
    tables: [table('8. Agents\' front door: orc mcp over stdio (the SDK\'s Client) and orc prime', ['measure', 'value', 'target'], rows)],
    missed,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-bench-mcp-'));
  try {
    const r = await mcpBench({ tmp, env: childEnv(), cli: path.join(ROOT, 'dist', 'cli', 'bin.cjs'), node: process.execPath, progress: (m) => process.stderr.write(`[bench] ${m}\n`) });
    process.stdout.write(`${r.tables.join('\n')}\n${r.missed.length ? `\nMISSED: ${r.missed.join('; ')}\n` : ''}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
