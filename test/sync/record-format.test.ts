/**
 * Both formats of the Orc-Op trailer through real git, a real pre-receive
 * hook and real `orc sync`: orc writes v1 (agent and time in the JSON, an
 * Orc-Agent trailer); commits in the lean v2 format (agent and time from the
 * author line) are accepted by the hook and replayed by sync just the same,
 * and a commit re-authored, with a lying Orc-Agent trailer or a bad "ms" is
 * refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { bareRemote, gitE, hookEnv, orcOk } from '../hooks/fixtures.js';
import { takeOffline } from './daemon.js';

const env = hookEnv();
let bare = '';
let url = '';
let host = '';

afterAll(cleanup);

function clone(name: string): string {
  const dir = path.join(tmpDir(`orc-${name}-`), name);
  expect(gitE(path.dirname(dir), env, 'clone', '-q', url, dir).code).toBe(0);
  expect(gitE(dir, env, 'fetch', '-q', 'origin', 'orc:orc').code).toBe(0);
  return dir;
}

interface Rewrite {
  message?: (m: string, rec: { op: string; agent: string; at: string; input: unknown }) => string;
  author?: string;
}

/**
 * The commit `oid` made again with the same tree, parents and time but another
 * message or author: by default its v1 trailer turned into the lean v2 one.
 */
function remake(repo: string, oid: string, how: Rewrite = {}, parents = git(repo, 'log', '-1', '--format=%P', oid).split(' ').filter(Boolean)): string {
  const [name, email, time] = git(repo, 'log', '-1', '--format=%an|%ae|%at', oid).split('|') as [string, string, string];
  const message = git(repo, 'log', '-1', '--format=%B', oid);
  const rec = JSON.parse(/^Orc-Op: (.*)$/m.exec(message)![1]!) as { op: string; agent: string; at: string; input: unknown };
  expect(rec.agent).toBe(name); // orc writes v1
  const ms = Date.parse(rec.at) % 1000;
  const v2 = `${message.split('\n')[0]}\n\nOrc-Op: ${JSON.stringify(ms ? { op: rec.op, ms, input: rec.input } : { op: rec.op, input: rec.input })}\n`;
  const text = how.message ? how.message(v2, rec) : v2;
  const who = how.author ?? name;
  const file = path.join(tmpDir('orc-msg-'), 'msg');
  fs.writeFileSync(file, text);
  const e = { ...env, GIT_AUTHOR_NAME: who, GIT_AUTHOR_EMAIL: how.author ? `${who}@orc.invalid` : email, GIT_AUTHOR_DATE: `@${time} +0000`, GIT_COMMITTER_NAME: who, GIT_COMMITTER_EMAIL: `${who}@orc.invalid`, GIT_COMMITTER_DATE: `@${time} +0000` };
  const r = gitE(repo, e, 'commit-tree', git(repo, 'log', '-1', '--format=%T', oid), ...parents.flatMap((p) => ['-p', p]), '-F', file);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

function expectRefused(r: { code: number; stdout: string; stderr: string }, reason: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/pre-receive hook declined/);
  expect(r.stderr).toMatch(reason);
}

beforeAll(() => {
  let base = '';
  ({ bare, base } = bareRemote());
  url = `file://${bare}`;
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  host = path.join(tmpDir('orc-host-'), 'host');
  gitE(path.dirname(host), env, 'clone', '-q', url, host);
  git(host, 'commit', '-q', '--allow-empty', '-m', 'init');
  expect(gitE(host, env, 'push', '-q', 'origin', 'main').code).toBe(0);
  orcOk(host, env, 'ws', 'create', 'W');
  orcOk(host, env, 'init', '--remote', 'origin');
});

