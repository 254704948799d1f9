// Per-log configuration with Kafka's names, units and defaults.
//
// Kafka has two spellings for most of these: the broker default in
// server.properties (`log.segment.bytes`) and the per-topic override
// (`segment.bytes`). `logConfigFromBrokerProperties` reads the first,
// `withTopicOverrides` applies the second.

export type AppendMode = 'mmap' | 'write';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** segment.bytes: roll when the active segment would pass this size. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment is older than this. */
  segmentMs: number;
  /** segment.jitter.ms: subtracted from segment.ms (Kafka draws a random jitter per segment; we use it as given). */
  segmentJitterMs: number;
  /** segment.index.bytes: preallocated size of .index and .timeindex files. */
  segmentIndexBytes: number;
  /** index.interval.bytes: at most one index entry per this many bytes of log. */
  indexIntervalBytes: number;
  /** retention.ms: delete segments whose newest record is older; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: delete oldest segments while the log is larger; -1 is unlimited. */
  retentionBytes: number;
  /** max.message.bytes: the largest record batch accepted. */
  maxMessageBytes: number;
  /** file.delete.delay.ms: time between renaming a segment to .deleted and unlinking it. */
  fileDeleteDelayMs: number;
  /** flush.messages: fsync after this many appended messages (Long.MAX: never, rely on replication). */
  flushMessages: number;
  /** flush.ms: fsync when the last flush is older than this (checked by the LogManager scheduler). */
  flushMs: number;
  /** message.timestamp.type. */
  messageTimestampType: TimestampType;
  /** message.timestamp.before.max.ms: with CreateTime, how far behind the broker clock a record timestamp may be. */
  messageTimestampBeforeMaxMs: number;
  /** message.timestamp.after.max.ms: with CreateTime, how far ahead of the broker clock a record timestamp may be. */
  messageTimestampAfterMaxMs: number;
  /** log.segment.append.mode (Samsa's own): how the active segment is written. */
  appendMode: AppendMode;
  /** cleanup.policy contains "compact": the log cleaner keeps the latest record per key. */
  compact: boolean;
  /** cleanup.policy contains "delete": retention.ms and retention.bytes delete old segments. */
  delete: boolean;
  /** delete.retention.ms: how long the cleaner keeps a tombstone (null value) after it first cleaned it. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: a segment whose newest record is younger than this is not cleaned. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a log whose oldest dirty record is older than this is cleaned whatever its dirty ratio. */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: the dirty share of a log above which the cleaner picks it. */
  minCleanableDirtyRatio: number;
}

/** Kafka's Long.MAX_VALUE, kept as a JS number: "never" for flush.messages/flush.ms. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;

// Chosen by `npm run bench:storage` on the development machine; see docs/perf.md.
export const DEFAULT_APPEND_MODE: AppendMode = 'write';

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  // 1 MiB plus the 12-byte log overhead, as Kafka's default.
  maxMessageBytes: 1024 * 1024 + 12,
  fileDeleteDelayMs: 60_000,
  flushMessages: LONG_MAX,
  flushMs: LONG_MAX,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: LONG_MAX,
  // Unbounded for a bare Log; a broker's config gets Kafka's one hour (BROKER_TIMESTAMP_AFTER_MAX_MS).
  messageTimestampAfterMaxMs: LONG_MAX,
  appendMode: DEFAULT_APPEND_MODE,
  compact: false,
  delete: true,
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: LONG_MAX,
  minCleanableDirtyRatio: 0.5,
});

// Smallest values Kafka's validators accept; below them a roll or index would misbehave.
const SEGMENT_BYTES_MIN = 14; // LegacyRecord.RECORD_OVERHEAD_V0
const SEGMENT_INDEX_BYTES_MIN = 4; // must hold at least something; Kafka: atLeast(4)
// Relative offsets and positions in index entries are int32.
const INT32_MAX = 2 ** 31 - 1;

export class ConfigError extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(`${property}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Props = Readonly<Record<string, string | undefined>>;

function parseLong(props: Props, name: string): number | undefined {
  const raw = props[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  // Decimal digits only: Number() would also take '0x10', '1e3' and '1.0'.
  if (!/^[+-]?\d{1,19}$/.test(raw.trim())) throw new ConfigError(name, `not an integer: ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  // Kafka's Long.MAX_VALUE (9223372036854775807) means "never"; kept as LONG_MAX.
  if (value > LONG_MAX) return LONG_MAX;
  if (value < -LONG_MAX) throw new ConfigError(name, `out of range: ${JSON.stringify(raw)}`);
  return value;
}

function parseDouble(props: Props, name: string): number | undefined {
  const raw = props[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!Number.isFinite(value)) throw new ConfigError(name, `not a number: ${JSON.stringify(raw)}`);
  return value;
}

/** cleanup.policy: a comma-separated list of "compact" and "delete" (Kafka 4.0 refuses an empty list). */
function cleanupPolicy(name: string, raw: string | undefined, c: LogConfig): void {
  if (raw === undefined) return;
  const items = raw.split(',').map((i) => i.trim()).filter((i) => i !== '');
  if (items.length === 0) throw new ConfigError(name, 'empty list is not allowed; valid values: [compact, delete]');
  for (const item of items) {
    if (item !== 'compact' && item !== 'delete') throw new ConfigError(name, `must be compact or delete, got ${JSON.stringify(item)}`);
  }
  c.compact = items.includes('compact');
  c.delete = items.includes('delete');
}

