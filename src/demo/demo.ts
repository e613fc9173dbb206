/**
 * `orc demo`: a throwaway repo where simulated agents work through
 * workstreams in their own worktrees, served live by `orc serve`'s server in
 * this process. startDemo sets it all up and returns once the agents run;
 * stop() ends them, closes the server and removes the repo unless asked to
 * keep it. Signals and printing are the caller's (src/cli/demo-commands.ts).
 *
 * It never reads or writes the repo it was started from: every path is the
 * demo's own, and every git and orc call gets an environment without the
 * user's git config, GIT_* or ORC_* variables.
 */
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { childProcess, fs, os, path } from '../node.js';
import { OrcError } from '../errors.js';
import { open } from '../ops/orc.js';
import { CLIENT_HOOKS, install } from '../hooks/install.js';
import { startServer, type RunningServer } from '../server/serve.js';
import { fileRound, runPlanner, SimAgent, type Activity, type ActorContext, type GitResult } from './actors.js';
import { INITIAL_FILES, KNOWLEDGE, WORKSTREAMS, demoAgents, type DemoTask } from './scenario.js';

export type { Activity } from './actors.js';
export { MAX_AGENTS } from './scenario.js';

export interface DemoOptions {
  /** 0 picks a free port. */
  port: number;
  /** When `port` is busy, take any free one instead of failing (for a default port the user did not ask for). */
  anyPortIfBusy?: boolean;
  host?: string;
  token?: string | null;
  /** Build the demo here (a new or empty folder) and keep it; default: a temp folder, removed on stop. */
  dir?: string;
  /** Keep the temp folder on stop. */
  keep?: boolean;
  /** Mean "work" time per task, ms. */
  speedMs: number;
  agents: number;
  /** The orc executable the hooks run (default: this package's bin). */
  bin?: string;
  onActivity?: (a: Activity) => void;
  onWarning?: (message: string) => void;
  /** Aborting it during set-up undoes what was made and rejects with an AbortError (see isAbort). */
  signal?: AbortSignal;
}

export interface Demo {
  /** The dashboard, `http://host:port/`. */
  url: string;
  /** The REST API, `http://host:port/api`. */
  api: string;
  port: number;
  dir: string;
  branch: string;
  agents: string[];
  worktrees: string[];
  /** Rejects if the demo cannot go on (an agent kept failing); it stays pending otherwise. */
  failed: Promise<never>;
  /** Stops the agents (in-flight ops finish, up to `graceMs`), closes the server, removes the repo unless kept. Idempotent. */
  stop(graceMs?: number): Promise<StopReport>;
}

export interface StopReport {
  dir: string;
  /** The folder is gone. */
  removed: boolean;
  /** Why it was kept. */
  kept: 'keep' | 'dir' | null;
  /** Set when removing it failed. */
  removeError: string | null;
  done: number;
  failed: number;
  rounds: number;
  /** Agents that had not finished when the grace time ran out. */
  unfinished: number;
}

const DEMO_NAME = 'orc demo';
const DEMO_EMAIL = 'demo@orc.invalid';

/**
 * The environment of the demo's git and orc calls: the user's, minus any git
 * or orc settings (GIT_DIR would point orc at the user's repo, a global
 * hooksPath would bypass the demo's hooks, commit signing would prompt), plus
 * a fixed identity.
 */
export function demoEnv(base: NodeJS.ProcessEnv, shimDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('GIT_') && !(k.startsWith('ORC_') && k !== 'ORC_DEBUG')) env[k] = v;
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: os.devNull,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: DEMO_NAME,
    GIT_AUTHOR_EMAIL: DEMO_EMAIL,
    GIT_COMMITTER_NAME: DEMO_NAME,
    GIT_COMMITTER_EMAIL: DEMO_EMAIL,
  });
  if (shimDir) {
    const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
    env[key] = env[key] ? `${shimDir}${path.delimiter}${env[key]}` : shimDir;
  }
  return env;
}

/** This package's bin: dist/cli/bin.cjs, two levels up from both dist/bin/<chunk>.cjs and dist/demo/demo.js. */
export function packageBin(): string {
  return fileURLToPath(new URL('../cli/bin.cjs', import.meta.url));
}

/** Child processes (git, and through its hooks orc) in their own process group, so a terminal's Ctrl-C reaches only us; we wait for them. */
class Processes {
  private readonly live = new Set<ChildProcess>();

