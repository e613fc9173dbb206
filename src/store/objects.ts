import { crypto, fs, path, zlib } from '../node.js';
import { OrcError } from '../errors.js';
import { ObjectTooLargeError, PackStore, type ObjectType, type RawObject } from './pack.js';
import type { SharedPerm } from './perm.js';

export type { ObjectType, RawObject };

/** A SHA-1 object id as git writes it: 40 lowercase hex digits. */
export const OID_RE = /^[0-9a-f]{40}$/;

export const isOid = (v: unknown): v is string => typeof v === 'string' && OID_RE.test(v);

/**
 * Checks an object id taken from data (a commit's tree line, a tree entry, an
 * op's recorded blob) before it is used as a file path or looked up: throws
 * CORRUPT naming where it came from.
 */
export function checkOid(v: unknown, where: string): string {
  if (isOid(v)) return v;
  const shown = JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v) ?? String(v);
  throw new OrcError('CORRUPT', `${where} names ${shown}, which is not a git object id (40 hex digits); run \`git fsck\``, { where });
}

/**
 * The largest object read() inflates unless the caller allows more. orc's own
 * objects are far smaller (knowledge is capped at 1 MiB, trees are sharded);
 * anything larger on the state branch was put there by hand or by a hostile
 * push, and must not cost the reader its memory.
 */
export const DEFAULT_MAX_OBJECT_BYTES = 32 * 1024 * 1024;

export interface ReadOptions {
  /** Refuse (CORRUPT, naming the object) rather than inflate more than this many bytes. */
  maxBytes?: number;
}

