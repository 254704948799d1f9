// The log cleaner: compaction of every log whose cleanup.policy contains
// "compact", after Kafka's LogCleaner, LogCleanerManager and Cleaner.
//
// Choosing a log (grabFilthiestCompactedLog): for each compacted log, the
// dirty section runs from the cleaner checkpoint (`cleaner-offset-checkpoint`
// in the log dir, Kafka's format; the log start when there is none) to the
// first uncleanable offset: the smallest of the high watermark, the active
// segment's base, and the base of the first segment whose newest record is
// younger than min.compaction.lag.ms. The dirty ratio is the dirty bytes over
// all bytes up to that point. The log with the largest ratio above
// min.cleanable.dirty.ratio is cleaned, or one whose oldest dirty batch is
// older than max.compaction.lag.ms.
//
// Cleaning a log (Cleaner.doClean):
// 1. Map key digest -> latest offset over the dirty section (SkimpyOffsetMap,
//    bounded by log.cleaner.dedupe.buffer.size); if the map fills, the clean
//    ends where the map got to and the next round continues.
// 2. Rewrite every segment from the log start to that end, grouped so that a
//    group fits one segment (segment.bytes, segment.index.bytes, offsets within
//    int32 of the base), keeping what cleaner-batch.ts keeps. Each group goes
//    to `<base>.log.cleaned` (+ indexes), is fsynced, and is swapped in by
//    Log.replaceSegments (.cleaned -> .swap -> final names; the old segments
//    to .deleted). A crash at any point leaves a log that Log.open completes.
// 3. Checkpoint the end offset.
//
// Threading: the cleaner runs on the event loop, in slices: each slice reads at
// most one I/O buffer (log.cleaner.io.buffer.size / threads / 2) of a segment,
// filters or maps it, writes the output, then yields with setImmediate. The
// Log and its segments are owned by the event loop (one writer); a worker
// thread would need its own file handles and a lock around the swap, for no
// gain at these sizes. Inactive segments never change, so reading them across
// slices is safe; anything that changes the segment list meanwhile (retention,
// truncation, deletion) makes the swap refuse (CleaningAbortedError) and the
// work is dropped.
//
// Transactions (cleaner-txn.ts): before the two passes, the aborted
// transactions are found by walking batch headers (no .txnindex here; each
// segment's walk is remembered): from the log start through the cleanable
// segments, and on into later segments (the active one too) until every
// transaction open at the cleanable end has its marker, as Kafka's
// collectAbortedTransactions reads on past the upper bound. Pass 1 leaves the
// records of aborted transactions out of the offset map; pass 2 drops them
// and the markers Kafka would drop. Nothing at or above the first unstable
// offset (the first offset of a transaction without its marker yet, Kafka's
// LSO) is cleaned.
//
// Throttling: log.cleaner.io.max.bytes.per.second bounds the bytes read and
// written per second across the cleaner threads (Kafka's Throttler: checked
// every 300 ms, sleeping off any excess). Metrics: stats() answers Kafka's
// LogCleaner and LogCleanerManager gauges (max-clean-time-secs,
// cleaner-recopy-percent, max-buffer-utilization-percent, max-dirty-percent,
// uncleanable-partitions-count, ...) from the last run of each thread.
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { readOffsetCheckpoint, topicPartitionKey, writeOffsetCheckpoint } from './checkpoint.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { filterBatch, forEachBatchKey, type BatchFilterContext } from './cleaner-batch.js';
import { abortedTransactions, CleanedTransactionMetadata, controlRecordType, TxnEventCollector, type AbortedTxn, type TxnEvent } from './cleaner-txn.js';
import { readBatchHeader } from '../record/record-batch.js';
import { OffsetIndex, TimeIndex, type IndexImpl } from './index-file.js';
import { CleaningAbortedError, type Log, type LogLogger, type SwapStep } from './log.js';
import {
  CLEANED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  segmentFileName,
  type LogSegment,
} from './log-segment.js';
import { OFFSET_MAP_SLOT_BYTES, SkimpyOffsetMap } from './offset-map.js';

export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const BATCH_BYTES_MIN = 61;
const LOG_OVERHEAD_BYTES = 12;
// Relative offsets in a segment's index are int32.
const INT32_MAX = 2 ** 31 - 1;
// Read buffers grow to hold one batch bigger than they are, up to a segment (2 GiB).
const READ_BUFFER_BYTES_MAX = 2 ** 31 - 1;
// Records decoded (and hashed, or filtered and re-encoded) between two yields to the event loop:
// about 10-40 ms of work on a busy 2-core machine (docs/operations.md, Compaction).
const RECORDS_PER_SLICE = 1000;
const STOP = -1;