  run(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const p = childProcess().spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
      this.live.add(p);
      let stdout = '';
      let stderr = '';
      p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      p.on('error', (e: NodeJS.ErrnoException) => {
        this.live.delete(p);
        if (e.code !== 'ENOENT') reject(e);
        else if (!fs.existsSync(cwd)) reject(new OrcError('ENV', `${cwd} is gone`, { path: cwd }));
        else reject(new OrcError('ENV', 'git is not installed or not on PATH; orc demo needs git'));
      });
      p.on('close', (code) => {
        this.live.delete(p);
        resolve({ code: code ?? 128, stdout, stderr });
      });
    });
  }

  /** Ends what is still running (with its hooks) once the grace time is over. */
  killAll(): void {
    for (const p of this.live) {
      try {
        if (p.pid && process.platform !== 'win32') process.kill(-p.pid, 'SIGKILL');
        else p.kill('SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
}

interface Place {
  dir: string;
  /** What to do with it on stop (and on a failed start). */
  removeOnStop: boolean;
  kept: 'keep' | 'dir' | null;
  /** The folder existed (empty) before: on a failed start empty it rather than remove it. */
  existed: boolean;
}

function place(opts: DemoOptions): Place {
  if (opts.dir === undefined) {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orc-demo-')));
    return { dir, removeOnStop: !opts.keep, kept: opts.keep ? 'keep' : null, existed: false };
  }
  const dir = path.resolve(opts.dir);
  let st: import('node:fs').Stats | null = null;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (st && !st.isDirectory()) throw new OrcError('CONFLICT', `--dir ${dir} is a file; give a new or empty folder`, { path: dir });
  if (st && fs.readdirSync(dir).length) {
    throw new OrcError('CONFLICT', `--dir ${dir} is not empty; give a new or empty folder (or leave out --dir for a temporary one)`, { path: dir });
  }
  if (!st) fs.mkdirSync(dir, { recursive: true });
  return { dir: fs.realpathSync(dir), removeOnStop: false, kept: 'dir', existed: st !== null };
}

/** Undoes a start that failed half-way: the folder as it was (gone, or empty again). */
function unmake(p: Place): void {
  try {
    if (p.existed) for (const e of fs.readdirSync(p.dir)) fs.rmSync(path.join(p.dir, e), { recursive: true, force: true });
    else fs.rmSync(p.dir, { recursive: true, force: true });
  } catch {
    /* best effort: the error that got us here is the one to report */
  }
}

/** The rejection of a start cancelled through `signal`. */
export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

function cancelled(): Error {
  return Object.assign(new Error('orc demo was stopped while it was being set up'), { name: 'AbortError' });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Sets up the repo, the server and the agents, and starts them; throws OrcError (and leaves nothing behind) if it cannot. */
export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const bin = opts.bin ?? packageBin();
  if (!fs.existsSync(bin)) throw new OrcError('ENV', `orc's bin is missing at ${bin}, which the demo's git hooks run; rebuild orc (npm run build)`, { path: bin });
  if (!Number.isInteger(opts.agents) || opts.agents < 1) throw new OrcError('INVALID', `--agents must be at least 1, got ${opts.agents}`);

  const where = place(opts);
  const { dir } = where;
  const procs = new Processes();
  const shimDir = path.join(dir, '.git', 'orc-demo', 'bin');
  const env = demoEnv(process.env, shimDir);
  const warn = opts.onWarning ?? (() => {});
  let server: RunningServer | null = null;
  const git = async (cwd: string, ...args: string[]) => {
    if (opts.signal?.aborted) throw cancelled();
    const r = await procs.run(cwd, args, env);
    if (r.code !== 0) throw new OrcError('ENV', `git ${args[0]} failed in ${cwd}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    return r.stdout.trim();
  };

  try {
    // The code repo: main, with a small service to work on. The worktrees live inside it, excluded from status.
    await git(dir, 'init', '-q');
    await git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    await git(dir, 'config', 'extensions.worktreeConfig', 'true');
    // Said here too, for a git older than GIT_CONFIG_GLOBAL (2.32) that still reads the user's config.
    await git(dir, 'config', 'core.hooksPath', path.join(dir, '.git', 'hooks'));
    await git(dir, 'config', 'commit.gpgSign', 'false');
    for (const [file, text] of Object.entries(INITIAL_FILES)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    fs.appendFileSync(path.join(dir, '.git', 'info', 'exclude'), '/worktrees/\n');
    await git(dir, 'add', '--', ...Object.keys(INITIAL_FILES));
    await git(dir, 'commit', '-q', '-m', 'tinytodo: a server that answers 404');

    // The server first, so a busy port fails before anything else is made.
    const observer = await open({ repo: dir, env, onWarning: warn });
    try {
      server = await startServer(observer, { host: opts.host, port: opts.port, token: opts.token ?? null });
    } catch (e) {
      if (!(opts.anyPortIfBusy && e instanceof OrcError && e.code === 'ENV' && opts.port !== 0)) throw e;
      server = await startServer(observer, { host: opts.host, port: 0, token: opts.token ?? null });
      warn(`port ${opts.port} is in use; serving on ${server.port} instead`);
    }

    // The state: workstreams, the first round of tasks, a little knowledge.
    const planner = await open({ repo: dir, agent: 'planner', env, onWarning: warn });
    await planner.init();
    for (const w of WORKSTREAMS) await planner.createWorkstream(w.name, w.description, w.priority);
    const plan = new Map<string, DemoTask>();
    await fileRound(planner, 1, plan);
    for (const [topic, text] of Object.entries(KNOWLEDGE)) await planner.writeKnowledge(topic, text);

    // The hooks, run by every worktree's commits, call `orc`: this package's, through a shim first on PATH.
    install({ dir: path.join(dir, '.git', 'hooks'), bare: false, hooks: CLIENT_HOOKS });
    fs.mkdirSync(shimDir, { recursive: true });
    fs.writeFileSync(path.join(shimDir, 'orc'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(bin)} "$@"\n`, { mode: 0o755 });

    const ac = new AbortController();
    const tally = { done: 0, failed: 0, rounds: 1 };
    const ctx: ActorContext = {
      signal: ac.signal,
      speedMs: opts.speedMs,
      git: (cwd, args, e) => procs.run(cwd, args, e),
      env,
      plan,
      queues: new Map(),
      activity: (a) => opts.onActivity?.({ at: new Date(), ...a }),
      warn,
      alive: () => {
        if (!fs.existsSync(path.join(dir, '.git', 'HEAD'))) throw new OrcError('ENV', `the demo's repo ${dir} was removed while the demo ran; start it again`, { path: dir });
      },
      tally,
    };
    // One worktree and branch per agent, which names its agent (orc commands run there act as it).
    const agents: SimAgent[] = [];
    for (const a of demoAgents(opts.agents)) {
      const wt = path.join(dir, 'worktrees', a.id);
      await git(dir, 'worktree', 'add', '-q', '-b', a.id, wt, 'main');
      await git(wt, 'config', '--worktree', 'orc.agent', a.id);
      const orc = await open({ repo: wt, agent: a.id, env, onWarning: warn });
      await orc.registerAgent(a.id, a.type, a.capabilities);
      agents.push(new SimAgent(a, orc, wt, ctx));
    }

    if (opts.signal?.aborted) throw cancelled();
    const loops = [...agents.map((a) => a.run()), runPlanner(planner, ctx, 1)];
    const ended = loops.map(() => false);
    loops.forEach((l, i) => void l.then(() => (ended[i] = true), () => (ended[i] = true)));
    const failed = new Promise<never>((_resolve, reject) => {
      for (const l of loops) l.catch((e: unknown) => reject(e));
    });
    failed.catch(() => {}); // the caller may never look: stop() is the normal end
    const running = server;
    let stopping: Promise<StopReport> | null = null;

    const stop = (graceMs = 5000): Promise<StopReport> =>
      (stopping ??= (async () => {
        ac.abort();
        const all = Promise.allSettled(loops);
        if (!(await within(all, graceMs))) {
          procs.killAll(); // a git commit that hangs: its hooks' ops are all-or-nothing, so the state stays whole
          await within(all, 1000);
        }
        const unfinished = ended.filter((x) => !x).length;
        await within(running.close(), 2000);
        return { ...finish(where), done: tally.done, failed: tally.failed, rounds: tally.rounds, unfinished };
      })());

    return {
      url: `${running.url}/`,
      api: `${running.url}/api`,
      port: running.port,
      dir,
      branch: observer.branch,
      agents: agents.map((a) => a.id),
      worktrees: agents.map((a) => a.worktree),
      failed,
      stop,
    };
  } catch (e) {
    procs.killAll();
    if (server) await within(server.close(), 2000);
    unmake(where);
    throw e;
  }
}

/** Removes the demo folder unless it is to be kept. */
function finish(p: Place): Pick<StopReport, 'dir' | 'removed' | 'kept' | 'removeError'> {
  if (!p.removeOnStop) return { dir: p.dir, removed: false, kept: p.kept, removeError: null };
  try {
    fs.rmSync(p.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    return { dir: p.dir, removed: true, kept: null, removeError: null };
  } catch (e) {
    return { dir: p.dir, removed: false, kept: null, removeError: (e as Error).message };
  }
}

/** Waits for `p` at most `ms`; true if it settled in time. The timer does not keep the process alive. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    t.unref();
    void p.then(
      () => (clearTimeout(t), resolve(true)),
      () => (clearTimeout(t), resolve(true)),
    );
  });
}
