/**
 * The running-resources index (running/<agent>.json): kept by the ops that
 * move tasks into and out of in_progress, it must always say what a scan of
 * every task says, and the holdings read from it must be the ones the scan
 * gives (same entries, same order), so overlap decisions are unchanged.
 * Real processes make every op; the state is read at each tip.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { holdings, readRunningIndex, runningIndexByScan } from '../../src/model/resources.js';
import { cleanup, orc, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { REF, gitEnv, ok, sleepUntil, tip } from '../cli/util.js';

afterAll(cleanup);

const plain = (m: ReturnType<typeof runningIndexByScan> | null) =>
  m && Object.fromEntries([...m].filter(([, t]) => t.size).map(([a, t]) => [a, Object.fromEntries([...t].sort(([x], [y]) => (x < y ? -1 : 1)))]));

async function check(repo: string): Promise<ReturnType<typeof plain>> {
  const lib = await open({ repo, env: testEnv() });
  const s = lib.store.snapshot(lib.store.tip());
  const index = readRunningIndex(s);
  const scan = runningIndexByScan(s);
  if (index) expect(plain(index)).toEqual(plain(scan));
  const now = new Date();
  for (const who of [null, 'A', 'B', 'C']) expect(holdings(s, now, who)).toEqual(holdings(s, now, who, null, { scan: true }));
  return plain(index);
}

/** Removes running/ from the tip by hand: a branch from before the index. */
function dropIndex(repo: string): void {
  const old = tip(repo)!;
  const env = { GIT_INDEX_FILE: path.join(tmpDir('orc-index-'), 'index') };
  gitEnv(repo, env, ['read-tree', old]);
  gitEnv(repo, env, ['rm', '-r', '--cached', '-q', 'running']);
  const tree = gitEnv(repo, env, ['write-tree']);
  gitEnv(repo, env, ['update-ref', REF, gitEnv(repo, env, ['commit-tree', tree, '-p', old, '-m', 'drop running/ by hand']), old]);
}

describe('running-resources index', () => {
  it('stays what a scan of the tasks says through claims, renewals, completes, take-overs, fails and operator completes; holdings are identical', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'api']);
    ok(repo, ['ws', 'create', 'api-v2']); // sorts before "api" in a tree: the order of holdings must follow the tree
    ok(repo, ['t', 'add', 'api', 'one', '--id', 't1', '--resource', 'src/a/**']);
    ok(repo, ['t', 'add', 'api', 'two', '--id', 't2', '--resource', 'src/b.ts', '--resource', 'src/b2.ts']);
    ok(repo, ['t', 'add', 'api', 'three', '--id', 't3', '--resource', 'docs/x']);
    ok(repo, ['t', 'add', 'api', 'four', '--id', 't4']);
    ok(repo, ['t', 'add', 'api-v2', 'w', '--id', 'w1', '--resource', 'src/c']);
    ok(repo, ['t', 'add', 'api-v2', 'w2', '--id', 'w2', '--resource', 'lib/**']);

    ok(repo, ['t', 'claim', 'api', 't4', 'A']);
    expect(await check(repo)).toBeNull(); // no task with resources runs: no index yet

    const t1 = ok<{ lease_expires_at: string }>(repo, ['t', 'claim', 'api', 't1', 'A', '--lease', '1500']);
    expect(await check(repo)).toEqual({ A: { 'api/t1': expect.objectContaining({ resources: ['src/a/**'], lease_ms: 1500 }) } });
    ok(repo, ['t', 'claim', 'api', 't2', 'B']);
    ok(repo, ['t', 'claim', 'api-v2', 'w1', 'A']);
    ok(repo, ['t', 'claim', 'api-v2', 'w2', 'C']);
    expect(Object.keys((await check(repo))!).sort()).toEqual(['A', 'B', 'C']);

    // A branch from before the index: the next op that changes an entry writes it whole from a scan.
    dropIndex(repo);
    expect(await check(repo)).toBeNull();
    ok(repo, ['t', 'claim', 'api', 't2', 'B']); // renewal: new claimed_at
    expect(await check(repo)).toMatchObject({ A: { 'api/t1': {}, 'api-v2/w1': {} }, B: { 'api/t2': {} }, C: { 'api-v2/w2': {} } });

    ok(repo, ['t', 'complete', 'api', 't2', 'done', '--agent', 'B']);
    expect((await check(repo))!.B).toBeUndefined();

    await sleepUntil(Date.parse(t1.lease_expires_at) + 100);
    ok(repo, ['t', 'claim', 'api', 't1', 'B']); // take-over: the entry moves from A to B
    const after = (await check(repo))!;
    expect(after.B).toHaveProperty(['api/t1']);
    expect(after.A).not.toHaveProperty(['api/t1']);

    ok(repo, ['t', 'fail', 'api-v2', 'w1', 'no', '--agent', 'A']);
    expect((await check(repo))!.A).toBeUndefined();

    ok(repo, ['t', 'complete', 'api-v2', 'w2', 'by the operator']); // over C's claim
    ok(repo, ['t', 'claim', 'api', 't3', 'C']);
    ok(repo, ['t', 'add', 'api', 'five', '--id', 't5', '--resource', 'ops/**']);
    expect(ok(repo, ['t', 'next', 'api', 'A'])).toMatchObject({ id: 't5' });
    expect(await check(repo)).toEqual({ A: { 'api/t5': expect.anything() }, B: { 'api/t1': expect.anything() }, C: { 'api/t3': expect.anything() } });

    // The overlap decision is read from the index: B holds src/a/** through api/t1.
    const r = orc(repo, ['lock', 'acquire', 'src/a/x.ts', 'C']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/of task api\/t1, in progress by B/);
  });
});
