/**
 * The simulated agents of `orc demo` and their planner: async loops in one
 * process, each with its own `Orc` opened on its own worktree, doing what a
 * real agent does through orc: heartbeat, claim the next task, lock what it
 * touches (waiting politely when another agent holds it), commit in its
 * worktree (the hooks link each commit to the task), note what it learned,
 * release, complete or fail. The planner files a new round once a round is done.
 */
import { fs, path } from '../node.js';
import { OrcError } from '../errors.js';
import type { Orc } from '../ops/orc.js';
import type { Task } from '../model/types.js';
import { edit, preferredWorkstreams, retryOf, roundTasks, testFile, type DemoAgent, type DemoTask } from './scenario.js';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Something worth a line in the terminal: `12:00:01  agent-ada  claimed  api/todo-model  Define …`. */
export interface Activity {
  at: Date;
  who: string;
  what: 'claimed' | 'waiting' | 'locked' | 'committed' | 'learned' | 'done' | 'failed' | 'filed' | 'planned' | 'stopped';
  task?: string;
  detail: string;
}

export interface ActorContext {
  signal: AbortSignal;
  /** Mean "work" time per task. */
  speedMs: number;
  /** Runs git in `cwd` with `env`; never throws for a failed git, only for one that could not start. */
  git(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<GitResult>;
  /** The environment of the agents' git commands: the demo identity, no user config, the orc shim first on PATH. */
  env: NodeJS.ProcessEnv;
  /** The scenario's view of each task filed so far, by `ws/id` (tasks added by hand are worked on generically). */
  plan: Map<string, DemoTask>;
  /** Per resource, the agents waiting for it, first come first: see SimAgent.lockAll. */
  queues: Map<string, string[]>;
  activity(a: Omit<Activity, 'at'>): void;
  warn(message: string): void;
  /** Throws (ENV) when the demo's repo is gone: no point trying again. */
  alive(): void;
  /** Counts done and failed tasks for the closing line. */
  tally: { done: number; failed: number; rounds: number };
}

/** Resolves after `ms`, or at once when `signal` aborts; true if the time ran out. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve(!signal.aborted);
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `ms` scaled by a random factor in [lo, hi): agents that never move in step look alive. */
const jitter = (ms: number, lo = 0.5, hi = 1.5) => ms * (lo + Math.random() * (hi - lo));

const key = (ws: string, id: string) => `${ws}/${id}`;

/** After this many failures in a row an agent gives up, and with it the demo: something is wrong with the repo. */
const MAX_FAILURES = 5;

export class SimAgent {
  private lastBeat = Date.now();
  private held: string[] = [];
  private warnedTrailer = false;

  constructor(
    readonly agent: DemoAgent,
    private readonly orc: Orc,
    readonly worktree: string,
    private readonly ctx: ActorContext,
  ) {}

  get id(): string {
    return this.agent.id;
  }

  /** How often a busy or waiting agent heartbeats: often enough to look alive, rarely enough not to flood the log. */
  private get beatEvery(): number {
    return Math.max(5000, this.ctx.speedMs * 2);
  }

  /** Until the signal aborts: claim, work, repeat. Rejects only when the agent keeps failing. */
  async run(): Promise<void> {
    const { signal } = this.ctx;
    let failures = 0;
    let current: Task | null = null;
    while (!signal.aborted) {
      try {
        await this.beat();
        current = await this.claimNext();
        if (!current) {
          await pause(jitter(Math.max(200, this.ctx.speedMs / 2)), signal);
          continue;
        }
        if (await this.work(current)) current = null;
        failures = 0;
        // A moment between tasks (reading the next brief): the others' turn at the locks just released.
        await pause(jitter(Math.max(100, this.ctx.speedMs / 5)), signal);
      } catch (e) {
        if (signal.aborted) break;
        this.ctx.alive();
        if (++failures >= MAX_FAILURES) {
          await this.releaseAll().catch(() => {});
          throw e;
        }
        this.ctx.warn(`${this.id}: ${(e as Error).message}; trying again`);
        await this.releaseAll().catch(() => {});
        if (current) {
          // Left in progress, its lease kept alive by our heartbeats, it would hold up the round for good.
          const t = current;
          current = null;
          const reason = `gave up: ${(e as Error).message}`;
          await this.orc.completeTask(t.workstream, t.id, reason, { agent: this.id, failed: true }).then(
            () => {
              this.ctx.tally.failed++;
              this.ctx.activity({ who: this.id, what: 'failed', task: key(t.workstream, t.id), detail: reason });
            },
            () => {},
          );
        }
        await pause(jitter(Math.max(500, this.ctx.speedMs)), signal);
      }
    }
    await this.stopped(current);
  }

