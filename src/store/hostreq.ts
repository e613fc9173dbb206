/**
 * HostRequests: how hosts decide each other's exclusive ops (ops/hostreq.ts has the
 * protocol). Host `h` (its writer id) has two refs on the remote, beside the
 * state branch and never on it:
 *
 *   refs/orc/hosts/<h>/req   the ops h waits on: {"v":1,"host","low","requests":[...]},
 *                            each with a seq (per host, increasing); written only by
 *                            h's leader. `low`: h has collected every answer below it.
 *   refs/orc/hosts/<h>/ans   their outcomes by request id: {"v":1,"host","answers":{id: {seq, ...}}}
 *                            moved only by a push that also moves the branch
 *                            (git push --atomic, a lease on each), or by h
 *                            withdrawing its own
 *
 * Each points at a commit with no parent, the empty tree and the JSON as its
 * message (as presence does): any git host takes it, no history piles up, and
 * an old one is garbage for `git gc`.
 */
import { fs, path } from '../node.js';
import { parseCommit, serializeCommit } from './commit.js';
import type { ObjectStore } from './objects.js';
import { packedRefsUnder, readRef } from './refs.js';

export const HOSTS_PREFIX = 'refs/orc/hosts/';

/** Largest request-ref commit orc reads (a request holds an op's input: a knowledge page is at most ~2 MiB). */
export const HOSTS_MAX_BYTES = 8 * 1024 * 1024;

const HOST = /^[0-9a-z]{4,16}$/;

export interface InboxRequest {
  id: string;
  seq: number;
  /** When the op was asked for (ms since the epoch): requests are served oldest first. */
  at: number;
  op: string;
  actor: string;
  input: unknown;
  record: unknown;
}

export type Outcome = { ok: true; result: unknown; commit: string | null; attempts: number } | { ok: false; error: { code: string; message: string; data: Record<string, unknown> } };

/** An answer: the outcome and the seq of the request it answers (answers below the requester's `low` are dropped). */
export type InboxOutcome = Outcome & { seq: number };

/** One host's two refs as some view (a fetch) holds them; oids null where a ref is absent. */
export interface HostInbox {
  host: string;
  reqOid: string | null;
  low: number;
  requests: InboxRequest[];
  ansOid: string | null;
  answers: Record<string, InboxOutcome>;
}

export const reqRef = (host: string, prefix = HOSTS_PREFIX) => `${prefix}${host}/req`;
export const ansRef = (host: string, prefix = HOSTS_PREFIX) => `${prefix}${host}/ans`;

export const isHostId = (h: string) => HOST.test(h);

const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

function writeJsonCommit(objects: ObjectStore, value: unknown, at: Date): string {
  const tree = objects.write('tree', Buffer.alloc(0));
  const ident = { name: 'orc', email: 'orc@orc.invalid', time: Math.floor(at.getTime() / 1000), tz: '+0000' };
  return objects.write('commit', serializeCommit({ tree, parents: [], author: ident, committer: ident, message: `${JSON.stringify(value)}\n` }));
}

function readJsonCommit(objects: ObjectStore, oid: string): Record<string, unknown> | null {
  try {
    const v = parseJsonCommit(objects.read(oid, 'commit', { maxBytes: HOSTS_MAX_BYTES }).content, oid);
    return typeof v === 'string' ? null : v;
  } catch {
    return null;
  }
}

