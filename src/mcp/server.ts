/**
 * `orc mcp`: a Model Context Protocol server over stdio, on the official SDK
 * (loaded only by this command). One server per agent process; its tools
 * are src/mcp/tools.ts. Resources: orc://prime (markdown), orc://status
 * (JSON) and orc://brief (the brief of the agent's claim, or of the best
 * ready task); a subscribed client is sent notifications/resources/updated
 * whenever the state branch moves, whoever moved it.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { OrcError } from '../errors.js';
import type { Orc } from '../ops/orc.js';
import type { Identity } from '../prime/identity.js';
import { TipWatcher } from '../server/watch.js';
import { callTool, listTools, type ToolContext } from './tools.js';

const RESOURCES = [
  { uri: 'orc://prime', name: 'prime', description: 'Your claims, locks, ready tasks and loop.', mimeType: 'text/markdown' },
  { uri: 'orc://status', name: 'status', description: 'orc status --json', mimeType: 'application/json' },
  { uri: 'orc://brief', name: 'brief', description: 'Brief of your claimed task, else the best ready one.', mimeType: 'text/markdown' },
];

/** An error as one line with orc's code: `CONFLICT: task … is not pending`. Never a stack. */
export function errorText(e: unknown): string {
  if (e instanceof OrcError) return `${e.code}: ${e.message.split('\n')[0]}`;
  const err = e as NodeJS.ErrnoException;
  return `ENV: ${err?.code ? `${err.code}: ` : ''}${String(err?.message ?? e).split('\n')[0]}`;
}

async function readResource(ctx: ToolContext, uri: string): Promise<{ uri: string; mimeType: string; text: string }> {
  if (uri === 'orc://status') return { uri, mimeType: 'application/json', text: JSON.stringify(await ctx.orc.status()) };
  if (uri === 'orc://prime') {
    const { buildPrime, primeText } = await import('../prime/prime.js');
    return { uri, mimeType: 'text/markdown', text: primeText(await buildPrime(ctx.orc, ctx.identity)) };
  }
  if (uri === 'orc://brief') {
    const { buildPrime } = await import('../prime/prime.js');
    const p = await buildPrime(ctx.orc, ctx.identity);
    const t = p.claims[0] ?? p.ready[0];
    if (!t) return { uri, mimeType: 'text/markdown', text: 'No claimed or ready task.' };
    const { brief } = await import('../runner/runner.js');
    return { uri, mimeType: 'text/markdown', text: (await brief(ctx.orc, t.workstream, t.id)).markdown };
  }
  throw new OrcError('NOT_FOUND', `no resource ${uri}; resources: ${RESOURCES.map((r) => r.uri).join(', ')}`);
}

/** Builds the SDK server over an open Orc (no transport yet). */
export function createMcpServer(orc: Orc, identity: Identity): { server: Server; subscribed: Set<string> } {
  const ctx: ToolContext = { orc, identity };
  const server = new Server(
    { name: 'orc', version: '0.1.0' },
    {
      capabilities: { tools: {}, resources: { subscribe: true } },
      instructions: `orc coordinates agents through git. You are ${identity.name ?? '(unnamed: run `orc agent use NAME`)'}. Call prime first.`,
    },
  );
  const subscribed = new Set<string>();
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listTools() }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    try {
      const r = await callTool(ctx, req.params.name, req.params.arguments);
      return { content: [{ type: 'text' as const, text: 'text' in r ? r.text : JSON.stringify(r.json) }] };
    } catch (e) {
      if (process.env.ORC_DEBUG) console.error(e);
      return { isError: true, content: [{ type: 'text' as const, text: errorText(e) }] };
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    try {
      return { contents: [await readResource(ctx, req.params.uri)] };
    } catch (e) {
      // The SDK turns a thrown Error into a JSON-RPC error; give it orc's one line, not a stack.
      throw new Error(errorText(e));
    }
  });
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    if (!RESOURCES.some((r) => r.uri === req.params.uri)) throw new Error(`NOT_FOUND: no resource ${req.params.uri}`);
    subscribed.add(req.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });
  return { server, subscribed };
}

/**
 * Serves MCP on stdin/stdout until stdin closes. Watches the state branch
 * (the ref file, packed-refs and the reflog, plus a slow poll: the
 * dashboard's watcher) and tells subscribed clients when it moves.
 */
export async function serveMcp(orc: Orc, identity: Identity): Promise<void> {
  const { server, subscribed } = createMcpServer(orc, identity);
  const transport = new StdioServerTransport();
  const watcher = new TipWatcher(orc.store, () => {
    for (const uri of subscribed) void server.sendResourceUpdated({ uri }).catch(() => {});
  });
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      watcher.close();
      resolve();
    };
    server.onclose = finish;
    // A line the SDK cannot read (not JSON, or not a JSON-RPC message) is answered as JSON-RPC 2.0
    // says, with id null, and named on stderr; the SDK alone would drop it without a word.
    server.onerror = (e: Error) => {
      const parse = e instanceof SyntaxError;
      const shape = !parse && e?.name === 'ZodError';
      if (!parse && !shape) return;
      const error = parse ? { code: -32700, message: `Parse error: ${e.message}` } : { code: -32600, message: 'Invalid Request: not a JSON-RPC 2.0 message' };
      process.stderr.write(`orc mcp: ${error.message.slice(0, 300)}\n`);
      void transport.send({ jsonrpc: '2.0', id: null, error } as unknown as Parameters<typeof transport.send>[0]).catch(() => {});
    };
    process.stdin.once('end', finish);
    process.stdin.once('close', finish);
    void server.connect(transport).catch(finish);
  });
}