  /** Heartbeats when one is due (registering counted as the first). */
  private async beat(): Promise<void> {
    if (Date.now() - this.lastBeat < this.beatEvery) return;
    await this.orc.heartbeat(this.id);
    this.lastBeat = Date.now();
  }

  /** Waits `ms` of "work", heartbeating along the way; false if stopped meanwhile. */
  private async busy(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return !this.ctx.signal.aborted;
      if (!(await pause(Math.min(left, this.beatEvery), this.ctx.signal))) return false;
      await this.beat();
    }
  }

  /** The best claimable task, its workstreams in this agent's order of preference (claiming it). */
  private async claimNext(): Promise<Task | null> {
    for (const ws of preferredWorkstreams(this.agent)) {
      const t = await this.orc.getNextTask(ws, this.id).catch((e: unknown) => {
        if (e instanceof OrcError && e.code === 'NOT_FOUND') return null; // a workstream removed by hand
        throw e;
      });
      if (t) return t;
    }
    return null;
  }

  /** Works on a claimed task to its end (true), or until stopped (false: the task stays in progress). */
  private async work(t: Task): Promise<boolean> {
    const ref = key(t.workstream, t.id);
    const spec = this.ctx.plan.get(ref) ?? generic(t);
    this.ctx.activity({ who: this.id, what: 'claimed', task: ref, detail: t.title });
    if (!(await this.lockAll(t, [...t.resources].sort()))) return false;
    const total = jitter(this.ctx.speedMs);
    const commits: string[] = [];

    if (!(await this.busy(total * 0.6))) return false;
    const file = fileFor(spec);
    this.append(file, edit(file, { ...spec, workstream: t.workstream, id: t.id, title: t.title }, this.id));
    commits.push(await this.commit(ref, [file], t.title, spec.description));
    if (spec.test) {
      if (!(await this.busy(total * 0.4))) return false;
      this.append(spec.test, testFile({ workstream: t.workstream, id: t.id, title: t.title }), true);
      commits.push(await this.commit(ref, [spec.test], `Test: ${t.title}`, `Covers ${ref}.`));
    }
    if (spec.learn) await this.learn(ref, spec.learn);
    await this.releaseAll();

    const where = `${commits.length} commit${commits.length === 1 ? '' : 's'} on ${this.id} (${commits.map((c) => c.slice(0, 7)).join(', ')})`;
    if (spec.fails) {
      await this.orc.completeTask(t.workstream, t.id, `${spec.fails}; ${where}`, { agent: this.id, failed: true });
      this.ctx.tally.failed++;
      this.ctx.activity({ who: this.id, what: 'failed', task: ref, detail: spec.fails });
      const retry = retryOf({ ...spec, workstream: t.workstream, id: t.id, title: t.title, priority: t.priority, resources: t.resources, kb: t.kb }, spec.fails);
      try {
        await this.orc.addTask(t.workstream, retry.title, retry.description, retry.priority, { id: retry.id, resources: retry.resources, kb: retry.kb });
        this.ctx.plan.set(key(t.workstream, retry.id), retry);
        this.ctx.activity({ who: this.id, what: 'filed', task: key(t.workstream, retry.id), detail: retry.title });
      } catch (e) {
        if (!(e instanceof OrcError && e.code === 'CONFLICT')) throw e; // filed already
      }
    } else {
      await this.orc.completeTask(t.workstream, t.id, `Done: ${where}`, { agent: this.id });
      this.ctx.tally.done++;
      this.ctx.activity({ who: this.id, what: 'done', task: ref, detail: t.title });
    }
    return true;
  }

