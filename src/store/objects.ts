import { crypto, fs, path, zlib } from '../node.js';
import { OrcError } from '../errors.js';
import { PackStore, type ObjectType, type RawObject } from './pack.js';

export type { ObjectType, RawObject };

/** Hash of a git object, as git computes it: sha1("<type> <size>\0<content>"). */
export function hashObject(type: ObjectType, content: Buffer): string {
  return crypto.createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/**
 * The object database of one repository: loose objects (read and write),
 * pack files and alternates (read). Writes go to loose objects through a
 * temporary file and a rename, so a reader or a crash never sees half an
 * object; the content-addressed name makes concurrent writers harmless.
 */
export class ObjectStore {
  readonly dir: string;
  private packs: PackStore | undefined;
  private alternates: ObjectStore[] | undefined;

  /** `extraAlternates`: more object folders to read from, as git's GIT_ALTERNATE_OBJECT_DIRECTORIES. */
  constructor(
    objectsDir: string,
    private readonly extraAlternates: string[] = [],
  ) {
    this.dir = objectsDir;
  }

  private loosePath(oid: string): string {
    return path.join(this.dir, oid.slice(0, 2), oid.slice(2));
  }

  private readLoose(oid: string): RawObject | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.loosePath(oid));
    } catch {
      return null;
    }
    let raw: Buffer;
    try {
      raw = zlib.inflateSync(data);
    } catch {
      throw new OrcError('CORRUPT', `git object ${oid} is corrupt (cannot inflate); run \`git fsck\``, { oid });
    }
    const nul = raw.indexOf(0);
    const header = raw.subarray(0, nul).toString('latin1');
    const sp = header.indexOf(' ');
    const type = header.slice(0, sp) as ObjectType;
    return { type, content: raw.subarray(nul + 1) };
  }

  private packStore(): PackStore {
    this.packs ??= new PackStore(this.dir, (oid) => this.readLoose(oid));
    return this.packs;
  }

  private alternateStores(): ObjectStore[] {
    if (!this.alternates) {
      this.alternates = this.extraAlternates.map((d) => new ObjectStore(d));
      try {
        const text = fs.readFileSync(path.join(this.dir, 'info', 'alternates'), 'utf8');
        for (const line of text.split('\n')) {
          const p = line.trim();
          if (p && !p.startsWith('#')) this.alternates.push(new ObjectStore(path.resolve(this.dir, p)));
        }
      } catch {
        /* no alternates */
      }
    }
    return this.alternates;
  }

  /** The object, or null if this repository does not have it. */
  tryRead(oid: string): RawObject | null {
    const loose = this.readLoose(oid);
    if (loose) return loose;
    let packed: RawObject | null;
    try {
      packed = this.packStore().read(oid);
    } catch (e) {
      throw new OrcError('CORRUPT', `git object ${oid} could not be read from a pack: ${(e as Error).message}; run \`git fsck\``, { oid });
    }
    if (packed) return packed;
    for (const alt of this.alternateStores()) {
      const o = alt.tryRead(oid);
      if (o) return o;
    }
    return null;
  }

  /** The object; throws CORRUPT if it is missing or of another type than `expect`. */
  read(oid: string, expect?: ObjectType): RawObject {
    const o = this.tryRead(oid);
    if (!o) throw new OrcError('CORRUPT', `git object ${oid} is missing; run \`git fsck\``, { oid });
    if (expect && o.type !== expect) {
      throw new OrcError('CORRUPT', `git object ${oid} is a ${o.type}, expected a ${expect}`, { oid });
    }
    return o;
  }

  has(oid: string): boolean {
    return fs.existsSync(this.loosePath(oid)) || this.tryRead(oid) !== null;
  }

  /** Writes a loose object (no-op if it exists loose already) and returns its id. */
  write(type: ObjectType, content: Buffer): string {
    const oid = hashObject(type, content);
    const file = this.loosePath(oid);
    if (fs.existsSync(file)) return oid;
    const dir = path.dirname(file);
    const data = zlib.deflateSync(Buffer.concat([Buffer.from(`${type} ${content.length}\0`, 'latin1'), content]), { level: 1 });
    const tmp = path.join(dir, `tmp_obj_${process.pid}_${crypto.randomBytes(6).toString('hex')}`);
    for (let attempt = 1; ; attempt++) {
      try {
        fs.writeFileSync(tmp, data, { mode: 0o444 });
        break;
      } catch (e) {
        // The fan-out folder is made only when missing (a syscall saved per object on the hot path);
        // `git gc` and `git repack` also remove folders they emptied, even between our mkdir and write.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw e;
        fs.mkdirSync(dir, { recursive: true });
      }
    }
    try {
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if (!fs.existsSync(file)) throw e;
    }
    return oid;
  }
}
