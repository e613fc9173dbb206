/**
 * What the shared remote's pre-receive hook checks about a push to the state
 * branch (README "Hooks", hooks/README.md): the push is a fast-forward, and
 * every new commit keeps the state format and records, in its Orc-Op
 * trailer, exactly the change it makes, decided at a time no later than the
 * server's clock allows; a merge brings only what its other side's ops,
 * replayed on its first parent, write. Everything here reads objects the
 * first pass (fsck.ts) checked, or the state branch's own history; nothing
 * is written.
 */
import { crypto } from '../node.js';
import { OrcError } from '../errors.js';
import { isReservedAction } from '../model/actions.js';
import { appendEvent } from '../model/events.js';
import * as L from '../model/layout.js';
import { OPS, initialConfig, type OpDef } from '../model/ops.js';
// Registers msg.send, msg.read and msg.ack in OPS.
import { bodyFile, checkMessageId } from '../model/messages.js';
import { getTask, readConfigFile, settingsOf, type DirEntry, type StateReader } from '../model/state.js';
import { FORMAT_VERSION, type OrcEvent } from '../model/types.js';
import { checkName, checkTopic } from '../model/validate.js';
import { readRecordedOp, type RecordedOp } from '../model/record.js';
import { PRESENCE_PREFIX, parsePresence, presenceAgent } from '../store/presence.js';
import { trailers, type Commit } from '../store/commit.js';
import { entryAt, isTreeMode, type TreeEntry } from '../store/tree.js';
import { isObjectId, shown } from './fsck.js';

export const ZERO = '0000000000000000000000000000000000000000';

/** How far ahead of the server's clock a recorded op time may be (README "Clocks"); `git config orc.clockSkew` (ms) on the remote changes it. */
export const DEFAULT_SKEW_MS = 30_000;

/** Commits one merge may bring in (each replayed on its first parent); more: let `orc sync` replay them instead. */
export const MAX_MERGE_OPS = 2_000;

/** One line of pre-receive's stdin. */
export interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

/** Where validation reads objects: those of the push that the first pass checked, and the branch's history. */
export interface HookObjects {
  readonly hexLen: number;
  commit(oid: string): Commit;
  tree(oid: string): TreeEntry[];
  blob(oid: string): Buffer;
}

export interface CheckOptions {
  /** The server's clock. */
  now: Date;
  /** Recorded times may be this far ahead of `now`. */
  skewMs: number;
  /** The agents' presence times (refs/orc/presence/*) the remote holds, the push's own updates included. */
  presence?: (agent: string) => string | null;
}

