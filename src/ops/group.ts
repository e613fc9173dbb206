import { crypto, fs, os, path } from '../node.js';
import { processAlive } from '../store/process.js';

/**
 * The host's queue of exclusive ops (group commit), in <commonDir>/orc/group/:
 *
 *   leader.lock      "<pid> <host> <token>": the process serving the queue now
 *   <id>.req         a waiting op {id, pid, at, op, actor, input, record}
 *   <id>.done        its outcome, written once (link, never overwritten)
 *   inflight.json    the batch being pushed: {base, tip, ids}, written before the push
 *   state.json       what the last leader learned: {tip, at, lastWin, pushMs, fetchMs, lostAt, missAt}
 *   published.json   requests published to other hosts (ops/hostreq.ts): {next, ids}
 *
 * No daemon: whichever waiting process takes the lock serves everyone's
 * requests until the queue is empty, then lets go. A leader killed at any
 * point leaves the lock to a dead pid; the next waiter takes it over and, from
 * inflight.json, learns whether the dead leader's push landed (its results
 * stand) or not (decided again). Ids sort by arrival: the queue is FIFO.
 */

export interface Request {
  id: string;
  pid: number;
  at: number;
  op: string;
  actor: string;
  input: unknown;
  record: unknown;
}

/** An op's outcome as written to its waiter (the same shape a host's answers ref holds). */
export type { Outcome } from '../store/hostreq.js';
import type { Outcome } from '../store/hostreq.js';

export interface Inflight {
  base: string | null;
  tip: string;
  ids: string[];
  outcomes: Record<string, Outcome>;
}

export interface HostState {
  /** The remote's tip as last seen by a fetch or a push, and when. */
  tip: string | null;
  at: number;
  lastWin: number;
  pushMs: number;
  /** A fetch's time (with what a sync does beside it), as a moving average; absent in state files of older orcs. */
  fetchMs?: number;
  /** When a push of this host was last refused (it is racing other hosts). */
  lostAt?: number;
  /** When a push on a guessed (unfetched) tip was last rejected. */
  missAt: number;
}

/** A lock this old is taken over whatever its pid says (a hung or reused pid); a live leader touches it every batch. */
const LOCK_MAX_AGE_MS = 5 * 60_000;

let seq = 0;


export class HostQueue {
  readonly dir: string;
  private readonly lockFile: string;
  private token: string | null = null;
  private made = false;

  constructor(commonDir: string) {
    this.dir = path.join(commonDir, 'orc', 'group');
    this.lockFile = path.join(this.dir, 'leader.lock');
  }

  private ensureDir(): void {
    if (this.made) return;
    fs.mkdirSync(this.dir, { recursive: true });
    this.made = true;
  }

