// One segment of a partition's log: the `.log` data file plus its `.index`
// (offset -> position) and `.timeindex` (timestamp -> offset), named by the
// segment's base offset zero-padded to 20 digits, as Kafka names them:
//
//   00000000000000000000.log  00000000000000000000.index  00000000000000000000.timeindex
//
// Ownership: a segment has one writer, its Log. Only the active (last) segment
// is appended to; older segments are opened read-only, and their indexes are
// mapped lazily on first lookup.
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatchRecords, readBatchHeader } from '../record/record-batch.js';
import type { SegmentRecovery } from '../native/types.js';
import type { Clock } from './clock.js';
import { OffsetIndex, TimeIndex, type IndexImpl } from './index-file.js';
import type { LogConfig } from './log-config.js';
import type { SegmentMode } from '../native/types.js';
import { openSegmentFile, type BatchLocation, type SegmentFile } from './segment-file.js';

export const LOG_FILE_SUFFIX = '.log';
export const INDEX_FILE_SUFFIX = '.index';
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
export const DELETED_FILE_SUFFIX = '.deleted';
export const CLEANED_FILE_SUFFIX = '.cleaned';
export const SWAP_FILE_SUFFIX = '.swap';

/** Kafka's RecordBatch.NO_TIMESTAMP. */
export const NO_TIMESTAMP = -1;
/**
 * Recovery accepts any batch that fits in a segment: max.message.bytes may have
 * been lowered since a batch was written, and that must not make it "corrupt".
 */
export const RECOVERY_BATCH_BYTES_MAX = 2 ** 31 - 1;
/** Relative offsets in index entries are int32. */
export const RELATIVE_OFFSET_MAX = 2 ** 31 - 1;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

export interface SegmentOptions {
  config: LogConfig;
  clock: Clock;
  /** Storage implementation; defaults to native when the addon is loaded. */
  impl?: IndexImpl;
}

export interface ReadSlice {
  position: number;
  length: number;
  /** Base offset of the first batch in the slice. */
  firstBatchBaseOffset: number;
}

export interface TimestampAndOffset {
  timestamp: number;
  offset: number;
}

