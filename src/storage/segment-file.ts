// One Kafka `.log` segment data file: batches appended at the logical end,
// read by position, walked by header for offset/timestamp lookups, fetch
// slicing and crash recovery.
//
// Two implementations behind one interface:
// - native (samsa_native SegmentFile, native/segment-file.cc): modes 'mmap'
//   (fallocate'd MAP_SHARED mapping, memcpy appends, pages pre-faulted on a
//   worker) and 'write' (64 KiB pwrites), plus 'readonly'.
// - js (fs sync calls): 'write' and 'readonly'. 'mmap' asked of the js
//   implementation is served as 'write' (Node has no mmap) and `mode` says
//   'write'; the file format is identical, so either implementation opens the
//   other's files.
//
// The file holds RecordBatch v2 batches from position 0 to the logical size.
// A cleanly closed file is exactly its logical size; an mmap segment that was
// not closed is preallocated with a zero tail, and reopening it with knownSize
// -1 finds the logical end by a header walk. Corruption met by findBatch or
// sliceEnd throws an Error with code 'ESEGMENTCORRUPT'; recover() reports it
// as a value instead. Failed system calls throw Node-style errno errors
// (code 'ENOSPC', ...), leaving the logical size unchanged.
import fs from 'node:fs';
import { requireNative, nativeAddon } from '../native/addon.js';
import type { NativeSegmentFile, SegmentRecovery } from '../native/types.js';
import {
  BATCH_ATTRIBUTES,
  BATCH_CRC,
  BATCH_HEADER_BYTES,
  BatchStatus,
  batchCrc32c,
  checkBatchHeader,
  newBatchHeaderFields,
  readUint32BE,
} from './batch-scan.js';
import type { BatchHeaderFields } from './batch-scan.js';

export type { SegmentRecovery } from '../native/types.js';

export type AppendMode = 'mmap' | 'write';

export interface BatchLocation {
  position: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  batchBytes: number;
}

export interface SegmentFile {
  readonly path: string;
  readonly impl: 'native' | 'js';
  readonly mode: 'mmap' | 'write' | 'readonly';
  /** For sendfile / fs.read; valid until close(). */
  readonly fd: number;
  /** Logical size: the end of the last appended batch. */
  readonly size: number;
  /** Appends buf[start, end) at the logical end; returns the position where the bytes start. */
  append(buf: Uint8Array, start?: number, end?: number): number;
  /** Copies up to `length` bytes at `position` into target[targetStart..]; returns bytes copied. */
  readInto(position: number, target: Uint8Array, targetStart: number, length: number): number;
  /** A copy of up to `length` bytes at `position` (tests, tools, recovery in JS). */
  read(position: number, length: number): Buffer;
  /** Resolves when everything appended so far is durable (fdatasync on a worker thread). */
  flush(): Promise<void>;
  /** Sets the logical size to `position` (<= size). */
  truncate(position: number): void;
  /**
   * First batch at or after `startPosition` (a batch boundary) whose lastOffset
   * ('offset') or maxTimestamp ('timestamp') is >= target; null when none.
   */
  findBatch(startPosition: number, kind: 'offset' | 'timestamp', target: number): BatchLocation | null;
  /** End of a read from `startPosition`: whole batches within maxBytes (at least one), none with lastOffset >= maxOffsetExclusive. */
  sliceEnd(startPosition: number, maxBytes: number, maxOffsetExclusive: number): number;
  /** Validates batches from `startPosition` to the logical end; see SegmentRecovery. */
  recover(startPosition: number, indexIntervalBytes: number, maxBatchBytes: number): SegmentRecovery;
  /** Trims the file to its logical size (mmap), closes. Idempotent; other methods throw afterwards. */
  close(): void;
}

export interface OpenSegmentOptions {
  mode: 'mmap' | 'write' | 'readonly';
  /** Preallocated size in mmap mode (segment.bytes); ignored by write and readonly. */
  capacityBytes: number;
  /** Logical size when known (a cleanly closed segment's file size); -1 (default) to find it. */
  knownSize?: number;
  /** Default: native when the addon is loaded, else js. */
  impl?: 'native' | 'js';
}

