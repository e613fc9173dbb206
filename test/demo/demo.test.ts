/**
 * `orc demo` as a user runs it: the built bin in a real process, started
 * outside any repo, with real git, real worktrees and hooks, and the real
 * server polled over HTTP. It must show agents finishing tasks without ever
 * sharing one, link commits to tasks, stop cleanly on a signal (removing or
 * keeping its repo), and leave the caller's folder and repo alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/demo/demo.js';
import { cleanup, fingerprint, git, orc, ORC_BIN, testEnv, tmpDir, tmpRepo, waitMaintenance } from '../helpers.js';

/** The `--json` ready line: the demo's own description of itself. */
type Ready = Pick<Demo, 'url' | 'api' | 'port' | 'dir' | 'branch' | 'agents' | 'worktrees'>;

interface Running {
  proc: ChildProcess;
  ready: Promise<Ready>;
  exited: Promise<number | null>;
  out(): string;
  err(): string;
}

afterAll(cleanup);

function demo(cwd: string, args: string[], env: Record<string, string>): Running {
  const proc = spawn(process.execPath, [ORC_BIN, 'demo', ...args], { cwd, env: testEnv(env) });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ready = new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orc demo was not ready in 30 s: ${err}`)), 30_000);
    proc.stdout!.on('data', () => {
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(out.slice(0, nl)) as Ready);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`orc demo exited ${code} before it was ready: ${err}`));
    });
  });
  ready.catch(() => {});
  return { proc, ready, exited, out: () => out, err: () => err };
}

async function get<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Polls `check` until it returns a value, up to `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Exit code within `ms`, or a failure (and the process killed). */
async function exitWithin(r: Running, ms: number): Promise<number | null> {
  const t = setTimeout(() => r.proc.kill('SIGKILL'), ms);
  const code = await r.exited;
  clearTimeout(t);
  return code;
}

interface Status {
  agents: { id: string; stale: boolean }[];
  summary: { tasks: { done: number; in_progress: number; pending: number } };
}
interface Ev {
  agent: string;
  action: string;
  workstream?: string;
  task_id?: string;
  commit?: string;
}

describe('orc demo', () => {
  it('runs three agents through the work, live over HTTP, and removes everything on SIGINT', async () => {
    const cwd = tmpDir('orc-demo-cwd-');
    const tmp = tmpDir('orc-demo-tmp-');
    // A repo the user is "in" by environment: the demo must neither use nor touch it.
    const mine = tmpRepo();
    fs.writeFileSync(path.join(mine, 'work.txt'), 'uncommitted\n');
    const before = fingerprint(mine);
    const env = { TMPDIR: tmp, ORC_REPO: mine, ORC_AGENT: 'someone', GIT_DIR: path.join(mine, '.git') };

    const r = demo(cwd, ['--port', '0', '--speed', '30', '--json'], env);
    const ready = await r.ready;
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(ready.agents).toEqual(['agent-ada', 'agent-grace', 'agent-linus']);
    expect(path.dirname(ready.dir)).toBe(fs.realpathSync(tmp));
    expect(ready.worktrees).toEqual(ready.agents.map((a) => path.join(ready.dir, 'worktrees', a)));
    const api = new URL('api/', ready.url).href;

    const status = await until('six tasks done', 25_000, async () => {
      const s = await get<Status>(`${api}status`);
      return s.summary.tasks.done >= 6 && s;
    });
    expect(status.agents.map((a) => a.id).sort()).toEqual(ready.agents);
    expect(status.agents.every((a) => !a.stale)).toBe(true);

    // No task was ever claimed by two agents, or taken over.
    const claims = await get<Ev[]>(`${api}events?action=task_claimed&last=100000`);
    expect(claims.length).toBeGreaterThanOrEqual(6);
    const owners = new Map<string, Set<string>>();
    for (const e of claims) owners.set(`${e.workstream}/${e.task_id}`, (owners.get(`${e.workstream}/${e.task_id}`) ?? new Set()).add(e.agent));
    for (const [task, who] of owners) expect([task, [...who]]).toEqual([task, [...who].slice(0, 1)]);
    expect(await get<Ev[]>(`${api}events?action=task_taken_over&last=100000`)).toEqual([]);

    // Commits in the worktrees carry Orc-Task trailers, and each is linked to its task by a code_committed event.
    const linked = await get<Ev[]>(`${api}events?action=code_committed&last=100000`);
    expect(linked.length).toBeGreaterThanOrEqual(3);
    for (const e of linked.slice(0, 5)) {
      expect(owners.get(`${e.workstream}/${e.task_id}`)?.has(e.agent)).toBe(true);
      expect(git(ready.dir, 'log', '-1', '--format=%B', e.commit!)).toContain(`Orc-Task: ${e.workstream}/${e.task_id}`);
    }
    let trailers = 0;
    for (const [i, wt] of ready.worktrees.entries()) {
      expect(fs.existsSync(path.join(wt, '.git'))).toBe(true);
      expect(git(wt, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(ready.agents[i]);
      const bodies = git(ready.dir, 'log', '--format=%B%x00', `main..${ready.agents[i]}`).split('\0').map((b) => b.trim()).filter(Boolean);
      for (const b of bodies) expect(b).toMatch(/^Orc-Task: [a-z]+\/[a-z0-9-]+$/m);
      trailers += bodies.length;
    }
    expect(trailers).toBeGreaterThanOrEqual(3);

    r.proc.kill('SIGINT');
    expect(await exitWithin(r, 10_000)).toBe(0);
    expect(r.err()).toMatch(/^orc demo: stopped \(\d+ tasks done(, \d+ failed)? in \d+ rounds?\); removed \S+\n$/);
    expect(r.err()).toContain(`removed ${ready.dir}\n`);
    expect(r.out().trim().split('\n')).toHaveLength(1); // --json: the ready line only
    expect(fs.existsSync(ready.dir)).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(fingerprint(mine)).toBe(before);
    expect(spawnSync('git', ['rev-parse', '--verify', '-q', 'refs/heads/orc'], { cwd: mine, env: testEnv() }).status).not.toBe(0);
  }, 60_000);

  it('with --keep, SIGTERM leaves a whole repo: git fsck is clean and the state branch has the work', async () => {
    const cwd = tmpDir('orc-demo-cwd-');
    const tmp = tmpDir('orc-demo-tmp-');
    const r = demo(cwd, ['--port', '0', '--speed', '30', '--agents', '2', '--keep', '--json'], { TMPDIR: tmp });
    const ready = await r.ready;
    expect(ready.agents).toEqual(['agent-ada', 'agent-grace']);
    const api = new URL('api/', ready.url).href;
    // A task added by hand, through the API, is worked on like the planned ones.
    const add = await fetch(`${api}workstreams/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'by-hand', title: 'Rotate the deploy key', priority: 1, resources: ['deploy'] }),
    });
    expect(add.status).toBe(201);
    await until('three tasks done', 25_000, async () => (await get<Status>(`${api}status`)).summary.tasks.done >= 3);
    const byHand = await until('the task added by hand done', 25_000, async () => {
      const t = await get<{ status: string; assigned_to: string }>(`${api}workstreams/api/tasks/by-hand`);
      return t.status === 'done' && t;
    });

    r.proc.kill('SIGTERM');
    expect(await exitWithin(r, 10_000)).toBe(0);
    expect(r.err()).toMatch(/^orc demo: stopped \(\d+ tasks? done.*\); kept /);
    expect(r.err().trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(ready.dir)).toBe(true);

    waitMaintenance(ready.dir);
    const fsck = spawnSync('git', ['fsck', '--no-dangling'], { cwd: ready.dir, env: testEnv(), encoding: 'utf8' });
    expect(fsck.status, fsck.stderr).toBe(0);
    expect(Number(git(ready.dir, 'rev-list', '--count', 'orc'))).toBeGreaterThan(30);
    expect(git(ready.dir, 'worktree', 'list', '--porcelain')).toContain(path.join(ready.dir, 'worktrees', 'agent-grace'));
    // The kept repo is an ordinary orc repo: the CLI reads what the agents did.
    const st = orc(ready.dir, ['status', '--json']);
    expect(st.code).toBe(0);
    const s = JSON.parse(st.stdout) as Status & { active_locks: unknown[] };
    expect(s.summary.tasks.done).toBeGreaterThanOrEqual(3);
    expect(s.active_locks).toEqual([]); // released on stop
    const stopped = JSON.parse(orc(ready.dir, ['events', '--action', 'agent_stopped', '--json']).stdout) as Ev[];
    expect(stopped.map((e) => e.agent).sort()).toEqual(ready.agents);
    const note = git(ready.dir, 'log', '--format=%B', byHand.assigned_to, '--', 'notes/api-by-hand.md');
    expect(note).toContain('Rotate the deploy key');
    expect(note).toContain('Orc-Task: api/by-hand');
    expect(fs.readdirSync(cwd)).toEqual([]);
    fs.rmSync(ready.dir, { recursive: true, force: true });
  }, 60_000);

  it('a busy port: the ENV exit code, one line, nothing left behind', async () => {
    const cwd = tmpDir('orc-demo-cwd-');
    const tmp = tmpDir('orc-demo-tmp-');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = demo(cwd, ['--port', String(port), '--json'], { TMPDIR: tmp });
      expect(await exitWithin(r, 20_000)).toBe(3);
      expect(r.err()).toBe(`orc: port ${port} on 127.0.0.1 is in use; pick another with --port N (0: any free port)\n`);
      expect(r.out()).toBe('');
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('refuses what it cannot do, in one line: a folder in use, --repo, bad numbers', () => {
    const cwd = tmpDir('orc-demo-cwd-');
    const full = tmpDir('orc-demo-full-');
    fs.writeFileSync(path.join(full, 'keep.txt'), 'mine\n');
    const cases: [string[], number, RegExp][] = [
      [['--dir', full], 1, /^orc: --dir .* is not empty; give a new or empty folder/],
      [['--repo', cwd], 2, /^orc: orc demo makes its own repo and does not take --repo/],
      [['--speed', 'fast'], 2, /^orc: --speed must be a whole number/],
      [['--agents', '0'], 2, /^orc: --agents must be between 1 and 12/],
      [['--port', '70000'], 2, /^orc: --port must be between 0 and 65535/],
    ];
    for (const [args, code, msg] of cases) {
      const r = orc(cwd, ['demo', ...args]);
      expect([args, r.code]).toEqual([args, code]);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.readdirSync(full)).toEqual(['keep.txt']);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});
