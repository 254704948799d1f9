// The log cleaner on real files: LogManager + Log + LogCleaner driven by hand
// (cleanOnce) with a manual clock.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders, type CompressionName, type RecordInput } from '../src/record/record-batch.js';
import { readOffsetCheckpoint } from '../src/storage/checkpoint.js';
import { ManualClock } from '../src/storage/clock.js';
import { RecordValidationError, StorageErrorCode } from '../src/storage/errors.js';
import { CLEANER_OFFSET_CHECKPOINT_FILE, Throttler } from '../src/storage/log-cleaner.js';
import { brokerConfigFromProperties } from '../src/config/broker-config.js';
import type { LogConfig } from '../src/storage/log-config.js';
import { LogManager } from '../src/storage/log-manager.js';
import { silentLogger, type Log } from '../src/storage/log.js';
import { ATTR_DELETE_HORIZON } from '../src/storage/cleaner-batch.js';
import { smallConfig, storageVariants, tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const variant = storageVariants()[0];
const T0 = 1_700_000_000_000;

interface Setup {
  manager: LogManager;
  log: Log;
  clock: ManualClock;
  dir: string;
}

async function setup(overrides: Partial<LogConfig> = {}, cleaner: { dedupeBufferSize?: number } = {}, dir = newDir(), clock = new ManualClock(T0)): Promise<Setup> {
  const config = smallConfig(variant, { segmentBytes: 2048, indexIntervalBytes: 256, compact: true, delete: false, ...overrides });
  const manager = await LogManager.open({
    logDirs: [dir],
    config,
    clock,
    logger: silentLogger,
    impl: variant.impl,
    schedule: false,
    cleaner: { enable: true, threads: 1, backoffMs: 10, dedupeBufferSize: cleaner.dedupeBufferSize ?? 1024 * 1024, ioBufferSize: 8192, ioBufferLoadFactor: 0.9 },
  });
  cleanups.push(() => manager.close());
  const log = manager.getOrCreateLog('c', 0);
  return { manager, log, clock, dir };
}

function newDir(): string {
  const dir = tempDir('samsa-cleaner-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function append(log: Log, records: RecordInput[], options: { compression?: CompressionName; producerId?: number; producerEpoch?: number; baseSequence?: number } = {}) {
  return log.append(buildRecordBatch(records, { baseTimestamp: records[0].timestamp, ...options }));
}

interface Read {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every record from the log start, through Log.read and its fd, as a consumer would get it; plus the batch headers. */
function readAll(log: Log) {
  const records: Read[] = [];
  const batches: Array<{ baseOffset: number; lastOffset: number; recordsCount: number; attributes: number; compression: string; producerId: number; baseSequence: number }> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1024 * 1024);
    if (!result.records) break;
    const bytes = Buffer.alloc(result.records.length);
    fs.readSync(result.records.fd, bytes, 0, bytes.length, result.records.position);
    let next = offset;
    for (const { position, header } of iterateBatchHeaders(bytes)) {
      batches.push({ ...header });
      for (const r of decodeBatchRecords(bytes, position)) {
        if (r.offset >= offset) records.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
      }
      next = header.lastOffset + 1;
    }
    offset = next;
  }
  return { records, batches };
}

/** The latest record per key, as compaction must leave it. */
function latestByKey(records: Read[]): Map<string, Read> {
  const out = new Map<string, Read>();
  for (const r of records) if (r.key !== null) out.set(r.key, r);
  return out;
}

/** `rounds` updates of `keys` keys, one batch per round, with values saying the round. */
function writeUpdates(log: Log, clock: ManualClock, rounds: number, keys: number, options: { compression?: CompressionName; firstKey?: number } = {}) {
  for (let round = 0; round < rounds; round++) {
    const records = Array.from({ length: keys }, (_, k) => ({ key: `key-${k + (options.firstKey ?? 0)}`, value: `v${round}-${'x'.repeat(40)}`, timestamp: clock.nowMs() }));
    append(log, records, options);
    clock.advance(10);
  }
}

describe('LogCleaner', () => {
  it('keeps only the latest record per key, at its original offset, and never touches the active segment', async () => {
    const { manager, log, clock, dir } = await setup();
    writeUpdates(log, clock, 40, 10);
    const before = readAll(log).records;
    const expected = latestByKey(before);
    const activeBase = log.activeSegment().baseOffset;
    const activeBytes = fs.readFileSync(log.activeSegment().logPath);
    expect(log.segmentCount).toBeGreaterThan(5);

    const result = await manager.cleaner!.cleanOnce();
    expect(result).not.toBeNull();
    expect(result!.endOffset).toBe(activeBase);

    const after = readAll(log).records;
    // Every key's latest value is there, at the offset it was written at.
    expect(latestByKey(after)).toEqual(expected);
    // Below the active segment, one record per key; the active segment as it was.
    const cleaned = after.filter((r) => r.offset < activeBase);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
    expect(after.filter((r) => r.offset >= activeBase)).toEqual(before.filter((r) => r.offset >= activeBase));
    expect(fs.readFileSync(log.activeSegment().logPath)).toEqual(activeBytes);
    expect(log.logEndOffset).toBe(400);
    expect(log.logStartOffset).toBe(0);
    // Offsets only grow, with gaps where records went.
    for (let i = 1; i < after.length; i++) expect(after[i].offset).toBeGreaterThan(after[i - 1].offset);
    expect(after.length).toBeLessThan(before.length / 2);
    // Progress is checkpointed in Kafka's format; no cleaner files are left behind.
    expect(readOffsetCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT_FILE)).get('c-0')).toBe(activeBase);
    expect(fs.readdirSync(log.dir).filter((n) => /\.(cleaned|swap)$/.test(n))).toEqual([]);
    // Nothing dirty is left, so a second round has nothing to do.
    expect(await manager.cleaner!.cleanOnce()).toBeNull();
  });

  it('cleans only when the dirty ratio passes min.cleanable.dirty.ratio, and keeps cleaning what becomes dirty', async () => {
    const { manager, log, clock } = await setup({ minCleanableDirtyRatio: 0.8 });
    writeUpdates(log, clock, 30, 10);
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    const cleanedSize = log.size - log.activeSegment().size;
    // A little new data is below the ratio: nothing happens.
    writeUpdates(log, clock, 2, 10);
    const ltc = manager.cleaner!.logToClean(log, clock.nowMs())!;
    expect(ltc.cleanableRatio).toBeGreaterThan(0);
    expect(ltc.cleanableRatio).toBeLessThanOrEqual(0.8);
    expect(await manager.cleaner!.cleanOnce()).toBeNull();
    // Much more makes it dirty enough again; the second clean starts at the checkpoint.
    writeUpdates(log, clock, 30, 10);
    const second = await manager.cleaner!.cleanOnce();
    expect(second).not.toBeNull();
    expect(log.size - log.activeSegment().size).toBeLessThan(cleanedSize * 3);
    const after = readAll(log).records.filter((r) => r.offset < log.activeSegment().baseOffset);
    expect(new Set(after.map((r) => r.key)).size).toBe(after.length);
  });

  it('keeps a tombstone for delete.retention.ms after its first clean, then removes it', async () => {
    const { manager, log, clock } = await setup({ deleteRetentionMs: 60_000 });
    writeUpdates(log, clock, 10, 5);
    append(log, [{ key: 'key-0', value: null, timestamp: clock.nowMs() }]);
    writeUpdates(log, clock, 20, 4, { firstKey: 1 }); // key-0 is never written again
    await manager.cleaner!.cleanOnce();
    let read = readAll(log);
    const tombstone = read.records.find((r) => r.key === 'key-0');
    expect(tombstone).toMatchObject({ value: null });
    // The batch holding it now carries a delete horizon (KIP-534) of now + delete.retention.ms.
    const horizonBatch = read.batches.find((b) => b.baseOffset <= tombstone!.offset && tombstone!.offset <= b.lastOffset)!;
    expect(horizonBatch.attributes & ATTR_DELETE_HORIZON).toBe(ATTR_DELETE_HORIZON);

    // Before the horizon, another clean keeps it.
    clock.advance(30_000);
    writeUpdates(log, clock, 30, 4, { firstKey: 1 });
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    expect(readAll(log).records.find((r) => r.key === 'key-0')).toMatchObject({ value: null });

    // Past the horizon, the next clean drops it; the other keys keep their latest values.
    clock.advance(31_000);
    writeUpdates(log, clock, 30, 4, { firstKey: 1 });
    const expected = latestByKey(readAll(log).records);
    expected.delete('key-0');
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    read = readAll(log);
    expect(read.records.find((r) => r.key === 'key-0')).toBeUndefined();
    expect(latestByKey(read.records)).toEqual(expected);
  });

  it('does not clean segments newer than min.compaction.lag.ms', async () => {
    const { manager, log, clock } = await setup({ minCompactionLagMs: 60_000 });
    writeUpdates(log, clock, 40, 10);
    expect(await manager.cleaner!.cleanOnce()).toBeNull();
    clock.advance(60_000);
    // The lag has passed for the old segments; the new ones (written now) stay dirty.
    writeUpdates(log, clock, 20, 10);
    const firstNew = readAll(log).records.find((r) => r.value!.startsWith('v0-') && r.offset >= 400)!.offset;
    const result = await manager.cleaner!.cleanOnce();
    expect(result).not.toBeNull();
    expect(result!.endOffset).toBeLessThanOrEqual(firstNew);
    const read = readAll(log).records;
    // Every record written after the lag boundary is still there.
    expect(read.filter((r) => r.offset >= result!.endOffset).length).toBe(log.logEndOffset - result!.endOffset);
  });

  it('max.compaction.lag.ms makes a log eligible whatever its dirty ratio', async () => {
    const { manager, log, clock } = await setup({ minCleanableDirtyRatio: 1, maxCompactionLagMs: 60_000 });
    writeUpdates(log, clock, 40, 10);
    expect(await manager.cleaner!.cleanOnce()).toBeNull();
    clock.advance(61_000);
    writeUpdates(log, clock, 1, 10);
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)('recompresses filtered %s batches with the same codec', async (compression) => {
    const { manager, log, clock } = await setup({ segmentBytes: 1024 });
    writeUpdates(log, clock, 60, 8, { compression });
    const expected = latestByKey(readAll(log).records);
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    const { records, batches } = readAll(log);
    expect(latestByKey(records)).toEqual(expected);
    expect(batches.every((b) => b.compression === compression)).toBe(true);
    const cleaned = records.filter((r) => r.offset < log.activeSegment().baseOffset);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
  });

  it('keeps the last batch of an idempotent producer as an empty batch, so its sequence survives', async () => {
    const { manager, log, clock } = await setup();
    // Producer 7's last batch is entirely superseded by a later non-idempotent write of the same key.
    append(log, [{ key: 'p', value: 'from-7', timestamp: clock.nowMs() }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
    append(log, [{ key: 'p', value: 'from-7-again', timestamp: clock.nowMs() }], { producerId: 7, producerEpoch: 0, baseSequence: 1 });
    const lastOf7 = log.logEndOffset - 1;
    writeUpdates(log, clock, 2, 3);
    append(log, [{ key: 'p', value: 'plain', timestamp: clock.nowMs() }]);
    writeUpdates(log, clock, 40, 3);
    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    const { records, batches } = readAll(log);
    expect(records.filter((r) => r.key === 'p').map((r) => r.value)).toEqual(['plain']);
    const kept = batches.filter((b) => b.producerId === 7);
    // The first batch of producer 7 is gone, its last one stays, empty, with its offsets and sequence.
    expect(kept).toEqual([expect.objectContaining({ baseOffset: lastOf7, lastOffset: lastOf7, recordsCount: 0, baseSequence: 1 })]);
    // The producer's next batch is accepted in sequence, and a retry of the last one is a duplicate.
    const retry = append(log, [{ key: 'p', value: 'from-7-again', timestamp: clock.nowMs() }], { producerId: 7, producerEpoch: 0, baseSequence: 1 });
    expect(retry.duplicate).toBe(true);
    expect(append(log, [{ key: 'p', value: 'next', timestamp: clock.nowMs() }], { producerId: 7, producerEpoch: 0, baseSequence: 2 }).duplicate).toBe(false);
  });

  it('cleans in several passes when the dedupe buffer cannot map the whole dirty section', async () => {
    // 24 bytes a slot, load factor 0.9: 1200 bytes map 45 keys, and there are 200.
    const { manager, log, clock } = await setup({ segmentBytes: 600 }, { dedupeBufferSize: 1200 });
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 200; k += 20) {
        append(log, Array.from({ length: 20 }, (_, i) => ({ key: `key-${k + i}`, value: `r${round}`, timestamp: clock.nowMs() })));
      }
    }
    writeUpdates(log, clock, 1, 1);
    const expected = latestByKey(readAll(log).records);
    const ends: number[] = [];
    for (let pass = 0; pass < 50; pass++) {
      const result = await manager.cleaner!.cleanOnce();
      if (result === null) break;
      ends.push(result.endOffset);
    }
    expect(ends.length).toBeGreaterThan(2);
    for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThan(ends[i - 1]);
    expect(latestByKey(readAll(log).records)).toEqual(expected);
    const cleaned = readAll(log).records.filter((r) => r.offset < ends[ends.length - 1]);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
  });

  it('leaves logs without "compact" in cleanup.policy alone, and retention.ms does not delete from compact-only logs', async () => {
    const { manager, log, clock } = await setup({ retentionMs: 1000 });
    writeUpdates(log, clock, 40, 10);
    clock.advance(10_000);
    expect(manager.runRetention()).toBe(0);
    log.updateConfig({ ...log.currentConfig, compact: false, delete: true });
    expect(await manager.cleaner!.cleanOnce()).toBeNull();
    expect(manager.runRetention()).toBeGreaterThan(0);
  });

  it('refuses records without a key on a compacted log with INVALID_RECORD', async () => {
    const { log } = await setup();
    let error: unknown;
    try {
      log.append(buildRecordBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }]));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RecordValidationError);
    expect((error as RecordValidationError).kafkaCode).toBe(StorageErrorCode.INVALID_RECORD);
    expect((error as RecordValidationError).recordErrors).toEqual([
      { batchIndex: 1, message: 'Compacted topic cannot accept message without key in topic partition c-0' },
    ]);
    expect(log.logEndOffset).toBe(0);
    log.updateConfig({ ...log.currentConfig, compact: false });
    expect(log.append(buildRecordBatch([{ key: null, value: '2' }])).firstOffset).toBe(0);
  });
});

