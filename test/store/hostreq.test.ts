/**
 * The request-ref objects (src/store/hostreq.ts) and the answer bookkeeping of
 * src/ops/hostreq.ts: what git stores is what orc reads back, malformed
 * requests are served by nobody, answers are dropped only below the
 * requester's `low` (a stale view drops fewer, never one still needed), and
 * `orc.hostRequests` reads as auto unless it says always or off.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inboxMode, HostRequests } from '../../src/ops/hostreq.js';
import { GitStore } from '../../src/store/gitstore.js';
import { ObjectStore } from '../../src/store/objects.js';
import { readAnswers, readInboxes, readRequests, writeAnswers, writeRequests, type InboxRequest } from '../../src/store/hostreq.js';
import { discoverRepo } from '../../src/store/repo.js';
import { cleanup, git, tmpRepo } from '../helpers.js';

afterAll(cleanup);

const req = (id: string, seq: number, extra: Partial<InboxRequest> = {}): InboxRequest => ({ id, seq, at: 1000 + seq, op: 'task.next', actor: 'a', input: { ws: 'W' }, record: { ws: 'W' }, ...extra });

describe('request-ref objects', () => {
  it('round-trips through git: a parentless commit with the empty tree, read back by git and by orc', () => {
    const repo = tmpRepo();
    const objects = new ObjectStore(path.join(repo, '.git', 'objects'));
    const oid = writeRequests(objects, 'abcd1234', 3, [req('r1', 3), req('r2', 4)], new Date('2026-12-03T00:00:00Z'));
    expect(git(repo, 'cat-file', '-t', oid)).toBe('commit');
    expect(git(repo, 'log', '-1', '--format=%P|%T', oid)).toBe('|4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    expect(JSON.parse(git(repo, 'log', '-1', '--format=%B', oid))).toMatchObject({ v: 1, host: 'abcd1234', low: 3 });
    expect(readRequests(objects, oid, 'abcd1234')).toEqual({ low: 3, requests: [req('r1', 3), req('r2', 4)] });
    // Another host's name on it: not this host's requests.
    expect(readRequests(objects, oid, 'ffff0000').requests).toEqual([]);
    const ans = writeAnswers(objects, 'abcd1234', { r1: { ok: true, result: { id: 't-1' }, commit: null, attempts: 1, seq: 3 }, bad: { ok: true } as never }, new Date());
    expect(Object.keys(readAnswers(objects, ans, 'abcd1234'))).toEqual(['r1']);
  });

  it('drops malformed requests, and reads the refs a fetch left, loose and packed', () => {
    const repo = tmpRepo();
    const objects = new ObjectStore(path.join(repo, '.git', 'objects'));
    const oid = writeRequests(objects, 'abcd1234', 1, [req('ok', 1), { id: 'noseq', at: 1, op: 'x', actor: 'a', input: {} } as never, req('x'.repeat(300), 2)], new Date());
    expect(readRequests(objects, oid, 'abcd1234').requests.map((r) => r.id)).toEqual(['ok']);
    git(repo, 'update-ref', 'refs/tmp/in/abcd1234/req', oid);
    git(repo, 'update-ref', 'refs/tmp/in/beef0001/req', oid);
    git(repo, 'update-ref', 'refs/tmp/in/NOT-A-HOST/req', oid);
    git(repo, 'pack-refs', '--all');
    git(repo, 'update-ref', 'refs/tmp/in/beef0001/ans', writeAnswers(objects, 'beef0001', {}, new Date()));
    const seen = readInboxes(path.join(repo, '.git'), objects, 'refs/tmp/in/');
    expect([...seen.keys()].sort()).toEqual(['abcd1234', 'beef0001']);
    expect(seen.get('abcd1234')!.requests.map((r) => r.id)).toEqual(['ok']);
    // beef0001's ref holds a commit naming abcd1234: nothing of it is served.
    expect(seen.get('beef0001')!.requests).toEqual([]);
    expect(seen.get('beef0001')!.ansOid).not.toBeNull();
  });

  it('keeps answers at or above the requester\'s low, adds the new, and leases on the answers it read', () => {
    const repo = tmpRepo();
    const paths = discoverRepo(repo);
    const store = new GitStore(paths, 'refs/heads/orc', false);
    const ib = new HostRequests(store, 'abcd1234', path.join(paths.commonDir, 'orc', 'group'));
    const answers = { old: { ok: true as const, result: null, commit: null, attempts: 1, seq: 1 }, kept: { ok: true as const, result: null, commit: null, attempts: 1, seq: 5 } };
    ib.view.set('beef0001', { host: 'beef0001', reqOid: 'r'.repeat(40), low: 5, requests: [req('kept', 5), req('new', 6)], ansOid: 'a'.repeat(40), answers });
    const { updates, views } = ib.updates(new Map([['beef0001', new Map([['new', { ok: false as const, error: { code: 'CONFLICT', message: 'no', data: {} }, seq: 6 }]])]]));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ ref: 'refs/orc/hosts/beef0001/ans', expected: 'a'.repeat(40) });
    expect(Object.keys(readAnswers(store.objects, updates[0]!.oid, 'beef0001')).sort()).toEqual(['kept', 'new']);
    expect(views[0]!.ansOid).toBe(updates[0]!.oid);
    // A host never seen: no lease (the ref must not exist yet).
    expect(ib.updates(new Map([['c0ffee00', new Map([['x', { ...answers.kept }]])]])).updates[0]!.expected).toBeNull();
  });

  it('publishes with a lease, records the ids first, and drops answered requests only after delivering them', async () => {
    const repo = tmpRepo();
    const paths = discoverRepo(repo);
    const store = new GitStore(paths, 'refs/heads/orc', false);
    const group = path.join(paths.commonDir, 'orc', 'group');
    const ib = new HostRequests(store, 'abcd1234', group);
    ib.view.set('abcd1234', { host: 'abcd1234', reqOid: 'e'.repeat(40), low: 4, requests: [req('done', 4), req('open', 5)], ansOid: null, answers: { done: { ok: true, result: 1, commit: null, attempts: 1, seq: 4 } } });
    const delivered: string[] = [];
    const pushed: { ref: string; expected: string | null; oid: string }[] = [];
    const seqs = await ib.publish([{ id: 'q-1', at: 9, op: 'task.next', actor: 'a', input: {}, record: {} }], new Set(['q-1']), (id) => delivered.push(id), async (u) => {
      // Recorded before the push: a leader that dies here leaves its successor knowing.
      expect(JSON.parse(fs.readFileSync(path.join(group, 'published.json'), 'utf8')).ids).toEqual({ 'q-1': 6 });
      pushed.push(...u);
      return 'ok';
    });
    expect(seqs).toEqual(new Map([['q-1', 6]]));
    expect(delivered).toEqual(['done']);
    expect(pushed[0]).toMatchObject({ ref: 'refs/orc/hosts/abcd1234/req', expected: 'e'.repeat(40) });
    expect(readRequests(store.objects, pushed[0]!.oid, 'abcd1234')).toMatchObject({ low: 5, requests: [{ id: 'open', seq: 5 }, { id: 'q-1', seq: 6 }] });
    expect(ib.seqOf('q-1')).toBe(6);
    // A refused publish: the ids stay recorded as published (decided only with an answer).
    const again = await ib.publish([{ id: 'q-2', at: 10, op: 'task.next', actor: 'a', input: {}, record: {} }], new Set(['q-1', 'q-2']), () => undefined, async () => 'rejected');
    expect(again).toBeNull();
    expect(ib.seqOf('q-2')).toBe(7);
    // Published again (its push was refused): the same seq, and once in the request list.
    let last = '';
    await ib.publish([{ id: 'q-2', at: 10, op: 'task.next', actor: 'a', input: {}, record: {} }], new Set(['q-1', 'q-2']), () => undefined, async (u) => {
      last = u[0]!.oid;
      return 'ok';
    });
    expect(readRequests(store.objects, last, 'abcd1234').requests.map((r) => [r.id, r.seq])).toEqual([['open', 5], ['q-1', 6], ['q-2', 7]]);
    // An in-process id ("<at>-<pid>-w<n>") is recorded while its process lives; a dead one's is dropped at the next publish.
    await ib.publish([{ id: `9-${process.pid}-w1`, at: 11, op: 'task.next', actor: 'a', input: {}, record: {} }, { id: '9-999999999-w1', at: 11, op: 'task.next', actor: 'a', input: {}, record: {} }], new Set(), () => undefined, async () => 'ok');
    await ib.publish([], new Set(), () => undefined, async () => 'ok');
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(group, 'published.json'), 'utf8')).ids)).toEqual([`9-${process.pid}-w1`]);
    // Answers that land do not take the request view back to the one they were made from.
    const before = ib.view.get('abcd1234')!;
    const { views } = ib.updates(new Map([['abcd1234', new Map([['open', { ok: true as const, result: 2, commit: null, attempts: 1, seq: 5 }]])]]));
    ib.view.set('abcd1234', { ...before, reqOid: 'f'.repeat(40) });
    ib.landed(views);
    expect(ib.view.get('abcd1234')).toMatchObject({ reqOid: 'f'.repeat(40), answers: { open: { result: 2 } } });
  });

  it('reads orc.hostRequests: always, off (and its synonyms), anything else auto', () => {
    expect(inboxMode(undefined)).toBe('auto');
    expect(inboxMode('always')).toBe('always');
    for (const v of ['off', 'false', 'no', '0', 'never', ' OFF ']) expect(inboxMode(v)).toBe('off');
    expect(inboxMode('auto')).toBe('auto');
    expect(inboxMode('banana')).toBe('auto');
  });
});
