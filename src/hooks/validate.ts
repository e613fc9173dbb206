/**
 * What the shared remote's pre-receive hook checks about a push to the state
 * branch (README "Hooks"): the push is a fast-forward, and every new commit
 * keeps the state format and records, in its Orc-Op trailer, exactly the
 * change it makes. Everything here reads git objects only; nothing is written.
 */
import { OrcError } from '../errors.js';
import { appendEvent } from '../model/events.js';
import * as L from '../model/layout.js';
import { OPS, initialConfig } from '../model/ops.js';
import { readConfigFile, settingsOf, type StateReader } from '../model/state.js';
import { FORMAT_VERSION, type OrcEvent } from '../model/types.js';
import { trailers } from '../store/commit.js';
import type { GitStore } from '../store/gitstore.js';
import { hashObject } from '../store/objects.js';
import { isTreeMode } from '../store/tree.js';

export const ZERO = '0000000000000000000000000000000000000000';

/** One line of pre-receive's stdin. */
export interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

/** A changed path between two trees: its new blob and mode, or null when it was deleted. */
export interface Changed {
  oid: string;
  mode: string;
}
export type TreeDiff = Map<string, Changed | null>;

/** Paths that differ between two trees, reading only the subtrees whose ids differ. */
export function diffTrees(store: GitStore, a: string | null, b: string | null, prefix = '', out: TreeDiff = new Map()): TreeDiff {
  if (a === b) return out;
  const left = new Map((a ? store.readTree(a) : []).map((e) => [e.name, e]));
  const right = new Map((b ? store.readTree(b) : []).map((e) => [e.name, e]));
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(name);
    const y = right.get(name);
    if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
    const p = `${prefix}${name}`;
    const xTree = x && isTreeMode(x.mode) ? x.oid : null;
    const yTree = y && isTreeMode(y.mode) ? y.oid : null;
    if (xTree || yTree) diffTrees(store, xTree, yTree, `${p}/`, out);
    if (y && !yTree) out.set(p, { oid: y.oid, mode: y.mode });
    else if (x && !xTree) out.set(p, null);
  }
  return out;
}

const SEGMENT_PATH = /^events\/\d{4}\/\d{2}\/\d{2}\/([0-9a-z]+)-(\d+)\.jsonl$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The state format, checked on the paths a commit changed (so the cost is
 * that of the change, not of the whole state): every JSON file parses and
 * sits where its content says it belongs; orc.json has the known format.
 */
export function checkLayout(s: StateReader, changed: TreeDiff): string[] {
  const problems: string[] = [];
  const parse = (path: string): unknown => {
    const b = s.read(path);
    if (b === null) return undefined;
    try {
      return JSON.parse(b.toString('utf8'));
    } catch {
      problems.push(`${path} is not valid JSON`);
      return undefined;
    }
  };
  const cfg = parse(L.ORC_JSON);
  if (s.read(L.ORC_JSON) === null) problems.push(`${L.ORC_JSON} is missing`);
  else if (cfg !== undefined && (!isObject(cfg) || cfg.format !== FORMAT_VERSION)) {
    problems.push(`${L.ORC_JSON} has format ${JSON.stringify(isObject(cfg) ? cfg.format : cfg)}; this orc knows format ${FORMAT_VERSION}`);
  }
  const workstreams = new Set<string>();
  for (const [path, ch] of changed) {
    if (ch && ch.mode !== '100644') problems.push(`${path} has mode ${ch.mode}; state files are plain files (100644)`);
    const parts = path.split('/');
    if (parts[0] === 'workstreams') {
      const ws = parts[1] ?? '';
      workstreams.add(ws);
      if (parts.length === 3 && parts[2] === 'workstream.json') {
        if (!ch) continue;
        const w = parse(path);
        if (w !== undefined && (!isObject(w) || w.name !== ws)) problems.push(`${path} does not describe workstream "${ws}" (its name is ${JSON.stringify(isObject(w) ? w.name : w)})`);
        continue;
      }
      if (parts.length === 5 && parts[2] === 'tasks') {
        if (!ch) continue;
        const file = parts[4]!;
        if (!file.endsWith('.json')) {
          problems.push(`${path} is not a task file (<id>.json)`);
          continue;
        }
        const id = file.slice(0, -5);
        const t = parse(path);
        if (t === undefined) continue;
        if (!isObject(t)) problems.push(`${path} is not a task object`);
        else if (t.id !== id) problems.push(`${path} holds task ${JSON.stringify(t.id)}, not "${id}"`);
        else if (t.workstream !== ws) problems.push(`${path} is a task of workstream ${JSON.stringify(t.workstream)}, filed under "${ws}"`);
        else if (parts[3] !== L.taskShard(id)) problems.push(`${path} is in shard ${parts[3]}; task "${id}" belongs in shard ${L.taskShard(id)}`);
        continue;
      }
      problems.push(`${path} is not part of the state format (a workstream holds workstream.json and tasks/<shard>/<id>.json)`);
      continue;
    }
    if (!ch) continue;
    if (parts[0] === 'agents') {
      const a = parse(path);
      const name = parts[1]?.replace(/\.json$/, '');
      if (parts.length !== 2 || !path.endsWith('.json')) problems.push(`${path} is not an agent file (agents/<id>.json)`);
      else if (a !== undefined && (!isObject(a) || a.id !== name)) problems.push(`${path} does not describe agent "${name}"`);
    } else if (parts[0] === 'locks') {
      const l = parse(path);
      if (parts.length !== 2 || !path.endsWith('.json')) problems.push(`${path} is not a lock file (locks/<resource>.json)`);
      else if (l !== undefined && (!isObject(l) || typeof l.resource !== 'string' || L.lockFileName(l.resource) !== parts[1])) {
        problems.push(`${path} does not hold the lock its name says`);
      }
    } else if (parts[0] === 'events') {
      if (!SEGMENT_PATH.test(path)) {
        problems.push(`${path} is not an event segment (events/<yyyy>/<mm>/<dd>/<writer>-<n>.jsonl)`);
        continue;
      }
      const lines = (s.read(path) ?? Buffer.alloc(0)).toString('utf8').split('\n');
      lines.forEach((line, i) => {
        if (!line) return;
        let ev: unknown;
        try {
          ev = JSON.parse(line);
        } catch {
          problems.push(`${path} line ${i + 1} is not valid JSON`);
          return;
        }
        if (!isObject(ev) || typeof ev.ts !== 'string' || typeof ev.action !== 'string') problems.push(`${path} line ${i + 1} is not an event ({ts, agent, action, …})`);
      });
    }
  }
  for (const ws of workstreams) {
    if (s.list(L.tasksDir(ws)).length && s.read(L.wsFile(ws)) === null) problems.push(`workstream "${ws}" has tasks but no ${L.wsFile(ws)}`);
  }
  return problems;
}

