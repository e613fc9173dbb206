/**
 * The pre-commit guard of agents' worktrees: a commit that changes a path
 * matched by a live lock, or by the resources of a task in progress, held by
 * another agent is refused. It reads the local state branch only (no fetch);
 * the CLI lets the commit through when this throws (orc's own failure).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Orc } from '../ops/orc.js';
import { describeHolding, resourcesOverlap, type Holding } from '../model/resources.js';

export interface Blocked {
  path: string;
  held: Holding;
}

export interface GuardResult {
  /** What it decided, for ORC_DEBUG. */
  note: string;
  blocked: Blocked[];
}

function git(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The hook's environment is kept: GIT_INDEX_FILE names the index being committed (`commit -a`, `commit PATH`).
    execFile('git', args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 128) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The paths the commit changes, repo-relative: added, modified, deleted, and both sides of a rename. */
export async function stagedPaths(): Promise<string[]> {
  const r = await git(['diff', '--cached', '--name-only', '--no-renames', '-z']);
  if (r.code !== 0) throw new Error(`git diff --cached failed: ${r.stderr.trim()}`);
  return r.stdout.split('\0').filter(Boolean);
}

/** Which staged paths another agent holds. A merge's resolution is not checked: its changes were committed already. */
export async function checkCommit(orc: Orc): Promise<GuardResult> {
  const agent = orc.agent;
  if (!agent) return { note: 'skipped: no agent for this worktree (git config --worktree orc.agent NAME, or ORC_AGENT)', blocked: [] };
  const dir = await git(['rev-parse', '--absolute-git-dir']);
  if (dir.code === 0 && fs.existsSync(path.join(dir.stdout.trim(), 'MERGE_HEAD'))) return { note: 'skipped: merge', blocked: [] };
  const paths = await stagedPaths();
  if (!paths.length) return { note: 'nothing staged', blocked: [] };
  const held = await orc.holdings(agent);
  const blocked: Blocked[] = [];
  for (const p of paths) {
    const h = held.find((x) => resourcesOverlap(p, x.resource));
    if (h) blocked.push({ path: p, held: h });
  }
  return { note: `${paths.length} paths checked against ${held.length} holdings of other agents`, blocked };
}

/** The refusal, one line per blocked path (at most 20) and how to go on. */
export function refusalText(agent: string, blocked: Blocked[]): string {
  const shown = blocked.slice(0, 20).map((b) => `orc: ${b.path} is in ${describeHolding(b.held)}`);
  if (blocked.length > shown.length) shown.push(`orc: ... and ${blocked.length - shown.length} more paths`);
  const holders = [...new Set(blocked.map((b) => b.held.agent))].join(', ');
  shown.push(`orc: commit by ${agent} refused: wait for the expiry, ask ${holders} to release, or commit with --no-verify`);
  return `${shown.join('\n')}\n`;
}
