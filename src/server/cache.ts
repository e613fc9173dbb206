/**
 * Reads cached by the branch tip. A request reads the ref (one small file),
 * and when the tip has not moved, gets the JSON computed before: no git
 * object is read. Entries that depend on the clock (lock expiry, stale
 * agents) also carry the time they stop being true.
 */
import type { GitStore } from '../store/gitstore.js';
import { listPresenceRefs } from '../store/presence.js';

export interface Cached {
  /** The response body, serialized once. */
  body: string;
  type: 'json' | 'text';
  /** Epoch ms after which the entry must be computed again (Infinity: only a new tip invalidates it). */
  until: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Git objects read by this process since start (the store's object reads, counted by the server). */
  object_reads: number;
}

export class ReadCache {
  private tip: string | null | undefined = undefined;
  /** The agents' presence refs, as one string: a heartbeat (no new tip) must refresh heartbeat ages, leases and locks too. */
  private presence = '';
  private readonly entries = new Map<string, Cached>();
  readonly stats: CacheStats = { hits: 0, misses: 0, object_reads: 0 };

  constructor(
    private readonly store: GitStore,
    /** Told when a request finds the tip moved (the watcher then reports the new commits at once). */
    private readonly onMoved: (tip: string | null) => void = () => {},
  ) {
    // Count object reads, to show (and test) that a cached read does none.
    const objects = store.objects as unknown as { read: (...a: unknown[]) => unknown };
    const read = objects.read.bind(objects);
    objects.read = (...a: unknown[]) => {
      this.stats.object_reads++;
      return read(...a);
    };
  }

  /** The branch tip now; clears every entry when it moved. */
  current(): string | null {
    const t = this.store.tip();
    const p = [...listPresenceRefs(this.store.paths.commonDir)].join(',');
    if (p !== this.presence) {
      this.presence = p;
      if (t === this.tip) this.entries.clear();
    }
    if (t !== this.tip) {
      const first = this.tip === undefined;
      this.tip = t;
      this.entries.clear();
      if (!first) this.onMoved(t);
    }
    return t;
  }

  /** Drops every entry (the watcher saw the tip move). */
  invalidate(): void {
    this.current();
  }

  /**
   * The entry for `key` at the current tip, computed if missing or expired.
   * A tip that moves while computing makes it compute again (a result read
   * half from one commit and half from another is never cached).
   */
  async get(key: string, compute: () => Promise<Omit<Cached, 'until'> & { until?: number }>): Promise<Cached> {
    let tip = this.current();
    const hit = this.entries.get(key);
    if (hit && Date.now() < hit.until) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    for (let i = 0; ; i++) {
      const r = await compute();
      const entry: Cached = { body: r.body, type: r.type, until: r.until ?? Infinity };
      const after = this.current();
      if (after === tip) {
        this.entries.set(key, entry);
        return entry;
      }
      // The branch moved while reading: read again at the new tip; past a few tries, answer without caching.
      if (i >= 3) return entry;
      tip = after;
    }
  }
}