interface RecordedOp {
  op: string;
  agent: string;
  at: string;
  input: Record<string, unknown>;
}

const blobId = (b: Buffer) => hashObject('blob', b);

/**
 * Does the commit's Orc-Op trailer account for exactly what it changed? The
 * op is decided again, as the engine did, on the parent's state at the
 * recorded time by the recorded agent; the commit must change exactly the
 * files that decision changes, with the same bytes, plus the one event line
 * appended to one of its writer's segments.
 */
export function checkTrailer(store: GitStore, parent: string | null, message: string, changed: TreeDiff, tree: StateReader): string[] {
  const raw = trailers(message, 'Orc-Op')[0];
  if (!raw) return ['has no Orc-Op trailer: only orc ops and merges may be pushed to the state branch'];
  let rec: RecordedOp;
  try {
    rec = JSON.parse(raw) as RecordedOp;
    if (!isObject(rec) || typeof rec.op !== 'string' || typeof rec.agent !== 'string' || typeof rec.at !== 'string' || !isObject(rec.input)) throw new Error('shape');
  } catch {
    return ['has an Orc-Op trailer that is not {"op","agent","at","input"} JSON'];
  }
  const def = OPS[rec.op];
  if (!def) return [`records unknown op "${rec.op}" (is the server's orc older than the client's?)`];
  const now = new Date(rec.at);
  if (!Number.isFinite(now.getTime())) return [`records op ${rec.op} at ${JSON.stringify(rec.at)}, which is not a time`];
  const base = store.snapshot(parent);
  let decision;
  try {
    let input: Record<string, unknown> = rec.input;
    if (rec.op === 'kb.write' && typeof input.content_blob === 'string') {
      // Knowledge content is recorded by blob id: the blob is in the commit's own tree.
      const o = store.objects.tryRead(input.content_blob);
      if (!o || o.type !== 'blob') return [`records kb.write of blob ${input.content_blob}, which the push does not contain`];
      input = { topic: input.topic, content: o.content };
    }
    const parsed = def.parse(input);
    decision = def.decide(base, parsed, { actor: rec.agent, now, settings: settingsOf(base) });
  } catch (e) {
    if (!(e instanceof OrcError)) throw e;
    return [`records op ${rec.op}, which its parent's state refuses: ${e.message}`];
  }
  if (decision.changes.size === 0 && decision.event === null) return [`records op ${rec.op}, which changes nothing on its parent`];
  const who = decision.actor ?? rec.agent;
  if (who !== rec.agent) return [`records op ${rec.op} by ${rec.agent}, but the op is ${who}'s`];
  const expected = new Map<string, string | null>();
  for (const [p, b] of decision.changes) expected.set(p, b === null ? null : blobId(b));
  if (!expected.has(L.ORC_JSON) && !readConfigFile(base)) expected.set(L.ORC_JSON, blobId(initialConfig(now)));
  const problems: string[] = [];
  const segments = [...changed.keys()].filter((p) => p.startsWith('events/'));
  if (decision.event) {
    const seg = segments[0];
    const m = seg ? SEGMENT_PATH.exec(seg) : null;
    if (segments.length !== 1 || !m) {
      problems.push(`records op ${rec.op}, which appends one event line, but it changes ${segments.length} event segments`);
    } else {
      const event = { ts: now.toISOString(), agent: who, ...decision.event } as OrcEvent;
      const want = appendEvent(base, event, m[1]!);
      if (want.path !== seg) problems.push(`appends its event to ${seg}; op ${rec.op} at ${rec.at} appends to ${want.path}`);
      else expected.set(seg, blobId(want.content));
    }
  } else if (segments.length) {
    problems.push(`changes event segment ${segments[0]}, but op ${rec.op} logs no event`);
  }
  for (const [p, oid] of expected) {
    if (p.startsWith('events/') && !decision.event) continue;
    const got = tree.read(p);
    const gotId = got === null ? null : blobId(got);
    if (gotId !== oid) problems.push(`${oid === null ? 'keeps' : got === null ? 'lacks' : 'has other content in'} ${p}, which op ${rec.op} ${oid === null ? 'deletes' : 'writes'}`);
  }
  for (const p of changed.keys()) {
    if (!expected.has(p) && !(p.startsWith('events/') && segments.length === 1 && decision.event)) problems.push(`changes ${p}, which op ${rec.op} does not`);
  }
  return problems;
}

