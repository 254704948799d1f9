// @platformatic/kafka (1.x, the newest line that runs on Node 20) against a
// broker on a real socket: admin creates the topic and reads metadata, the
// producer sends keyed records with headers over several partitions with every
// codec the client has here, and records come back two ways without a consumer
// group (not implemented yet):
//  - Consumer.fetch, the client's own direct Fetch (it asks for a new session,
//    epoch 0, on every call, as it does against Kafka);
//  - the client's Fetch v16 codec on its own Connection, driving a fetch
//    session by hand: full, incremental with only changed partitions, forget.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { Admin, Connection, Consumer, Producer, fetchV16, stringSerializers, type CompressionAlgorithmValue, type ProduceResult, type RecordsBatch } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { kafkaUuidToCanonical } from '../src/cluster/local-metadata.js';
import { iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PARTITIONS = 4;
// zstd needs zlib.zstdCompressSync (Node 22.15+); the client has no other zstd.
const CODECS: Array<CompressionAlgorithmValue | 'none'> = ['none', 'gzip', 'snappy', 'lz4', ...('zstdCompressSync' in zlib ? (['zstd'] as const) : [])];
const PER_CODEC_PER_PARTITION = 25;

async function setup() {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  cleanups.push(() => broker.close());
  const base = { clientId: 'samsa-interop', bootstrapBrokers: [`127.0.0.1:${broker.port}`], retries: 2, retryDelay: 100 };
  return { broker, base };
}

interface Seen {
  offset: bigint;
  key: string;
  value: string;
  headers: Record<string, string>;
}

function recordsOf(batches: RecordsBatch[] | undefined): Seen[] {
  const out: Seen[] = [];
  for (const b of batches ?? []) {
    for (const r of b.records) {
      out.push({
        offset: b.firstOffset + BigInt(r.offsetDelta),
        key: r.key?.toString() ?? '',
        value: r.value?.toString() ?? '',
        headers: Object.fromEntries(r.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? ''])),
      });
    }
  }
  return out;
}

