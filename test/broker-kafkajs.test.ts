// A real client (kafkajs) against an embedded broker: connect, create topics,
// read metadata; then a restart on the same data dir keeps them.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  cleanups.push(() => broker.close());
  return broker;
}

function admin(port: number) {
  const kafka = new Kafka({ clientId: 'samsa-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const a = kafka.admin();
  cleanups.push(() => a.disconnect());
  return a;
}

describe('embedded broker with kafkajs admin', () => {
  it('creates topics, reports them in metadata, refuses duplicates, and keeps them across a restart', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    const a = admin(broker.port);
    await a.connect();
    expect(await a.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }, { topic: 'events', configEntries: [{ name: 'retention.ms', value: '60000' }] }] })).toBe(true);
    expect((await a.listTopics()).sort()).toEqual(['events', 'orders']);
    const meta = await a.fetchTopicMetadata({ topics: ['orders'] });
    expect(meta.topics[0].partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr])).toEqual([
      [0, 1, [1], [1]],
      [1, 1, [1], [1]],
      [2, 1, [1], [1]],
    ]);
    // kafkajs reports an existing topic as "not created".
    expect(await a.createTopics({ topics: [{ topic: 'orders' }] })).toBe(false);
    const failure = await a.createTopics({ topics: [{ topic: 'bad', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }).catch((e: unknown) => e);
    expect((failure as { errors: Array<{ type: string }> }).errors.map((e) => e.type)).toEqual(['INVALID_CONFIG']);
    const cluster = await a.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: broker.port }]);
    await a.disconnect();
    await broker.close();
    cleanups.length = 0;
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    // Partition directories in Kafka's layout, then everything back after a restart.
    expect(fs.readdirSync(dataDir).filter((d) => /^(orders|events)-\d$/.test(d)).sort()).toEqual(['events-0', 'orders-0', 'orders-1', 'orders-2']);
    const again = await startBroker(dataDir);
    const b = admin(again.port);
    await b.connect();
    expect((await b.listTopics()).sort()).toEqual(['events', 'orders']);
  });
});
