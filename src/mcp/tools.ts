/**
 * The MCP tool set: an agent's whole loop in a dozen tools, each a thin face
 * over one library call, so a write through MCP is the CLI's op (one commit,
 * the same CAS, through the remote when one is set). Schemas are strict
 * (unknown fields refused) and descriptions terse: the whole tools/list
 * answer must stay under 2,500 tokens. No SDK here: the server wires it.
 */
import { OrcError, invalid } from '../errors.js';
import type { Orc } from '../ops/orc.js';
import type { Identity } from '../prime/identity.js';

type PropType = 'string' | 'integer' | 'boolean' | 'object';
interface Prop {
  type: PropType;
  description?: string;
  enum?: string[];
}

export interface ToolContext {
  orc: Orc;
  identity: Identity;
}

/** What a tool answers: JSON (printed as the CLI's --json prints it, compact) or text (markdown). */
export type ToolResult = { json: unknown } | { text: string };

interface ToolDef {
  name: string;
  description: string;
  props: Record<string, Prop>;
  required?: string[];
  run(ctx: ToolContext, a: Record<string, unknown>): Promise<ToolResult>;
}

const s = (description?: string): Prop => (description ? { type: 'string', description } : { type: 'string' });
const ws = s();
const json = (v: unknown): ToolResult => ({ json: v });

function me(ctx: ToolContext): string {
  if (!ctx.identity.name) throw new OrcError('USAGE', 'no agent named for this MCP server; run `orc agent use NAME` in the worktree, or start it as `orc mcp --agent NAME`');
  return ctx.identity.name;
}

const str = (a: Record<string, unknown>, k: string) => a[k] as string | undefined;

export const TOOLS: ToolDef[] = [
  {
    name: 'prime',
    description: 'Start here: who you are, your claims and locks, ready tasks, your loop (markdown).',
    props: {},
    async run(ctx) {
      const { buildPrime, primeText } = await import('../prime/prime.js');
      return { text: primeText(await buildPrime(ctx.orc, ctx.identity)) };
    },
  },
  {
    name: 'status',
    description: 'Workstreams, agents, locks, recent events (orc status --json).',
    props: {},
    run: async (ctx) => json(await ctx.orc.status()),
  },
  {
    name: 'ready',
    description: 'Claimable tasks, best first; all workstreams unless one is given.',
    props: { workstream: ws },
    run: async (ctx, a) => json(await ctx.orc.readyTasks(str(a, 'workstream'))),
  },
  {
    name: 'claim',
    description: 'Claim task id, or without id the best ready one (null if none). CONFLICT if taken.',
    props: { workstream: ws, id: s(), lease_ms: { type: 'integer' } },
    required: ['workstream'],
    async run(ctx, a) {
      const opts = { leaseMs: a.lease_ms as number | undefined };
      const id = str(a, 'id');
      const w = a.workstream as string;
      return json(id ? await ctx.orc.claimTask(w, id, me(ctx), opts) : await ctx.orc.getNextTask(w, me(ctx), opts));
    },
  },
  {
    name: 'heartbeat',
    description: 'Say you are alive; extends your leases.',
    props: {},
    run: async (ctx) => json(await ctx.orc.heartbeat(me(ctx))),
  },
  {
    name: 'complete',
    description: 'Finish your task with a result; failed:true marks it failed.',
    props: { workstream: ws, id: s(), result: s(), failed: { type: 'boolean' } },
    required: ['workstream', 'id'],
    run: async (ctx, a) => json(await ctx.orc.completeTask(a.workstream as string, a.id as string, str(a, 'result'), { agent: me(ctx), failed: a.failed === true })),
  },
  {
    name: 'lock',
    description: 'Acquire or renew a lock (name, path or glob); returns its fencing token. CONFLICT if held.',
    props: { resource: s(), ttl_ms: { type: 'integer' } },
    required: ['resource'],
    run: async (ctx, a) => json(await ctx.orc.acquireLock(a.resource as string, me(ctx), a.ttl_ms as number | undefined)),
  },
  {
    name: 'unlock',
    description: 'Release a lock you hold.',
    props: { resource: s() },
    required: ['resource'],
    run: async (ctx, a) => json(await ctx.orc.releaseLock(a.resource as string, me(ctx))),
  },
  {
    name: 'kb_read',
    description: 'Read a knowledge topic.',
    props: { topic: s() },
    required: ['topic'],
    async run(ctx, a) {
      const topic = a.topic as string;
      const content = await ctx.orc.readKnowledge(topic);
      if (content === null) throw new OrcError('NOT_FOUND', `no knowledge topic "${topic}"; the status tool lists knowledge_topics`);
      return json({ topic, content });
    },
  },
  {
    name: 'kb_write',
    description: 'Write (replace) a knowledge topic; topics may contain "/".',
    props: { topic: s(), content: s() },
    required: ['topic', 'content'],
    run: async (ctx, a) => json(await ctx.orc.writeKnowledge(a.topic as string, a.content as string)),
  },
  {
    name: 'event',
    description: 'Log an event: an action name and optional data object.',
    props: { action: s(), data: { type: 'object' } },
    required: ['action'],
    run: async (ctx, a) => {
      me(ctx);
      return json(await ctx.orc.logEvent(a.action as string, (a.data as Record<string, unknown> | undefined) ?? {}));
    },
  },
  {
    name: 'send_message',
    description: 'Message agents. to: a name, "a,b", "@all" or "@ws:W" (its claim holders); thread: id answered.',
    props: { to: s(), subject: s(), body: s(), cc: s(), thread: s(), importance: { type: 'string', enum: ['low', 'normal', 'high'] }, ack: { type: 'boolean' } },
    required: ['to', 'subject'],
    async run(ctx, a) {
      me(ctx);
      const { sendMessage } = await import('../ops/messages.js');
      return json((await sendMessage(ctx.orc, { to: a.to as string, subject: a.subject as string, body: str(a, 'body'), cc: str(a, 'cc'), thread: str(a, 'thread'), importance: str(a, 'importance'), ack: a.ack === true })).result);
    },
  },
  {
    name: 'inbox',
    description: 'Your messages, newest first. With id: that one with its body, marked read; ack:true acknowledges it.',
    props: { unread: { type: 'boolean' }, id: s(), ack: { type: 'boolean' } },
    async run(ctx, a) {
      const M = await import('../ops/messages.js');
      const agent = me(ctx);
      const id = str(a, 'id');
      if (!id) return json(await M.inbox(ctx.orc, agent, { unread: a.unread === true }));
      const r = await M.readMessage(ctx.orc, id, agent);
      const st = a.ack === true ? await M.ackMessage(ctx.orc, id, agent) : r.state;
      return json({ ...r.message, body: r.body.toString('utf8'), read_at: st?.read_at ?? null, acked_at: st?.acked_at ?? null });
    },
  },
  {
    name: 'brief',
    description: "A task's brief: what to do, dependencies, knowledge (markdown; format json for data).",
    props: { workstream: ws, id: s(), format: { type: 'string', enum: ['md', 'json'] } },
    required: ['workstream'],
    async run(ctx, a) {
      // The runner brings Handlebars: loaded only when a brief is asked for.
      const { brief } = await import('../runner/runner.js');
      const r = await brief(ctx.orc, a.workstream as string, str(a, 'id') ?? null);
      return a.format === 'json' ? json(r.data) : { text: r.markdown };
    },
  },
];