  /** Writes `data` to `file` whole (tmp + rename): a reader never sees half of it. */
  private writeWhole(file: string, data: string): void {
    const tmp = `${file}.${process.pid}.${++seq}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  }

  private readJson<T>(file: string): T | null {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    } catch {
      return null;
    }
  }

  get leading(): boolean {
    return this.token !== null;
  }

  /** Who holds the lock: null if nobody (or a holder that is gone). */
  private holder(): { pid: number; token: string; mtime: number } | null {
    try {
      const mtime = fs.statSync(this.lockFile).mtimeMs;
      const m = /^(\d+) (\S+) (\S+)/.exec(fs.readFileSync(this.lockFile, 'utf8'));
      if (!m) return Date.now() - mtime < 10_000 ? { pid: 0, token: '', mtime } : null; // being written
      if (m[2] !== os.hostname()) return { pid: Number(m[1]), token: m[3]!, mtime }; // a shared disk: trust it
      if (Date.now() - mtime > LOCK_MAX_AGE_MS || !processAlive(Number(m[1]))) return null;
      return { pid: Number(m[1]), token: m[3]!, mtime };
    } catch {
      return null;
    }
  }

  /** Takes the leader lock if it is free or its holder is gone: true if this process now serves the queue. */
  tryLead(): boolean {
    if (this.token) return true;
    this.ensureDir();
    if (fs.existsSync(this.lockFile) && this.holder()) return false; // the common case while waiting: no write
    const token = crypto.randomBytes(6).toString('hex');
    const mine = `${process.pid} ${os.hostname()} ${token}\n`;
    for (let i = 0; i < 2; i++) {
      // Written aside, then linked into place: the lock appears whole, and only if absent.
      const tmp = `${this.lockFile}.${process.pid}.${++seq}.tmp`;
      fs.writeFileSync(tmp, mine);
      try {
        fs.linkSync(tmp, this.lockFile);
        this.token = token;
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      if (this.holder()) return false;
      // The holder is gone: move its lock aside (one mover wins), and check it is the dead one we judged.
      const aside = `${this.lockFile}.${process.pid}.${++seq}.dead`;
      try {
        fs.renameSync(this.lockFile, aside);
      } catch {
        continue;
      }
      const m = /^(\d+)/.exec(fs.readFileSync(aside, 'utf8'));
      if (m && Number(m[1]) !== process.pid && processAlive(Number(m[1])) && Date.now() - fs.statSync(aside).mtimeMs < LOCK_MAX_AGE_MS) {
        // A live leader took it in between: give it back (unless yet another took the place).
        try {
          fs.linkSync(aside, this.lockFile);
        } catch {
          /* taken */
        }
        fs.rmSync(aside, { force: true });
        return false;
      }
      fs.rmSync(aside, { force: true });
    }
    return false;
  }

  /** True while this process still holds the lock it took (checked before a push and before results are written). */
  stillLeading(): boolean {
    if (!this.token) return false;
    try {
      const ok = fs.readFileSync(this.lockFile, 'utf8').includes(` ${this.token}`);
      if (ok) {
        const now = new Date();
        fs.utimesSync(this.lockFile, now, now);
      }
      return ok;
    } catch {
      return false;
    }
  }

  release(): void {
    if (!this.token) return;
    if (this.stillLeading()) fs.rmSync(this.lockFile, { force: true });
    this.token = null;
  }

  /** Puts a request in the queue; returns its id. */
  submit(op: string, actor: string, input: unknown, record: unknown, at: number, given?: string): string {
    this.ensureDir();
    // An op already published among its host's requests keeps that id (ops/hostreq.ts), so it is never decided twice.
    const id = given ?? `${String(at).padStart(15, '0')}-${process.pid}-${++seq}`;
    const req: Request = { id, pid: process.pid, at, op, actor, input, record };
    this.writeWhole(path.join(this.dir, `${id}.req`), JSON.stringify(req));
    return id;
  }

  /** The waiting requests without an outcome, oldest first. Requests of processes that died before being served are dropped. */
  pending(skip: Set<string> = new Set()): Request[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const done = new Set(names.filter((n) => n.endsWith('.done')).map((n) => n.slice(0, -5)));
    const out: Request[] = [];
    for (const n of names.filter((x) => x.endsWith('.req')).sort()) {
      const id = n.slice(0, -4);
      if (done.has(id) || skip.has(id)) continue;
      const r = this.readJson<Request>(path.join(this.dir, n));
      if (!r) continue;
      if (!processAlive(r.pid)) {
        fs.rmSync(path.join(this.dir, n), { force: true });
        continue;
      }
      out.push(r);
    }
    return out;
  }

  /** Ids of every request file in the folder (served or not, its process alive or not). */
  reqIds(): Set<string> {
    try {
      return new Set(fs.readdirSync(this.dir).filter((n) => n.endsWith('.req')).map((n) => n.slice(0, -4)));
    } catch {
      return new Set();
    }
  }

  /** Writes a request's outcome once: a second writer (a leader that took over) never overwrites it. */
  deliver(id: string, outcome: Outcome): void {
    const file = path.join(this.dir, `${id}.done`);
    if (!fs.existsSync(path.join(this.dir, `${id}.req`))) return; // its waiter is gone or already has it
    const tmp = `${file}.${process.pid}.${++seq}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(outcome));
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** A request's outcome, if written; the request's files are then removed. */
  collect(id: string): Outcome | null {
    const file = path.join(this.dir, `${id}.done`);
    const o = this.readJson<Outcome>(file);
    if (!o) return null;
    fs.rmSync(path.join(this.dir, `${id}.req`), { force: true });
    fs.rmSync(file, { force: true });
    return o;
  }

  /** Drops a request this process no longer waits for (it is not served if no leader has started it). */
  withdraw(id: string): void {
    fs.rmSync(path.join(this.dir, `${id}.req`), { force: true });
  }

  readInflight(): Inflight | null {
    return this.readJson<Inflight>(path.join(this.dir, 'inflight.json'));
  }

  writeInflight(f: Inflight): void {
    this.writeWhole(path.join(this.dir, 'inflight.json'), JSON.stringify(f));
  }

  clearInflight(): void {
    fs.rmSync(path.join(this.dir, 'inflight.json'), { force: true });
  }

  readState(): HostState {
    return this.readJson<HostState>(path.join(this.dir, 'state.json')) ?? { tip: null, at: 0, lastWin: 0, pushMs: 50, fetchMs: 50, missAt: 0 };
  }

  writeState(s: HostState): void {
    this.ensureDir();
    this.writeWhole(path.join(this.dir, 'state.json'), JSON.stringify(s));
  }

  /** Resolves on the next change in the queue folder, or after `ms` (a bounded poll: a missed event costs at most that). */
  waitChange(ms: number): Promise<void> {
    this.ensureDir();
    return new Promise((resolve) => {
      let w: import('node:fs').FSWatcher | null = null;
      const done = () => {
        clearTimeout(t);
        w?.close();
        resolve();
      };
      const t = setTimeout(done, ms);
      try {
        w = fs.watch(this.dir, { persistent: false }, (_ev, name) => {
          if (name && (String(name).endsWith('.done') || String(name) === 'leader.lock')) done();
        });
        w.on('error', () => undefined);
      } catch {
        w = null;
      }
    });
  }
}
