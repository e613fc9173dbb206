/**
 * Messages across two hosts through a bare remote: a send is a non-exclusive
 * op, so an offline host commits it locally, `orc sync` replays it (body
 * bytes included, by blob id) onto what the other host published meanwhile,
 * and the other host's inbox then shows it; read state is per host's agent
 * and merges cleanly.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, ORC_BIN, orc, orcJson, testEnv } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, orcOk, seedRemote, takeOffline } from './daemon.js';

afterAll(cleanup);

interface Entry {
  id: string;
  from: string;
  subject: string;
  unread: boolean;
  bytes: number;
}

describe('messages across two hosts', () => {
  it('an offline host sends (committed locally), `orc sync` publishes it, the other host reads it with exact bytes', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    await seedRemote(url, 1);
    const a = cloneHost(url, 'host-a');
    const b = cloneHost(url, 'host-b');
    orcOk(a, ['a', 'register', 'alice']);
    orcOk(b, ['a', 'register', 'bob']);
    orcOk(a, ['sync']);

    const back = takeOffline(bare);
    const body = Buffer.from('offline note\r\n\u00e9\u00e8 🚀\n\n', 'utf8');
    const sent = spawnSync(process.execPath, [ORC_BIN, 'msg', 'send', 'bob', 'sent while offline', '-', '--json'], { cwd: a, env: testEnv({ ORC_AGENT: 'alice' }), input: body });
    expect(sent.status, sent.stderr.toString()).toBe(0);
    expect(sent.stderr.toString()).toMatch(/committed locally, not yet published/);
    const msg = JSON.parse(sent.stdout.toString()) as Entry;
    // Meanwhile host-b publishes a message of its own: host-a's sync must replay onto it.
    back();
    orcOk(b, ['msg', 'send', 'alice', 'from b while a was away']);
    expect(orcJson<Entry[]>(b, ['inbox', 'bob'])).toEqual([]);

    const r = orcJson<{ replayed: number; refused: unknown[]; went_out: number }>(a, ['sync']);
    expect(r.refused).toEqual([]);
    expect(r.replayed).toBeGreaterThanOrEqual(1);
    orcOk(b, ['sync']);

    const box = orcJson<Entry[]>(b, ['inbox', 'bob', '--unread']);
    expect(box.map((m) => [m.id, m.from, m.subject])).toEqual([[msg.id, 'alice', 'sent while offline']]);
    const read = spawnSync(process.execPath, [ORC_BIN, 'msg', 'read', msg.id], { cwd: b, env: testEnv({ ORC_AGENT: 'bob' }) });
    expect(read.status).toBe(0);
    const out = read.stdout as Buffer;
    expect(Buffer.compare(out.subarray(out.length - body.length), body)).toBe(0);
    // On the remote too: the replayed commit carries the same body blob, authored by the sender.
    const dir = `messages/${msg.id.slice(0, 4)}/${msg.id.slice(4, 6)}`;
    const blob = spawnSync('git', ['cat-file', 'blob', `orc:${dir}/${msg.id}.body`], { cwd: bare, env: testEnv() }).stdout as Buffer;
    expect(Buffer.compare(blob, body)).toBe(0);
    expect(git(bare, 'log', '-1', '--format=%an', 'orc', '--', `${dir}/${msg.id}.json`)).toBe('alice');

    // Both sides' messages are there, the read state of bob is published, and alice sees b's message.
    orcOk(a, ['sync']);
    expect(orcJson<Entry[]>(a, ['inbox', 'alice']).map((m) => m.subject)).toEqual(['from b while a was away']);
    expect(orcJson<Entry[]>(a, ['inbox', 'bob']).map((m) => m.unread)).toEqual([false]);
    expect(orc(a, ['status']).code).toBe(0);
    expect(spawnSync('git', ['fsck', '--no-progress'], { cwd: bare, env: testEnv() }).status).toBe(0);
  });
});
