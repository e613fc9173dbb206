/**
 * `orc watch`: the events each new commit on the state branch appended, as
 * they land. A commit's events are the lines its event segments gained over
 * its first parent's (segments are append-only), found by walking only the
 * subtrees of events/ whose ids differ.
 */
import type { OrcEvent } from '../model/types.js';
import type { GitStore } from '../store/gitstore.js';
import { isTreeMode, type TreeEntry } from '../store/tree.js';
import type { CommitMessage } from './tipwatch.js';
import { termSafe } from './status-text.js';

export interface WatchItem extends OrcEvent {
  commit: string;
}

function entry(store: GitStore, tree: string | null, name: string): TreeEntry | undefined {
  return tree ? store.readTree(tree).find((e) => e.name === name) : undefined;
}

function blobText(store: GitStore, oid: string | undefined): string {
  return oid ? store.objects.read(oid, 'blob').content.toString('utf8') : '';
}

/** The events one commit added, oldest first; a commit that logged none (made by hand) gives one item from its message. */
export function commitEvents(store: GitStore, m: CommitMessage): WatchItem[] {
  const out: WatchItem[] = [];
  try {
    const tree = store.readCommit(m.commit).tree;
    const parentTree = m.parents[0] ? store.readCommit(m.parents[0]).tree : null;
    const walk = (a: TreeEntry | undefined, b: TreeEntry | undefined) => {
      if (!b || a?.oid === b.oid) return;
      if (isTreeMode(b.mode)) {
        const olds = new Map((a && isTreeMode(a.mode) ? store.readTree(a.oid) : []).map((e) => [e.name, e] as const));
        for (const e of store.readTree(b.oid)) walk(olds.get(e.name), e);
        return;
      }
      if (!b.name.endsWith('.jsonl')) return;
      const before = a && !isTreeMode(a.mode) ? blobText(store, a.oid) : '';
      const now = blobText(store, b.oid);
      const added = now.startsWith(before) ? now.slice(before.length) : now;
      for (const line of added.split('\n')) {
        if (!line.trim()) continue;
        try {
          out.push({ ...(JSON.parse(line) as OrcEvent), commit: m.commit });
        } catch {
          /* a damaged line: skipped here, `orc events` reports it */
        }
      }
    };
    walk(entry(store, parentTree, 'events'), entry(store, tree, 'events'));
  } catch {
    /* objects not readable yet: fall back to the message */
  }
  if (!out.length) out.push({ ts: m.time, agent: m.author, action: opName(m) ?? 'commit', summary: m.summary, commit: m.commit });
  return out.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
}

function opName(m: CommitMessage): string | null {
  const op = m.op as { op?: unknown } | null;
  return op && typeof op.op === 'string' ? op.op : null;
}

export function matches(e: WatchItem, filter: { action?: string; workstream?: string }): boolean {
  if (filter.action && e.action !== filter.action) return false;
  if (filter.workstream && e.workstream !== filter.workstream) return false;
  return true;
}

const SKIP = new Set(['ts', 'agent', 'action', 'commit']);

/** One human line: time, agent, action, then the other fields as key=value. */
export function watchLine(e: WatchItem): string {
  const rest = Object.entries(e)
    .filter(([k, v]) => !SKIP.has(k) && v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  // Escaped as every human line of orc is (status-text.ts): controls, bidi overrides, zero-width marks.
  return termSafe(`${e.ts} ${e.agent} ${e.action}${rest ? ` ${rest}` : ''}`);
}
