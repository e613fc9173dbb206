/**
 * The one non-fast-forward the pre-receive hook accepts: a valid compaction
 * (`orc compact`). A parentless commit whose Orc-Epoch-Prev is the branch's
 * current tip, whose tree is exactly what src/model/compact.ts computes from
 * that tip with the recorded cutoff (not in the future beyond the clock
 * skew), pushed together with refs/orc/archive/<n> pointing at that tip.
 */
import { compactChanges, epochOf, type CompactInput } from '../model/compact.js';
import { ARCHIVE_REF_PREFIX } from '../model/layout.js';
import { OrcError } from '../errors.js';
import { trailers } from '../store/commit.js';
import { isObjectId, shown } from './fsck.js';
import { blobId, diffTrees, HookSnapshot, validatePush, type CheckOptions, type HookObjects, type PushGit, type RefUpdate } from './validate.js';

/** Whether the pushed commit claims to be a compaction: no parent, an Orc-Epoch-Prev trailer. */
export function isCompaction(o: HookObjects, oid: string): boolean {
  try {
    const c = o.commit(oid);
    return c.parents.length === 0 && trailers(c.message, 'Orc-Epoch-Prev').length > 0;
  } catch {
    return false;
  }
}

/** Every reason the update `u` (old tip → compaction commit) is not a valid compaction; [] if it is. */
export function checkCompaction(o: HookObjects, u: RefUpdate, updates: RefUpdate[], opts: CheckOptions): string[] {
  const short = u.new.slice(0, 12);
  const bad = (why: string) => [`${u.ref}: compaction ${short} ${why}; a compaction is made by \`orc compact\` on the current tip`];
  try {
    const c = o.commit(u.new);
    const prev = trailers(c.message, 'Orc-Epoch-Prev')[0];
    if (prev !== u.old) return bad(`names ${shown(prev)} as the previous tip, but the branch is at ${u.old.slice(0, 12)}`);
    const raw = trailers(c.message, 'Orc-Op')[0];
    let rec: { op?: unknown; agent?: unknown; at?: unknown; input?: Partial<CompactInput> } | null = null;
    try {
      rec = raw ? JSON.parse(raw) : null;
    } catch {
      rec = null;
    }
    if (!rec || rec.op !== 'compact' || typeof rec.at !== 'string' || typeof rec.agent !== 'string' || !rec.input || typeof rec.input.cutoff !== 'string' || typeof rec.input.keep_days !== 'number') {
      return bad('has no Orc-Op trailer recording op compact with {cutoff, keep_days}');
    }
    const at = Date.parse(rec.at);
    const cutoff = Date.parse(rec.input.cutoff);
    if (!Number.isFinite(at) || !Number.isFinite(cutoff) || new Date(at).toISOString() !== rec.at || new Date(cutoff).toISOString() !== rec.input.cutoff) return bad('records times that are not ISO times');
    if (at > opts.now.getTime() + opts.skewMs) return bad(`is dated ${rec.at}, after the server's clock (${opts.now.toISOString()}) plus the allowed skew`);
    if (cutoff > at) return bad(`has its cutoff ${rec.input.cutoff} after its own time ${rec.at}`);
    if (c.author.name !== rec.agent) return bad(`is authored by ${shown(c.author.name)}, but records agent ${shown(rec.agent)}`);
    const base = HookSnapshot.at(o, u.old);
    const n = (epochOf(base)?.n ?? 0) + 1;
    if (trailers(c.message, 'Orc-Epoch')[0] !== String(n)) return bad(`has Orc-Epoch ${shown(trailers(c.message, 'Orc-Epoch')[0])}; the next epoch is ${n}`);
    const archive = updates.find((x) => x.ref === `${ARCHIVE_REF_PREFIX}${n}`);
    if (!archive || archive.new !== u.old) return bad(`must be pushed with ${ARCHIVE_REF_PREFIX}${n} pointing at the old tip ${u.old.slice(0, 12)}, so the history is kept`);
    const want = compactChanges(base, { cutoff: rec.input.cutoff, keep_days: rec.input.keep_days }, rec.at);
    const tree = new HookSnapshot(o, u.new, c.tree);
    const changed = diffTrees(o, base.tree, c.tree);
    const problems: string[] = [];
    for (const [p, b] of want) {
      const oid = b === null ? null : blobId(b, o.hexLen);
      const got = tree.read(p);
      if ((got === null ? null : blobId(got, o.hexLen)) !== oid) problems.push(`${oid === null ? 'keeps' : got === null ? 'lacks' : 'has other content in'} ${p}`);
      const ch = changed.get(p);
      if (b !== null && ch && ch.mode !== '100644') problems.push(`gives ${p} mode ${ch.mode}`);
    }
    for (const p of changed.keys()) if (!want.has(p)) problems.push(`changes ${p}, which a compaction with cutoff ${rec.input.cutoff} does not`);
    return problems.slice(0, 20).flatMap((x) => bad(x));
  } catch (e) {
    if (!(e instanceof OrcError)) throw e;
    return bad(e.message);
  }
}

/**
 * validatePush, except that an update of the state branch that is a
 * compaction (not a fast-forward, a parentless commit naming the old tip) is
 * judged by checkCompaction instead of being refused as a rewrite.
 */
export async function validatePushWithCompaction(
  o: HookObjects,
  branchRef: string,
  updates: RefUpdate[],
  git: PushGit,
  opts: CheckOptions,
  inspect: (commits: string[]) => Promise<string | null> = async () => null,
): Promise<string[]> {
  const problems: string[] = [];
  const rest: RefUpdate[] = [];
  for (const u of updates) {
    const old = /^0+$/.test(u.old) ? null : u.old;
    if (u.ref === branchRef && old && isObjectId(u.new, o.hexLen) && isObjectId(old, o.hexLen) && !(await git.isAncestor(old, u.new))) {
      const first = await inspect([u.new]);
      if (first) problems.push(`${u.ref}: ${first}`);
      else if (isCompaction(o, u.new)) problems.push(...checkCompaction(o, u, updates, opts));
      else rest.push(u);
      continue;
    }
    rest.push(u);
  }
  return [...problems, ...(await validatePush(o, branchRef, rest, git, opts, inspect))];
}
