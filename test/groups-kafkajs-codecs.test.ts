// kafkajs end to end through a consumer group, for every codec it has (gzip
// built in; snappy, lz4 and zstd through plugins): 100 000 keyed records with
// headers over 6 partitions, produced cycling through the codecs and read by
// a group of two members that commit each batch. Every record once, each
// partition in order, every codec stored as sent, commits at the log end.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { codecsInLog, GroupLedger, groupMessage, startGroupBroker, waitFor, type Cleanups } from './support/groups.js';
import { startKafkajsMember } from './support/kafkajs-group.js';
import { KAFKAJS_CODECS } from './support/kafkajs-codecs.js';

const PARTITIONS = 6;
const RECORDS = 100_000;
const PER_SEND = 2000;

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('kafkajs produce and group consume with every codec', () => {
  it(`carries ${RECORDS} records in none, gzip, snappy, lz4 and zstd through a group of two, in partition order`, { timeout: 180_000 }, async () => {
    const topic = 'codecs';
    const groupId = 'codecs-group';
    const broker = await startGroupBroker(cleanups);
    const kafka = new Kafka({ clientId: 'groups-codecs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });

    const ledger = new GroupLedger();
    const assignments = new Map<string, number[]>();
    for (const name of ['a', 'b']) {
      const consumer = await startKafkajsMember(
        kafka,
        { groupId, topic, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 },
        { joined: (partitions) => assignments.set(name, partitions), committing: () => {}, consumed: (partition, records) => ledger.add(name, partition, records) },
      );
      cleanups.push(() => consumer.disconnect());
    }
    await waitFor('two members with 3 partitions each', () => [...assignments.values()].map((a) => a.length).join() === '3,3', 30_000, () => [...assignments]);

    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    let sends = 0;
    for (let start = 0; start < RECORDS; start += PER_SEND) {
      const messages = [];
      for (let seq = start; seq < start + PER_SEND; seq++) messages.push({ ...groupMessage(seq), partition: seq % PARTITIONS });
      await producer.send({ topic, acks: -1, compression: KAFKAJS_CODECS[sends++ % KAFKAJS_CODECS.length], messages });
    }
    await waitFor(`all ${RECORDS} records consumed`, () => ledger.total >= RECORDS, 90_000, () => ledger.total);

    expect(ledger.problems(PARTITIONS, RECORDS)).toEqual([]);
    expect(ledger.total).toBe(RECORDS);
    expect(ledger.countOf('a')).toBeGreaterThan(0);
    expect(ledger.countOf('b')).toBeGreaterThan(0);
    // Compression is kept as produced (Kafka's compression.type=producer).
    for (let p = 0; p < PARTITIONS; p++) expect([...codecsInLog(broker, topic, p)].sort()).toEqual(['gzip', 'lz4', 'none', 'snappy', 'zstd']);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    expect(committed.partitions.sort((x, y) => x.partition - y.partition).map((p) => p.offset)).toEqual(ends.sort((x, y) => x.partition - y.partition).map((p) => p.high));
  });
});