/** A blob's id in this repository's format. */
export function blobId(b: Buffer, hexLen = 40): string {
  return crypto
    .createHash(hexLen === 64 ? 'sha256' : 'sha1')
    .update(`blob ${b.length}\0`)
    .update(b)
    .digest('hex');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------- state views

/** The state at one commit, read from checked objects only. */
export class HookSnapshot implements StateReader {
  private readonly parsed = new Map<string, unknown>();
  private readonly memos = new Map<string, unknown>();

  constructor(
    private readonly o: HookObjects,
    readonly commit: string | null,
    readonly tree: string | null,
    /** The agents' presence as the op being checked could have seen it (see checkTrailer). */
    private readonly seen: ((agent: string) => string | null) | null = null,
  ) {}

  static at(o: HookObjects, commit: string | null, presence: ((agent: string) => string | null) | null = null): HookSnapshot {
    return new HookSnapshot(o, commit, commit ? o.commit(commit).tree : null, presence);
  }

  presence(agent: string): string | null {
    return this.seen ? this.seen(agent) : null;
  }

  entry(p: string): TreeEntry | null {
    return entryAt(this.tree, p, (oid) => this.o.tree(oid));
  }

  read(p: string): Buffer | null {
    const e = this.entry(p);
    return !e || isTreeMode(e.mode) ? null : this.o.blob(e.oid);
  }

  list(dir: string): DirEntry[] {
    const e = dir === '' ? null : this.entry(dir);
    const oid = dir === '' ? this.tree : e && isTreeMode(e.mode) ? e.oid : null;
    return oid ? this.o.tree(oid).map((x) => ({ name: x.name, dir: isTreeMode(x.mode), oid: x.oid })) : [];
  }

  json<T>(p: string): T | null {
    const e = this.entry(p);
    return !e || isTreeMode(e.mode) ? null : this.jsonBlob<T>(e.oid, p);
  }

  jsonBlob<T>(oid: string, p: string): T {
    if (!this.parsed.has(oid)) {
      try {
        this.parsed.set(oid, JSON.parse(this.o.blob(oid).toString('utf8')));
      } catch {
        const at = this.commit ? this.commit.slice(0, 12) : '(none)';
        throw new OrcError('CORRUPT', `state file ${p} at commit ${at} is not valid JSON`, { path: p, commit: this.commit });
      }
    }
    return this.parsed.get(oid) as T;
  }

  memo<T>(kind: string, oid: string, compute: () => T): T {
    const k = `${kind}:${oid}`;
    if (!this.memos.has(k)) this.memos.set(k, compute());
    return this.memos.get(k) as T;
  }
}

/** A state with file changes laid over it: the first parent of a merge while its other side's ops are replayed. */
export class Overlay implements StateReader {
  readonly changes = new Map<string, Buffer | null>();
  private gen = 0;

  constructor(
    private readonly base: StateReader,
    private readonly hexLen: number,
  ) {}

  get commit(): string | null {
    return this.base.commit;
  }

  apply(changes: Map<string, Buffer | null>): void {
    for (const [p, b] of changes) this.changes.set(p, b);
    this.gen++;
  }

  read(p: string): Buffer | null {
    return this.changes.has(p) ? this.changes.get(p)! : this.base.read(p);
  }

  list(dir: string): DirEntry[] {
    const out = new Map(this.base.list(dir).map((e) => [e.name, e]));
    const pre = dir === '' ? '' : `${dir}/`;
    const emptied = new Set<string>();
    for (const [p, b] of this.changes) {
      if (!p.startsWith(pre)) continue;
      const rest = p.slice(pre.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        if (b === null) out.delete(rest);
        else out.set(rest, { name: rest, dir: false, oid: blobId(b, this.hexLen) });
      } else {
        const name = rest.slice(0, slash);
        if (b === null) emptied.add(name);
        else out.set(name, { name, dir: true, oid: `overlay:${this.gen}:${pre}${name}` });
      }
    }
    for (const name of emptied) if (out.get(name)?.dir && this.list(`${pre}${name}`).length === 0) out.delete(name);
    return [...out.values()];
  }

  json<T>(p: string): T | null {
    if (!this.changes.has(p)) return this.base.json<T>(p);
    const b = this.changes.get(p);
    if (!b) return null;
    return this.parse<T>(b, p);
  }

  private parse<T>(b: Buffer, p: string): T {
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch {
      throw new OrcError('CORRUPT', `state file ${p} is not valid JSON after replaying the merge's ops`, { path: p });
    }
  }

  jsonBlob<T>(oid: string, p: string): T {
    for (const [path, b] of this.changes) if (b && path === p && blobId(b, this.hexLen) === oid) return this.parse<T>(b, p);
    return this.base.jsonBlob<T>(oid, p);
  }

  memo<T>(kind: string, oid: string, compute: () => T): T {
    return oid.startsWith('overlay:') ? compute() : this.base.memo(kind, oid, compute);
  }

  presence(agent: string): string | null {
    return this.base.presence?.(agent) ?? null;
  }
}

// ---------------------------------------------------------------- diffs and layout

/** A changed path between two trees: its new blob and mode, or null when it was deleted. */
export interface Changed {
  oid: string;
  mode: string;
}
export type TreeDiff = Map<string, Changed | null>;

/** Paths that differ between two trees, reading only the subtrees whose ids differ. */
export function diffTrees(o: HookObjects, a: string | null, b: string | null, prefix = '', out: TreeDiff = new Map()): TreeDiff {
  if (a === b) return out;
  const left = new Map((a ? o.tree(a) : []).map((e) => [e.name, e]));
  const right = new Map((b ? o.tree(b) : []).map((e) => [e.name, e]));
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(name);
    const y = right.get(name);
    if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
    const p = `${prefix}${name}`;
    const xTree = x && isTreeMode(x.mode) ? x.oid : null;
    const yTree = y && isTreeMode(y.mode) ? y.oid : null;
    if (xTree || yTree) diffTrees(o, xTree, yTree, `${p}/`, out);
    if (y && !yTree) out.set(p, { oid: y.oid, mode: y.mode });
    else if (x && !xTree) out.set(p, null);
  }
  return out;
}

