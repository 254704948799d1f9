// Kafka's segment indexes in Kafka's exact on-disk format:
//
//   <baseOffset>.index      8-byte entries: relativeOffset int32 BE | position int32 BE
//   <baseOffset>.timeindex 12-byte entries: timestamp int64 BE      | relativeOffset int32 BE
//
// relativeOffset is the absolute offset minus the segment's base offset, so one
// segment covers at most 2^31 - 1 offsets past its base (the log rolls before
// that: see canAppendOffset). Files carry no header and no checksum; after an
// unclean shutdown the log rebuilds them from the segment data, as Kafka does.
//
// A writable index is preallocated to maxIndexBytes (Kafka's segment.index.bytes,
// 10 MiB by default) and trimmed to its valid entries on roll and close, so the
// size of a closed file says how many entries it holds. A file found at open is
// taken to hold floor(size / entryBytes) entries, Kafka's rule; after a crash
// that count includes preallocated zero entries, which sanityCheck() reports
// (for the time index) and the log's recovery replaces.
//
// Two implementations share one contract (NativeIndexFile in src/native/types.ts):
// - native: the addon's IndexFile, fallocate + mmap (native/index-file.cc);
// - js: for machines without the addon, the valid entries live in a Buffer (the
//   file is read once at open) and each append is one positional write. New files
//   are preallocated with ftruncate, so they are sparse: ENOSPC can then surface
//   on an append instead of at creation. Both produce byte-identical files.
//
// Reads never cross N-API per call: a lookup is a few hundred nanoseconds of
// which an N-API call alone would be ~150-250. The native file hands out its
// mapping as an ArrayBuffer (mappedBuffer), and the index classes below search
// it with the same code (searchEntries) the JS implementation runs over its
// Buffer. The native side detaches that ArrayBuffer before any unmap, so a
// stale view throws TypeError rather than reading unmapped memory; the index
// classes fetch a new one after open and resize, the only calls that remap.
//
// Opening is lazy (Kafka's LazyIndex): constructing an index touches nothing on
// disk; the first call that needs entries opens (and, if writable and missing,
// creates) the file; close() releases the mapping and fd and a later call opens
// it again. A broker with many partitions times many segments therefore maps
// only the indexes it reads.
//
// Ownership: an index belongs to its segment, used by the partition's single
// writer on the JS thread; no locking.
import assert from 'node:assert';
import fs from 'node:fs';
import { nativeAddon } from '../native/addon.js';
import type { IndexKind, NativeIndexFile } from '../native/types.js';

export type IndexImpl = 'native' | 'js';

export interface IndexOptions {
  /** segment.index.bytes: the preallocated size of a writable index, rounded down to whole entries. */
  maxIndexBytes: number;
  /** Read-only indexes are mapped PROT_READ, never created or extended; truncation is then in memory only. */
  writable: boolean;
  /** Defaults to 'native' when the addon is loaded, else 'js'. */
  impl?: IndexImpl;
}

export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;
/** Kafka's default segment.index.bytes. */
export const INDEX_BYTES_DEFAULT = 10 * 1024 * 1024;
/** Kafka's maxIndexSize is an int: an index file never exceeds 2^31 - 1 bytes. */
export const INDEX_BYTES_MAX = 2 ** 31 - 1;
/** Relative offsets and positions are stored as int32. */
const RELATIVE_OFFSET_MAX = 2 ** 31 - 1;
const POSITION_MAX = 2 ** 31 - 1;
/** Kafka's RecordBatch.NO_TIMESTAMP: what an empty time index reports. */
export const NO_TIMESTAMP = -1;
// Kafka's warm section: the last 8 KiB of entries, searched first because
// tailing consumers and followers look up recent offsets, and touching only
// those pages keeps them resident (AbstractIndex.warmEntries).
const WARM_SECTION_BYTES = 8192;

export class CorruptIndexError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'CorruptIndexError';
  }
}

/** An append to an index with no free slot; the log rolls the segment first. */
export class IndexFullError extends Error {
  constructor(
    readonly path: string,
    readonly entryCount: number,
  ) {
    super(`index ${path} is full (${entryCount} entries)`);
    this.name = 'IndexFullError';
  }
}

/** Kafka's InvalidOffsetException (and the time index's timestamp check): appends must move forward. */
export class IndexOrderError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'IndexOrderError';
  }
}

