/** The tip watcher lives in ops (waiters and `orc watch` use it too); the server's modules import it from here. */
export { TipWatcher, commitMessage, type CommitMessage } from '../ops/tipwatch.js';

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GitStore } from '../store/gitstore.js';
import { PRESENCE_PREFIX, listPresenceRefs, readPresenceObject } from '../store/presence.js';

/**
 * Watches the agents' presence refs (heartbeats, which move no tip): fs.watch
 * on their folder plus a poll; tells each agent whose presence changed.
 */
export class PresenceWatcher {
  private last: Map<string, string>;
  private watcher: fs.FSWatcher | null = null;
  private readonly poll: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: GitStore,
    private readonly onChange: (agent: string, at: string) => void,
    pollMs = 1000,
  ) {
    this.last = listPresenceRefs(store.paths.commonDir);
    this.poll = setInterval(() => this.check(), pollMs);
    this.poll.unref();
    this.watch();
  }

  private watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = fs.watch(path.join(this.store.paths.commonDir, PRESENCE_PREFIX), { persistent: false }, () => setImmediate(() => this.check()));
      this.watcher.on('error', () => {});
    } catch {
      /* no presence yet: the poll covers it, and watches once the folder exists */
    }
  }

  check(): void {
    if (this.closed) return;
    const now = listPresenceRefs(this.store.paths.commonDir);
    for (const [agent, oid] of now) {
      if (this.last.get(agent) === oid) continue;
      const p = readPresenceObject(this.store.objects, agent, oid);
      if (p) this.onChange(agent, p.at);
    }
    this.last = now;
    this.watch();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    this.watcher?.close();
  }
}
