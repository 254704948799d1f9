// ListOffsets against a real broker over a socket, at every version it serves
// (1-8): earliest (-2), latest (-1), max timestamp (-3, v7+), earliest local
// (-4, v8) and by timestamp through the time index, over many segments with
// timestamps out of order inside batches, compressed batches, LogAppendTime
// topics, and again after a restart (indexes read back from disk). kafkajs's
// fetchTopicOffsetsByTimestamp must agree.
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildRecordBatch, type CompressionName } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient, createTopic, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const T0 = 1_700_000_000_000;
const BATCHES = 120;
const PER_BATCH = 5;
// Inside each batch the timestamps are out of order; the largest is the middle record.
const JIGGLE = [20, 0, 40, 10, 30];
// One batch carries a far-future timestamp in its third record; a later one repeats it (the first wins).
const SPIKE_BATCH = 37;
const SPIKE_REPEAT_BATCH = 90;
const SPIKE_TS = T0 + 1_000_000_000;

let broker: Broker;
let dataDir: string;
let client: WireClient;
/** Every record of topic `ts` in offset order. */
const written: Array<{ offset: number; timestamp: number }> = [];

function timestampOf(batch: number, index: number): number {
  if ((batch === SPIKE_BATCH || batch === SPIKE_REPEAT_BATCH) && index === 2) return SPIKE_TS;
  return T0 + batch * 50 + JIGGLE[index];
}

async function start(): Promise<void> {
  // Small segments and dense index entries (broker defaults: Kafka 4.0 refuses a
  // topic segment.bytes under 1 MiB): the answers cross many segments and index entries.
  broker = await Broker.start({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger: silentLogger,
    properties: { 'log.segment.bytes': '4096', 'log.index.interval.bytes': '300' },
  });
  client = await WireClient.connect(broker.port);
}

async function stop(): Promise<void> {
  client.close();
  await broker.close();
}

beforeAll(async () => {
  dataDir = tempDir();
  await start();
  await createTopic(client, 'ts', 1);
  await createTopic(client, 'appendtime', 1, { 'message.timestamp.type': 'LogAppendTime' });
  await createTopic(client, 'empty', 1);
  const codecs: CompressionName[] = ['none', 'gzip', 'none', 'snappy', 'lz4', 'zstd'];
  for (let b = 0; b < BATCHES; b++) {
    const records = Array.from({ length: PER_BATCH }, (_, j) => ({ key: `k${b}-${j}`, value: `value-${b}-${j}-${'x'.repeat(80)}`, timestamp: timestampOf(b, j) }));
    const r = await produce(client, 'ts', 0, buildRecordBatch(records, { compression: codecs[b % codecs.length] }), 1);
    expect(r!.errorCode).toBe(0);
    expect(Number(r!.baseOffset)).toBe(b * PER_BATCH);
    for (let j = 0; j < PER_BATCH; j++) written.push({ offset: b * PER_BATCH + j, timestamp: timestampOf(b, j) });
  }
});

afterAll(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function listOffset(version: number, topic: string, timestamp: number) {
  const response = await client.request(ApiKey.ListOffsets, version, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: BigInt(timestamp), maxNumOffsets: 1 }] }],
    timeoutMs: 1000,
  });
  const p = response.topics[0].partitions[0];
  return { errorCode: p.errorCode as number, offset: Number(p.offset), timestamp: Number(p.timestamp) };
}

/** Kafka's answer by brute force: the first offset whose record timestamp is >= target. */
function expectedFor(target: number): { offset: number; timestamp: number } {
  const hit = written.find((r) => r.timestamp >= target);
  return hit ? { offset: hit.offset, timestamp: hit.timestamp } : { offset: -1, timestamp: -1 };
}

const VERSIONS = [1, 2, 3, 4, 5, 6, 7, 8];

function targets(): number[] {
  const out = [0, T0 - 1, T0, T0 + 1, T0 + 5, T0 + 19, T0 + 20, T0 + 21, SPIKE_TS, SPIKE_TS + 1, T0 + (BATCHES - 1) * 50 + 40, T0 + (BATCHES - 1) * 50 + 41];
  for (let t = T0; t < T0 + BATCHES * 50; t += 37) out.push(t);
  return out;
}