/** Kafka's IndexOffsetOverflowException: offset - baseOffset is outside [0, 2^31-1]. */
export class IndexOffsetOverflowError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly baseOffset: number,
  ) {
    super(`offset ${offset} is not within int32 of base offset ${baseOffset} (${path})`);
    this.name = 'IndexOffsetOverflowError';
  }
}

export interface OffsetPosition {
  offset: number;
  position: number;
}

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

// Status codes of NativeIndexFile.append.
const APPEND_OK = 0;
const APPEND_FULL = 1;

function isErrnoCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function checkIndexBytes(name: string, bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > INDEX_BYTES_MAX) {
    throw new RangeError(`${name} must be an integer in [0, ${INDEX_BYTES_MAX}], got ${bytes}`);
  }
}

// The entry search, shared by JsIndexFile (over its Buffer) and the index
// classes (over the native mapping), so both implementations answer every
// lookup the same way. `view` must hold at least `count` entries; a DataView
// bounds-checks every read, so a wrong count throws rather than reading
// outside the view, and a detached view throws TypeError.

/** Key of `slot` in on-disk units: relative offset, or timestamp (exact below 2^53). */
function keyAt(view: DataView, slot: number, entryBytes: number, isTime: boolean): number {
  const at = slot * entryBytes;
  if (!isTime) return view.getInt32(at);
  return view.getInt32(at) * 2 ** 32 + view.getUint32(at + 4);
}

// Kafka's binary search over [lo, hi]; slot lo is known to qualify.
function searchRange(view: DataView, entryBytes: number, isTime: boolean, key: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const found = keyAt(view, mid, entryBytes, isTime);
    if (found > key) hi = mid - 1;
    else if (found < key) lo = mid;
    else return mid;
  }
  return lo;
}

/** Writes entry `slot` as absolute numbers into out[0..1]: (offset, position) or (timestamp, offset). */
function readEntry(view: DataView, slot: number, entryBytes: number, isTime: boolean, baseOffset: number, out: Float64Array): void {
  const at = slot * entryBytes;
  if (isTime) {
    out[0] = view.getInt32(at) * 2 ** 32 + view.getUint32(at + 4);
    out[1] = baseOffset + view.getInt32(at + 8);
  } else {
    out[0] = baseOffset + view.getInt32(at);
    out[1] = view.getInt32(at + 4);
  }
}

/**
 * NativeIndexFile.lookup over `count` entries of `view`: the largest entry whose
 * key is <= target, written into out[0..1]; returns its slot or -1. Kafka's
 * AbstractIndex.indexSlotRangeFor: the warm section (last 8 KiB of entries)
 * first when the target is past its first key, else the first entry and the
 * cold part.
 */
function searchEntries(
  view: DataView,
  count: number,
  entryBytes: number,
  isTime: boolean,
  baseOffset: number,
  target: number,
  out: Float64Array,
): number {
  if (Number.isNaN(target)) throw new RangeError('lookup: target is NaN');
  if (count === 0) return -1;
  const key = isTime ? Math.floor(target) : Math.floor(target) - baseOffset;
  const last = count - 1;
  const firstHot = Math.max(0, last - Math.floor(WARM_SECTION_BYTES / entryBytes));
  let slot: number;
  if (keyAt(view, firstHot, entryBytes, isTime) < key) slot = searchRange(view, entryBytes, isTime, key, firstHot, last);
  else if (keyAt(view, 0, entryBytes, isTime) > key) slot = -1;
  else slot = searchRange(view, entryBytes, isTime, key, 0, firstHot);
  if (slot >= 0) readEntry(view, slot, entryBytes, isTime, baseOffset, out);
  return slot;
}

/**
 * The TypeScript implementation of the NativeIndexFile contract. The valid
 * entries are kept in `entries` (grown by doubling up to the capacity), so
 * lookups never read the file; appends write through with one pwrite each.
 */
export class JsIndexFile implements NativeIndexFile {
  private readonly entryBytes: number;
  private readonly isTime: boolean;
  private fd: number;
  private entries: Buffer;
  // Reads go through a DataView over `entries`: big-endian by default and
  // cheaper per call than Buffer.readInt32BE, which matters in the search loop.
  private view: DataView;
  private count: number;
  private capacity: number;
  private fileBytes: number;

