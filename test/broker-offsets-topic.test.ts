// `__consumer_offsets` as clients and tools see it on a real broker: created
// on the first coordinator write with Kafka's configs, marked internal,
// readable by Fetch, closed to Produce and DeleteTopics, and its segments
// readable by `samsa dump-log`.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { dumpFiles } from '../src/cli/dump-log.js';
import type { CoordinatorRecord } from '../src/coordinator/coordinator-store.js';
import { decodeCoordinatorRecord, OFFSETS_TOPIC } from '../src/coordinator/offsets-topic-records.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { ManualClock } from '../src/storage/clock.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient, fetchAll, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const TEST_TIMEOUT_MS = 60_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(properties: Record<string, string> = {}) {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties });
  cleanups.push(() => broker.close());
  const client = await WireClient.connect(broker.port);
  cleanups.push(() => client.close());
  return { broker, client, dataDir };
}

const commit = (groupId: string, partition: number, offset: bigint): CoordinatorRecord => ({
  type: 'offset',
  groupId,
  topic: 'orders',
  partition,
  value: { offset, leaderEpoch: 0, metadata: '', commitTimestampMs: 1_700_000_000_000, expireTimestampMs: null },
});

async function allTopics(client: WireClient) {
  const response = await client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return response.topics as Array<{ name: string; isInternal: boolean; partitions: unknown[] }>;
}

