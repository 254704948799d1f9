// The log of one topic-partition: an ordered list of segments in
// `<log.dir>/<topic>-<partition>/`, the last of which takes appends.
//
// Offsets: logStartOffset <= every readable offset < logEndOffset (the next
// offset to assign). The high watermark is set by the caller (replication; on a
// single broker it follows the log end) and caps what consumers may read.
//
// Ownership and threading: one Log has one writer (the partition's leader or
// follower logic); all methods run on the event loop. Native calls are
// synchronous and per request, never per record; flush runs on a worker.
import fs from 'node:fs';
import path from 'node:path';
import { validateBatches, BatchStatus } from './batch-scan.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { LogIoError, OffsetOutOfRangeError, StorageError, StorageErrorCode, errnoCode } from './errors.js';
import type { IndexImpl } from './index-file.js';
import type { LogConfig } from './log-config.js';
import { checkCreateTimestamps } from './timestamp-check.js';
import { checkCompactedKeys } from './key-check.js';
import {
  CLEANED_FILE_SUFFIX,
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  LogSegment,
  NO_TIMESTAMP,
  SWAP_FILE_SUFFIX,
  segmentFileName,
  TIME_INDEX_FILE_SUFFIX,
  type TimestampAndOffset,
} from './log-segment.js';
import { CorruptIndexError } from './index-file.js';
import { openSegmentFile } from './segment-file.js';
import { fsyncDir as fsyncDirectory } from './checkpoint.js';
import {
  newProducerBatch,
  PRODUCER_SNAPSHOT_SUFFIX,
  ProducerStateManager,
  readProducerBatch,
  type BatchMetadata,
  type ProducerBatch,
} from './producer-state.js';

/** Kafka's ListOffsets special timestamps. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

// The smallest v2 batch is 61 bytes, so a buffer holds at most bytes/61 batches.
const BATCH_BYTES_MIN = 61;
const BATCH_INFO_SLOTS = 4;
/** producer.id.expiration.ms default: one day. */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000;
// Producer-state replay reads the log in chunks this large and walks batch headers in them.
const REPLAY_CHUNK_BYTES = 1024 * 1024;

/** Structured context for a log line (peer, topic, ...); loggers that only print text may ignore it. */
export type LogFields = Record<string, unknown>;

/** What the broker logs through; src/observability/logger.ts adapts pino to it. */
export interface LogLogger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  debug?(message: string, fields?: LogFields): void;
  error?(message: string, fields?: LogFields): void;
}

export const consoleLogger: LogLogger = {
  info: (m) => console.log(`[samsa] ${m}`),
  warn: (m) => console.warn(`[samsa] WARN ${m}`),
};

export const silentLogger: LogLogger = { info: () => {}, warn: () => {} };

export interface LogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  clock?: Clock;
  logger?: LogLogger;
  impl?: IndexImpl;
  /** Offsets below this were flushed before the last stop (from the recovery-point checkpoint). */
  recoveryPoint?: number;
  /**
   * Single-broker semantics: every append is committed at once, so the high
   * watermark follows the log end. Replication turns this off and sets it.
   */
  highWatermarkFollowsLogEnd?: boolean;
  /** Whether the log dir was shut down cleanly (no recovery scan needed). */
  hadCleanShutdown?: boolean;
  /** From the log-start-offset checkpoint (DeleteRecords may have moved it past the first segment's base). */
  logStartOffset?: number;
  /** producer.id.expiration.ms (a broker setting in Kafka). */
  producerIdExpirationMs?: number;
}

export interface AppendOptions {
  /** Leader epoch stamped into every batch (partitionLeaderEpoch). -1 on a single broker without epochs. */
  leaderEpoch?: number;
}

export interface AppendResult {
  /** Offset of the first record appended. */
  firstOffset: number;
  lastOffset: number;
  batchCount: number;
  /** Largest batch maxTimestamp, and the offset that carries it. */
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  /** The broker time stamped into the batches with LogAppendTime, else -1. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Set when flush.messages was reached: resolves once the append is durable. */
  flushed: Promise<void> | null;
  /**
   * The request was a retry of a batch this partition already has (idempotent
   * producer): nothing was appended, and first/lastOffset are the original ones.
   */
  duplicate: boolean;
}

export interface FileSlice {
  fd: number;
  position: number;
  length: number;
}

export interface ReadOptions {
  /** Exclusive upper bound on offsets returned (the high watermark for consumers). Default: log end. */
  maxOffset?: number;
  /** Return the first batch even if it is larger than maxBytes (Kafka's minOneMessage). Default true. */
  minOneMessage?: boolean;
}

export interface LogReadResult {
  /** Whole batches starting with the one containing the fetch offset; null when there is nothing to read. */
  records: FileSlice | null;
  firstBatchBaseOffset: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}

export class Log {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  private config: LogConfig;
  private readonly clock: Clock;
  private readonly logger: LogLogger;
  private readonly impl: IndexImpl | undefined;
  private segments: LogSegment[] = [];
  private nextOffset = 0;
  private logStart = 0;
  private highWatermarkOffset = 0;
  private recoveryPointOffset = 0;
  private unflushedMessages = 0;
  private lastFlushMs: number;
  private batchInfo = new Float64Array(BATCH_INFO_SLOTS * 64);
  private pendingDeletes = new Set<{ segment: LogSegment; timer: NodeJS.Timeout }>();
  private appendListeners = new Set<() => void>();
  private closed = false;
  private readonly highWatermarkFollowsLogEnd: boolean;
  private flushChain: Promise<void> = Promise.resolve();
  private readonly producerState: ProducerStateManager;
  private producerBatches: ProducerBatch[] = [];

