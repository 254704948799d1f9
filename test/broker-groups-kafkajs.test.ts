// kafkajs consumer groups against an embedded broker: partitions split between
// members, rebalance on leave and on session expiry (a SIGKILLed member), and
// committed offsets that a restarted consumer resumes from.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Short group timings so rebalances take well under a second. kafkajs heartbeats
// between fetches, so members also poll with a short fetch wait (maxWaitTimeInMs).
const GROUP_PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '500',
  // Creating __consumer_offsets with Kafka's 50 partitions costs seconds on a loaded machine; a few suffice here.
  'offsets.topic.num.partitions': '4',
};

async function startBroker(dataDir = tempDir()): Promise<{ broker: Broker; kafka: Kafka }> {
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: GROUP_PROPERTIES });
  cleanups.push(() => broker.close());
  const kafka = new Kafka({ clientId: 'groups-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
  return { broker, kafka };
}

async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.disconnect();
}

async function produce(kafka: Kafka, topic: string, values: string[], partitions: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
  await producer.disconnect();
}

/** A consumer that records its latest assignment of `topic` and every value it reads. */
function member(kafka: Kafka, groupId: string, topic: string, sessionTimeout = 6000) {
  const consumer = kafka.consumer({ groupId, sessionTimeout, rebalanceTimeout: 10_000, heartbeatInterval: 100, maxWaitTimeInMs: 100, retry: { retries: 5, initialRetryTime: 50 } });
  const state = { consumer, assignment: [] as number[], values: [] as string[], joins: 0 };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    state.assignment = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
    state.joins++;
  });
  cleanups.push(() => consumer.disconnect());
  return state;
}

async function run(state: { consumer: Consumer; values: string[] }, topic: string): Promise<void> {
  await state.consumer.connect();
  await state.consumer.subscribe({ topic, fromBeginning: true });
  await state.consumer.run({
    eachMessage: async ({ message }) => {
      state.values.push(message.value!.toString());
    },
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ALL = [0, 1, 2, 3, 4, 5];
const union = (...lists: number[][]) => lists.flat().sort((a, b) => a - b);

describe('consumer groups with kafkajs', () => {
  it('splits a 6-partition topic between two members and gives all to the one left when the other leaves', async () => {
    const { kafka } = await startBroker();
    await createTopic(kafka, 'split', 6);
    await produce(kafka, 'split', Array.from({ length: 60 }, (_, i) => `v${i}`), 6);
    const a = member(kafka, 'g-split', 'split');
    const b = member(kafka, 'g-split', 'split');
    await run(a, 'split');
    await run(b, 'split');
    await until('a 3/3 split', () => a.assignment.length === 3 && b.assignment.length === 3 && union(a.assignment, b.assignment).join() === ALL.join());
    await until('all 60 records', () => new Set([...a.values, ...b.values]).size === 60);

    await b.consumer.disconnect();
    await until('a owning all partitions', () => a.assignment.join() === ALL.join());

    const admin = kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    const described = await admin.describeGroups(['g-split']);
    expect(described.groups[0]).toMatchObject({ groupId: 'g-split', state: 'Stable', protocolType: 'consumer', errorCode: 0 });
    expect(described.groups[0].members).toHaveLength(1);
    expect(described.groups[0].members[0].clientHost).toBe('/127.0.0.1');
  });

  it('resumes from committed offsets after the consumer restarts', async () => {
    const { kafka } = await startBroker();
    await createTopic(kafka, 'resume', 2);
    await produce(kafka, 'resume', Array.from({ length: 10 }, (_, i) => `first-${i}`), 2);
    const first = member(kafka, 'g-resume', 'resume');
    await run(first, 'resume');
    await until('the first 10 records', () => first.values.length === 10);
    await first.consumer.disconnect();

    const admin = kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: 'g-resume', topics: ['resume'] });
    expect(committed[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ]);

    await produce(kafka, 'resume', Array.from({ length: 4 }, (_, i) => `second-${i}`), 2);
    const second = member(kafka, 'g-resume', 'resume');
    await run(second, 'resume');
    await until('the 4 new records', () => second.values.length >= 4);
    // Give a wrongly rewound consumer time to re-read old records before checking.
    await new Promise((r) => setTimeout(r, 300));
    expect(second.values.sort()).toEqual(['second-0', 'second-1', 'second-2', 'second-3']);
    const groups = await admin.listGroups();
    expect(groups.groups).toEqual([{ groupId: 'g-resume', protocolType: 'consumer' }]);
  });

  it('removes a SIGKILLed member after its session timeout and reassigns its partitions', async () => {
    const { broker, kafka } = await startBroker();
    await createTopic(kafka, 'killed', 6);
    const survivor = member(kafka, 'g-killed', 'killed', 2000);
    await run(survivor, 'killed');
    await until('the survivor owning all partitions', () => survivor.assignment.length === 6);

    const script = fileURLToPath(new URL('./support/kafkajs-group-member.ts', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, broker.bootstrap, 'g-killed', 'killed', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let childAssignment: number[] = [];
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const m = /^assigned (.*)$/.exec(line);
        if (m) childAssignment = m[1] === '' ? [] : m[1].split(',').map(Number);
      }
    });
    await until('a 3/3 split with the child', () => childAssignment.length === 3 && survivor.assignment.length === 3, 30_000);
    expect(union(childAssignment, survivor.assignment)).toEqual(ALL);

    const joinsBefore = survivor.joins;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await until('the survivor owning all partitions again', () => survivor.joins > joinsBefore && survivor.assignment.length === 6, 20_000);
    expect(survivor.assignment).toEqual(ALL);
  });

  it('keeps committed offsets and the group across a broker restart (__consumer_offsets)', async () => {
    const dataDir = tempDir();
    const first = await startBroker(dataDir);
    await createTopic(first.kafka, 'durable', 2);
    await produce(first.kafka, 'durable', Array.from({ length: 6 }, (_, i) => `before-${i}`), 2);
    const before = member(first.kafka, 'g-durable', 'durable');
    await run(before, 'durable');
    await until('the first 6 records', () => before.values.length === 6);
    await before.consumer.disconnect();
    await first.broker.close();

    const second = await startBroker(dataDir);
    const admin = second.kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: 'g-durable', topics: ['durable'] });
    expect(committed[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '3'],
      [1, '3'],
    ]);
    expect((await admin.listGroups()).groups).toEqual([{ groupId: 'g-durable', protocolType: 'consumer' }]);
    await produce(second.kafka, 'durable', ['after-0', 'after-1'], 2);
    const after = member(second.kafka, 'g-durable', 'durable');
    await run(after, 'durable');
    await until('the 2 new records', () => after.values.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(after.values.sort()).toEqual(['after-0', 'after-1']);
  });
});
