/** The audit log, paged, and one op's changes: its commit's tree against its first parent's. */
import { invalid, notFound } from '../errors.js';
import type { GitStore } from '../store/gitstore.js';
import { isTreeMode, type TreeEntry } from '../store/tree.js';
import { commitMessage, type CommitMessage } from './watch.js';

export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted';
  old: string | null;
  new: string | null;
}

const OID = /^[0-9a-f]{40}$/;
/** File content past this many bytes is cut (the full blob is in git). */
const MAX_CONTENT = 256 * 1024;

export function checkOid(v: string, what: string): string {
  if (!OID.test(v)) throw invalid(`${what} ${JSON.stringify(v.slice(0, 60))} is not a commit id; give the 40-hex id from /api/log`);
  return v;
}

/** Commits newest first, following first parents, from `before`'s parent (or the tip). */
export function logPage(store: GitStore, last: number, before?: string): CommitMessage[] {
  let oid: string | null = store.tip();
  if (before) oid = readOrNotFound(store, checkOid(before, 'before')).parents[0] ?? null;
  const out: CommitMessage[] = [];
  while (oid && out.length < last) {
    const m = commitMessage(store, oid);
    out.push(m);
    oid = m.parents[0] ?? null;
  }
  return out;
}

function readOrNotFound(store: GitStore, oid: string) {
  try {
    return store.readCommit(oid);
  } catch {
    throw notFound(`no commit ${oid} in this repository`);
  }
}

function text(store: GitStore, oid: string | null): string | null {
  if (!oid) return null;
  const b = store.objects.read(oid, 'blob').content;
  return b.length > MAX_CONTENT ? `${b.subarray(0, MAX_CONTENT).toString('utf8')}\n… (${b.length} bytes, cut)` : b.toString('utf8');
}

/** Every file the commit changed, walking only the subtrees whose ids differ. */
export function changes(store: GitStore, commit: string): CommitMessage & { files: FileChange[] } {
  const c = readOrNotFound(store, checkOid(commit, 'commit'));
  const parent = c.parents[0] ? store.readCommit(c.parents[0]).tree : null;
  const files: FileChange[] = [];
  const walk = (a: string | null, b: string | null, prefix: string) => {
    if (a === b) return;
    const ea = new Map((a ? store.readTree(a) : []).map((e) => [e.name, e] as [string, TreeEntry]));
    const eb = new Map((b ? store.readTree(b) : []).map((e) => [e.name, e] as [string, TreeEntry]));
    const names = [...new Set([...ea.keys(), ...eb.keys()])].sort();
    for (const n of names) {
      const x = ea.get(n);
      const y = eb.get(n);
      if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
      const p = prefix + n;
      const xt = x && isTreeMode(x.mode) ? x.oid : null;
      const yt = y && isTreeMode(y.mode) ? y.oid : null;
      if (xt || yt) walk(xt, yt, `${p}/`);
      const xf = x && !isTreeMode(x.mode) ? x.oid : null;
      const yf = y && !isTreeMode(y.mode) ? y.oid : null;
      if (xf === yf) continue;
      files.push({ path: p, status: !xf ? 'added' : !yf ? 'deleted' : 'modified', old: text(store, xf), new: text(store, yf) });
    }
  };
  walk(parent, c.tree, '');
  return { ...commitMessage(store, commit), files };
}
