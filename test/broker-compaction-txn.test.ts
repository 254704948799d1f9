// A compacted topic whose log holds committed and aborted transactions (the
// segment files a broker with a transaction coordinator leaves; this broker's
// Produce refuses transactional batches), cleaned by the broker's cleaner,
// then read by kafkajs consumers over real sockets: read_committed and
// read_uncommitted alike get exactly the latest committed value per key, and
// the markers and empty batches the cleaner keeps do not trip them.
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { CLEAN_SHUTDOWN_FILE } from '../src/storage/checkpoint.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';
import { mixedTransactionsSegment, plainBatch } from './support/txn-segments.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROPERTIES = { 'log.cleaner.backoff.ms': '3600000', 'group.initial.rebalance.delay.ms': '0' };

async function consumeAll(broker: Broker, groupId: string, readUncommitted: boolean, expected: number): Promise<Array<[string, string]>> {
  const kafka = new Kafka({ clientId: groupId, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'tx', fromBeginning: true });
  const got: Array<[string, string]> = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push([message.key!.toString(), message.value!.toString()]);
      if (got.length >= expected) done();
    },
  });
  await enough;
  // Anything more would come within a few more fetches.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return got;
}

describe('compaction of transactional data, read by kafkajs', () => {
  it('read_committed and read_uncommitted consumers get the latest committed value per key after cleaning', { timeout: 120_000 }, async () => {
    const dataDir = tempDir('samsa-compaction-txn-');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: PROPERTIES });
    const created = await broker.metadata.createTopic('tx', 1, 1, { 'cleanup.policy': 'compact' });
    expect(created.ok).toBe(true);
    if (created.ok) broker.materializeTopic(created.value);
    const partitionDir = broker.logs.getLog('tx', 0)!.dir;
    await broker.close();

    // The partition's files replaced by a log with transactions; start-up recovers it (no clean-shutdown marker).
    for (const name of fs.readdirSync(partitionDir)) if (/\.(log|index|timeindex|snapshot)$/.test(name)) fs.rmSync(path.join(partitionDir, name));
    const now = Date.now();
    fs.writeFileSync(path.join(partitionDir, '00000000000000000000.log'), mixedTransactionsSegment(now));
    fs.writeFileSync(path.join(partitionDir, '00000000000000000011.log'), plainBatch(11, [['k5', 'plain-5']], now));
    fs.rmSync(path.join(dataDir, CLEAN_SHUTDOWN_FILE), { force: true });

    broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: PROPERTIES });
    cleanups.push(() => broker.close());
    const log = broker.logs.getLog('tx', 0)!;
    expect(log.logEndOffset).toBe(12);
    // The cleaner's first round runs at start-up; cleanOnce covers it not having run yet.
    for (let i = 0; i < 200 && broker.logs.cleaner!.checkpointOf(log) !== 11; i++) {
      await broker.logs.cleaner!.cleanOnce();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(broker.logs.cleaner!.checkpointOf(log)).toBe(11);

    const committed = [
      ['k1', 'committed-1'],
      ['k2', 'committed-2'],
      ['k4', 'plain-4'],
      ['k3', 'committed-3'],
      ['k5', 'plain-5'],
    ];
    expect(await consumeAll(broker, 'read-committed', false, committed.length)).toEqual(committed);
    expect(await consumeAll(broker, 'read-uncommitted', true, committed.length)).toEqual(committed);
  });
});
