// Compaction through a real broker and real clients: kafkajs produces
// (idempotent, compressed and not), the cleaner runs in the background, kcat
// (librdkafka) reads the compacted log back from the beginning; keyless
// records are refused; a live cleanup.policy change starts compaction.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const KCAT = ['/usr/bin/kcat', '/usr/bin/kafkacat'].find((p) => fs.existsSync(p)) ?? null;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Small segments (broker-level: topic-level segment.bytes has Kafka's 1 MiB floor) and a quick cleaner.
const PROPERTIES = {
  'log.segment.bytes': '4096',
  'log.cleaner.backoff.ms': '50',
  'log.cleaner.dedupe.buffer.size': String(1024 * 1024),
  'log.segment.delete.delay.ms': '100',
  'group.initial.rebalance.delay.ms': '0',
};

async function startBroker(): Promise<Broker> {
  const dataDir = tempDir('samsa-compaction-');
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: PROPERTIES });
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  cleanups.push(() => broker.close());
  return broker;
}

function kafka(port: number) {
  return new Kafka({ clientId: 'compaction-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
}

async function connected<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: T): Promise<T> {
  await client.connect();
  cleanups.push(() => client.disconnect());
  return client;
}

/** Sends `rounds` updates of `keys` keys; returns key -> { value, offset } of the last acknowledged write. */
async function produceUpdates(producer: Producer, topic: string, rounds: number, keys: number, tag: string) {
  const latest = new Map<string, { value: string; offset: number }>();
  for (let round = 0; round < rounds; round++) {
    const messages = Array.from({ length: keys }, (_, k) => ({ key: `key-${k}`, value: `${tag}-r${round}-k${k}-${'z'.repeat(30)}` }));
    const compression = round % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None;
    const [meta] = await producer.send({ topic, messages, compression, acks: -1 });
    const base = Number(meta.baseOffset);
    messages.forEach((m, i) => latest.set(m.key, { value: m.value, offset: base + i }));
  }
  return latest;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every record of partition 0 from the beginning, as kcat (librdkafka) consumes it: offset, key, value. */
function kcatRead(port: number, topic: string): Promise<Array<{ offset: number; key: string; value: string }>> {
  return new Promise((resolve, reject) => {
    const args = ['-b', `127.0.0.1:${port}`, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\t%k\t%s\n'];
    const child = spawn(KCAT!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`kcat exited ${code}: ${stderr}`));
      resolve(
        stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => {
            const [offset, key, value] = l.split('\t');
            return { offset: Number(offset), key, value };
          }),
      );
    });
  });
}

describe.skipIf(!KCAT)('compacted topics through the broker', () => {
  it('keeps the latest value per key at its acknowledged offset; kcat reads the compacted log from the beginning', async () => {
    const broker = await startBroker();
    const k = kafka(broker.port);
    const admin = await connected(k.admin());
    await admin.createTopics({ topics: [{ topic: 'changelog', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const producer = await connected(k.producer({ idempotent: true, maxInFlightRequests: 1 }));
    const latest = await produceUpdates(producer, 'changelog', 60, 20, 'a');
    const produced = 60 * 20;
    const log = broker.logs.getLog('changelog', 0)!;
    const cleaner = broker.logs.cleaner!;
    // The cleaner runs on its own (log.cleaner.backoff.ms); wait until it has cleaned all it may
    // (up to the active segment) and finds nothing more to do, so the reads below see one state.
    await waitFor('the cleaner', () => cleaner.checkpointOf(log) === log.activeSegment().baseOffset && cleaner.grabFilthiestCompactedLog() === null);
    expect(cleaner.checkpointOf(log)).toBeGreaterThan(produced / 2);

    const records = await kcatRead(broker.port, 'changelog');
    const byKey = new Map<string, { value: string; offset: number }>();
    for (const r of records) byKey.set(r.key, { value: r.value, offset: r.offset });
    expect(byKey).toEqual(latest);
    expect(records.length).toBeLessThan(produced / 2);
    // Below the cleaned point, one record per key.
    const cleanedEnd = cleaner.checkpointOf(log)!;
    const cleaned = records.filter((r) => r.offset < cleanedEnd);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
    // Offsets were kept, not renumbered: the log end did not move.
    expect(log.logEndOffset).toBe(produced);
    // kafkajs, in a consumer group, reads the same over the gaps and empty batches.
    const consumer = k.consumer({ groupId: 'compaction-reader', heartbeatInterval: 100, maxWaitTimeInMs: 100 });
    await connected(consumer);
    await consumer.subscribe({ topic: 'changelog', fromBeginning: true });
    const seen: Array<{ offset: number; key: string; value: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString() });
      },
    });
    await waitFor('kafkajs to read the compacted log', () => seen.length >= records.length);
    await consumer.stop();
    expect(seen).toEqual(records);
    // The idempotent producer goes on in sequence after its batches were rewritten.
    const more = await produceUpdates(producer, 'changelog', 1, 20, 'b');
    expect(more.get('key-0')!.offset).toBe(produced);
  });

  it('refuses a record without a key with INVALID_RECORD, as Kafka does', async () => {
    const broker = await startBroker();
    const k = kafka(broker.port);
    const admin = await connected(k.admin());
    await admin.createTopics({ topics: [{ topic: 'keyed', configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] }] });
    const producer = await connected(k.producer({ retry: { retries: 0 } }));
    const error = await producer.send({ topic: 'keyed', messages: [{ key: 'a', value: '1' }, { value: 'no key' }] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'INVALID_RECORD' });
    expect(broker.logs.getLog('keyed', 0)!.logEndOffset).toBe(0);
    // Keys are only required on compacted topics.
    await admin.createTopics({ topics: [{ topic: 'plain' }] });
    await producer.send({ topic: 'plain', messages: [{ value: 'no key' }] });
  });

  it('starts compacting a live partition when cleanup.policy changes to compact', async () => {
    const broker = await startBroker();
    const k = kafka(broker.port);
    const admin = await connected(k.admin());
    await admin.createTopics({ topics: [{ topic: 'switch' }] });
    const producer = await connected(k.producer());
    const latest = await produceUpdates(producer, 'switch', 40, 10, 'c');
    const log = broker.logs.getLog('switch', 0)!;
    const bytesBefore = log.size;
    await new Promise((r) => setTimeout(r, 300));
    expect(broker.logs.cleaner!.checkpointOf(log)).toBeUndefined();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'switch', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    await waitFor('the cleaner', () => (broker.logs.cleaner!.checkpointOf(log) ?? 0) > 0);
    expect(log.size).toBeLessThan(bytesBefore / 2);
    const byKey = new Map<string, { value: string; offset: number }>();
    for (const r of await kcatRead(broker.port, 'switch')) byKey.set(r.key, { value: r.value, offset: r.offset });
    expect(byKey).toEqual(latest);
  });
});
