import { buffer, crypto, fs, path, zlib } from '../node.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export interface RawObject {
  type: ObjectType;
  content: Buffer;
}

const TYPE_BY_CODE: readonly (ObjectType | undefined)[] = [undefined, 'commit', 'tree', 'blob', 'tag'];
const OBJ_OFS_DELTA = 6;
const OBJ_REF_DELTA = 7;

/**
 * A pack up to this size may be read into memory whole, the first time an
 * object is wanted from it (a pack never asked for is never read): after
 * `git gc` an orc repository is one modest pack, and one buffer beats a
 * syscall per object. Larger packs, and every pack once the store's whole-read
 * budget is spent, are read per entry with fs.readSync, so memory stays
 * bounded however many and however large the packs are (a clone of a big
 * project split into many packs must not cost its size in memory per command).
 */
const WHOLE_FILE_LIMIT = 4 * 1024 * 1024;
/** All packs read whole by one store together, at most. */
const WHOLE_FILE_BUDGET = 16 * 1024 * 1024;
/** The first read of an entry in windowed mode: its header and, for most objects, all of its data. */
const FIRST_WINDOW = 4096;

/** An object bigger than the caller allows: refused from its header, before it is inflated. */
export class ObjectTooLargeError extends Error {
  constructor(
    readonly oid: string,
    readonly size: number,
    readonly max: number,
  ) {
    super(`object ${oid} is ${size} bytes, more than the ${max} allowed`);
  }
}

/**
 * Resolved-delta-base cache budget, shared by all packs of a store. Same as
 * git's core.deltaBaseCacheLimit default: with less, reading long tree chains
 * in oid order re-applies the same deltas several times over.
 */
const CACHE_MAX_BYTES = 96 * 1024 * 1024;
const CACHE_MAX_ENTRIES = 8192;
/** Larger bases would evict everything else for one chain's benefit. */
const CACHE_MAX_OBJECT = CACHE_MAX_BYTES / 8;

/** git caps --depth at 4095; anything longer is a loop in a corrupt pack. */
const MAX_CHAIN = 10_000;
/** REF_DELTA bases hopping from pack to pack; bounds mutual recursion on corrupt data. */
const MAX_CROSS_PACK_DEPTH = 64;

/**
 * Inflate allocates its output in chunks; one chunk of the known size avoids
 * regrowing, but a corrupt header must not make us allocate gigabytes.
 */
const MAX_INFLATE_CHUNK = 64 * 1024 * 1024;
/** inflateSync rejects a maxOutputLength above the largest Buffer. */
const MAX_INFLATE_LENGTH = buffer.constants.MAX_LENGTH;

/**
 * On filesystems with coarse timestamps a pack added in the same tick as our
 * scan leaves the dir mtime unchanged; distrust scans this close to a change.
 */
const RACY_WINDOW_NS = 2_000_000_000n;

const OID_RE = /^[0-9a-f]{40}$/;
/**
 * Git reads every `*.idx` with its `.pack`, whatever the name: `pack-<hash>`
 * from gc and fetch, `loose-<hash>` from `git maintenance run --task=loose-objects`.
 * Temporary files (`tmp_*`, `.tmp-*`) are still being written.
 */
const IDX_NAME_RE = /^(?!tmp_|\.)[^/]+\.idx$/;

let nextPackId = 1;

/**
 * A pack's index is never read whole: a lookup reads the 1 KiB fan-out table
 * once, then binary-searches the names in place with positioned reads of one
 * page at a time (a host repository's indexes run to megabytes, of which orc
 * needs a few pages). Pages hold whole entries, so a name never straddles two.
 */
const IDX_PAGE_ENTRIES = 64;
/** Name pages kept per pack (the most recently used; 1,280 bytes each for a v2 index). */
const IDX_PAGES_KEPT = 256;

/** Bytes of pack indexes read by all stores of this process, ever (for ObjectStore.stats and tests). */
export const idxCounter = { bytes: 0 };

