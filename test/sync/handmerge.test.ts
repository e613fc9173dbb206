/**
 * `git pull` and `git merge` of the state branch stay ordinary git: two hosts
 * commit disjoint ops while the remote is away (different tasks, different
 * knowledge topics, events of the same day); one merges the other's by hand
 * in a linked worktree where `orc` is checked out. No conflict, `orc status`
 * shows both sides, and `orc sync` publishes the merge as a fast-forward.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, gitRaw, orcOk, takeOffline } from './daemon.js';

afterAll(cleanup);

interface Status {
  commit: string;
  remote: { name: string; tracking: string | null; ahead: number; behind: number } | null;
  summary: { tasks: { total: number; pending: number }; knowledge_topics: number; workstreams: number; agents: number };
  knowledge_topics: string[];
}
interface SyncReport {
  came_in: number;
  went_out: number;
  replayed: number;
  refused: unknown[];
  remote_tip: string;
}
interface OrcEvent {
  ts: string;
  action: string;
  by?: string;
}

const ids = (host: string) =>
  orcJson<{ id: string }[]>(host, ['t', 'list', 'W'])
    .map((t) => t.id)
    .sort();

function offlineOps(a: string, b: string, ops: { a: string[][]; b: string[][] }, bare: string): void {
  const back = takeOffline(bare);
  try {
    for (const [host, list] of [
      [a, ops.a],
      [b, ops.b],
    ] as const) {
      for (const args of list) {
        const r = orc(host, args);
        expect({ args, code: r.code }, r.stderr).toEqual({ args, code: 0 });
        expect(r.stderr).toMatch(/not yet published to "origin"/);
      }
    }
  } finally {
    back();
  }
}

describe('merging the state branch by hand', () => {
  it('`git pull --no-rebase` in a worktree of orc merges disjoint offline work without conflict; `git fetch` + `git merge` too; `orc sync` publishes the merge', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    seedByCli(url);
    const a = cloneHost(url, 'host-a');
    const b = cloneHost(url, 'host-b');

    // ---- round 1: host-b pulls host-a's work with `git pull --no-rebase` in a linked worktree
    offlineOps(
      a,
      b,
      {
        a: [
          ['t', 'add', 'W', 'a one', '--id', 'a-1'],
          ['t', 'add', 'W', 'a two', '--id', 'a-2'],
          ['kb', 'write', 'topic-a', 'from a'],
          ['event', 'deploy', '{"by":"a"}'],
          ['a', 'heartbeat', 'host-a'],
        ],
        b: [
          ['t', 'add', 'W', 'b one', '--id', 'b-1'],
          ['kb', 'write', 'topic-b', 'from b'],
          ['event', 'deploy', '{"by":"b"}'],
          ['ws', 'create', 'b-ws'],
        ],
      },
      bare,
    );
    orcOk(a, ['sync']);
    const remoteA = git(bare, 'rev-parse', 'orc');
    const bBefore = git(b, 'rev-parse', 'orc');

    const wtB = path.join(path.dirname(b), 'wt');
    git(b, 'worktree', 'add', '-q', wtB, 'orc');
    const pull = gitRaw(wtB, 'pull', '--no-rebase', '--no-edit', 'origin', 'orc');
    expect(pull.code, pull.stdout + pull.stderr).toBe(0);
    expect(pull.stdout + pull.stderr).not.toMatch(/CONFLICT/);
    const merge = git(b, 'rev-parse', 'orc');
    expect(git(b, 'rev-list', '--parents', '-n', '1', merge).split(' ').slice(1)).toEqual([bBefore, remoteA]);
    expect(git(wtB, 'status', '--porcelain')).toBe('');

    // Both sides' work, read by orc on the merged branch (from the main checkout and from the worktree).
    for (const where of [b, wtB]) {
      const st = orcJson<Status>(where, ['status']);
      expect(st.commit).toBe(merge);
      expect(st.summary.tasks.total).toBe(5);
      expect(st.knowledge_topics).toEqual(['topic-a', 'topic-b']);
      expect(st.summary.workstreams).toBe(2);
      expect(st.summary.agents).toBe(1);
    }
    expect(ids(b)).toEqual(['a-1', 'a-2', 'b-1', 's-1', 's-2']);
    const deploys = orcJson<OrcEvent[]>(b, ['events', '--action', 'deploy']);
    expect(deploys.map((e) => e.by).sort()).toEqual(['a', 'b']);
    expect(new Set(deploys.map((e) => e.ts.slice(0, 10))).size).toBe(1); // the same day
    expect(orc(b, ['status']).stdout).toMatch(/^remote origin: 5 ahead, 0 behind /m);

    // `orc sync` publishes the merge itself: a fast-forward of the remote, nothing replayed.
    const s1 = orc(b, ['sync', '--json']);
    expect(s1.code, s1.stderr).toBe(0);
    expect(JSON.parse(s1.stdout) as SyncReport).toMatchObject({ came_in: 0, replayed: 0, refused: [], remote_tip: merge });
    expect(git(bare, 'rev-parse', 'orc')).toBe(merge);
    expect(gitRaw(bare, 'merge-base', '--is-ancestor', remoteA, merge).code).toBe(0);
    expect(orc(b, ['status']).stdout).toMatch(/^remote origin: in sync /m);

    // ---- round 2: host-a merges host-b's new work with `git fetch origin orc` + `git merge` in its worktree
    offlineOps(
      a,
      b,
      {
        a: [
          ['t', 'add', 'W', 'a three', '--id', 'a-3'],
          ['kb', 'write', 'topic-a2', 'more from a'],
        ],
        b: [
          ['t', 'add', 'W', 'b two', '--id', 'b-2'],
          ['event', 'deploy', '{"by":"b2"}'],
        ],
      },
      bare,
    );
    orcOk(b, ['sync']); // host-b was in sync: a fast-forward
    const remoteB = git(bare, 'rev-parse', 'orc');
    const aBefore = git(a, 'rev-parse', 'orc');
    const wtA = path.join(path.dirname(a), 'wt');
    git(a, 'worktree', 'add', '-q', wtA, 'orc');
    git(wtA, 'fetch', '-q', 'origin', 'orc');
    const m2 = gitRaw(wtA, 'merge', '--no-edit', 'FETCH_HEAD');
    expect(m2.code, m2.stdout + m2.stderr).toBe(0);
    const merge2 = git(a, 'rev-parse', 'orc');
    expect(git(a, 'rev-list', '--parents', '-n', '1', merge2).split(' ').slice(1)).toEqual([aBefore, remoteB]);
    expect(ids(a)).toEqual(['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 's-1', 's-2']);
    expect(orcJson<Status>(a, ['status']).knowledge_topics).toEqual(['topic-a', 'topic-a2', 'topic-b']);

    const s2 = orc(a, ['sync', '--json']);
    expect(s2.code, s2.stderr).toBe(0);
    expect(JSON.parse(s2.stdout) as SyncReport).toMatchObject({ replayed: 0, refused: [], remote_tip: merge2 });
    expect(git(bare, 'rev-parse', 'orc')).toBe(merge2);
    expect(gitRaw(bare, 'fsck', '--strict', '--no-progress').code).toBe(0);

    // A host that joins later reads it all.
    const c = cloneHost(url, 'host-c');
    expect(ids(c)).toEqual(['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 's-1', 's-2']);
    expect(orcJson<OrcEvent[]>(c, ['events', '--action', 'deploy']).map((e) => e.by).sort()).toEqual(['a', 'b', 'b2']);
    // And exclusive ops go on through the remote on top of the merges.
    expect(orcJson<{ id: string }>(c, ['t', 'claim', 'W', 'b-2', 'host-c']).id).toBe('b-2');
    expect(git(bare, 'log', '-1', '--format=%s', 'orc')).toBe('claim W/b-2 for host-c: b two');
  });

  it('a by-hand merge of another host’s unpublished work, then the remote moves: `orc sync` publishes (or reports) both sides, it drops neither', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    seedByCli(url);
    const a = cloneHost(url, 'host-a');
    const b = cloneHost(url, 'host-b');
    const c = cloneHost(url, 'host-c');
    offlineOps(a, b, { a: [['kb', 'write', 'from-a', 'only host-a has this']], b: [['kb', 'write', 'from-b', 'host-b']] }, bare);
    // host-b pulls host-a's branch directly (peer to peer), not through the remote.
    const wtB = path.join(path.dirname(b), 'wt');
    git(b, 'worktree', 'add', '-q', wtB, 'orc');
    const pull = gitRaw(wtB, 'pull', '--no-rebase', '--no-edit', a, 'orc');
    expect(pull.code, pull.stderr).toBe(0);
    expect(orcJson<string[]>(b, ['kb', 'list'])).toEqual(['from-a', 'from-b']);
    // Meanwhile the remote moves on, so host-b's sync must replay rather than fast-forward.
    orcOk(c, ['t', 'add', 'W', 'from c', '--id', 'c-1']);

    const r = orc(b, ['sync', '--json']);
    const report = JSON.parse(r.stdout || '{"refused":[]}') as Omit<SyncReport, 'refused'> & { refused: { op: string | null; input: unknown }[] };
    const late = cloneHost(url, 'host-d');
    const onRemote = orcJson<string[]>(late, ['kb', 'list']);
    const onB = orcJson<string[]>(b, ['kb', 'list']);
    const reportedA = report.refused.some((x) => x.op === 'kb.write' && JSON.stringify(x.input).includes('from-a'));
    const seen = { on_remote: onRemote, on_host_b: onB, reported_refused: reportedA, sync: r.stdout.trim() };
    // host-b's own op is published in any case.
    expect(onRemote, JSON.stringify(seen)).toContain('from-b');
    // host-a's op came onto host-b's branch by the merge and is not on the remote: it must be published, or reported — not dropped without a word.
    expect(onRemote.includes('from-a') || reportedA, JSON.stringify(seen, null, 1)).toBe(true);
    expect(onB.includes('from-a') || reportedA, JSON.stringify(seen, null, 1)).toBe(true);
    if (onRemote.includes('from-a')) expect(orc(late, ['kb', 'read', 'from-a']).stdout).toBe('only host-a has this');
    expect(ids(late)).toEqual(['c-1', 's-1', 's-2']);
  });
});

/** Seeds the remote by CLI: workstream W with tasks s-1 and s-2, published by `orc init --remote origin`. */
function seedByCli(url: string): string {
  const seed = cloneHost(url, 'seed');
  orcOk(seed, ['ws', 'create', 'W']);
  orcOk(seed, ['t', 'add', 'W', 'seed one', '--id', 's-1']);
  orcOk(seed, ['t', 'add', 'W', 'seed two', '--id', 's-2']);
  return seed;
}