describe('@platformatic/kafka', () => {
  it('creates a topic, produces keyed records with headers in every codec, and reads them back by partition', { timeout: 120_000 }, async () => {
    const { broker, base } = await setup();
    const admin = new Admin(base);
    cleanups.push(() => admin.close());
    await admin.createTopics({ topics: ['interop'], partitions: PARTITIONS, replicas: 1 });
    const metadata = await admin.metadata({ topics: ['interop'] });
    const topic = metadata.topics.get('interop')!;
    expect(topic.partitionsCount).toBe(PARTITIONS);
    const topicId = kafkaUuidToCanonical(broker.metadata.topic('interop')!.topicId);
    expect(topic.id).toBe(topicId);

    const producer = new Producer({ ...base, serializers: stringSerializers, idempotent: false });
    cleanups.push(() => producer.close());
    const expected = new Map<number, Array<Omit<Seen, 'offset'>>>();
    for (const compression of CODECS) {
      const messages = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (let i = 0; i < PER_CODEC_PER_PARTITION; i++) {
          const m = { key: `${compression}-k${i}`, value: `${compression}/${p}/${i} ${'v'.repeat(i * 7)}`, headers: { codec: compression, index: String(i) } };
          messages.push({ topic: 'interop', partition: p, ...m });
          expected.set(p, [...(expected.get(p) ?? []), m]);
        }
      }
      const result: ProduceResult = await (producer.send({ messages, acks: -1, compression: compression === 'none' ? undefined : compression }) as Promise<ProduceResult>);
      expect(result.offsets?.length).toBeGreaterThan(0);
    }

    // The log holds one batch per codec and partition, compressed as asked.
    const log = broker.logs.getLog('interop', 0)!;
    const slice = log.read(0, 1 << 24, { maxOffset: log.highWatermark }).records!;
    const bytes = Buffer.alloc(slice.length);
    fs.readSync(slice.fd, bytes, 0, slice.length, slice.position);
    expect([...iterateBatchHeaders(bytes)].map((b) => b.header.compression)).toEqual(CODECS);

    // Direct fetches, no group: every unfinished partition in each request, read to its end in order.
    const consumer = new Consumer({ ...base, groupId: 'samsa-interop-unused' });
    cleanups.push(() => consumer.close());
    const nodeId = [...metadata.brokers.keys()][0];
    const seen = new Map<number, Seen[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
    const nextOffset = (p: number) => (seen.get(p)!.at(-1)?.offset ?? -1n) + 1n;
    for (let round = 0; round < 500; round++) {
      const open = [...seen.keys()].filter((p) => seen.get(p)!.length < expected.get(p)!.length);
      if (open.length === 0) break;
      const res = await consumer.fetch({
        node: nodeId,
        maxWaitTime: 100,
        topics: [{ topicId, partitions: open.map((p) => ({ partition: p, fetchOffset: nextOffset(p), partitionMaxBytes: 2048, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
      });
      for (const part of res.responses.flatMap((t) => t.partitions)) {
        expect(part.errorCode).toBe(0);
        expect(part.highWatermark).toBe(BigInt(expected.get(part.partitionIndex)!.length));
        // A compressed batch starts before the fetch offset: skip what was already seen.
        const from = nextOffset(part.partitionIndex);
        seen.get(part.partitionIndex)!.push(...recordsOf(part.records).filter((r) => r.offset >= from));
      }
    }
    for (let p = 0; p < PARTITIONS; p++) {
      expect(seen.get(p)!.map((r) => r.offset)).toEqual(expected.get(p)!.map((_, i) => BigInt(i)));
      expect(seen.get(p)!.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(expected.get(p));
    }
    // Each of those fetches asked for a session (epoch 0); the cache holds them within its slots.
    expect(broker.fetchSessions.size).toBeGreaterThan(0);
    expect(broker.fetchSessions.size).toBeLessThanOrEqual(1000);
  });

  it("drives an incremental fetch session through the client's Fetch v16 codec", { timeout: 60_000 }, async () => {
    const { broker, base } = await setup();
    const admin = new Admin(base);
    cleanups.push(() => admin.close());
    await admin.createTopics({ topics: ['sessions'], partitions: 3, replicas: 1 });
    const topicId = kafkaUuidToCanonical(broker.metadata.topic('sessions')!.topicId);
    const producer = new Producer({ ...base, serializers: stringSerializers, idempotent: false });
    cleanups.push(() => producer.close());
    await producer.send({ messages: [0, 1, 2].map((p) => ({ topic: 'sessions', partition: p, key: `k${p}`, value: `first-${p}` })) });

    const connection = new Connection('samsa-interop');
    cleanups.push(() => connection.close());
    await connection.connect('127.0.0.1', broker.port);
    const part = (partition: number, fetchOffset: bigint) => ({ partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
    const fetch = (sessionId: number, epoch: number, partitions: ReturnType<typeof part>[], forget: number[] = []) =>
      fetchV16.api.async(
        connection,
        0,
        0,
        1 << 24,
        0,
        sessionId,
        epoch,
        partitions.length ? [{ topicId, partitions }] : [],
        forget.length ? [{ topic: topicId, partitions: forget }] : [],
        '',
      );
    const summary = (res: Awaited<ReturnType<typeof fetch>>) =>
      res.responses.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, Number(p.highWatermark), recordsOf(p.records).map((r) => r.value)]));

    const full = await fetch(0, 0, [part(0, 0n), part(1, 0n), part(2, 0n)]);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(summary(full)).toEqual([
      [0, 1, ['first-0']],
      [1, 1, ['first-1']],
      [2, 1, ['first-2']],
    ]);
    const id = full.sessionId;
    // The client has read everything: it moves all three on; nothing changed, nothing answered.
    const quiet = await fetch(id, 1, [part(0, 1n), part(1, 1n), part(2, 1n)]);
    expect(quiet.responses).toEqual([]);
    await producer.send({ messages: [{ topic: 'sessions', partition: 1, key: 'k', value: 'second-1' }] });
    const changed = await fetch(id, 2, []);
    expect(summary(changed)).toEqual([[1, 2, ['second-1']]]);
    // Forget partition 2: its next record is not fetched.
    await fetch(id, 3, [part(1, 2n)], [2]);
    await producer.send({ messages: [{ topic: 'sessions', partition: 2, key: 'k', value: 'second-2' }, { topic: 'sessions', partition: 0, key: 'k', value: 'second-0' }] });
    const afterForget = await fetch(id, 4, []);
    expect(summary(afterForget)).toEqual([[0, 2, ['second-0']]]);
    // A replayed epoch is refused with INVALID_FETCH_SESSION_EPOCH (71), which the client raises as an error.
    await expect(fetch(id, 4, [])).rejects.toThrow();
  });
});
