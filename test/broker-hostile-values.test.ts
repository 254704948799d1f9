// Bad values inside well-formed frames: each gets Kafka's error code in the
// response (per partition where Kafka answers per partition), never a crash,
// a hang or a closed connection; and the same connection keeps working after.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { BatchField, buildRecordBatch } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient, createTopic, fetchAll, fetchPartition, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

let broker: Broker;
let dataDir: string;
let client: WireClient;

beforeAll(async () => {
  dataDir = tempDir();
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  client = await WireClient.connect(broker.port);
  await createTopic(client, 'v', 2);
  const r = await produce(client, 'v', 0, buildRecordBatch(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))));
  expect(r!.errorCode).toBe(0);
});

afterAll(async () => {
  client?.close();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The connection still answers, and partition v-0 still holds exactly its records. */
async function expectIntact(expectedCount = 10): Promise<void> {
  expect(client.closed).toBe(false);
  const records = await fetchAll(client, 'v', 0);
  expect(records).toHaveLength(expectedCount);
}

function fetchBody(partition: number, overrides: Record<string, unknown> = {}, partitionOverrides: Record<string, unknown> = {}) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'v', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, ...partitionOverrides }] }],
    forgottenTopicsData: [],
    rackId: '',
    ...overrides,
  };
}

/** A magic 0 or 1 message set of one message ("legacy" formats Kafka 4.0 no longer accepts). */
function legacyMessage(magic: 0 | 1): Buffer {
  const value = Buffer.from('old');
  const body = Buffer.concat([
    Buffer.from([magic, 0]), // magic, attributes
    magic === 1 ? Buffer.from([0, 0, 1, 0x8c, 0, 0, 0, 0]) : Buffer.alloc(0), // timestamp
    Buffer.from([0xff, 0xff, 0xff, 0xff]), // null key
    Buffer.from([0, 0, 0, value.length]),
    value,
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  const message = Buffer.concat([crc, body]);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(message.length, 8);
  return Buffer.concat([head, message]);
}

describe('Produce with bad values', () => {
  it('answers acks=5 (and -2) with INVALID_REQUIRED_ACKS and appends nothing', async () => {
    for (const acks of [5, -2, 2]) {
      const r = await produce(client, 'v', 0, buildRecordBatch([{ value: 'x' }]), acks);
      expect(r!.errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    }
    await expectIntact();
  });

  it('answers a negative or absent partition with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    for (const partition of [-1, -2147483648, 2, 2147483647]) {
      const r = await produce(client, 'v', partition, buildRecordBatch([{ value: 'x' }]));
      expect(r!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    await expectIntact();
  });

  it('answers a corrupted CRC with CORRUPT_MESSAGE', async () => {
    const batch = buildRecordBatch([{ key: 'a', value: 'b' }]);
    batch[batch.length - 1] ^= 0xff;
    const r = await produce(client, 'v', 0, batch);
    expect(r!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    await expectIntact();
  });

  it('answers record batch magic 0 and 1 with INVALID_RECORD, as Kafka 4.0 does for Produce v3+', async () => {
    for (const magic of [0, 1] as const) {
      for (const version of [3, 8, 9, 11]) {
        const r = await produce(client, 'v', 0, legacyMessage(magic), 1, version);
        expect(r!.errorCode, `magic ${magic} Produce v${version}`).toBe(ErrorCode.INVALID_RECORD);
      }
    }
    await expectIntact();
  });

  it('answers an unknown magic (3) with CORRUPT_MESSAGE', async () => {
    const batch = buildRecordBatch([{ value: 'x' }]);
    batch.writeInt8(3, BatchField.magic);
    const r = await produce(client, 'v', 0, batch);
    expect(r!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    await expectIntact();
  });

  it('answers two batches for one partition with INVALID_RECORD (Produce v3+ carries exactly one)', async () => {
    const two = Buffer.concat([buildRecordBatch([{ value: 'a' }]), buildRecordBatch([{ value: 'b' }])]);
    const r = await produce(client, 'v', 0, two);
    expect(r!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    await expectIntact();
  });

  it('answers a batch whose baseOffset is not 0 with INVALID_RECORD', async () => {
    const r = await produce(client, 'v', 0, buildRecordBatch([{ value: 'x' }], { baseOffset: 7 }));
    expect(r!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    await expectIntact();
  });

  it('answers zstd before Produce v7 with UNSUPPORTED_COMPRESSION_TYPE, and accepts it from v7', async () => {
    const zstd = () => buildRecordBatch([{ value: 'z'.repeat(100) }], { compression: 'zstd' });
    const old = await produce(client, 'v', 1, zstd(), 1, 6);
    expect(old!.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const current = await produce(client, 'v', 1, zstd(), 1, 7);
    expect(current!.errorCode).toBe(0);
  });

  it('answers empty or null records with INVALID_RECORD', async () => {
    for (const records of [Buffer.alloc(0), null]) {
      const response = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'v', partitionData: [{ index: 0, records }] }] });
      expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_RECORD);
    }
    await expectIntact();
  });

  it('answers a truncated batch and a batch with an impossible length with CORRUPT_MESSAGE', async () => {
    const batch = buildRecordBatch([{ value: 'x'.repeat(100) }]);
    const shortLength = Buffer.from(batch);
    shortLength.writeInt32BE(3, BatchField.batchLength);
    for (const bad of [shortLength]) {
      const r = await produce(client, 'v', 0, bad);
      expect(r!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    // A batch cut short is no batch at all to Kafka's iterator.
    const r = await produce(client, 'v', 0, batch.subarray(0, batch.length - 10));
    expect([ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_MESSAGE]).toContain(r!.errorCode);
    await expectIntact();
  });

  it('ignores absurd timeouts (negative, 2^31-1) for acks=1', async () => {
    for (const timeoutMs of [-1, -2147483648, 2147483647]) {
      const response = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs, topicData: [{ name: 'v', partitionData: [{ index: 1, records: buildRecordBatch([{ value: 't' }]) }] }] });
      expect(response.responses[0].partitionResponses[0].errorCode).toBe(0);
    }
  });

  it('answers an invalid topic name with an error for that topic only', async () => {
    const response = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        { name: '', partitionData: [{ index: 0, records: buildRecordBatch([{ value: 'x' }]) }] },
        { name: '../../etc', partitionData: [{ index: 0, records: buildRecordBatch([{ value: 'x' }]) }] },
        { name: 'v', partitionData: [{ index: 1, records: buildRecordBatch([{ value: 'ok' }]) }] },
      ],
    });
    expect(response.responses.map((t: { partitionResponses: Array<{ errorCode: number }> }) => t.partitionResponses[0].errorCode)).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      0,
    ]);
  });
});