export class LogSegment {
  readonly logPath: string;
  private file: SegmentFile;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  private bytesSinceLastIndexEntry = 0;
  // null until loaded: for a cleanly closed or rolled segment, the last time index entry is exact.
  private maxTimestampAndOffset: TimestampAndOffset | null = null;
  // Max timestamp of the first batch: the base of time-based rolling (Kafka's rollingBasedTimestamp).
  private rollingBasedTimestamp: number | null = null;
  private createdMs: number;
  private active: boolean;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly options: SegmentOptions,
    file: SegmentFile,
    active: boolean,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX));
    this.file = file;
    this.active = active;
    this.offsetIndex = this.newOffsetIndex(active);
    this.timeIndex = this.newTimeIndex(active);
    this.createdMs = options.clock.nowMs();
  }

  private newOffsetIndex(writable: boolean): OffsetIndex {
    const options = { maxIndexBytes: this.options.config.segmentIndexBytes, writable, impl: this.options.impl };
    return new OffsetIndex(path.join(this.dir, segmentFileName(this.baseOffset, INDEX_FILE_SUFFIX)), this.baseOffset, options);
  }

  private newTimeIndex(writable: boolean): TimeIndex {
    const options = { maxIndexBytes: this.options.config.segmentIndexBytes, writable, impl: this.options.impl };
    return new TimeIndex(path.join(this.dir, segmentFileName(this.baseOffset, TIME_INDEX_FILE_SUFFIX)), this.baseOffset, options);
  }

  /** Creates a new, empty active segment (fails if the files exist with data). */
  static create(dir: string, baseOffset: number, options: SegmentOptions): LogSegment {
    const logPath = path.join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX));
    const file = openSegmentFile(logPath, {
      mode: options.config.appendMode,
      capacityBytes: options.config.segmentBytes,
      knownSize: 0,
      impl: options.impl,
    });
    const segment = new LogSegment(dir, baseOffset, options, file, true);
    try {
      // Preallocate the indexes now: a full disk must fail the roll, not an index
      // append after the data is already written.
      void segment.offsetIndex.entryCount;
      void segment.timeIndex.entryCount;
    } catch (err) {
      segment.deleteFiles();
      throw err;
    }
    return segment;
  }

  /**
   * Opens an existing segment. `active` opens it for appends (the last segment, or
   * one being recovered); otherwise read-only. knownSize -1 lets the file layer
   * find the logical end (file size, or a header walk of a preallocated mmap file).
   */
  static open(dir: string, baseOffset: number, options: SegmentOptions, active: boolean, knownSize = -1): LogSegment {
    const logPath = path.join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX));
    const file = openSegmentFile(logPath, {
      mode: active ? options.config.appendMode : 'readonly',
      capacityBytes: options.config.segmentBytes,
      knownSize,
      impl: options.impl,
    });
    return new LogSegment(dir, baseOffset, options, file, active);
  }

  get isActive(): boolean {
    return this.active;
  }

  get size(): number {
    return this.file.size;
  }

  get fd(): number {
    return this.file.fd;
  }

  get dataFile(): SegmentFile {
    return this.file;
  }

  /** Whether `offset` can be stored in this segment's indexes (relative offset fits int32). */
  canConvertToRelativeOffset(offset: number): boolean {
    const relative = offset - this.baseOffset;
    return relative >= 0 && relative <= RELATIVE_OFFSET_MAX;
  }

  /**
   * Appends validated batches buf[start, end) whose per-batch info (from
   * validateBatches) is in `info`: [relativePosition, lastOffset, maxTimestamp, bytes] x batchCount.
   * Adds at most one index entry per index.interval.bytes, keyed by a batch's last
   * offset and pointing at where that batch starts (Kafka 3.8+ LogSegment.append).
   */
  append(buf: Uint8Array, start: number, end: number, info: Float64Array, batchCount: number): number {
    const physicalPosition = this.file.append(buf, start, end);
    const maxTs = this.loadMaxTimestamp();
    const intervalBytes = this.options.config.indexIntervalBytes;
    if (this.rollingBasedTimestamp === null && batchCount > 0) this.rollingBasedTimestamp = info[2];
    for (let i = 0; i < batchCount; i++) {
      const base = 4 * i;
      const lastOffset = info[base + 1];
      const batchMaxTimestamp = info[base + 2];
      if (batchMaxTimestamp > maxTs.timestamp) {
        maxTs.timestamp = batchMaxTimestamp;
        maxTs.offset = lastOffset;
      }
      if (this.bytesSinceLastIndexEntry > intervalBytes) {
        this.offsetIndex.append(lastOffset, physicalPosition + info[base]);
        this.timeIndex.maybeAppend(maxTs.timestamp, maxTs.offset);
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += info[base + 3];
    }
    return physicalPosition;
  }

  /** The batch containing `offset` (first batch whose lastOffset >= offset), at or after startingPosition. */
  translateOffset(offset: number, startingPosition = 0): BatchLocation | null {
    const mapping = this.offsetIndex.lookup(offset);
    return this.file.findBatch(Math.max(mapping.position, startingPosition), 'offset', offset);
  }

  /**
   * A slice of whole batches starting with the batch that contains `startOffset`:
   * as many as fit in maxBytes (at least one when minOneMessage), none whose last
   * offset reaches maxOffsetExclusive. Null when the segment has nothing at or after startOffset.
   */
  read(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneMessage: boolean): ReadSlice | null {
    const first = this.translateOffset(startOffset);
    if (first === null) return null;
    if (first.lastOffset >= maxOffsetExclusive) return { position: first.position, length: 0, firstBatchBaseOffset: first.baseOffset };
    if (!minOneMessage && first.batchBytes > maxBytes) {
      return { position: first.position, length: 0, firstBatchBaseOffset: first.baseOffset };
    }
    const end = this.file.sliceEnd(first.position, maxBytes, maxOffsetExclusive);
    return { position: first.position, length: end - first.position, firstBatchBaseOffset: first.baseOffset };
  }

  /** The offset after the last batch (baseOffset when empty), found from the last index entry forward. */
  readNextOffset(): number {
    const lastEntry = this.offsetIndex.lookup(Number.MAX_SAFE_INTEGER);
    let position = lastEntry.position;
    let next = this.baseOffset;
    for (;;) {
      const batch = this.file.findBatch(position, 'offset', -1);
      if (batch === null) return next;
      next = batch.lastOffset + 1;
      position = batch.position + batch.batchBytes;
    }
  }

  /** Max timestamp of any batch and the offset that carries it (Kafka's maxTimestampSoFar). */
  get maxTimestampSoFar(): TimestampAndOffset {
    return { ...this.loadMaxTimestamp() };
  }

  private loadMaxTimestamp(): TimestampAndOffset {
    if (this.maxTimestampAndOffset === null) {
      const last = this.timeIndex.lastEntry();
      this.maxTimestampAndOffset = { timestamp: last.timestamp, offset: last.offset };
    }
    return this.maxTimestampAndOffset;
  }

  /**
   * The timestamp retention compares against: the newest record's timestamp, or
   * the file's mtime when no batch carries one (Kafka's LogSegment.largestTimestamp).
   */
  largestTimestamp(): number {
    const ts = this.loadMaxTimestamp().timestamp;
    if (ts >= 0) return ts;
    return this.lastModifiedMs();
  }

  lastModifiedMs(): number {
    return fs.statSync(this.logPath).mtimeMs;
  }

  /**
   * How long this segment has been rolling, for segment.ms: by record time when
   * the segment has a first batch timestamp, by wall time since creation otherwise.
   */
  timeWaitedForRollMs(nowMs: number, maxTimestampInMessages: number): number {
    if (this.rollingBasedTimestamp === null && this.size > 0) this.loadRollingBasedTimestamp();
    if (this.rollingBasedTimestamp !== null && this.rollingBasedTimestamp >= 0) {
      return maxTimestampInMessages - this.rollingBasedTimestamp;
    }
    return nowMs - this.createdMs;
  }

  /**
   * Kafka's getFirstBatchTimestamp: the first batch's max timestamp, or
   * Long.MAX (here MAX_SAFE_INTEGER) when the segment is empty or has none.
   * max.compaction.lag.ms counts from it.
   */
  firstBatchTimestamp(): number {
    if (this.rollingBasedTimestamp === null && this.size > 0) this.loadRollingBasedTimestamp();
    const ts = this.rollingBasedTimestamp;
    return ts !== null && ts >= 0 ? ts : Number.MAX_SAFE_INTEGER;
  }

  private loadRollingBasedTimestamp(): void {
    const first = this.file.findBatch(0, 'offset', -1);
    this.rollingBasedTimestamp = first === null ? null : first.maxTimestamp;
  }

  /**
   * The first record at or after `startingOffset` whose timestamp is >= `timestampMs`
   * (Kafka's LogSegment.findOffsetByTimestamp): the time index narrows the search to
   * a batch, then that batch's records are decoded.
   */
  findOffsetByTimestamp(timestampMs: number, startingOffset: number): TimestampAndOffset | null {
    const timestampOffset = this.timeIndex.lookup(timestampMs);
    let position = this.offsetIndex.lookup(Math.max(timestampOffset.offset, startingOffset)).position;
    for (;;) {
      const batch = this.file.findBatch(position, 'timestamp', timestampMs);
      if (batch === null) return null;
      const bytes = this.file.read(batch.position, batch.batchBytes);
      const header = readBatchHeader(bytes, 0);
      for (const record of decodeBatchRecords(bytes, 0)) {
        const ts = header.timestampType === 'log-append' ? header.maxTimestamp : record.timestamp;
        if (ts >= timestampMs && record.offset >= startingOffset) return { timestamp: ts, offset: record.offset };
      }
      position = batch.position + batch.batchBytes;
    }
  }

  /**
   * Validates every batch, truncates at the first invalid one, rebuilds both
   * indexes from what is valid. Returns the number of bytes cut.
   */
  recover(maxBatchBytes = RECOVERY_BATCH_BYTES_MAX): { truncatedBytes: number; recovery: SegmentRecovery } {
    this.offsetIndex.truncate();
    this.timeIndex.truncate();
    this.offsetIndex.resize(this.options.config.segmentIndexBytes);
    this.timeIndex.resize(this.options.config.segmentIndexBytes);
    const r = this.file.recover(0, this.options.config.indexIntervalBytes, maxBatchBytes);
    for (let i = 0; i < r.offsetEntries.length; i += 2) this.offsetIndex.append(r.offsetEntries[i], r.offsetEntries[i + 1]);
    for (let i = 0; i < r.timeEntries.length; i += 2) this.timeIndex.maybeAppend(r.timeEntries[i], r.timeEntries[i + 1]);
    const truncatedBytes = this.file.size - r.validBytes;
    if (truncatedBytes > 0) this.file.truncate(r.validBytes);
    const lastIndexed = r.offsetEntries.length >= 2 ? r.offsetEntries[r.offsetEntries.length - 1] : 0;
    this.bytesSinceLastIndexEntry = r.validBytes - lastIndexed;
    this.maxTimestampAndOffset = { timestamp: r.maxTimestamp, offset: r.offsetOfMaxTimestamp };
    if (r.maxTimestamp < 0) this.maxTimestampAndOffset = { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    this.rollingBasedTimestamp = null;
    // Kafka records the final max timestamp in the time index so a reload finds it exactly.
    this.timeIndex.maybeAppend(this.maxTimestampAndOffset.timestamp, this.maxTimestampAndOffset.offset, true);
    return { truncatedBytes, recovery: r };
  }

  /**
   * Removes every batch from the one containing `offset` onward (Kafka's
   * LogSegment.truncateTo): indexes first, then the data file. Returns bytes cut.
   */
  truncateTo(offset: number): number {
    const mapping = this.translateOffset(offset);
    this.offsetIndex.truncateTo(offset);
    this.timeIndex.truncateTo(offset);
    this.offsetIndex.resize(this.options.config.segmentIndexBytes);
    this.timeIndex.resize(this.options.config.segmentIndexBytes);
    const before = this.file.size;
    if (mapping !== null) this.file.truncate(mapping.position);
    if (this.file.size === 0) {
      this.createdMs = this.options.clock.nowMs();
      this.rollingBasedTimestamp = null;
    }
    this.bytesSinceLastIndexEntry = 0;
    this.reloadMaxTimestampAfterTruncation();
    return before - this.file.size;
  }

  private reloadMaxTimestampAfterTruncation(): void {
    // The last time index entry is exact up to its batch; batches after it may carry a larger timestamp.
    const last = this.timeIndex.lastEntry();
    const position = this.offsetIndex.lookup(last.offset).position;
    const tail = this.file.recover(position, this.options.config.indexIntervalBytes, RECOVERY_BATCH_BYTES_MAX);
    this.maxTimestampAndOffset =
      tail.maxTimestamp > last.timestamp
        ? { timestamp: tail.maxTimestamp, offset: tail.offsetOfMaxTimestamp }
        : { timestamp: last.timestamp, offset: last.offset };
  }

  /** Makes this segment the appendable one (the last segment after load or truncation). */
  reopenActive(): void {
    if (this.file.mode !== this.options.config.appendMode) this.reopenFile(this.options.config.appendMode, this.file.size);
    this.makeIndexesWritable();
  }

  /**
   * Opens the data file for a recovery scan: plain writes and the file's full
   * size, so a torn or zero-filled tail is seen (and cut) by validation rather
   * than skipped by the mmap header walk.
   */
  reopenForRecovery(): void {
    this.reopenFile('write', -1);
    this.makeIndexesWritable();
  }

  // Closing the fd while a fetch may still be sending from it is only done where
  // it cannot be avoided (leaving mmap mode, recovery at load): see onBecomeInactive.
  private reopenFile(mode: SegmentMode, knownSize: number): void {
    this.file.close();
    this.file = openSegmentFile(this.logPath, {
      mode,
      capacityBytes: this.options.config.segmentBytes,
      knownSize,
      impl: this.options.impl,
    });
  }

  private makeIndexesWritable(): void {
    if (!this.active) {
      this.offsetIndex.close();
      this.timeIndex.close();
      this.offsetIndex = this.newOffsetIndex(true);
      this.timeIndex = this.newTimeIndex(true);
      this.offsetIndex.resize(this.options.config.segmentIndexBytes);
      this.timeIndex.resize(this.options.config.segmentIndexBytes);
    }
    this.active = true;
  }

  /**
   * Called when a newer segment takes over appends: records the final max
   * timestamp in the time index, trims both indexes and the data file to their
   * valid sizes, and reopens the data file read-only (releasing an mmap).
   */
  onBecomeInactive(): void {
    if (!this.active) return;
    const maxTs = this.loadMaxTimestamp();
    this.timeIndex.maybeAppend(maxTs.timestamp, maxTs.offset, true);
    this.offsetIndex.trimToValidSize();
    this.timeIndex.trimToValidSize();
    this.offsetIndex.close();
    this.timeIndex.close();
    this.offsetIndex = this.newOffsetIndex(false);
    this.timeIndex = this.newTimeIndex(false);
    // A write-mode file stays open as it is: nothing appends to it any more, and
    // keeping its fd means a fetch already sending from it is unaffected. An mmap
    // file must be unmapped and trimmed to its logical size now (a crash after the
    // recovery point passes this segment must not find a zero tail), so it is
    // closed and reopened read-only; the new open gets the lowest free fd, normally
    // the number just closed, on the same file.
    if (this.file.mode === 'mmap') this.reopenFile('readonly', this.file.size);
    this.active = false;
  }

  /** Makes everything appended so far durable (data file, then indexes). */
  async flush(): Promise<void> {
    await this.file.flush();
    if (this.offsetIndex.isLoaded) this.offsetIndex.flush();
    if (this.timeIndex.isLoaded) this.timeIndex.flush();
  }

  /** Closes files; the active segment records its max timestamp and trims like Kafka's close. */
  close(): void {
    if (this.active && this.size >= 0) {
      const maxTs = this.loadMaxTimestamp();
      this.timeIndex.maybeAppend(maxTs.timestamp, maxTs.offset, true);
    }
    this.offsetIndex.close();
    this.timeIndex.close();
    this.file.close();
  }

  /** Renames the three files with a suffix (e.g. .deleted); the open fd stays valid for in-flight reads. */
  renameWithSuffix(suffix: string): void {
    for (const p of this.filePaths()) {
      if (fs.existsSync(p)) fs.renameSync(p, p + suffix);
    }
    this.renamedSuffix = suffix;
  }

  private renamedSuffix = '';

  /** Closes and unlinks the files (mappings are released before unlink). */
  deleteFiles(): void {
    this.offsetIndex.close();
    this.timeIndex.close();
    this.file.close();
    for (const p of this.filePaths()) {
      fs.rmSync(p + this.renamedSuffix, { force: true });
    }
  }

  filePaths(): string[] {
    return [this.logPath, this.offsetIndex.path, this.timeIndex.path];
  }

  /** Index files are checked on load; a corrupt one is rebuilt by recovery. */
  sanityCheckIndexes(): void {
    this.offsetIndex.sanityCheck();
    this.timeIndex.sanityCheck();
  }
}
