import { project } from './list-fields.js';
import { relativeTime, describeEvent, termSafe, termSafeText } from '../ops/status-text.js';
import type { Agent, Lock, OrcEvent, Task, WorkstreamSummary } from '../model/types.js';
import type { LogEntry } from '../ops/orc.js';
import type { SyncReport } from '../ops/sync.js';

/** Writes one JSON value, the whole of stdout in --json mode. */
export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(project(v), null, 2)}\n`);
}

/** Writes human-readable text: control characters and bidi overrides are escaped (line breaks and tabs kept); --json output goes through printJson, exact. */
export function print(text: string): void {
  const safe = termSafeText(text);
  process.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

const q = termSafe;

export function table(raw: string[][]): string {
  if (!raw.length) return '';
  // Each cell on one line: a value's own line breaks or escapes cannot start a row of their own.
  const rows = raw.map((r) => r.map(q));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** One value per line (topics): a value's own line breaks are escaped, so it stays one line. */
export function linesText(list: string[]): string {
  return list.map(q).join('\n');
}

export function workstreamsText(list: WorkstreamSummary[]): string {
  if (!list.length) return 'no workstreams yet: orc ws create NAME [DESCRIPTION] [PRIORITY]';
  return table([
    ['NAME', 'PRI', 'PENDING', 'IN PROGRESS', 'DONE', 'FAILED', 'DESCRIPTION'],
    ...list.map((w) => [w.name, `P${w.priority}`, String(w.task_counts.pending), String(w.task_counts.in_progress), String(w.task_counts.done), String(w.task_counts.failed), w.description]),
  ]);
}

export function tasksText(list: Task[], now: Date): string {
  if (!list.length) return 'no tasks';
  return table([
    ['ID', 'PRI', 'STATUS', 'ASSIGNED', 'TITLE'],
    ...list.map((t) => {
      const lease = t.status === 'in_progress' && t.lease_expires_at ? ` (lease ${Date.parse(t.lease_expires_at) > now.getTime() ? 'ends' : 'ended'} ${relativeTime(t.lease_expires_at, now)})` : '';
      return [t.id, `P${t.priority}`, t.archived ? `${t.status} (archived)` : t.status, `${t.assigned_to ?? '-'}${lease}`, t.title];
    }),
  ]);
}

export function taskText(t: Task, now: Date): string {
  const lines = [
    `${q(t.workstream)}/${q(t.id)}  ${q(t.title)}`,
    `status:      ${q(t.status)}${t.assigned_to ? ` (${q(t.assigned_to)})` : ''}${t.archived ? ', archived (read-only)' : ''}`,
    `priority:    P${q(t.priority)}${t.estimate !== null ? `, estimate ${q(t.estimate)}` : ''}`,
    `created:     ${q(t.created_at)} by ${q(t.created_by)}`,
  ];
  if (t.lease_expires_at) lines.push(`lease:       until ${t.lease_expires_at} (${relativeTime(t.lease_expires_at, now)})`);
  if (t.completed_at) lines.push(`completed:   ${t.completed_at}`);
  if (t.after?.length) lines.push(`waits for:   ${t.after.map(q).join(', ')}`);
  if (t.resources?.length) lines.push(`resources:   ${t.resources.map(q).join(', ')}`);
  if (t.kb?.length) lines.push(`knowledge:   ${t.kb.map(q).join(', ')}`);
  if (t.description) lines.push('', t.description);
  if (t.result) lines.push('', `result: ${t.result}`);
  return lines.join('\n');
}

export function agentsText(list: Agent[], now: Date): string {
  if (!list.length) return 'no agents registered: orc a register ID [TYPE]';
  return table([['ID', 'TYPE', 'LAST SEEN', 'STATE'], ...list.map((a) => [a.id, a.type, relativeTime(a.last_heartbeat, now), a.stale ? 'stale' : 'active'])]);
}

export function locksText(list: Lock[], now: Date): string {
  if (!list.length) return 'no active locks';
  return table([['RESOURCE', 'AGENT', 'TOKEN', 'EXPIRES'], ...list.map((l) => [l.resource, l.agent, String(l.token), relativeTime(l.expires_at, now)])]);
}

export function eventsText(list: OrcEvent[]): string {
  if (!list.length) return 'no events';
  return list.map((e) => `${q(e.ts)}  ${q(e.agent)}  ${q(e.action)}  ${describeEvent(e)}`.trimEnd()).join('\n');
}

export function logText(list: LogEntry[]): string {
  if (!list.length) return 'no history yet';
  return list.map((e) => `${e.commit.slice(0, 12)}  ${q(e.time)}  ${q(e.author).padEnd(12)}  ${q(e.summary)}`).join('\n');
}

export function syncText(r: SyncReport): string {
  const lines = [
    `synced ${r.branch} with ${r.remote}: ${r.came_in} commit${r.came_in === 1 ? '' : 's'} came in, ${r.went_out} went out${r.replayed ? ` (${r.replayed} replayed onto the remote's tip)` : ''}${r.remote_tip ? `; remote at ${r.remote_tip.slice(0, 12)}` : ''}`,
  ];
  for (const x of r.refused) {
    lines.push(`REFUSED on replay: ${x.op ?? 'commit'} by ${x.agent ?? '?'} (${x.commit.slice(0, 12)}): ${x.reason}`);
    lines.push(`  kept as refs/orc/refused/${x.commit} and as an op_replay_refused event; input: ${JSON.stringify(x.input)}`);
  }
  return lines.join('\n');
}