function atLeast(name: string, value: number, min: number): number {
  if (value < min) throw new ConfigError(name, `must be at least ${min}, got ${value}`);
  return value;
}

function atMost(name: string, value: number, max: number): number {
  if (value > max) throw new ConfigError(name, `must be at most ${max}, got ${value}`);
  return value;
}

function timestampType(name: string, raw: string | undefined): TimestampType | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'CreateTime' || raw === 'LogAppendTime') return raw;
  throw new ConfigError(name, `must be CreateTime or LogAppendTime, got ${JSON.stringify(raw)}`);
}

function appendMode(name: string, raw: string | undefined): AppendMode | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'mmap' || raw === 'write') return raw;
  throw new ConfigError(name, `must be mmap or write, got ${JSON.stringify(raw)}`);
}

/** Kafka 4.0's log.message.timestamp.after.max.ms default (KIP-1030): one hour into the future. */
export const BROKER_TIMESTAMP_AFTER_MAX_MS = 3_600_000;

/** Broker-level defaults from server.properties names (log.segment.bytes, log.retention.hours, ...). */
export function logConfigFromBrokerProperties(props: Props): LogConfig {
  const c: LogConfig = { ...DEFAULT_LOG_CONFIG, messageTimestampAfterMaxMs: BROKER_TIMESTAMP_AFTER_MAX_MS };
  const hours = parseLong(props, 'log.retention.hours');
  const minutes = parseLong(props, 'log.retention.minutes');
  const ms = parseLong(props, 'log.retention.ms');
  // Kafka's precedence: ms, then minutes, then hours.
  if (ms !== undefined) c.retentionMs = ms;
  else if (minutes !== undefined) c.retentionMs = minutes * 60_000;
  else if (hours !== undefined) c.retentionMs = hours * 3_600_000;
  const rollHours = parseLong(props, 'log.roll.hours');
  const rollMs = parseLong(props, 'log.roll.ms');
  if (rollMs !== undefined) c.segmentMs = rollMs;
  else if (rollHours !== undefined) c.segmentMs = rollHours * 3_600_000;
  const jitterHours = parseLong(props, 'log.roll.jitter.hours');
  const jitterMs = parseLong(props, 'log.roll.jitter.ms');
  if (jitterMs !== undefined) c.segmentJitterMs = jitterMs;
  else if (jitterHours !== undefined) c.segmentJitterMs = jitterHours * 3_600_000;
  const map: Array<[string, keyof LogConfig]> = [
    ['log.segment.bytes', 'segmentBytes'],
    ['log.index.size.max.bytes', 'segmentIndexBytes'],
    ['log.index.interval.bytes', 'indexIntervalBytes'],
    ['log.retention.bytes', 'retentionBytes'],
    ['message.max.bytes', 'maxMessageBytes'],
    ['log.segment.delete.delay.ms', 'fileDeleteDelayMs'],
    ['log.flush.interval.messages', 'flushMessages'],
    ['log.flush.interval.ms', 'flushMs'],
    ['log.message.timestamp.before.max.ms', 'messageTimestampBeforeMaxMs'],
    ['log.message.timestamp.after.max.ms', 'messageTimestampAfterMaxMs'],
    ['log.cleaner.delete.retention.ms', 'deleteRetentionMs'],
    ['log.cleaner.min.compaction.lag.ms', 'minCompactionLagMs'],
    ['log.cleaner.max.compaction.lag.ms', 'maxCompactionLagMs'],
  ];
  for (const [name, key] of map) {
    const v = parseLong(props, name);
    if (v !== undefined) (c as unknown as Record<string, number>)[key] = v;
  }
  c.messageTimestampType = timestampType('log.message.timestamp.type', props['log.message.timestamp.type']) ?? c.messageTimestampType;
  c.appendMode = appendMode('log.segment.append.mode', props['log.segment.append.mode']) ?? c.appendMode;
  cleanupPolicy('log.cleanup.policy', props['log.cleanup.policy'], c);
  c.minCleanableDirtyRatio = parseDouble(props, 'log.cleaner.min.cleanable.ratio') ?? c.minCleanableDirtyRatio;
  return validateLogConfig(c);
}