  constructor(
    private readonly path: string,
    kind: IndexKind,
    private readonly baseOffset: number,
    maxBytes: number,
    private readonly writable: boolean,
  ) {
    if (kind !== 'offset' && kind !== 'time') throw new TypeError(`IndexFile kind must be 'offset' or 'time'`);
    this.isTime = kind === 'time';
    this.entryBytes = this.isTime ? TIME_INDEX_ENTRY_BYTES : OFFSET_INDEX_ENTRY_BYTES;
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
      throw new RangeError('IndexFile baseOffset must be an integer in [0, 2^53-1]');
    }
    checkIndexBytes('IndexFile maxBytes', maxBytes);
    const maxRoundedBytes = maxBytes - (maxBytes % this.entryBytes);
    if (writable && maxRoundedBytes === 0) throw new RangeError('IndexFile maxBytes is smaller than one entry');

    let created = false;
    if (writable) {
      try {
        this.fd = fs.openSync(path, 'wx+', 0o644);
        created = true;
      } catch (err) {
        if (!isErrnoCode(err, 'EEXIST')) throw err;
        this.fd = fs.openSync(path, 'r+');
      }
    } else {
      this.fd = fs.openSync(path, 'r');
    }
    try {
      let fileBytes = fs.fstatSync(this.fd).size;
      if (fileBytes > INDEX_BYTES_MAX) {
        throw new Error(`index file ${path} has ${fileBytes} bytes, more than an index may hold (2^31-1)`);
      }
      const validBytes = fileBytes - (fileBytes % this.entryBytes);
      this.entries = Buffer.alloc(validBytes);
      this.view = new DataView(this.entries.buffer, this.entries.byteOffset, this.entries.byteLength);
      const readBytes = this.readFully(validBytes);
      this.count = Math.floor(readBytes / this.entryBytes);
      if (writable && maxRoundedBytes > fileBytes) {
        fs.ftruncateSync(this.fd, maxRoundedBytes);
        fileBytes = maxRoundedBytes;
      }
      this.fileBytes = fileBytes;
      this.capacity = Math.floor(fileBytes / this.entryBytes);
    } catch (err) {
      fs.closeSync(this.fd);
      if (created) fs.rmSync(path, { force: true });
      throw err;
    }
  }

  private readFully(bytes: number): number {
    let done = 0;
    while (done < bytes) {
      const n = fs.readSync(this.fd, this.entries, done, bytes - done, done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new Error(`index file ${this.path} is closed`);
  }

  private checkOut(out: Float64Array): void {
    if (!(out instanceof Float64Array) || out.length < 2) {
      throw new TypeError('out must be a Float64Array of length >= 2');
    }
  }

  entryCount(): number {
    this.checkOpen();
    return this.count;
  }

  entryCapacity(): number {
    this.checkOpen();
    return this.capacity;
  }

  append(key: number, value: number): number {
    this.checkOpen();
    if (!this.writable) throw new Error(`index file ${this.path} is read-only`);
    if (!Number.isSafeInteger(key) || !Number.isSafeInteger(value)) {
      throw new RangeError('append: key and value must be integers below 2^53');
    }
    if (this.count >= this.capacity) return APPEND_FULL;
    const relative = (this.isTime ? value : key) - this.baseOffset;
    if (relative < 0 || relative > RELATIVE_OFFSET_MAX) return 2;
    if (!this.isTime && (value < 0 || value > POSITION_MAX)) return 2;
    const at = this.count * this.entryBytes;
    this.ensureRoom(at + this.entryBytes);
    const b = this.entries;
    if (this.isTime) {
      // int64 as two int32 halves: exact for |key| < 2^53.
      const high = Math.floor(key / 2 ** 32);
      b.writeInt32BE(high, at);
      b.writeUInt32BE(key - high * 2 ** 32, at + 4);
      b.writeInt32BE(relative, at + 8);
    } else {
      b.writeInt32BE(relative, at);
      b.writeInt32BE(value, at + 4);
    }
    // The count moves only once the bytes are in the file: a failed write
    // (ENOSPC on the sparse preallocation) leaves the index as it was.
    const written = fs.writeSync(this.fd, b, at, this.entryBytes, at);
    if (written !== this.entryBytes) throw new Error(`short write to index file ${this.path}`);
    this.count++;
    return APPEND_OK;
  }

  private ensureRoom(bytes: number): void {
    if (bytes <= this.entries.length) return;
    // Doubling keeps appends amortized O(1); the cap is the file's capacity.
    const grown = Buffer.alloc(Math.min(this.capacity * this.entryBytes, Math.max(bytes, 4096, this.entries.length * 2)));
    this.entries.copy(grown, 0, 0, this.count * this.entryBytes);
    this.entries = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  lookup(target: number, out: Float64Array): number {
    this.checkOpen();
    this.checkOut(out);
    return searchEntries(this.view, this.count, this.entryBytes, this.isTime, this.baseOffset, target, out);
  }

  entryAt(slot: number, out: Float64Array): void {
    this.checkOpen();
    this.checkOut(out);
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.count) {
      throw new RangeError(`entryAt: slot ${slot} outside [0, ${this.count}) in ${this.path}`);
    }
    readEntry(this.view, slot, this.entryBytes, this.isTime, this.baseOffset, out);
  }

  /** Nothing is mapped: `entries` is replaced as it grows, so callers use lookup and entryAt. */
  mappedBuffer(): ArrayBuffer | null {
    this.checkOpen();
    return null;
  }

  truncateToEntries(entryCount: number): void {
    this.checkOpen();
    if (!Number.isInteger(entryCount) || entryCount < 0 || entryCount > this.count) {
      throw new RangeError(`truncateToEntries: ${entryCount} outside [0, ${this.count}]`);
    }
    this.count = entryCount;
  }

  resize(maxBytes: number): void {
    this.checkOpen();
    checkIndexBytes('resize: maxBytes', maxBytes);
    const newBytes = maxBytes - (maxBytes % this.entryBytes);
    if (newBytes < this.count * this.entryBytes) {
      throw new RangeError(`resize: ${newBytes} bytes cannot hold the ${this.count} entries of ${this.path}`);
    }
    if (newBytes === this.fileBytes) return;
    if (!this.writable) throw new Error(`index file ${this.path} is read-only`);
    fs.ftruncateSync(this.fd, newBytes);
    this.fileBytes = newBytes;
    this.capacity = newBytes / this.entryBytes;
  }

  flush(): void {
    this.checkOpen();
    if (this.writable && this.count > 0) fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.entries = Buffer.alloc(0);
    this.view = new DataView(this.entries.buffer, this.entries.byteOffset, 0);
    try {
      if (this.writable) fs.ftruncateSync(fd, this.count * this.entryBytes);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function openIndexFile(
  impl: IndexImpl,
  path: string,
  kind: IndexKind,
  baseOffset: number,
  maxBytes: number,
  writable: boolean,
): NativeIndexFile {
  if (impl === 'js') return new JsIndexFile(path, kind, baseOffset, maxBytes, writable);
  const addon = nativeAddon();
  if (!addon) throw new Error('samsa native addon unavailable: use impl "js"');
  return new addon.IndexFile(path, kind, baseOffset, maxBytes, writable);
}

/**
 * What both index kinds share: lazy opening, sizing, close/delete/rename, and
 * the read path (search, readSlot) that goes through the native mapping when
 * there is one.
 */
abstract class LazyIndexFile {
  readonly baseOffset: number;
  readonly impl: IndexImpl;
  protected readonly options: IndexOptions;
  protected readonly entryBytes: number;
  private readonly isTime: boolean;
  protected file: NativeIndexFile | null = null;
  /** Kafka's `length`: the file size found at open (before preallocation), then the size set by resize. */
  protected lengthBytes = 0;
  /** Reused for every result the index file writes back. */
  protected readonly out = new Float64Array(2);
  // The file's entry count and capacity, mirrored here so that lookups and
  // appends cost no N-API call to learn them. This object is the file's only
  // user (one owner per segment), so the mirror is exact if every mutating
  // call updates it: open and resize read both back, append adds one on
  // success, truncateToEntries sets the count. close() checks the mirror
  // against the file. (A count written by native into a shared typed array
  // would also work, but costs a second buffer per file for no gain here.)
  protected count = 0;
  protected capacity = 0;
  // DataView over file.mappedBuffer(), or null when the file maps nothing
  // (the JS implementation, or an empty native mapping): reads then go
  // through lookup/entryAt. Fetched at open and after every resize, the only
  // calls that remap; the native side detaches the old buffer, so a view
  // missed here would throw TypeError, never read freed memory.
  private view: DataView | null = null;
  private currentPath: string;

  constructor(
    path: string,
    private readonly kind: IndexKind,
    baseOffset: number,
    options: IndexOptions,
  ) {
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
      throw new RangeError(`baseOffset must be an integer in [0, 2^53-1], got ${baseOffset}`);
    }
    checkIndexBytes('maxIndexBytes', options.maxIndexBytes);
    this.isTime = kind === 'time';
    this.entryBytes = this.isTime ? TIME_INDEX_ENTRY_BYTES : OFFSET_INDEX_ENTRY_BYTES;
    if (options.writable && options.maxIndexBytes < this.entryBytes) {
      throw new RangeError(`maxIndexBytes ${options.maxIndexBytes} is smaller than one entry (${this.entryBytes})`);
    }
    const impl = options.impl ?? (nativeAddon() ? 'native' : 'js');
    if (impl === 'native' && !nativeAddon()) throw new Error('samsa native addon unavailable: use impl "js"');
    this.currentPath = path;
    this.baseOffset = baseOffset;
    this.impl = impl;
    this.options = options;
  }

  get path(): string {
    return this.currentPath;
  }

  get isLoaded(): boolean {
    return this.file !== null;
  }

  get entryCount(): number {
    this.load();
    return this.count;
  }

  get maxEntries(): number {
    this.load();
    return this.capacity;
  }

  /** Bytes of valid entries (Kafka's sizeInBytes). */
  get sizeBytes(): number {
    return this.entryCount * this.entryBytes;
  }

  /** The open index file, opening it on first use. */
  protected load(): NativeIndexFile {
    if (this.file) return this.file;
    let foundBytes = -1;
    try {
      foundBytes = fs.statSync(this.currentPath).size;
    } catch (err) {
      if (!isErrnoCode(err, 'ENOENT')) throw err;
    }
    const { maxIndexBytes, writable } = this.options;
    const file = openIndexFile(this.impl, this.currentPath, this.kind, this.baseOffset, maxIndexBytes, writable);
    this.file = file;
    try {
      this.count = file.entryCount();
      this.capacity = file.entryCapacity();
      this.refreshView(file);
      this.lengthBytes = foundBytes >= 0 ? foundBytes : this.capacity * this.entryBytes;
      this.refreshLastEntry();
    } catch (err) {
      this.file = null;
      this.view = null;
      file.close();
      throw err;
    }
    return file;
  }

  /** Takes the current mapping, after open or anything that may have remapped. */
  private refreshView(file: NativeIndexFile): void {
    const buffer = file.mappedBuffer();
    this.view = buffer === null ? null : new DataView(buffer);
    // Reads stay below count * entryBytes, which the mapping must cover.
    // Without a buffer (the JS file, an empty native mapping, a runtime
    // without external buffers) reads go through lookup/entryAt.
    if (buffer !== null) assert(this.count * this.entryBytes <= buffer.byteLength);
  }

  /** Re-reads the cached last entry after open, truncation or resize. */
  protected abstract refreshLastEntry(): void;

  /**
   * NativeIndexFile.lookup, through the mapping when there is one: the largest
   * entry whose key is <= target is in this.out; returns its slot or -1.
   */
  protected search(target: number): number {
    const file = this.load();
    const view = this.view;
    if (view === null) return file.lookup(target, this.out);
    return searchEntries(view, this.count, this.entryBytes, this.isTime, this.baseOffset, target, this.out);
  }

  /** NativeIndexFile.entryAt into this.out, through the mapping when there is one. */
  protected readSlot(slot: number): void {
    const file = this.load();
    const view = this.view;
    if (view === null) {
      file.entryAt(slot, this.out);
      return;
    }
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.count) {
      throw new RangeError(`entryAt: slot ${slot} outside [0, ${this.count}) in ${this.path}`);
    }
    readEntry(view, slot, this.entryBytes, this.isTime, this.baseOffset, this.out);
  }

  /** file.append plus the count mirror; returns the file's status. */
  protected appendEntry(file: NativeIndexFile, key: number, value: number): number {
    const status = file.append(key, value);
    if (status === APPEND_OK) this.count++;
    return status;
  }

  /** Kafka's truncateToEntries: keeps the first `entryCount` entries. */
  protected truncateToEntries(entryCount: number): void {
    const file = this.load();
    file.truncateToEntries(entryCount);
    this.count = entryCount;
    this.refreshLastEntry();
  }

  /** Removes all entries. */
  truncate(): void {
    this.truncateToEntries(0);
  }

  /** Sets the file (and mapping) to `maxIndexBytes` rounded down to whole entries; never below the valid entries. */
  resize(maxIndexBytes: number): void {
    checkIndexBytes('maxIndexBytes', maxIndexBytes);
    const file = this.load();
    try {
      file.resize(maxIndexBytes);
    } finally {
      // Even a failed resize may have remapped (ftruncate fails after the
      // remap), and the old buffer is then detached.
      this.capacity = file.entryCapacity();
      this.refreshView(file);
    }
    this.lengthBytes = maxIndexBytes - (maxIndexBytes % this.entryBytes);
    this.refreshLastEntry();
  }

  /** Cuts the file to its valid entries, on roll: the index is then full. */
  trimToValidSize(): void {
    // Read-only files are never extended, so there is nothing to cut.
    if (!this.options.writable) return;
    this.load();
    this.resize(this.count * this.entryBytes);
  }

  /** Removes all entries and re-extends to maxIndexBytes (Kafka's reset, used by segment recovery). */
  reset(): void {
    this.truncate();
    this.resize(this.options.maxIndexBytes);
  }

  protected checkWritable(): void {
    if (!this.options.writable) throw new Error(`index ${this.path} is read-only`);
  }

  /** Durable on return. An index that is not open has nothing unwritten. */
  flush(): void {
    this.file?.flush();
  }

  /** Trims to the valid entries and releases the mapping and fd; a later call opens the file again. */
  close(): void {
    const file = this.file;
    if (!file) return;
    this.file = null;
    this.view = null;
    // The mirror must match the file it mirrors; checked here, once per open,
    // where an N-API call costs nothing that matters.
    const fileCount = file.entryCount();
    file.close();
    assert.equal(this.count, fileCount, `entry count of ${this.path} drifted from the file's`);
  }

  /** Closes (releasing the mapping before the unlink) and removes the file if it exists. */
  deleteFile(): void {
    this.close();
    fs.rmSync(this.currentPath, { force: true });
  }

  /** Renames the file (the open fd and mapping stay valid). An index never created just takes the new path. */
  renameTo(newPath: string): void {
    try {
      fs.renameSync(this.currentPath, newPath);
    } catch (err) {
      if (!(isErrnoCode(err, 'ENOENT') && !this.isLoaded)) throw err;
    }
    this.currentPath = newPath;
  }

  protected checkLength(): void {
    if (this.lengthBytes % this.entryBytes !== 0) {
      throw new CorruptIndexError(
        this.path,
        `index file ${this.path} is corrupt: ${this.lengthBytes} bytes is not a multiple of ${this.entryBytes}`,
      );
    }
  }
}

/**
 * Kafka's OffsetIndex: sparse map from offset to the byte position of the batch
 * holding it in the segment's .log file. Offsets strictly increase.
 */
export class OffsetIndex extends LazyIndexFile {
  private lastOffsetValue = 0;

  constructor(path: string, baseOffset: number, options: IndexOptions) {
    super(path, 'offset', baseOffset, options);
    this.lastOffsetValue = baseOffset;
  }

  protected refreshLastEntry(): void {
    if (this.count === 0) {
      this.lastOffsetValue = this.baseOffset;
      return;
    }
    this.readSlot(this.count - 1);
    this.lastOffsetValue = this.out[0];
  }

  get isFull(): boolean {
    this.load();
    return this.count >= this.capacity;
  }

  /** Offset of the last entry; baseOffset when empty. */
  get lastOffset(): number {
    this.load();
    return this.lastOffsetValue;
  }

  /** Whether `offset` is representable relative to the base (the log rolls when it is not). */
  canAppendOffset(offset: number): boolean {
    const relative = offset - this.baseOffset;
    return Number.isSafeInteger(offset) && relative >= 0 && relative <= RELATIVE_OFFSET_MAX;
  }

  /** Appends (offset, position); offset must exceed lastOffset when the index is not empty. */
  append(offset: number, position: number): void {
    this.checkWritable();
    const file = this.load();
    const count = this.count;
    if (count >= this.capacity) throw new IndexFullError(this.path, count);
    if (count > 0 && !(offset > this.lastOffsetValue)) {
      throw new IndexOrderError(
        this.path,
        `offset ${offset} at slot ${count} is not larger than the last offset ${this.lastOffsetValue} of ${this.path}`,
      );
    }
    if (!this.canAppendOffset(offset)) throw new IndexOffsetOverflowError(this.path, offset, this.baseOffset);
    if (!Number.isInteger(position) || position < 0 || position > POSITION_MAX) {
      throw new RangeError(`position ${position} is outside [0, ${POSITION_MAX}] (${this.path})`);
    }
    const status = this.appendEntry(file, offset, position);
    // Both were checked above; a status here means the two layers disagree.
    if (status === APPEND_FULL) throw new IndexFullError(this.path, count);
    if (status !== APPEND_OK) throw new IndexOffsetOverflowError(this.path, offset, this.baseOffset);
    this.lastOffsetValue = offset;
  }

  /** Largest entry with offset <= target; {baseOffset, 0} when there is none. */
  lookup(targetOffset: number): OffsetPosition {
    const slot = this.search(targetOffset);
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.out[0], position: this.out[1] };
  }

  entry(slot: number): OffsetPosition {
    this.readSlot(slot);
    return { offset: this.out[0], position: this.out[1] };
  }

  /** Removes every entry with offset >= `offset` (Kafka's truncateTo, same search). */
  truncateTo(offset: number): void {
    const slot = this.search(offset);
    let entryCount: number;
    if (slot < 0) entryCount = 0;
    else if (this.out[0] === offset) entryCount = slot;
    else entryCount = slot + 1;
    this.truncateToEntries(entryCount);
  }

  /** Kafka's OffsetIndex.sanityCheck. */
  sanityCheck(): void {
    this.load();
    const count = this.count;
    if (count !== 0 && this.lastOffsetValue < this.baseOffset) {
      throw new CorruptIndexError(
        this.path,
        `corrupt index ${this.path}: ${count} entries but the last offset ${this.lastOffsetValue} is below the base offset ${this.baseOffset}`,
      );
    }
    this.checkLength();
  }
}

/**
 * Kafka's TimeIndex: entry (timestamp, offset) says that the largest timestamp
 * seen before `offset` is `timestamp`. Timestamps strictly increase; offsets
 * never decrease.
 *
 * Kafka reserves the last slot for the entry written when the segment rolls
 * (maybeAppend with skipFullCheck), so isFull is entryCount >= maxEntries - 1.
 */
export class TimeIndex extends LazyIndexFile {
  private lastTimestamp = NO_TIMESTAMP;
  private lastOffsetValue = 0;

  constructor(path: string, baseOffset: number, options: IndexOptions) {
    super(path, 'time', baseOffset, options);
    this.lastOffsetValue = baseOffset;
  }

  // Kafka's lastEntryFromIndexFile: (NO_TIMESTAMP, baseOffset) when there are
  // no entries, otherwise the last slot as stored, even when that is a
  // preallocated zero entry of an untrimmed file (sanityCheck catches that).
  protected refreshLastEntry(): void {
    if (this.count === 0) {
      this.lastTimestamp = NO_TIMESTAMP;
      this.lastOffsetValue = this.baseOffset;
      return;
    }
    this.readSlot(this.count - 1);
    this.lastTimestamp = this.out[0];
    this.lastOffsetValue = this.out[1];
  }

  get isFull(): boolean {
    this.load();
    return this.count >= this.capacity - 1;
  }

  /** The last entry; {NO_TIMESTAMP, baseOffset} when empty. */
  lastEntry(): TimestampOffset {
    this.load();
    return { timestamp: this.lastTimestamp, offset: this.lastOffsetValue };
  }

  /**
   * Kafka's TimeIndex.maybeAppend: appends only when `timestamp` is larger than
   * the last timestamp (an equal timestamp is the roll/close re-append of the
   * last entry and is ignored; NO_TIMESTAMP never enters an empty index). When
   * not empty, an offset below the last offset or a timestamp below the last
   * timestamp throws IndexOrderError. skipFullCheck lets the roll use the
   * reserved last slot.
   */
  maybeAppend(timestamp: number, offset: number, skipFullCheck = false): void {
    this.checkWritable();
    const file = this.load();
    const count = this.count;
    if (!skipFullCheck && count >= this.capacity - 1) throw new IndexFullError(this.path, count);
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`timestamp ${timestamp} is not an integer below 2^53`);
    if (count !== 0 && offset < this.lastOffsetValue) {
      throw new IndexOrderError(
        this.path,
        `offset ${offset} at slot ${count} is below the last offset ${this.lastOffsetValue} of ${this.path}`,
      );
    }
    if (count !== 0 && timestamp < this.lastTimestamp) {
      throw new IndexOrderError(
        this.path,
        `timestamp ${timestamp} at slot ${count} is below the last timestamp ${this.lastTimestamp} of ${this.path}`,
      );
    }
    if (!(timestamp > this.lastTimestamp)) return;
    const relative = offset - this.baseOffset;
    if (!Number.isSafeInteger(offset) || relative < 0 || relative > RELATIVE_OFFSET_MAX) {
      throw new IndexOffsetOverflowError(this.path, offset, this.baseOffset);
    }
    const status = this.appendEntry(file, timestamp, offset);
    if (status === APPEND_FULL) throw new IndexFullError(this.path, count);
    if (status !== APPEND_OK) throw new IndexOffsetOverflowError(this.path, offset, this.baseOffset);
    this.lastTimestamp = timestamp;
    this.lastOffsetValue = offset;
  }

  /** Largest entry with timestamp <= target; {NO_TIMESTAMP, baseOffset} when there is none. */
  lookup(targetTimestamp: number): TimestampOffset {
    const slot = this.search(targetTimestamp);
    if (slot < 0) return { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    return { timestamp: this.out[0], offset: this.out[1] };
  }

  entry(slot: number): TimestampOffset {
    this.readSlot(slot);
    return { timestamp: this.out[0], offset: this.out[1] };
  }

  /**
   * Removes every entry with offset >= `offset`. Kafka searches the offsets
   * (the entry values) with the same warm/cold binary search as lookups; so do
   * we, one readSlot per step, since truncation is rare. On an exact hit we also step
   * back over earlier entries with the same offset, which Kafka's search can
   * leave behind when an offset repeats with a larger timestamp.
   */
  truncateTo(offset: number): void {
    this.load();
    let slot = this.largestSlotWithOffsetAtMost(offset);
    let entryCount: number;
    if (slot < 0) {
      entryCount = 0;
    } else if (this.offsetAt(slot) === offset) {
      while (slot > 0 && this.offsetAt(slot - 1) === offset) slot--;
      entryCount = slot;
    } else {
      entryCount = slot + 1;
    }
    this.truncateToEntries(entryCount);
  }

  private offsetAt(slot: number): number {
    this.readSlot(slot);
    return this.out[1];
  }

  // AbstractIndex.indexSlotRangeFor(..., VALUE, LARGEST_LOWER_BOUND).
  private largestSlotWithOffsetAtMost(offset: number): number {
    const count = this.count;
    if (count === 0) return -1;
    const last = count - 1;
    const firstHot = Math.max(0, last - Math.floor(WARM_SECTION_BYTES / this.entryBytes));
    let lo: number;
    let hi: number;
    if (this.offsetAt(firstHot) < offset) {
      lo = firstHot;
      hi = last;
    } else if (this.offsetAt(0) > offset) {
      return -1;
    } else {
      lo = 0;
      hi = firstHot;
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const found = this.offsetAt(mid);
      if (found > offset) hi = mid - 1;
      else if (found < offset) lo = mid;
      else return mid;
    }
    return lo;
  }

  /** Kafka's TimeIndex.sanityCheck. */
  sanityCheck(): void {
    this.load();
    if (this.count !== 0) {
      this.readSlot(0);
      const firstTimestamp = this.out[0];
      if (this.lastTimestamp < firstTimestamp) {
        throw new CorruptIndexError(
          this.path,
          `corrupt time index ${this.path}: the last timestamp ${this.lastTimestamp} is below the first timestamp ${firstTimestamp}`,
        );
      }
      if (this.lastOffsetValue < this.baseOffset) {
        throw new CorruptIndexError(
          this.path,
          `corrupt time index ${this.path}: the last offset ${this.lastOffsetValue} is below the base offset ${this.baseOffset}`,
        );
      }
    }
    this.checkLength();
  }
}
