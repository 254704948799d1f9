import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalMetadata, writePartitionMetadata, type TopicMetadata } from '../src/cluster/local-metadata.js';
import { CoordinatorStoreError, type ClassicGroupSnapshot, type CoordinatorRecord, type OffsetAndMetadata } from '../src/coordinator/coordinator-store.js';
import { encodeGroupMetadataKey, encodeOffsetCommitKey, encodeOffsetCommitValue, OFFSETS_TOPIC } from '../src/coordinator/offsets-topic-records.js';
import { OffsetsTopicStore, type OffsetsTopicConfig } from '../src/coordinator/offsets-topic-store.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders } from '../src/record/record-batch.js';
import { ManualClock } from '../src/storage/clock.js';
import { DEFAULT_LOG_CONFIG, withTopicOverrides, type LogConfig } from '../src/storage/log-config.js';
import { LogManager } from '../src/storage/log-manager.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Lines {
  info: string[];
  warn: string[];
}

async function open(dir: string, options: { config?: Partial<OffsetsTopicConfig>; base?: Partial<LogConfig>; lines?: Lines } = {}) {
  const lines = options.lines ?? { info: [], warn: [] };
  const logger = { info: (m: string) => lines.info.push(m), warn: (m: string) => lines.warn.push(m) };
  const metadata = LocalMetadata.open([dir], 1);
  const base: LogConfig = { ...DEFAULT_LOG_CONFIG, ...options.base };
  const topicConfig = (topic: string) => {
    const t = metadata.topic(topic);
    return t ? withTopicOverrides(base, t.configs) : base;
  };
  const logs = await LogManager.open({ logDirs: [dir], config: base, topicConfig, logger, schedule: false });
  const materializeTopic = (topic: TopicMetadata) => {
    for (let p = 0; p < topic.partitionCount; p++) {
      if (logs.getLog(topic.name, p)) continue;
      writePartitionMetadata(logs.getOrCreateLog(topic.name, p, topicConfig(topic.name)).dir, topic.topicId);
    }
  };
  const clock = new ManualClock();
  const config: OffsetsTopicConfig = { numPartitions: 5, replicationFactor: 1, segmentBytes: 100 * 1024 * 1024, ...options.config };
  const store = new OffsetsTopicStore({ metadata, logs, materializeTopic, config, logger, clock });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await logs.close();
  };
  cleanups.push(close);
  return { store, metadata, logs, clock, lines, close };
}

function newDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const committed = (offset: bigint, commitTimestampMs = 1000): OffsetAndMetadata => ({
  offset,
  leaderEpoch: 0,
  metadata: '',
  commitTimestampMs,
  expireTimestampMs: null,
});

const group: ClassicGroupSnapshot = {
  groupId: 'g',
  protocolType: 'consumer',
  generationId: 3,
  protocolName: 'range',
  leaderId: 'm1',
  currentStateTimestampMs: 1234,
  members: [
    { memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 60000, sessionTimeoutMs: 10000, subscription: Buffer.from([0, 1]), assignment: Buffer.from([2]) },
  ],
};

async function loadAll(store: OffsetsTopicStore, partition: number): Promise<CoordinatorRecord[]> {
  const out: CoordinatorRecord[] = [];
  await store.load(partition, (r) => out.push(r));
  return out;
}

