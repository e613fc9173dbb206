/**
 * The remote stops mid-run (the git daemon is killed) and comes back on the
 * same port. While it is away, exclusive ops fail (exit 3, naming the
 * remote) and the others commit locally with a warning; `orc sync` then
 * publishes the queued ops in the order they were made, on top of what
 * another host published meanwhile, and the remote stays linear and fsck-clean.
 */
import { describe, expect, it } from 'vitest';
import { git, orc, orcJson } from '../helpers.js';
import { cloneHost, gitRaw, orcOk, remoteSubjects, seedRemote, servedRemote } from './daemon.js';

interface SyncReport {
  remote: string;
  came_in: number;
  went_out: number;
  replayed: number;
  refused: unknown[];
  remote_tip: string | null;
}
interface Status {
  remote: { name: string; tracking: string | null; ahead: number; behind: number } | null;
  summary: { tasks: { total: number; in_progress: number; pending: number }; knowledge_topics: number; workstreams: number };
  knowledge_topics: string[];
}

const served = servedRemote();

const NOT_PUBLISHED = /^orc: committed locally, not yet published to "origin": remote "origin" cannot be reached/m;

describe('the remote (git daemon) stops mid-run and comes back', () => {
  it('refuses exclusive ops with exit 3, queues the others, and `orc sync` publishes them in order', async () => {
    await seedRemote(served.daemon.url(), 4);
    const a = cloneHost(served.daemon.url(), 'host-a');
    const b = cloneHost(served.daemon.url(), 'host-b');
    // Before the outage: a claim and a lock held by host-a, through the remote.
    orcOk(a, ['t', 'claim', 'W', 't-00', 'host-a']);
    orcOk(a, ['lock', 'acquire', 'db', 'host-a']);
    expect(orc(a, ['status']).stdout).toMatch(/^remote origin: in sync /m);
    const tipBefore = git(served.remote.bare, 'rev-parse', 'orc');

    await served.daemon.stop();

    // Exclusive ops need the remote: exit 3, the remote named, nothing committed anywhere.
    const localBefore = git(a, 'rev-parse', 'orc');
    const exclusive: string[][] = [
      ['t', 'claim', 'W', 't-01', 'host-a'],
      ['t', 'next', 'W', 'host-a'],
      ['t', 'complete', 'W', 't-00', 'done offline?'],
      ['lock', 'acquire', 'deploy', 'host-a'],
      ['lock', 'release', 'db', 'host-a'],
    ];
    for (const args of exclusive) {
      const r = orc(a, args);
      expect({ args, code: r.code }, r.stderr).toEqual({ args, code: 3 });
      expect(r.stderr).toMatch(/^orc: remote "origin" cannot be reached \(.+\); exclusive ops need it/);
      expect(r.stdout).toBe('');
    }
    expect(git(a, 'rev-parse', 'orc')).toBe(localBefore);

    // Non-exclusive ops commit locally: exit 0, their output, and the warning on stderr.
    const queued: string[][] = [
      ['t', 'add', 'W', 'added offline', '--id', 'off-1'],
      ['ws', 'create', 'offline-ws', 'made while the remote was away'],
      ['kb', 'write', 'notes/outage', 'the remote went away at noon'],
      ['a', 'heartbeat', 'host-a'],
      ['event', 'outage', '{"seen_by":"host-a"}'],
      ['t', 'add', 'W', 'added offline too', '--id', 'off-2'],
    ];
    for (const args of queued) {
      const r = orc(a, args);
      expect({ args, code: r.code }, r.stderr).toEqual({ args, code: 0 });
      expect(r.stdout).not.toBe('');
      expect(r.stderr).toMatch(NOT_PUBLISHED);
      expect(r.stderr).toMatch(/`orc sync` publishes it/);
    }
    // Queued in the order made, and only locally.
    const made = git(a, 'log', '--reverse', '--format=%s', `${localBefore}..orc`).split('\n');
    expect(made).toEqual([
      'add task W/off-1: added offline',
      'create workstream offline-ws',
      'write knowledge notes/outage (28 bytes)',
      'heartbeat of host-a',
      'event outage',
      'add task W/off-2: added offline too',
    ]);
    expect(git(served.remote.bare, 'rev-parse', 'orc')).toBe(tipBefore);
    expect(orc(a, ['status']).stdout).toMatch(/^remote origin: 6 ahead, 0 behind /m);
    const st = orcJson<Status>(a, ['status']);
    expect(st.remote).toMatchObject({ name: 'origin', ahead: 6, behind: 0 });

    // `orc sync` while still away: exit 3, names the remote, keeps the queue.
    const early = orc(a, ['sync']);
    expect(early.code).toBe(3);
    expect(early.stderr).toMatch(/remote "origin" cannot be reached/);

    await served.daemon.start(); // same port

    // Another host publishes first, so host-a's queue must be replayed on top of it.
    orcOk(b, ['t', 'claim', 'W', 't-01', 'host-b']);
    const r = orc(a, ['sync', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as SyncReport;
    expect(report).toMatchObject({ remote: 'origin', went_out: 6, replayed: 6, refused: [] });
    expect(report.came_in).toBeGreaterThanOrEqual(1);

    // On the remote: what host-b did, then host-a's ops in the order they were made.
    const subjects = remoteSubjects(served.remote.bare);
    const since = git(served.remote.bare, 'log', '--reverse', '--format=%s', `${tipBefore}..orc`).split('\n');
    expect(since).toEqual(['claim W/t-01 for host-b: task 1', ...made]);
    expect(subjects.slice(-6)).toEqual(made);
    expect(git(served.remote.bare, 'rev-list', '--merges', '--count', 'orc')).toBe('0');
    const fsck = gitRaw(served.remote.bare, 'fsck', '--strict', '--no-progress');
    expect(fsck.code, fsck.stderr).toBe(0);
    expect(git(a, 'rev-parse', 'orc')).toBe(git(served.remote.bare, 'rev-parse', 'orc'));
    expect(orc(a, ['status']).stdout).toMatch(/^remote origin: in sync /m);

    // The replayed ops mean the same on the remote: host-b reads host-a's offline work.
    orcOk(b, ['sync']);
    const sb = orcJson<Status>(b, ['status']);
    expect(sb.summary.tasks).toMatchObject({ total: 6, in_progress: 2 });
    expect(sb.knowledge_topics).toEqual(['notes/outage']);
    expect(orcJson<{ name: string }[]>(b, ['ws', 'list']).map((w) => w.name).sort()).toEqual(['W', 'offline-ws']);
    expect(orc(b, ['kb', 'read', 'notes/outage']).stdout).toBe('the remote went away at noon');
    expect(orcJson<{ action: string; seen_by?: string }[]>(b, ['events', '--action', 'outage'])).toMatchObject([{ action: 'outage', seen_by: 'host-a' }]);

    // Exclusive ops work again, through the remote.
    orcOk(a, ['lock', 'release', 'db', 'host-a']);
    expect(remoteSubjects(served.remote.bare).at(-1)).toMatch(/^release lock db by host-a/);
  });
});
