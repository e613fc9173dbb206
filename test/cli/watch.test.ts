/**
 * `orc watch` with real processes: one line per event as other processes
 * make them (JSON lines with --json), filters, control characters escaped,
 * SIGINT/SIGTERM end it with exit 0; with a remote, events from another host
 * arrive through the fetch, and an unreachable remote is said once on stderr
 * (and when it is back). A waiter on one host wakes for a task added on another.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, tmpRepo } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, orcOk, takeOffline } from '../sync/daemon.js';
import { start, stopAll } from './procs.js';
import { ok } from './util.js';

afterAll(cleanup);
afterAll(stopAll);

describe('orc watch', () => {
  it('prints one JSON line per event as other processes land them, and exits 0 on SIGINT', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const w = start(repo, ['watch', '--json']);
    await w.saw(/watching/);
    const t = ok<{ id: string }>(repo, ['t', 'add', 'w', 'first']);
    ok(repo, ['t', 'claim', 'w', t.id, 'a1']);
    ok(repo, ['lock', 'acquire', 'deploy', 'a2']);
    await w.saw(/lock_acquired/, 'stdout');
    w.child.kill('SIGINT');
    const r = await w.done;
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; agent: string; commit: string; task_id?: string });
    expect(lines.map((l) => l.action)).toEqual(['task_created', 'task_claimed', 'lock_acquired']);
    expect(lines[1]).toMatchObject({ agent: 'a1', task_id: t.id });
    expect(lines[2]!.agent).toBe('a2');
    for (const l of lines) expect(l.commit).toMatch(/^[0-9a-f]{40}$/);
  }, 60_000);

  it('filters by --action and --workstream, escapes control characters, and exits 0 on SIGTERM', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    ok(repo, ['ws', 'create', 'other']);
    const w = start(repo, ['watch', '--workstream', 'w']);
    const n = start(repo, ['watch', '--action', 'note']);
    await w.saw(/watching/);
    await n.saw(/watching/);
    ok(repo, ['t', 'add', 'other', 'not this one']);
    ok(repo, ['t', 'add', 'w', 'this one']);
    ok(repo, ['event', 'note', JSON.stringify({ msg: 'red\u001b[31m\nline \u202eevil\u200b' })]);
    await w.saw(/this one/, 'stdout');
    await n.saw(/note/, 'stdout');
    w.child.kill('SIGTERM');
    n.child.kill('SIGTERM');
    const [rw, rn] = await Promise.all([w.done, n.done]);
    expect(rw.code).toBe(0);
    expect(rn.code).toBe(0);
    expect(rw.stdout.trim().split('\n')).toHaveLength(1);
    expect(rw.stdout).toMatch(/ system task_created workstream=w .*title=this one/);
    expect(rn.stdout.trim().split('\n')).toHaveLength(1);
    // Escaped as orc events escapes: controls, line breaks, bidi overrides and zero-width marks.
    expect(rn.stdout).toContain('msg=red\\x1b[31m\\x0aline \\u{202e}evil\\u{200b}');
    // eslint-disable-next-line no-control-regex
    expect(rn.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u200b\u202e]/);
  }, 60_000);
});

describe('orc watch --workstream of no workstream', () => {
  it('says so on stderr (a typo would otherwise wait in silence), and still shows its events once it is created', async () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const w = start(repo, ['watch', '--workstream', 'later']);
    await w.saw(/no workstream "later" yet/);
    ok(repo, ['ws', 'create', 'later']);
    ok(repo, ['t', 'add', 'later', 'it came']);
    await w.saw(/title=it came/, 'stdout');
    w.child.kill('SIGINT');
    expect((await w.done).code).toBe(0);
    const known = start(repo, ['watch', '--workstream', 'w']);
    await known.saw(/watching/);
    known.child.kill('SIGINT');
    expect((await known.done).stderr).not.toMatch(/no workstream/);
  }, 60_000);
});

describe('across hosts, through the remote', () => {
  it('shows the events another host pushed, and says when the remote is unreachable and when it is back', async () => {
    const { bare } = bareRemote();
    const a = cloneSeeded(bare);
    const b = cloneHost(fileUrl(bare), 'b');
    const w = start(a, ['watch', '--json']);
    await w.saw(/watching/);
    orcOk(b, ['t', 'add', 'w', 'from host b']);
    await w.saw(/from host b/, 'stdout');
    const back = takeOffline(bare);
    await w.saw(/remote "origin" is unreachable/);
    back();
    await w.saw(/remote "origin" is reachable again/);
    w.child.kill('SIGINT');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(r.stderr.match(/unreachable/g)).toHaveLength(1);
  }, 90_000);

  it('a waiter on one host claims a task added on another', async () => {
    const { bare } = bareRemote();
    const a = cloneSeeded(bare);
    const b = cloneHost(fileUrl(bare), 'b');
    const w = start(a, ['t', 'next', 'w', 'a1', '--wait', '--timeout', '60', '--json']);
    await w.saw(/waiting for a claimable task/);
    const added = JSON.parse(orcOk(b, ['t', 'add', 'w', 'remote work', '--json']).stdout) as { id: string };
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: added.id, assigned_to: 'a1' });
  }, 90_000);
});

describe('lock waiters across hosts', () => {
  it('hosts take turns: after a grant to host a\'s waiter, host b\'s waiter goes first, then a\'s', async () => {
    const { bare } = bareRemote();
    const a = cloneSeeded(bare);
    const b = cloneHost(fileUrl(bare), 'b');
    // a's first waiter gets the free lock: that grant is a's turn.
    const first = await start(a, ['lock', 'acquire', 'deploy', 'a0', '--wait', '--timeout', '60', '--json']).done;
    expect(JSON.parse(first.stdout)).toMatchObject({ agent: 'a0', token: 1 });
    const wa = start(a, ['lock', 'acquire', 'deploy', 'a1', '--wait', '--timeout', '60', '--json']);
    await wa.saw(/waiting for lock/);
    const wb = start(b, ['lock', 'acquire', 'deploy', 'b1', '--wait', '--timeout', '60', '--json']);
    await wb.saw(/waiting for lock/);
    orcOk(a, ['lock', 'release', 'deploy', 'a0']);
    const rb = await wb.done;
    expect(JSON.parse(rb.stdout)).toMatchObject({ agent: 'b1', token: 2 });
    expect(wa.child.exitCode).toBeNull();
    orcOk(b, ['lock', 'release', 'deploy', 'b1']);
    const ra = await wa.done;
    expect(JSON.parse(ra.stdout)).toMatchObject({ agent: 'a1', token: 3 });
  }, 90_000);
});

/** Host a: a clone with the workstream created and published, so host b's clone sees it. */
function cloneSeeded(bare: string): string {
  const a = cloneHost(fileUrl(bare), 'a');
  orcOk(a, ['ws', 'create', 'w']);
  return a;
}
