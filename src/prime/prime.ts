/**
 * `orc prime`: what an agent needs at the start of a session, read through
 * the library in one pass: who it is, its live claims and locks, the ready
 * tasks it could take, recent events that concern it, and the commands of
 * its loop with its names filled in. Kept short (≤ ~1,500 tokens): lists are
 * capped and long titles cut.
 */
import type { Orc } from '../ops/orc.js';
import type { Lock, OrcEvent } from '../model/types.js';
import { identityText, type Identity } from './identity.js';

export interface PrimeTask {
  workstream: string;
  id: string;
  title: string;
  priority: number;
  lease_expires_at?: string | null;
}

export interface PrimeData {
  agent: string | null;
  agent_source: Identity['source'];
  agent_how: string;
  branch: string;
  initialized: boolean;
  claims: PrimeTask[];
  locks: Lock[];
  ready: PrimeTask[];
  ready_total: number;
  events: OrcEvent[];
  /** The agent's unread messages: how many, and the newest few. */
  messages: { unread: number; latest: { id: string; from: string; subject: string; importance: string }[] };
  commands: { what: string; run: string }[];
}

const MAX_READY = 5;
const MAX_EVENTS = 5;
const MAX_TITLE = 80;

/** Quotes a word for a POSIX shell when it needs it. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const cut = (s: string) => (s.length > MAX_TITLE ? `${s.slice(0, MAX_TITLE - 1)}…` : s);

function concerns(e: OrcEvent, agent: string): boolean {
  return e.action !== 'agent_heartbeat' && (e.agent === agent || Object.values(e).some((v) => v === agent));
}

export async function buildPrime(orc: Orc, id: Identity): Promise<PrimeData> {
  const initialized = orc.store.tip() !== null;
  const me = id.name;
  const claims: PrimeTask[] = [];
  let locks: Lock[] = [];
  let ready: PrimeTask[] = [];
  let readyTotal = 0;
  let events: OrcEvent[] = [];
  const messages: PrimeData['messages'] = { unread: 0, latest: [] };
  /** The one active workstream, when there is just one: the loop's commands name it instead of WS. */
  let onlyWs: string | null = null;
  if (initialized) {
    const all = await orc.readyTasks();
    readyTotal = all.length;
    ready = all.slice(0, MAX_READY).map((t) => ({ workstream: t.workstream, id: t.id, title: cut(t.title), priority: t.priority }));
    const workstreams = await orc.listWorkstreams();
    const active = workstreams.filter((w) => w.status === 'active');
    if (active.length === 1) onlyWs = active[0]!.name;
    if (me) {
      for (const w of workstreams) {
        if (!w.task_counts.in_progress) continue;
        for (const t of await orc.listTasks(w.name, { status: 'in_progress' })) {
          if (t.assigned_to === me) claims.push({ workstream: t.workstream, id: t.id, title: cut(t.title), priority: t.priority, lease_expires_at: t.lease_expires_at ?? null });
        }
      }
      locks = (await orc.listLocks()).filter((l) => l.agent === me);
      events = (await orc.getEvents({ last: 200 })).filter((e) => concerns(e, me)).slice(-MAX_EVENTS);
      const u = await (await import('../ops/messages.js')).unread(orc, me, 3);
      messages.unread = u.count;
      messages.latest = u.latest.map((m) => ({ id: m.id, from: m.from, subject: cut(m.subject), importance: m.importance }));
    } else {
      events = await orc.getEvents({ last: MAX_EVENTS });
    }
  }
  const name = me ? shq(me) : 'NAME';
  const claim = claims[0];
  const ws = claim?.workstream ?? ready[0]?.workstream ?? onlyWs ?? 'WS';
  const task = claim?.id ?? 'ID';
  const commands = [
    ...(me ? [] : [{ what: 'name yourself (this worktree only)', run: 'orc agent use NAME' }]),
    ...(initialized ? [] : [{ what: 'start: create a workstream and add work', run: 'orc ws create WS && orc t add WS "TITLE"' }]),
    // Nothing ready now: the waiting form, so an agent blocks until work comes instead of polling.
    ready.length
      ? { what: 'claim the best ready task', run: `orc t next ${shq(ws)} ${name}` }
      : { what: 'nothing is ready: wait until a task is claimable (no polling), then claim it', run: `orc t next ${shq(ws)} ${name} --wait --timeout 10m` },
    { what: 'stay alive (extends your leases)', run: `orc a heartbeat ${name}` },
    { what: 'lock a shared resource (prints a fencing token); release it after', run: `orc lock acquire RESOURCE ${name}` },
    { what: 'share what you learned', run: 'orc kb write TOPIC -' },
    { what: 'message agents (a,b, @all, @ws:WS); read yours', run: `orc msg send TO 'SUBJECT' -; orc inbox --unread; orc msg read ID` },
    { what: 'finish (or `orc t fail`)', run: `orc t complete ${shq(ws)} ${shq(task)} 'RESULT'` },
  ];
  return { agent: me, agent_source: id.source, agent_how: identityText(id), branch: orc.branch, initialized, claims, locks, ready, ready_total: readyTotal, events, messages, commands };
}

function eventLine(e: OrcEvent): string {
  const bits = ['workstream', 'task_id', 'id', 'resource', 'topic']
    .map((k) => e[k])
    .filter((v): v is string => typeof v === 'string');
  return `- ${e.ts} ${e.agent} ${e.action}${bits.length ? ` ${cut(bits.join('/'))}` : ''}`;
}

export function primeText(p: PrimeData): string {
  const out: string[] = ['# orc: coordinate through git', ''];
  out.push(p.agent ? `You are **${p.agent}**, ${p.agent_how}.` : `You have no agent name yet: ${p.agent_how}.`);
  if (!p.initialized) {
    out.push('', `No state branch \`${p.branch}\` yet: the first op creates it (\`orc init\` does nothing else).`);
  } else {
    out.push('', '## Your claims');
    if (p.claims.length) for (const t of p.claims) out.push(`- ${t.workstream}/${t.id} ${t.title} (lease until ${t.lease_expires_at ?? '?'})`);
    else out.push('- none');
    if (p.agent) {
      out.push('', `## Unread messages (${p.messages.unread})`);
      if (p.messages.latest.length) for (const m of p.messages.latest) out.push(`- ${m.id} from ${m.from}${m.importance === 'high' ? ' [high]' : ''}: ${m.subject}`);
      else out.push('- none');
      if (p.messages.unread > p.messages.latest.length) out.push('- … `orc inbox --unread` lists all');
    }
    out.push('', '## Your locks');
    if (p.locks.length) for (const l of p.locks) out.push(`- ${l.resource} until ${l.expires_at} (token ${l.token})`);
    else out.push('- none');
    out.push('', `## Ready tasks (${p.ready_total}, best first)`);
    if (p.ready.length) for (const t of p.ready) out.push(`- ${t.workstream}/${t.id} p${t.priority} ${t.title}`);
    else out.push('- none');
    if (p.ready_total > p.ready.length) out.push(`- … \`orc ready\` lists all`);
    out.push('', p.agent ? '## Recent events concerning you' : '## Recent events');
    if (p.events.length) for (const e of p.events) out.push(eventLine(e));
    else out.push('- none');
  }
  out.push('', '## Your loop');
  for (const c of p.commands) out.push(`- ${c.what}: \`${c.run}\``);
  out.push('', 'Add `--json` to any command for machine output. `orc mcp` serves the same as MCP tools.');
  return out.join('\n');
}