describe('LogCleaner crash safety', () => {
  async function dirtyLog() {
    const dir = newDir();
    const clock = new ManualClock(T0);
    const first = await setup({}, {}, dir, clock);
    writeUpdates(first.log, clock, 40, 10);
    const expected = latestByKey(readAll(first.log).records);
    return { dir, clock, first, expected };
  }

  it('deletes .cleaned leftovers at load: the originals are intact', async () => {
    const { dir, clock, first, expected } = await dirtyLog();
    const segments = first.log.segmentsSnapshot();
    // What a clean leaves when killed before the swap: a half-written .cleaned segment.
    const base = path.join(first.log.dir, path.basename(segments[0].logPath));
    fs.writeFileSync(`${base}.cleaned`, fs.readFileSync(segments[0].logPath).subarray(0, 100));
    await first.manager.close();
    cleanups.pop();
    const second = await setup({}, {}, dir, clock);
    expect(fs.readdirSync(second.log.dir).filter((n) => n.endsWith('.cleaned'))).toEqual([]);
    expect(latestByKey(readAll(second.log).records)).toEqual(expected);
    expect(second.log.logEndOffset).toBe(400);
  });

  it('completes an interrupted swap at load: the .swap segment replaces the segments it covers', async () => {
    const { dir, clock, first, expected } = await dirtyLog();
    const log = first.log;
    // Clean for real, then put the log back to the moment after ".cleaned -> .swap" with the old segments still there.
    const oldFiles = new Map(fs.readdirSync(log.dir).filter((n) => /\.(log|index|timeindex)$/.test(n)).map((n) => [n, fs.readFileSync(path.join(log.dir, n))]));
    const activeBase = log.activeSegment().baseOffset;
    expect(await first.manager.cleaner!.cleanOnce()).not.toBeNull();
    const cleanedBases = log.segmentBaseOffsets().filter((b) => b < activeBase);
    const cleanedFiles = new Map(fs.readdirSync(log.dir).filter((n) => /\.(log|index|timeindex)$/.test(n) && cleanedBases.includes(Number(n.slice(0, 20)))).map((n) => [n, fs.readFileSync(path.join(log.dir, n))]));
    await first.manager.close();
    cleanups.pop();
    for (const name of fs.readdirSync(log.dir)) if (/\.(log|index|timeindex|deleted)$/.test(name)) fs.rmSync(path.join(log.dir, name));
    for (const [name, bytes] of oldFiles) fs.writeFileSync(path.join(log.dir, name), bytes);
    for (const [name, bytes] of cleanedFiles) fs.writeFileSync(path.join(log.dir, `${name}.swap`), bytes);
    fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));

    const second = await setup({}, {}, dir, clock);
    const files = fs.readdirSync(second.log.dir);
    expect(files.filter((n) => n.endsWith('.swap'))).toEqual([]);
    expect(second.log.segmentBaseOffsets().filter((b) => b < activeBase)).toEqual(cleanedBases);
    const { records } = readAll(second.log);
    expect(latestByKey(records)).toEqual(expected);
    const cleaned = records.filter((r) => r.offset < activeBase);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
    expect(second.log.logEndOffset).toBe(400);
  });

  it('drops a .swap whose rename from .cleaned did not finish', async () => {
    const { dir, clock, first, expected } = await dirtyLog();
    const segments = first.log.segmentsSnapshot();
    const base = path.join(first.log.dir, path.basename(segments[0].logPath)).slice(0, -'.log'.length);
    // The index was renamed to .swap, the data file not yet: neither may replace anything.
    fs.writeFileSync(`${base}.log.cleaned`, Buffer.alloc(10));
    fs.writeFileSync(`${base}.index.swap`, Buffer.alloc(8));
    await first.manager.close();
    cleanups.pop();
    const second = await setup({}, {}, dir, clock);
    expect(fs.readdirSync(second.log.dir).filter((n) => /\.(cleaned|swap)$/.test(n))).toEqual([]);
    expect(latestByKey(readAll(second.log).records)).toEqual(expected);
  });
});

