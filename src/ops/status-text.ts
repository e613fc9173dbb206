import type { OrcEvent } from '../model/types.js';
import type { Status } from './orc.js';

// C0 and C1 controls, DEL, bidirectional overrides and isolates, zero-width marks, line separators and the BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const escapeChar = (c: string): string => {
  const n = c.codePointAt(0)!;
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
};

/**
 * A value made safe for a terminal: control characters (escape sequences,
 * carriage returns, line breaks) and bidi overrides shown as `\x1b`,
 * `\u{202e}`, so a field cannot forge a line or repaint the screen.
 */
export function termSafe(v: unknown): string {
  return String(v ?? '').replace(UNSAFE, escapeChar);
}

/** The same for multi-line text (descriptions, rendered markdown): tabs and line breaks stay. */
export function termSafeText(v: unknown): string {
  return String(v ?? '').replace(UNSAFE_KEEP_LINES, escapeChar);
}

/** "3m ago", "in 45s": a time relative to now, for people reading a terminal. */
export function relativeTime(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  if (!Number.isFinite(ms)) return String(iso);
  const abs = Math.abs(ms);
  const unit = abs < 60_000 ? `${Math.round(abs / 1000)}s` : abs < 3600_000 ? `${Math.round(abs / 60_000)}m` : abs < 86_400_000 ? `${Math.round(abs / 3600_000)}h` : `${Math.round(abs / 86_400_000)}d`;
  if (unit === '0s') return 'just now';
  return ms < 0 ? `${unit} ago` : `in ${unit}`;
}

export function describeEvent(e: OrcEvent): string {
  const parts: string[] = [];
  if (typeof e.workstream === 'string') parts.push(typeof e.task_id === 'string' ? `${e.workstream}/${e.task_id}` : e.workstream);
  if (typeof e.title === 'string') parts.push(JSON.stringify(e.title));
  if (typeof e.resource === 'string') parts.push(`${e.resource}${e.token !== undefined ? ` token ${String(e.token)}` : ''}`);
  if (typeof e.topic === 'string') parts.push(e.topic);
  if (typeof e.agent_id === 'string') parts.push(e.agent_id);
  if (typeof e.previous_agent === 'string') parts.push(`(from ${e.previous_agent})`);
  if (typeof e.commit === 'string') parts.push(e.commit.slice(0, 12), ...(typeof e.subject === 'string' ? [JSON.stringify(e.subject)] : []));
  if (typeof e.message_id === 'string') {
    const to = [e.to, e.cc].flatMap((v) => (Array.isArray(v) ? v.map(String) : []));
    parts.push(`message ${e.message_id}${to.length ? ` to ${to.join(',')}` : ''}`, ...(typeof e.subject === 'string' && typeof e.commit !== 'string' ? [JSON.stringify(e.subject)] : []));
  }
  if (typeof e.cycle === 'string') parts.push(`cycle ${e.cycle}`);
  if (typeof e.op === 'string') parts.push(`op ${e.op}`);
  if (typeof e.reason === 'string') parts.push(`— ${e.reason}`);
  return termSafe(parts.join(' '));
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The text view of `orc status`. */
export function renderStatusText(st: Status, now: Date): string {
  const lines: string[] = [];
  const t = st.summary.tasks;
  const q = termSafe;
  lines.push(`orc status — branch ${q(st.branch)}${st.commit ? ` @ ${st.commit.slice(0, 12)}` : ' (not created yet: it is made by the first op or `orc init`)'}`);
  lines.push(
    `${count(st.summary.workstreams, 'workstream')} · ${count(t.total, 'task')} (${t.pending} pending, ${t.in_progress} in progress, ${t.done} done, ${t.failed} failed) · ${count(st.summary.agents, 'agent')} · ${count(st.summary.active_locks, 'lock')} · ${count(st.summary.knowledge_topics, 'topic')}`,
  );
  const sto = st.summary.storage;
  if (sto) lines.push(`storage: ${count(sto.loose_objects, 'loose object')} · ${count(sto.packs, 'pack')} (${sto.pack_bytes < 1048576 ? `${Math.ceil(sto.pack_bytes / 1024)} KB` : `${(sto.pack_bytes / 1048576).toFixed(1)} MB`}) in the repository's objects`);
  const br = sto?.branch;
  if (br) lines.push(`branch: ${count(br.commits, 'commit')}${br.bytes === null ? '' : ` (${br.bytes < 1048576 ? `${Math.ceil(br.bytes / 1024)} KB` : `${(br.bytes / 1048576).toFixed(1)} MB`})`} in epoch ${br.epoch}, ${br.last_compacted_at ? `last compacted ${br.last_compacted_at}` : 'never compacted'}`);
  if (st.remote) {
    const r = st.remote;
    const where = r.tracking === null ? 'not fetched yet' : r.ahead === null ? 'no local state yet' : r.ahead === 0 && r.behind === 0 ? 'in sync' : `${r.ahead} ahead, ${r.behind} behind`;
    lines.push(`remote ${q(r.name)}: ${where} (as of the last fetch; orc sync publishes and fetches)`);
  }
  lines.push('', `Workstreams (${st.workstreams.length})`);
  if (!st.workstreams.length) lines.push('  none yet: orc ws create NAME [DESCRIPTION] [PRIORITY]');
  for (const w of st.workstreams) {
    const c = w.task_counts;
    const pct = c.total ? Math.round((100 * c.done) / c.total) : 0;
    lines.push(`  [P${q(w.priority)}] ${q(w.name)}${w.description ? ` — ${q(w.description)}` : ''}`);
    lines.push(`       ${c.done}/${c.total} done (${pct}%) · ${c.in_progress} in progress · ${c.pending} pending${c.failed ? ` · ${c.failed} failed` : ''}`);
  }
  lines.push('', `Agents (${st.agents.length})`);
  for (const a of st.agents) lines.push(`  ${q(a.id)} (${q(a.type)}) last seen ${relativeTime(a.last_heartbeat, now)}${a.stale ? ' — STALE' : ''}`);
  lines.push('', `Active locks (${st.active_locks.length})`);
  for (const l of st.active_locks) lines.push(`  ${q(l.resource)} — ${q(l.agent)}, token ${q(l.token)}, expires ${relativeTime(l.expires_at, now)}`);
  lines.push('', `Knowledge (${st.knowledge_topics.length})${st.knowledge_topics.length ? `: ${st.knowledge_topics.map(q).join(', ')}` : ''}`);
  lines.push('', 'Recent events');
  if (!st.recent_events.length) lines.push('  none');
  for (const e of st.recent_events.slice(-10)) lines.push(`  ${q(String(e.ts).slice(0, 19).replace('T', ' '))}  ${q(e.agent)}  ${q(e.action)}  ${describeEvent(e)}`);
  return `${lines.join('\n')}\n`;
}
