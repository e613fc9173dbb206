/**
 * The hooks of agents' worktrees: prepare-commit-msg adds an `Orc-Task:`
 * trailer naming the task the worktree's agent holds; post-commit records a
 * `code_committed` event linking the commit to that task. Neither ever
 * blocks a commit: the CLI swallows their failures.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Orc } from '../ops/orc.js';
import type { OrcEvent, Task } from '../model/types.js';
import { trailers } from '../store/commit.js';

export const TASK_TRAILER = 'Orc-Task';
export const CODE_COMMITTED = 'code_committed';

function git(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile('git', args, { maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 128) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) p.stdin?.end(input);
  });
}

/** The task the agent works on now: in progress, assigned to it, lease live; the most recently claimed of several. */
export async function currentTask(orc: Orc, agent: string): Promise<Task | null> {
  const now = Date.now();
  const mine: Task[] = [];
  for (const ws of await orc.listWorkstreams()) {
    if (!ws.task_counts.in_progress) continue;
    for (const t of await orc.listTasks(ws.name, { status: 'in_progress' })) {
      if (t.assigned_to === agent && t.lease_expires_at && Date.parse(t.lease_expires_at) > now) mine.push(t);
    }
  }
  mine.sort((a, b) => (b.claimed_at ?? '').localeCompare(a.claimed_at ?? ''));
  return mine[0] ?? null;
}

async function gitDir(): Promise<string | null> {
  const r = await git(['rev-parse', '--absolute-git-dir']);
  return r.code === 0 ? r.stdout.trim() : null;
}

/** A rebase, cherry-pick or revert replays commits that already say what they served. */
async function replaying(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (/\b(rebase|cherry-pick|revert)\b/.test(env.GIT_REFLOG_ACTION ?? '')) return true;
  const dir = await gitDir();
  if (!dir) return false;
  return ['rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD'].some((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * prepare-commit-msg MSGFILE [SOURCE [SHA]]: adds `Orc-Task: ws/id` once, when
 * the worktree's agent holds a task. Skipped for merges, squashes, amends and
 * reused messages (-c/-C), and while a rebase or cherry-pick replays commits.
 * Returns what it did, for tests and ORC_DEBUG.
 */
export async function prepareCommitMsg(orc: Orc, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const [file, source, sha] = args;
  if (!file) return 'skipped: no message file';
  if (source === 'merge' || source === 'squash') return `skipped: ${source}`;
  if (source === 'commit' || sha) return 'skipped: amend or reused message';
  if (await replaying(env)) return 'skipped: replaying commits';
  if (!orc.agent) return 'skipped: no agent for this worktree (git config --worktree orc.agent NAME, or ORC_AGENT)';
  const text = fs.readFileSync(file, 'utf8');
  if (trailers(stripComments(text), TASK_TRAILER).length) return 'skipped: trailer already there';
  const task = await currentTask(orc, orc.agent);
  if (!task) return `skipped: ${orc.agent} holds no task`;
  const value = `${task.workstream}/${task.id}`;
  const r = await git(['interpret-trailers', '--in-place', '--if-exists', 'doNothing', '--trailer', `${TASK_TRAILER}: ${value}`, file]);
  if (r.code !== 0) throw new Error(`git interpret-trailers failed: ${r.stderr.trim()}`);
  return `added ${TASK_TRAILER}: ${value}`;
}

function stripComments(text: string): string {
  const cut = text.indexOf('\n# ------------------------ >8 ------------------------');
  return (cut >= 0 ? text.slice(0, cut) : text)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** post-commit: HEAD's `Orc-Task:` trailer becomes a `code_committed` event on the state branch. */
export async function postCommit(orc: Orc): Promise<string> {
  const r = await git(['log', '-1', '--format=%H%x00%B', 'HEAD']);
  if (r.code !== 0) return 'skipped: no HEAD';
  const [sha = '', message = ''] = r.stdout.split('\0');
  const value = trailers(message, TASK_TRAILER)[0];
  if (!value) return 'skipped: no Orc-Task trailer';
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(value);
  if (!m) return `skipped: ${TASK_TRAILER} "${value}" is not WS/ID`;
  const branch = await git(['symbolic-ref', '-q', '--short', 'HEAD']);
  // git gives prepare-commit-msg no sign of `--amend -m`, but HEAD's reflog says it: the commit it replaced
  // is recorded, so the task lists the new commit instead of both.
  const how = await git(['reflog', '-1', '--format=%gs', 'HEAD']);
  const replaced = how.code === 0 && how.stdout.startsWith('commit (amend)') ? await git(['rev-parse', '-q', '--verify', 'HEAD@{1}']) : null;
  const data = {
    workstream: m[1]!,
    task_id: m[2]!,
    commit: sha.trim(),
    branch: branch.code === 0 ? branch.stdout.trim() : null,
    // eslint-disable-next-line no-control-regex
    subject: (message.split('\n')[0] ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 200),
    ...(replaced && replaced.code === 0 ? { amends: replaced.stdout.trim() } : {}),
  };
  await orc.linkCommit(data);
  return `logged ${CODE_COMMITTED} ${data.commit.slice(0, 12)} for ${value}`;
}

export interface LinkedCommit {
  commit: string;
  branch: string | null;
  subject: string;
  agent: string;
  ts: string;
}

/** The code commits linked to a task (its `code_committed` events, oldest first; a commit once). */
export async function taskCommits(orc: Orc, task: Pick<Task, 'workstream' | 'id' | 'created_at'>): Promise<LinkedCommit[]> {
  const events = await orc.getEvents({ action: CODE_COMMITTED, workstream: task.workstream, since: task.created_at });
  const seen = new Set<string>();
  const replaced = new Set<string>();
  const out: LinkedCommit[] = [];
  for (const e of events as (OrcEvent & Record<string, unknown>)[]) {
    if (e.task_id !== task.id || typeof e.commit !== 'string' || seen.has(e.commit)) continue;
    seen.add(e.commit);
    if (typeof e.amends === 'string') replaced.add(e.amends);
    out.push({ commit: e.commit, branch: typeof e.branch === 'string' ? e.branch : null, subject: typeof e.subject === 'string' ? e.subject : '', agent: e.agent, ts: e.ts });
  }
  // An amended commit is gone from its branch: its replacement stands for it.
  return out.filter((c) => !replaced.has(c.commit));
}

export function commitsText(list: LinkedCommit[]): string {
  if (!list.length) return '';
  return `\n\ncommits:\n${list.map((c) => `  ${c.commit.slice(0, 12)}  ${c.branch ?? '(detached)'}  ${c.agent}  ${c.subject}`).join('\n')}`;
}
