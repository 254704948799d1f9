// Groups and committed offsets kept in __consumer_offsets, seen through real
// clients: a kafkajs consumer group resumes from its commits after a clean
// restart and after its broker process is SIGKILLed; a group's generation,
// protocol and members come back after a restart; DeleteGroups, offset
// retention and topic deletion leave tombstones that a restart honours.
import fs from 'node:fs';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ClassicGroup } from '../src/coordinator/classic-group.js';
import type { CoordinatorRecord } from '../src/coordinator/coordinator-store.js';
import { ManualClock } from '../src/storage/clock.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { tempDir } from './support/storage.js';

const TEST_TIMEOUT_MS = 120_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '500',
  'offsets.topic.num.partitions': '5',
};

function newDataDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startBroker(dataDir: string, options: { properties?: Record<string, string>; clock?: ManualClock } = {}): Promise<Broker> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { ...PROPERTIES, ...options.properties }, clock: options.clock });
  cleanups.push(() => broker.close());
  return broker;
}

function client(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'persistence-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
}

async function admin(kafka: Kafka) {
  const a = kafka.admin();
  cleanups.push(() => a.disconnect());
  await a.connect();
  return a;
}

async function produce(kafka: Kafka, topic: string, values: string[], partitions: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
  await producer.disconnect();
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A kafkajs group member reading `topic` from the beginning (or its group's commits), collecting values. */
async function consume(kafka: Kafka, groupId: string, topic: string, sessionTimeout = 6000) {
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout, rebalanceTimeout: 10_000, heartbeatInterval: 100, maxWaitTimeInMs: 100, retry: { retries: 8, initialRetryTime: 50 } });
  const values: string[] = [];
  cleanups.push(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
  return { consumer, values };
}

/** Committed offsets of a group for a topic, partition -> offset ('-1' when none). */
async function committed(kafka: Kafka, groupId: string, topic: string): Promise<Record<number, string>> {
  const a = await admin(kafka);
  const [result] = await a.fetchOffsets({ groupId, topics: [topic] });
  await a.disconnect();
  return Object.fromEntries(result.partitions.map((p) => [p.partition, p.offset]));
}

/** Every record of the group's __consumer_offsets partition, in offset order. */
async function storedRecords(broker: Broker, groupId: string): Promise<CoordinatorRecord[]> {
  const out: CoordinatorRecord[] = [];
  const store = broker.coordinatorStore;
  await store.load(store.partitionFor(groupId), (r) => {
    if (r.type !== 'raw' && r.groupId === groupId) out.push(r);
  });
  return out;
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Consumes the first 30 records in group g and commits them; returns after the consumer left. */
async function consumeFirstBatch(kafka: Kafka): Promise<void> {
  const a = await admin(kafka);
  await a.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] });
  await produce(kafka, 'orders', values('first', 30), 3);
  const first = await consume(kafka, 'g', 'orders');
  await until('the first 30 records', () => first.values.length === 30);
  // kafkajs commits what it consumed when it leaves.
  await first.consumer.disconnect();
  expect(await committed(kafka, 'g', 'orders')).toEqual({ 0: '10', 1: '10', 2: '10' });
}

/** A new member of g reads exactly the records produced after the commits. */
async function expectResume(kafka: Kafka): Promise<void> {
  await until('the commits loaded', async () => JSON.stringify(await committed(kafka, 'g', 'orders').catch(() => ({}))) === JSON.stringify({ 0: '10', 1: '10', 2: '10' }));
  await produce(kafka, 'orders', values('second', 6), 3);
  const second = await consume(kafka, 'g', 'orders');
  await until('the 6 new records', () => second.values.length >= 6);
  // Time for a consumer that wrongly started over to re-read old records.
  await new Promise((r) => setTimeout(r, 300));
  expect(second.values.sort()).toEqual(values('second', 6));
}