/** An event segment, in the layout orc writes (events/<yyyy-mm-dd>/…) or an earlier one (events/<yyyy-mm>/<dd>/…, events/<yyyy>/<mm>/<dd>/…), which older orcs still push. */
const SEGMENT_PATH = /^events\/(?:\d{4}-\d{2}-\d{2}|\d{4}-\d{2}\/\d{2}|\d{4}\/\d{2}\/\d{2})\/([0-9a-z]+)-(\d+)\.jsonl$/;

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
        problems.push(`${path} is not an event segment (events/<yyyy-mm-dd>/<writer>-<n>.jsonl)`);
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

// ---------------------------------------------------------------- ops, decided again

/** The op a commit records, in either trailer format (model/record.ts): the same checks for both. */
function parseRecorded(c: Commit): RecordedOp | string {
  return readRecordedOp(c);
}

/**
 * A free-form event (the event.log op) may not use an action orc itself
 * records (model/actions.ts): orc records those through ops of their own
 * (`code.commit` for the post-commit hook, `sync.refused` for `orc sync`),
 * which are decided again here like every other op.
 */
function reservedEvent(input: { action: string }): string | null {
  if (!isReservedAction(input.action)) return null;
  return `records a free-form event "${input.action}", an action only orc itself records; free-form events may not use it`;
}

interface Decided {
  rec: RecordedOp;
  who: string;
  /** Every file the op writes, its event line included. */
  changes: Map<string, Buffer | null>;
  /** The event segment the op appends to, when it logs an event. */
  segment: string | null;
}

/**
 * The op a commit records, decided again on `base` as the engine did: by
 * the recorded agent at the recorded time, refused when that time is ahead
 * of the server's clock. `own` and `ownChanged` are the commit's own tree and
 * change: knowledge content (recorded by blob id) and the writer of its
 * event segment are taken from there.
 */
function decideRecorded(base: StateReader, rec: RecordedOp, own: StateReader, ownChanged: TreeDiff, o: HookObjects, opts: CheckOptions | null): Decided | string {
  const def: OpDef<unknown, unknown> | undefined = Object.prototype.hasOwnProperty.call(OPS, rec.op) ? OPS[rec.op] : undefined;
  if (!def) return `records unknown op ${shown(rec.op)} (is the server's orc older than the client's?)`;
  const now = new Date(rec.at);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(rec.at) || !Number.isFinite(now.getTime())) return `records op ${rec.op} at ${shown(rec.at)}, which is not a time`;
  if (opts && now.getTime() > opts.now.getTime() + opts.skewMs) {
    const ahead = Math.round((now.getTime() - opts.now.getTime()) / 1000);
    return `records op ${rec.op} at ${rec.at}, ${ahead} s ahead of this server's clock (${opts.now.toISOString()}; ${Math.round(opts.skewMs / 1000)} s of skew allowed): ops from the future are refused; fix that host's clock (NTP)`;
  }
  let decision;
  try {
    let input: Record<string, unknown> = rec.input;
    if (rec.op === 'kb.write' && 'content_blob' in input) {
      // Knowledge content is recorded by blob id: it must be the blob the commit itself writes at the topic's path.
      const blob = input.content_blob;
      if (!isObjectId(blob, o.hexLen)) return `records kb.write of blob ${shown(blob)}, which is not an object id`;
      const path = L.knowledgeFile(checkTopic(input.topic));
      const slash = path.lastIndexOf('/');
      const held = own.list(path.slice(0, slash)).find((e) => e.name === path.slice(slash + 1) && !e.dir);
      if (held?.oid !== blob) return `records kb.write of blob ${blob}, which the push does not contain at ${path}`;
      input = { topic: input.topic, content: own.read(path) };
    }
    if (rec.op === 'msg.send' && isObject(input.body) && 'blob' in input.body) {
      // A message body is recorded by blob id too: the blob the commit writes at the message's body path.
      const blob = input.body.blob;
      if (!isObjectId(blob, o.hexLen)) return `records msg.send of blob ${shown(blob)}, which is not an object id`;
      const path = bodyFile(checkMessageId(input.id));
      const slash = path.lastIndexOf('/');
      const held = own.list(path.slice(0, slash)).find((e) => e.name === path.slice(slash + 1) && !e.dir);
      if (held?.oid !== blob) return `records msg.send of blob ${String(blob)}, which the push does not contain at ${path}`;
      input = { ...input, body: own.read(path) };
    }
    if (def.name === 'event.log' && typeof input.action === 'string') {
      const bad = reservedEvent(input as { action: string });
      if (bad) return bad;
    }
    const parsed = def.parse(input);
    decision = def.decide(base, parsed, { actor: rec.agent, now, settings: settingsOf(base) });
  } catch (e) {
    if (!(e instanceof OrcError)) throw e;
    return `records op ${rec.op}, which its parent's state refuses: ${e.message}`;
  }
  if (decision.changes.size === 0 && decision.event === null) return `records op ${rec.op}, which changes nothing on its parent`;
  const who = decision.actor ?? rec.agent;
  if (who !== rec.agent) return `records op ${rec.op} by ${rec.agent}, but the op is ${who}'s`;
  const changes = new Map(decision.changes);
  if (!changes.has(L.ORC_JSON) && !readConfigFile(base)) changes.set(L.ORC_JSON, initialConfig(now));
  let segment: string | null = null;
  if (decision.event) {
    const segs = [...ownChanged.keys()].filter((p) => p.startsWith('events/'));
    const m = segs.length === 1 ? SEGMENT_PATH.exec(segs[0]!) : null;
    if (!m) return `records op ${rec.op}, which appends one event line, but it changes ${segs.length} event segments`;
    const event = { ts: now.toISOString(), agent: who, ...decision.event } as OrcEvent;
    // An older orc appends in an earlier layout: decided again in the layout the commit uses.
    const dir = L.eventDayDirs(event.ts).find((d) => segs[0]!.startsWith(`${d}/`)) ?? L.eventDayDir(event.ts);
    const want = appendEvent(base, event, m[1]!, dir);
    changes.set(want.path, want.content);
    segment = want.path;
  }
  return { rec, who, changes, segment };
}