  /**
   * Locks every resource, in sorted order so two agents never wait on each
   * other; false if stopped while waiting. orc's locks decide; on top of
   * them the agents are polite, as real ones reading each other's
   * `agent_waiting` events would be: whoever started waiting for a resource
   * first gets it next, so an agent that releases a lock and wants it back
   * at once does not starve the others.
   */
  private async lockAll(t: Task, resources: string[]): Promise<boolean> {
    const ttl = Math.max(10_000, this.ctx.speedMs * 8);
    const ref = key(t.workstream, t.id);
    for (const r of resources) {
      const queue = this.ctx.queues.get(r) ?? [];
      this.ctx.queues.set(r, queue);
      let waited = false;
      try {
        for (;;) {
          if (this.ctx.signal.aborted) return false;
          const next = queue[0];
          let holder: string | undefined;
          if (next === undefined || next === this.id) {
            try {
              await this.orc.acquireLock(r, this.id, ttl);
              this.held.push(r);
              if (waited) this.ctx.activity({ who: this.id, what: 'locked', task: ref, detail: `got ${r}` });
              break;
            } catch (e) {
              if (!(e instanceof OrcError && e.code === 'CONFLICT')) throw e;
              holder = typeof e.data.holder === 'string' ? e.data.holder : 'another agent';
            }
          }
          if (!waited) {
            waited = true;
            queue.push(this.id);
            holder ??= (await this.orc.listLocks()).find((l) => l.resource === r)?.agent ?? 'nobody';
            const after = next !== undefined && next !== this.id ? next : null;
            await this.orc.logEvent('agent_waiting', { workstream: t.workstream, task_id: t.id, resource: r, holder, ...(after ? { after } : {}) });
            this.ctx.activity({ who: this.id, what: 'waiting', task: ref, detail: `for ${r} (held by ${holder}${after ? `; ${after} is next` : ''})` });
          }
          if (!(await pause(jitter(Math.max(100, this.ctx.speedMs / 6)), this.ctx.signal))) return false;
          await this.beat();
        }
      } finally {
        const i = queue.indexOf(this.id);
        if (i >= 0) queue.splice(i, 1);
      }
    }
    return true;
  }

