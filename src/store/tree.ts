import type { ObjectStore } from './objects.js';
import { OrcError } from '../errors.js';

export interface TreeEntry {
  mode: string; // '100644', '100755', '40000', '120000', '160000'
  name: string;
  oid: string;
}

export const isTreeMode = (mode: string): boolean => mode === '40000';

/** Parses a git tree object's content. */
export function parseTree(content: Buffer, oid = '?'): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let i = 0;
  while (i < content.length) {
    const sp = content.indexOf(0x20, i);
    const nul = content.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > content.length) {
      throw new OrcError('CORRUPT', `git tree ${oid} is malformed; run \`git fsck\``, { oid });
    }
    const mode = content.toString('latin1', i, sp);
    const name = content.toString('utf8', sp + 1, nul);
    // The id is 20 raw bytes, hex by construction; the mode and name are checked as git's fsck does.
    if (!/^[0-7]{5,6}$/.test(mode) || name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw new OrcError('CORRUPT', `git tree ${oid} has a malformed entry ${JSON.stringify(name.slice(0, 80))} (mode ${JSON.stringify(mode.slice(0, 10))}); run \`git fsck\``, { oid });
    }
    entries.push({ mode, name, oid: content.toString('hex', nul + 1, nul + 21) });
    i = nul + 21;
  }
  return entries;
}

// Git orders tree entries by name bytes, comparing a folder as if its name ended in '/'.
function sortKey(e: TreeEntry): Buffer {
  return Buffer.from(isTreeMode(e.mode) ? `${e.name}/` : e.name, 'utf8');
}

/** Serializes entries into a git tree object's content, in git's order. */
/** The entry at `p` ('a/b/c') under the tree `root`, or null; trees are read through `readTree`. */
export function entryAt(root: string | null, p: string, readTree: (oid: string) => TreeEntry[]): TreeEntry | null {
  if (!root) return null;
  let entries = readTree(root);
  const parts = p.split('/');
  for (let i = 0; i < parts.length; i++) {
    const e = entries.find((x) => x.name === parts[i]);
    if (!e) return null;
    if (i === parts.length - 1) return e;
    if (!isTreeMode(e.mode)) return null;
    entries = readTree(e.oid);
  }
  return null;
}

export function serializeTree(entries: TreeEntry[]): Buffer {
  const sorted = entries.map((e) => ({ e, k: sortKey(e) })).sort((a, b) => Buffer.compare(a.k, b.k));
  const parts: Buffer[] = [];
  for (const { e } of sorted) {
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

/** A change to one file path: new content, or null to delete it. */
export type FileChanges = Map<string, Buffer | null>;

/**
 * Writes the tree that is `root` with `changes` applied and returns its id
 * (null when it ends up empty). Only the trees along changed paths are read
 * and written, so the cost follows the depth of the change, not the size of
 * the state. Folders left empty disappear, as in git.
 */
export function applyChanges(store: ObjectStore, root: string | null, changes: FileChanges, readTree: (oid: string) => TreeEntry[]): string | null {
  const grouped = new Map<string, FileChanges>();
  const direct = new Map<string, Buffer | null>();
  for (const [p, content] of changes) {
    const slash = p.indexOf('/');
    if (slash < 0) {
      direct.set(p, content);
    } else {
      const head = p.slice(0, slash);
      let sub = grouped.get(head);
      if (!sub) grouped.set(head, (sub = new Map()));
      sub.set(p.slice(slash + 1), content);
    }
  }
  const entries = new Map<string, TreeEntry>();
  if (root) for (const e of readTree(root)) entries.set(e.name, e);
  for (const [name, content] of direct) {
    if (content === null) entries.delete(name);
    else entries.set(name, { mode: '100644', name, oid: store.write('blob', content) });
  }
  for (const [name, sub] of grouped) {
    const existing = entries.get(name);
    const base = existing && isTreeMode(existing.mode) ? existing.oid : null;
    const oid = applyChanges(store, base, sub, readTree);
    if (oid) entries.set(name, { mode: '40000', name, oid });
    else entries.delete(name);
  }
  if (entries.size === 0) return null;
  return store.write('tree', serializeTree([...entries.values()]));
}
