import { OrcError } from '../errors.js';
import { queryEvents } from '../model/events.js';
import { knowledgeFile } from '../model/layout.js';
import { claimable, depTarget } from '../model/ops.js';
import * as S from '../model/state.js';
import { inbox } from '../model/messages.js';
import type { StateReader } from '../model/state.js';
import type { OrcEvent, Task } from '../model/types.js';
import { describeEvent } from '../ops/status-text.js';
import { shellQuote } from './shell.js';

/** How much knowledge a brief carries: related topics at most, characters per topic, characters in all. */
export const KB_LIMITS = { related: 5, perTopic: 4000, total: 12_000, recentEvents: 10 };

export interface BriefDependency {
  id: string;
  title: string | null;
  status: string;
  result: string | null;
  assigned_to: string | null;
  completed_at: string | null;
  /** The dependency no longer exists (deleted on the branch by hand). */
  missing: boolean;
}

export interface BriefTopic {
  topic: string;
  /** `named`: the task names it with --kb; `related`: its text mentions the workstream or the task's words. */
  reason: 'named' | 'related';
  /** What it matched, for related topics: the workstream and/or task words. */
  matched: string[];
  content: string;
  bytes: number;
  /** Characters left out by the size cap (read them with `orc kb read TOPIC`). */
  truncated: number;
  missing: boolean;
}

export interface BriefEvent extends OrcEvent {
  /** One line describing the event (what `orc events` prints after the action). */
  text: string;
}

/** The commands an agent runs for this task; no paths, so they work from any worktree of the repo. */
export interface BriefCommands {
  whoami: string;
  claim: string;
  heartbeat: string;
  show: string;
  findings: string;
  complete: string;
  fail: string;
}

export interface BriefData {
  generated_at: string;
  /** The cycle the brief was rendered for, or null when rendered on demand (`orc brief`). */
  cycle: string | null;
  workstream: { name: string; description: string; priority: number };
  task: Task;
  /** Pending with every dependency done. */
  ready: boolean;
  /** Dependencies not done yet. */
  waiting_for: string[];
  dependencies: BriefDependency[];
  knowledge: BriefTopic[];
  /** Related topics left out by the cap. */
  knowledge_omitted: string[];
  events: BriefEvent[];
  /** The assignee's unread messages (count, newest three), or null when the task has no assignee or it has none. */
  messages: { agent: string; unread: number; latest: { id: string; from: string; subject: string; importance: string }[] } | null;
  commands: BriefCommands;
}

const STOP = new Set(
  'about above after again against also been before being below between both but cannot could does doing down during each from further have having here into itself just more most must only other over same should some such than that their them then there these they this those through under until very what when where which while will with would your yours make made need needs task tasks todo done using used want'.split(' '),
);