  private constructor(options: LogOptions) {
    this.dir = options.dir;
    this.topic = options.topic;
    this.partition = options.partition;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? consoleLogger;
    this.impl = options.impl;
    this.lastFlushMs = this.clock.nowMs();
    this.highWatermarkFollowsLogEnd = options.highWatermarkFollowsLogEnd ?? true;
    this.producerState = new ProducerStateManager(
      this.dir,
      this.name,
      options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS_DEFAULT,
      this.logger,
    );
  }

  get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  /**
   * Opens (creating if needed) the log in options.dir, recovering after an unclean
   * stop: segments from the recovery point on are validated batch by batch, the
   * log is cut at the first invalid batch, later segments are deleted, and missing
   * or corrupt indexes are rebuilt.
   */
  static open(options: LogOptions): Log {
    const log = new Log(options);
    fs.mkdirSync(log.dir, { recursive: true });
    log.load(options.recoveryPoint ?? 0, options.hadCleanShutdown ?? false, options.logStartOffset ?? 0);
    return log;
  }

  private segmentOptions() {
    return { config: this.config, clock: this.clock, impl: this.impl };
  }

  private load(recoveryPoint: number, hadCleanShutdown: boolean, checkpointedLogStart: number): void {
    const baseOffsets = this.scanDirectory();
    const options = this.segmentOptions();
    // Everything opens read-only first; recovery or the active segment reopen for writing.
    for (const baseOffset of baseOffsets) this.segments.push(LogSegment.open(this.dir, baseOffset, options, false));
    if (!hadCleanShutdown) this.recoverSegments(recoveryPoint);
    else this.checkIndexes();
    if (this.segments.length > 0) this.activeSegment().reopenActive();
    if (this.segments.length === 0) {
      const start = Math.max(checkpointedLogStart, 0);
      this.segments.push(LogSegment.create(this.dir, start, options));
    }
    const active = this.activeSegment();
    this.nextOffset = active.readNextOffset();
    this.logStart = Math.max(this.segments[0].baseOffset, Math.min(checkpointedLogStart, this.nextOffset));
    // Recovery validated the bytes after the recovery point but did not make them
    // durable, so the point stays where the last flush left it.
    this.recoveryPointOffset = Math.min(recoveryPoint, this.nextOffset);
    this.highWatermarkOffset = this.nextOffset;
    this.loadProducerState();
  }

  /**
   * Producer state as of the log end: the newest snapshot at or below it, plus
   * the batches after the snapshot read back from the segments (the whole log
   * when there is no snapshot). Runs after recovery, so snapshots past a
   * truncated log end are gone first.
   */
  private loadProducerState(): void {
    const replayFrom = this.producerState.load(this.logStart, this.nextOffset, this.clock.nowMs());
    if (replayFrom < this.nextOffset) this.replayProducerBatches(replayFrom);
  }

  private replayProducerBatches(fromOffset: number): void {
    const chunk = Buffer.allocUnsafe(REPLAY_CHUNK_BYTES);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const batch = newProducerBatch();
    for (let i = this.floorSegmentIndex(fromOffset); i < this.segments.length; i++) {
      const segment = this.segments[i];
      const first = fromOffset > segment.baseOffset ? segment.translateOffset(fromOffset) : null;
      let position = first ? first.position : 0;
      if (fromOffset > segment.baseOffset && first === null) continue;
      const size = segment.size;
      let chunkStart = 0;
      let chunkBytes = 0;
      while (position + BATCH_BYTES_MIN <= size) {
        if (position + BATCH_BYTES_MIN > chunkStart + chunkBytes) {
          chunkStart = position;
          chunkBytes = segment.dataFile.readInto(position, chunk, 0, Math.min(REPLAY_CHUNK_BYTES, size - position));
          if (chunkBytes < BATCH_BYTES_MIN) break;
        }
        const at = position - chunkStart;
        const batchBytes = view.getInt32(at + 8) + 12;
        // Recovery vouched for the bytes; a header that still looks wrong ends the replay of this segment.
        if (batchBytes < BATCH_BYTES_MIN || position + batchBytes > size || chunk[at + 16] !== 2) {
          this.logger.warn(`${this.name}: producer state replay stopped at position ${position} of ${segment.logPath}`);
          break;
        }
        const lastOffset = Number(view.getBigInt64(at)) + view.getInt32(at + 23);
        if (lastOffset >= fromOffset) {
          readProducerBatch(view, at, lastOffset, Number(view.getBigInt64(at + 35)), batch);
          this.producerState.replay(batch);
        }
        position += batchBytes;
      }
    }
  }

  /**
   * Lists segment base offsets; finishes or discards leftovers of interrupted
   * operations the way Kafka does; logs and ignores files that are not ours.
   */
  private scanDirectory(): number[] {
    this.completeInterruptedSwaps();
    const logs = new Set<number>();
    const indexes: string[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const match = /^(\d{20})(\.log|\.index|\.timeindex)$/.exec(name);
      if (!match) {
        if (name !== 'leader-epoch-checkpoint' && name !== 'partition.metadata' && !name.endsWith(PRODUCER_SNAPSHOT_SUFFIX)) {
          this.logger.warn(`${this.name}: ignoring unexpected file ${name}`);
        }
        continue;
      }
      const baseOffset = Number(match[1]);
      if (!Number.isSafeInteger(baseOffset)) {
        this.logger.warn(`${this.name}: ignoring ${name}: base offset out of range`);
        continue;
      }
      if (match[2] === LOG_FILE_SUFFIX) logs.add(baseOffset);
      else indexes.push(name);
    }
    for (const name of indexes) {
      const baseOffset = Number(name.slice(0, 20));
      if (!logs.has(baseOffset)) {
        this.logger.warn(`${this.name}: deleting index ${name} without a log file`);
        fs.rmSync(path.join(this.dir, name), { force: true });
      }
    }
    return [...logs].sort((a, b) => a - b);
  }