class PackFile {
  readonly id = nextPackId++;
  readonly count: number;
  private readonly version: 1 | 2;
  private readonly fanout: Uint32Array;
  private readonly namesAt: number;
  private readonly offsetsAt: number;
  private readonly largeAt: number;
  private readonly largeCount: number;
  /** Name pages read so far, by page number; Map order doubles as recency. */
  private readonly pages = new Map<number, Buffer>();
  /** Bytes of this pack's index read so far. */
  idxBytesRead = 0;
  /** The whole pack, once read (see WHOLE_FILE_LIMIT); null: read per entry. */
  private data: Buffer | null = null;
  /** Bytes of the store's whole-read budget this pack took. */
  wholeBytes = 0;
  private fd: number | null;
  private idxFd: number | null;
  private readonly packSize: number;
  /** Per-entry mode, fallback only (see entry): all entry offsets ascending, so an entry's end is the next entry's start. */
  private sortedOffsets: Float64Array | null = null;

  private constructor(
    readonly name: string,
    idxFd: number,
    idxSize: number,
    fanout: Uint32Array,
    version: 1 | 2,
    fd: number,
    packSize: number,
    headBytes: number,
  ) {
    this.version = version;
    this.fd = fd;
    this.idxFd = idxFd;
    this.packSize = packSize;
    this.fanout = fanout;
    this.idxBytesRead = headBytes;
    this.count = fanout[255] ?? 0;
    const n = this.count;
    if (version === 2) {
      this.namesAt = 8 + 1024;
      this.offsetsAt = this.namesAt + n * 24; // names (20) + crc32 (4)
      this.largeAt = this.offsetsAt + n * 4;
      this.largeCount = (idxSize - 40 - this.largeAt) / 8;
    } else {
      this.namesAt = 1024 + 4;
      this.offsetsAt = 1024;
      this.largeAt = 0;
      this.largeCount = 0;
    }
  }

  /** Throws if the pair is unusable; ENOENT means it vanished (concurrent gc). */
  static open(dir: string, base: string): PackFile {
    const idxPath = path.join(dir, `${base}.idx`);
    const packPath = path.join(dir, `${base}.pack`);
    const bad = (why: string): Error => new Error(`pack index ${idxPath}: ${why}`);
    // Held open from here on, as the pack is: a concurrent repack may delete both files.
    const idxFd = fs.openSync(idxPath, 'r');
    let fd: number | null = null;
    try {
      const idxSize = fs.fstatSync(idxFd).size;
      // The header and fan-out table, and the index's copy of the pack's checksum: all a lookup needs up front.
      const head = Buffer.allocUnsafe(Math.min(idxSize, 8 + 1024));
      readExactly(idxFd, head, 0);
      let version: 1 | 2;
      let fanoutAt: number;
      if (head.length >= 8 && head.readUInt32BE(0) === 0xff744f63) {
        const v = head.readUInt32BE(4);
        if (v !== 2) throw bad(`unsupported version ${v}`);
        version = 2;
        fanoutAt = 8;
      } else {
        version = 1;
        fanoutAt = 0;
      }
      if (idxSize < fanoutAt + 1024 + 40) throw bad('truncated');
      const fanout = new Uint32Array(256);
      let prev = 0;
      for (let i = 0; i < 256; i++) {
        const f = head.readUInt32BE(fanoutAt + i * 4);
        if (f < prev) throw bad('fanout table not monotonic');
        fanout[i] = f;
        prev = f;
      }
      const n = prev;
      if (version === 2) {
        const min = 8 + 1024 + n * 28 + 40;
        if (idxSize < min || (idxSize - min) % 8 !== 0 || idxSize - min > n * 8) throw bad('size does not match object count');
      } else if (idxSize !== 1024 + n * 24 + 40) {
        throw bad('size does not match object count');
      }
      const idxTrailer = Buffer.allocUnsafe(20);
      readExactly(idxFd, idxTrailer, idxSize - 40);

      const packSize = fs.statSync(packPath).size;
      if (packSize < 12 + 20) throw new Error(`pack ${packPath}: truncated`);
      const phead = Buffer.alloc(12);
      const trailer = Buffer.alloc(20);
      fd = fs.openSync(packPath, 'r');
      readExactly(fd, phead, 0);
      readExactly(fd, trailer, packSize - 20);
      if (phead.readUInt32BE(0) !== 0x5041434b) throw new Error(`pack ${packPath}: bad signature`);
      const pv = phead.readUInt32BE(4);
      if (pv !== 2 && pv !== 3) throw new Error(`pack ${packPath}: unsupported version ${pv}`);
      if (phead.readUInt32BE(8) !== n) throw new Error(`pack ${packPath}: holds ${phead.readUInt32BE(8)} objects but its index lists ${n}`);
      // Catches an index paired with a different pack of the same name (e.g. a half-finished rewrite).
      if (!trailer.equals(idxTrailer)) throw new Error(`pack ${packPath}: checksum does not match its index`);
      const headBytes = head.length + idxTrailer.length;
      idxCounter.bytes += headBytes;
      return new PackFile(base, idxFd, idxSize, fanout, version, fd, packSize, headBytes);
    } catch (e) {
      if (fd !== null) fs.closeSync(fd);
      fs.closeSync(idxFd);
      throw e;
    }
  }