/**
 * Does the commit's Orc-Op trailer account for exactly what it changed, and
 * is it authored by the op's agent? The commit must change exactly the files
 * the op, decided again on its parent, writes, with the same bytes, plus the
 * one event line appended to one of its writer's segments.
 */
export function checkTrailer(o: HookObjects, parent: string | null, c: Commit, changed: TreeDiff, tree: StateReader, opts: CheckOptions): string[] {
  const rec = parseRecorded(c);
  if (typeof rec === 'string') return [rec];
  // Leases are judged with presence, which is not history: the remote holds only each agent's latest.
  // A presence no later than the op's time is what the client could have seen (an exclusive op fetches
  // it first); one later than that says nothing about the agent before the op, so it refuses nothing:
  // the op is then checked again with that agent alive up to the op's time, and passes if either fits.
  const at = Date.parse(rec.at);
  let later = false;
  const seen = (alive: boolean) => (agent: string): string | null => {
    const p = opts.presence?.(agent) ?? null;
    if (p === null || !(Date.parse(p) > at)) return p;
    later = true;
    return alive ? rec.at : null;
  };
  const first = checkDecided(o, rec, c, changed, tree, opts, HookSnapshot.at(o, parent, seen(false)));
  if (!first.length || !later || !Number.isFinite(at)) return first;
  return checkDecided(o, rec, c, changed, tree, opts, HookSnapshot.at(o, parent, seen(true))).length ? first : [];
}

function checkDecided(o: HookObjects, rec: RecordedOp, c: Commit, changed: TreeDiff, tree: StateReader, opts: CheckOptions, base: HookSnapshot): string[] {
  const d = decideRecorded(base, rec, tree, changed, o, opts);
  if (typeof d === 'string') return [d];
  const problems: string[] = [];
  if (c.author.name !== rec.agent || c.author.email !== `${rec.agent}@orc.invalid`) {
    problems.push(`records op ${rec.op} by ${rec.agent}, but is authored by ${shown(`${c.author.name} <${c.author.email}>`)}; orc authors an op's commit as its agent (${rec.agent} <${rec.agent}@orc.invalid>)`);
  }
  const named = trailers(c.message, 'Orc-Agent');
  if (named.some((a) => a !== rec.agent)) problems.push(`records op ${rec.op} by ${rec.agent}, but its Orc-Agent trailer names ${shown(named.find((a) => a !== rec.agent))}`);
  const segment = [...changed.keys()].find((p) => p.startsWith('events/'));
  if (d.segment && segment && d.segment !== segment) problems.push(`appends its event to ${segment}; op ${rec.op} at ${rec.at} appends to ${d.segment}`);
  for (const [p, b] of d.changes) {
    if (p === d.segment && d.segment !== segment) continue;
    const oid = b === null ? null : blobId(b, o.hexLen);
    const got = tree.read(p);
    const gotId = got === null ? null : blobId(got, o.hexLen);
    if (gotId !== oid) problems.push(`${oid === null ? 'keeps' : got === null ? 'lacks' : 'has other content in'} ${p}, which op ${rec.op} ${oid === null ? 'deletes' : 'writes'}`);
  }
  for (const p of changed.keys()) {
    if (!d.changes.has(p) && !(d.segment && p === segment)) problems.push(`changes ${p}, which op ${rec.op} does not`);
  }
  return problems;
}

