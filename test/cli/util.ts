/**
 * Shared assertions for the CLI tests: one op = one commit, refusals leave no
 * trace, and git plumbing to put hand-made commits on the state branch.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { fingerprint, git, orc, testEnv, tmpDir, waitMaintenance, type RunResult } from '../helpers.js';

export const REF = 'refs/heads/orc';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sleeps until the wall clock reaches `at` (ms since epoch). */
export async function sleepUntil(at: number): Promise<void> {
  const d = at - Date.now();
  if (d > 0) await sleep(d);
}

/** The state branch's tip, or null if it does not exist. */
export function tip(repo: string): string | null {
  const r = spawnSync('git', ['rev-parse', '-q', '--verify', `${REF}^{commit}`], { cwd: repo, env: testEnv(), encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function commitCount(repo: string): number {
  return tip(repo) ? Number(git(repo, 'rev-list', '--count', REF)) : 0;
}

export interface OpRecord {
  op: string;
  agent: string;
  at: string;
  input: Record<string, unknown>;
}

export interface EventLine {
  ts: string;
  agent: string;
  action: string;
  [k: string]: unknown;
}

export interface CommitCheck {
  commit: string;
  author: string;
  op: OpRecord;
  /** The event lines this commit added to the tree. */
  events: EventLine[];
  /** Paths the commit changed against its parent. */
  changed: string[];
  run: RunResult;
}

/** The Orc-Op trailer of a commit, parsed. */
export function opOf(repo: string, commit: string): OpRecord {
  const raw = git(repo, 'log', '-1', '--format=%(trailers:key=Orc-Op,valueonly)', commit);
  expect(raw, `commit ${commit} has an Orc-Op trailer`).not.toBe('');
  return JSON.parse(raw) as OpRecord;
}

/** The event lines that `commit` added to the event log, compared with its parent. */
export function eventsAdded(repo: string, commit: string, parent: string | null): EventLine[] {
  const changed = changedPaths(repo, commit, parent).filter((p) => p.startsWith('events/') && p.endsWith('.jsonl'));
  const out: EventLine[] = [];
  for (const p of changed) {
    const now = git(repo, 'show', `${commit}:${p}`).split('\n').filter(Boolean);
    let before: string[] = [];
    if (parent) {
      const r = spawnSync('git', ['show', `${parent}:${p}`], { cwd: repo, env: testEnv(), encoding: 'utf8' });
      if (r.status === 0) before = r.stdout.split('\n').filter(Boolean);
    }
    expect(now.slice(0, before.length), `event segment ${p} is append-only`).toEqual(before);
    for (const l of now.slice(before.length)) out.push(JSON.parse(l) as EventLine);
  }
  return out;
}

export function changedPaths(repo: string, commit: string, parent: string | null): string[] {
  const args = parent ? ['diff-tree', '-r', '--name-only', '--no-commit-id', parent, commit] : ['ls-tree', '-r', '--name-only', commit];
  return git(repo, ...args).split('\n').filter(Boolean);
}

/**
 * Runs a write command and checks it made exactly one commit on top of the
 * previous tip, authored by `author`, with an Orc-Op trailer naming `op`, and
 * exactly one new event line `{ts, agent: author, action}` in its tree. The
 * user's HEAD, index and work tree must not change.
 */
export function expectOneCommit(
  repo: string,
  args: string[],
  want: { op: string; author: string; action: string; env?: Record<string, string>; input?: string; cwd?: string },
): CommitCheck {
  const before = tip(repo);
  const countBefore = commitCount(repo);
  const fp = fingerprint(repo);
  const run = orc(want.cwd ?? repo, args, { env: want.env, input: want.input });
  expect(run.code, `orc ${args.join(' ')} failed: ${run.stderr}`).toBe(0);
  const after = tip(repo);
  expect(after, 'the state branch exists').not.toBeNull();
  expect(commitCount(repo), `orc ${args.join(' ')} makes exactly one commit`).toBe(countBefore + 1);
  const parents = git(repo, 'log', '-1', '--format=%P', after!).split(' ').filter(Boolean);
  expect(parents, 'the new commit sits on the previous tip').toEqual(before ? [before] : []);
  const author = git(repo, 'log', '-1', '--format=%an', REF);
  expect(author, 'the commit author is the acting agent').toBe(want.author);
  const op = opOf(repo, after!);
  expect(op.op).toBe(want.op);
  expect(op.agent).toBe(want.author);
  expect(op).toHaveProperty('input');
  expect(typeof op.input).toBe('object');
  expect(Number.isFinite(Date.parse(op.at))).toBe(true);
  const subject = git(repo, 'log', '-1', '--format=%s', REF);
  expect(subject.length).toBeGreaterThan(0);
  expect(subject).not.toContain('Orc-Op');
  const events = eventsAdded(repo, after!, before);
  expect(events, 'exactly one event line per op').toHaveLength(1);
  expect(events[0]).toMatchObject({ agent: want.author, action: want.action });
  expect(Number.isFinite(Date.parse(events[0]!.ts))).toBe(true);
  expect(fingerprint(repo), "the user's HEAD, index and work tree are untouched").toBe(fp);
  return { commit: after!, author, op, events, changed: changedPaths(repo, after!, before), run };
}

/**
 * Runs a command that must be refused: exit `code`, one line on stderr that
 * starts with `orc:` and names each of `names`, no stack trace, no commit and
 * nothing written in the work tree.
 */
export function expectRefused(
  repo: string,
  args: string[],
  code: number,
  names: (string | RegExp)[] = [],
  opts: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): RunResult {
  // A detached size check or repack an earlier op started may still hold its lock: let it end first,
  // or its lock file going away reads as a change this command made (seen in CI: orc/compact.lock).
  waitMaintenance(repo);
  const before = tip(repo);
  const fp = fingerprint(repo);
  const gitFilesBefore = gitDirFiles(repo);
  const r = orc(opts.cwd ?? repo, args, opts);
  const gitFilesAfter = gitDirFiles(repo);
  const label = `orc ${JSON.stringify(args)} → code ${r.code}, stderr ${JSON.stringify(r.stderr)}`;
  expect(r.code, label).toBe(code);
  expectOneLineError(r.stderr, names, label);
  expect(tip(repo), `${label}: no commit`).toBe(before);
  expect(fingerprint(repo), `${label}: work tree, index and HEAD untouched`).toBe(fp);
  expect(gitFilesAfter, `${label}: nothing written in .git (no objects, refs, logs or ids)`).toEqual(gitFilesBefore);
  return r;
}

/** Every file in the repo's git dir with its size, except the index (git status refreshes it). */
export function gitDirFiles(repo: string): string[] {
  const root = git(repo, 'rev-parse', '--git-common-dir');
  const abs = path.resolve(repo, root);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'index') out.push(`${path.relative(abs, p)} ${fs.statSync(p).size}`);
    }
  };
  walk(abs);
  return out.sort();
}

