/**
 * A replay that the remote's state now refuses is reported and kept, never
 * dropped: two hosts create the same workstream while the remote is away;
 * the second to sync is refused. `orc sync` exits 1 and names the op and the
 * reason; every host then sees an op_replay_refused event with op, input and
 * reason; the refusing host keeps the original commit as
 * refs/orc/refused/<sha>. Its other offline ops are still published.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, orcJson } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, gitRaw, orcOk, remoteSubjects, seedRemote, takeOffline } from './daemon.js';

afterAll(cleanup);

interface RefusedEvent {
  action: string;
  agent: string;
  commit: string;
  op: string;
  op_agent: string;
  reason: string;
  input: Record<string, unknown>;
}

describe('a refused replay', () => {
  it('is reported by `orc sync` (exit 1), recorded as an event on the branch, and kept as refs/orc/refused/<sha>', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    await seedRemote(url, 0);
    const a = cloneHost(url, 'host-a');
    const b = cloneHost(url, 'host-b');

    const back = takeOffline(bare);
    for (const [host, who] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const r = orc(host, ['ws', 'create', 'shared', `made by host-${who}`, '2'], { env: { ORC_AGENT: `host-${who}` } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/not yet published to "origin"/);
    }
    // host-b also did something that does not clash: it must survive the refusal of the other.
    orcOk(b, ['kb', 'write', 'from-b', 'b was here']);
    const original = git(b, 'rev-parse', 'orc~1'); // host-b's ws.create commit
    expect(git(b, 'log', '-1', '--format=%s', original)).toBe('create workstream shared');
    back();

    const first = orc(a, ['sync']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toMatch(/REFUSED/);

    const second = orc(b, ['sync']);
    expect(second.code, second.stdout + second.stderr).toBe(1);
    expect(second.stdout).toMatch(new RegExp(`^REFUSED on replay: ws\\.create by host-b \\(${original.slice(0, 12)}\\): workstream "shared" already exists`, 'm'));
    expect(second.stdout).toContain(`kept as refs/orc/refused/${original} and as an op_replay_refused event`);
    expect(second.stdout).toContain('"made by host-b"');

    // The original commit, kept on host-b.
    expect(git(b, 'rev-parse', `refs/orc/refused/${original}`)).toBe(original);
    const shown = git(b, 'show', '--no-patch', '--format=%B', `refs/orc/refused/${original}`);
    expect(shown).toMatch(/^create workstream shared/);
    expect(shown).toMatch(/^Orc-Op: \{"op":"ws\.create","agent":"host-b",.*"made by host-b"/m);

    // The refusal is on the shared branch: every host sees it after a sync.
    orcOk(a, ['sync']);
    const fresh = cloneHost(url, 'host-c');
    for (const host of [a, b, fresh]) {
      const ev = orcJson<RefusedEvent[]>(host, ['events', '--action', 'op_replay_refused']);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({
        action: 'op_replay_refused',
        commit: original,
        op: 'ws.create',
        op_agent: 'host-b',
        input: { name: 'shared', description: 'made by host-b' },
      });
      expect(ev[0]!.reason).toMatch(/workstream "shared" already exists/);
    }
    // host-a's workstream stands; host-b's other op was replayed and published.
    const ws = orcJson<{ name: string; description: string }[]>(fresh, ['ws', 'list']);
    expect(ws.filter((w) => w.name === 'shared').map((w) => [w.name, w.description])).toEqual([['shared', 'made by host-a']]);
    expect(orc(fresh, ['kb', 'read', 'from-b']).stdout).toBe('b was here');
    expect(remoteSubjects(bare).slice(-3)).toEqual(['create workstream shared', 'write knowledge from-b (10 bytes)', 'event op_replay_refused']);
    expect(git(bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
    expect(gitRaw(bare, 'fsck', '--strict', '--no-progress').code).toBe(0);
    // A second sync has nothing left to refuse.
    const again = orc(b, ['sync']);
    expect(again.code, again.stdout).toBe(0);
  });
});
