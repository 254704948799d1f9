// The idempotent producer end to end: real clients (kafkajs, kcat/librdkafka)
// retry batches whose responses a proxy dropped after the broker appended them,
// and the log holds every record exactly once, in order. A broker process
// killed with SIGKILL (and one stopped gracefully) still recognises a retried
// batch after restart, and never hands out a producer id twice.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildRecordBatch, iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { DroppingProxy } from './support/dropping-proxy.js';
import { createTopic, fetchAll, fetchPartition, produce, WireClient } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const kcat = fs.existsSync('/usr/bin/kcat') ? '/usr/bin/kcat' : null;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDataDir(): string {
  const dir = tempDir('samsa-idem-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A broker that advertises the proxy, so every client connection goes through it. */
async function brokerBehindProxy(shouldDrop: (i: number) => boolean) {
  const proxy = await DroppingProxy.start(0, shouldDrop);
  cleanups.push(() => proxy.close());
  const dataDir = newDataDir();
  const broker = await Broker.start({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger: silentLogger,
    properties: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxy.port}` },
  });
  cleanups.push(() => broker.close());
  proxy.targetPort = broker.boundPort;
  const admin = await WireClient.connect(broker.boundPort);
  cleanups.push(() => admin.close());
  return { proxy, broker, dataDir, admin };
}

async function wireClient(port: number): Promise<WireClient> {
  const client = await WireClient.connect(port);
  cleanups.push(() => client.close());
  return client;
}

async function initProducerId(client: WireClient, version = 4) {
  const body = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 };
  return client.request<{ errorCode: number; producerId: bigint; producerEpoch: number }>(ApiKey.InitProducerId, version, body);
}

function idempotentBatch(producerId: bigint, epoch: number, sequence: number, values: string[]): Buffer {
  return buildRecordBatch(
    values.map((value) => ({ key: null, value })),
    { producerId: Number(producerId), producerEpoch: epoch, baseSequence: sequence },
  );
}

describe('kafkajs idempotent producer through a proxy that drops Produce responses', () => {
  it('retries land once: every value exactly once, in order', async () => {
    const dropAt = new Set([3, 7, 12, 13]);
    const { proxy, admin } = await brokerBehindProxy((i) => dropAt.has(i));
    await createTopic(admin, 'idem', 1);
    const kafka = new Kafka({
      clientId: 'idem-test',
      brokers: [`127.0.0.1:${proxy.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      const values = Array.from({ length: 1 + (i % 3) }, (_, j) => `m${i}.${j}`);
      expected.push(...values);
      await producer.send({ topic: 'idem', messages: values.map((value) => ({ value })) });
    }
    // The proxy really lost answers to batches the broker had appended, and kafkajs resent them.
    expect(proxy.droppedResponses).toBe(dropAt.size);
    expect(proxy.produceRequests).toBeGreaterThanOrEqual(20 + dropAt.size);
    const records = await fetchAll(admin, 'idem', 0);
    expect(records.map((r) => r.value?.toString())).toEqual(expected);
    expect(records.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
  }, 120_000);

  it('without idempotence the same drops duplicate records (the proxy does force retries)', async () => {
    const { proxy, admin } = await brokerBehindProxy((i) => i === 2);
    await createTopic(admin, 'plain', 1);
    const kafka = new Kafka({ clientId: 'plain-test', brokers: [`127.0.0.1:${proxy.port}`], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 50 } });
    const producer = kafka.producer({ idempotent: false, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'plain', messages: [{ value: `p${i}` }] });
    const values = (await fetchAll(admin, 'plain', 0)).map((r) => r.value?.toString());
    expect(values).toEqual(['p0', 'p1', 'p1', 'p2', 'p3']);
  }, 120_000);
});

describe('producer state across broker restarts', () => {
  it('a SIGKILLed broker still deduplicates after restart, and a graceful stop leaves a snapshot', async () => {
    const dataDir = newDataDir();
    let bp = await BrokerProcess.start(dataDir);
    cleanups.push(() => bp.kill());
    let client = await wireClient(bp.port);
    await createTopic(client, 'state', 1);
    const first = await initProducerId(client);
    expect(first.errorCode).toBe(ErrorCode.NONE);
    expect(first.producerEpoch).toBe(0);
    const pid = first.producerId;
    const b0 = idempotentBatch(pid, 0, 0, ['a', 'b', 'c']);
    const b1 = idempotentBatch(pid, 0, 3, ['d', 'e']);
    expect((await produce(client, 'state', 0, Buffer.from(b0)))!.baseOffset).toBe(0n);
    expect((await produce(client, 'state', 0, Buffer.from(b1)))!.baseOffset).toBe(3n);

    await bp.kill('SIGKILL');
    bp = await BrokerProcess.start(dataDir);
    client = await wireClient(bp.port);
    // No snapshot was written at the kill: the state comes back from the log.
    const retry = await produce(client, 'state', 0, Buffer.from(b1));
    expect(retry!.errorCode).toBe(ErrorCode.NONE);
    expect(retry!.baseOffset).toBe(3n);
    expect((await fetchPartition(client, 'state', 0, 0)).highWatermark).toBe(5);
    const gap = await produce(client, 'state', 0, idempotentBatch(pid, 0, 7, ['x']));
    expect(gap!.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce(client, 'state', 0, idempotentBatch(pid, 0, 5, ['f'])))!.baseOffset).toBe(5n);
    // A new epoch starts at sequence 0; the old epoch is fenced.
    const bumped = idempotentBatch(pid, 1, 0, ['g']);
    expect((await produce(client, 'state', 0, Buffer.from(bumped)))!.baseOffset).toBe(6n);
    const stale = await produce(client, 'state', 0, idempotentBatch(pid, 0, 6, ['h']));
    expect(stale!.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    // Producer ids are never handed out twice, also across the kill.
    const second = await initProducerId(client);
    expect(second.producerId).toBeGreaterThan(pid);

    await bp.kill('SIGTERM');
    const partitionDir = path.join(dataDir, 'state-0');
    expect(fs.readdirSync(partitionDir)).toContain('00000000000000000007.snapshot');
    bp = await BrokerProcess.start(dataDir);
    client = await wireClient(bp.port);
    const again = await produce(client, 'state', 0, Buffer.from(bumped));
    expect(again!.errorCode).toBe(ErrorCode.NONE);
    expect(again!.baseOffset).toBe(6n);
    const values = (await fetchAll(client, 'state', 0)).map((r) => r.value?.toString());
    expect(values).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect((await initProducerId(client)).producerId).toBeGreaterThan(second.producerId);
  }, 180_000);
});