/**
 * A merge may bring only what the ops of the commits it brings in (those of
 * its other parents that its first parent lacks), replayed in order on its
 * first parent, write: every path it changes from its first parent must hold
 * exactly what that replay writes, and every path the replay writes must be
 * in it. So a merge with an old commit changes nothing (its ops are already
 * in the first parent), and no file can go back to an older version.
 */
export function checkMerge(o: HookObjects, c: Commit, changed: TreeDiff, brought: string[], tree: StateReader): string[] {
  const first = c.parents[0]!;
  const base = HookSnapshot.at(o, first);
  const overlay = new Overlay(base, o.hexLen);
  if (brought.length > MAX_MERGE_OPS) return [`is a merge that brings ${brought.length} commits; the limit is ${MAX_MERGE_OPS}: let \`orc sync\` replay them instead`];
  for (const b of brought) {
    const bc = o.commit(b);
    if (bc.parents.length > 1) continue; // a merge inside: its sides are among `brought`
    const rec = parseRecorded(bc);
    if (typeof rec === 'string') return [`is a merge that brings commit ${b.slice(0, 12)}, which ${rec}`];
    const own = HookSnapshot.at(o, b);
    const ownChanged = diffTrees(o, bc.parents[0] ? o.commit(bc.parents[0]).tree : null, bc.tree);
    const d = decideRecorded(overlay, rec, own, ownChanged, o, null);
    if (typeof d === 'string') return [`is a merge whose commit ${b.slice(0, 12)}, replayed on its first parent ${first.slice(0, 12)}, ${d}; let \`orc sync\` replay the ops instead of merging`];
    overlay.apply(d.changes);
  }
  const problems: string[] = [];
  const id = (b: Buffer | null) => (b === null ? null : blobId(b, o.hexLen));
  for (const [p, ch] of changed) {
    const want = overlay.changes.has(p) ? id(overlay.changes.get(p)!) : id(base.read(p));
    if ((ch?.oid ?? null) !== want) {
      problems.push(`is a merge that changes ${p} by hand (not what the ops it brings in write on its first parent ${first.slice(0, 12)}: a resolved conflict, or an older version); merge without conflicts, or let \`orc sync\` replay the ops`);
    }
  }
  for (const [p, b] of overlay.changes) {
    if (changed.has(p)) continue;
    if (id(tree.read(p)) !== id(b)) problems.push(`is a merge that lacks the change to ${p} that the ops it brings in make on its first parent ${first.slice(0, 12)}`);
  }
  return problems;
}

/**
 * A push's updates of presence refs (refs/orc/presence/<agent>, see
 * store/presence.ts): each must point at a well-formed presence commit of
 * that agent, at a time no more than the allowed skew ahead of the server's
 * clock and no earlier than the one it replaces. Deleting one is refused.
 * `read` gives an object's bytes (null when missing) and `current` the
 * presence the remote holds now.
 */
