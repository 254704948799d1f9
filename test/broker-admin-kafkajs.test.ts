// Topic administration through a real client (kafkajs admin and producer)
// against an embedded broker: delete topics, add partitions and use them,
// delete records, describe the cluster, and the refusals of bad topics.
// Records are read back over the wire (kafkajs consumers need consumer groups).
import fs from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient, fetchAll, fetchPartition } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const TEST_TIMEOUT_MS = 120_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ broker: Broker; kafka: Kafka; admin: Admin; wire: WireClient }> {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  cleanups.push(() => broker.close());
  const kafka = new Kafka({ clientId: 'samsa-admin-test', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const wire = await WireClient.connect(broker.port);
  cleanups.push(() => wire.close());
  return { broker, kafka, admin, wire };
}

async function producer(kafka: Kafka) {
  const p = kafka.producer({ allowAutoTopicCreation: false });
  await p.connect();
  cleanups.push(() => p.disconnect());
  return p;
}

describe('kafkajs admin against samsa', () => {
  it(
    'deletes topics: gone from the topic list, and a topic of the same name starts over',
    async () => {
      const { kafka, admin, wire } = await setup();
      await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }, { topic: 'kept' }] });
      const p = await producer(kafka);
      await p.send({ topic: 'doomed', messages: [{ partition: 0, value: 'old-1' }, { partition: 0, value: 'old-2' }] });
      await admin.deleteTopics({ topics: ['doomed'] });
      expect(await admin.listTopics()).toEqual(['kept']);
      // kafkajs retries UNKNOWN_TOPIC_OR_PARTITION, then gives up with the broker's answer.
      const missing = await admin.deleteTopics({ topics: ['doomed'] }).catch((e: unknown) => e);
      expect((missing as Error).message).toMatch(/does not host this topic-partition/);

      expect(await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1 }] })).toBe(true);
      const [sent] = await p.send({ topic: 'doomed', messages: [{ partition: 0, value: 'new-1' }] });
      expect(sent.baseOffset).toBe('0');
      expect((await fetchAll(wire, 'doomed', 0)).map((r) => r.value!.toString())).toEqual(['new-1']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'adds partitions; producers find them and their records can be fetched; shrinking is refused',
    async () => {
      const { kafka, admin, wire } = await setup();
      await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: 1 }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'wide', count: 3 }] });
      const meta = await admin.fetchTopicMetadata({ topics: ['wide'] });
      expect(meta.topics[0].partitions.map((x) => x.partitionId).sort()).toEqual([0, 1, 2]);
      const p = await producer(kafka);
      await p.send({ topic: 'wide', messages: [{ partition: 2, key: 'k', value: 'on-new-partition' }] });
      expect((await fetchAll(wire, 'wide', 2)).map((r) => [r.key!.toString(), r.value!.toString()])).toEqual([['k', 'on-new-partition']]);

      const shrink = await admin.createPartitions({ topicPartitions: [{ topic: 'wide', count: 2 }] }).catch((e: unknown) => e);
      expect((shrink as { type?: string }).type).toBe('INVALID_PARTITIONS');
      const unknown = await admin.createPartitions({ topicPartitions: [{ topic: 'none', count: 2 }] }).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(Error);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'deletes records below an offset: the low watermark moves and fetches below it are out of range',
    async () => {
      const { kafka, admin, wire } = await setup();
      await admin.createTopics({ topics: [{ topic: 'trim', numPartitions: 2 }] });
      const p = await producer(kafka);
      for (let i = 0; i < 8; i++) await p.send({ topic: 'trim', messages: [{ partition: 0, value: `v${i}` }] });
      // kafkajs finds partition leaders in the admin's metadata, which this loads.
      expect((await admin.fetchTopicOffsets('trim')).find((o) => o.partition === 0)).toMatchObject({ low: '0', high: '8' });
      await admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '5' }] });
      const offsets = await admin.fetchTopicOffsets('trim');
      expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '5', high: '8' });
      expect(offsets.find((o) => o.partition === 1)).toMatchObject({ low: '0', high: '0' });
      expect((await fetchPartition(wire, 'trim', 0, 4)).errorCode).toBe(1);
      expect((await fetchAll(wire, 'trim', 0, 5)).map((r) => r.value!.toString())).toEqual(['v5', 'v6', 'v7']);
      // -1: everything up to the high watermark.
      await admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '-1' }] });
      expect((await admin.fetchTopicOffsets('trim')).find((o) => o.partition === 0)).toMatchObject({ low: '8', high: '8' });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'describes the cluster: this broker as the only broker and the controller, with the cluster id',
    async () => {
      const { broker, admin } = await setup();
      expect(await admin.describeCluster()).toEqual({
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: broker.port }],
        controller: 1,
        clusterId: broker.metadata.clusterId,
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses invalid topic names and a replication factor above the broker count',
    async () => {
      const { admin } = await setup();
      await admin.createTopics({ topics: [{ topic: 'a.b' }] });
      for (const topic of ['bad name', '..', 'x'.repeat(250), 'a_b', 'ütf']) {
        const failure = await admin.createTopics({ topics: [{ topic }] }).catch((e: unknown) => e);
        expect((failure as { errors?: Array<{ type: string }> }).errors?.map((e) => e.type), topic.slice(0, 20)).toEqual(['INVALID_TOPIC_EXCEPTION']);
      }
      const rf = await admin.createTopics({ topics: [{ topic: 'rf', replicationFactor: 2 }] }).catch((e: unknown) => e);
      expect((rf as { errors?: Array<{ type: string }> }).errors?.map((e) => e.type)).toEqual(['INVALID_REPLICATION_FACTOR']);
      expect(await admin.listTopics()).toEqual(['a.b']);
    },
    TEST_TIMEOUT_MS,
  );
});