/** A request-ref commit's JSON, or why it is not one. */
function parseJsonCommit(content: Buffer, oid: string): Record<string, unknown> | string {
  if (content.length > HOSTS_MAX_BYTES) return `is ${content.length} bytes, more than a request-ref commit may be (${HOSTS_MAX_BYTES})`;
  let c;
  try {
    c = parseCommit(content, oid);
  } catch {
    return 'is not a commit';
  }
  if (c.parents.length || c.tree !== EMPTY_TREE_SHA1) return 'has a parent or files; a request-ref commit has neither';
  let v: unknown;
  try {
    v = JSON.parse(c.message);
  } catch {
    return 'has a message that is not JSON';
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'has a message that is not a JSON object';
}

/**
 * Why an update of `ref` (under refs/orc/hosts/) to a commit of these bytes
 * is not one orc makes, or null: the name is `<host id>/req` or `/ans`, the
 * commit is parentless with the empty tree, and its JSON is that host's
 * requests (with `low`) or answers. (The pre-receive hook's check.)
 */
export function hostRefProblem(ref: string, content: Buffer | null, oid: string): string | null {
  const m = /^([^/]+)\/(req|ans)$/.exec(ref.slice(HOSTS_PREFIX.length));
  if (!ref.startsWith(HOSTS_PREFIX) || !m || !isHostId(m[1]!)) return "is not a host's request ref (refs/orc/hosts/<host id>/req or /ans)";
  if (!content) return `${oid.slice(0, 12)} is not a commit in the push`;
  const v = parseJsonCommit(content, oid);
  if (typeof v === 'string') return `${oid.slice(0, 12)} ${v}`;
  const host = m[1]!;
  if (v.v !== 1 || v.host !== host) return `${oid.slice(0, 12)} is not a request-ref commit of host ${host} (v 1)`;
  if (m[2] === 'req' && (!Array.isArray(v.requests) || !Number.isSafeInteger(v.low) || !v.requests.every(isRequest))) return `${oid.slice(0, 12)} does not hold {"low", "requests": [{id, seq, at, op, actor, input}]}`;
  if (m[2] === 'ans' && (!isObject(v.answers) || !Object.values(v.answers).every(isOutcome))) return `${oid.slice(0, 12)} does not hold {"answers": {id: outcome}}`;
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isRequest(v: unknown): v is InboxRequest {
  return isObject(v) && typeof v.id === 'string' && v.id.length <= 200 && Number.isSafeInteger(v.seq) && typeof v.at === 'number' && Number.isFinite(v.at) && typeof v.op === 'string' && typeof v.actor === 'string' && 'input' in v;
}

function isOutcome(v: unknown): v is InboxOutcome {
  if (!isObject(v) || !Number.isSafeInteger(v.seq)) return false;
  if (v.ok === true) return (typeof v.commit === 'string' || v.commit === null) && typeof v.attempts === 'number';
  return v.ok === false && isObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string' && isObject(v.error.data);
}

/** The requests an request-ref commit holds; a malformed one holds none (nobody serves what it cannot read). */
export function readRequests(objects: ObjectStore, oid: string, host: string): { low: number; requests: InboxRequest[] } {
  const v = readJsonCommit(objects, oid);
  if (!v || v.v !== 1 || v.host !== host || !Array.isArray(v.requests) || !Number.isSafeInteger(v.low)) return { low: 0, requests: [] };
  return { low: v.low as number, requests: v.requests.filter(isRequest) };
}

/** The answers an request-ref commit holds. */
export function readAnswers(objects: ObjectStore, oid: string, host: string): Record<string, InboxOutcome> {
  const v = readJsonCommit(objects, oid);
  const out: Record<string, InboxOutcome> = {};
  if (!v || v.v !== 1 || v.host !== host || !isObject(v.answers)) return out;
  for (const [id, o] of Object.entries(v.answers)) if (isOutcome(o)) out[id] = o;
  return out;
}

export function writeRequests(objects: ObjectStore, host: string, low: number, requests: InboxRequest[], at: Date): string {
  return writeJsonCommit(objects, { v: 1, host, low, requests }, at);
}

export function writeAnswers(objects: ObjectStore, host: string, answers: Record<string, InboxOutcome>, at: Date): string {
  return writeJsonCommit(objects, { v: 1, host, answers }, at);
}

/** host -> {req, ans} ref values under `prefix` (as a fetch left them): loose files, then packed-refs. */
export function listInboxRefs(commonDir: string, prefix: string): Map<string, { req: string | null; ans: string | null }> {
  const out = new Map<string, { req: string | null; ans: string | null }>();
  const put = (host: string, kind: string, oid: string) => {
    if (!isHostId(host) || (kind !== 'req' && kind !== 'ans')) return;
    const e = out.get(host) ?? { req: null, ans: null };
    if (e[kind] === null) e[kind] = oid;
    out.set(host, e);
  };
  let hosts: string[] = [];
  try {
    hosts = fs.readdirSync(path.join(commonDir, prefix));
  } catch {
    /* none */
  }
  for (const h of hosts) {
    for (const kind of ['req', 'ans']) {
      let oid: string | null = null;
      try {
        oid = readRef(commonDir, `${prefix}${h}/${kind}`);
      } catch {
        oid = null;
      }
      if (oid) put(h, kind, oid);
    }
  }
  for (const [ref, oid] of packedRefsUnder(commonDir, prefix)) {
    const [h, kind, more] = ref.slice(prefix.length).split('/');
    if (h && kind && more === undefined) put(h, kind, oid);
  }
  return out;
}

/** Every host's request ref under `prefix`, read. */
export function readInboxes(commonDir: string, objects: ObjectStore, prefix: string): Map<string, HostInbox> {
  const out = new Map<string, HostInbox>();
  for (const [host, r] of listInboxRefs(commonDir, prefix)) {
    const req = r.req ? readRequests(objects, r.req, host) : { low: 0, requests: [] };
    out.set(host, {
      host,
      reqOid: r.req,
      low: req.low,
      requests: req.requests,
      ansOid: r.ans,
      answers: r.ans ? readAnswers(objects, r.ans, host) : {},
    });
  }
  return out;
}
