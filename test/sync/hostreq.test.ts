/**
 * Cross-host group commit (src/ops/hostreq.ts): a host's waiting op published
 * among its requests (refs/orc/hosts/<host>/req) is decided by whichever host
 * pushes next, in the same atomic push as that host's own ops, and its answer
 * lands in refs/orc/hosts/<host>/ans. Real git and real processes: host A's
 * branch pushes are held by a pre-push hook, so that only another host can
 * decide its op; A killed after publishing still gets its op decided once; A
 * left alive reports the answer another host recorded, and decides nothing
 * twice; a host with `orc.hostRequests off` serves nobody.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, git, orc, testEnv, tmpDir } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, gitRaw, orcOk, remoteSubjects, seedRemote, sleep, takeOffline } from './daemon.js';

afterAll(cleanup);

/** Holds every push of host `dir` that moves the state branch until `<marks>/go` exists (bounded: 30 s); writes `<marks>/held` meanwhile. */
function holdBranchPushes(dir: string, marks: string, exit = 0): void {
  fs.mkdirSync(marks, { recursive: true });
  const hook = path.join(dir, '.git', 'hooks', 'pre-push');
  fs.writeFileSync(
    hook,
    `#!/bin/sh\nif grep -q ' refs/heads/orc ' ; then\n  touch '${marks}/held'\n  i=0\n  while [ ! -f '${marks}/go' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n  exit ${exit}\nfi\nexit 0\n`,
    { mode: 0o755 },
  );
}

function startOrc(cwd: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [ORC_BIN, ...args], { cwd, env: { ...testEnv(), ...env }, detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code: code ?? -1, stdout, stderr })));
  return { child, done };
}

const writerOf = (dir: string) => fs.readFileSync(path.join(dir, '.git', 'orc', 'writer-id'), 'utf8').trim();

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The remote's claim commits: "task agent". */
const claims = (bare: string) => remoteSubjects(bare).flatMap((s) => {
  const m = /^claim W\/(\S+) for (\S+):/.exec(s);
  return m ? [`${m[1]} ${m[2]}`] : [];
});

/** JSON message of the commit a remote ref points at, or null. */
function refJson(bare: string, ref: string): Record<string, unknown> | null {
  const r = gitRaw(bare, 'log', '-1', '--format=%B', ref);
  return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : null;
}

/**
 * A remote with `tasks` tasks and hosts named `names` (the first is A, which publishes every op first
 * and whose branch pushes are held, then end with `exit`); A's op `args` started, returned once A's
 * request is on the remote and its push is held.
 */
async function publishedRequest(names: string[], tasks: number, args: string[], exit = 0, env: Record<string, string> = {}) {
  const { bare } = bareRemote();
  const url = fileUrl(bare);
  await seedRemote(url, tasks);
  const hosts = names.map((n) => cloneHost(url, n));
  const a = hosts[0]!;
  git(a, 'config', 'orc.hostRequests', 'always');
  const marks = path.join(path.dirname(a), 'marks');
  holdBranchPushes(a, marks, exit);
  const p = startOrc(a, args, env);
  const host = writerOf(a);
  await until("A's request on the remote", () => gitRaw(bare, 'rev-parse', '-q', '--verify', `refs/orc/hosts/${host}/req`).code === 0 && fs.existsSync(path.join(marks, 'held')));
  return { bare, hosts, marks, p, host, go: () => fs.writeFileSync(path.join(marks, 'go'), '') };
}

