/**
 * Presence across hosts (store/presence.ts): fetched along with the state
 * branch by every sync (so exclusive ops judge leases with the remote's
 * heartbeats), and pushed when this host holds a later one than the remote.
 * Each ref is written by one agent only, so a push is a forced update with a
 * lease on the remote's last seen value; the remote's hook refuses one that
 * goes back in time.
 */
import type { GitStore } from '../store/gitstore.js';
import { pushOwnRefs } from '../store/gitcli.js';
import { adoptFetchedPresence, newerPresence, type Presence } from '../store/presence.js';

export interface RemotePresence {
  /** What the remote held at the last fetch, or null before one. */
  seen: Map<string, Presence> | null;
}

/** Runs `fetch` (a fetch of the branch that also brings presence into a folder of its own), adopting the later presence locally. */
export async function fetchPresence<T>(store: GitStore, state: RemotePresence, fetch: (presence: (prefix: string) => void) => Promise<T>): Promise<T> {
  return fetch((prefix) => {
    state.seen = adoptFetchedPresence(store.paths.commonDir, store.objects, prefix, store.shared);
  });
}

/** Pushes this host's presence refs that are later than the remote's; nothing (no git process) when none is. */
export async function publishPresence(store: GitStore, remote: string, state: RemotePresence): Promise<void> {
  if (!state.seen) return;
  const updates = newerPresence(store.paths.commonDir, store.objects, state.seen);
  if (!updates.length) return;
  const took = new Set(await pushOwnRefs(store.paths, remote, updates));
  for (const u of updates) if (took.has(u.ref)) state.seen.set(u.presence.agent, u.presence);
}
