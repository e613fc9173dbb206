/**
 * The shared remote's pre-receive guard and presence refs
 * (refs/orc/presence/<agent>): orc's own heartbeats pass; a forged presence
 * (another agent's, from the future, older than the one it replaces, not a
 * presence commit, a deletion) is refused; a take-over pushed by a client
 * that ignored the holder's presence is refused, while a presence later than
 * the op itself refuses nothing. Real pushes to a bare repo over file://.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { bareRemote, gitE, hookEnv, orcOk } from './fixtures.js';

const env = hookEnv();
let bare = '';
let url = '';
let host = '';
let rogue = '';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const remotePresence = (agent: string) => gitE(bare, env, 'rev-parse', '-q', '--verify', `refs/orc/presence/${agent}`).stdout;

/** A commit made by hand with git plumbing: the empty tree (or `tree`), `parents`, `message`. */
function handPresence(repo: string, message: string, parents: string[] = [], tree?: string): string {
  const t = tree ?? gitE(repo, env, 'hash-object', '-t', 'tree', '-w', '/dev/null').stdout;
  const file = path.join(tmpDir('orc-msg-'), 'msg');
  fs.writeFileSync(file, message);
  const r = gitE(repo, env, 'commit-tree', t, ...parents.flatMap((p) => ['-p', p]), '-F', file);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const msg = (agent: string, at: Date) => `${JSON.stringify({ agent, at: at.toISOString(), host: 'rogue' })}\n`;

function push(repo: string, ...specs: string[]) {
  return gitE(repo, env, 'push', '--porcelain', url, ...specs);
}

function expectRefused(r: { code: number; stdout: string; stderr: string }, reason: string | RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/pre-receive hook declined/);
  expect(r.stderr).toMatch(reason);
}

/** The time a presence commit records. */
const atOf = (repo: string, oid: string) => Date.parse((JSON.parse(git(repo, 'log', '-1', '--format=%B', oid)) as { at: string }).at);

beforeAll(() => {
  let base: string;
  ({ bare, base } = bareRemote());
  url = `file://${bare}`;
  orcOk(base, env, 'hooks', 'install', '--remote-repo', bare);
  host = path.join(tmpDir('orc-host-'), 'host');
  gitE(path.dirname(host), env, 'clone', '-q', url, host);
  git(host, 'commit', '-q', '--allow-empty', '-m', 'init');
  expect(push(host, 'main').code).toBe(0);
  orcOk(host, env, 'init', '--remote', 'origin');
  orcOk(host, env, 'ws', 'create', 'W');
  orcOk(host, env, 'a', 'register', 'agent-1');
  rogue = path.join(tmpDir('orc-rogue-'), 'rogue');
  expect(gitE(path.dirname(rogue), env, 'clone', '-q', url, rogue).code).toBe(0);
});
afterAll(cleanup);

describe('pre-receive on presence refs', () => {
  it("accepts orc's own heartbeats, each replacing the last, without a commit on the branch", () => {
    const tip = git(bare, 'rev-parse', 'orc');
    orcOk(host, env, 'a', 'heartbeat', 'agent-1');
    const first = remotePresence('agent-1');
    expect(first).toBe(git(host, 'rev-parse', 'refs/orc/presence/agent-1'));
    orcOk(host, env, 'a', 'heartbeat', 'agent-1');
    expect(remotePresence('agent-1')).not.toBe(first);
    expect(remotePresence('agent-1')).toBe(git(host, 'rev-parse', 'refs/orc/presence/agent-1'));
    expect(git(bare, 'rev-parse', 'orc')).toBe(tip);
    // A well-formed presence pushed by plain git passes too.
    const good = handPresence(rogue, msg('agent-1', new Date()));
    const r = push(rogue, `+${good}:refs/orc/presence/agent-1`);
    expect(r.stderr).not.toMatch(/declined/);
    expect(remotePresence('agent-1')).toBe(good);
  });

  it('refuses a forged presence: another agent\'s, from the future, older than the current, not a presence commit, a deletion', () => {
    const held = remotePresence('agent-1');
    const heldAt = atOf(bare, held);
    const ref = 'refs/orc/presence/agent-1';
    expectRefused(push(rogue, `+${handPresence(rogue, msg('mallory', new Date()))}:${ref}`), /is the presence of "mallory", not of "agent-1"/);
    expectRefused(push(rogue, `+${handPresence(rogue, msg('agent-1', new Date(Date.now() + 3600_000)))}:${ref}`), /ahead of this server's clock/);
    expectRefused(push(rogue, `+${handPresence(rogue, msg('agent-1', new Date(heldAt - 60_000)))}:${ref}`), /earlier than .* presence never goes back/);
    expectRefused(push(rogue, `+${handPresence(rogue, 'alive, trust me\n')}:${ref}`), /not \{"agent","at","host"\} JSON/);
    const parent = handPresence(rogue, msg('agent-1', new Date()));
    expectRefused(push(rogue, `+${handPresence(rogue, msg('agent-1', new Date()), [parent])}:${ref}`), /has a parent/);
    const blob = gitE(rogue, env, 'hash-object', '-w', '--stdin').stdout;
    expectRefused(push(rogue, `+${blob}:${ref}`), /is not a commit in the push/);
    expectRefused(push(rogue, `:${ref}`), /deleting an agent's presence is refused/);
    expectRefused(push(rogue, `+${handPresence(rogue, msg('x/y', new Date()))}:refs/orc/presence/x/y`), /refs\/orc\/presence\/x\/y: is not the presence of an agent/);
    expect(remotePresence('agent-1')).toBe(held);
  });

  it("refuses a take-over decided without the holder's presence; a presence later than the op refuses nothing", async () => {
    orcOk(host, env, 't', 'add', 'W', 'one', '--id', 't1');
    orcOk(host, env, 't', 'add', 'W', 'two', '--id', 't2');
    // Leases long enough that the few orc processes between a heartbeat and the rogue's claim fit in them on a loaded machine.
    orcOk(host, env, 't', 'claim', 'W', 't1', 'agent-1', '--lease', '8s');
    orcOk(host, env, 't', 'claim', 'W', 't2', 'agent-1', '--lease', '8s');
    await sleep(8300);
    // agent-1 is alive: its heartbeat reaches the remote as presence only.
    orcOk(host, env, 'a', 'heartbeat', 'agent-1');
    // A rogue clone (no orc.remote, no presence fetched) sees the lease run out by the branch alone.
    expect(gitE(rogue, env, 'fetch', '-q', 'origin', '+orc:orc').code).toBe(0);
    orcOk(rogue, env, 't', 'claim', 'W', 't1', 'thief');
    expectRefused(push(rogue, 'orc:orc'), /refuses: task W\/t1 is claimed by agent-1/);
    // A take-over made while agent-1 was silent, published only after agent-1's next heartbeat: that later presence says nothing of before.
    expect(gitE(rogue, env, 'fetch', '-q', 'origin', '+orc:orc').code).toBe(0);
    await sleep(8300);
    orcOk(rogue, env, 't', 'claim', 'W', 't2', 'thief');
    await sleep(20);
    orcOk(host, env, 'a', 'heartbeat', 'agent-1');
    const r = push(rogue, 'orc:orc');
    expect(r.stderr).not.toMatch(/declined/);
    expect(r.code).toBe(0);
    expect(git(bare, 'log', '-1', '--format=%s', 'orc')).toMatch(/take over .*W\/t2 for thief/);
  }, 120_000);
});