describe('cleaner configs', () => {
  it('reads Kafka\'s names and defaults at broker and topic level', async () => {
    const { brokerConfigFromProperties } = await import('../src/config/broker-config.js');
    const { withTopicOverrides, ConfigError } = await import('../src/storage/log-config.js');
    const defaults = brokerConfigFromProperties({});
    expect(defaults.cleaner).toEqual({ enable: true, threads: 1, backoffMs: 15_000, dedupeBufferSize: 134_217_728, ioBufferSize: 524_288, ioBufferLoadFactor: 0.9, ioMaxBytesPerSecond: Number.MAX_VALUE });
    expect(defaults.log).toMatchObject({ compact: false, delete: true, deleteRetentionMs: 86_400_000, minCompactionLagMs: 0, minCleanableDirtyRatio: 0.5 });
    const set = brokerConfigFromProperties({
      'log.cleaner.enable': 'false',
      'log.cleaner.threads': '2',
      'log.cleaner.backoff.ms': '100',
      'log.cleanup.policy': 'compact,delete',
      'log.cleaner.min.cleanable.ratio': '0.25',
      'log.cleaner.delete.retention.ms': '1000',
      'log.cleaner.min.compaction.lag.ms': '5',
      'log.cleaner.max.compaction.lag.ms': '50',
    });
    expect(set.cleaner).toMatchObject({ enable: false, threads: 2, backoffMs: 100 });
    expect(set.log).toMatchObject({ compact: true, delete: true, minCleanableDirtyRatio: 0.25, deleteRetentionMs: 1000, minCompactionLagMs: 5, maxCompactionLagMs: 50 });
    expect(set.unknown.size).toBe(0);
    const topic = withTopicOverrides(set.log, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.9', 'delete.retention.ms': '7' });
    expect(topic).toMatchObject({ compact: true, delete: false, minCleanableDirtyRatio: 0.9, deleteRetentionMs: 7 });
    expect(() => withTopicOverrides(set.log, { 'cleanup.policy': 'shred' })).toThrow(ConfigError);
    expect(() => withTopicOverrides(set.log, { 'min.cleanable.dirty.ratio': '1.5' })).toThrow(ConfigError);
  });

  it('log.cleaner.enable=false: no cleaner', async () => {
    const manager = await LogManager.open({ logDirs: [newDir()], logger: silentLogger, schedule: false, cleaner: { enable: false, threads: 1, backoffMs: 10, dedupeBufferSize: 4096, ioBufferSize: 4096, ioBufferLoadFactor: 0.9 } });
    cleanups.push(() => manager.close());
    expect(manager.cleaner).toBeNull();
  });
});

describe('SkimpyOffsetMap', () => {
  it('maps key digests to their latest offset in a fixed table', async () => {
    const { SkimpyOffsetMap, OFFSET_MAP_SLOT_BYTES } = await import('../src/storage/offset-map.js');
    const map = new SkimpyOffsetMap(100 * OFFSET_MAP_SLOT_BYTES);
    expect(map.slots).toBe(100);
    for (let i = 0; i < 90; i++) map.put(Buffer.from(`key-${i % 30}`), i);
    expect(map.size).toBe(30);
    expect(map.latestOffset).toBe(89);
    for (let k = 0; k < 30; k++) expect(map.get(Buffer.from(`key-${k}`))).toBe(60 + k);
    expect(map.get(Buffer.from('absent'))).toBe(-1);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(Buffer.from('key-1'))).toBe(-1);
    expect(map.latestOffset).toBe(-1);
  });
});