/** The JSON schema of a tool's input: an object of exactly these fields. */
export function inputSchema(t: ToolDef): Record<string, unknown> {
  return {
    type: 'object',
    properties: t.props,
    ...(t.required?.length ? { required: t.required } : {}),
    additionalProperties: false,
  };
}

/** The tools/list answer. */
export function listTools(): { name: string; description: string; inputSchema: Record<string, unknown> }[] {
  return TOOLS.map((t) => ({ name: t.name, description: t.description, inputSchema: inputSchema(t) }));
}

/** Checks arguments against the tool's schema: INVALID on an unknown field, a missing one or a wrong type. */
export function checkArgs(t: ToolDef, raw: unknown): Record<string, unknown> {
  const a = raw ?? {};
  if (typeof a !== 'object' || Array.isArray(a)) throw invalid(`${t.name}: arguments must be an object`);
  const args = a as Record<string, unknown>;
  for (const k of Object.keys(args)) {
    if (!(k in t.props)) {
      const known = Object.keys(t.props);
      throw invalid(`${t.name}: unknown field "${k}"; ${known.length ? `it takes ${known.join(', ')}` : 'it takes no arguments'}`, { field: k });
    }
  }
  for (const k of t.required ?? []) if (args[k] === undefined) throw invalid(`${t.name}: "${k}" is required`, { field: k });
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined) continue;
    const p = t.props[k]!;
    const ok =
      p.type === 'string' ? typeof v === 'string' :
      p.type === 'integer' ? Number.isSafeInteger(v) :
      p.type === 'boolean' ? typeof v === 'boolean' :
      typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!ok) throw invalid(`${t.name}: "${k}" must be ${p.type === 'integer' ? 'an integer' : `a ${p.type}`}`, { field: k });
    if (p.enum && !p.enum.includes(v as string)) throw invalid(`${t.name}: "${k}" must be one of ${p.enum.join(', ')}`, { field: k });
  }
  return args;
}

/** Runs a tool by name; refusals come back as OrcError for the server to turn into a tool error. */
export async function callTool(ctx: ToolContext, name: string, raw: unknown): Promise<ToolResult> {
  const t = TOOLS.find((x) => x.name === name);
  if (!t) throw new OrcError('NOT_FOUND', `no tool "${name}"; tools: ${TOOLS.map((x) => x.name).join(', ')}`);
  return t.run(ctx, checkArgs(t, raw));
}
