/**
 * Crafting hostile git objects for the guard tests: loose objects written
 * byte for byte (so trees git itself would never write, with duplicate or
 * unsorted entries or odd modes, can be pushed), trees rewritten along one
 * path, and commits copied from orc's own with a header or message changed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { git } from '../helpers.js';

export interface Entry {
  mode: string;
  name: string;
  oid: string;
}

/** Writes a loose object into `repo` (a non-bare clone) exactly as given; returns its id. */
export function writeObject(repo: string, type: string, content: Buffer | string): string {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`, 'latin1'), body]);
  const oid = crypto.createHash('sha1').update(raw).digest('hex');
  const file = path.join(repo, '.git', 'objects', oid.slice(0, 2), oid.slice(2));
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zlib.deflateSync(raw, { level: 1 }));
  }
  return oid;
}

/** A tree object's bytes, entries in the order given. */
export function treeBytes(entries: Entry[]): Buffer {
  return Buffer.concat(entries.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')]));
}

/** Entries in git's order (a folder sorts as if its name ended in '/'). */
export function gitOrder(entries: Entry[]): Entry[] {
  const key = (e: Entry) => Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name, 'utf8');
  return [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
}

export function lsTree(repo: string, tree: string): Entry[] {
  const out = git(repo, 'ls-tree', '-z', tree);
  return out
    .split('\0')
    .filter(Boolean)
    .map((l) => {
      const tab = l.indexOf('\t');
      const [mode, , oid] = l.slice(0, tab).split(' ');
      return { mode: mode === '040000' ? '40000' : mode!, name: l.slice(tab + 1), oid: oid! };
    });
}

/**
 * The tree `root` with the folder at `dir` ('' for the root) holding
 * `entries` instead (as given: unsorted or duplicated if so crafted); the
 * folders above are rewritten in git's order.
 */
export function withFolder(repo: string, root: string, dir: string, entries: Entry[]): string {
  if (dir === '') return writeObject(repo, 'tree', treeBytes(entries));
  const [head, ...rest] = dir.split('/');
  const top = lsTree(repo, root);
  const cur = top.find((e) => e.name === head && e.mode === '40000');
  const sub = rest.length ? withFolder(repo, cur?.oid ?? writeObject(repo, 'tree', ''), rest.join('/'), entries) : writeObject(repo, 'tree', treeBytes(entries));
  return writeObject(repo, 'tree', treeBytes(gitOrder([...top.filter((e) => e.name !== head), { mode: '40000', name: head!, oid: sub }])));
}

/** The entries of folder `dir` in `root` ([] when missing). */
export function folder(repo: string, root: string, dir: string): Entry[] {
  let t = root;
  for (const part of dir ? dir.split('/') : []) {
    const e = lsTree(repo, t).find((x) => x.name === part && x.mode === '40000');
    if (!e) return [];
    t = e.oid;
  }
  return lsTree(repo, t);
}

export interface RawCommit {
  tree: string;
  parents: string[];
  author: string;
  committer: string;
  message: string;
}

export function readCommit(repo: string, oid: string): RawCommit {
  const text = git(repo, 'cat-file', 'commit', oid);
  const end = text.indexOf('\n\n');
  const head = text.slice(0, end).split('\n');
  const v = (k: string) => head.filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(k.length + 1));
  return { tree: v('tree')[0]!, parents: v('parent'), author: v('author')[0]!, committer: v('committer')[0]!, message: `${text.slice(end + 2)}\n` };
}

export function writeCommit(repo: string, c: RawCommit): string {
  const text = `tree ${c.tree}\n${c.parents.map((p) => `parent ${p}\n`).join('')}author ${c.author}\ncommitter ${c.committer}\n\n${c.message}`;
  return writeObject(repo, 'commit', text);
}
