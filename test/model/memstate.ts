import type { DirEntry, StateReader } from '../../src/model/state.js';
import type { Decision } from '../../src/model/ops.js';

/** A state tree in memory: what decisions see, without git. */
export class MemState implements StateReader {
  readonly files = new Map<string, Buffer>();
  commit: string | null = 'mem';

  read(p: string): Buffer | null {
    return this.files.get(p) ?? null;
  }

  list(dir: string): DirEntry[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    const seen = new Map<string, DirEntry>();
    for (const p of this.files.keys()) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      seen.set(name, { name, dir: slash >= 0, oid: slash < 0 ? p : '' });
    }
    return [...seen.values()];
  }

  json<T>(p: string): T | null {
    const b = this.read(p);
    return b ? (JSON.parse(b.toString()) as T) : null;
  }

  jsonBlob<T>(oid: string): T {
    return JSON.parse(this.files.get(oid)!.toString()) as T;
  }

  memo<T>(_kind: string, _oid: string, compute: () => T): T {
    return compute(); // paths are not content ids here, so nothing can be kept
  }

  /** Applies a decision's changes, as a commit would. */
  apply<R>(d: Decision<R>): R {
    for (const [p, c] of d.changes) {
      if (c === null) this.files.delete(p);
      else this.files.set(p, c);
    }
    return d.result;
  }
}