export function expectOneLineError(stderr: string, names: (string | RegExp)[] = [], label = ''): void {
  expect(stderr, `${label}: no stack trace`).not.toMatch(/^\s{4}at /m);
  expect(stderr.endsWith('\n'), `${label}: stderr ends with a newline`).toBe(true);
  const lines = stderr.trimEnd().split('\n');
  expect(lines, `${label}: exactly one line on stderr`).toHaveLength(1);
  expect(lines[0], `${label}: starts with "orc:"`).toMatch(/^orc: \S/);
  for (const n of names) {
    if (typeof n === 'string') expect(lines[0], label).toContain(n);
    else expect(lines[0], label).toMatch(n);
  }
}

/** Runs git with extra environment and optional stdin; returns trimmed stdout. */
export function gitEnv(cwd: string, env: Record<string, string>, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env: testEnv(env), input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/**
 * Commits `files` onto the state branch by hand with git plumbing (a
 * temporary index), on top of the current tip (or as a root commit when
 * `root`), and moves the ref with compare-and-swap. Returns the new commit.
 */
export function commitByHand(repo: string, files: Record<string, string>, opts: { root?: boolean; message?: string } = {}): string {
  const old = tip(repo);
  const env = { GIT_INDEX_FILE: path.join(tmpDir('orc-index-'), 'index') };
  if (old && !opts.root) gitEnv(repo, env, ['read-tree', old]);
  for (const [p, content] of Object.entries(files)) {
    const oid = gitEnv(repo, env, ['hash-object', '-w', '--stdin'], content);
    gitEnv(repo, env, ['update-index', '--add', '--cacheinfo', `100644,${oid},${p}`]);
  }
  const tree = gitEnv(repo, env, ['write-tree']);
  const parents = old && !opts.root ? ['-p', old] : [];
  const commit = gitEnv(repo, env, ['commit-tree', tree, ...parents, '-m', opts.message ?? 'edit by hand']);
  gitEnv(repo, env, ['update-ref', REF, commit, ...(old ? [old] : ['0'.repeat(40)])]);
  return commit;
}

/** `orc ARGS --json` that must succeed, parsed. */
export function ok<T = any>(cwd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): T {
  const r = orc(cwd, [...args, '--json'], opts);
  expect(r.code, `orc ${args.join(' ')} --json: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}