describe('__consumer_offsets on a broker', () => {
  it('does not exist until the coordinator writes, then is internal with Kafka\'s configs', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { broker, client, dataDir } = await start({ 'offsets.topic.num.partitions': '10', 'offsets.topic.segment.bytes': '1048576' });
    expect((await allTopics(client)).map((t) => t.name)).not.toContain(OFFSETS_TOPIC);
    expect(fs.readdirSync(dataDir).some((n) => n.startsWith(OFFSETS_TOPIC))).toBe(false);

    const store = broker.coordinatorStore;
    await store.append(store.partitionFor('g1'), [commit('g1', 0, 5n)]);

    const topic = (await allTopics(client)).find((t) => t.name === OFFSETS_TOPIC);
    expect(topic?.isInternal).toBe(true);
    expect(topic?.partitions).toHaveLength(10);
    const described = await client.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: OFFSETS_TOPIC, configurationKeys: ['cleanup.policy', 'compression.type', 'segment.bytes'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const configs = Object.fromEntries(described.results[0].configs.map((c: { name: string; value: string }) => [c.name, c.value]));
    expect(configs).toEqual({ 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': '1048576' });
  });

  it('is created by the first FindCoordinator for a group, as in Kafka', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client } = await start({ 'offsets.topic.num.partitions': '3' });
    const txn = await client.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: ['t'] });
    expect(txn.coordinators[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await allTopics(client)).map((t) => t.name)).not.toContain(OFFSETS_TOPIC);
    const found = await client.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['g1'] });
    expect(found.coordinators[0]).toMatchObject({ key: 'g1', errorCode: 0, nodeId: 1 });
    expect((await allTopics(client)).find((t) => t.name === OFFSETS_TOPIC)?.partitions).toHaveLength(3);
  });

  it('can be fetched (Kafka tooling reads it) but not produced to or deleted', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { broker, client } = await start({ 'offsets.topic.num.partitions': '3' });
    const store = broker.coordinatorStore;
    const partition = store.partitionFor('g1');
    await store.append(partition, [commit('g1', 0, 5n), commit('g1', 1, 6n)]);

    const fetched = await fetchAll(client, OFFSETS_TOPIC, partition);
    expect(fetched.map((r) => decodeCoordinatorRecord(r.key, r.value))).toEqual([
      { ok: true, record: commit('g1', 0, 5n) },
      { ok: true, record: commit('g1', 1, 6n) },
    ]);

    const produced = await produce(client, OFFSETS_TOPIC, partition, buildRecordBatch([{ key: 'k', value: 'v' }]));
    expect(produced?.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(broker.logs.getLog(OFFSETS_TOPIC, partition)?.logEndOffset).toBe(2);

    const deleted = await client.request(ApiKey.DeleteTopics, 6, { topics: [{ name: OFFSETS_TOPIC, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 10_000 });
    expect(deleted.responses[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(deleted.responses[0].errorMessage).toMatch(/internal topic/);
    expect((await allTopics(client)).map((t) => t.name)).toContain(OFFSETS_TOPIC);

    const trimmed = await client.request(ApiKey.DeleteRecords, 2, { topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: partition, offset: -1n }] }], timeoutMs: 10_000 });
    expect(trimmed.topics[0].partitions[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(broker.logs.getLog(OFFSETS_TOPIC, partition)?.logStartOffset).toBe(0);
  });

  it('is auto-created by Metadata with its own partition count and configs, as Kafka\'s auto-creation does', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { broker, client } = await start({ 'offsets.topic.num.partitions': '7', 'num.partitions': '2' });
    const response = await client.request(ApiKey.Metadata, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: OFFSETS_TOPIC }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    expect(response.topics[0]).toMatchObject({ errorCode: 0, name: OFFSETS_TOPIC, isInternal: true });
    expect(response.topics[0].partitions).toHaveLength(7);
    expect(broker.metadata.topic(OFFSETS_TOPIC)?.configs['cleanup.policy']).toBe('compact');
    expect(broker.coordinatorStore.partitionCount).toBe(7);
  });

  it('loads the latest value of every key after the log cleaner compacted the partition', { timeout: TEST_TIMEOUT_MS }, async () => {
    const properties = { 'offsets.topic.num.partitions': '1', 'offsets.topic.segment.bytes': '2048', 'log.cleaner.backoff.ms': '3600000' };
    const { broker, dataDir } = await start(properties);
    const store = broker.coordinatorStore;
    for (let round = 0; round < 100; round++) {
      await store.append(0, [commit('g1', round % 4, BigInt(round)), commit('g2', 0, BigInt(1000 + round))]);
    }
    await store.append(0, [{ type: 'offset', groupId: 'g1', topic: 'orders', partition: 3, value: null }]);
    const cleaned = await broker.logs.cleaner!.cleanOnce();
    expect(cleaned?.log.topic).toBe(OFFSETS_TOPIC);
    expect(cleaned!.recordsKept).toBeLessThan(cleaned!.recordsRead);
    await broker.close();

    const again = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties });
    cleanups.push(() => again.close());
    const latest = new Map<string, bigint | null>();
    await again.coordinatorStore.load(0, (r) => {
      if (r.type === 'offset') latest.set(`${r.groupId}/${r.partition}`, r.value?.offset ?? null);
    });
    expect(Object.fromEntries(latest)).toEqual({ 'g1/0': 96n, 'g1/1': 97n, 'g1/2': 98n, 'g1/3': null, 'g2/0': 1099n });
  });

  it('takes commits when the broker was given a clock far from the logs\' (batch timestamps follow the logs)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    // Two days ahead: past message.timestamp.after.max.ms (1 h) if batches carried this clock's time.
    const clock = new ManualClock(Date.now() + 2 * 86_400_000);
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, clock, properties: { 'offsets.topic.num.partitions': '2' } });
    cleanups.push(() => broker.close());
    await broker.groupCoordinator.load();
    const results = await broker.groupCoordinator.commitOffsets({
      groupId: 'g',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    expect(results[0].partitions[0].errorCode).toBe(0);
    expect(broker.groupCoordinator.committedOffset('g', 't', 0)).toMatchObject({ offset: 5n, commitTimestampMs: clock.nowMs() });
  });

  it('keeps its segments readable by samsa dump-log', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { broker, dataDir } = await start({ 'offsets.topic.num.partitions': '1' });
    await broker.coordinatorStore.append(0, [commit('g1', 0, 5n)]);
    await broker.coordinatorStore.append(0, [{ type: 'offset', groupId: 'g1', topic: 'orders', partition: 0, value: null }]);
    await broker.close();
    const lines: string[] = [];
    const segment = path.join(dataDir, `${OFFSETS_TOPIC}-0`, '00000000000000000000.log');
    expect(dumpFiles({ files: [segment], printDataLog: true, out: (l) => lines.push(l) })).toBe(0);
    expect(lines.filter((l) => l.startsWith('baseOffset:'))).toHaveLength(2);

    // --offsets-decoder: Kafka's OffsetsMessageParser output.
    const decoded: string[] = [];
    expect(dumpFiles({ files: [segment], printDataLog: false, offsetsDecoder: true, out: (l) => decoded.push(l) })).toBe(0);
    const records = decoded.filter((l) => l.startsWith('| offset:'));
    expect(records).toHaveLength(2);
    expect(records[0]).toContain(
      'key: {"type":"1","data":{"group":"g1","topic":"orders","partition":0}} ' +
        'payload: {"version":"3","data":{"offset":5,"leaderEpoch":0,"metadata":"","commitTimestamp":1700000000000}}',
    );
    expect(records[1]).toMatch(/key: \{"type":"1","data":\{"group":"g1","topic":"orders","partition":0\}\} payload: <DELETE>$/);
  });
});
