// DeleteTopics, CreatePartitions, DeleteRecords, DescribeCluster and the
// CreateTopics refusals over a real socket at exact versions, with Kafka's
// edge cases and messages; and what a restart (graceful, simulated crash,
// SIGKILL of a broker process) keeps and what it never brings back.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { kafkaUuidToCanonical } from '../src/cluster/local-metadata.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { WireClient, createTopic, fetchAll, fetchPartition, produce, recordsOf } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const ZERO = '00000000-0000-0000-0000-000000000000';
const TEST_TIMEOUT_MS = 120_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDataDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Running {
  broker: Broker;
  client: WireClient;
  stop(): Promise<void>;
}

async function start(dataDir: string, properties: Record<string, string> = {}): Promise<Running> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties });
  const client = await WireClient.connect(broker.port);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.close();
    await broker.close();
  };
  cleanups.push(stop);
  return { broker, client, stop };
}

async function connect(port: number): Promise<WireClient> {
  const client = await WireClient.connect(port);
  cleanups.push(() => client.close());
  return client;
}

function batchOf(count: number, tag: string): Buffer {
  return buildRecordBatch(Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${tag}-${i}` })));
}

async function topicIds(client: WireClient): Promise<Map<string, string>> {
  const response = await client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return new Map(response.topics.map((t: { name: string; topicId: string }) => [t.name, t.topicId]));
}

async function partitionCount(client: WireClient, topic: string): Promise<number> {
  const response = await client.request(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO, name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return response.topics[0].partitions.length;
}

async function earliestOffset(client: WireClient, topic: string, partition = 0): Promise<{ errorCode: number; offset: number }> {
  const response = await client.request(ApiKey.ListOffsets, 8, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n }] }],
  });
  const p = response.topics[0].partitions[0];
  return { errorCode: p.errorCode, offset: Number(p.offset) };
}

async function deleteTopicsByName(client: WireClient, names: string[], version = 5, timeoutMs = 30_000) {
  const response = await client.request(ApiKey.DeleteTopics, version, { topicNames: names, timeoutMs });
  return response.responses as Array<{ name: string | null; topicId?: string; errorCode: number; errorMessage?: string | null }>;
}

async function deleteRecords(client: WireClient, topic: string, partition: number, offset: bigint, version = 2) {
  const response = await client.request(ApiKey.DeleteRecords, version, { topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }], timeoutMs: 30_000 });
  const p = response.topics[0].partitions[0];
  return { errorCode: p.errorCode as number, lowWatermark: Number(p.lowWatermark) };
}

async function createPartitions(client: WireClient, topics: Array<{ name: string; count: number; assignments?: number[][] | null }>, options: { version?: number; validateOnly?: boolean; timeoutMs?: number } = {}) {
  const response = await client.request(ApiKey.CreatePartitions, options.version ?? 3, {
    topics: topics.map((t) => ({ name: t.name, count: t.count, assignments: t.assignments ? t.assignments.map((brokerIds) => ({ brokerIds })) : null })),
    timeoutMs: options.timeoutMs ?? 30_000,
    validateOnly: options.validateOnly ?? false,
  });
  return response.results as Array<{ name: string; errorCode: number; errorMessage: string | null }>;
}

/** Entries of a log dir that belong to `topic` (live, -delete or -stray directories). */
function dirsOf(dataDir: string, topic: string): string[] {
  return fs
    .readdirSync(dataDir)
    .filter((d) => d.startsWith(`${topic}-`))
    .sort();
}

describe('DeleteTopics', () => {
  it(
    'deletes by name at v1-v5 and by id at v6: out of metadata at once, directories renamed to Kafka\'s -delete name, removed by the next start',
    async () => {
      const dataDir = newDataDir();
      // An hour's delay keeps the renamed directories in place until the restart.
      const { client, stop } = await start(dataDir, { 'log.segment.delete.delay.ms': '3600000' });
      for (let v = 1; v <= 6; v++) {
        await createTopic(client, `del${v}`, 2);
        expect((await produce(client, `del${v}`, 0, batchOf(3, 'old')))!.errorCode).toBe(0);
      }
      const ids = await topicIds(client);
      for (let v = 1; v <= 6; v++) {
        const name = `del${v}`;
        const body = v >= 6 ? { topics: [{ name: null, topicId: ids.get(name) }], timeoutMs: 30_000 } : { topicNames: [name], timeoutMs: 30_000 };
        const response = await client.request(ApiKey.DeleteTopics, v, body);
        expect(response.responses).toHaveLength(1);
        expect(response.responses[0]).toMatchObject({ name, errorCode: 0 });
        if (v >= 5) expect(response.responses[0].errorMessage).toBeNull();
        if (v >= 6) expect(response.responses[0].topicId).toBe(ids.get(name));
        const entries = dirsOf(dataDir, name);
        expect(entries).toHaveLength(2);
        entries.forEach((d, i) => expect(d).toMatch(new RegExp(`^${name}-${i}\\.[0-9a-f]{32}-delete$`)));
      }
      expect([...(await topicIds(client)).keys()]).toEqual([]);
      await stop();

      const again = await start(dataDir);
      expect([...(await topicIds(again.client)).keys()]).toEqual([]);
      await vi.waitFor(() => expect(fs.readdirSync(dataDir).filter((d) => d.startsWith('del'))).toEqual([]), { timeout: 30_000, interval: 100 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'removes the renamed directories after file.delete.delay.ms while running',
    async () => {
      const dataDir = newDataDir();
      const { client } = await start(dataDir, { 'log.segment.delete.delay.ms': '0' });
      await createTopic(client, 'soon', 3);
      expect((await deleteTopicsByName(client, ['soon']))[0].errorCode).toBe(0);
      await vi.waitFor(() => expect(dirsOf(dataDir, 'soon')).toEqual([]), { timeout: 30_000, interval: 100 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers Kafka\'s errors: unknown names and ids, duplicates, name plus id, neither, a spent timeout, deletion disabled',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'keep', 1);
      const keepId = (await topicIds(client)).get('keep')!;
      const unknownId = randomUUID();
      const response = await client.request(ApiKey.DeleteTopics, 6, {
        topics: [
          { name: 'nope', topicId: ZERO },
          { name: null, topicId: unknownId },
          { name: 'keep', topicId: keepId },
          { name: null, topicId: ZERO },
          { name: 'dup', topicId: ZERO },
          { name: 'dup', topicId: ZERO },
        ],
        timeoutMs: 30_000,
      });
      const sorted = [...response.responses].sort((a, b) => `${a.name}${a.topicId}`.localeCompare(`${b.name}${b.topicId}`));
      expect(sorted).toEqual(
        [
          { name: 'nope', topicId: ZERO, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' },
          { name: null, topicId: unknownId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' },
          { name: 'keep', topicId: keepId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'You may not specify both topic name and topic id.' },
          { name: null, topicId: ZERO, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Neither topic name nor id were specified.' },
          { name: 'dup', topicId: ZERO, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' },
        ].sort((a, b) => `${a.name}${a.topicId}`.localeCompare(`${b.name}${b.topicId}`)),
      );

      // The same topic by id and by name: one refusal, nothing deleted.
      const both = await client.request(ApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId: keepId }, { name: 'keep', topicId: ZERO }], timeoutMs: 30_000 });
      expect(both.responses).toEqual([
        { name: 'keep', topicId: keepId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'The provided topic name maps to an ID that was already supplied.' },
      ]);

      // A timeout of 0 has expired before the controller starts: REQUEST_TIMED_OUT, nothing deleted.
      expect((await deleteTopicsByName(client, ['keep', 'nope'], 5, 0)).map((r) => [r.name, r.errorCode, r.errorMessage])).toEqual([
        ['keep', ErrorCode.REQUEST_TIMED_OUT, null],
        ['nope', ErrorCode.REQUEST_TIMED_OUT, null],
      ]);
      expect((await topicIds(client)).has('keep')).toBe(true);

      const disabled = await start(newDataDir(), { 'delete.topic.enable': 'false' });
      await createTopic(disabled.client, 'stays', 1);
      expect((await deleteTopicsByName(disabled.client, ['stays'], 2))[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
      expect((await deleteTopicsByName(disabled.client, ['stays'], 3))[0].errorCode).toBe(ErrorCode.TOPIC_DELETION_DISABLED);
      expect((await topicIds(disabled.client)).has('stays')).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'wakes long-polling fetches of a deleted partition: UNKNOWN_TOPIC_OR_PARTITION by name (v11), UNKNOWN_TOPIC_ID by id (v13)',
    async () => {
      const { broker, client } = await start(newDataDir());
      await createTopic(client, 'lp', 1);
      await produce(client, 'lp', 0, batchOf(1, 'x'));
      const id = (await topicIds(client)).get('lp')!;
      const byName = fetchPartition(await connect(broker.port), 'lp', 0, 1, { maxWaitMs: 600_000 });
      const byIdClient = await connect(broker.port);
      const byId = byIdClient.request(ApiKey.Fetch, 13, {
        replicaId: -1,
        maxWaitMs: 600_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topicId: id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      await vi.waitFor(() => expect(broker.fetchWaiters.size).toBe(2), { timeout: 30_000, interval: 20 });
      expect((await deleteTopicsByName(client, ['lp']))[0].errorCode).toBe(0);
      expect((await byName).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect((await byId).responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
      expect(broker.fetchWaiters.size).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps a deleted partition\'s files open for file.delete.delay.ms: a fetch answer queued behind a long poll still sends its records',
    async () => {
      const { broker, client } = await start(newDataDir());
      await createTopic(client, 'slow', 1);
      await createTopic(client, 'gone', 1);
      // Large enough for the zero-copy path: the answer holds a file range, not bytes.
      const values = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(4096));
      await produce(client, 'gone', 0, buildRecordBatch(values.map((value) => ({ key: null, value }))));
      const reader = await connect(broker.port);
      const waiting = fetchPartition(reader, 'slow', 0, 0, { maxWaitMs: 600_000 });
      const queued = fetchPartition(reader, 'gone', 0, 0);
      await vi.waitFor(() => expect(broker.fetchWaiters.size).toBe(1), { timeout: 30_000, interval: 20 });
      expect((await deleteTopicsByName(client, ['gone']))[0].errorCode).toBe(0);
      // New files take whatever descriptors were freed.
      for (let i = 0; i < 4; i++) {
        await createTopic(client, `other${i}`, 2);
        await produce(client, `other${i}`, 0, batchOf(50, `other${i}`));
      }
      await produce(client, 'slow', 0, batchOf(1, 'wake'));
      expect((await waiting).errorCode).toBe(0);
      const answer = await queued;
      expect(answer.errorCode).toBe(0);
      expect(recordsOf(answer.records).map((r) => r.value!.toString())).toEqual(values);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'lets a topic of the same name be created again, with a new id and offsets from 0',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'again', 1);
      await produce(client, 'again', 0, batchOf(5, 'old'));
      const oldId = (await topicIds(client)).get('again');
      expect((await deleteTopicsByName(client, ['again']))[0].errorCode).toBe(0);
      await createTopic(client, 'again', 1);
      const newId = (await topicIds(client)).get('again');
      expect(newId).not.toBe(oldId);
      expect(Number((await produce(client, 'again', 0, batchOf(2, 'new')))!.baseOffset)).toBe(0);
      const records = await fetchAll(client, 'again', 0);
      expect(records.map((r) => [r.offset, r.value!.toString()])).toEqual([
        [0, 'new-0'],
        [1, 'new-1'],
      ]);
      expect(await earliestOffset(client, 'again')).toEqual({ errorCode: 0, offset: 0 });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a restart after topic deletion', () => {
  it(
    'finishes a deletion cut short after the metadata change, and the topic never comes back',
    async () => {
      const dataDir = newDataDir();
      const first = await start(dataDir);
      await createTopic(first.client, 'cut', 2);
      await produce(first.client, 'cut', 1, batchOf(4, 'old'));
      await first.stop();
      // The state a crash between the metadata write and the renames leaves.
      const file = path.join(dataDir, 'samsa-metadata.json');
      const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      doc.deletedTopics = doc.topics.filter((t: { name: string }) => t.name === 'cut');
      doc.topics = doc.topics.filter((t: { name: string }) => t.name !== 'cut');
      fs.writeFileSync(file, JSON.stringify(doc));

      const second = await start(dataDir);
      expect((await topicIds(second.client)).has('cut')).toBe(false);
      await vi.waitFor(() => expect(dirsOf(dataDir, 'cut')).toEqual([]), { timeout: 30_000, interval: 100 });
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).deletedTopics).toBeUndefined();
      await createTopic(second.client, 'cut', 2);
      expect(Number((await produce(second.client, 'cut', 1, batchOf(1, 'new')))!.baseOffset)).toBe(0);
      await second.stop();
      const third = await start(dataDir);
      expect((await fetchAll(third.client, 'cut', 1)).map((r) => r.value!.toString())).toEqual(['new-0']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'sets aside, never serves, the directory of a topic metadata does not know (Kafka\'s -stray)',
    async () => {
      const dataDir = newDataDir();
      const first = await start(dataDir);
      await createTopic(first.client, 'lost', 1);
      await produce(first.client, 'lost', 0, batchOf(3, 'old'));
      await first.stop();
      const file = path.join(dataDir, 'samsa-metadata.json');
      const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      doc.topics = [];
      fs.writeFileSync(file, JSON.stringify(doc));

      const second = await start(dataDir);
      expect((await topicIds(second.client)).has('lost')).toBe(false);
      const entries = dirsOf(dataDir, 'lost');
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatch(/^lost-0\.[0-9a-f]{32}-stray$/);
      expect(fs.readdirSync(path.join(dataDir, entries[0]))).toContain('00000000000000000000.log');
      await createTopic(second.client, 'lost', 1);
      expect(Number((await produce(second.client, 'lost', 0, batchOf(1, 'new')))!.baseOffset)).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'SIGKILLed right after DeleteTopics answered, the broker restarts without the topic and its directories',
    async () => {
      const dataDir = newDataDir();
      let proc = await BrokerProcess.start(dataDir);
      cleanups.push(() => proc.kill());
      let client = await connect(proc.port);
      await createTopic(client, 'killed', 3);
      for (let p = 0; p < 3; p++) await produce(client, 'killed', p, batchOf(10, 'old'));
      await createTopic(client, 'survivor', 1);
      await produce(client, 'survivor', 0, batchOf(2, 's'));
      expect((await deleteTopicsByName(client, ['killed'], 4))[0].errorCode).toBe(0);
      await proc.kill('SIGKILL');

      proc = await BrokerProcess.start(dataDir);
      client = await connect(proc.port);
      expect([...(await topicIds(client)).keys()]).toEqual(['survivor']);
      await vi.waitFor(() => expect(dirsOf(dataDir, 'killed')).toEqual([]), { timeout: 30_000, interval: 100 });
      expect((await fetchAll(client, 'survivor', 0)).map((r) => r.value!.toString())).toEqual(['s-0', 's-1']);
      await createTopic(client, 'killed', 1);
      expect(Number((await produce(client, 'killed', 0, batchOf(1, 'new')))!.baseOffset)).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('CreatePartitions', () => {
  it(
    'grows a topic at v0-v3, and the new partitions take produce and fetch',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'grow', 1);
      for (let v = 0; v <= 3; v++) {
        expect(await createPartitions(client, [{ name: 'grow', count: v + 2 }], { version: v })).toEqual([{ name: 'grow', errorCode: 0, errorMessage: null }]);
      }
      expect(await partitionCount(client, 'grow')).toBe(5);
      expect(Number((await produce(client, 'grow', 4, batchOf(3, 'p4')))!.baseOffset)).toBe(0);
      expect((await fetchAll(client, 'grow', 4)).map((r) => r.value!.toString())).toEqual(['p4-0', 'p4-1', 'p4-2']);
      expect((await produce(client, 'grow', 5, batchOf(1, 'p5')))!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses what Kafka\'s controller refuses, with its messages; validate_only and a spent timeout change nothing',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'cp', 3);
      const one = async (topic: { name: string; count: number; assignments?: number[][] | null }, options = {}) => (await createPartitions(client, [topic], options))[0];
      expect(await one({ name: 'cp', count: 2 })).toEqual({ name: 'cp', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'The topic cp currently has 3 partition(s); 2 would not be an increase.' });
      expect(await one({ name: 'cp', count: 3 })).toEqual({ name: 'cp', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 3 partition(s).' });
      expect(await one({ name: 'cp', count: -1 })).toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS });
      expect(await one({ name: 'nope', count: 4 })).toEqual({ name: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null });
      expect(await one({ name: 'cp', count: 5, assignments: [[1]] })).toEqual({
        name: 'cp',
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.',
      });
      expect(await one({ name: 'cp', count: 4, assignments: [[2]] })).toEqual({
        name: 'cp',
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: 'The manual partition assignment includes broker 2, but no such broker is registered.',
      });
      expect(await one({ name: 'cp', count: 4, assignments: [[1, 1]] })).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
      expect(await one({ name: 'cp', count: 2147483647 })).toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS });
      expect(await one({ name: 'cp', count: 10 }, { validateOnly: true })).toEqual({ name: 'cp', errorCode: 0, errorMessage: null });
      expect(await one({ name: 'cp', count: 10 }, { timeoutMs: 0 })).toEqual({ name: 'cp', errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null });
      expect(await createPartitions(client, [{ name: 'cp', count: 9 }, { name: 'cp', count: 8 }])).toEqual([{ name: 'cp', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' }]);
      expect(await partitionCount(client, 'cp')).toBe(3);
      expect(await one({ name: 'cp', count: 4, assignments: [[1]] })).toEqual({ name: 'cp', errorCode: 0, errorMessage: null });
      expect(await partitionCount(client, 'cp')).toBe(4);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('DeleteRecords', () => {
  it(
    'moves the log start offset at v0-v2: -1 is the high watermark, beyond it OFFSET_OUT_OF_RANGE; fetch and ListOffsets follow; a restart keeps it',
    async () => {
      const dataDir = newDataDir();
      const first = await start(dataDir);
      const client = first.client;
      await createTopic(client, 'dr', 1);
      // One record per batch, so every offset starts a batch.
      for (let i = 0; i < 10; i++) await produce(client, 'dr', 0, batchOf(1, `r${i}`));
      expect(await deleteRecords(client, 'dr', 0, 3n, 0)).toEqual({ errorCode: 0, lowWatermark: 3 });
      expect(await deleteRecords(client, 'dr', 0, 2n, 1)).toEqual({ errorCode: 0, lowWatermark: 3 });
      expect(await deleteRecords(client, 'dr', 0, 11n)).toEqual({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 });
      expect(await deleteRecords(client, 'dr', 0, -2n)).toEqual({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 });
      expect(await deleteRecords(client, 'dr', 3, 1n)).toEqual({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 });
      expect(await deleteRecords(client, 'nope', 0, 1n)).toEqual({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 });

      expect((await fetchPartition(client, 'dr', 0, 2)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      const at3 = await fetchPartition(client, 'dr', 0, 3);
      expect(at3.logStartOffset).toBe(3);
      expect(recordsOf(at3.records)[0].offset).toBe(3);
      expect(await earliestOffset(client, 'dr')).toEqual({ errorCode: 0, offset: 3 });

      expect(await deleteRecords(client, 'dr', 0, 7n)).toEqual({ errorCode: 0, lowWatermark: 7 });
      await first.stop();
      const second = await start(dataDir);
      expect(await earliestOffset(second.client, 'dr')).toEqual({ errorCode: 0, offset: 7 });
      expect((await fetchAll(second.client, 'dr', 0, 7)).map((r) => r.value!.toString())).toEqual(['r7-0', 'r8-0', 'r9-0']);
      expect(await deleteRecords(second.client, 'dr', 0, -1n)).toEqual({ errorCode: 0, lowWatermark: 10 });
      expect(Number((await produce(second.client, 'dr', 0, batchOf(1, 'after')))!.baseOffset)).toBe(10);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a compacted topic with POLICY_VIOLATION',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'compacted', 1, { 'cleanup.policy': 'compact' });
      await createTopic(client, 'both', 1, { 'cleanup.policy': 'compact,delete' });
      await produce(client, 'compacted', 0, batchOf(2, 'c'));
      await produce(client, 'both', 0, batchOf(2, 'b'));
      expect(await deleteRecords(client, 'compacted', 0, 1n)).toEqual({ errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1 });
      expect(await deleteRecords(client, 'both', 0, 1n)).toEqual({ errorCode: 0, lowWatermark: 1 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps an answered deletion across SIGKILL (the checkpoint is written before the answer)',
    async () => {
      const dataDir = newDataDir();
      let proc = await BrokerProcess.start(dataDir);
      cleanups.push(() => proc.kill());
      let client = await connect(proc.port);
      await createTopic(client, 'drk', 1);
      for (let i = 0; i < 10; i++) await produce(client, 'drk', 0, batchOf(1, `r${i}`));
      expect(await deleteRecords(client, 'drk', 0, 6n)).toEqual({ errorCode: 0, lowWatermark: 6 });
      await proc.kill('SIGKILL');
      proc = await BrokerProcess.start(dataDir);
      client = await connect(proc.port);
      expect(await earliestOffset(client, 'drk')).toEqual({ errorCode: 0, offset: 6 });
      expect((await fetchPartition(client, 'drk', 0, 5)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('DescribeCluster', () => {
  it(
    'answers v0 and v1 with the cluster id, this broker as broker and controller, and authorized operations when asked',
    async () => {
      const { broker, client } = await start(newDataDir());
      for (const v of [0, 1]) {
        const asked = await client.request(ApiKey.DescribeCluster, v, { includeClusterAuthorizedOperations: true, endpointType: 1 });
        expect(asked).toMatchObject({
          errorCode: 0,
          errorMessage: null,
          clusterId: broker.metadata.clusterId,
          controllerId: 1,
          brokers: [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: null }],
          // Kafka without an authorizer: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
          clusterAuthorizedOperations: 8096,
        });
        if (v >= 1) expect(asked.endpointType).toBe(1);
        const plain = await client.request(ApiKey.DescribeCluster, v, { includeClusterAuthorizedOperations: false, endpointType: 1 });
        expect(plain.clusterAuthorizedOperations).toBe(-2147483648);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reports the same operations in Metadata v8+ when asked (topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS)',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'ops', 1);
      const v10 = await client.request(ApiKey.Metadata, 10, {
        topics: [{ topicId: ZERO, name: 'ops' }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: true,
        includeTopicAuthorizedOperations: true,
      });
      expect(v10.clusterAuthorizedOperations).toBe(8096);
      expect(v10.topics[0].topicAuthorizedOperations).toBe(3576);
      const v12 = await client.request(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO, name: 'ops' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(v12.topics[0].topicAuthorizedOperations).toBe(-2147483648);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses controller and unknown endpoint types as a Kafka broker listener does',
    async () => {
      const { client } = await start(newDataDir());
      expect(await client.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 })).toMatchObject({
        errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        errorMessage: 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
        clusterId: '',
        brokers: [],
      });
      expect(await client.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 3 })).toMatchObject({
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'Unsupported endpoint type 3',
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('CreateTopics refusals', () => {
  it(
    'names each broken topic-name rule and the replication factor in Kafka\'s words; a spent timeout creates nothing',
    async () => {
      const { client } = await start(newDataDir());
      await createTopic(client, 'a.b', 1);
      const long = 'x'.repeat(250);
      const names = ['', '.', '..', long, 'a b', 'a_b', 'a.b'];
      const response = await client.request(ApiKey.CreateTopics, 7, {
        topics: [
          ...names.map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
          { name: 'rf2', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] },
        ],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      expect(response.topics.map((t: { name: string; errorCode: number; errorMessage: string }) => [t.name, t.errorCode, t.errorMessage])).toEqual([
        ['', ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty"],
        ['.', ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."'],
        ['..', ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."'],
        [long, ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name is illegal, it can't be longer than 249 characters, Topic name: ${long}`],
        ['a b', ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "a b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
        ['a_b', ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic 'a_b' collides with existing topic: a.b"],
        ['a.b', ErrorCode.TOPIC_ALREADY_EXISTS, "Topic 'a.b' already exists."],
        ['rf2', ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor: 2 larger than available brokers: 1.'],
      ]);
      const spent = await client.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'late', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 0,
        validateOnly: false,
      });
      expect(spent.topics[0]).toMatchObject({ name: 'late', errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null });
      expect([...(await topicIds(client)).keys()]).toEqual(['a.b']);
      // Ids in CreateTopics v7 are the ones Metadata reports.
      const created = await client.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'fine', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      expect(created.topics[0].topicId).toBe((await topicIds(client)).get('fine'));
      expect(created.topics[0].topicId).not.toBe(kafkaUuidToCanonical('AAAAAAAAAAAAAAAAAAAAAA'));
    },
    TEST_TIMEOUT_MS,
  );
});