describe('InitProducerId', () => {
  it('answers every version; transactional ids get COORDINATOR_NOT_AVAILABLE; malformed id/epoch pairs INVALID_REQUEST', async () => {
    const dataDir = newDataDir();
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
    cleanups.push(() => broker.close());
    const client = await wireClient(broker.port);
    const ids: bigint[] = [];
    for (let version = 0; version <= 5; version++) {
      const r = await initProducerId(client, version);
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.producerEpoch).toBe(0);
      ids.push(r.producerId);
    }
    expect(new Set(ids).size).toBe(ids.length);
    const request = (body: object) => client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, ...body });
    expect((await request({ transactionalId: 'tx-1' })).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await request({ transactionalId: '' })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await request({ transactionalId: 'tx-1', transactionTimeoutMs: 0 })).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await request({ producerId: 5n })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    // An idempotent producer re-initialising with its id and epoch gets a fresh id, as from Kafka.
    const reinit = await request({ producerId: ids[0], producerEpoch: 0 });
    expect(reinit.errorCode).toBe(ErrorCode.NONE);
    expect(ids).not.toContain(reinit.producerId);
  }, 60_000);

  it('refuses transactional batches with INVALID_TXN_STATE and control batches with INVALID_RECORD', async () => {
    const dataDir = newDataDir();
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
    cleanups.push(() => broker.close());
    const client = await wireClient(broker.port);
    await createTopic(client, 'txn', 1);
    const { producerId } = await initProducerId(client);
    const txn = buildRecordBatch([{ value: 'x' }], { producerId: Number(producerId), producerEpoch: 0, baseSequence: 0, transactional: true });
    expect((await produce(client, 'txn', 0, txn))!.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    const control = buildRecordBatch([{ value: 'x' }], { producerId: Number(producerId), producerEpoch: 0, baseSequence: 0, control: true });
    expect((await produce(client, 'txn', 0, control))!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await fetchPartition(client, 'txn', 0, 0)).highWatermark).toBe(0);
  }, 60_000);
});

function runKcat(args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kcat!, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

// kcat gives up when its only broker connection drops ("all broker
// connections are down: terminating"), so librdkafka's retry path is not
// driven through the dropping proxy here; kafkajs covers retries above.
describe.skipIf(!kcat)('kcat (librdkafka) with enable.idempotence=true', () => {
  it('gets a producer id and stamps idempotent batches with consecutive sequences', async () => {
    const dataDir = newDataDir();
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
    cleanups.push(() => broker.close());
    const admin = await wireClient(broker.port);
    await createTopic(admin, 'rd', 1);
    const lines = Array.from({ length: 3000 }, (_, i) => `line-${i}`);
    const { code, stderr } = await runKcat(
      ['-P', '-b', `127.0.0.1:${broker.port}`, '-t', 'rd', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'batch.num.messages=500', '-X', 'linger.ms=20'],
      lines.join('\n') + '\n',
    );
    expect(code, stderr).toBe(0);
    const records = await fetchAll(admin, 'rd', 0);
    expect(records.map((r) => r.value?.toString())).toEqual(lines);
    // librdkafka asked for a producer id and stamped it into every batch, sequences following on.
    const fetched = await fetchPartition(admin, 'rd', 0, 0);
    const headers = [...iterateBatchHeaders(fetched.records!)].map((b) => b.header);
    expect(headers.length).toBeGreaterThan(1);
    let nextSequence = 0;
    for (const h of headers) {
      expect(h.producerId).toBeGreaterThanOrEqual(0);
      expect(h.producerId).toBe(headers[0].producerId);
      expect(h.baseSequence).toBe(nextSequence);
      nextSequence += h.recordsCount;
    }
    const log = broker.logs.getLog('rd', 0)!;
    expect(log.producerEntry(BigInt(headers[0].producerId))?.batches.at(-1)?.lastSeq).toBe(lines.length - 1);
  }, 120_000);
});