  close(): void {
    this.data = null;
    this.pages.clear();
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    if (this.idxFd !== null) {
      fs.closeSync(this.idxFd);
      this.idxFd = null;
    }
  }

  /** `len` bytes of the index at `at`, read now (counted). */
  private readIdx(at: number, len: number): Buffer {
    if (this.idxFd === null) throw new Error(`pack ${this.name}: already closed`);
    const buf = Buffer.allocUnsafe(len);
    readExactly(this.idxFd, buf, at);
    this.idxBytesRead += len;
    idxCounter.bytes += len;
    return buf;
  }

  /** Bytes per name entry (v1 entries carry their offset before the name). */
  private get stride(): number {
    return this.version === 2 ? 20 : 24;
  }

  /** The page holding name entry `i`, and where entry `i` starts in it. */
  private nameAt(i: number): { page: Buffer; at: number } {
    const no = Math.floor(i / IDX_PAGE_ENTRIES);
    let page = this.pages.get(no);
    if (page) {
      this.pages.delete(no);
      this.pages.set(no, page);
    } else {
      const first = no * IDX_PAGE_ENTRIES;
      const entries = Math.min(IDX_PAGE_ENTRIES, this.count - first);
      // v1 records are offset (4) + name (20): a page starts at a record, the name 4 bytes in.
      const base = this.version === 2 ? this.namesAt : this.namesAt - 4;
      page = this.readIdx(base + first * this.stride, entries * this.stride);
      this.pages.set(no, page);
      if (this.pages.size > IDX_PAGES_KEPT) {
        const oldest = this.pages.keys().next();
        if (!oldest.done) this.pages.delete(oldest.value);
      }
    }
    return { page, at: (i - no * IDX_PAGE_ENTRIES) * this.stride + (this.version === 2 ? 0 : 4) };
  }