describe('OffsetsTopicStore', () => {
  it('places groups as Kafka does: abs(hashCode) % partitions', async () => {
    const { store } = await open(newDir(), { config: { numPartitions: 50 } });
    // Java: "my-group".hashCode() = -1906497762 -> 1906497762 % 50 = 12
    expect(store.partitionFor('my-group')).toBe(12);
    expect(store.partitionCount).toBe(50);
  });

  it('creates the topic on the first append only, with Kafka\'s configs', async () => {
    const dir = newDir();
    const { store, metadata, lines } = await open(dir, { config: { segmentBytes: 4096 } });
    expect(await loadAll(store, 0)).toEqual([]);
    expect(metadata.topic(OFFSETS_TOPIC)).toBeUndefined();
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(OFFSETS_TOPIC))).toEqual([]);
    await store.append(2, [{ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(7n) }]);
    const topic = metadata.topic(OFFSETS_TOPIC);
    expect(topic?.partitionCount).toBe(5);
    expect(topic?.configs).toEqual({ 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': '4096' });
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(OFFSETS_TOPIC)).sort()).toEqual([0, 1, 2, 3, 4].map((p) => `${OFFSETS_TOPIC}-${p}`));
    expect(lines.info.some((l) => l.includes(`created ${OFFSETS_TOPIC}`))).toBe(true);
  });

  it('writes one batch per append with Kafka\'s keys and values, producer id -1 and the clock\'s time', async () => {
    const { store, logs, clock } = await open(newDir());
    clock.set(1_800_000_000_000);
    const records: CoordinatorRecord[] = [
      { type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(7n) },
      { type: 'offset', groupId: 'g', topic: 't', partition: 1, value: committed(9n) },
      { type: 'group', groupId: 'g', value: group },
    ];
    await store.append(1, records);
    const log = logs.getLog(OFFSETS_TOPIC, 1)!;
    expect(log.logEndOffset).toBe(3);
    const slice = log.read(0, 1 << 20).records!;
    const buf = Buffer.alloc(slice.length);
    fs.readSync(slice.fd, buf, 0, slice.length, slice.position);
    const batches = [...iterateBatchHeaders(buf)];
    expect(batches).toHaveLength(1);
    expect(batches[0].header).toMatchObject({ producerId: -1, compression: 'none', isTransactional: false, maxTimestamp: 1_800_000_000_000 });
    const decoded = decodeBatchRecords(buf);
    expect(decoded[0].key).toEqual(encodeOffsetCommitKey('g', 't', 0));
    expect(decoded[0].value).toEqual(encodeOffsetCommitValue(committed(7n)));
    expect(decoded[2].key).toEqual(encodeGroupMetadataKey('g'));
    expect(decoded.every((r) => r.timestamp === 1_800_000_000_000)).toBe(true);
  });

  it('replays records and tombstones in offset order, after a restart too', async () => {
    const dir = newDir();
    const first = await open(dir);
    const written: CoordinatorRecord[] = [
      { type: 'group', groupId: 'g', value: group },
      { type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(7n) },
      { type: 'offset', groupId: 'g', topic: 't', partition: 0, value: { ...committed(8n), expireTimestampMs: 5000, metadata: 'meta', leaderEpoch: -1 } },
      { type: 'raw', key: Buffer.from([0, 3, 0, 1, 0x67]), value: Buffer.from([0, 0, 0, 0, 0, 1]) },
      { type: 'offset', groupId: 'g', topic: 't', partition: 0, value: null },
      { type: 'group', groupId: 'g', value: null },
    ];
    // (An explicit expiry is written as OffsetCommitValue v1, which has no leader epoch: hence -1 above.)
    for (const r of written) await first.store.append(3, [r]);
    expect(await loadAll(first.store, 3)).toEqual(written);
    expect(await loadAll(first.store, 2)).toEqual([]);
    await first.close();
    const second = await open(dir, { config: { numPartitions: 50 } });
    // The existing topic's partition count wins over the config.
    expect(second.store.partitionCount).toBe(5);
    expect(second.lines.info.some((l) => l.includes('offsets.topic.num.partitions (50) applies only when it is created'))).toBe(true);
    expect(await loadAll(second.store, 3)).toEqual(written);
  });

  it('loads across many segments in bounded slices', async () => {
    const { store } = await open(newDir(), { config: { segmentBytes: 2048 } });
    const written: CoordinatorRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const batch: CoordinatorRecord[] = [
        { type: 'offset', groupId: 'g', topic: 'topic-with-a-long-name', partition: i % 7, value: { ...committed(BigInt(i)), metadata: 'x'.repeat(i % 50) } },
        { type: 'offset', groupId: 'g', topic: 'other', partition: i, value: committed(BigInt(i * 2)) },
      ];
      written.push(...batch);
      await store.append(0, batch);
    }
    expect(await loadAll(store, 0)).toEqual(written);
  });

  it('reads compressed batches that another writer (Kafka tooling) left', async () => {
    const { store, logs } = await open(newDir());
    await store.append(4, [{ type: 'group', groupId: 'g', value: group }]);
    const key = encodeOffsetCommitKey('g', 't', 5);
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      logs.getLog(OFFSETS_TOPIC, 4)!.append(buildRecordBatch([{ key, value: encodeOffsetCommitValue(committed(42n)) }], { compression }));
    }
    const loaded = await loadAll(store, 4);
    expect(loaded).toHaveLength(5);
    expect(loaded.slice(1)).toEqual(Array(4).fill({ type: 'offset', groupId: 'g', topic: 't', partition: 5, value: committed(42n) }));
  });

  it('skips unknown record types and malformed records with a log line, and loads the rest', async () => {
    const { store, logs, lines } = await open(newDir());
    await store.append(0, [{ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(1n) }]);
    const log = logs.getLog(OFFSETS_TOPIC, 0)!;
    // A compacted log refuses keyless records on append (as Kafka's LogValidator does); the
    // loader must still survive one (a log written before that check), so it goes in with the check off.
    const compacted = log.currentConfig;
    log.updateConfig({ ...compacted, compact: false });
    log.append(
      buildRecordBatch([
        { key: Buffer.from([0, 9, 0, 1, 0x67]), value: Buffer.from([0, 0]) }, // a share-group record type
        { key: Buffer.from([0, 1, 0, 5]), value: Buffer.from([0, 3]) }, // truncated key
        { key: null, value: Buffer.from([0, 3]) },
      ]),
    );
    log.updateConfig(compacted);
    await store.append(0, [{ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(2n) }]);
    const loaded = await loadAll(store, 0);
    expect(loaded.map((r) => (r.type === 'offset' ? r.value?.offset : null))).toEqual([1n, 2n]);
    expect(lines.info.filter((l) => l.includes('skipping the record'))).toHaveLength(3);
    expect(lines.info.some((l) => l.includes('unknown record type 9'))).toBe(true);
  });

  it('rejects a batch larger than max.message.bytes with MESSAGE_TOO_LARGE, writing nothing', async () => {
    const { store } = await open(newDir(), { base: { maxMessageBytes: 512 } });
    const big = { ...committed(1n), metadata: 'x'.repeat(1000) };
    const error = await store.append(0, [{ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: big }]).catch((e) => e);
    expect(error).toBeInstanceOf(CoordinatorStoreError);
    expect(error.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    // Nothing was written; a small record still goes through.
    await store.append(0, [{ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: committed(1n) }]);
    expect(await loadAll(store, 0)).toHaveLength(1);
  });

  it('answers a string Kafka cannot serialize with UNKNOWN_SERVER_ERROR', async () => {
    const { store } = await open(newDir());
    const error = await store.append(0, [{ type: 'group', groupId: 'g'.repeat(40000), value: null }]).catch((e) => e);
    expect(error).toBeInstanceOf(CoordinatorStoreError);
    expect(error.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
  });

  it('rejects appends to a partition out of range or a closed log with the errors Kafka\'s coordinator maps to retriable ones', async () => {
    const { store, close } = await open(newDir());
    await store.append(0, [{ type: 'group', groupId: 'g', value: null }]);
    const outOfRange = await store.append(5, [{ type: 'group', groupId: 'g', value: null }]).catch((e) => e);
    expect(outOfRange.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await close();
    const closed = await store.append(0, [{ type: 'group', groupId: 'g', value: null }]).catch((e) => e);
    expect(closed).toBeInstanceOf(CoordinatorStoreError);
    expect([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.KAFKA_STORAGE_ERROR]).toContain(closed.errorCode);
  });

  it('waits for the flush when flush.messages asks for one, like a produce with acks=-1', async () => {
    const dir = newDir();
    const { store, logs } = await open(dir, { base: { flushMessages: 1 } });
    await store.append(1, [{ type: 'group', groupId: 'g', value: group }]);
    const log = logs.getLog(OFFSETS_TOPIC, 1)!;
    expect(log.recoveryPoint).toBe(1);
    expect(path.basename(log.dir)).toBe(`${OFFSETS_TOPIC}-1`);
  });
});
