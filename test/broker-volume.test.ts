// Volume with a real client: kafkajs produces 100 000 records with keys and
// headers to a topic of 6 partitions, cycling through every compression codec
// (none, gzip, and the snappy/lz4/zstd plugins) and acks 0, 1 and -1. They are
// read back with raw Fetch requests (kafkajs consumers need groups): every
// record exactly once, in send order within each partition, key, value and
// headers intact, every batch's CRC valid.
import fs from 'node:fs';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { iterateBatchHeaders, type CompressionName } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { KAFKAJS_CODECS } from './support/kafkajs-codecs.js';
import { WireClient, fetchPartition, recordsOf } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const RECORDS = 100_000;
const PARTITIONS = 6;
const PER_SEND = 500;
const ACKS = [-1, 1, 0] as const;

let broker: Broker;
let dataDir: string;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  dataDir = tempDir();
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  kafka = new Kafka({ clientId: 'volume', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Sent {
  key: string;
  value: string;
  headers: Record<string, string>;
}

function message(seq: number): Sent {
  // Values vary in size and content so compression has work to do and batches differ.
  return {
    key: `key-${seq}`,
    value: `value-${seq}-${'abcdefghij'.repeat(seq % 17)}`,
    headers: { seq: String(seq), kind: seq % 2 === 0 ? 'even' : 'odd', '': 'empty-name' },
  };
}

/** Reads a whole partition with Fetch, returning records and the codecs of the batches seen. */
async function readPartition(client: WireClient, topic: string, partition: number) {
  const records: ReturnType<typeof recordsOf> = [];
  const codecs = new Set<CompressionName>();
  let offset = 0;
  for (;;) {
    const r = await fetchPartition(client, topic, partition, offset, { partitionMaxBytes: 256 * 1024 });
    expect(r.errorCode).toBe(0);
    if (r.records) for (const { header } of iterateBatchHeaders(r.records)) codecs.add(header.compression);
    const batch = recordsOf(r.records).filter((rec) => rec.offset >= offset);
    records.push(...batch);
    if (batch.length > 0) offset = batch[batch.length - 1].offset + 1;
    if (offset >= r.highWatermark) return { records, codecs, highWatermark: r.highWatermark };
    expect(batch.length, `no progress at ${topic}-${partition}@${offset}`).toBeGreaterThan(0);
  }
}

describe('volume with kafkajs', () => {
  it(`produces ${RECORDS} records with keys and headers over ${PARTITIONS} partitions with every codec and acks setting, and reads them all back in order`, { timeout: 600_000 }, async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'volume', numPartitions: PARTITIONS }] });
    await admin.disconnect();

    // Sends are sequential, so each partition receives the records in seq order.
    let sends = 0;
    for (let start = 0; start < RECORDS; start += PER_SEND) {
      const compression = KAFKAJS_CODECS[sends % KAFKAJS_CODECS.length];
      const acks = ACKS[sends % ACKS.length];
      const messages = Array.from({ length: Math.min(PER_SEND, RECORDS - start) }, (_, i) => message(start + i));
      const result = await producer.send({ topic: 'volume', acks, compression, messages });
      if (acks !== 0) for (const r of result) expect(r.errorCode).toBe(0);
      sends++;
    }

    const client = await WireClient.connect(broker.port);
    const seen = new Uint8Array(RECORDS);
    const codecsSeen = new Set<CompressionName>();
    try {
      let total = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        const { records, codecs, highWatermark } = await readPartition(client, 'volume', p);
        for (const c of codecs) codecsSeen.add(c);
        expect(highWatermark).toBe(records.length);
        // Plain comparisons collected into one assertion: 100 000 expect() calls would dominate the run time.
        const problems: string[] = [];
        let previousSeq = -1;
        records.forEach((rec, index) => {
          const at = `${p}@${rec.offset}`;
          if (rec.offset !== index) problems.push(`${at}: offset gap, expected ${index}`);
          const seq = Number(rec.headers.find((h) => h.key === 'seq')?.value?.toString());
          if (!(seq > previousSeq)) problems.push(`${at}: seq ${seq} after ${previousSeq}`);
          previousSeq = seq;
          const sent = message(seq);
          if (rec.key?.toString() !== sent.key) problems.push(`${at}: key ${rec.key}`);
          if (rec.value?.toString() !== sent.value) problems.push(`${at}: value`);
          const headers = JSON.stringify(rec.headers.map((h) => [h.key, h.value?.toString()]));
          if (headers !== JSON.stringify(Object.entries(sent.headers))) problems.push(`${at}: headers ${headers}`);
          if (seen[seq] !== 0) problems.push(`${at}: seq ${seq} seen twice`);
          seen[seq] = 1;
        });
        expect(problems.slice(0, 20)).toEqual([]);
        total += records.length;
      }
      expect(total).toBe(RECORDS);
      expect(seen.every((s) => s === 1)).toBe(true);
    } finally {
      client.close();
    }
    // Compression is kept as produced (Kafka's compression.type=producer).
    expect([...codecsSeen].sort()).toEqual(['gzip', 'lz4', 'none', 'snappy', 'zstd']);
  });

  it('keeps batches of every codec readable by kafkajs itself (admin offsets agree)', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets('volume');
      expect(offsets).toHaveLength(PARTITIONS);
      expect(offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0)).toBe(RECORDS);
    } finally {
      await admin.disconnect();
    }
  });

  it('acknowledges acks=0 sends with no response and still stores them, on each codec', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'fire-and-forget', numPartitions: 1 }] });
    await admin.disconnect();
    for (const [i, compression] of KAFKAJS_CODECS.entries()) {
      await producer.send({ topic: 'fire-and-forget', acks: 0, compression, messages: [{ key: `k${i}`, value: `v${i}`, headers: { codec: String(compression) } }] });
    }
    // A later acks=1 send on the same connection is answered after the acks=0 ones were appended.
    const [last] = await producer.send({ topic: 'fire-and-forget', acks: 1, messages: [{ value: 'last' }] });
    expect(last).toMatchObject({ errorCode: 0, baseOffset: String(KAFKAJS_CODECS.length) });
    const client = await WireClient.connect(broker.port);
    try {
      const { records } = await readPartition(client, 'fire-and-forget', 0);
      expect(records.map((r) => r.value?.toString())).toEqual([...KAFKAJS_CODECS.map((_, i) => `v${i}`), 'last']);
      expect(records.slice(0, -1).map((r) => r.headers[0].value?.toString())).toEqual(KAFKAJS_CODECS.map(String));
    } finally {
      client.close();
    }
    expect(CompressionTypes.ZSTD).toBe(4);
  });
});
