// Real clients end to end: kafkajs produces (plain and gzip batches), kcat
// (librdkafka) reads them back without a consumer group: ApiVersions,
// Metadata, ListOffsets, Fetch (large slices zero-copy).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const run = promisify(execFile);
const kcat = fs.existsSync('/usr/bin/kcat') ? '/usr/bin/kcat' : null;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  cleanups.push(() => broker.close());
  const kafka = new Kafka({ clientId: 'samsa-test', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  return { broker, kafka };
}

describe('produce with kafkajs, fetch with kcat', () => {
  it('acknowledges produced batches with consecutive offsets', async () => {
    const { kafka } = await setup();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const first = await producer.send({ topic: 'orders', acks: -1, messages: [0, 1, 2].map((i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })) });
    const second = await producer.send({ topic: 'orders', acks: 1, compression: CompressionTypes.GZIP, messages: [3, 4].map((i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })) });
    expect(first).toEqual([expect.objectContaining({ topicName: 'orders', partition: 0, errorCode: 0, baseOffset: '0' })]);
    expect(second).toEqual([expect.objectContaining({ partition: 0, errorCode: 0, baseOffset: '3' })]);
    const offsets = await admin.fetchTopicOffsets('orders');
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '0', high: '5' });
    expect(offsets.find((o) => o.partition === 1)).toMatchObject({ low: '0', high: '0' });
  });

  it.skipIf(!kcat)('kcat reads back every record, small and large fetches alike', async () => {
    const { broker, kafka } = await setup();
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const payload = (i: number) => `value-${i}-${'x'.repeat(1000)}`;
    // Auto-created by Metadata; 20 batches of 10 records of ~1 KiB each.
    for (let b = 0; b < 20; b++) {
      await producer.send({ topic: 'events', messages: Array.from({ length: 10 }, (_, j) => ({ partition: 0, key: `k${b * 10 + j}`, value: payload(b * 10 + j) })) });
    }
    const { stdout } = await run(kcat!, ['-C', '-b', `127.0.0.1:${broker.port}`, '-t', 'events', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k %s\\n'], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(200);
    lines.forEach((line, i) => expect(line).toBe(`${i} k${i} ${payload(i)}`));
    // From the middle, by offset.
    const tail = await run(kcat!, ['-C', '-b', `127.0.0.1:${broker.port}`, '-t', 'events', '-p', '0', '-o', '195', '-e', '-q', '-f', '%o\\n'], { timeout: 30_000 });
    expect(tail.stdout.trim().split('\n')).toEqual(['195', '196', '197', '198', '199']);
  });
});
