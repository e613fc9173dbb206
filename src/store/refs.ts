import { fs, os, path } from '../node.js';
import { OrcError } from '../errors.js';
import { mkdirShared, type SharedPerm } from './perm.js';

const OID = /^[0-9a-f]{40}$/;

/**
 * Reads a ref's commit id from the common git dir: the loose file first, then
 * packed-refs. Returns null when the ref does not exist.
 */
export function readRef(commonDir: string, ref: string): string | null {
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.join(commonDir, ref), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw e;
  }
  if (text !== undefined) {
    const v = text.trim();
    if (OID.test(v)) return v;
    if (v.startsWith('ref: ')) return readRef(commonDir, v.slice(5).trim());
    throw new OrcError('CORRUPT', `ref ${ref} holds "${v.slice(0, 60)}", not a commit id; repair it with \`git update-ref ${ref} <commit>\``, { ref });
  }
  return readPackedRef(commonDir, ref);
}

/** Every ref under `prefix` that packed-refs holds, as [ref, id] (one read; [] without the file). */
export function packedRefsUnder(commonDir: string, prefix: string): [string, string][] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return [];
  }
  if (!text.includes(prefix)) return [];
  const out: [string, string][] = [];
  for (const line of text.split('\n')) if (line[40] === ' ' && line.startsWith(prefix, 41)) out.push([line.slice(41), line.slice(0, 40)]);
  return out;
}

function readPackedRef(commonDir: string, ref: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return null;
  }
  const suffix = ` ${ref}`;
  for (const line of text.split('\n')) {
    if (line.length === 41 + ref.length && line.endsWith(suffix)) return line.slice(0, 40);
  }
  return null;
}

export interface CasOptions {
  /** Line for the reflog; written only when `reflog` is true. */
  reflogMessage: string;
  reflogIdent: string; // "Name <email> time tz"
  reflog: boolean;
  /** core.sharedRepository: the lock (which becomes the ref), the reflog and new folders get git's modes. */
  shared?: SharedPerm | null;
}

export type CasResult = 'ok' | 'moved' | 'busy';

/**
 * Moves `ref` from `expected` (null: must not exist) to `next` with git's own
 * ref-lock protocol, so it is safe against real git processes: create
 * `<ref>.lock` exclusively, compare the current value under the lock, write
 * the new value into the lock, append the reflog, rename over the ref.
 * Returns 'moved' if the ref no longer holds `expected`, 'busy' if another
 * process holds the lock right now. Never leaves the lock behind on error.
 */
export function casRef(commonDir: string, ref: string, expected: string | null, next: string, opts: CasOptions): CasResult {
  const file = path.join(commonDir, ref);
  const lock = `${file}.lock`;
  let fd: number;
  try {
    // 0666 less the umask, as git's lock files; core.sharedRepository widens it below.
    fd = fs.openSync(lock, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o666);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return 'busy';
    if (code === 'ENOENT') {
      mkdirShared(path.dirname(file), opts.shared ?? null);
      return casRef(commonDir, ref, expected, next, opts);
    }
    throw e;
  }
  opts.shared?.adjust(lock, false);
  let committed = false;
  try {
    // Who holds the lock, for a process that finds it: a dead holder on this host is reported at once.
    fs.writeSync(fd, `orc ${process.pid} ${os.hostname()}\n`);
    const current = readRef(commonDir, ref);
    if (current !== expected) return 'moved';
    // Git's protocol: the lock holds exactly the new value when it is renamed over the ref.
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${next}\n`, 0);
    fs.closeSync(fd);
    fd = -1;
    try {
      if (opts.reflog) {
        const log = path.join(commonDir, 'logs', ref);
        mkdirShared(path.dirname(log), opts.shared ?? null);
        const msg = opts.reflogMessage.replace(/\n/g, ' ');
        fs.appendFileSync(log, `${expected ?? '0'.repeat(40)} ${next} ${opts.reflogIdent}\t${msg}\n`, { mode: 0o666 });
        opts.shared?.adjust(log, false);
      }
      fs.renameSync(lock, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
        // Git keeps refs as files, so refs/heads/orc cannot exist beside refs/heads/orc/<x>.
        throw new OrcError('ENV', `cannot create ${ref}: branches named ${ref.replace(/^refs\/heads\//, '')}/… exist; pick another state branch with \`git config orc.branch NAME\``, { ref });
      }
      throw e;
    }
    committed = true;
    return 'ok';
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (!committed) fs.rmSync(lock, { force: true });
  }
}

export interface RefLockInfo {
  /** How long ago the lock file was last written. */
  ageMs: number;
  /** True when an orc process on this host wrote it and no longer exists. */
  holderDead: boolean;
}

/** What is known of a ref's lock file, or null when there is none. */
export function refLockInfo(commonDir: string, ref: string, now = Date.now()): RefLockInfo | null {
  const file = path.join(commonDir, `${ref}.lock`);
  let st: import('node:fs').Stats;
  let text = '';
  try {
    st = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = /^orc (\d+) (\S+)\n/.exec(text);
  let holderDead = false;
  if (m && m[2] === os.hostname()) {
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      holderDead = (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
    if (holderDead) {
      // The holder may have finished (renamed the lock away) and exited since we read it: only the same file counts.
      try {
        const again = fs.statSync(file);
        holderDead = again.ino === st.ino && again.mtimeMs === st.mtimeMs;
      } catch {
        return null;
      }
    }
  }
  return { ageMs: now - st.mtimeMs, holderDead };
}