  private async releaseAll(): Promise<void> {
    while (this.held.length) {
      const r = this.held.pop()!;
      try {
        await this.orc.releaseLock(r, this.id);
      } catch (e) {
        // Expired and taken by another agent, or released already: nothing left to give back.
        if (!(e instanceof OrcError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND'))) throw e;
      }
    }
  }

  private append(file: string, text: string, replace = false): void {
    const p = path.join(this.worktree, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (replace) fs.writeFileSync(p, text);
    else fs.appendFileSync(p, text);
  }

  /** Commits `files` in the worktree as this agent; the hooks add `Orc-Task:` and log `code_committed`. Returns the commit. */
  private async commit(ref: string, files: string[], subject: string, body: string): Promise<string> {
    const env = {
      ...this.ctx.env,
      ORC_AGENT: this.id,
      GIT_AUTHOR_NAME: this.id,
      GIT_AUTHOR_EMAIL: `${this.id}@orc.invalid`,
      GIT_COMMITTER_NAME: this.id,
      GIT_COMMITTER_EMAIL: `${this.id}@orc.invalid`,
    };
    const add = await this.ctx.git(this.worktree, ['add', '--', ...files], env);
    if (add.code !== 0) throw new OrcError('ENV', `git add in ${this.worktree} failed: ${firstLine(add.stderr)}`);
    const c = await this.ctx.git(this.worktree, ['commit', '-q', '-m', subject, '-m', body], env);
    if (c.code !== 0) throw new OrcError('ENV', `git commit in ${this.worktree} failed: ${firstLine(c.stderr || c.stdout)}`);
    const log = await this.ctx.git(this.worktree, ['log', '-1', '--format=%H%n%B'], env);
    const [sha = '', ...message] = log.stdout.split('\n');
    const trailer = /^Orc-Task:\s*(\S+)\s*$/m.exec(message.join('\n'))?.[1];
    if (!trailer && !this.warnedTrailer) {
      this.warnedTrailer = true;
      this.ctx.warn(`${this.id}'s commit ${sha.slice(0, 7)} has no Orc-Task trailer: the hooks could not run orc (set ORC_DEBUG=1 to see why)`);
    }
    this.ctx.activity({ who: this.id, what: 'committed', task: ref, detail: `${sha.slice(0, 7)} ${subject}${trailer ? '' : ' (no Orc-Task trailer)'}` });
    return sha;
  }

  /** Appends a line to a knowledge topic, as an agent would leave a note for the others. */
  private async learn(ref: string, l: { topic: string; text: string }): Promise<void> {
    const old = (await this.orc.readKnowledge(l.topic)) ?? `# ${l.topic}\n`;
    await this.orc.writeKnowledge(l.topic, `${old.replace(/\n*$/, '\n')}- ${l.text} (${this.id}, ${ref})\n`);
    this.ctx.activity({ who: this.id, what: 'learned', task: ref, detail: `noted in ${l.topic}` });
  }

  /** On stop: give back the locks (the task stays in progress, as with an agent that was interrupted), and say so. */
  private async stopped(current: Task | null): Promise<void> {
    await this.releaseAll();
    await this.orc.logEvent('agent_stopped', current ? { workstream: current.workstream, task_id: current.id, reason: 'demo stopped' } : { reason: 'demo stopped' });
  }
}

/** The file an agent edits for a task: its first resource when that is a path, else a note of its own. */
function fileFor(spec: DemoTask): string {
  const r = spec.resources.find((x) => /[./]/.test(x) && !/[*?[\]{}]/.test(x));
  return r ?? `notes/${spec.workstream}-${spec.id}.md`;
}

/** A task someone added by hand (dashboard, API, CLI): worked on like any other, with a note as its change. */
function generic(t: Task): DemoTask {
  return { workstream: t.workstream, id: t.id, title: t.title, description: t.description || t.title, priority: t.priority, after: t.after, resources: t.resources, kb: t.kb };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

/**
 * Files a round's tasks: ids in the order given (every `after` names an
 * earlier one), each remembered in `plan` so the agents know what to do.
 */
export async function fileRound(orc: Orc, round: number, plan: Map<string, DemoTask>): Promise<{ name: string; tasks: DemoTask[] }> {
  const r = roundTasks(round);
  for (const t of r.tasks) {
    plan.set(key(t.workstream, t.id), t);
    try {
      await orc.addTask(t.workstream, t.title, t.description, t.priority, { id: t.id, resources: t.resources, after: t.after, kb: t.kb });
    } catch (e) {
      if (!(e instanceof OrcError && e.code === 'CONFLICT')) throw e; // there already (a planner that raced itself)
    }
  }
  return r;
}

/** Files round 2, 3, … whenever a round is over, so the demo goes on until stopped. */
export async function runPlanner(orc: Orc, ctx: ActorContext, firstRound: number): Promise<void> {
  let round = firstRound;
  let failures = 0;
  while (await pause(jitter(Math.max(300, ctx.speedMs / 2)), ctx.signal)) {
    try {
      // Done when nothing is in progress and nothing can start: pending tasks that wait on a failed one never will.
      const s = await orc.status();
      if (s.summary.tasks.in_progress > 0 || (s.summary.tasks.pending > 0 && (await orc.readyTasks()).length > 0)) continue;
      round++;
      const r = await fileRound(orc, round, ctx.plan);
      ctx.tally.rounds = round;
      await orc.logEvent('round_planned', { round, epic: r.name, tasks: r.tasks.map((t) => key(t.workstream, t.id)) });
      ctx.activity({ who: orc.agent ?? 'planner', what: 'planned', detail: `round ${round} (${r.name}): ${r.tasks.length} tasks` });
      failures = 0;
    } catch (e) {
      if (ctx.signal.aborted) break;
      ctx.alive();
      if (++failures >= MAX_FAILURES) throw e;
      ctx.warn(`planner: ${(e as Error).message}; trying again`);
    }
  }
}