/** Hash of a git object, as git computes it: sha1("<type> <size>\0<content>"). */
export function hashObject(type: ObjectType, content: Buffer): string {
  return crypto.createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

const tooLarge = (oid: string, size: number, max: number): OrcError =>
  new OrcError('CORRUPT', `git object ${oid} is ${size} bytes, more than the ${max} bytes orc reads; it cannot be orc state: remove it from the branch or inspect it with \`git cat-file -s ${oid}\``, { oid, size, max });

const LOOSE_TYPES = new Set(['commit', 'tree', 'blob', 'tag']);

/**
 * The object database of one repository: loose objects (read and write),
 * pack files and alternates (read). Writes go to loose objects through a
 * temporary file and a rename, so a reader or a crash never sees half an
 * object; the content-addressed name makes concurrent writers harmless.
 * Reads validate the id, cap the inflated size, and survive git's own
 * maintenance (gc, repack, loose-objects) moving objects meanwhile.
 */
export class ObjectStore {
  readonly dir: string;
  private packs: PackStore | undefined;
  private alternates: ObjectStore[] | undefined;

  /**
   * `extraAlternates`: more object folders to read from, as git's GIT_ALTERNATE_OBJECT_DIRECTORIES.
   * `shared`: core.sharedRepository, applied to what write() creates.
   */
  constructor(
    objectsDir: string,
    private readonly extraAlternates: string[] = [],
    private readonly shared: SharedPerm | null = null,
  ) {
    this.dir = objectsDir;
  }

  private loosePath(oid: string): string {
    return path.join(this.dir, oid.slice(0, 2), oid.slice(2));
  }

  private readLoose(oid: string, maxBytes: number): RawObject | null {
    let fd: number;
    try {
      fd = fs.openSync(this.loosePath(oid), 'r');
    } catch {
      return null;
    }
    let data: Buffer;
    const corrupt = (why: string) => new OrcError('CORRUPT', `git object ${oid} is corrupt (${why}); run \`git fsck\``, { oid });
    try {
      // The header first, from a small prefix: a zlib bomb is refused by its declared size before it is inflated.
      const head = Buffer.allocUnsafe(512);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      let prefix: Buffer;
      try {
        prefix = zlib.inflateSync(head.subarray(0, n), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch {
        throw corrupt('cannot inflate');
      }
      const nul = prefix.indexOf(0);
      if (nul < 0 || nul > 32) throw corrupt('bad header');
      const m = /^([a-z]+) (\d+)$/.exec(prefix.toString('latin1', 0, nul));
      if (!m || !LOOSE_TYPES.has(m[1]!)) throw corrupt('bad header');
      const size = Number(m[2]);
      if (size > maxBytes) throw tooLarge(oid, size, maxBytes);
      if (n < head.length) {
        data = head.subarray(0, n); // the whole file was in the first read (most of orc's objects)
      } else {
        const st = fs.fstatSync(fd);
        data = Buffer.allocUnsafe(st.size);
        let done = 0;
        while (done < data.length) {
          const k = fs.readSync(fd, data, done, data.length - done, done);
          if (k === 0) break;
          done += k;
        }
        data = data.subarray(0, done);
      }
      let raw: Buffer;
      try {
        raw = zlib.inflateSync(data, { maxOutputLength: nul + 1 + size + 1 });
      } catch {
        throw corrupt('cannot inflate');
      }
      if (raw.length !== nul + 1 + size) throw corrupt(`inflated to ${raw.length - nul - 1} bytes, header says ${size}`);
      return { type: m[1] as ObjectType, content: raw.subarray(nul + 1) };
    } finally {
      fs.closeSync(fd);
    }
  }

  private packStore(): PackStore {
    this.packs ??= new PackStore(this.dir, (oid) => this.readLoose(oid, DEFAULT_MAX_OBJECT_BYTES));
    return this.packs;
  }

  /** Every object folder to read besides this one, each once (git follows an alternate once, however the files point). */
  private alternateStores(): ObjectStore[] {
    if (!this.alternates) {
      const seen = new Set<string>([realOr(this.dir)]);
      const out: ObjectStore[] = [];
      const add = (dir: string): void => {
        const key = realOr(dir);
        if (seen.has(key)) return;
        seen.add(key);
        const s = new ObjectStore(dir);
        s.alternates = []; // this store reads the whole set; its members read only themselves
        out.push(s);
        // An alternate's own alternates are ours too (git follows them, to a bounded depth).
        if (seen.size <= 64) for (const next of readAlternates(dir)) add(next);
      };
      for (const d of this.extraAlternates) add(d);
      for (const d of readAlternates(this.dir)) add(d);
      this.alternates = out;
    }
    return this.alternates;
  }

  private findOnce(oid: string, maxBytes: number): RawObject | null {
    const loose = this.readLoose(oid, maxBytes);
    if (loose) return loose;
    let packed: RawObject | null;
    try {
      packed = this.packStore().read(oid, maxBytes);
    } catch (e) {
      if (e instanceof OrcError) throw e;
      if (e instanceof ObjectTooLargeError) throw tooLarge(e.oid, e.size, e.max);
      throw new OrcError('CORRUPT', `git object ${oid} could not be read from a pack: ${(e as Error).message}; run \`git fsck\``, { oid });
    }
    if (packed) return packed;
    for (const alt of this.alternateStores()) {
      const o = alt.findOnce(oid, maxBytes);
      if (o) return o;
    }
    return null;
  }

  /**
   * The object, or null if this repository does not have it. A miss is
   * checked again after a fresh look at the pack folders, as git does: `git gc`
   * or `git maintenance` may have just moved the object from a loose file into
   * a new pack. Throws CORRUPT for an id that is not 40 hex digits.
   */
  tryRead(oid: string, opts: ReadOptions = {}): RawObject | null {
    checkOid(oid, 'an object lookup');
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    const o = this.findOnce(oid, maxBytes);
    if (o) return o;
    this.packStore().rescan();
    for (const alt of this.alternateStores()) alt.packStore().rescan();
    return this.findOnce(oid, maxBytes);
  }

  /**
   * The object; throws CORRUPT if it is missing, of another type than
   * `expect`, or larger than `opts.maxBytes` (default DEFAULT_MAX_OBJECT_BYTES),
   * in which case nothing past its header is inflated.
   */
  read(oid: string, expect?: ObjectType, opts: ReadOptions = {}): RawObject {
    const o = this.tryRead(oid, opts);
    if (!o) throw new OrcError('CORRUPT', `git object ${oid} is missing; run \`git fsck\``, { oid });
    if (expect && o.type !== expect) {
      throw new OrcError('CORRUPT', `git object ${oid} is a ${o.type}, expected a ${expect}`, { oid });
    }
    return o;
  }

  /**
   * What reading has cost so far, here and in alternates: `idxBytesRead`,
   * bytes of pack indexes read (a lookup reads the fan-out and a few pages of
   * each index it searches, never an index whole); `packs` listed and
   * `opened` (a pack is opened at its first lookup, newest first).
   */
  stats(): { idxBytesRead: number; packs: number; opened: number } {
    const out = { idxBytesRead: 0, packs: 0, opened: 0 };
    for (const s of [this, ...(this.alternates ?? [])]) {
      if (!s.packs) continue;
      const st = s.packs.stats();
      out.idxBytesRead += st.idxBytesRead;
      out.packs += st.packs;
      out.opened += st.opened;
    }
    return out;
  }

  has(oid: string): boolean {
    if (!isOid(oid)) return false;
    if (fs.existsSync(this.loosePath(oid)) || this.packStore().has(oid)) return true;
    return this.tryRead(oid, { maxBytes: Number.MAX_SAFE_INTEGER }) !== null;
  }

  /** Writes a loose object (no-op if it exists loose already) and returns its id. */
  write(type: ObjectType, content: Buffer): string {
    const oid = hashObject(type, content);
    const file = this.loosePath(oid);
    if (this.freshen(file)) return oid;
    const dir = path.dirname(file);
    const data = zlib.deflateSync(Buffer.concat([Buffer.from(`${type} ${content.length}\0`, 'latin1'), content]), { level: 1 });
    // `git gc` and `git maintenance` remove fan-out folders they emptied, at any moment, even
    // one made a moment ago for this write: as git does, make it again and retry.
    for (let attempt = 1; ; attempt++) {
      const tmp = path.join(dir, `tmp_obj_${process.pid}_${crypto.randomBytes(6).toString('hex')}`);
      try {
        fs.writeFileSync(tmp, data, { mode: 0o444 });
      } catch (e) {
        // The fan-out folder is made only when missing (a syscall saved per object on the hot path).
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 20) throw e;
        this.makeDir(dir);
        continue;
      }
      try {
        this.shared?.adjust(tmp, false);
        fs.renameSync(tmp, file);
        return oid;
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        if (fs.existsSync(file)) return oid;
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 20) throw e;
      }
    }
  }

  /**
   * An object already there is used again: as git does, its time is brought to now, so that a
   * `git gc` pruning old unreachable objects does not remove one a new commit just took up.
   */
  private freshen(file: string): boolean {
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
      return true;
    } catch {
      return false;
    }
  }

  private makeDir(dir: string): void {
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(dir, { recursive: true }); // the objects folder itself is missing
    }
    this.shared?.adjust(dir, true);
  }
}

function realOr(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** The folders named in `<objects>/info/alternates`, relative ones resolved against `<objects>` as git does. */
function readAlternates(objectsDir: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(objectsDir, 'info', 'alternates'), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const p = line.trim();
    if (p && !p.startsWith('#')) out.push(path.resolve(objectsDir, p));
  }
  return out;
}