describe('Orc-Op trailer formats', () => {
  it('the hook accepts orc’s v1 commits and lean v2 ones, and refuses forged ones of each', () => {
    const rogue = clone('rogue');
    orcOk(rogue, env, 'kb', 'write', 'v2-topic', 'written in the lean format', '--agent', 'agent-1');
    const v1 = git(rogue, 'rev-parse', 'orc');
    expect(git(rogue, 'log', '-1', '--format=%B', v1)).toMatch(/^Orc-Op: \{"op":"kb\.write","agent":"agent-1","at":"[^]*^Orc-Agent: agent-1$/m);
    const parent = git(rogue, 'rev-parse', 'orc~1');

    // A re-authored v2 commit: the agent is the author, so the op is decided as mallory's, and its event line lies.
    const mallory = remake(rogue, v1, { author: 'mallory' });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${mallory}:refs/heads/orc`), /remote: orc: .*events\/.*op kb\.write/);
    // A v1 commit whose Orc-Agent trailer names someone else.
    const lying = remake(rogue, v1, { message: (m, rec) => `${m.split('\n')[0]}\n\nOrc-Op: ${JSON.stringify(rec)}\nOrc-Agent: mallory\n` });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${lying}:refs/heads/orc`), /its Orc-Agent trailer names "?mallory/);
    // A v2 commit with a time beyond the second it was authored in.
    const badMs = remake(rogue, v1, { message: (m, rec) => `${m.split('\n')[0]}\n\nOrc-Op: ${JSON.stringify({ op: rec.op, ms: 1000, input: rec.input })}\n` });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${badMs}:refs/heads/orc`), /"ms" is not a whole number/);

    // The same op in the lean format: accepted.
    const v2 = remake(rogue, v1);
    expect(git(rogue, 'log', '-1', '--format=%B', v2)).toMatch(/^Orc-Op: \{"op":"kb\.write",("ms":\d+,)?"input":/m);
    expect(git(rogue, 'log', '-1', '--format=%B', v2)).not.toMatch(/Orc-Agent|"agent":"agent-1"/);
    expect(git(rogue, 'rev-parse', `${v2}~1`)).toBe(parent);
    const r = gitE(rogue, env, 'push', '--porcelain', url, `${v2}:refs/heads/orc`);
    expect(r.stderr).not.toMatch(/declined/);
    expect(r.code).toBe(0);
    expect(git(bare, 'rev-parse', 'orc')).toBe(v2);

    // And orc's own v1 commits on top, pushed by orc; its log reads both.
    orcOk(host, env, 'sync');
    orcOk(host, env, 'lock', 'acquire', 'deploy', 'agent-2');
    expect(git(bare, 'log', '-1', '--format=%an|%B', 'orc')).toMatch(/^agent-2\|acquire lock deploy[^]*Orc-Op: \{"op":"lock\.acquire","agent":"agent-2",/);
    const log = JSON.parse(orcOk(host, env, 'log', '--json', '--last', '2')) as Array<{ op: { op: string; agent: string; at: string } | null }>;
    expect(log.map((e) => [e.op?.op, e.op?.agent])).toEqual([
      ['lock.acquire', 'agent-2'],
      ['kb.write', 'agent-1'],
    ]);
  });

  it('sync replays v2 commits made offline onto the remote tip, as the agent and at the time they recorded', () => {
    const b = clone('host-b');
    git(b, 'config', 'orc.remote', 'origin');
    const back = takeOffline(bare);
    let ats: string[] = [];
    try {
      orcOk(b, env, 'kb', 'write', 'offline-1', 'first', '--agent', 'agent-3');
      orcOk(b, env, 't', 'add', 'W', 'offline task', '--id', 'off1', '--agent', 'agent-4');
      ats = git(b, 'log', '-2', '--reverse', '--format=%(trailers:key=Orc-Op,valueonly)', 'orc').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { at: string }).at);
      // Both local commits in the lean format, as a later orc may leave them.
      const second = git(b, 'rev-parse', 'orc');
      const first = remake(b, git(b, 'rev-parse', 'orc~1'));
      const tip = remake(b, second, {}, [first]);
      git(b, 'update-ref', 'refs/heads/orc', tip, second);
    } finally {
      back();
    }
    // Meanwhile the remote moved on: b's commits must be replayed, not fast-forwarded.
    orcOk(host, env, 'kb', 'write', 'meanwhile', 'from the host', '--agent', 'agent-1');
    const report = JSON.parse(orcOk(b, env, 'sync', '--json')) as { replayed: number; refused: unknown[] };
    expect(report.refused).toEqual([]);
    expect(report.replayed).toBe(2);
    expect(git(bare, 'rev-parse', 'orc')).toBe(git(b, 'rev-parse', 'orc'));
    const mine = git(bare, 'log', '-2', '--reverse', '--format=%an|%B%x00', 'orc').split('\0').map((s) => s.trim()).filter(Boolean);
    expect(mine[0]).toMatch(/^agent-3\|[^]*Orc-Op: \{"op":"kb\.write","agent":"agent-3",/);
    expect(mine[1]).toMatch(/^agent-4\|[^]*Orc-Op: \{"op":"task\.add","agent":"agent-4",/);
    // The replayed ops kept the recorded agent and time (to the millisecond): their events say so.
    const events = JSON.parse(orcOk(b, env, 'events', '--json', '--last', '5')) as Array<{ ts: string; agent: string; action: string }>;
    expect(events.filter((e) => e.agent === 'agent-3' || e.agent === 'agent-4').map((e) => [e.agent, e.ts])).toEqual([
      ['agent-3', ats[0]],
      ['agent-4', ats[1]],
    ]);
    expect(orcOk(b, env, 'kb', 'read', 'offline-1')).toContain('first');
  });

  it('the hook accepts an older orc’s commit appending its event in either earlier layout, and refuses one in the wrong day', () => {
    const rogue = clone('old-layout');
    orcOk(rogue, env, 'kb', 'write', 'old-layout', 'from an older orc', '--agent', 'agent-5');
    const c = git(rogue, 'rev-parse', 'orc');
    const parent = git(rogue, 'rev-parse', 'orc~1');
    const seg = git(rogue, 'diff-tree', '-r', '--name-only', '--no-commit-id', parent, c).split('\n').find((p) => p.startsWith('events/'))!;
    expect(seg).toMatch(/^events\/\d{4}-\d{2}-\d{2}\/[0-9a-z]+-\d+\.jsonl$/); // orc writes the flat layout
    const newLine = git(rogue, 'show', `${c}:${seg}`).split('\n').filter(Boolean).pop()!;
    const [, ym, dd, file] = /^events\/(\d{4}-\d{2})-(\d{2})\/([0-9a-z]+)-\d+\.jsonl$/.exec(seg)!;
    const writer = file!;
    /** C's commit with its event line moved to `dir` (an older orc's segment: the writer's first of that day there). */
    const moved = (dir: string): string => {
      const index = path.join(tmpDir('orc-index-'), 'index');
      const e = { ...env, GIT_INDEX_FILE: index };
      const run = (...args: string[]) => {
        const r = gitE(rogue, e, ...args);
        expect(r.code, r.stderr).toBe(0);
        return r.stdout;
      };
      run('read-tree', c);
      const had = gitE(rogue, env, 'cat-file', '-e', `${parent}:${seg}`).code === 0;
      if (had) run('update-index', '--cacheinfo', `100644,${git(rogue, 'rev-parse', `${parent}:${seg}`)},${seg}`);
      else run('update-index', '--force-remove', seg);
      const blobFile = path.join(path.dirname(index), 'blob');
      fs.writeFileSync(blobFile, `${newLine}\n`);
      run('update-index', '--add', '--cacheinfo', `100644,${run('hash-object', '-w', blobFile)},${dir}/${writer}-00001.jsonl`);
      const tree = run('write-tree');
      const [name, email, time] = git(rogue, 'log', '-1', '--format=%an|%ae|%at', c).split('|') as [string, string, string];
      const msg = path.join(path.dirname(index), 'msg');
      fs.writeFileSync(msg, git(rogue, 'log', '-1', '--format=%B', c));
      const id = { ...env, GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: `@${time} +0000`, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email, GIT_COMMITTER_DATE: `@${time} +0000` };
      const r = gitE(rogue, id, 'commit-tree', tree, '-p', parent, '-F', msg);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const wrongDay = moved('events/2020/01/01');
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${wrongDay}:refs/heads/orc`), /remote: orc: .*appends its event to events\/2020\/01\/01\//);
    // Each earlier layout is accepted: the second (events/<yyyy-mm>/<dd>) ...
    const month = moved(`events/${ym!}/${dd}`);
    const legacy = moved(`events/${ym!.slice(0, 4)}/${ym!.slice(5)}/${dd}`);
    const second = gitE(rogue, env, 'push', '--porcelain', url, `${month}:refs/heads/orc`);
    expect(second.stderr).not.toMatch(/declined/);
    expect(second.code).toBe(0);
    // ... and the first (events/<yyyy>/<mm>/<dd>), pushed onto the same parent again (the bare's ref set back by hand).
    git(bare, 'update-ref', 'refs/heads/orc', parent);
    const r = gitE(rogue, env, 'push', '--porcelain', url, `${legacy}:refs/heads/orc`);
    expect(r.stderr).not.toMatch(/declined/);
    expect(r.code).toBe(0);
    // All layouts are read: the event is there, by the agent, beside the flat layout's.
    orcOk(host, env, 'sync');
    const events = JSON.parse(orcOk(host, env, 'events', '--json', '--last', '3')) as Array<{ agent: string; action: string }>;
    expect(events.some((ev) => ev.agent === 'agent-5' && ev.action === 'knowledge_written')).toBe(true);
  });
});