describe('request refs: hosts decide each other\'s ops', () => {
  it('a requester killed after publishing: a host with orc.hostRequests off leaves its op; the next host decides it once, in its own push, and records the answer', async () => {
    const { bare, hosts, p, host } = await publishedRequest(['hostreq-a', 'hostreq-b', 'hostreq-c'], 6, ['t', 'next', 'W', 'agent-a', '--json']);
    const [, b, c] = hosts as [string, string, string];
    git(c, 'config', 'orc.hostRequests', 'off');
    // A published its op, then its branch push hangs in the hook: kill the whole process group there.
    process.kill(-p.child.pid!, 'SIGKILL');
    await p.done;
    const req = refJson(bare, `refs/orc/hosts/${host}/req`)!;
    expect(req.requests).toMatchObject([{ op: 'task.next' }]);
    expect(JSON.stringify(req.requests)).toContain('agent-a');
    expect(claims(bare)).toEqual([]);

    // C does not serve request refs: its own claim only.
    expect(JSON.parse(orcOk(c, ['t', 'next', 'W', 'agent-c', '--json']).stdout)).toMatchObject({ id: 't-00' });
    expect(claims(bare)).toEqual(['t-00 agent-c']);
    expect(gitRaw(bare, 'rev-parse', '-q', '--verify', `refs/orc/hosts/${host}/ans`).code).not.toBe(0);

    // B serves A's request (older than B's op, so first) and its own in one push.
    const pushesBefore = remoteSubjects(bare).length;
    expect(JSON.parse(orcOk(b, ['t', 'next', 'W', 'agent-b', '--json']).stdout)).toMatchObject({ id: 't-02' });
    expect(claims(bare)).toEqual(['t-00 agent-c', 't-01 agent-a', 't-02 agent-b']);
    expect(remoteSubjects(bare).length).toBe(pushesBefore + 2);
    const ans = refJson(bare, `refs/orc/hosts/${host}/ans`)!;
    const id = (req.requests as { id: string }[])[0]!.id;
    expect(ans.answers).toMatchObject({ [id]: { ok: true, result: { id: 't-01', assigned_to: 'agent-a' } } });
    // Decided by B: authored by agent-a, its event line in B's own segment.
    const claimA = gitRaw(bare, 'log', '-1', '--format=%H %an', '--grep=^claim W/t-01', 'orc').stdout.split(' ');
    expect(claimA[1]).toBe('agent-a');
    const files = gitRaw(bare, 'show', '--name-only', '--format=', claimA[0]!).stdout.split('\n');
    expect(files.some((f) => f.startsWith('events/') && path.basename(f).startsWith(`${writerOf(b)}-`))).toBe(true);
    // And never again: C (off) and B (a second op) leave it answered.
    orcOk(b, ['t', 'next', 'W', 'agent-b2', '--json']);
    expect(claims(bare).filter((x) => x.endsWith(' agent-a'))).toEqual(['t-01 agent-a']);
  }, 90_000);

  it('a requester left alive reports the answer another host recorded, and its own held push decides nothing twice', async () => {
    const { bare, hosts, p, host, go } = await publishedRequest(['hostreq-a2', 'hostreq-b2'], 4, ['lock', 'acquire', 'db', 'agent-a', '--json']);
    const b = hosts[1]!;
    // B's op decides A's first: A holds the lock, B is refused.
    const r = orc(b, ['lock', 'acquire', 'db', 'agent-b', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/agent-a/);
    // A's held push goes on (a stale lease: refused), it fetches, and reports B's answer for it.
    go();
    const ra = await p.done;
    expect(ra.code, ra.stderr).toBe(0);
    expect(JSON.parse(ra.stdout)).toMatchObject({ resource: 'db', agent: 'agent-a' });
    expect(remoteSubjects(bare).filter((s) => s.startsWith('acquire lock db ')).length).toBe(1);
    expect(Object.keys((refJson(bare, `refs/orc/hosts/${host}/ans`)!.answers as object))).toHaveLength(1);
  }, 90_000);

  it('a requester waiting while another host wins polls with ls-remote, fetches once its answers move, and takes the serving host\'s answer', async () => {
    const trace = path.join(tmpDir('orc-trace-'), 'a.trace');
    const { bare, hosts, p, host, go } = await publishedRequest(['hostreq-a4', 'hostreq-b4', 'hostreq-c4'], 6, ['t', 'next', 'W', 'agent-a', '--json'], 0, { GIT_TRACE2_EVENT: trace });
    const [, b, c] = hosts as [string, string, string];
    // C wins the races meanwhile (and serves nobody): A's held push goes stale and A is refused.
    git(c, 'config', 'orc.hostRequests', 'off');
    orcOk(c, ['lock', 'acquire', 'res-0', 'agent-c', '--json']);
    let stop = false;
    const cLoop = (async () => {
      for (let i = 1; !stop && i < 200; i++) await startOrc(c, ['lock', 'acquire', `res-${i}`, 'agent-c', '--json']).done;
    })();
    const commands = (name: string) => (fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('"event":"cmd_name"') && l.includes(`"name":"${name}"`)).length : 0);
    try {
      go();
      // A waits for C's rounds, polling with ls-remote ...
      await until("A's ls-remote polls", () => commands('ls-remote') >= 2, 30_000);
      const fetchesWhileWaiting = commands('fetch');
      // ... and B's next op serves A's request in its push.
      expect(JSON.parse(orcOk(b, ['t', 'next', 'W', 'agent-b', '--json']).stdout)).toMatchObject({ id: 't-01' });
      const ra = await p.done;
      expect(ra.code, ra.stderr).toBe(0);
      expect(JSON.parse(ra.stdout)).toMatchObject({ id: 't-00', assigned_to: 'agent-a' });
      // Probes write nothing: A fetched when its answers moved, not at every poll.
      expect(commands('fetch') - fetchesWhileWaiting).toBeLessThanOrEqual(2);
      expect(fetchesWhileWaiting).toBeLessThan(commands('ls-remote') + 4);
      // And none of A's fetches started git's auto maintenance (orc packs its own objects).
      expect(commands('fetch')).toBeGreaterThan(0);
      expect(commands('maintenance')).toBe(0);
    } finally {
      stop = true;
      await cLoop;
    }
    expect(claims(bare)).toEqual(['t-00 agent-a', 't-01 agent-b']);
    // Decided by B: its event in B's segment, the answer in A's answers ref.
    const claimA = gitRaw(bare, 'log', '-1', '--format=%H', '--grep=^claim W/t-00', 'orc').stdout.trim();
    const files = gitRaw(bare, 'show', '--name-only', '--format=', claimA).stdout.split('\n');
    expect(files.some((f) => f.startsWith('events/') && path.basename(f).startsWith(`${writerOf(b)}-`))).toBe(true);
    expect(Object.values(refJson(bare, `refs/orc/hosts/${host}/ans`)!.answers as object)).toMatchObject([{ ok: true, result: { id: 't-00' } }]);
  }, 120_000);

  it('a requester whose remote goes away after publishing says the outcome is unknown (exit 3) and where it will be; another host decides the op later, once', async () => {
    const { bare, hosts, p, host, go } = await publishedRequest(['hostreq-a3', 'hostreq-b3'], 4, ['t', 'next', 'W', 'agent-a', '--json'], 1);
    const b = hosts[1]!;
    const back = takeOffline(bare);
    go();
    const ra = await p.done;
    back();
    expect(ra.code, ra.stderr).toBe(3);
    expect(ra.stderr).toMatch(new RegExp(`could not be reached to withdraw this op.*refs/orc/hosts/${host}/ans`));
    expect(claims(bare)).toEqual([]);
    // As it said: another host decides it (once), and records the answer where it said.
    orcOk(b, ['t', 'next', 'W', 'agent-b', '--json']);
    orcOk(b, ['t', 'next', 'W', 'agent-b2', '--json']);
    expect(claims(bare)).toEqual(['t-00 agent-a', 't-01 agent-b', 't-02 agent-b2']);
    expect(Object.values(refJson(bare, `refs/orc/hosts/${host}/ans`)!.answers as object)).toMatchObject([{ ok: true, result: { id: 't-00' } }]);
  }, 90_000);
});
