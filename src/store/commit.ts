import { OrcError } from '../errors.js';

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
  /** Offset like "+0000". */
  tz: string;
}

export interface Commit {
  tree: string;
  parents: string[];
  author: Identity;
  committer: Identity;
  message: string;
}

const OID_RE = /^[0-9a-f]{40}$/;

function badId(oid: string, key: string, value: string): OrcError {
  return new OrcError('CORRUPT', `git commit ${oid} has a ${key} line ${JSON.stringify(value.slice(0, 80))}, not an object id (40 hex digits); run \`git fsck\``, { oid, key });
}

function formatIdent(id: Identity): string {
  return `${id.name} <${id.email}> ${id.time} ${id.tz}`;
}

function parseIdent(s: string): Identity {
  const m = /^(.*?) <([^>]*)> (\d+) ([+-]\d{4})$/.exec(s);
  if (!m) return { name: s, email: '', time: 0, tz: '+0000' };
  return { name: m[1]!, email: m[2]!, time: Number(m[3]), tz: m[4]! };
}

export function serializeCommit(c: Commit): Buffer {
  let text = `tree ${c.tree}\n`;
  for (const p of c.parents) text += `parent ${p}\n`;
  text += `author ${formatIdent(c.author)}\ncommitter ${formatIdent(c.committer)}\n\n${c.message}`;
  if (!text.endsWith('\n')) text += '\n';
  return Buffer.from(text, 'utf8');
}

/** Parses a commit object; extra headers (gpgsig, encoding, mergetag) are skipped. */
export function parseCommit(content: Buffer, oid = '?'): Commit {
  const text = content.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const message = end < 0 ? '' : text.slice(end + 2);
  let tree = '';
  const parents: string[] = [];
  let author: Identity | undefined;
  let committer: Identity | undefined;
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(value);
    else if (key === 'author') author = parseIdent(value);
    else if (key === 'committer') committer = parseIdent(value);
  }
  if (!tree || !author || !committer) throw new OrcError('CORRUPT', `git commit ${oid} is malformed; run \`git fsck\``, { oid });
  // Ids read from data become file paths in the object store: nothing but 40 hex digits may pass.
  if (!OID_RE.test(tree)) throw badId(oid, 'tree', tree);
  for (const p of parents) if (!OID_RE.test(p)) throw badId(oid, 'parent', p);
  return { tree, parents, author, committer, message };
}

/** The values of trailer `key` in a commit message's last paragraph. */
export function trailers(message: string, key: string): string[] {
  const paras = message.trimEnd().split(/\n\s*\n/);
  const lastPara = paras[paras.length - 1] ?? '';
  const out: string[] = [];
  const prefix = `${key.toLowerCase()}:`;
  for (const line of lastPara.split('\n')) {
    if (line.toLowerCase().startsWith(prefix)) out.push(line.slice(prefix.length).trim());
  }
  return out;
}