/**
 * A merge made by hand is accepted when it only combines its sides: every
 * path it changes from its first parent is taken as it is from another
 * parent (the sides are checked as commits of their own). A conflict
 * resolved by hand is refused: orc cannot vouch for it.
 */
export function checkMerge(store: GitStore, parents: string[], changed: TreeDiff): string[] {
  const others = parents.slice(1).map((p) => store.snapshot(p));
  const problems: string[] = [];
  for (const [p, ch] of changed) {
    const fromSide = others.some((s) => {
      const list = s.list(p.split('/').slice(0, -1).join('/'));
      const e = list.find((x) => x.name === p.split('/').pop());
      return ch === null ? !e : e !== undefined && !e.dir && e.oid === ch.oid;
    });
    if (!fromSide) problems.push(`is a merge that changes ${p} by hand (a resolved conflict); merge without conflicts, or let \`orc sync\` replay the ops`);
  }
  return problems;
}

/** Every problem of one commit, each a line naming the commit. */
export function validateCommit(store: GitStore, oid: string): string[] {
  const short = oid.slice(0, 12);
  let problems: string[];
  try {
    const c = store.readCommit(oid);
    const parent = c.parents[0] ?? null;
    const parentTree = parent ? store.readCommit(parent).tree : null;
    const changed = diffTrees(store, parentTree, c.tree);
    const snap = store.snapshot(oid);
    problems = checkLayout(snap, changed);
    if (c.parents.length > 1) problems.push(...checkMerge(store, c.parents, changed));
    else if (!problems.length) problems.push(...checkTrailer(store, parent, c.message, changed, snap));
  } catch (e) {
    if (!(e instanceof OrcError)) throw e;
    problems = [e.message];
  }
  return problems.map((p) => `commit ${short} ${p}`);
}

export interface PushGit {
  /** Is `a` an ancestor of `b`? */
  isAncestor(a: string, b: string): Promise<boolean>;
  /** The commits a ref update brings into the branch, oldest first (`old..new`, or for a new branch those no ref has yet). */
  newCommits(old: string | null, tip: string): Promise<string[]>;
}

/** The problems of a push, one line each; empty means accept. Refs other than the state branch are not looked at. */
export async function validatePush(store: GitStore, branchRef: string, updates: RefUpdate[], git: PushGit): Promise<string[]> {
  const problems: string[] = [];
  for (const u of updates) {
    if (u.ref !== branchRef) continue;
    if (u.new === ZERO) {
      problems.push(`${u.ref}: deleting the state branch is refused`);
      continue;
    }
    const old = u.old === ZERO ? null : u.old;
    if (old && !(await git.isAncestor(old, u.new))) {
      problems.push(`${u.ref}: not a fast-forward (${old.slice(0, 12)} is not an ancestor of ${u.new.slice(0, 12)}); the state branch is never rewritten: fetch, then \`orc sync\``);
      continue;
    }
    for (const c of await git.newCommits(old, u.new)) problems.push(...validateCommit(store, c).map((p) => `${u.ref}: ${p}`));
  }
  return problems;
}