  /** Pack offset of the object, or -1. */
  find(oid: Buffer): number {
    const first = oid[0] ?? 0;
    let lo = first === 0 ? 0 : (this.fanout[first - 1] ?? 0);
    let hi = this.fanout[first] ?? 0;
    // Compare as big-endian words: cheaper than Buffer.compare's native call for 20 bytes.
    const w0 = oid.readUInt32BE(0);
    const w1 = oid.readUInt32BE(4);
    const w2 = oid.readUInt32BE(8);
    const w3 = oid.readUInt32BE(12);
    const w4 = oid.readUInt32BE(16);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const { page, at } = this.nameAt(mid);
      let c = page.readUInt32BE(at) - w0;
      if (c === 0) c = page.readUInt32BE(at + 4) - w1;
      if (c === 0) c = page.readUInt32BE(at + 8) - w2;
      if (c === 0) c = page.readUInt32BE(at + 12) - w3;
      if (c === 0) c = page.readUInt32BE(at + 16) - w4;
      if (c === 0) return this.offsetOf(mid);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  private offsetOf(i: number): number {
    if (this.version === 1) {
      // In a v1 index the offset leads the entry's record, just before the name.
      const { page, at } = this.nameAt(i);
      return page.readUInt32BE(at - 4);
    }
    return this.decodeOffset(this.readIdx(this.offsetsAt + i * 4, 4).readUInt32BE(0), (li) => this.readIdx(this.largeAt + li * 8, 8));
  }

  /** A v2 offset entry; the MSB set means an index into the 64-bit table (packs over 2 GiB). */
  private decodeOffset(v: number, large: (li: number) => Buffer): number {
    if ((v & 0x80000000) === 0) return v;
    const li = v & 0x7fffffff;
    if (li >= this.largeCount) throw new Error(`pack ${this.name}: large offset index ${li} out of range`);
    const b = large(li);
    const hi = b.readUInt32BE(0);
    const lo = b.readUInt32BE(4);
    if (hi >= 0x200000) throw new Error(`pack ${this.name}: offset beyond 2^53`);
    return hi * 0x100000000 + lo;
  }

  /**
   * The entry at `offset`: its header, and a buffer holding its zlib data from
   * `dataAt`. From the whole pack when it was read whole (zlib stops at the
   * stream's end, so the rest of the pack may follow); otherwise read from
   * disk, sized by the header so one read usually suffices. `exact` reads
   * exactly up to the next entry (the fallback when the guess was short).
   * `budget` decides whether this pack may be read whole now.
   */
  entry(offset: number, fail: (why: string) => Error, budget: { left: number; limit: number }, exact = false): { buf: Buffer; header: EntryHeader; end: number } {
    const dataEnd = this.packSize - 20;
    if (offset < 12 || offset >= dataEnd) throw new Error(`pack ${this.name}: entry offset ${offset} out of range`);
    if (this.fd === null && !this.data) throw new Error(`pack ${this.name}: already closed`);
    if (!this.data && this.packSize <= budget.limit && this.packSize <= budget.left && this.fd !== null) {
      const whole = Buffer.allocUnsafe(this.packSize);
      readExactly(this.fd, whole, 0);
      this.data = whole;
      this.wholeBytes = this.packSize;
      budget.left -= this.packSize;
    }
    if (this.data) return { buf: this.data, header: parseEntryHeader(this.data, offset, dataEnd, offset, fail), end: dataEnd };
    const fd = this.fd as number;
    if (exact) {
      const end = this.nextOffset(offset, dataEnd);
      const buf = Buffer.allocUnsafe(end - offset);
      readExactly(fd, buf, offset);
      return { buf, header: parseEntryHeader(buf, 0, buf.length, offset, fail), end: buf.length };
    }
    let buf = Buffer.allocUnsafe(Math.min(FIRST_WINDOW, dataEnd - offset));
    readExactly(fd, buf, offset);
    const header = parseEntryHeader(buf, 0, buf.length, offset, fail);
    // zlib's deflateBound: what git's zlib can have made of `size` bytes, plus its 6-byte wrapper.
    const want = header.dataAt + header.size + (header.size >>> 12) + (header.size >>> 14) + 64;
    if (want > buf.length && buf.length < dataEnd - offset) {
      const more = Buffer.allocUnsafe(Math.min(want, dataEnd - offset));
      buf.copy(more, 0);
      readExactly(fd, more.subarray(buf.length), offset + buf.length);
      buf = more;
    }
    return { buf, header, end: buf.length };
  }

  /** The pack's bytes when it was read whole, else null. */
  get wholeData(): Buffer | null {
    return this.data;
  }

  private nextOffset(offset: number, dataEnd: number): number {
    let sorted = this.sortedOffsets;
    if (!sorted) {
      // The whole offset table, once: a fallback for an entry whose data the first guess did not cover.
      const n = this.count;
      sorted = new Float64Array(n);
      if (this.version === 1) {
        const recs = this.readIdx(1024, n * 24);
        for (let i = 0; i < n; i++) sorted[i] = recs.readUInt32BE(i * 24);
      } else {
        const table = this.readIdx(this.offsetsAt, n * 4);
        const large = this.largeCount > 0 ? this.readIdx(this.largeAt, this.largeCount * 8) : Buffer.alloc(0);
        for (let i = 0; i < n; i++) sorted[i] = this.decodeOffset(table.readUInt32BE(i * 4), (li) => large.subarray(li * 8, li * 8 + 8));
      }
      sorted.sort();
      this.sortedOffsets = sorted;
    }
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] ?? 0) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length ? (sorted[lo] ?? dataEnd) : dataEnd;
  }
}