async function checkAll(): Promise<void> {
  const end = BATCHES * PER_BATCH;
  for (const v of VERSIONS) {
    expect(await listOffset(v, 'ts', -2), `earliest v${v}`).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
    expect(await listOffset(v, 'ts', -1), `latest v${v}`).toEqual({ errorCode: 0, offset: end, timestamp: -1 });
    for (const target of targets()) {
      expect(await listOffset(v, 'ts', target), `v${v} timestamp ${target}`).toEqual({ errorCode: 0, ...expectedFor(target) });
    }
    if (v >= 7) {
      // The first record carrying the largest timestamp, not its batch's last offset (Kafka 4.0).
      expect(await listOffset(v, 'ts', -3), `max timestamp v${v}`).toEqual({ errorCode: 0, offset: SPIKE_BATCH * PER_BATCH + 2, timestamp: SPIKE_TS });
    }
    if (v >= 8) expect(await listOffset(v, 'ts', -4), `earliest local v${v}`).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
  }
}

describe('ListOffsets', () => {
  it('answers earliest, latest, max timestamp and by timestamp at every version', async () => {
    const segments = fs.readdirSync(path.join(dataDir, 'ts-0')).filter((f) => f.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(10);
    await checkAll();
  });

  it('gives the same answers after a restart, from the indexes on disk', async () => {
    await stop();
    await start();
    await checkAll();
  });

  it('answers an empty partition: earliest = latest = 0, no offset for a timestamp or the max', async () => {
    for (const v of VERSIONS) {
      expect(await listOffset(v, 'empty', -2)).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
      expect(await listOffset(v, 'empty', -1)).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
      expect(await listOffset(v, 'empty', T0)).toEqual({ errorCode: 0, offset: -1, timestamp: -1 });
      if (v >= 7) expect(await listOffset(v, 'empty', -3)).toEqual({ errorCode: 0, offset: -1, timestamp: -1 });
    }
  });

  it('uses the broker time on a LogAppendTime topic', async () => {
    const before = Date.now();
    const first = await produce(client, 'appendtime', 0, buildRecordBatch([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }]), 1);
    await new Promise((r) => setTimeout(r, 20));
    const second = await produce(client, 'appendtime', 0, buildRecordBatch([{ value: 'c', timestamp: 3 }], { compression: 'gzip' }), 1);
    const appendTime = Number(second!.logAppendTimeMs);
    expect(Number(first!.logAppendTimeMs)).toBeGreaterThanOrEqual(before);
    expect(appendTime).toBeGreaterThan(Number(first!.logAppendTimeMs));
    // The client's timestamps (1, 2, 3) were replaced.
    expect(await listOffset(8, 'appendtime', 1)).toEqual({ errorCode: 0, offset: 0, timestamp: Number(first!.logAppendTimeMs) });
    expect(await listOffset(8, 'appendtime', appendTime)).toEqual({ errorCode: 0, offset: 2, timestamp: appendTime });
    expect(await listOffset(8, 'appendtime', -3)).toEqual({ errorCode: 0, offset: 2, timestamp: appendTime });
    expect(await listOffset(8, 'appendtime', appendTime + 1)).toEqual({ errorCode: 0, offset: -1, timestamp: -1 });
  });

  it('answers unknown topics and partitions per partition', async () => {
    for (const v of VERSIONS) {
      expect((await listOffset(v, 'missing', -1)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  });

  it('agrees with kafkajs fetchTopicOffsetsByTimestamp and fetchTopicOffsets', async () => {
    const kafka = new Kafka({ clientId: 'list-offsets', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const target of [T0, T0 + 21, T0 + 1234, SPIKE_TS]) {
        const [answer] = await admin.fetchTopicOffsetsByTimestamp('ts', target);
        expect(Number(answer.offset), `timestamp ${target}`).toBe(expectedFor(target).offset);
      }
      const [offsets] = await admin.fetchTopicOffsets('ts');
      expect(offsets).toMatchObject({ partition: 0, low: '0', high: String(BATCHES * PER_BATCH) });
    } finally {
      await admin.disconnect();
    }
  });
});