describe('log.cleaner.io.max.bytes.per.second', () => {
  it('is parsed as Kafka does (default Double.MAX_VALUE: no throttle) and refuses non-positive rates', () => {
    expect(brokerConfigFromProperties({}).cleaner.ioMaxBytesPerSecond).toBe(Number.MAX_VALUE);
    expect(brokerConfigFromProperties({ 'log.cleaner.io.max.bytes.per.second': '1048576.0' }).cleaner.ioMaxBytesPerSecond).toBe(1048576);
    expect(brokerConfigFromProperties({ 'log.cleaner.io.max.bytes.per.second': '1.7976931348623157E308' }).cleaner.ioMaxBytesPerSecond).toBe(Number.MAX_VALUE);
    expect(() => brokerConfigFromProperties({ 'log.cleaner.io.max.bytes.per.second': '0' })).toThrow(/positive/);
    expect(new Throttler(Number.MAX_VALUE).enabled).toBe(false);
  });

  it('sleeps off the bytes above the rate, measured over periods of at least 300 ms (Kafka\'s Throttler)', async () => {
    let now = 0;
    const throttler = new Throttler(1_000_000, () => now);
    // Within one period nothing is checked.
    now = 100;
    await throttler.maybeThrottle(500_000);
    expect(throttler.throttledMs).toBe(0);
    // 200 kB over 300 ms is under 1 MB/s: no sleep.
    now = 300;
    const fresh = new Throttler(1_000_000, () => now);
    now = 600;
    await fresh.maybeThrottle(200_000);
    expect(fresh.throttledMs).toBe(0);
    // 530 kB in 400 ms at 1 MB/s should take 530 ms: the first throttler sleeps the other 130 ms.
    now = 400;
    await throttler.maybeThrottle(30_000);
    expect(throttler.throttledMs).toBe(130);
  }, 20_000);
});