/** Kafka positions are int32 (offset index, FileRecords): no segment grows past this. */
export const SEGMENT_BYTES_MAX = 0x7fffffff;
/** One write per 64 KiB: 1 MiB writes measured 3-9x more CPU per GiB on the target machine. */
const WRITE_CHUNK_BYTES = 64 * 1024;
/** Read-ahead of the JS header walks: one read covers many small batches. */
const READ_AHEAD_BYTES = 64 * 1024;
/** findBatch result slots: position, baseOffset, lastOffset, maxTimestamp, batchBytes. */
const FIND_BATCH_SLOTS = 5;

export function openSegmentFile(path: string, options: OpenSegmentOptions): SegmentFile {
  const knownSize = options.knownSize ?? -1;
  if (!Number.isInteger(options.capacityBytes) || options.capacityBytes < 0 || options.capacityBytes > SEGMENT_BYTES_MAX) {
    throw new RangeError(`openSegmentFile ${path}: capacityBytes ${options.capacityBytes} outside [0, 2^31-1]`);
  }
  if (!Number.isInteger(knownSize) || knownSize < -1 || knownSize > SEGMENT_BYTES_MAX) {
    throw new RangeError(`openSegmentFile ${path}: knownSize ${knownSize} outside [-1, 2^31-1]`);
  }
  const impl = options.impl ?? (nativeAddon() ? 'native' : 'js');
  if (impl === 'native') return new NativeSegment(path, options.mode, options.capacityBytes, knownSize);
  return new JsSegment(path, options.mode, knownSize);
}

function checkAppendRange(buf: Uint8Array, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > buf.length) {
    throw new RangeError(`append: need 0 <= start (${start}) <= end (${end}) <= buf.length (${buf.length})`);
  }
}

function corruptError(path: string, position: number, why: string): Error {
  const err = new Error(`corrupt segment ${path} at position ${position}: ${why}`) as Error & {
    code: string;
    path: string;
    position: number;
  };
  err.code = 'ESEGMENTCORRUPT';
  err.path = path;
  err.position = position;
  return err;
}

class NativeSegment implements SegmentFile {
  readonly impl = 'native';
  readonly fd: number;
  private readonly native: NativeSegmentFile;
  private sizeBytes: number;
  // Reused by findBatch: results cross as numbers, not objects.
  private readonly findOut = new Float64Array(FIND_BATCH_SLOTS);

  constructor(
    readonly path: string,
    readonly mode: 'mmap' | 'write' | 'readonly',
    capacityBytes: number,
    knownSize: number,
  ) {
    this.native = new (requireNative().SegmentFile)(path, mode, capacityBytes, knownSize);
    this.fd = this.native.fd();
    this.sizeBytes = this.native.size();
  }

  get size(): number {
    return this.sizeBytes;
  }

  append(buf: Uint8Array, start = 0, end = buf.length): number {
    const position = this.native.append(buf, start, end);
    this.sizeBytes = position + (end - start);
    return position;
  }

  readInto(position: number, target: Uint8Array, targetStart: number, length: number): number {
    return this.native.readInto(position, target, targetStart, length);
  }

  read(position: number, length: number): Buffer {
    const target = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.sizeBytes - position)));
    const count = this.native.readInto(position, target, 0, target.length);
    return target.subarray(0, count);
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.native.flush((err) => (err ? reject(err) : resolve()));
    });
  }

  truncate(position: number): void {
    this.native.truncate(position);
    this.sizeBytes = position;
  }

  findBatch(startPosition: number, kind: 'offset' | 'timestamp', target: number): BatchLocation | null {
    const out = this.findOut;
    if (this.native.findBatch(startPosition, kind === 'offset' ? 0 : 1, target, out) < 0) return null;
    return { position: out[0], baseOffset: out[1], lastOffset: out[2], maxTimestamp: out[3], batchBytes: out[4] };
  }

  sliceEnd(startPosition: number, maxBytes: number, maxOffsetExclusive: number): number {
    return this.native.sliceEnd(startPosition, maxBytes, maxOffsetExclusive);
  }

  recover(startPosition: number, indexIntervalBytes: number, maxBatchBytes: number): SegmentRecovery {
    return this.native.recover(startPosition, indexIntervalBytes, maxBatchBytes);
  }

  close(): void {
    this.native.close();
  }
}

/**
 * Reads segment bytes for the JS walks through a 64 KiB window, so a walk over
 * small batches costs one readSync per window, not one per header.
 */