/** Topic-level overrides (segment.bytes, retention.ms, ...) on top of broker defaults. */
export function withTopicOverrides(base: LogConfig, props: Props): LogConfig {
  const c: LogConfig = { ...base };
  const map: Array<[string, keyof LogConfig]> = [
    ['segment.bytes', 'segmentBytes'],
    ['segment.ms', 'segmentMs'],
    ['segment.jitter.ms', 'segmentJitterMs'],
    ['segment.index.bytes', 'segmentIndexBytes'],
    ['index.interval.bytes', 'indexIntervalBytes'],
    ['retention.ms', 'retentionMs'],
    ['retention.bytes', 'retentionBytes'],
    ['max.message.bytes', 'maxMessageBytes'],
    ['file.delete.delay.ms', 'fileDeleteDelayMs'],
    ['flush.messages', 'flushMessages'],
    ['flush.ms', 'flushMs'],
    ['message.timestamp.before.max.ms', 'messageTimestampBeforeMaxMs'],
    ['message.timestamp.after.max.ms', 'messageTimestampAfterMaxMs'],
    ['delete.retention.ms', 'deleteRetentionMs'],
    ['min.compaction.lag.ms', 'minCompactionLagMs'],
    ['max.compaction.lag.ms', 'maxCompactionLagMs'],
  ];
  for (const [name, key] of map) {
    const v = parseLong(props, name);
    if (v !== undefined) (c as unknown as Record<string, number>)[key] = v;
  }
  c.messageTimestampType = timestampType('message.timestamp.type', props['message.timestamp.type']) ?? c.messageTimestampType;
  c.appendMode = appendMode('segment.append.mode', props['segment.append.mode']) ?? c.appendMode;
  cleanupPolicy('cleanup.policy', props['cleanup.policy'], c);
  c.minCleanableDirtyRatio = parseDouble(props, 'min.cleanable.dirty.ratio') ?? c.minCleanableDirtyRatio;
  return validateLogConfig(c);
}

export function validateLogConfig(c: LogConfig): LogConfig {
  atLeast('segment.bytes', c.segmentBytes, SEGMENT_BYTES_MIN);
  // Positions in the offset index are int32, so a segment cannot pass 2 GiB.
  atMost('segment.bytes', c.segmentBytes, INT32_MAX);
  atLeast('segment.ms', c.segmentMs, 1);
  atLeast('segment.jitter.ms', c.segmentJitterMs, 0);
  atLeast('segment.index.bytes', c.segmentIndexBytes, SEGMENT_INDEX_BYTES_MIN);
  atMost('segment.index.bytes', c.segmentIndexBytes, INT32_MAX);
  atLeast('index.interval.bytes', c.indexIntervalBytes, 0);
  atLeast('retention.ms', c.retentionMs, -1);
  atLeast('retention.bytes', c.retentionBytes, -1);
  atLeast('max.message.bytes', c.maxMessageBytes, 0);
  atMost('max.message.bytes', c.maxMessageBytes, INT32_MAX);
  atLeast('file.delete.delay.ms', c.fileDeleteDelayMs, 0);
  atLeast('flush.messages', c.flushMessages, 1);
  atLeast('flush.ms', c.flushMs, 0);
  atLeast('message.timestamp.before.max.ms', c.messageTimestampBeforeMaxMs, 0);
  atLeast('message.timestamp.after.max.ms', c.messageTimestampAfterMaxMs, 0);
  atLeast('delete.retention.ms', c.deleteRetentionMs, 0);
  atLeast('min.compaction.lag.ms', c.minCompactionLagMs, 0);
  atLeast('max.compaction.lag.ms', c.maxCompactionLagMs, 1);
  atLeast('min.cleanable.dirty.ratio', c.minCleanableDirtyRatio, 0);
  atMost('min.cleanable.dirty.ratio', c.minCleanableDirtyRatio, 1);
  return c;
}