function readExactly(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of pack file at ${position + done}`);
    done += n;
  }
}

interface EntryHeader {
  code: number;
  size: number;
  /** Where the zlib stream starts, in the entry's buffer. */
  dataAt: number;
  baseOffset: number;
  baseOid: Buffer | null;
}

function parseEntryHeader(buf: Buffer, at: number, end: number, offset: number, fail: (why: string) => Error): EntryHeader {
  let p = at;
  const next = (): number => {
    if (p >= end) throw fail('entry header runs past the end of the pack');
    return buf[p++] ?? 0;
  };
  let c = next();
  const code = (c >> 4) & 7;
  let size = c & 15;
  let mult = 16;
  while (c & 0x80) {
    c = next();
    size += (c & 0x7f) * mult;
    mult *= 128;
    if (mult > 2 ** 53) throw fail('entry size varint too long');
  }
  let baseOffset = -1;
  let baseOid: Buffer | null = null;
  if (code === OBJ_OFS_DELTA) {
    c = next();
    let rel = c & 0x7f;
    while (c & 0x80) {
      c = next();
      // The +1 makes every multi-byte encoding distinct from the shorter ones.
      rel = (rel + 1) * 128 + (c & 0x7f);
      if (rel > offset) throw fail('delta base offset out of range');
    }
    baseOffset = offset - rel;
    if (rel === 0 || baseOffset < 12) throw fail('delta base offset out of range');
  } else if (code === OBJ_REF_DELTA) {
    if (p + 20 > end) throw fail('entry header runs past the end of the pack');
    baseOid = buf.subarray(p, p + 20);
    p += 20;
  } else if (TYPE_BY_CODE[code] === undefined) {
    throw fail(`invalid object type ${code}`);
  }
  return { code, size, dataAt: p, baseOffset, baseOid };
}

function inflateEntry(buf: Buffer, at: number, end: number, size: number, fail: (why: string) => Error): Buffer {
  if (size > MAX_INFLATE_LENGTH) throw fail(`object size ${size} too large`);
  let out: Buffer;
  try {
    // Node's inflate stops at the zlib stream end and ignores whatever follows
    // (the next entry), so handing it the rest of the pack is correct; a
    // stream cut short still throws "unexpected end of file". maxOutputLength
    // stops a corrupt stream from inflating without bound.
    out = zlib.inflateSync(buf.subarray(at, end), {
      maxOutputLength: Math.max(size, 1),
      chunkSize: Math.min(Math.max(size + 1, 64), MAX_INFLATE_CHUNK),
    });
  } catch (e) {
    throw fail(`inflate failed: ${(e as Error).message}`);
  }
  if (out.length !== size) throw fail(`inflated to ${out.length} bytes, header says ${size}`);
  return out;
}

function readVarint(d: Buffer, state: { p: number }, fail: (why: string) => Error): number {
  let v = 0;
  let mult = 1;
  for (;;) {
    if (state.p >= d.length) throw fail('delta header truncated');
    const c = d[state.p++] ?? 0;
    v += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) return v;
    mult *= 128;
    if (mult > 2 ** 53) throw fail('delta size varint too long');
  }
}

function applyDelta(base: Buffer, delta: Buffer, fail: (why: string) => Error, checkSize: (n: number) => void): Buffer {
  const st = { p: 0 };
  const srcSize = readVarint(delta, st, fail);
  if (srcSize !== base.length) throw fail(`delta expects a ${srcSize}-byte base, got ${base.length}`);
  const dstSize = readVarint(delta, st, fail);
  checkSize(dstSize);
  const out = Buffer.allocUnsafe(dstSize);
  let o = 0;
  let p = st.p;
  const n = delta.length;
  while (p < n) {
    const cmd = delta[p++] ?? 0;
    if (cmd & 0x80) {
      let off = 0;
      let len = 0;
      if (p + popcount7(cmd) > n) throw fail('delta copy op truncated');
      if (cmd & 0x01) off = delta[p++] ?? 0;
      if (cmd & 0x02) off |= (delta[p++] ?? 0) << 8;
      if (cmd & 0x04) off |= (delta[p++] ?? 0) << 16;
      if (cmd & 0x08) off |= (delta[p++] ?? 0) << 24;
      off >>>= 0;
      if (cmd & 0x10) len = delta[p++] ?? 0;
      if (cmd & 0x20) len |= (delta[p++] ?? 0) << 8;
      if (cmd & 0x40) len |= (delta[p++] ?? 0) << 16;
      if (len === 0) len = 0x10000;
      if (off + len > base.length) throw fail('delta copy op reads past the base');
      if (o + len > dstSize) throw fail('delta copy op writes past the target size');
      base.copy(out, o, off, off + len);
      o += len;
    } else if (cmd !== 0) {
      if (p + cmd > n) throw fail('delta insert op truncated');
      if (o + cmd > dstSize) throw fail('delta insert op writes past the target size');
      delta.copy(out, o, p, p + cmd);
      p += cmd;
      o += cmd;
    } else {
      throw fail('delta uses reserved opcode 0');
    }
  }
  if (o !== dstSize) throw fail(`delta produced ${o} bytes, header says ${dstSize}`);
  return out;
}

function popcount7(cmd: number): number {
  let c = 0;
  for (let b = 0; b < 7; b++) if (cmd & (1 << b)) c++;
  return c;
}

/** Resolved delta bases by (pack, offset); Map iteration order doubles as recency. */
class BaseCache {
  private readonly map = new Map<string, RawObject>();
  private bytes = 0;

  get(pack: PackFile, offset: number): RawObject | undefined {
    const key = `${pack.id}:${offset}`;
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  set(pack: PackFile, offset: number, obj: RawObject): void {
    if (obj.content.length > CACHE_MAX_OBJECT) return;
    const key = `${pack.id}:${offset}`;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.content.length;
      this.map.delete(key);
    }
    this.map.set(key, obj);
    this.bytes += obj.content.length;
    while (this.bytes > CACHE_MAX_BYTES || this.map.size > CACHE_MAX_ENTRIES) {
      const first = this.map.entries().next();
      if (first.done) break;
      this.map.delete(first.value[0]);
      this.bytes -= first.value[1].content.length;
    }
  }

  dropPack(pack: PackFile): void {
    const prefix = `${pack.id}:`;
    for (const [k, v] of this.map) {
      if (k.startsWith(prefix)) {
        this.map.delete(k);
        this.bytes -= v.content.length;
      }
    }
  }
}

/** A pack listed in the folder; `pack` once opened, `failed` if that could not be done. */
interface PackSlot {
  readonly name: string;
  readonly mtime: number;
  pack: PackFile | null;
  failed: boolean;
}

interface PendingDelta {
  offset: number;
  delta: Buffer;
}

/** Reads objects from the pack files of one objects directory (`<gitdir>/objects`). Synchronous. */
export class PackStore {
  private readonly packDir: string;
  /** The packs listed by the last scan, newest first; each opened at its first lookup (see PackSlot). */
  private packs: PackSlot[] = [];
  /** Packs that exist but could not be opened: a miss cannot be trusted while any are present. */
  private broken: { name: string; error: Error }[] = [];
  private scannedMtimeNs = -1n;
  private scanWasRacy = true;
  private readonly cache = new BaseCache();
  /** Index bytes read by packs since dropped (stats). */
  private idxBytesDropped = 0;
  private readonly budget: { left: number; limit: number };

  /**
   * @param fallback resolves REF_DELTA bases found in no pack (loose objects);
   *   git never stores thin packs, so this is a safety net rather than a hot path.
   * @param options.maxWholePackBytes packs up to this size may be read into
   *   memory whole, larger ones per entry (default 4 MiB, 16 MiB for all packs
   *   together); 0 reads every pack per entry.
   */
  constructor(
    objectsDir: string,
    private readonly fallback?: (oid: string) => RawObject | null,
    options?: { maxWholePackBytes?: number },
  ) {
    this.packDir = path.join(objectsDir, 'pack');
    const limit = options?.maxWholePackBytes ?? WHOLE_FILE_LIMIT;
    this.budget = { left: Math.max(limit, WHOLE_FILE_BUDGET), limit };
    this.scan();
  }

  /**
   * The object, or null if no pack holds it. Rescans objects/pack once when
   * the oid is not found and the pack dir changed since the last scan (new
   * packs appear after `git gc`/`git fetch`). Throws on corrupt pack data
   * (the object's SHA-1 is verified) and, on a miss, if some pack in the
   * directory could not be opened. The returned buffer is the caller's to keep.
   */
  read(oid: string, maxBytes = Number.MAX_SAFE_INTEGER): RawObject | null {
    const key = oidBytes(oid);
    const hit = this.locate(key);
    if (!hit) return null;
    const obj = this.resolve(hit.pack, hit.offset, oid, 0, true, maxBytes);
    verifyOid(oid, obj);
    return obj;
  }

  has(oid: string): boolean {
    return this.locate(oidBytes(oid)) !== null;
  }

  /** What this store has read so far: `idxBytesRead`, bytes of pack indexes (never whole, unless asked for every object). */
  stats(): { idxBytesRead: number; packs: number; opened: number } {
    let n = this.idxBytesDropped;
    let open = 0;
    for (const p of this.packs) {
      if (!p.pack) continue;
      n += p.pack.idxBytesRead;
      open++;
    }
    return { idxBytesRead: n, packs: this.packs.length, opened: open };
  }

  /**
   * Looks at the pack folder again now, whatever its timestamp says (after a
   * miss that may be a race with `git gc` or `git repack`).
   */
  rescan(): void {
    this.scan();
  }

  /** Releases the packs' file descriptors and buffers; the store rescans if used again. */
  close(): void {
    for (const p of this.packs) if (p.pack) this.drop(p.pack);
    this.packs = [];
    this.broken = [];
    this.scannedMtimeNs = -1n;
    this.scanWasRacy = true;
  }

  private locate(key: Buffer): { pack: PackFile; offset: number } | null {
    const found = this.findInPacks(key, null);
    if (found) return found;
    if (this.rescanIfChanged()) {
      const again = this.findInPacks(key, null);
      if (again) return again;
    }
    if (this.broken.length > 0) {
      const b = this.broken[0];
      throw new Error(
        `object ${key.toString('hex')} not found and ${this.broken.length} pack(s) could not be read: ${b?.name}: ${b?.error.message}`,
      );
    }
    return null;
  }

  private findInPacks(key: Buffer, skip: PackFile | null): { pack: PackFile; offset: number } | null {
    const packs = this.packs;
    for (let i = 0; i < packs.length; i++) {
      const slot = packs[i];
      if (!slot) continue;
      const pack = slot.pack ?? this.openSlot(slot);
      if (!pack || pack === skip) continue;
      const offset = pack.find(key);
      if (offset >= 0) {
        // Lookups cluster by pack (e.g. everything from one fetch), so try the last hit first next time.
        if (i > 0) {
          packs.splice(i, 1);
          packs.unshift(slot);
        }
        return { pack, offset };
      }
    }
    return null;
  }

  /**
   * Opens a listed pack at its first lookup: a host repository's many packs
   * cost a stat each until one is searched. Held open from then on. A pack
   * gone meanwhile (a concurrent gc) is skipped; one that cannot be read is
   * remembered, so that a miss is not trusted while it is there.
   */
  private openSlot(slot: PackSlot): PackFile | null {
    if (slot.failed) return null;
    try {
      slot.pack = PackFile.open(this.packDir, slot.name);
      return slot.pack;
    } catch (e) {
      slot.failed = true;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.broken.push({ name: slot.name, error: e as Error });
      return null;
    }
  }

  private drop(p: PackFile): void {
    this.idxBytesDropped += p.idxBytesRead;
    p.idxBytesRead = 0;
    this.budget.left += p.wholeBytes;
    p.wholeBytes = 0;
    p.close();
    this.cache.dropPack(p);
  }

  private dirMtimeNs(): bigint {
    try {
      return fs.statSync(this.packDir, { bigint: true }).mtimeNs;
    } catch {
      return -1n;
    }
  }

  private rescanIfChanged(): boolean {
    if (!this.scanWasRacy && this.dirMtimeNs() === this.scannedMtimeNs) return false;
    this.scan();
    return true;
  }

  private scan(): void {
    const mtime = this.dirMtimeNs();
    let names: string[];
    try {
      names = fs.readdirSync(this.packDir);
    } catch {
      names = [];
    }
    const present = new Set(names);
    const old = new Map(this.packs.map((p) => [p.name, p]));
    const fresh: PackSlot[] = [];
    for (const n of names) {
      if (!IDX_NAME_RE.test(n)) continue;
      const base = n.slice(0, -4);
      // An .idx without its .pack is not a pack we can read (git writes the .pack first).
      if (!present.has(`${base}.pack`)) continue;
      const prev = old.get(base);
      if (prev?.pack) {
        // Opened already: its descriptors keep its data readable whatever happens to the files.
        old.delete(base);
        fresh.push(prev);
        continue;
      }
      let m: number;
      try {
        m = fs.statSync(path.join(this.packDir, `${base}.pack`)).mtimeMs;
      } catch {
        continue; // deleted since the listing: a concurrent gc
      }
      // A pack that failed to open is tried again: a rescan may find it whole now.
      fresh.push({ name: base, mtime: m, pack: null, failed: false });
    }
    for (const gone of old.values()) if (gone.pack) this.drop(gone.pack);
    // Newest first, like git: recent objects are the ones most often asked for.
    fresh.sort((a, b) => b.mtime - a.mtime);
    this.packs = fresh;
    this.broken = [];
    this.scannedMtimeNs = mtime;
    this.scanWasRacy = mtime < 0n || BigInt(Date.now()) * 1_000_000n - mtime < RACY_WINDOW_NS;
  }

  /**
   * Walks the delta chain down to something already whole (a plain entry, a
   * cached base, or a base from elsewhere), then applies the deltas back up.
   * Iterative so deep chains cannot overflow the stack.
   */
  private resolve(pack: PackFile, offset: number, oid: string, depth: number, forCaller: boolean, maxBytes: number): RawObject {
    if (depth > MAX_CROSS_PACK_DEPTH) throw new Error(`object ${oid}: REF_DELTA bases nest too deeply (corrupt or cyclic packs)`);
    const chain: PendingDelta[] = [];
    let base: RawObject | null = null;
    let cur = offset;
    while (base === null) {
      const cached = this.cache.get(pack, cur);
      if (cached) {
        // The cache keeps its copy pristine for later deltas.
        base = chain.length === 0 && forCaller ? { type: cached.type, content: Buffer.from(cached.content) } : cached;
        break;
      }
      const at = cur;
      const fail = (why: string): Error => new Error(`object ${oid}: corrupt pack ${pack.name} at offset ${at}: ${why}`);
      let e = pack.entry(cur, fail, this.budget);
      const h = e.header;
      // Refused from the header: a zlib bomb (a 1 GiB blob of zeros packs into a few MB) is never inflated.
      if (h.size > maxBytes) throw new ObjectTooLargeError(oid, h.size, maxBytes);
      let content: Buffer;
      try {
        content = inflateEntry(e.buf, h.dataAt, e.end, h.size, fail);
      } catch (err) {
        // The window guessed from the header was short (data that zlib's bound does not cover): read to the next entry.
        if (e.buf !== pack.wholeData) {
          e = pack.entry(cur, fail, this.budget, true);
          content = inflateEntry(e.buf, e.header.dataAt, e.end, e.header.size, fail);
        } else {
          throw err;
        }
      }
      const type = TYPE_BY_CODE[h.code];
      if (type !== undefined) {
        base = { type, content };
        if (chain.length > 0) this.cache.set(pack, cur, base);
        break;
      }
      if (chain.length === 0) {
        // The result's size leads the delta: refuse before resolving the chain.
        const st = { p: 0 };
        readVarint(content, st, fail);
        const target = readVarint(content, st, fail);
        if (target > maxBytes) throw new ObjectTooLargeError(oid, target, maxBytes);
      }
      chain.push({ offset: cur, delta: content });
      if (chain.length > MAX_CHAIN) throw fail(`delta chain longer than ${MAX_CHAIN}`);
      if (h.code === OBJ_OFS_DELTA) {
        cur = h.baseOffset;
        continue;
      }
      const baseKey = h.baseOid as Buffer;
      const local = pack.find(baseKey);
      if (local >= 0) {
        cur = local;
        continue;
      }
      base = this.externalBase(baseKey, pack, oid, depth, maxBytes);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const step = chain[i] as PendingDelta;
      const fail = (why: string): Error => new Error(`object ${oid}: corrupt delta in pack ${pack.name} at offset ${step.offset}: ${why}`);
      base = { type: base.type, content: applyDelta(base.content, step.delta, fail, (n) => {
        if (n > maxBytes) throw new ObjectTooLargeError(oid, n, maxBytes);
      }) };
      if (i > 0) this.cache.set(pack, step.offset, base);
    }
    return base;
  }

  private externalBase(key: Buffer, from: PackFile, oid: string, depth: number, maxBytes: number): RawObject {
    const hit = this.findInPacks(key, from);
    const baseOid = key.toString('hex');
    if (hit) {
      const obj = this.resolve(hit.pack, hit.offset, oid, depth + 1, false, maxBytes);
      this.cache.set(hit.pack, hit.offset, obj);
      return obj;
    }
    const loose = this.fallback?.(baseOid) ?? null;
    if (loose) return loose;
    throw new Error(`object ${oid}: delta base ${baseOid} not found in any pack or via fallback`);
  }
}

function oidBytes(oid: string): Buffer {
  if (!OID_RE.test(oid)) throw new TypeError(`not a 40-char lowercase hex object id: ${JSON.stringify(oid)}`);
  return Buffer.from(oid, 'hex');
}

/**
 * zlib's checksum covers each stream, not which entry the index pointed us at
 * or a flipped type bit; the oid covers everything, for ~1.5 µs per small object.
 */
function verifyOid(oid: string, obj: RawObject): void {
  const h = crypto.createHash('sha1');
  h.update(`${obj.type} ${obj.content.length}\0`);
  h.update(obj.content);
  const got = h.digest('hex');
  if (got !== oid) throw new Error(`object ${oid}: pack data hashes to ${got} (corrupt pack)`);
}