  /**
   * Kafka's LogLoader start: .deleted and .cleaned files are leftovers of a
   * delete or a clean that did not finish, and go (the originals are intact or
   * already gone). A .swap file was complete before it was renamed to .swap
   * (the cleaner fsyncs first), so the swap is finished: the segments it
   * replaces, those with base offsets in [lowest swap base, highest swap end),
   * are deleted and the .swap files renamed into place. A .swap at or above a
   * .cleaned file of the same interrupted rename is not trusted (KAFKA-6264).
   */
  private completeInterruptedSwaps(): void {
    const names = fs.readdirSync(this.dir);
    let minCleanedBase = Number.POSITIVE_INFINITY;
    for (const name of names) {
      if (name.endsWith(CLEANED_FILE_SUFFIX)) minCleanedBase = Math.min(minCleanedBase, segmentBaseOfFile(name));
    }
    const swaps: string[] = [];
    for (const name of names) {
      const full = path.join(this.dir, name);
      if (name.endsWith(DELETED_FILE_SUFFIX) || name.endsWith(CLEANED_FILE_SUFFIX)) {
        fs.rmSync(full, { force: true });
      } else if (name.endsWith(SWAP_FILE_SUFFIX)) {
        if (segmentBaseOfFile(name) >= minCleanedBase) {
          this.logger.warn(`${this.name}: deleting ${name}: its clean did not finish renaming`);
          fs.rmSync(full, { force: true });
        } else {
          swaps.push(name);
        }
      }
    }
    if (swaps.length === 0) return;
    let minSwapBase = Number.POSITIVE_INFINITY;
    let maxSwapEnd = Number.NEGATIVE_INFINITY;
    for (const name of swaps) {
      if (!name.endsWith(LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX)) continue;
      const baseOffset = segmentBaseOfFile(name);
      minSwapBase = Math.min(minSwapBase, baseOffset);
      maxSwapEnd = Math.max(maxSwapEnd, this.nextOffsetOfFile(path.join(this.dir, name), baseOffset));
    }
    for (const name of fs.readdirSync(this.dir)) {
      if (name.endsWith(SWAP_FILE_SUFFIX)) continue;
      const match = /^(\d{20})(\.log|\.index|\.timeindex)$/.exec(name);
      if (!match) continue;
      const baseOffset = Number(match[1]);
      if (baseOffset >= minSwapBase && baseOffset < maxSwapEnd) {
        this.logger.info(`${this.name}: deleting ${name}, replaced by a cleaned segment before the last stop`);
        fs.rmSync(path.join(this.dir, name), { force: true });
      }
    }
    for (const name of swaps) {
      this.logger.info(`${this.name}: completing the interrupted swap of ${name}`);
      fs.renameSync(path.join(this.dir, name), path.join(this.dir, name.slice(0, -SWAP_FILE_SUFFIX.length)));
    }
    fsyncDirectory(this.dir);
  }

  /** The offset after the last whole batch of a segment data file (its base offset when empty). */
  private nextOffsetOfFile(file: string, baseOffset: number): number {
    const data = openSegmentFile(file, { mode: 'readonly', capacityBytes: 0, knownSize: -1, impl: this.impl });
    try {
      let next = baseOffset;
      let position = 0;
      for (;;) {
        const batch = data.findBatch(position, 'offset', -1);
        if (batch === null) return next;
        next = batch.lastOffset + 1;
        position = batch.position + batch.batchBytes;
      }
    } finally {
      data.close();
    }
  }

