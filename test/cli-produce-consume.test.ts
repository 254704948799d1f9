// `samsa console-producer` and `samsa console-consumer` as real processes
// against a broker started here, checked against independent clients:
// kafkajs (Java-compatible partitioner, headers), kcat (librdkafka) and the
// segment files on disk (the codec really used).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

const run = promisify(execFile);
const kcat = fs.existsSync('/usr/bin/kcat') ? '/usr/bin/kcat' : null;

let broker: Broker;
let dataDir: string;
let bootstrap: string;
let kafka: Kafka;

beforeAll(async () => {
  dataDir = tempDir('samsa-cli-pc-');
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  bootstrap = `127.0.0.1:${broker.port}`;
  kafka = new Kafka({ clientId: 'cli-pc-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});

afterAll(async () => {
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  const r = await runCli(['topics', '--bootstrap-server', bootstrap, '--create', '--topic', topic, '--partitions', String(partitions)]);
  expect(r.stdout).toBe(`Created topic ${topic}.\n`);
}

const produce = (topic: string, input: string, ...extra: string[]) =>
  runCli(['console-producer', '--bootstrap-server', bootstrap, '--topic', topic, ...extra], { input });

const consume = (topic: string, ...extra: string[]) =>
  runCli(['console-consumer', '--bootstrap-server', bootstrap, '--topic', topic, ...extra]);

/** Batch headers of every segment of one partition, straight from disk. */
function batchesOnDisk(topic: string, partition: number) {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const headers = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    for (const { header } of iterateBatchHeaders(fs.readFileSync(path.join(dir, file)))) headers.push(header);
  }
  return headers;
}

describe('console producer and consumer round trip', { timeout: 300_000 }, () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`keeps keys, values and order per partition with ${codec} compression`, async () => {
      const topic = `codec-${codec}`;
      await createTopic(topic, 3);
      const lines = Array.from({ length: 60 }, (_, i) => `user-${i % 7}:event ${i} ${'x'.repeat(i)}`);
      const p = await produce(topic, lines.join('\n') + '\n', '--property', 'parse.key=true', '--property', 'key.separator=:', '--compression-codec', codec, '--batch-size', '500');
      expect(p).toMatchObject({ code: 0, stderr: '' });
      const c = await consume(topic, '--from-beginning', '--max-messages', '60', '--property', 'print.key=true', '--property', 'print.partition=true');
      expect(c.code).toBe(0);
      expect(c.stderr).toBe('Processed a total of 60 messages\n');
      const got = c.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
      expect(got).toHaveLength(60);
      // Every key lives on one partition, and its records keep the input order.
      const partitionOfKey = new Map<string, string>();
      for (const [partition, key] of got) {
        expect(partitionOfKey.get(key) ?? partition).toBe(partition);
        partitionOfKey.set(key, partition);
      }
      for (let k = 0; k < 7; k++) {
        const expected = lines.filter((l) => l.startsWith(`user-${k}:`)).map((l) => l.slice(l.indexOf(':') + 1));
        expect(got.filter(([, key]) => key === `user-${k}`).map(([, , value]) => value)).toEqual(expected);
      }
      // The codec really was applied to what the broker stored.
      const stored = [0, 1, 2].flatMap((partition) => batchesOnDisk(topic, partition));
      expect(stored.length).toBeGreaterThan(3); // small batch size: several batches
      for (const header of stored) expect(header.compression).toBe(codec);
      // acks=all (the default) makes the producer idempotent, as Kafka's is: one producer id, consecutive sequences per partition.
      for (const partition of [0, 1, 2]) {
        let sequence = 0;
        for (const header of batchesOnDisk(topic, partition)) {
          expect(header.producerId).toBe(stored[0].producerId);
          expect(header.baseSequence).toBe(sequence);
          sequence += header.recordsCount;
        }
      }
      expect(stored[0].producerId).toBeGreaterThanOrEqual(0);
    });
  }

  it('partitions keys exactly like the Java-compatible partitioner of kafkajs', async () => {
    await createTopic('keys-cli', 6);
    await createTopic('keys-kafkajs', 6);
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i * 37}`);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: 'keys-kafkajs', acks: -1, messages: keys.map((key) => ({ key, value: 'v' })) });
    } finally {
      await producer.disconnect();
    }
    expect((await produce('keys-cli', keys.map((k) => `${k}\tv`).join('\n'), '--property', 'parse.key=true')).code).toBe(0);
    const placement = async (topic: string) => {
      const c = await consume(topic, '--from-beginning', '--max-messages', '40', '--property', 'print.key=true', '--property', 'print.partition=true', '--property', 'print.value=false');
      return new Map(c.stdout.trimEnd().split('\n').map((l) => l.split('\t')).map(([p, k]) => [k, p] as const));
    };
    const [cli, reference] = await Promise.all([placement('keys-cli'), placement('keys-kafkajs')]);
    expect(cli.size).toBe(40);
    expect(new Set(cli.values()).size).toBeGreaterThan(1);
    for (const key of keys) expect(cli.get(key)).toBe(reference.get(key));
  });

  it('spreads keyless records over partitions batch by batch and loses none', async () => {
    await createTopic('keyless', 4);
    const lines = Array.from({ length: 2000 }, (_, i) => `line-${i}`);
    const p = await produce('keyless', lines.join('\n'), '--batch-size', '2000', '--request-required-acks', '1');
    expect(p).toMatchObject({ code: 0, stderr: '' });
    const c = await consume('keyless', '--from-beginning', '--max-messages', '2000', '--property', 'print.partition=true', '--property', 'print.offset=true');
    expect(c.stderr).toBe('Processed a total of 2000 messages\n');
    const rows = c.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(lines));
    const partitions = new Set(rows.map((r) => r[0]));
    expect(partitions.size).toBe(4);
    // acks=1: not idempotent, as Kafka's producer.
    for (const header of batchesOnDisk('keyless', 0)) expect(header.producerId).toBe(-1);
    for (const partition of partitions) {
      // Within a partition: offsets 0.. without gaps, values in input order.
      const mine = rows.filter((r) => r[0] === partition);
      expect(mine.map((r) => r[1])).toEqual(mine.map((_, i) => `Offset:${i}`));
      const indexes = mine.map((r) => Number(r[2].slice('line-'.length)));
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    }
  });

  it('produces with acks=0 and reads from a partition at an offset', async () => {
    await createTopic('acks0', 1);
    const p = await produce('acks0', 'a\nb\nc\nd\ne\n', '--producer-property', 'acks=0');
    expect(p).toMatchObject({ code: 0, stderr: '' });
    // acks=0 gets no answer: read until all five arrive.
    const c = await consume('acks0', '--partition', '0', '--offset', '2', '--max-messages', '3', '--property', 'print.offset=true', '--property', 'print.timestamp=true');
    expect(c.code).toBe(0);
    const rows = c.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => expect(row).toMatch(new RegExp(`^CreateTime:\\d{13}\\tOffset:${i + 2}\\t${'cde'[i]}$`)));
    const earliest = await consume('acks0', '--partition', '0', '--offset', 'earliest', '--timeout-ms', '1500');
    expect(earliest.stdout).toBe('a\nb\nc\nd\ne\n');
    expect(earliest.stderr).toMatch(/Processed a total of 5 messages\n$/);
  });

  it('prints headers and null values produced by kafkajs', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      await producer.send({
        topic: 'from-kafkajs',
        acks: -1,
        messages: [
          { key: 'k1', value: 'v1', headers: { trace: 'abc', n: '1' }, timestamp: '1700000000000' },
          { key: null, value: null, timestamp: '1700000000001' },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const c = await consume('from-kafkajs', '--from-beginning', '--max-messages', '2', '--property', 'print.headers=true', '--property', 'print.key=true', '--property', 'print.timestamp=true', '--property', 'key.separator=|');
    expect(c.stdout).toBe('CreateTime:1700000000000|trace:abc,n:1|k1|v1\nCreateTime:1700000000001|NO_HEADERS|null|null\n');
  });

  it.skipIf(!kcat)('writes records that kcat (librdkafka) reads back', async () => {
    await createTopic('for-kcat', 1);
    const lines = Array.from({ length: 100 }, (_, i) => `k${i}=value ${i}`);
    const p = await produce('for-kcat', lines.join('\n'), '--property', 'parse.key=true', '--property', 'key.separator==', '--compression-codec', 'lz4');
    expect(p.code).toBe(0);
    const { stdout } = await run(kcat!, ['-C', '-b', bootstrap, '-t', 'for-kcat', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n'], { timeout: 60_000 });
    expect(stdout.trimEnd().split('\n')).toEqual(lines);
  });

  it('stops at --timeout-ms and reports the count', async () => {
    await createTopic('quiet', 1);
    const c = await consume('quiet', '--timeout-ms', '1000');
    expect(c.code).toBe(0);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(/Processed a total of 0 messages\n$/);
  });

  it('refuses a line without the key separator and exits 1', async () => {
    await createTopic('strict', 1);
    const p = await produce('strict', 'good\tone\nbad line\n', '--property', 'parse.key=true');
    expect(p.code).toBe(1);
    expect(p.stderr).toContain("No key separator found on line number 2: 'bad line'");
    // The record before the bad line was still delivered.
    const c = await consume('strict', '--from-beginning', '--timeout-ms', '1500', '--property', 'print.key=true');
    expect(c.stdout).toBe('good\tone\n');
  });

  it('checks consumer arguments like kafka-console-consumer', async () => {
    const offsetWithoutPartition = await consume('x', '--offset', '3');
    expect(offsetWithoutPartition.code).toBe(1);
    expect(offsetWithoutPartition.stderr).toContain('The partition is required when offset is specified.');
    const badOffset = await consume('x', '--partition', '0', '--offset', 'soon');
    expect(badOffset.code).toBe(1);
    expect(badOffset.stderr).toContain("The provided offset value 'soon' is incorrect.");
  });

  it('names an unreachable broker and exits 1, producer and consumer alike', async () => {
    const p = await runCli(['console-producer', '--bootstrap-server', '127.0.0.1:1', '--topic', 't'], { input: 'x\n' });
    expect(p).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot connect to 127.0.0.1:1 (ECONNREFUSED)\n' });
    const c = await runCli(['console-consumer', '--bootstrap-server', '127.0.0.1:1', '--topic', 't']);
    expect(c).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot connect to 127.0.0.1:1 (ECONNREFUSED)\n' });
  });
});