describe('Fetch with bad values', () => {
  it('answers a negative or absent partition with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    for (const partition of [-1, -2147483648, 5]) {
      const r = await fetchPartition(client, 'v', partition, 0);
      expect(r.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    await expectIntact();
  });

  it('answers a negative fetch offset and one past the end with OFFSET_OUT_OF_RANGE', async () => {
    for (const offset of [-1, -5, 11, 2 ** 40]) {
      const r = await fetchPartition(client, 'v', 0, offset);
      expect(r.errorCode, `offset ${offset}`).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    await expectIntact();
  });

  it('answers negative max bytes and partition max bytes as limits of 0, not as storage errors', async () => {
    for (const [maxBytes, partitionMaxBytes] of [[-1, 1 << 20], [1 << 20, -1], [-2147483648, -2147483648], [0, 0]]) {
      const response = await client.request(ApiKey.Fetch, 11, fetchBody(0, { maxBytes }, { partitionMaxBytes }));
      expect(response.errorCode).toBe(0);
      const p = response.responses[0].partitions[0];
      // A negative limit reads as 0 (Kafka fails the partition with UNKNOWN_SERVER_ERROR from an internal check).
      expect(p.errorCode).toBe(0);
      expect(Number(p.highWatermark)).toBe(10);
    }
    await expectIntact();
  });

  it('treats a negative max wait as no wait', async () => {
    const response = await client.request(ApiKey.Fetch, 11, fetchBody(1, { maxWaitMs: -2147483648, minBytes: 1 << 30 }, { fetchOffset: 0n }));
    expect(response.responses[0].partitions[0].errorCode).toBe(0);
    await expectIntact();
  });

  it('answers a long poll of 2^31-1 ms as soon as data arrives, and pipelined requests after it', async () => {
    const poller = await WireClient.connect(broker.port);
    try {
      const hw = (await fetchPartition(poller, 'v', 0, 0)).highWatermark;
      const waiting = poller.request(ApiKey.Fetch, 11, fetchBody(0, { maxWaitMs: 2147483647, minBytes: 1 }, { fetchOffset: BigInt(hw) }));
      const behind = poller.request(ApiKey.ApiVersions, 0, {});
      await new Promise((r) => setTimeout(r, 200));
      const appended = await produce(client, 'v', 0, buildRecordBatch([{ value: 'wake' }]));
      expect(appended!.errorCode).toBe(0);
      const response = await waiting;
      expect(response.responses[0].partitions[0].errorCode).toBe(0);
      expect((await behind).errorCode).toBe(0);
    } finally {
      poller.close();
    }
    await expectIntact(11);
  });

  it('answers an unknown topic id (v13+) with UNKNOWN_TOPIC_ID', async () => {
    const response = await client.request(ApiKey.Fetch, 13, {
      ...fetchBody(0),
      topics: [{ topicId: '0123abcd-0000-0000-0000-000000000001', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1000 }] }],
    });
    expect(response.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

describe('ListOffsets, Metadata and CreateTopics with bad values', () => {
  it('ListOffsets: negative partition and odd timestamps', async () => {
    const response = await client.request(ApiKey.ListOffsets, 8, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'v',
          partitions: [
            { partitionIndex: -1, currentLeaderEpoch: -1, timestamp: -1n },
            { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -9n },
            { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 2n ** 62n },
          ],
        },
        { name: 'nope', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
      ],
    });
    const [bad, odd, future] = response.topics[0].partitions;
    expect(bad.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Other negative timestamps are not special: every record is at least that new, so the first one is found.
    expect(odd.errorCode).toBe(0);
    expect(future).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n });
    expect(response.topics[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('Metadata: bad topic names are answered per topic, never created', async () => {
    const names = ['', '.', '..', 'a/b', 'x'.repeat(250), '\u00e9t\u00e9'];
    const response = await client.request(ApiKey.Metadata, 12, { topics: names.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })), allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    expect(response.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual(names.map(() => ErrorCode.INVALID_TOPIC_EXCEPTION));
    expect(broker.metadata.topics().map((t) => t.name)).toEqual(['v']);
  });

  it('CreateTopics: non-positive and huge partition counts, absurd replication factors', async () => {
    const response = await client.request(ApiKey.CreateTopics, 7, {
      topics: [
        { name: 'p0', numPartitions: 0, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'pneg', numPartitions: -5, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'phuge', numPartitions: 2147483647, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'rf', numPartitions: 1, replicationFactor: 32767, assignments: [], configs: [] },
        { name: 'rf0', numPartitions: 1, replicationFactor: 0, assignments: [], configs: [] },
        { name: 'cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'segment.bytes', value: '-1' }] },
      ],
      // A timeout of 0 or less is REQUEST_TIMED_OUT for every topic (Kafka 4.0's controller; see broker-admin-raw).
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const codes = Object.fromEntries(response.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]));
    expect(codes).toEqual({
      p0: ErrorCode.INVALID_PARTITIONS,
      pneg: ErrorCode.INVALID_PARTITIONS,
      phuge: ErrorCode.INVALID_PARTITIONS,
      rf: ErrorCode.INVALID_REPLICATION_FACTOR,
      rf0: ErrorCode.INVALID_REPLICATION_FACTOR,
      cfg: ErrorCode.INVALID_CONFIG,
    });
    expect(broker.metadata.topics().map((t) => t.name)).toEqual(['v']);
  });

  it('a null topic name where the schema forbids it closes only that connection', async () => {
    // Produce v8: topic name is a non-nullable string; length -1 cannot be parsed.
    const bad = await WireClient.connect(broker.port);
    const body = Buffer.concat([Buffer.from([0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0])]);
    const header = WireClient.frame(ApiKey.Produce, 8, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [] }, 1);
    // Replace the body after the header: header is everything before the (empty-topics) body's 14 bytes.
    const headerBytes = header.subarray(4, header.length - 14);
    const payload = Buffer.concat([headerBytes, body]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    bad.write(Buffer.concat([size, payload]));
    await bad.waitClosed();
    await expectIntact(11);
  });
});
