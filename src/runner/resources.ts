/**
 * Whether two resources (lock names, paths, globs) may name the same thing.
 * Conservative: when in doubt they overlap, because a false overlap only
 * serialises two tasks, while a missed one lets them collide.
 */

const GLOB_CHARS = /[*?[]/;

export const isGlob = (r: string): boolean => GLOB_CHARS.test(r);

/** `**` any characters, `*` and `?` within one path segment, `[...]` a class; the rest literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else {
      re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** The part of a glob before its first wildcard, cut back to a whole folder. */
function staticPrefix(glob: string): string {
  const m = GLOB_CHARS.exec(glob);
  const head = m ? glob.slice(0, m.index) : glob;
  const slash = head.lastIndexOf('/');
  return slash < 0 ? '' : head.slice(0, slash + 1);
}

const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);

export function resourcesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const ga = isGlob(a);
  const gb = isGlob(b);
  if (!ga && !gb) return within(a, b) || within(b, a); // a folder and a file in it
  if (ga && !gb) return globToRegExp(a).test(b) || within(staticPrefix(a), b);
  if (!ga && gb) return globToRegExp(b).test(a) || within(staticPrefix(b), a);
  const pa = staticPrefix(a);
  const pb = staticPrefix(b);
  return pa.startsWith(pb) || pb.startsWith(pa);
}

/** The first pair (mine, theirs) that overlaps, or null. */
export function firstOverlap(mine: string[], theirs: string[]): [string, string] | null {
  for (const x of mine) for (const y of theirs) if (resourcesOverlap(x, y)) return [x, y];
  return null;
}