export interface LogCleanerOptions {
  /** log.cleaner.threads: logs cleaned at once. */
  threads: number;
  /** log.cleaner.backoff.ms. */
  backoffMs: number;
  /** log.cleaner.dedupe.buffer.size, shared by the threads. */
  dedupeBufferSize: number;
  /** log.cleaner.io.buffer.size, shared by the threads (half reading, half writing each). */
  ioBufferSize: number;
  /** log.cleaner.io.buffer.load.factor. */
  ioBufferLoadFactor: number;
  clock?: Clock;
  logger?: LogLogger;
  impl?: IndexImpl;
  /** Crash tests: called at each step of writing and swapping a cleaned segment (the test SIGKILLs its process there). */
  crashPoint?: (point: CleanerCrashPoint) => void;
  /** log.cleaner.io.max.bytes.per.second: read + written bytes per second over all threads; absent or Infinity: no throttle. */
  ioMaxBytesPerSecond?: number;
}

/** Kafka's log cleaner gauges (kafka.log:type=LogCleaner / LogCleanerManager), from the last run of each thread. */
export interface CleanerStats {
  /** max-buffer-utilization-percent: the fullest offset map of the last runs. */
  maxBufferUtilizationPercent: number;
  /** cleaner-recopy-percent: bytes written over bytes read in the last runs, averaged over the threads. */
  cleanerRecopyPercent: number;
  /** max-clean-time-secs: the longest of the last runs. */
  maxCleanTimeSecs: number;
  /** max-compaction-delay-secs: how far past max.compaction.lag.ms the most delayed log cleaned last was. */
  maxCompactionDelaySecs: number;
  /** max-dirty-percent: the highest dirty ratio among compacted logs at the last pick. */
  maxDirtyPercent: number;
  /** time-since-last-run-ms. */
  timeSinceLastRunMs: number;
  /** uncleanable-partitions-count, per log dir. */
  uncleanablePartitionsCount: Map<string, number>;
  /** uncleanable-bytes, per log dir. */
  uncleanableBytes: Map<string, number>;
  /** Cleans done and bytes read/written since start (Samsa's counters). */
  cleansTotal: number;
  bytesReadTotal: number;
  bytesWrittenTotal: number;
  /** Time spent sleeping for log.cleaner.io.max.bytes.per.second. */
  throttledMsTotal: number;
}

/** One thread's last run, for the gauges. */
interface LastRun {
  elapsedMs: number;
  bytesRead: number;
  bytesWritten: number;
  bufferUtilization: number;
  compactionDelayMs: number;
}

/**
 * Kafka's Throttler: keeps the byte rate at or under `bytesPerSecond`
 * measured over periods of at least 300 ms, by sleeping off the excess.
 */
export class Throttler {
  private periodStartMs: number;
  private bytesInPeriod = 0;
  throttledMs = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly checkIntervalMs = 300,
  ) {
    this.periodStartMs = this.nowMs();
  }

  get enabled(): boolean {
    // Kafka's default, Double.MAX_VALUE, means no throttle.
    return this.bytesPerSecond > 0 && this.bytesPerSecond < Number.MAX_VALUE;
  }

  async maybeThrottle(bytes: number): Promise<void> {
    if (!this.enabled) return;
    this.bytesInPeriod += bytes;
    const elapsedMs = this.nowMs() - this.periodStartMs;
    if (elapsedMs < this.checkIntervalMs) return;
    const rate = (this.bytesInPeriod * 1000) / elapsedMs;
    if (rate > this.bytesPerSecond) {
      const sleepMs = (this.bytesInPeriod * 1000) / this.bytesPerSecond - elapsedMs;
      if (sleepMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, sleepMs).unref());
        this.throttledMs += sleepMs;
      }
    }
    this.periodStartMs = this.nowMs();
    this.bytesInPeriod = 0;
  }
}

export type CleanerCrashPoint = 'cleaned-partly-written' | 'cleaned-written' | SwapStep;

/** Where the LogManager keeps its logs, as the cleaner needs to see them. */
export interface CleanerLogSource {
  logs(): Iterable<Log>;
  /** The log dir (parent of the partition directory) holding `log`, or undefined when it is gone. */
  logDirOf(log: Log): string | undefined;
  logDirs(): readonly string[];
}

/** Kafka's LogToClean: one compacted log's clean and dirty sections. */
export interface LogToClean {
  log: Log;
  firstDirtyOffset: number;
  /** Base offset of the first segment that may not be cleaned. */
  firstUncleanableOffset: number;
  cleanBytes: number;
  cleanableBytes: number;
  cleanableRatio: number;
  /** max.compaction.lag.ms has passed for the oldest dirty batch. */
  needCompactionNow: boolean;
  /** By how much max.compaction.lag.ms has passed for the oldest dirty batch (0 when it has not). */
  compactionDelayMs: number;
}

export interface CleanResult {
  log: Log;
  /** The new checkpoint: where the next clean starts. */
  endOffset: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsKept: number;
  segmentsCleaned: number;
}

export class LogCleaner {
  private readonly clock: Clock;
  private readonly logger: LogLogger;
  /** log dir -> "topic-partition" -> first dirty offset. */
  private readonly checkpoints = new Map<string, Map<string, number>>();
  private readonly inProgress = new Set<Log>();
  private readonly aborted = new Set<Log>();
  /** Logs that failed to clean (a batch that cannot be decoded): left alone until restart, as Kafka does. */
  private readonly uncleanable = new Set<Log>();
  private readonly cleaners: Cleaner[] = [];
  private loops: Promise<void>[] = [];
  private stopped = true;
  private closing = false;
  private wake: Array<() => void> = [];
  private readonly throttler: Throttler;
  private readonly lastRuns = new Map<number, LastRun>();
  private lastRunEndMs: number;
  private dirtiestRatio = 0;
  private cleansTotal = 0;
  private bytesReadTotal = 0;
  private bytesWrittenTotal = 0;

  constructor(
    private readonly source: CleanerLogSource,
    private readonly options: LogCleanerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? { info: () => {}, warn: () => {} };
    this.throttler = new Throttler(options.ioMaxBytesPerSecond ?? Number.POSITIVE_INFINITY);
    this.lastRunEndMs = this.clock.nowMs();
    for (const dir of source.logDirs()) this.checkpoints.set(dir, this.readCheckpoint(dir));
    const threads = Math.max(1, options.threads);
    for (let i = 0; i < threads; i++) {
      this.cleaners.push(
        new Cleaner(i, {
          dedupeBytes: Math.floor(options.dedupeBufferSize / threads),
          ioBytes: Math.max(1024, Math.floor(options.ioBufferSize / threads / 2)),
          loadFactor: options.ioBufferLoadFactor,
          clock: this.clock,
          logger: this.logger,
          impl: options.impl,
          isAborted: (log) => this.aborted.has(log) || this.closing,
          crashPoint: options.crashPoint ?? (() => {}),
          throttle: (bytes) => this.throttler.maybeThrottle(bytes),
        }),
      );
    }
  }

  // A checkpoint that cannot be read costs only work: every log is cleaned from its start again.
  private readCheckpoint(dir: string): Map<string, number> {
    const file = path.join(dir, CLEANER_OFFSET_CHECKPOINT_FILE);
    try {
      return readOffsetCheckpoint(file);
    } catch (err) {
      this.logger.warn(`${file}: ${(err as Error).message}; cleaning every compacted log from its start`);
      return new Map();
    }
  }

  /** Starts the cleaner threads: each cleans the filthiest log, or sleeps log.cleaner.backoff.ms. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loops = this.cleaners.map((cleaner) => this.runLoop(cleaner));
  }

  private async runLoop(cleaner: Cleaner): Promise<void> {
    while (!this.stopped) {
      let cleaned = false;
      try {
        cleaned = (await this.cleanFilthiestLog(cleaner)) !== null;
      } catch (err) {
        this.logger.warn(`log cleaner ${cleaner.id}: ${(err as Error).message}`);
      }
      if (!cleaned && !this.stopped) await this.sleep(this.options.backoffMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = this.wake.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake.push(done);
    });
  }

  /** Stops the threads, abandoning cleans in progress (their .cleaned files are removed). */
  async close(): Promise<void> {
    this.stopped = true;
    this.closing = true;
    for (const w of [...this.wake]) w();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * Cleans the filthiest log now, if one qualifies (tests and tools; the
   * threads call the same). Resolves to what was done, or null.
   */
  async cleanOnce(): Promise<CleanResult | null> {
    if (this.closing) return null;
    const cleaner = this.cleaners[0];
    return this.cleanFilthiestLog(cleaner);
  }

  private async cleanFilthiestLog(cleaner: Cleaner): Promise<CleanResult | null> {
    const toClean = this.grabFilthiestCompactedLog();
    if (toClean === null) return null;
    const { log } = toClean;
    this.inProgress.add(log);
    const startedMs = performance.now();
    try {
      const result = await cleaner.clean(toClean);
      this.updateCheckpoint(log, result.endOffset);
      this.lastRuns.set(cleaner.id, {
        elapsedMs: performance.now() - startedMs,
        bytesRead: result.bytesRead,
        bytesWritten: result.bytesWritten,
        bufferUtilization: cleaner.bufferUtilization,
        compactionDelayMs: toClean.compactionDelayMs,
      });
      this.lastRunEndMs = this.clock.nowMs();
      this.cleansTotal++;
      this.bytesReadTotal += result.bytesRead;
      this.bytesWrittenTotal += result.bytesWritten;
      return result;
    } catch (err) {
      if (err instanceof CleaningAbortedError || this.aborted.has(log) || log.isClosed) {
        this.logger.info(`${log.name}: cleaning aborted: ${(err as Error).message}`);
        return null;
      }
      // Kafka marks the partition uncleanable and carries on with the others.
      this.uncleanable.add(log);
      this.logger.warn(`${log.name}: cleaning failed; the partition is uncleanable until restart: ${(err as Error).message}`);
      return null;
    } finally {
      this.inProgress.delete(log);
      this.aborted.delete(log);
    }
  }

  /** Kafka's grabFilthiestCompactedLog (without marking: the caller does). */
  grabFilthiestCompactedLog(): LogToClean | null {
    const nowMs = this.clock.nowMs();
    let best: LogToClean | null = null;
    let dirtiest = 0;
    for (const log of this.source.logs()) {
      if (log.isClosed || !log.currentConfig.compact || this.inProgress.has(log) || this.uncleanable.has(log)) continue;
      const ltc = this.logToClean(log, nowMs);
      if (ltc === null || ltc.cleanBytes + ltc.cleanableBytes === 0) continue;
      dirtiest = Math.max(dirtiest, ltc.cleanableRatio);
      const eligible = (ltc.needCompactionNow && ltc.cleanableBytes > 0) || ltc.cleanableRatio > log.currentConfig.minCleanableDirtyRatio;
      if (eligible && (best === null || ltc.cleanableRatio > best.cleanableRatio)) best = ltc;
    }
    this.dirtiestRatio = dirtiest;
    return best;
  }

  /** Kafka's cleaner gauges now (see CleanerStats). */
  stats(): CleanerStats {
    const runs = [...this.lastRuns.values()];
    const uncleanablePartitionsCount = new Map<string, number>(this.source.logDirs().map((d) => [d, 0]));
    const uncleanableBytes = new Map<string, number>(this.source.logDirs().map((d) => [d, 0]));
    for (const log of this.uncleanable) {
      const dir = this.source.logDirOf(log);
      if (dir === undefined) continue;
      uncleanablePartitionsCount.set(dir, (uncleanablePartitionsCount.get(dir) ?? 0) + 1);
      if (!log.isClosed) uncleanableBytes.set(dir, (uncleanableBytes.get(dir) ?? 0) + log.size);
    }
    const recopy = runs.map((r) => (r.bytesWritten / Math.max(r.bytesRead, 1)) * 100);
    return {
      maxBufferUtilizationPercent: Math.max(0, ...runs.map((r) => r.bufferUtilization * 100)),
      cleanerRecopyPercent: recopy.length === 0 ? 0 : recopy.reduce((a, b) => a + b, 0) / recopy.length,
      maxCleanTimeSecs: Math.max(0, ...runs.map((r) => r.elapsedMs / 1000)),
      maxCompactionDelaySecs: Math.max(0, ...runs.map((r) => r.compactionDelayMs / 1000)),
      maxDirtyPercent: this.dirtiestRatio * 100,
      timeSinceLastRunMs: Math.max(0, this.clock.nowMs() - this.lastRunEndMs),
      uncleanablePartitionsCount,
      uncleanableBytes,
      cleansTotal: this.cleansTotal,
      bytesReadTotal: this.bytesReadTotal,
      bytesWrittenTotal: this.bytesWrittenTotal,
      throttledMsTotal: this.throttler.throttledMs,
    };
  }

  /** The clean and dirty sections of a compacted log (Kafka's cleanableOffsets and LogToClean). */
  logToClean(log: Log, nowMs: number): LogToClean | null {
    const dir = this.source.logDirOf(log);
    if (dir === undefined) return null;
    const config = log.currentConfig;
    const checkpointed = this.checkpoints.get(dir)?.get(topicPartitionKey(log.topic, log.partition));
    let firstDirtyOffset = checkpointed ?? log.logStartOffset;
    // A checkpoint below the log start (retention moved it) or past the end (a truncated log) is reset.
    if (firstDirtyOffset < log.logStartOffset || firstDirtyOffset > log.logEndOffset) {
      if (checkpointed !== undefined && firstDirtyOffset > log.logEndOffset) {
        this.logger.warn(`${log.name}: cleaner checkpoint ${firstDirtyOffset} is past the log end ${log.logEndOffset}; cleaning from the log start`);
      }
      firstDirtyOffset = log.logStartOffset;
    }
    const segments = log.segmentsSnapshot();
    const active = segments[segments.length - 1];
    // Kafka's firstUnstableOffset bound: a transaction without its marker yet is not cleaned.
    let uncleanable = Math.min(log.highWatermark, active.baseOffset, log.firstUnstableOffset ?? Number.POSITIVE_INFINITY);
    if (config.minCompactionLagMs > 0) {
      for (const s of nonActiveSegmentsFrom(segments, firstDirtyOffset)) {
        if (s.largestTimestamp() > nowMs - config.minCompactionLagMs) {
          uncleanable = Math.min(uncleanable, s.baseOffset);
          break;
        }
      }
    }
    uncleanable = Math.max(firstDirtyOffset, uncleanable);
    // The whole segment holding the uncleanable offset is uncleanable.
    const firstUncleanableSegment = nonActiveSegmentsFrom(segments, uncleanable)[0] ?? active;
    const firstUncleanableOffset = firstUncleanableSegment.baseOffset;
    let cleanBytes = 0;
    for (const s of segments) if (s.baseOffset < firstDirtyOffset && s !== active) cleanBytes += s.size;
    let cleanableBytes = 0;
    for (const s of segmentsOverlapping(segments, Math.min(firstDirtyOffset, firstUncleanableOffset), firstUncleanableOffset)) {
      if (s !== active) cleanableBytes += s.size;
    }
    const total = cleanBytes + cleanableBytes;
    const compactionDelayMs = maxCompactionDelayMs(segments, firstDirtyOffset, nowMs, config.maxCompactionLagMs);
    return {
      log,
      firstDirtyOffset,
      firstUncleanableOffset,
      cleanBytes,
      cleanableBytes,
      cleanableRatio: total === 0 ? 0 : cleanableBytes / total,
      needCompactionNow: compactionDelayMs > 0,
      compactionDelayMs,
    };
  }

  private updateCheckpoint(log: Log, offset: number): void {
    const dir = this.source.logDirOf(log);
    if (dir === undefined) return;
    const entries = this.checkpoints.get(dir) ?? new Map<string, number>();
    this.checkpoints.set(dir, entries);
    entries.set(topicPartitionKey(log.topic, log.partition), offset);
    this.writeCheckpoint(dir);
  }

  private writeCheckpoint(dir: string): void {
    const entries = this.checkpoints.get(dir) ?? new Map<string, number>();
    const rows: Array<[string, number, number]> = [];
    for (const [key, offset] of entries) {
      const dash = key.lastIndexOf('-');
      rows.push([key.slice(0, dash), Number(key.slice(dash + 1)), offset]);
    }
    writeOffsetCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT_FILE), rows);
  }

  /** The checkpointed first dirty offset of a log (tests, tools). */
  checkpointOf(log: Log): number | undefined {
    const dir = this.source.logDirOf(log);
    return dir === undefined ? undefined : this.checkpoints.get(dir)?.get(topicPartitionKey(log.topic, log.partition));
  }

  /**
   * A log leaves the broker (topic deletion): a clean in progress is abandoned
   * and the checkpoint forgets it, so a new topic of the same name starts clean.
   */
  forgetLog(log: Log, dir: string): void {
    if (this.inProgress.has(log)) this.aborted.add(log);
    this.uncleanable.delete(log);
    const entries = this.checkpoints.get(dir);
    if (entries?.delete(topicPartitionKey(log.topic, log.partition))) this.writeCheckpoint(dir);
  }
}

