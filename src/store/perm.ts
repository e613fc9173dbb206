import { fs, path } from '../node.js';
import { OrcError } from '../errors.js';

/**
 * core.sharedRepository, applied the way git applies it to every file and
 * folder it creates (git's adjust_shared_perm): `group`/`true` adds group
 * read/write, `all`/`world`/`everybody` adds that and world read, an octal
 * mode replaces the permission bits; a file without the owner's write bit
 * (an object) gets no write bits, folders get x where they have r, and
 * folders granting group access get the setgid bit so new files keep the
 * repository's group. `umask`/`false` (the default) changes nothing.
 */
export class SharedPerm {
  private constructor(
    /** The bits to add (or, when `replace`, the bits to have). */
    private readonly bits: number,
    private readonly replace: boolean,
  ) {}

  /** null when git would leave modes to the umask. Throws ENV on a value git refuses too. */
  static fromConfig(value: string | undefined): SharedPerm | null {
    if (value === undefined) return null;
    const v = value.trim().toLowerCase();
    if (v === '' || v === 'umask' || v === 'false' || v === 'no' || v === 'off' || v === '0') return null;
    if (v === 'group' || v === 'true' || v === 'yes' || v === 'on' || v === '1') return new SharedPerm(0o660, false);
    if (v === 'all' || v === 'world' || v === 'everybody' || v === '2') return new SharedPerm(0o664, false);
    if (/^[0-7]+$/.test(v)) {
      const mode = parseInt(v, 8);
      if ((mode & 0o600) !== 0o600) {
        throw new OrcError('ENV', `core.sharedRepository ${value} would deny the owner read and write; git refuses it too: fix it with \`git config core.sharedRepository group\``);
      }
      return new SharedPerm(mode & 0o666, true);
    }
    throw new OrcError('ENV', `core.sharedRepository "${value}" is not a value git knows; use umask, group, all or an octal mode like 0660 (\`git config core.sharedRepository group\`)`);
  }

  /** The mode git gives a file (or folder) that was created with `mode`. */
  modeFor(mode: number, dir: boolean): number {
    let tweak = this.bits;
    if (!(mode & 0o200)) tweak &= ~0o222;
    if (mode & 0o100) tweak |= (tweak & 0o444) >> 2;
    let out = this.replace ? (mode & ~0o777) | tweak : mode | tweak;
    if (dir) {
      out |= (out & 0o444) >> 2;
      if (out & 0o060) out |= 0o2000;
    }
    return out & 0o7777;
  }

  /** chmods `file` as git would after creating it; best effort on a file someone else owns. */
  adjust(file: string, dir: boolean): void {
    let st: import('node:fs').Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return;
    }
    const want = this.modeFor(st.mode & 0o7777, dir);
    if (want === (st.mode & 0o7777)) return;
    try {
      fs.chmodSync(file, want);
    } catch (e) {
      // A folder another member of the group made (and already adjusted) cannot be chmod-ed by us.
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }

  /** Makes `dir` and any missing parents, each new folder adjusted. */
  mkdirs(dir: string): void {
    // mkdirSync returns the first folder it made (undefined if none): adjust it and every one below it.
    const made = fs.mkdirSync(dir, { recursive: true });
    if (!made) return;
    const todo: string[] = [];
    for (let p = dir; p.length >= made.length; p = path.dirname(p)) {
      todo.push(p);
      if (path.dirname(p) === p) break;
    }
    for (const d of todo.reverse()) this.adjust(d, true);
  }
}

/** mkdir -p, with the repository's shared permissions on each new folder. */
export function mkdirShared(dir: string, shared: SharedPerm | null): void {
  if (shared) shared.mkdirs(dir);
  else fs.mkdirSync(dir, { recursive: true });
}