describe('consumer groups kept in __consumer_offsets', () => {
  it('a kafkajs group resumes from its committed offsets after a clean broker restart', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const first = await startBroker(dataDir);
    await consumeFirstBatch(client(first.bootstrap));
    await first.close();
    const second = await startBroker(dataDir);
    await expectResume(client(second.bootstrap));
  });

  it('a kafkajs group resumes from its committed offsets after the broker process is SIGKILLed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const properties = PROPERTIES;
    const first = await BrokerProcess.start(dataDir, { properties });
    cleanups.push(() => first.kill());
    await consumeFirstBatch(client(`127.0.0.1:${first.port}`));
    await first.kill('SIGKILL');
    const second = await BrokerProcess.start(dataDir, { properties });
    cleanups.push(() => second.kill());
    await expectResume(client(`127.0.0.1:${second.port}`));
  });

  it('brings back a group\'s generation, protocol and members after a restart', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const first = await startBroker(dataDir);
    const kafka = client(first.bootstrap);
    const a = await admin(kafka);
    await a.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] });
    const one = await consume(kafka, 'g', 'orders', 30_000);
    const two = await consume(kafka, 'g', 'orders', 30_000);
    const group = () => first.groupCoordinator.group('g') as ClassicGroup;
    await until('a stable group of two', () => group()?.stateName() === 'Stable' && group().size() === 2);
    const before = { generation: group().generationId, protocol: group().protocolName, leader: group().leaderId, members: group().allMembers().map((m) => m.memberId).sort() };
    expect(before.generation).toBeGreaterThanOrEqual(1);
    // The members stay connected to the old port: the restarted broker (on a new port) sees the group as it was stored.
    await first.close();
    const second = await startBroker(dataDir);
    await until('the group loaded', () => second.groupCoordinator.describeGroup('g').errorCode === 0);
    const loaded = second.groupCoordinator.group('g') as ClassicGroup;
    expect({ generation: loaded.generationId, protocol: loaded.protocolName, leader: loaded.leaderId, members: loaded.allMembers().map((m) => m.memberId).sort() }).toEqual(before);
    const described = second.groupCoordinator.describeGroup('g').group;
    expect(described).toMatchObject({ groupState: 'Stable', protocolType: 'consumer', protocolData: before.protocol });
    expect(described.members.map((m) => m.clientId)).toEqual(['persistence-test', 'persistence-test']);
    expect(described.members.every((m) => m.memberAssignment.length > 0)).toBe(true);
    await one.consumer.disconnect();
    await two.consumer.disconnect();
  });

  it('DeleteGroups writes tombstones for the group and its offsets, and a restart does not bring them back', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const first = await startBroker(dataDir);
    const kafka = client(first.bootstrap);
    await consumeFirstBatch(kafka);
    const a = await admin(kafka);
    await a.deleteGroups(['g']);
    const records = await storedRecords(first, 'g');
    const tail = records.slice(-4);
    expect(tail.filter((r) => r.type === 'offset' && r.value === null).map((r) => (r as { partition: number }).partition).sort()).toEqual([0, 1, 2]);
    expect(tail.some((r) => r.type === 'group' && r.value === null)).toBe(true);
    await first.close();

    const second = await startBroker(dataDir);
    await until('the groups loaded', () => second.groupCoordinator.listGroups([], []).errorCode === 0);
    expect(second.groupCoordinator.group('g')).toBeUndefined();
    expect(await committed(client(second.bootstrap), 'g', 'orders')).toEqual({ 0: '-1', 1: '-1', 2: '-1' });
  });

  it('expires offsets of an empty group and of a simple consumer after offsets.retention.minutes, then deletes the groups', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const clock = new ManualClock(Date.now());
    const properties = { 'offsets.retention.minutes': '1', 'offsets.retention.check.interval.ms': '50' };
    const broker = await startBroker(dataDir, { properties, clock });
    const kafka = client(broker.bootstrap);
    await consumeFirstBatch(kafka);
    // A "simple" consumer: offsets committed with no group membership (admin setOffsets: generation -1).
    const a = await admin(kafka);
    await a.setOffsets({ groupId: 'simple', topic: 'orders', partitions: [{ partition: 0, offset: '7' }] });
    expect(await committed(kafka, 'simple', 'orders')).toMatchObject({ 0: '7' });

    clock.advance(59_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(broker.groupCoordinator.committedOffset('g', 'orders', 0)?.offset).toBe(10n);
    expect(broker.groupCoordinator.committedOffset('simple', 'orders', 0)?.offset).toBe(7n);

    clock.advance(2_000);
    await until('both groups gone', () => broker.groupCoordinator.group('g') === undefined && broker.groupCoordinator.group('simple') === undefined);
    expect(broker.groupCoordinator.committedOffset('g', 'orders', 0)).toBeUndefined();
    expect(await committed(kafka, 'g', 'orders')).toEqual({ 0: '-1', 1: '-1', 2: '-1' });
    const tombstones = (await storedRecords(broker, 'g')).slice(-4);
    expect(tombstones.every((r) => r.value === null)).toBe(true);
    await broker.close();

    const again = await startBroker(dataDir, { properties, clock });
    await until('the groups loaded', () => again.groupCoordinator.listGroups([], []).errorCode === 0);
    expect(again.groupCoordinator.group('g')).toBeUndefined();
    expect(again.groupCoordinator.group('simple')).toBeUndefined();
  });

  it('deletes an empty group without offsets at the next retention check, as Kafka does', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const broker = await startBroker(dataDir, { properties: { 'offsets.retention.check.interval.ms': '200' } });
    const kafka = client(broker.bootstrap);
    const a = await admin(kafka);
    await a.createTopics({ topics: [{ topic: 'quiet', numPartitions: 1 }] });
    const idle = await consume(kafka, 'idle', 'quiet');
    await until('a stable group', () => broker.groupCoordinator.group('idle')?.stateName() === 'Stable');
    // Still there while it has a member, whatever the checks.
    await new Promise((r) => setTimeout(r, 500));
    expect(broker.groupCoordinator.group('idle')).toBeDefined();
    await idle.consumer.disconnect();
    await until('the empty group deleted', () => broker.groupCoordinator.group('idle') === undefined);
    expect((await storedRecords(broker, 'idle')).at(-1)).toEqual({ type: 'group', groupId: 'idle', value: null });
  });

  it('removes the committed offsets of a deleted topic, also across a restart', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = newDataDir();
    const first = await startBroker(dataDir);
    const kafka = client(first.bootstrap);
    await consumeFirstBatch(kafka);
    const a = await admin(kafka);
    await a.setOffsets({ groupId: 'g', topic: 'orders', partitions: [{ partition: 0, offset: '3' }] });
    await a.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }] });
    await a.setOffsets({ groupId: 'g', topic: 'kept', partitions: [{ partition: 0, offset: '0' }] });
    await a.deleteTopics({ topics: ['orders'] });
    await until('the offsets of orders gone', () => first.groupCoordinator.committedOffset('g', 'orders', 0) === undefined);
    expect(first.groupCoordinator.committedOffset('g', 'kept', 0)?.offset).toBe(0n);
    await first.close();

    const second = await startBroker(dataDir);
    await until('the groups loaded', () => second.groupCoordinator.describeGroup('g').errorCode === 0);
    for (const p of [0, 1, 2]) expect(second.groupCoordinator.committedOffset('g', 'orders', p)).toBeUndefined();
    expect(second.groupCoordinator.committedOffset('g', 'kept', 0)?.offset).toBe(0n);
  });
});