  private recoverSegments(recoveryPoint: number): void {
    // Segments that may hold unflushed data: the one containing the recovery point and all after it.
    let firstUnflushed = this.segments.length;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      firstUnflushed = i;
      if (this.segments[i].baseOffset <= recoveryPoint) break;
    }
    for (let i = 0; i < firstUnflushed; i++) this.checkSegmentIndexes(i);
    for (let i = firstUnflushed; i < this.segments.length; i++) {
      const segment = this.reopenForRecovery(i);
      const { truncatedBytes, recovery } = segment.recover();
      if (truncatedBytes > 0) {
        this.logger.warn(
          `${this.name}: recovery truncated ${truncatedBytes} bytes of ${segment.logPath} at position ` +
            `${recovery.validBytes} (${recovery.error || 'invalid batch'})`,
        );
        const doomed = this.segments.splice(i + 1);
        for (const later of doomed) {
          this.logger.warn(`${this.name}: deleting segment ${later.logPath} after the truncation point`);
          later.deleteFiles();
        }
      }
      if (i < this.segments.length - 1) segment.onBecomeInactive();
    }
  }

  /** Recovery may truncate, so the segment is opened writable while it is recovered. */
  private reopenForRecovery(i: number): LogSegment {
    const segment = this.segments[i];
    segment.reopenForRecovery();
    return segment;
  }

  private checkIndexes(): void {
    for (let i = 0; i < this.segments.length; i++) this.checkSegmentIndexes(i);
  }

  private checkSegmentIndexes(i: number): void {
    const segment = this.segments[i];
    const missing = !fs.existsSync(segment.offsetIndex.path) || !fs.existsSync(segment.timeIndex.path);
    let corrupt = false;
    if (!missing) {
      try {
        segment.sanityCheckIndexes();
      } catch (err) {
        if (!(err instanceof CorruptIndexError)) throw err;
        this.logger.warn(`${this.name}: ${err.message}; rebuilding the indexes`);
        corrupt = true;
      }
    } else {
      this.logger.warn(`${this.name}: index files of ${segment.logPath} are missing; rebuilding them`);
    }
    if (missing || corrupt) {
      this.reopenForRecovery(i);
      segment.offsetIndex.deleteFile();
      segment.timeIndex.deleteFile();
      const { truncatedBytes } = segment.recover();
      if (truncatedBytes > 0) this.logger.warn(`${this.name}: rebuilding indexes cut ${truncatedBytes} invalid bytes`);
      if (i < this.segments.length - 1) segment.onBecomeInactive();
    }
  }

  activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  get logEndOffset(): number {
    return this.nextOffset;
  }

  get logStartOffset(): number {
    return this.logStart;
  }

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  get recoveryPoint(): number {
    return this.recoveryPointOffset;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Bytes of all segments. */
  get size(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  /** Base offsets of the segments, oldest first (for tools and tests). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  get currentConfig(): Readonly<LogConfig> {
    return this.config;
  }

  /** New topic configs take effect on the next append/roll/retention check. */
  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  setHighWatermark(offset: number): void {
    if (offset < this.logStart || offset > this.nextOffset) {
      throw new RangeError(`${this.name}: high watermark ${offset} outside [${this.logStart}, ${this.nextOffset}]`);
    }
    this.highWatermarkOffset = offset;
  }

  /** Called after every append (e.g. to wake fetches waiting for data), and once at close. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Calls the append listeners without an append: the log was taken out of service (topic deletion). */
  wakeListeners(): void {
    for (const listener of [...this.appendListeners]) listener();
  }

  /**
   * Appends the RecordBatch v2 batches in buf[start, end) as a leader: validates
   * each batch (sizes, magic, CRC32C), assigns offsets by rewriting baseOffset in
   * place, stamps the leader epoch (and LogAppendTime when configured), rolls if
   * needed, and writes the bytes with one native call. Records are not decoded.
   */
  append(buf: Uint8Array, start = 0, end = buf.length, options: AppendOptions = {}): AppendResult {
    this.assertOpen();
    const byteCount = end - start;
    if (byteCount <= 0) throw new StorageError(StorageErrorCode.CORRUPT_MESSAGE, `${this.name}: empty append`);
    const maxBatches = Math.ceil(byteCount / BATCH_BYTES_MIN);
    if (this.batchInfo.length < maxBatches * BATCH_INFO_SLOTS) {
      this.batchInfo = new Float64Array(maxBatches * BATCH_INFO_SLOTS);
    }
    const info = this.batchInfo;
    const logAppendTimeMs = this.config.messageTimestampType === 'LogAppendTime' ? this.clock.nowMs() : -1;
    const leaderEpoch = options.leaderEpoch ?? -1;
    if (this.config.compact) checkCompactedKeys(buf, start, end, this.name);
    checkCreateTimestamps(buf, start, end, this.config, this.clock.nowMs());
    const status = validateBatches(buf, start, end, this.nextOffset, leaderEpoch, logAppendTimeMs, this.config.maxMessageBytes, info);
    if (status <= 0) throw this.batchError(status, buf, start, end);
    const batchCount = status;
    const firstOffset = this.nextOffset;
    const lastOffset = info[BATCH_INFO_SLOTS * (batchCount - 1) + 1];
    let maxTimestamp = NO_TIMESTAMP;
    let offsetOfMaxTimestamp = -1;
    for (let i = 0; i < batchCount; i++) {
      const ts = info[BATCH_INFO_SLOTS * i + 2];
      if (ts > maxTimestamp) {
        maxTimestamp = ts;
        offsetOfMaxTimestamp = info[BATCH_INFO_SLOTS * i + 1];
      }
    }
    const check = this.producerState.checkClientAppend(this.producerBatchesOf(buf, start, batchCount));
    if (check.kind === 'duplicate') return this.duplicateResult(check.batch);
    const segment = this.maybeRoll(byteCount, firstOffset, lastOffset, maxTimestamp);
    try {
      segment.append(buf, start, end, info, batchCount);
    } catch (err) {
      throw this.ioError('append', err);
    }
    this.producerState.commit(check);
    this.nextOffset = lastOffset + 1;
    if (this.highWatermarkFollowsLogEnd) this.highWatermarkOffset = this.nextOffset;
    this.unflushedMessages += lastOffset + 1 - firstOffset;
    let flushed: Promise<void> | null = null;
    if (this.unflushedMessages >= this.config.flushMessages) flushed = this.flush();
    for (const listener of this.appendListeners) listener();
    return {
      firstOffset,
      lastOffset,
      batchCount,
      maxTimestamp,
      offsetOfMaxTimestamp,
      logAppendTimeMs,
      logStartOffset: this.logStart,
      flushed,
      duplicate: false,
    };
  }

  /** The producer fields of the batches validateBatches just judged (one reused object per batch slot). */
  private producerBatchesOf(buf: Uint8Array, start: number, batchCount: number): ProducerBatch[] {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const batches = this.producerBatches;
    while (batches.length < batchCount) batches.push(newProducerBatch());
    batches.length = batchCount;
    for (let i = 0; i < batchCount; i++) {
      const slot = BATCH_INFO_SLOTS * i;
      readProducerBatch(view, start + this.batchInfo[slot], this.batchInfo[slot + 1], this.batchInfo[slot + 2], batches[i]);
    }
    return batches;
  }

  /**
   * Kafka answers a retried batch with the offsets it was given the first time.
   * The append time is the stored batch timestamp only under LogAppendTime, so
   * the retry's answer matches the original one (-1 under CreateTime).
   */
  private duplicateResult(batch: BatchMetadata): AppendResult {
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    return {
      firstOffset: batch.firstOffset,
      lastOffset: batch.lastOffset,
      batchCount: 0,
      maxTimestamp: batch.timestamp,
      offsetOfMaxTimestamp: batch.lastOffset,
      logAppendTimeMs: logAppendTime ? batch.timestamp : -1,
      logStartOffset: this.logStart,
      flushed: null,
      duplicate: true,
    };
  }

  /** Producers the partition remembers (tests, DescribeProducers later). */
  producerEntry(producerId: bigint) {
    return this.producerState.entry(producerId);
  }

  get producerCount(): number {
    return this.producerState.producerCount;
  }

  get producerSnapshotOffsets(): readonly number[] {
    return this.producerState.snapshotOffsets;
  }

  /** producer.id.expiration.ms, run by the LogManager's scheduler. */
  removeExpiredProducers(): number {
    return this.producerState.removeExpiredProducers(this.clock.nowMs());
  }

  setProducerIdExpirationMs(ms: number): void {
    this.producerState.setProducerIdExpirationMs(ms);
  }

  /**
   * Writes a producer snapshot at the log end. Clean shutdown calls it with
   * `sync`; a roll writes one at the new segment's base and fsyncs it in the
   * background, as Kafka does.
   */
  takeProducerSnapshot(sync: boolean): Promise<void> {
    this.assertOpen();
    const written = this.producerState.takeSnapshot(this.nextOffset, sync);
    this.producerState.retainSnapshots(new Set(this.segments.map((s) => s.baseOffset)));
    return written;
  }

  private batchError(status: number, buf: Uint8Array, start: number, end: number): StorageError {
    const batchIndex = this.batchInfo[0];
    if (status === BatchStatus.BadLength && this.hasOversizedBatch(buf, start, end)) {
      return new StorageError(
        StorageErrorCode.MESSAGE_TOO_LARGE,
        `${this.name}: a record batch is larger than max.message.bytes (${this.config.maxMessageBytes})`,
      );
    }
    const reasons: Record<number, string> = {
      [BatchStatus.Truncated]: 'truncated batch',
      [BatchStatus.BadLength]: 'impossible batch length',
      [BatchStatus.BadMagic]: 'unsupported magic (only v2 batches are accepted)',
      [BatchStatus.BadCrc]: 'CRC32C mismatch',
      [BatchStatus.TooManyBatches]: 'too many batches',
      [BatchStatus.BadOffsetDelta]: 'invalid lastOffsetDelta',
    };
    const code = status === BatchStatus.BadMagic ? StorageErrorCode.INVALID_RECORD : StorageErrorCode.CORRUPT_MESSAGE;
    return new StorageError(code, `${this.name}: rejected append: ${reasons[status] ?? `status ${status}`} in batch ${batchIndex}`);
  }

  // Error path only: tells MESSAGE_TOO_LARGE apart from a corrupt length.
  private hasOversizedBatch(buf: Uint8Array, start: number, end: number): boolean {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let position = start;
    while (position + 12 <= end) {
      const batchBytes = view.getInt32(position + 8) + 12;
      if (batchBytes > this.config.maxMessageBytes) return true;
      if (batchBytes < BATCH_BYTES_MIN) return false;
      position += batchBytes;
    }
    return false;
  }

  private ioError(op: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    const code = errnoCode(err);
    const message = `${this.name}: ${op} failed: ${(err as Error).message ?? String(err)}`;
    this.logger.warn(message);
    return new LogIoError(code, message, err);
  }

  /** Kafka's roll conditions: size, age (segment.ms), a full index, or an offset the index cannot hold. */
  private maybeRoll(messagesBytes: number, firstOffset: number, lastOffset: number, maxTimestamp: number): LogSegment {
    const segment = this.activeSegment();
    const nowMs = this.clock.nowMs();
    const reachedSize = segment.size > 0 && segment.size > this.config.segmentBytes - messagesBytes;
    const reachedTime =
      segment.size > 0 && segment.timeWaitedForRollMs(nowMs, maxTimestamp) > this.config.segmentMs - this.config.segmentJitterMs;
    const indexFull = segment.offsetIndex.isFull || segment.timeIndex.isFull;
    const offsetOverflow = !segment.canConvertToRelativeOffset(lastOffset);
    if (!reachedSize && !reachedTime && !indexFull && !offsetOverflow) return segment;
    if (segment.size === 0 && segment.baseOffset === firstOffset && !offsetOverflow) return segment;
    return this.roll(firstOffset);
  }

  /** Starts a new active segment at `newBaseOffset` (default: the log end). */
  roll(newBaseOffset = this.nextOffset): LogSegment {
    this.assertOpen();
    const previous = this.activeSegment();
    if (previous.size === 0 && previous.baseOffset === newBaseOffset) return previous;
    let created: LogSegment;
    try {
      // Create first: if the disk is full this throws and the current segment stays active.
      created = LogSegment.create(this.dir, newBaseOffset, this.segmentOptions());
    } catch (err) {
      throw this.ioError('roll', err);
    }
    if (previous.size === 0) {
      // An empty active segment is replaced rather than kept as an empty old segment.
      this.segments.pop();
      previous.deleteFiles();
    } else {
      previous.onBecomeInactive();
    }
    this.segments.push(created);
    if (newBaseOffset === this.nextOffset) {
      void this.takeProducerSnapshot(false).catch((err) => this.logger.warn(`${this.name}: producer snapshot after roll failed: ${err}`));
    }
    // Kafka flushes the rolled segment in the background, moving the recovery point to the new base.
    if (previous.size > 0) void this.flush(newBaseOffset).catch((err) => this.logger.warn(`${this.name}: flush after roll failed: ${err}`));
    return created;
  }

  /**
   * Whole batches from the one containing `fetchOffset`, as one file slice of one
   * segment, ending on a batch boundary (at least one batch when minOneMessage).
   */
  read(fetchOffset: number, maxBytes: number, options: ReadOptions = {}): LogReadResult {
    this.assertOpen();
    const maxOffset = Math.min(options.maxOffset ?? this.nextOffset, this.nextOffset);
    const minOneMessage = options.minOneMessage ?? true;
    const result: LogReadResult = {
      records: null,
      firstBatchBaseOffset: -1,
      logStartOffset: this.logStart,
      logEndOffset: this.nextOffset,
      highWatermark: this.highWatermarkOffset,
    };
    if (fetchOffset < this.logStart || fetchOffset > this.nextOffset) {
      throw new OffsetOutOfRangeError(fetchOffset, this.logStart, this.nextOffset, this.name);
    }
    if (fetchOffset >= maxOffset) return result;
    // A negative limit (a client's partition_max_bytes) reads as 0: at most the batch minOneMessage allows.
    maxBytes = Math.max(0, maxBytes);
    let index = this.floorSegmentIndex(fetchOffset);
    for (; index < this.segments.length; index++) {
      const segment = this.segments[index];
      let slice;
      try {
        slice = segment.read(fetchOffset, maxBytes, maxOffset, minOneMessage);
      } catch (err) {
        // A header the scan cannot trust: fail this read loudly rather than send bytes past it.
        throw this.ioError(`read at offset ${fetchOffset} from ${segment.logPath}`, err);
      }
      if (slice === null) continue;
      if (slice.length > 0) result.records = { fd: segment.fd, position: slice.position, length: slice.length };
      result.firstBatchBaseOffset = slice.firstBatchBaseOffset;
      return result;
    }
    return result;
  }

  /** Index of the last segment whose base offset is <= offset (0 when offset is below all). */
  private floorSegmentIndex(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid].baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * ListOffsets: -1 latest (log end), -2 earliest (log start), -3 the record with
   * the largest timestamp, otherwise the first record whose timestamp is >= ts.
   * Null when no record is that new.
   */
  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null {
    this.assertOpen();
    if (timestampMs === LATEST_TIMESTAMP) return { timestamp: NO_TIMESTAMP, offset: this.nextOffset };
    if (timestampMs === EARLIEST_TIMESTAMP) return { timestamp: NO_TIMESTAMP, offset: this.logStart };
    if (timestampMs === MAX_TIMESTAMP) {
      let best: TimestampAndOffset | null = null;
      let bestSegment: LogSegment | null = null;
      for (const segment of this.segments) {
        const m = segment.maxTimestampSoFar;
        if (m.timestamp >= 0 && (best === null || m.timestamp > best.timestamp)) {
          best = m;
          bestSegment = segment;
        }
      }
      if (best === null || bestSegment === null) return null;
      // The index knows the batch; Kafka 4.0 answers with the first record in it carrying that timestamp.
      return bestSegment.findOffsetByTimestamp(best.timestamp, 0) ?? best;
    }
    for (const segment of this.segments) {
      if (segment.size === 0) continue;
      if (segment.maxTimestampSoFar.timestamp < timestampMs) continue;
      const found = segment.findOffsetByTimestamp(timestampMs, this.logStart);
      if (found !== null) return found;
    }
    return null;
  }

  /**
   * Makes everything below `upToOffset` (default: the log end) durable and moves
   * the recovery point there. Flushes run one after another.
   */
  flush(upToOffset = this.nextOffset): Promise<void> {
    const run = async () => {
      if (upToOffset <= this.recoveryPointOffset || this.closed) return;
      const targets = this.segments.filter((s, i) => {
        const next = this.segments[i + 1];
        const end = next ? next.baseOffset : Number.MAX_SAFE_INTEGER;
        return end > this.recoveryPointOffset && s.baseOffset < upToOffset;
      });
      for (const segment of targets) await segment.flush();
      if (upToOffset > this.recoveryPointOffset) this.recoveryPointOffset = Math.min(upToOffset, this.nextOffset);
      if (upToOffset >= this.nextOffset) this.unflushedMessages = 0;
      this.lastFlushMs = this.clock.nowMs();
    };
    const next = this.flushChain.then(run, run);
    this.flushChain = next.catch(() => {});
    return next.catch((err) => {
      throw this.ioError('flush', err);
    });
  }

  /** For the flush.ms scheduler. */
  get msSinceLastFlush(): number {
    return this.clock.nowMs() - this.lastFlushMs;
  }

  get hasUnflushedMessages(): boolean {
    return this.nextOffset > this.recoveryPointOffset;
  }

  /**
   * Removes every batch from the one containing `targetOffset` onward (replication
   * truncates divergent tails). Segments starting after it are deleted.
   */
  truncateTo(targetOffset: number): boolean {
    this.assertOpen();
    if (targetOffset < 0) throw new RangeError(`${this.name}: cannot truncate to negative offset ${targetOffset}`);
    if (targetOffset >= this.nextOffset) return false;
    if (this.segments[0].baseOffset > targetOffset) {
      this.truncateFullyAndStartAt(targetOffset);
      return true;
    }
    while (this.segments.length > 1 && this.activeSegment().baseOffset > targetOffset) {
      this.scheduleDelete(this.segments.pop()!);
    }
    const active = this.activeSegment();
    active.reopenActive();
    active.truncateTo(targetOffset);
    this.nextOffset = active.readNextOffset();
    this.logStart = Math.min(this.logStart, targetOffset);
    this.recoveryPointOffset = Math.min(this.recoveryPointOffset, this.nextOffset);
    this.highWatermarkOffset = Math.min(this.highWatermarkOffset, this.nextOffset);
    this.unflushedMessages = 0;
    // Producer state forgets the removed batches: reload from a snapshot at or below the new end.
    this.producerState.deleteSnapshotsAfter(this.nextOffset);
    this.loadProducerState();
    return true;
  }

  /** Deletes all segments and starts empty at `newOffset` (a follower far behind the leader's log start). */
  truncateFullyAndStartAt(newOffset: number): void {
    this.assertOpen();
    for (const segment of this.segments.splice(0)) this.scheduleDelete(segment);
    this.segments.push(LogSegment.create(this.dir, newOffset, this.segmentOptions()));
    this.nextOffset = newOffset;
    this.logStart = newOffset;
    this.recoveryPointOffset = newOffset;
    this.highWatermarkOffset = newOffset;
    this.unflushedMessages = 0;
    this.producerState.clear();
  }

  /** DeleteRecords: moves the log start forward (to at most the high watermark). Whole segments below it go on the next retention pass. */
  maybeIncrementLogStartOffset(newLogStartOffset: number): boolean {
    this.assertOpen();
    if (newLogStartOffset > this.highWatermarkOffset) {
      throw new OffsetOutOfRangeError(newLogStartOffset, this.logStart, this.highWatermarkOffset, this.name);
    }
    if (newLogStartOffset <= this.logStart) return false;
    this.logStart = newLogStartOffset;
    return true;
  }

  // ---- for the log cleaner (log-cleaner.ts) ----

  /** The segments, oldest first, the last being the active one (a copy: the cleaner walks it across slices). */
  segmentsSnapshot(): LogSegment[] {
    this.assertOpen();
    return [...this.segments];
  }

  /** Whether `segment` is still one of this log's inactive segments. */
  holdsInactiveSegment(segment: LogSegment): boolean {
    return !this.closed && segment !== this.activeSegment() && this.segments.includes(segment);
  }

  /**
   * Kafka's lastRecordsOfActiveProducers: per producer, the last offset of its
   * last batch. The cleaner keeps that batch (empty if need be) so the
   * producer's last sequence survives compaction.
   */
  lastDataOffsetsOfProducers(): Map<bigint, number> {
    const out = new Map<bigint, number>();
    for (const entry of this.producerState.activeProducers()) {
      const last = entry.batches[entry.batches.length - 1];
      if (last !== undefined) out.set(entry.producerId, last.lastOffset);
    }
    return out;
  }

  /**
   * Kafka's firstUnstableOffset: the first offset of the oldest transaction
   * whose marker is not in the log yet, or null when there is none. The
   * cleaner does not clean from there on.
   */
  get firstUnstableOffset(): number | null {
    let first: number | null = null;
    for (const entry of this.producerState.activeProducers()) {
      if (entry.currentTxnFirstOffset >= 0 && (first === null || entry.currentTxnFirstOffset < first)) first = entry.currentTxnFirstOffset;
    }
    return first;
  }

  /** Segment options for a segment written beside the log (the cleaner's output). */
  get segmentOpenOptions() {
    return this.segmentOptions();
  }

  /**
   * Kafka's replaceSegments: swaps the cleaned segment (files
   * `<base>.log.cleaned`, `.index.cleaned`, `.timeindex.cleaned`, complete and
   * fsynced) in for `oldSegments`, which must still be consecutive inactive
   * segments of this log starting at `baseOffset`. Renames the cleaned files to
   * .swap, the old segments to .deleted (unlinked after file.delete.delay.ms,
   * so fetches already sending from them finish), then the .swap files into
   * place; a crash anywhere in between is finished by the next load
   * (completeInterruptedSwaps). Synchronous: no read sees a half-swapped list.
   */
  replaceSegments(baseOffset: number, cleanedBytes: number, oldSegments: readonly LogSegment[], step: (point: SwapStep) => void = () => {}): LogSegment {
    this.assertOpen();
    const first = this.segments.indexOf(oldSegments[0]);
    const consecutive = first >= 0 && oldSegments.every((s, i) => this.segments[first + i] === s);
    if (!consecutive || oldSegments[0].baseOffset !== baseOffset || first + oldSegments.length >= this.segments.length) {
      throw new CleaningAbortedError(`${this.name}: segments changed while cleaning from offset ${baseOffset}`);
    }
    const suffixes = [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX];
    const finalPaths = suffixes.map((suffix) => path.join(this.dir, segmentFileName(baseOffset, suffix)));
    for (const p of finalPaths) {
      fs.renameSync(p + CLEANED_FILE_SUFFIX, p + SWAP_FILE_SUFFIX);
      step('renaming-to-swap');
    }
    fsyncDirectory(this.dir);
    this.segments.splice(first, oldSegments.length);
    for (const segment of oldSegments) this.scheduleDelete(segment);
    step('old-segments-deleted');
    for (const p of finalPaths) {
      fs.renameSync(p + SWAP_FILE_SUFFIX, p);
      step('renaming-into-place');
    }
    fsyncDirectory(this.dir);
    const cleaned = LogSegment.open(this.dir, baseOffset, this.segmentOptions(), false, cleanedBytes);
    this.segments.splice(first, 0, cleaned);
    return cleaned;
  }

  /**
   * Retention: deletes whole old segments breaching retention.ms (by their newest
   * record's timestamp), retention.bytes, or the log start offset; never the
   * active segment (when all data is expired the log rolls first, as Kafka does).
   * Returns the number of segments deleted.
   */
  deleteOldSegments(): number {
    this.assertOpen();
    let deleted = 0;
    const nowMs = this.clock.nowMs();
    // Kafka: retention by time and size applies only when cleanup.policy contains "delete";
    // segments below the log start offset (DeleteRecords) go under either policy.
    if (this.config.delete && this.config.retentionMs >= 0) {
      deleted += this.deleteSegmentsWhile((s) => nowMs - s.largestTimestamp() > this.config.retentionMs);
    }
    if (this.config.delete && this.config.retentionBytes >= 0) {
      let excess = this.size - this.config.retentionBytes;
      deleted += this.deleteSegmentsWhile((s) => {
        if (excess - s.size < 0) return false;
        excess -= s.size;
        return true;
      });
    }
    deleted += this.deleteSegmentsWhile((_s, next) => next !== null && next.baseOffset <= this.logStart);
    return deleted;
  }

  private deleteSegmentsWhile(predicate: (segment: LogSegment, next: LogSegment | null) => boolean): number {
    const deletable: LogSegment[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i];
      const next = i + 1 < this.segments.length ? this.segments[i + 1] : null;
      // Only data below the high watermark may go (a consumer may still need the rest).
      const upperBound = next ? next.baseOffset : this.nextOffset;
      if (upperBound > this.highWatermarkOffset) break;
      if (next === null && segment.size === 0) break;
      if (!predicate(segment, next)) break;
      deletable.push(segment);
    }
    if (deletable.length === 0) return 0;
    if (deletable.length === this.segments.length) this.roll();
    for (const segment of deletable) {
      if (segment === this.activeSegment()) continue;
      this.segments.splice(this.segments.indexOf(segment), 1);
      this.scheduleDelete(segment);
    }
    this.logStart = Math.max(this.logStart, this.segments[0].baseOffset);
    this.recoveryPointOffset = Math.max(this.recoveryPointOffset, this.segments[0].baseOffset);
    // Snapshots of deleted segments go with them (Kafka keeps producer entries until they expire).
    this.producerState.retainSnapshots(new Set(this.segments.map((s) => s.baseOffset)));
    return deletable.length;
  }

  /**
   * Renames the files to .deleted now and unlinks them after file.delete.delay.ms,
   * so a fetch already sending from the old fd completes.
   */
  private scheduleDelete(segment: LogSegment): void {
    try {
      segment.renameWithSuffix(DELETED_FILE_SUFFIX);
    } catch (err) {
      this.logger.warn(`${this.name}: renaming ${segment.logPath} for deletion failed: ${err}`);
    }
    const entry = {
      segment,
      timer: setTimeout(() => {
        this.pendingDeletes.delete(entry);
        segment.deleteFiles();
      }, this.config.fileDeleteDelayMs),
    };
    entry.timer.unref();
    this.pendingDeletes.add(entry);
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `${this.name}: log is closed`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Flushes (unless `flush` is false), writes the clean-shutdown producer
   * snapshot (unless `snapshot` is false) and closes every segment, finishing
   * pending deletions.
   */
  async close(options: { flush?: boolean; snapshot?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    if (options.flush ?? true) await this.flush();
    await this.flushChain;
    if (options.snapshot ?? true) {
      try {
        await this.takeProducerSnapshot(true);
      } catch (err) {
        // The next start rebuilds the state from the log; closing must go on.
        this.logger.warn(`${this.name}: producer snapshot at shutdown failed: ${(err as Error).message}`);
      }
    }
    this.closed = true;
    for (const entry of this.pendingDeletes) {
      clearTimeout(entry.timer);
      entry.segment.deleteFiles();
    }
    this.pendingDeletes.clear();
    for (const segment of this.segments) segment.close();
    // Whoever waits for data from this log (a long-polling fetch) looks again
    // now and finds it gone, rather than waiting out its max wait.
    const listeners = [...this.appendListeners];
    this.appendListeners.clear();
    for (const listener of listeners) listener();
  }

  /** Closes without flushing and removes the partition directory (topic deletion). */
  async deleteAll(): Promise<void> {
    await this.close({ flush: false, snapshot: false });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The base offset in a segment file name (`00000000000000000042.log.swap` -> 42). */
function segmentBaseOfFile(name: string): number {
  const base = Number(name.slice(0, 20));
  return /^\d{20}\./.test(name) && Number.isSafeInteger(base) ? base : Number.POSITIVE_INFINITY;
}

/** Points inside replaceSegments, for crash tests (each rename of the three files is one step). */
export type SwapStep = 'renaming-to-swap' | 'old-segments-deleted' | 'renaming-into-place';

/** The cleaner found the log changed under it (segments deleted, truncated, closed): its work is dropped. */
export class CleaningAbortedError extends Error {
  override name = 'CleaningAbortedError';
}

export { INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX };
