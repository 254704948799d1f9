// All partition logs of a broker, across one or more `log.dirs`.
//
// Each log dir holds one directory per partition (`<topic>-<partition>`), plus
// Kafka's bookkeeping files: recovery-point-offset-checkpoint,
// log-start-offset-checkpoint and, after a graceful stop, .kafka_cleanshutdown.
// At start-up the marker decides whether logs need a recovery scan; it is
// removed once the logs are loaded and written again by close().
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  readOffsetCheckpoint,
  topicPartitionKey,
  writeFileAtomic,
  writeOffsetCheckpoint,
  fsyncDir,
} from './checkpoint.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { IndexImpl } from './index-file.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import { Log, consoleLogger, type LogLogger } from './log.js';
import { LogCleaner, type LogCleanerOptions } from './log-cleaner.js';

// Kafka's legal topic names: [a-zA-Z0-9._-], at most 249 characters.
const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;
const PARTITION_DIR_PATTERN = /^(.+)-(\d{1,10})$/;
// Topic deletion renames the directory to `<topic>-<partition>.<uuid hex>-delete`
// (Kafka's name for it) at once, and removes it later: after
// file.delete.delay.ms while running, or at the next start-up.
export const DELETE_DIR_SUFFIX = '-delete';
// A log that belongs to no known topic is set aside as `<dir>.<uuid hex>-stray`
// (Kafka's name) and kept for the operator: never served, never deleted.
export const STRAY_DIR_SUFFIX = '-stray';
/** How often retention and flush.ms are checked (log.retention.check.interval.ms default: 5 minutes). */
export const RETENTION_CHECK_INTERVAL_MS_DEFAULT = 300_000;
/** producer.id.expiration.check.interval.ms default. */
export const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT = 600_000;
/** log.flush.scheduler.interval.ms: Kafka's default is Long.MAX (never); 1 s is used when flush.ms is set. */
const FLUSH_CHECK_INTERVAL_MS = 1000;

export interface LogManagerOptions {
  logDirs: string[];
  /** Broker defaults; per-topic overrides come through `topicConfig`. */
  config?: LogConfig;
  /** Config of a topic's logs (broker defaults plus topic overrides). */
  topicConfig?: (topic: string) => LogConfig;
  clock?: Clock;
  logger?: LogLogger;
  impl?: IndexImpl;
  retentionCheckIntervalMs?: number;
  /** producer.id.expiration.ms: idempotent producers idle this long are forgotten. */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms (Kafka's default: 10 minutes). */
  producerIdExpirationCheckIntervalMs?: number;
  /** Start the retention and flush timers (off for tests that drive them by hand). */
  schedule?: boolean;
  /** The log cleaner (log.cleaner.*); absent or enable false: no compaction. Its threads start with the schedulers. */
  cleaner?: Omit<LogCleanerOptions, 'clock' | 'logger' | 'impl'> & { enable: boolean };
}

interface LogDirState {
  dir: string;
  hadCleanShutdown: boolean;
}

export class LogManager {
  private readonly logs = new Map<string, Log>();
  private readonly logDirOf = new Map<string, string>();
  private readonly dirs: LogDirState[] = [];
  private readonly config: LogConfig;
  private readonly clock: Clock;
  private readonly logger: LogLogger;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /**
   * Detached logs (renamed `-delete` or `-stray` directories) still open, by
   * directory: Kafka's logsToBeDeleted. Their files stay open until
   * file.delete.delay.ms passes, so a response already holding one of their
   * file ranges (queued behind earlier responses of its connection) still
   * sends the right bytes.
   */
  private readonly detached = new Map<string, { log: Log; timer: NodeJS.Timeout }>();
  /** Directory removals in progress (off the event loop), awaited by close(). */
  private readonly removals = new Set<Promise<void>>();
  /** Compacts cleanup.policy=compact logs; null when log.cleaner.enable is false. */
  cleaner: LogCleaner | null = null;

  private constructor(private readonly options: LogManagerOptions) {
    this.config = options.config ?? DEFAULT_LOG_CONFIG;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? consoleLogger;
  }

  /** Loads every partition found in the log dirs, recovering those of a dir that was not shut down cleanly. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    if (options.logDirs.length === 0) throw new Error('log.dirs is empty');
    const manager = new LogManager(options);
    let staleCheckpoints = false;
    for (const dir of options.logDirs) staleCheckpoints = (await manager.loadDir(path.resolve(dir))) || staleCheckpoints;
    // An entry without its log (a deletion cut short) must not be inherited by a
    // later partition of the same name.
    if (staleCheckpoints) {
      manager.checkpointRecoveryPoints();
      manager.checkpointLogStartOffsets();
    }
    if (options.cleaner?.enable) {
      manager.cleaner = new LogCleaner(
        {
          logs: () => manager.logs.values(),
          logDirOf: (log) => manager.logDirOf.get(topicPartitionKey(log.topic, log.partition)),
          logDirs: () => manager.dirs.map((d) => d.dir),
        },
        { ...options.cleaner, clock: manager.clock, logger: manager.logger, impl: options.impl },
      );
    }
    if (options.schedule ?? true) {
      manager.startSchedulers();
      manager.cleaner?.start();
    }
    return manager;
  }

  /** Loads one log dir; true when its checkpoints name partitions it does not hold. */
  private async loadDir(dir: string): Promise<boolean> {
    fs.mkdirSync(dir, { recursive: true });
    const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
    const hadCleanShutdown = fs.existsSync(marker);
    this.dirs.push({ dir, hadCleanShutdown });
    const recoveryPoints = readOffsetCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE));
    const logStartOffsets = readOffsetCheckpoint(path.join(dir, LOG_START_OFFSET_CHECKPOINT_FILE));
    const started = this.clock.nowMs();
    let loaded = 0;
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      if (!fs.statSync(full).isDirectory()) continue;
      if (name.endsWith(DELETE_DIR_SUFFIX)) {
        // A deletion that did not finish before the last stop: no fetch can still be reading it.
        this.removeDir(full);
        continue;
      }
      if (name.endsWith(STRAY_DIR_SUFFIX)) continue;
      const match = PARTITION_DIR_PATTERN.exec(name);
      if (!match || !TOPIC_NAME_PATTERN.test(match[1])) {
        this.logger.warn(`log dir ${dir}: ignoring directory ${name}: not a <topic>-<partition> directory`);
        continue;
      }
      const topic = match[1];
      const partition = Number(match[2]);
      const key = topicPartitionKey(topic, partition);
      if (this.logs.has(key)) {
        throw new Error(`partition ${key} exists in both ${this.logDirOf.get(key)} and ${dir}`);
      }
      const log = Log.open({
        dir: full,
        topic,
        partition,
        config: this.topicConfig(topic),
        clock: this.clock,
        logger: this.logger,
        impl: this.options.impl,
        recoveryPoint: recoveryPoints.get(key) ?? 0,
        logStartOffset: logStartOffsets.get(key) ?? 0,
        hadCleanShutdown,
        producerIdExpirationMs: this.options.producerIdExpirationMs,
      });
      this.logs.set(key, log);
      this.logDirOf.set(key, dir);
      loaded++;
      // Recovery scans are synchronous native calls; yield between logs so timers and I/O keep running.
      if (loaded % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    let staleCheckpoints = false;
    for (const key of [...recoveryPoints.keys(), ...logStartOffsets.keys()]) {
      if (this.logDirOf.get(key) !== dir) staleCheckpoints = true;
    }
    // The marker only vouches for the state it was written for.
    fs.rmSync(marker, { force: true });
    fsyncDir(dir);
    const how = hadCleanShutdown ? 'clean shutdown' : loaded === 0 ? 'no logs yet' : 'no clean-shutdown marker: recovery ran';
    this.logger.info(`loaded ${loaded} logs from ${dir} in ${this.clock.nowMs() - started} ms (${how})`);
    return staleCheckpoints;
  }

  private topicConfig(topic: string): LogConfig {
    return this.options.topicConfig ? this.options.topicConfig(topic) : this.config;
  }

  getLog(topic: string, partition: number): Log | undefined {
    return this.logs.get(topicPartitionKey(topic, partition));
  }

  allLogs(): Log[] {
    return [...this.logs.values()];
  }

  /** The log of a partition, created in the log dir holding the fewest partitions. */
  getOrCreateLog(topic: string, partition: number, config?: LogConfig): Log {
    this.assertOpen();
    const key = topicPartitionKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) return existing;
    if (!TOPIC_NAME_PATTERN.test(topic)) throw new Error(`illegal topic name ${JSON.stringify(topic)}`);
    if (!Number.isInteger(partition) || partition < 0) throw new Error(`illegal partition ${partition}`);
    const dir = this.leastLoadedDir();
    const log = Log.open({
      dir: path.join(dir, key),
      topic,
      partition,
      config: config ?? this.topicConfig(topic),
      clock: this.clock,
      logger: this.logger,
      impl: this.options.impl,
      hadCleanShutdown: true,
      producerIdExpirationMs: this.options.producerIdExpirationMs,
    });
    this.logs.set(key, log);
    this.logDirOf.set(key, dir);
    return log;
  }

  private leastLoadedDir(): string {
    const counts = new Map<string, number>(this.dirs.map((d) => [d.dir, 0]));
    for (const dir of this.logDirOf.values()) counts.set(dir, (counts.get(dir) ?? 0) + 1);
    let best = this.dirs[0].dir;
    for (const [dir, count] of counts) if (count < (counts.get(best) ?? 0)) best = dir;
    return best;
  }

  /**
   * Removes a partition's log (topic deletion); see deleteLogs. Resolves
   * false when the partition has no log here.
   */
  deleteLog(topic: string, partition: number): Promise<boolean> {
    return this.deleteLogs([[topic, partition]]).then((n) => n === 1);
  }

  /**
   * Removes partition logs the way Kafka's LogManager.asyncDelete does. At
   * once (synchronously): the logs leave this manager, their directories are
   * renamed to `<dir>.<uuid hex>-delete` (open fds stay valid, so a fetch
   * already sending from them finishes), fetches waiting on them are woken,
   * and the offset checkpoints are rewritten without them, so the name is free
   * for a new topic that starts at offset 0 with none of the old state. After
   * file.delete.delay.ms (or `removeAfterMs`) the logs are closed and the
   * directories removed. Resolves to the number of logs removed.
   */
  deleteLogs(partitions: ReadonlyArray<readonly [topic: string, partition: number]>, options: { removeAfterMs?: number } = {}): Promise<number> {
    return this.detachLogs(partitions, DELETE_DIR_SUFFIX, options.removeAfterMs);
  }

  /** Sets logs aside as `-stray` directories: out of service, data kept. Resolves once they are closed. */
  setAsideLogs(partitions: ReadonlyArray<readonly [topic: string, partition: number]>): Promise<number> {
    return this.detachLogs(partitions, STRAY_DIR_SUFFIX);
  }

  private detachLogs(partitions: ReadonlyArray<readonly [topic: string, partition: number]>, suffix: string, removeAfterMs?: number): Promise<number> {
    this.assertOpen();
    let count = 0;
    const parents = new Set<string>();
    for (const [topic, partition] of partitions) {
      const key = topicPartitionKey(topic, partition);
      const log = this.logs.get(key);
      if (!log) continue;
      const parent = this.logDirOf.get(key)!;
      this.logs.delete(key);
      this.logDirOf.delete(key);
      this.cleaner?.forgetLog(log, parent);
      const dir = `${log.dir}.${randomUUID().replace(/-/g, '')}${suffix}`;
      fs.renameSync(log.dir, dir);
      parents.add(parent);
      count++;
      // Fetches waiting on it look again now and find it gone.
      log.wakeListeners();
      this.scheduleRelease(log, dir, suffix === DELETE_DIR_SUFFIX, removeAfterMs ?? log.currentConfig.fileDeleteDelayMs);
    }
    if (count === 0) return Promise.resolve(0);
    for (const parent of parents) fsyncDir(parent);
    this.checkpointRecoveryPoints();
    this.checkpointLogStartOffsets();
    return Promise.resolve(count);
  }

  /** Directories renamed for deletion or set aside whose logs are not closed yet (for tests and operators). */
  pendingDirRemovals(): string[] {
    return [...this.detached.keys()];
  }

  /** Closes a detached log after `delayMs`, then removes its directory when `remove`. */
  private scheduleRelease(log: Log, dir: string, remove: boolean, delayMs: number): void {
    const timer = setTimeout(() => {
      this.detached.delete(dir);
      void this.closeDetached(log).then(() => {
        if (remove) this.removeDir(dir);
      });
    }, delayMs);
    timer.unref();
    this.detached.set(dir, { log, timer });
  }

  private async closeDetached(log: Log): Promise<void> {
    try {
      await log.close({ flush: false, snapshot: false });
    } catch (err) {
      this.logger.warn(`${log.name}: closing the detached log failed: ${(err as Error).message}`);
    }
  }

  /** Removes a directory tree on the libuv thread pool; a large partition does not stall requests. */
  private removeDir(dir: string): void {
    const removal: Promise<void> = fs.promises
      .rm(dir, { recursive: true, force: true })
      .catch((err: Error) => this.logger.warn(`removing ${dir} failed: ${err.message}`))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** One retention pass over every log; returns the number of segments deleted. */
  runRetention(): number {
    let deleted = 0;
    for (const log of this.logs.values()) {
      try {
        deleted += log.deleteOldSegments();
      } catch (err) {
        this.logger.warn(`${log.name}: retention failed: ${(err as Error).message}`);
      }
    }
    if (deleted > 0) this.checkpointLogStartOffsets();
    return deleted;
  }

  /** One producer.id.expiration.ms pass over every log; returns the number of producers forgotten. */
  removeExpiredProducers(): number {
    let removed = 0;
    for (const log of this.logs.values()) removed += log.removeExpiredProducers();
    return removed;
  }

  /** flush.ms: flushes logs whose last flush is older than their flush.ms. */
  async flushDirtyLogs(): Promise<void> {
    for (const log of this.logs.values()) {
      if (log.hasUnflushedMessages && log.msSinceLastFlush >= log.currentConfig.flushMs) {
        await log.flush().catch((err) => this.logger.warn(`${log.name}: scheduled flush failed: ${err.message}`));
      }
    }
  }

  private startSchedulers(): void {
    const retentionMs = this.options.retentionCheckIntervalMs ?? RETENTION_CHECK_INTERVAL_MS_DEFAULT;
    const retention = setInterval(() => this.runRetention(), retentionMs);
    retention.unref();
    this.timers.push(retention);
    const anyFlushMs = this.config.flushMs < Number.MAX_SAFE_INTEGER || this.options.topicConfig !== undefined;
    if (anyFlushMs) {
      const flush = setInterval(() => void this.flushDirtyLogs(), FLUSH_CHECK_INTERVAL_MS);
      flush.unref();
      this.timers.push(flush);
    }
    const producerExpiry = setInterval(
      () => this.removeExpiredProducers(),
      this.options.producerIdExpirationCheckIntervalMs ?? PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT,
    );
    producerExpiry.unref();
    this.timers.push(producerExpiry);
    const checkpoint = setInterval(() => this.checkpointRecoveryPoints(), 60_000);
    checkpoint.unref();
    this.timers.push(checkpoint);
  }

  /** Writes every dir's recovery-point checkpoint (log.flush.offset.checkpoint.interval.ms). */
  checkpointRecoveryPoints(): void {
    for (const { dir } of this.dirs) {
      const entries: Array<[string, number, number]> = [];
      for (const [key, log] of this.logs) {
        if (this.logDirOf.get(key) === dir) entries.push([log.topic, log.partition, log.recoveryPoint]);
      }
      writeOffsetCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE), entries);
    }
  }

  checkpointLogStartOffsets(): void {
    for (const { dir } of this.dirs) {
      const entries: Array<[string, number, number]> = [];
      for (const [key, log] of this.logs) {
        // Kafka only records log start offsets that moved past the first segment's base.
        if (this.logDirOf.get(key) === dir && log.logStartOffset > log.segmentBaseOffsets()[0]) {
          entries.push([log.topic, log.partition, log.logStartOffset]);
        }
      }
      writeOffsetCheckpoint(path.join(dir, LOG_START_OFFSET_CHECKPOINT_FILE), entries);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('log manager is closed');
  }

  /** Graceful stop: flush every log, write checkpoints, close files, then mark each dir cleanly shut down. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A clean in progress is abandoned (its .cleaned files removed) before the logs close.
    await this.cleaner?.close();
    // Detached logs still waiting out file.delete.delay.ms are closed now; their
    // directories stay until the next start removes them.
    for (const { log, timer } of this.detached.values()) {
      clearTimeout(timer);
      await this.closeDetached(log);
    }
    this.detached.clear();
    for (const log of this.logs.values()) await log.flush();
    this.checkpointRecoveryPoints();
    this.checkpointLogStartOffsets();
    for (const log of this.logs.values()) await log.close({ flush: false });
    await Promise.all([...this.removals]);
    for (const { dir } of this.dirs) writeFileAtomic(path.join(dir, CLEAN_SHUTDOWN_FILE), '');
  }
}
