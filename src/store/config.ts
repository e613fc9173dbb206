import { fs, os, path } from '../node.js';
import { OrcError } from '../errors.js';
import type { RepoPaths } from './repo.js';

/**
 * Git config, read from the files directly: spawning `git config` would cost
 * more than a whole orc op. Keys are `section.key` or `section.subsection.key`,
 * section and key lower-cased as git does; later files override earlier ones.
 */
export type GitConfig = Map<string, string[]>;

function unquote(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') {
      quoted = !quoted;
    } else if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'b' ? '\b' : n;
    } else if ((c === '#' || c === ';') && !quoted) {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

/** Parses one git config file's text into `into`. Includes are not followed. */
export function parseConfig(text: string, into: GitConfig = new Map()): GitConfig {
  let section = '';
  // Join backslash-continued lines first, so values may span lines as in git.
  const lines = text.replace(/\\\r?\n/g, '').split(/\r?\n/);
  for (const line0 of lines) {
    const line = line0.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const m = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/.exec(line);
      if (!m) continue;
      const name = m[1]!.toLowerCase();
      section = m[2] !== undefined ? `${name}.${m[2].replace(/\\(.)/g, '$1')}` : name;
      const rest = m[3]?.trim();
      if (!rest || rest.startsWith('#') || rest.startsWith(';')) continue;
      parseEntry(rest, section, into);
      continue;
    }
    parseEntry(line, section, into);
  }
  return into;
}

function parseEntry(line: string, section: string, into: GitConfig): void {
  const m = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
  if (!m || !section) return;
  const key = `${section}.${m[1]!.toLowerCase()}`;
  const value = m[2] === undefined ? 'true' : unquote(m[2]);
  const list = into.get(key);
  if (list) list.push(value);
  else into.set(key, [value]);
}

function readInto(file: string, into: GitConfig): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  parseConfig(text, into);
}

/** The effective config of a repository: system, global, repo, then worktree. */
export function loadConfig(repo: RepoPaths, env: NodeJS.ProcessEnv = process.env): GitConfig {
  const cfg: GitConfig = new Map();
  if (!env.GIT_CONFIG_NOSYSTEM) readInto(env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig', cfg);
  if (env.GIT_CONFIG_GLOBAL !== undefined) {
    readInto(env.GIT_CONFIG_GLOBAL, cfg);
  } else {
    const xdg = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
    readInto(path.join(xdg, 'git', 'config'), cfg);
    readInto(path.join(os.homedir(), '.gitconfig'), cfg);
  }
  readInto(path.join(repo.commonDir, 'config'), cfg);
  if (isTrue(last(cfg, 'extensions.worktreeconfig'))) readInto(path.join(repo.gitDir, 'config.worktree'), cfg);
  return cfg;
}

export function last(cfg: GitConfig, key: string): string | undefined {
  const list = cfg.get(normalizeKey(key));
  return list ? list[list.length - 1] : undefined;
}

export function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|on|1)$/i.test(v);
}

/** Section and key are case-insensitive in git; a subsection is not. */
function normalizeKey(key: string): string {
  const first = key.indexOf('.');
  const lastDot = key.lastIndexOf('.');
  if (first === lastDot) return key.toLowerCase();
  return key.slice(0, first).toLowerCase() + key.slice(first, lastDot) + key.slice(lastDot).toLowerCase();
}

/**
 * Refuses, before anything is written, a repository whose formats orc does
 * not write: SHA-256 object ids (`extensions.objectFormat`) and the reftable
 * ref backend (`extensions.refStorage`). orc writes SHA-1 loose objects and
 * loose ref files; putting those into such a repository would corrupt it.
 */
export function checkRepoFormat(cfg: GitConfig): void {
  const format = last(cfg, 'extensions.objectformat');
  if (format !== undefined && format.toLowerCase() !== 'sha1') {
    throw new OrcError(
      'ENV',
      `this repository stores ${format} object ids (extensions.objectFormat=${format}); orc writes SHA-1 objects only and will not write into it: keep orc's state in a SHA-1 repository (pass --repo PATH of one made with plain \`git init\`)`,
      { objectFormat: format },
    );
  }
  const refs = last(cfg, 'extensions.refstorage');
  if (refs !== undefined && refs.toLowerCase() !== 'files') {
    throw new OrcError(
      'ENV',
      `this repository keeps its refs in ${refs} (extensions.refStorage=${refs}); orc moves refs with git's file-based ref locks only and will not write into it: use a repository with the files backend (pass --repo PATH)`,
      { refStorage: refs },
    );
  }
}