/** The distinctive words of a task's title and description: lower case, 4+ letters, no stop words, at most 30. */
export function taskWords(t: Pick<Task, 'title' | 'description'>): string[] {
  const words = `${t.title} ${t.description}`.toLowerCase().split(/[^a-z0-9]+/);
  const out: string[] = [];
  for (const w of words) if (w.length >= 4 && !STOP.has(w) && !/^\d+$/.test(w) && !out.includes(w)) out.push(w);
  return out.slice(0, 30);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const mentions = (text: string, word: string) => new RegExp(`(^|[^a-z0-9])${escapeRe(word.toLowerCase())}([^a-z0-9]|$)`).test(text);

/**
 * The knowledge that matters to a task: the topics it names (in its order),
 * then others whose name or text mentions the workstream (worth 3) or the
 * task's words (1 each), best first, ties by name; all under KB_LIMITS.
 */
export function relevantKnowledge(s: StateReader, t: Task): { topics: BriefTopic[]; omitted: string[] } {
  const named = t.kb ?? [];
  const words = taskWords(t);
  const related: { topic: string; score: number; matched: string[]; text: string; bytes: number }[] = [];
  for (const topic of S.listTopics(s)) {
    if (named.includes(topic)) continue;
    const buf = s.read(knowledgeFile(topic));
    if (!buf) continue;
    const text = buf.toString('utf8');
    const hay = `${topic.replace(/[/_-]/g, ' ')}\n${text}`.toLowerCase();
    const matched: string[] = [];
    let score = 0;
    if (mentions(hay, t.workstream)) {
      score += 3;
      matched.push(t.workstream);
    }
    for (const w of words) {
      if (w !== t.workstream.toLowerCase() && mentions(hay, w)) {
        score += 1;
        matched.push(w);
      }
    }
    if (score > 0) related.push({ topic, score, matched, text, bytes: buf.length });
  }
  related.sort((a, b) => b.score - a.score || a.topic.localeCompare(b.topic));
  let budget = KB_LIMITS.total;
  const take = (text: string): { content: string; truncated: number } => {
    const room = Math.max(0, Math.min(KB_LIMITS.perTopic, budget));
    if (text.length <= room) {
      budget -= text.length;
      return { content: text, truncated: 0 };
    }
    // Cut at a line end when one is near, so a quote does not stop mid-word.
    let cut = room;
    const nl = text.lastIndexOf('\n', room);
    if (nl > room * 0.6) cut = nl;
    budget -= cut;
    return { content: text.slice(0, cut), truncated: text.length - cut };
  };
  const topics: BriefTopic[] = [];
  for (const topic of named) {
    const buf = s.read(knowledgeFile(topic));
    if (!buf) {
      topics.push({ topic, reason: 'named', matched: [], content: '', bytes: 0, truncated: 0, missing: true });
      continue;
    }
    topics.push({ topic, reason: 'named', matched: [], ...take(buf.toString('utf8')), bytes: buf.length, missing: false });
  }
  const omitted: string[] = [];
  for (const r of related) {
    if (topics.length - named.length >= KB_LIMITS.related || budget <= 0) {
      omitted.push(r.topic);
      continue;
    }
    topics.push({ topic: r.topic, reason: 'related', matched: r.matched, ...take(r.text), bytes: r.bytes, missing: false });
  }
  return { topics, omitted };
}

export function briefCommands(ws: string, id: string): BriefCommands {
  // Names are checked to be shell-safe today, but a command meant for pasting quotes every value anyway.
  const w = shellQuote(ws);
  const t = shellQuote(id);
  return {
    whoami: 'export ORC_AGENT=<your-agent-name>',
    claim: `orc t claim ${w} ${t}`,
    heartbeat: 'orc a heartbeat',
    show: `orc t show ${w} ${t}`,
    findings: `orc kb write ${shellQuote(`${ws}/${id}`)} - < findings.md`,
    complete: `orc t complete ${w} ${t} "<what you did>"`,
    fail: `orc t fail ${w} ${t} "<why it failed>"`,
  };
}

/** The task a brief is for: the one named, else the best ready task of the workstream (NOT_FOUND when none). */
export function briefTask(s: StateReader, ws: string, id: string | null, now: Date): Task {
  S.requireWorkstream(s, ws);
  if (id) return S.requireTask(s, ws, id);
  const best = claimable(s, ws, now).find((t) => t.status === 'pending');
  if (!best) throw new OrcError('NOT_FOUND', `no ready task in workstream "${ws}"; see \`orc t list ${ws}\` or \`orc ready\``, { workstream: ws });
  return best;
}

/** Everything a brief template gets for one task. */
export function buildBrief(s: StateReader, ws: string, id: string | null, now: Date, cycle: string | null = null): BriefData {
  const w = S.requireWorkstream(s, ws);
  const raw = briefTask(s, ws, id, now);
  const task = S.withLease(raw, raw.assigned_to ? S.getAgent(s, raw.assigned_to) : null);
  const dependencies: BriefDependency[] = (task.after ?? []).map((dep) => {
    const at = depTarget(ws, dep);
    const d = S.getTask(s, at.workstream, at.id);
    if (!d) return { id: dep, title: null, status: 'missing', result: null, assigned_to: null, completed_at: null, missing: true };
    return { id: dep, title: d.title, status: d.status, result: d.result, assigned_to: d.assigned_to, completed_at: d.completed_at, missing: false };
  });
  const waiting_for = dependencies.filter((d) => d.status !== 'done').map((d) => d.id);
  const { topics, omitted } = relevantKnowledge(s, task);
  const events = queryEvents(s, { workstream: ws, last: KB_LIMITS.recentEvents }).map((e) => ({ ...e, text: describeEvent(e) }));
  return {
    generated_at: now.toISOString(),
    cycle,
    workstream: { name: w.name, description: w.description, priority: w.priority },
    task,
    ready: task.status === 'pending' && waiting_for.length === 0,
    waiting_for,
    dependencies,
    knowledge: topics,
    knowledge_omitted: omitted,
    events,
    messages: unreadFor(s, task.assigned_to),
    commands: briefCommands(ws, task.id),
  };
}

function unreadFor(s: StateReader, agent: string | null): BriefData['messages'] {
  if (!agent) return null;
  const list = inbox(s, agent, { unread: true });
  if (!list.length) return null;
  return { agent, unread: list.length, latest: list.slice(0, 3).map((m) => ({ id: m.id, from: m.from, subject: m.subject, importance: m.importance })) };
}