/** Segments from the one containing `from` up to (not including) the active one (Kafka's nonActiveLogSegmentsFrom). */
function nonActiveSegmentsFrom(segments: readonly LogSegment[], from: number): LogSegment[] {
  const active = segments[segments.length - 1];
  if (from > active.baseOffset) return [];
  return segmentsOverlapping(segments, from, active.baseOffset);
}

/** Segments holding any offset in [from, to): the floor segment of `from` and every later one below `to` (Kafka's logSegments(from, to)). */
function segmentsOverlapping(segments: readonly LogSegment[], from: number, to: number): LogSegment[] {
  const out: LogSegment[] = [];
  for (let i = 0; i < segments.length; i++) {
    const next = segments[i + 1];
    const s = segments[i];
    if (s.baseOffset >= to) break;
    if (next !== undefined && next.baseOffset <= from) continue;
    out.push(s);
  }
  return out;
}

/** Kafka's maxCompactionDelay: how far past max.compaction.lag.ms the oldest dirty batch is (0 when it is not). */
function maxCompactionDelayMs(segments: readonly LogSegment[], firstDirtyOffset: number, nowMs: number, maxCompactionLagMs: number): number {
  let earliest = Number.MAX_SAFE_INTEGER;
  for (const s of nonActiveSegmentsFrom(segments, firstDirtyOffset)) {
    const ts = s.firstBatchTimestamp();
    if (ts > 0 && ts < earliest) earliest = ts;
  }
  const cleanUntilMs = nowMs - Math.max(maxCompactionLagMs, 0);
  return earliest < cleanUntilMs ? cleanUntilMs - earliest : 0;
}

/**
 * Kafka's groupSegmentsBySize: consecutive segments whose data and indexes fit
 * one segment and whose offsets fit the first one's int32 relative range.
 */