class WindowReader {
  readonly window = Buffer.allocUnsafe(READ_AHEAD_BYTES);
  private windowStart = 0;
  private windowBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    private readonly limitBytes: number,
  ) {}

  /** Index into `window` of bytes [position, position + length); length <= 64 KiB, within the limit. */
  fetch(position: number, length: number): number {
    if (position >= this.windowStart && position + length <= this.windowStart + this.windowBytes) {
      return position - this.windowStart;
    }
    const want = Math.min(READ_AHEAD_BYTES, this.limitBytes - position);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(this.fd, this.window, got, want - got, position + got);
      if (n === 0) break;
      got += n;
    }
    this.windowStart = position;
    this.windowBytes = got;
    if (got < length) throw corruptError(this.path, position, 'file shorter than its logical size');
    return 0;
  }

  crc(position: number, length: number): number {
    let crc = 0;
    while (length > 0) {
      const piece = Math.min(length, READ_AHEAD_BYTES);
      const at = this.fetch(position, piece);
      crc = batchCrc32c(this.window, at, at + piece, crc);
      position += piece;
      length -= piece;
    }
    return crc;
  }
}

class JsSegment implements SegmentFile {
  readonly impl = 'js';
  readonly mode: 'write' | 'readonly';
  private readonly fileFd: number;
  private sizeBytes: number;
  private closed = false;
  // fdatasync runs on the libuv pool: close() defers closing the fd until the
  // last one returns, so it never syncs a closed (or reused) descriptor.
  private flushesInFlight = 0;
  private readonly header: BatchHeaderFields = newBatchHeaderFields();

  constructor(
    readonly path: string,
    requestedMode: 'mmap' | 'write' | 'readonly',
    knownSize: number,
  ) {
    // Node has no mmap: 'mmap' is served by positioned writes.
    this.mode = requestedMode === 'readonly' ? 'readonly' : 'write';
    const flags = this.mode === 'readonly' ? fs.constants.O_RDONLY : fs.constants.O_RDWR | fs.constants.O_CREAT;
    this.fileFd = fs.openSync(path, flags, 0o644);
    try {
      const fileBytes = fs.fstatSync(this.fileFd).size;
      if (knownSize > fileBytes) {
        throw new RangeError(`openSegmentFile ${path}: knownSize ${knownSize} is beyond the file size ${fileBytes}`);
      }
      if (knownSize >= 0) this.sizeBytes = knownSize;
      // A segment last written in mmap mode may be preallocated with a zero tail.
      else if (requestedMode === 'mmap') this.sizeBytes = this.structuralEnd(fileBytes);
      else this.sizeBytes = Math.min(fileBytes, SEGMENT_BYTES_MAX);
      if (this.mode === 'write' && fileBytes > this.sizeBytes) fs.ftruncateSync(this.fileFd, this.sizeBytes);
    } catch (err) {
      fs.closeSync(this.fileFd);
      throw err;
    }
  }

  get fd(): number {
    this.checkOpen();
    return this.fileFd;
  }

  get size(): number {
    return this.sizeBytes;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`SegmentFile ${this.path} is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.mode === 'readonly') throw new Error(`SegmentFile ${this.path} is open readonly`);
  }

  private checkStart(startPosition: number): void {
    if (!Number.isInteger(startPosition) || startPosition < 0 || startPosition > this.sizeBytes) {
      throw new RangeError(`startPosition ${startPosition} outside [0, ${this.sizeBytes}]`);
    }
  }

  private structuralEnd(fileBytes: number): number {
    const reader = new WindowReader(this.fileFd, this.path, fileBytes);
    let position = 0;
    while (fileBytes - position >= BATCH_HEADER_BYTES) {
      const at = reader.fetch(position, BATCH_HEADER_BYTES);
      if (checkBatchHeader(reader.window, at, fileBytes - position, SEGMENT_BYTES_MAX, this.header) !== 0) break;
      position += this.header.batchBytes;
    }
    return position;
  }

  append(buf: Uint8Array, start = 0, end = buf.length): number {
    this.checkWritable();
    checkAppendRange(buf, start, end);
    const position = this.sizeBytes;
    if (end - start > SEGMENT_BYTES_MAX - position) {
      throw Object.assign(new Error(`append ${this.path}: segment would pass 2^31-1 bytes`), { code: 'EFBIG' });
    }
    try {
      for (let done = start; done < end; ) {
        done += fs.writeSync(this.fileFd, buf, done, Math.min(WRITE_CHUNK_BYTES, end - done), position + done - start);
      }
    } catch (err) {
      // Cut what did get written so the file size stays the logical size.
      try {
        fs.ftruncateSync(this.fileFd, position);
      } catch {
        // The append fails with the write error; a later append overwrites the tail.
      }
      throw err;
    }
    this.sizeBytes = position + (end - start);
    return position;
  }

  readInto(position: number, target: Uint8Array, targetStart: number, length: number): number {
    this.checkOpen();
    if (!Number.isInteger(position) || position < 0 || !Number.isInteger(targetStart) || !Number.isInteger(length)) {
      throw new RangeError('readInto: position, targetStart and length must be non-negative integers');
    }
    if (targetStart < 0 || length < 0 || targetStart + length > target.length) {
      throw new RangeError(`readInto: targetStart + length (${targetStart + length}) > target.length (${target.length})`);
    }
    const count = Math.max(0, Math.min(length, this.sizeBytes - position));
    let done = 0;
    while (done < count) {
      const n = fs.readSync(this.fileFd, target, targetStart + done, count - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  read(position: number, length: number): Buffer {
    const target = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.sizeBytes - position)));
    return target.subarray(0, this.readInto(position, target, 0, target.length));
  }

  flush(): Promise<void> {
    this.checkOpen();
    this.flushesInFlight++;
    return new Promise((resolve, reject) =>
      fs.fdatasync(this.fileFd, (err) => {
        this.flushesInFlight--;
        if (this.closed && this.flushesInFlight === 0) fs.closeSync(this.fileFd);
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  truncate(position: number): void {
    this.checkWritable();
    if (!Number.isInteger(position) || position < 0 || position > this.sizeBytes) {
      throw new RangeError(`truncate: position ${position} outside [0, ${this.sizeBytes}]`);
    }
    fs.ftruncateSync(this.fileFd, position);
    this.sizeBytes = position;
  }

  // Reads the header at `position` for the read-path walks; throws on corruption.
  private walkHeader(reader: WindowReader, position: number): BatchHeaderFields {
    const available = this.sizeBytes - position;
    const at = reader.fetch(position, Math.min(available, BATCH_HEADER_BYTES));
    if (checkBatchHeader(reader.window, at, available, SEGMENT_BYTES_MAX, this.header) !== 0) {
      throw corruptError(this.path, position, 'invalid batch header');
    }
    return this.header;
  }

  findBatch(startPosition: number, kind: 'offset' | 'timestamp', target: number): BatchLocation | null {
    this.checkOpen();
    this.checkStart(startPosition);
    const reader = new WindowReader(this.fileFd, this.path, this.sizeBytes);
    for (let position = startPosition; position < this.sizeBytes; ) {
      const header = this.walkHeader(reader, position);
      // baseOffset is outside the CRC: a flipped high bit must not pass as a match.
      if (header.baseOffset < 0 || header.baseOffset > Number.MAX_SAFE_INTEGER - header.lastOffsetDelta) {
        throw corruptError(this.path, position, 'offset outside [0, 2^53)');
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      const key = kind === 'offset' ? lastOffset : header.maxTimestamp;
      if (key >= target) {
        return {
          position,
          baseOffset: header.baseOffset,
          lastOffset,
          maxTimestamp: header.maxTimestamp,
          batchBytes: header.batchBytes,
        };
      }
      position += header.batchBytes;
    }
    return null;
  }

  sliceEnd(startPosition: number, maxBytes: number, maxOffsetExclusive: number): number {
    this.checkOpen();
    this.checkStart(startPosition);
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`sliceEnd: maxBytes ${maxBytes}`);
    const reader = new WindowReader(this.fileFd, this.path, this.sizeBytes);
    let end = startPosition;
    while (end < this.sizeBytes) {
      const header = this.walkHeader(reader, end);
      if (header.baseOffset + header.lastOffsetDelta >= maxOffsetExclusive) break;
      // At least one batch even when it alone exceeds maxBytes, like Kafka's minOneMessage.
      if (end > startPosition && end - startPosition + header.batchBytes > maxBytes) break;
      end += header.batchBytes;
    }
    return end;
  }

  recover(startPosition: number, indexIntervalBytes: number, maxBatchBytes: number): SegmentRecovery {
    this.checkOpen();
    this.checkStart(startPosition);
    if (!Number.isInteger(indexIntervalBytes) || indexIntervalBytes < 0) {
      throw new RangeError(`recover: indexIntervalBytes ${indexIntervalBytes}`);
    }
    if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < BATCH_HEADER_BYTES) {
      throw new RangeError(`recover: maxBatchBytes ${maxBatchBytes}`);
    }
    return recoverBatches(
      new WindowReader(this.fileFd, this.path, this.sizeBytes),
      startPosition,
      this.sizeBytes,
      indexIntervalBytes,
      maxBatchBytes,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.flushesInFlight === 0) fs.closeSync(this.fileFd);
  }
}

const RECOVERY_ERRORS: Record<number, string> = {
  [BatchStatus.Truncated]: 'batch runs past the end of the segment',
  [BatchStatus.BadLength]: 'batch length outside [49, maxBatchBytes - 12]',
  [BatchStatus.BadMagic]: 'magic is not 2',
  [BatchStatus.BadOffsetDelta]: 'negative lastOffsetDelta',
};

/**
 * Kafka's LogSegment.recover over [startPosition, sizeBytes): validates each
 * batch, stops at the first invalid one, and rebuilds index entries with
 * Kafka's rule (see native/segment-file.cc Recover, which this mirrors).
 */
function recoverBatches(
  reader: WindowReader,
  startPosition: number,
  sizeBytes: number,
  indexIntervalBytes: number,
  maxBatchBytes: number,
): SegmentRecovery {
  const header = newBatchHeaderFields();
  const offsetEntries: number[] = [];
  const timeEntries: number[] = [];
  let position = startPosition;
  let batchCount = 0;
  let firstOffset = -1;
  let lastOffset = -1;
  // Kafka's TimestampOffset.UNKNOWN and an empty time index's last entry are
  // NO_TIMESTAMP (-1): batches without timestamps add nothing.
  let maxTimestamp = -1;
  let offsetOfMaxTimestamp = -1;
  let lastTimeEntryTimestamp = -1;
  let bytesSinceLastIndexEntry = 0;
  let error = '';
  const appendTimeEntry = (): void => {
    if (maxTimestamp <= lastTimeEntryTimestamp) return;
    timeEntries.push(maxTimestamp, offsetOfMaxTimestamp);
    lastTimeEntryTimestamp = maxTimestamp;
  };
  while (position < sizeBytes) {
    const available = sizeBytes - position;
    const at = reader.fetch(position, Math.min(available, BATCH_HEADER_BYTES));
    const status = checkBatchHeader(reader.window, at, available, maxBatchBytes, header);
    if (status !== 0) {
      error = RECOVERY_ERRORS[status] ?? 'invalid batch header';
      break;
    }
    const storedCrc = readUint32BE(reader.window, at + BATCH_CRC);
    const batchLastOffset = header.baseOffset + header.lastOffsetDelta;
    if (!(header.baseOffset >= 0) || !(batchLastOffset <= Number.MAX_SAFE_INTEGER)) {
      error = 'offset outside [0, 2^53)';
      break;
    }
    if (header.baseOffset <= lastOffset) {
      error = "baseOffset not above the previous batch's lastOffset";
      break;
    }
    if (reader.crc(position + BATCH_ATTRIBUTES, header.batchBytes - BATCH_ATTRIBUTES) !== storedCrc) {
      error = 'CRC32C mismatch';
      break;
    }
    if (header.maxTimestamp > maxTimestamp) {
      maxTimestamp = header.maxTimestamp;
      offsetOfMaxTimestamp = batchLastOffset; // Kafka's shallow offset of a v2 batch
    }
    // The entry for a batch is decided before its own bytes are counted and points at its start.
    if (bytesSinceLastIndexEntry > indexIntervalBytes) {
      offsetEntries.push(batchLastOffset, position);
      appendTimeEntry();
      bytesSinceLastIndexEntry = 0;
    }
    bytesSinceLastIndexEntry += header.batchBytes;
    if (batchCount === 0) firstOffset = header.baseOffset;
    lastOffset = batchLastOffset;
    batchCount++;
    position += header.batchBytes;
  }
  // Kafka appends the largest timestamp seen as a last time entry after recovery.
  appendTimeEntry();
  return {
    validBytes: position,
    batchCount,
    firstOffset,
    lastOffset,
    maxTimestamp,
    offsetOfMaxTimestamp,
    error,
    offsetEntries: Float64Array.from(offsetEntries),
    timeEntries: Float64Array.from(timeEntries),
  };
}