export function validatePresenceUpdates(
  updates: RefUpdate[],
  read: (oid: string) => Buffer | null,
  current: (agent: string) => { at: string } | null,
  opts: CheckOptions,
  hexLen = 40,
): string[] {
  const problems: string[] = [];
  for (const u of updates) {
    if (!u.ref.startsWith(PRESENCE_PREFIX)) continue;
    const agent = presenceAgent(u.ref.slice(PRESENCE_PREFIX.length));
    const bad = (why: string) => problems.push(`${u.ref}: ${why}`);
    try {
      checkName('agent', agent);
    } catch (e) {
      if (!(e instanceof OrcError)) throw e;
      bad(`is not the presence of an agent (${e.message.split(';')[0]})`);
      continue;
    }
    if (/^0+$/.test(u.new)) {
      bad('deleting an agent\'s presence is refused');
      continue;
    }
    if (!isObjectId(u.new, hexLen)) {
      bad(`the update ${shown(u.new)} does not name an object`);
      continue;
    }
    const b = read(u.new);
    if (!b) {
      bad(`${u.new.slice(0, 12)} is not a commit in the push`);
      continue;
    }
    const p = parsePresence(b, u.new);
    if (typeof p === 'string') {
      bad(`${u.new.slice(0, 12)} ${p}; orc writes presence as \`orc a heartbeat\` does`);
      continue;
    }
    if (p.agent !== agent) {
      bad(`${u.new.slice(0, 12)} is the presence of ${shown(p.agent)}, not of "${agent}"`);
      continue;
    }
    const t = Date.parse(p.at);
    if (t > opts.now.getTime() + opts.skewMs) {
      bad(`records presence at ${p.at}, ${Math.round((t - opts.now.getTime()) / 1000)} s ahead of this server's clock (${opts.now.toISOString()}; ${Math.round(opts.skewMs / 1000)} s of skew allowed); fix that host's clock (NTP)`);
      continue;
    }
    const cur = current(agent);
    if (cur && t < Date.parse(cur.at)) bad(`records presence at ${p.at}, earlier than the ${cur.at} it would replace; presence never goes back in time`);
  }
  return problems;
}

export interface PushGit {
  /** Is `a` an ancestor of `b`? */
  isAncestor(a: string, b: string): Promise<boolean>;
  /** The commits a ref update brings into the branch, parents first (`old..new`; for a new branch, all of its history). */
  newCommits(old: string | null, tip: string): Promise<string[]>;
  /** The commits reachable from `include` but not from `exclude`, parents first, at most `max` + 1 of them. */
  between(exclude: string, include: string[], max: number): Promise<string[]>;
}

/** Every problem of one commit, each a line naming the commit. */
export async function validateCommit(o: HookObjects, oid: string, opts: CheckOptions, git: PushGit): Promise<string[]> {
  const short = oid.slice(0, 12);
  let problems: string[];
  try {
    const c = o.commit(oid);
    const parent = c.parents[0] ?? null;
    const parentTree = parent ? o.commit(parent).tree : null;
    const changed = diffTrees(o, parentTree, c.tree);
    const snap = new HookSnapshot(o, oid, c.tree);
    problems = checkLayout(snap, changed);
    if (c.parents.length > 1) {
      if (!problems.length) problems.push(...checkMerge(o, c, changed, await git.between(parent!, c.parents.slice(1), MAX_MERGE_OPS), snap));
    } else if (!problems.length) problems.push(...checkTrailer(o, parent, c, changed, snap, opts));
  } catch (e) {
    if (!(e instanceof OrcError)) throw e;
    problems = [e.message];
  }
  return problems.map((p) => `commit ${short} ${p}`);
}

/**
 * The state branch's updates in a push: refused unless a fast-forward, and
 * then each commit it brings is validated, parents first; `inspect` is the
 * first pass (fsck.ts) over those commits, run before anything reads them.
 */
export async function validatePush(
  o: HookObjects,
  branchRef: string,
  updates: RefUpdate[],
  git: PushGit,
  opts: CheckOptions,
  inspect: (commits: string[]) => Promise<string | null> = async () => null,
): Promise<string[]> {
  const problems: string[] = [];
  for (const u of updates) {
    if (u.ref !== branchRef) continue;
    if (/^0+$/.test(u.new)) {
      problems.push(`${u.ref}: deleting the state branch is refused`);
      continue;
    }
    const old = /^0+$/.test(u.old) ? null : u.old;
    if (!isObjectId(u.new, o.hexLen) || (old && !isObjectId(old, o.hexLen))) {
      problems.push(`${u.ref}: the update ${shown(`${u.old} ${u.new}`)} does not name commits`);
      continue;
    }
    if (old && !(await git.isAncestor(old, u.new))) {
      problems.push(`${u.ref}: not a fast-forward (${old.slice(0, 12)} is not an ancestor of ${u.new.slice(0, 12)}); the state branch is never rewritten: fetch, then \`orc sync\``);
      continue;
    }
    const commits = await git.newCommits(old, u.new);
    const first = await inspect(commits);
    if (first) {
      problems.push(`${u.ref}: ${first}`);
      continue;
    }
    for (const c of commits) {
      const p = await validateCommit(o, c, opts, git);
      problems.push(...p.map((x) => `${u.ref}: ${x}`));
      if (p.length) break; // the commits after it stand on a refused one
    }
  }
  return problems;
}
