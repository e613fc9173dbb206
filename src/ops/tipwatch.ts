/**
 * Watches a ref's tip (the state branch, or its remote-tracking ref): fs.watch on the folders where git moves
 * it (the ref's folder, the common git dir for packed-refs, the reflog's
 * folder), plus a slow poll, since fs.watch can miss a rename or be
 * unavailable (network file systems). When the tip moves, every new commit
 * is reported, oldest first, walking first parents back to the old tip.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordedOp } from '../model/record.js';
import type { GitStore } from '../store/gitstore.js';

export interface CommitMessage {
  commit: string;
  parents: string[];
  author: string;
  time: string;
  summary: string;
  op: unknown;
}

/** How many new commits one move reports at most (a fetch can bring thousands). */
const MAX_WALK = 200;

export function commitMessage(store: GitStore, oid: string): CommitMessage {
  const c = store.readCommit(oid);
  const op: unknown = recordedOp(c);
  return { commit: oid, parents: c.parents, author: c.author.name, time: new Date(c.author.time * 1000).toISOString(), summary: c.message.split('\n')[0] ?? '', op };
}

export class TipWatcher {
  private last: string | null;
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly poll: NodeJS.Timeout;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly store: GitStore,
    private readonly onCommits: (commits: CommitMessage[], tip: string | null) => void,
    pollMs = 1000,
  ) {
    this.last = store.tip();
    const common = store.paths.commonDir;
    const dirs = new Set([path.dirname(path.join(common, store.ref)), common, path.dirname(path.join(common, 'logs', store.ref))]);
    for (const d of dirs) {
      try {
        const w = fs.watch(d, { persistent: false }, () => this.schedule());
        w.on('error', () => {});
        this.watchers.push(w);
      } catch {
        /* not there yet (no reflog) or not watchable: the poll covers it */
      }
    }
    this.poll = setInterval(() => this.check(), pollMs);
    this.poll.unref();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.check();
    });
  }

  /** Reads the tip; if it moved, reports the commits since the last one seen. */
  check(): void {
    if (this.closed) return;
    let tip: string | null;
    try {
      tip = this.store.tip();
    } catch {
      return; // a ref being rewritten right now: the next event or poll reads it
    }
    if (tip === this.last) return;
    const old = this.last;
    this.last = tip;
    let list: CommitMessage[] = [];
    try {
      let oid = tip;
      while (oid && oid !== old && list.length < MAX_WALK) {
        const m = commitMessage(this.store, oid);
        list.push(m);
        oid = m.parents[0] ?? null;
      }
      // The branch was reset or rewritten (the old tip is not behind the new one): report the new tip only.
      if (oid === null && old !== null) list = list.slice(0, 1);
    } catch {
      /* an object not readable (yet): report what was read */
    }
    this.onCommits(list.reverse(), tip);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    for (const w of this.watchers) w.close();
  }
}
