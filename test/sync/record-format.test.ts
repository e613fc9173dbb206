/**
 * Both formats of the Orc-Op trailer through real git, a real pre-receive
 * hook and real `orc sync`: commits in the old v1 format (agent and time in
 * the JSON, an Orc-Agent trailer) are still accepted by the hook and
 * replayed by sync; the lean v2 format orc writes now is accepted, and a
 * commit re-authored or with a lying Orc-Agent trailer is refused in either.
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
 * message or author: by default its v2 trailer turned into v1, as orc wrote it before.
 */
function remake(repo: string, oid: string, how: Rewrite = {}): string {
  const [name, email, time] = git(repo, 'log', '-1', '--format=%an|%ae|%at', oid).split('|') as [string, string, string];
  const message = git(repo, 'log', '-1', '--format=%B', oid);
  const raw = JSON.parse(/^Orc-Op: (.*)$/m.exec(message)![1]!) as { op: string; ms?: number; input: unknown };
  expect(raw).not.toHaveProperty('agent'); // orc writes v2
  const rec = { op: raw.op, agent: name, at: new Date(Number(time) * 1000 + (raw.ms ?? 0)).toISOString(), input: raw.input };
  const v1 = `${message.split('\n')[0]}\n\nOrc-Op: ${JSON.stringify(rec)}\nOrc-Agent: ${name}\n`;
  const text = how.message ? how.message(message, rec) : v1;
  const who = how.author ?? name;
  const file = path.join(tmpDir('orc-msg-'), 'msg');
  fs.writeFileSync(file, text);
  const parents = git(repo, 'log', '-1', '--format=%P', oid).split(' ').filter(Boolean);
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
  it('the hook accepts a v1 commit and orc’s lean v2 commits, and refuses forged ones of each', () => {
    const rogue = clone('rogue');
    orcOk(rogue, env, 'kb', 'write', 'v1-topic', 'written in the old format', '--agent', 'agent-1');
    const v2 = git(rogue, 'rev-parse', 'orc');
    expect(git(rogue, 'log', '-1', '--format=%B', v2)).not.toMatch(/Orc-Agent|"agent"|"at"/);
    const parent = git(rogue, 'rev-parse', 'orc~1');

    // A re-authored v2 commit: the agent is the author, so the op is decided as mallory's, and its event line lies.
    const mallory = remake(rogue, v2, { author: 'mallory', message: (m) => m });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${mallory}:refs/heads/orc`), /remote: orc: .*events\/.*op kb\.write/);
    // A v1 commit whose Orc-Agent trailer names someone else.
    const lying = remake(rogue, v2, { message: (m, rec) => `${m.split('\n')[0]}\n\nOrc-Op: ${JSON.stringify(rec)}\nOrc-Agent: mallory\n` });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${lying}:refs/heads/orc`), /its Orc-Agent trailer names "?mallory/);
    // A v2 commit with a time beyond the second it was authored in.
    const badMs = remake(rogue, v2, { message: (m) => m.replace(/"input"/, '"ms":1000,"input"').replace(/"ms":\d+,"ms"/, '"ms"') });
    expectRefused(gitE(rogue, env, 'push', '--porcelain', url, `${badMs}:refs/heads/orc`), /"ms" is not a whole number/);

    // The same op as orc wrote it before (v1): accepted.
    const v1 = remake(rogue, v2);
    expect(git(rogue, 'log', '-1', '--format=%B', v1)).toMatch(/^Orc-Op: \{"op":"kb\.write","agent":"agent-1","at":"/m);
    expect(git(rogue, 'rev-parse', `${v1}~1`)).toBe(parent);
    const r = gitE(rogue, env, 'push', '--porcelain', url, `${v1}:refs/heads/orc`);
    expect(r.stderr).not.toMatch(/declined/);
    expect(r.code).toBe(0);
    expect(git(bare, 'rev-parse', 'orc')).toBe(v1);

    // And orc's own v2 commits, pushed by orc.
    orcOk(host, env, 'sync');
    orcOk(host, env, 'lock', 'acquire', 'deploy', 'agent-2');
    expect(git(bare, 'log', '-1', '--format=%an|%B', 'orc')).toMatch(/^agent-2\|acquire lock deploy[^]*Orc-Op: \{"op":"lock\.acquire",/);
  });

  it('sync replays v1 commits made offline onto the remote tip, as the agent and at the time they recorded', () => {
    const b = clone('host-b');
    git(b, 'config', 'orc.remote', 'origin');
    const back = takeOffline(bare);
    let v1tip = '';
    try {
      orcOk(b, env, 'kb', 'write', 'offline-1', 'first', '--agent', 'agent-3');
      orcOk(b, env, 't', 'add', 'W', 'offline task', '--id', 'off1', '--agent', 'agent-4');
      // Both local commits rewritten to v1, as an older orc would have left them.
      const first = remake(b, git(b, 'rev-parse', 'orc~1'));
      const second = git(b, 'rev-parse', 'orc');
      const tree = git(b, 'log', '-1', '--format=%T', second);
      expect(tree).toBeTruthy();
      // Remake the second on top of the remade first: same tree, new parent.
      const msgFile = path.join(tmpDir('orc-msg-'), 'msg');
      const [name, time] = git(b, 'log', '-1', '--format=%an|%at', second).split('|') as [string, string];
      const raw = JSON.parse(/^Orc-Op: (.*)$/m.exec(git(b, 'log', '-1', '--format=%B', second))![1]!) as { op: string; ms?: number; input: unknown };
      const at = new Date(Number(time) * 1000 + (raw.ms ?? 0)).toISOString();
      fs.writeFileSync(msgFile, `add\n\nOrc-Op: ${JSON.stringify({ op: raw.op, agent: name, at, input: raw.input })}\nOrc-Agent: ${name}\n`);
      const e = { ...env, GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: `${name}@orc.invalid`, GIT_AUTHOR_DATE: `@${time} +0000`, GIT_COMMITTER_DATE: `@${time} +0000` };
      v1tip = gitE(b, e, 'commit-tree', tree, '-p', first, '-F', msgFile).stdout;
      git(b, 'update-ref', 'refs/heads/orc', v1tip, second);
    } finally {
      back();
    }
    // Meanwhile the remote moved on: b's v1 commits must be replayed, not fast-forwarded.
    orcOk(host, env, 'kb', 'write', 'meanwhile', 'from the host', '--agent', 'agent-1');
    const report = JSON.parse(orcOk(b, env, 'sync', '--json')) as { replayed: number; refused: unknown[] };
    expect(report.refused).toEqual([]);
    expect(report.replayed).toBe(2);
    expect(git(bare, 'rev-parse', 'orc')).toBe(git(b, 'rev-parse', 'orc'));
    const mine = git(bare, 'log', '-2', '--reverse', '--format=%an|%B%x00', 'orc').split('\0').map((s) => s.trim()).filter(Boolean);
    expect(mine[0]).toMatch(/^agent-3\|[^]*Orc-Op: \{"op":"kb\.write",/);
    expect(mine[1]).toMatch(/^agent-4\|[^]*Orc-Op: \{"op":"task\.add",/);
    for (const m of mine) expect(m).not.toMatch(/Orc-Agent/); // replayed in the lean format
    // The replayed ops kept the recorded agent and time: their events say so.
    const events = JSON.parse(orcOk(b, env, 'events', '--json', '--last', '5')) as Array<{ ts: string; agent: string; action: string }>;
    const v1Ats = git(b, 'log', '-2', '--reverse', '--format=%(trailers:key=Orc-Op,valueonly)', v1tip).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { at: string }).at);
    expect(events.filter((e) => e.agent === 'agent-3' || e.agent === 'agent-4').map((e) => [e.agent, e.ts])).toEqual([
      ['agent-3', v1Ats[0]],
      ['agent-4', v1Ats[1]],
    ]);
    expect(orcOk(b, env, 'kb', 'read', 'offline-1')).toContain('first');
  });
});