export function groupSegmentsBySize(segments: readonly LogSegment[], maxBytes: number, maxIndexBytes: number, firstUncleanableOffset: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [segments[i]];
    let logBytes = segments[i].size;
    let indexBytes = segments[i].offsetIndex.sizeBytes;
    let timeIndexBytes = segments[i].timeIndex.sizeBytes;
    i++;
    while (i < segments.length) {
      const s = segments[i];
      const lastOffset = i + 1 < segments.length ? segments[i + 1].baseOffset - 1 : firstUncleanableOffset - 1;
      const fits =
        logBytes + s.size <= maxBytes &&
        indexBytes + s.offsetIndex.sizeBytes <= maxIndexBytes &&
        timeIndexBytes + s.timeIndex.sizeBytes <= maxIndexBytes &&
        (s.size === 0 || lastOffset - group[0].baseOffset <= INT32_MAX);
      if (!fits) break;
      group.push(s);
      logBytes += s.size;
      indexBytes += s.offsetIndex.sizeBytes;
      timeIndexBytes += s.timeIndex.sizeBytes;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

interface CleanerSettings {
  dedupeBytes: number;
  ioBytes: number;
  loadFactor: number;
  clock: Clock;
  logger: LogLogger;
  impl?: IndexImpl;
  isAborted: (log: Log) => boolean;
  crashPoint: (point: CleanerCrashPoint) => void;
  /** log.cleaner.io.max.bytes.per.second: resolves once `bytes` more may be read or written. */
  throttle: (bytes: number) => Promise<void>;
}

/** The transaction events of inactive segments, walked once (segments do not change once inactive). */
const segmentTxnEvents = new WeakMap<LogSegment, readonly TxnEvent[]>();

/** One cleaner "thread": its offset map and buffers, cleaning one log at a time. */
class Cleaner {
  private map: SkimpyOffsetMap | null = null;
  private readBuffer: Buffer;

  constructor(
    readonly id: number,
    private readonly settings: CleanerSettings,
  ) {
    this.readBuffer = Buffer.allocUnsafe(settings.ioBytes);
  }

  /**
   * The map for a clean of `offsetCount` dirty offsets. Kafka allocates the
   * whole dedupe buffer up front; here it is allocated at the first clean and
   * only as large as the dirty section can need (it has at most one key per
   * offset), up to log.cleaner.dedupe.buffer.size / threads: a broker with
   * small compacted topics does not hold 128 MiB for them.
   */
  /** How full the offset map got in the last clean (0-1). */
  get bufferUtilization(): number {
    return this.map === null ? 0 : this.map.size / this.map.slots;
  }

  private offsetMap(offsetCount: number): SkimpyOffsetMap {
    const slotsMax = Math.floor(this.settings.dedupeBytes / OFFSET_MAP_SLOT_BYTES);
    const wanted = Math.min(slotsMax, Math.ceil(offsetCount / this.settings.loadFactor) + 1);
    if (this.map === null || this.map.slots < wanted) this.map = new SkimpyOffsetMap(wanted * OFFSET_MAP_SLOT_BYTES);
    return this.map;
  }

  async clean(ltc: LogToClean): Promise<CleanResult> {
    const { log } = ltc;
    const map = this.offsetMap(ltc.firstUncleanableOffset - ltc.firstDirtyOffset);
    await map.clearInSlices();
    const nowMs = this.settings.clock.nowMs();
    const result: CleanResult = { log, endOffset: ltc.firstDirtyOffset, bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsKept: 0, segmentsCleaned: 0 };
    const segments = log.segmentsSnapshot();
    const dirty = nonActiveSegmentsFrom(segments, ltc.firstDirtyOffset).filter((s) => s.baseOffset < ltc.firstUncleanableOffset);
    const maxEntries = Math.floor(map.slots * this.settings.loadFactor);
    const aborted = await this.collectAbortedTransactions(log, segments, ltc.firstUncleanableOffset);
    const mapTxn = new CleanedTransactionMetadata(aborted);
    let full = false;
    for (const segment of dirty) {
      full = await this.buildOffsetMapForSegment(log, segment, ltc.firstDirtyOffset, map, maxEntries, mapTxn);
      if (full) break;
    }
    if (map.latestOffset < ltc.firstDirtyOffset) {
      if (full) {
        throw new Error(
          `unable to map any batch of ${log.name} from offset ${ltc.firstDirtyOffset}: ` +
            'increase log.cleaner.dedupe.buffer.size or decrease log.cleaner.threads',
        );
      }
      return result;
    }
    const endOffset = map.latestOffset + 1;
    const config = log.currentConfig;
    const toClean = segments.slice(0, -1).filter((s) => s.baseOffset < endOffset);
    const groups = groupSegmentsBySize(toClean, config.segmentBytes, config.segmentIndexBytes, ltc.firstUncleanableOffset);
    const context: BatchFilterContext = {
      map,
      nowMs,
      deleteRetentionMs: config.deleteRetentionMs,
      lastOffsetOfProducer: log.lastDataOffsetsOfProducers(),
      txn: new CleanedTransactionMetadata(aborted),
    };
    for (const group of groups) await this.cleanSegments(log, group, context, result);
    result.endOffset = endOffset;
    this.settings.logger.info(
      `${log.name}: cleaned offsets [${ltc.firstDirtyOffset}, ${endOffset}) (dirty ratio ${ltc.cleanableRatio.toFixed(2)}): ` +
        `${result.segmentsCleaned} segment(s), ${result.bytesRead} -> ${result.bytesWritten} bytes, ` +
        `${result.recordsKept} of ${result.recordsRead} records kept`,
    );
    return result;
  }

  private checkAborted(log: Log, segment: LogSegment): void {
    if (this.settings.isAborted(log) || !log.holdsInactiveSegment(segment)) {
      throw new CleaningAbortedError(`${log.name}: the log changed while cleaning ${segment.logPath}`);
    }
  }

  /**
   * The aborted transactions that a clean up to `firstUncleanableOffset` can
   * meet, from the transaction events of the log's segments (see the header).
   */
  private async collectAbortedTransactions(log: Log, segments: readonly LogSegment[], firstUncleanableOffset: number): Promise<AbortedTxn[]> {
    const events: TxnEvent[] = [];
    const open = new Set<number>();
    const active = segments[segments.length - 1];
    for (const segment of segments) {
      const pastCleanable = segment.baseOffset >= firstUncleanableOffset;
      if (pastCleanable && open.size === 0) break;
      const segmentEvents = await this.txnEventsOf(log, segment, segment === active);
      for (const e of segmentEvents) {
        if (pastCleanable && !open.has(e.producerId)) continue;
        events.push(e);
        if (e.kind === 'marker') open.delete(e.producerId);
        else if (!pastCleanable) open.add(e.producerId);
      }
    }
    return abortedTransactions(events);
  }

  /** The transaction events of one segment: remembered for inactive segments, read each time from the active one. */
  private async txnEventsOf(log: Log, segment: LogSegment, active: boolean): Promise<readonly TxnEvent[]> {
    const known = segmentTxnEvents.get(segment);
    if (known) return known;
    const collector = new TxnEventCollector();
    await this.scanSegment(
      log,
      segment,
      0,
      (buf, at) => {
        collector.onBatch(buf, at, buf.readInt16BE(at + 21), Number(buf.readBigInt64BE(at + 43)), Number(buf.readBigInt64BE(at)));
        return 1;
      },
      active,
    );
    if (!active) segmentTxnEvents.set(segment, collector.events);
    return collector.events;
  }

  /** Kafka's buildOffsetMapForSegment: true when the map filled up before the segment's end. */
  private async buildOffsetMapForSegment(
    log: Log,
    segment: LogSegment,
    startOffset: number,
    map: SkimpyOffsetMap,
    maxEntries: number,
    txn: CleanedTransactionMetadata,
  ): Promise<boolean> {
    let full = false;
    const start = segment.offsetIndex.lookup(startOffset).position;
    await this.scanSegment(log, segment, start, (buf, at, size) => {
      const batchHeader = readBatchHeader(buf.subarray(at, at + size), 0);
      // Markers and the batches of aborted transactions put nothing in the map.
      const skip = batchHeader.isControl ? (txn.onControlBatchRead(batchHeader, controlRecordType(buf, at)), true) : txn.onBatchRead(batchHeader);
      if (skip) {
        if (batchHeader.lastOffset >= startOffset) map.updateLatestOffset(batchHeader.lastOffset);
        return batchHeader.recordsCount;
      }
      const { header, records } = forEachBatchKey(buf, at, size, (key, offset) => {
        if (offset < startOffset) return true;
        if (map.size >= maxEntries) {
          full = true;
          return false;
        }
        map.put(key, offset);
        return true;
      });
      if (full) return STOP;
      if (header.lastOffset >= startOffset) map.updateLatestOffset(header.lastOffset);
      return records;
    });
    return full;
  }

  /** Kafka's cleanSegments: one group into one cleaned segment, swapped in for the group. */
  private async cleanSegments(log: Log, group: LogSegment[], context: BatchFilterContext, result: CleanResult): Promise<void> {
    const writer = new CleanedSegmentWriter(log.dir, group[0].baseOffset, log.currentConfig, this.settings.impl, this.settings.ioBytes);
    // The cleaned segment's transaction events, known from what is written: its walk is not needed later.
    const txnEvents = new TxnEventCollector();
    try {
      for (const segment of group) {
        const before = writer.writtenBytes;
        await this.scanSegment(log, segment, 0, (buf, at, size) => {
          const filtered = filterBatch(buf, at, size, context);
          result.bytesRead += size;
          result.recordsRead += filtered.recordsRead;
          result.recordsKept += filtered.recordsKept;
          if (filtered.bytes !== null) {
            const out = Buffer.from(filtered.bytes.buffer, filtered.bytes.byteOffset, filtered.bytes.byteLength);
            txnEvents.onBatch(out, 0, out.readInt16BE(21), Number(out.readBigInt64BE(43)), Number(out.readBigInt64BE(0)));
            writer.append(filtered.bytes, filtered.lastOffset, filtered.maxTimestamp);
          }
          return filtered.recordsRead;
        });
        writer.flushPending();
        await this.settings.throttle(writer.writtenBytes - before);
        if (writer.writtenBytes > 0) this.settings.crashPoint('cleaned-partly-written');
      }
      const cleanedBytes = await writer.finish(group[group.length - 1].lastModifiedMs());
      this.settings.crashPoint('cleaned-written');
      for (const segment of group) this.checkAborted(log, segment);
      const cleaned = log.replaceSegments(group[0].baseOffset, cleanedBytes, group, this.settings.crashPoint);
      segmentTxnEvents.set(cleaned, txnEvents.events);
      result.bytesWritten += cleanedBytes;
      result.segmentsCleaned += group.length;
    } catch (err) {
      writer.abort();
      throw err;
    }
  }

  /**
   * Reads a segment from `position` in chunks of the read buffer and calls
   * onBatch for each whole batch (it answers the records it handled, or STOP),
   * yielding to the event loop after each chunk or RECORDS_PER_SLICE records,
   * whichever comes first: well-compressed batches hold many records in few
   * bytes. The buffer grows when one batch is larger than it.
   */
  private async scanSegment(log: Log, segment: LogSegment, position: number, onBatch: (buf: Buffer, at: number, size: number) => number, active = false): Promise<void> {
    // The active segment is read up to its size now: appends only add after it.
    const end = segment.size;
    while (position < end) {
      if (active) {
        if (this.settings.isAborted(log) || log.isClosed) throw new CleaningAbortedError(`${log.name}: the log changed while reading ${segment.logPath}`);
      } else {
        this.checkAborted(log, segment);
      }
      const buf = this.readBuffer;
      const bytes = segment.dataFile.readInto(position, buf, 0, Math.min(buf.length, end - position));
      let at = 0;
      let records = 0;
      while (at + LOG_OVERHEAD_BYTES <= bytes && records < RECORDS_PER_SLICE) {
        const size = buf.readInt32BE(at + 8) + LOG_OVERHEAD_BYTES;
        if (size < BATCH_BYTES_MIN) throw new Error(`${segment.logPath}: impossible batch size ${size} at position ${position + at}`);
        if (at + size > bytes) break;
        const handled = onBatch(buf, at, size);
        if (handled === STOP) return;
        records += handled;
        at += size;
      }
      if (at === 0) {
        // Not one whole batch in the buffer: grow it to the batch's size.
        const size = bytes >= LOG_OVERHEAD_BYTES ? buf.readInt32BE(8) + LOG_OVERHEAD_BYTES : 0;
        if (size <= buf.length || size > READ_BUFFER_BYTES_MAX || position + size > end) {
          throw new Error(`${segment.logPath}: truncated batch at position ${position}`);
        }
        this.readBuffer = Buffer.allocUnsafe(size);
        continue;
      }
      position += at;
      await this.settings.throttle(at);
      await yieldToLoop();
    }
    // Back to the configured size once a large batch has passed.
    if (this.readBuffer.length > this.settings.ioBytes) this.readBuffer = Buffer.allocUnsafe(this.settings.ioBytes);
  }
}

/**
 * The files of one cleaned segment, `<base>.log.cleaned`, `.index.cleaned`
 * and `.timeindex.cleaned`, indexed as LogSegment.append indexes (one entry
 * per index.interval.bytes, keyed by a batch's last offset).
 */
class CleanedSegmentWriter {
  private readonly logPath: string;
  private readonly fd: number;
  private readonly offsetIndex: OffsetIndex;
  private readonly timeIndex: TimeIndex;
  private position = 0;
  private bytesSinceLastIndexEntry = 0;
  private maxTimestamp = -1;
  private offsetOfMaxTimestamp: number;
  private closed = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes written to the file so far (buffered ones not counted). */
  writtenBytes = 0;

  constructor(
    dir: string,
    baseOffset: number,
    private readonly config: { segmentIndexBytes: number; indexIntervalBytes: number },
    impl: IndexImpl | undefined,
    private readonly writeBytes: number,
  ) {
    const file = (suffix: string) => path.join(dir, segmentFileName(baseOffset, suffix) + CLEANED_FILE_SUFFIX);
    this.logPath = file(LOG_FILE_SUFFIX);
    // Leftovers of an abandoned clean must not be read back as index entries.
    for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) fs.rmSync(file(suffix), { force: true });
    this.fd = fs.openSync(this.logPath, 'w');
    const options = { maxIndexBytes: config.segmentIndexBytes, writable: true, impl };
    this.offsetIndex = new OffsetIndex(file(INDEX_FILE_SUFFIX), baseOffset, options);
    this.timeIndex = new TimeIndex(file(TIME_INDEX_FILE_SUFFIX), baseOffset, options);
    this.offsetOfMaxTimestamp = baseOffset;
  }

  append(batch: Uint8Array, lastOffset: number, maxTimestamp: number): void {
    this.write(batch);
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > this.config.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, this.position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.length;
    this.position += batch.length;
  }

  // Batches are gathered into writes of about one I/O buffer.
  private write(batch: Uint8Array): void {
    // A filtered batch may be a view of the read buffer, which the next chunk overwrites: copy it.
    this.pending.push(Buffer.from(batch));
    this.pendingBytes += batch.length;
    if (this.pendingBytes >= this.writeBytes) this.flushPending();
  }

  flushPending(): void {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    let written = 0;
    while (written < data.length) written += fs.writeSync(this.fd, data, written, data.length - written, this.writtenBytes + written);
    this.writtenBytes += data.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Makes the files complete and durable (Kafka flushes before the swap); returns the data size. */
  async finish(lastModifiedMs: number): Promise<number> {
    this.flushPending();
    this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp, true);
    this.offsetIndex.trimToValidSize();
    this.timeIndex.trimToValidSize();
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.offsetIndex.close();
    this.timeIndex.close();
    await new Promise<void>((resolve, reject) => fs.fsync(this.fd, (err) => (err ? reject(err) : resolve())));
    fs.closeSync(this.fd);
    this.closed = true;
    // Kafka keeps the last source segment's modification time, which time-less retention reads.
    const seconds = lastModifiedMs / 1000;
    fs.utimesSync(this.logPath, seconds, seconds);
    return this.position;
  }

  /** Closes and removes the files (a clean that will not be swapped in). */
  abort(): void {
    if (!this.closed) {
      this.offsetIndex.close();
      this.timeIndex.close();
      fs.closeSync(this.fd);
      this.closed = true;
    }
    for (const p of [this.logPath, this.offsetIndex.path, this.timeIndex.path]) fs.rmSync(p, { force: true });
  }
}
