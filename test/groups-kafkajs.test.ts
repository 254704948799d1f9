// Consumer groups with kafkajs (classic protocol, eager rebalances): members
// that commit each batch synchronously before counting it consumed.
//  - Three members share a 6-partition topic while 100 000 keyed records with
//    headers are produced; a fourth joins and one leaves mid-stream. Every
//    record is consumed exactly once, each partition in order, and the
//    committed offsets end at the log end.
//  - A member in a child process is SIGKILLed mid-stream: it sends no
//    LeaveGroup, so its partitions move to the survivor only once its session
//    times out; nothing is skipped (what it had fetched but not committed may
//    be consumed again, Kafka's at-least-once on a crash).
// kafkajs has no static membership (group.instance.id): see groups-confluent.test.ts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupLedger, groupMessage, startGroupBroker, waitFor, type Cleanups, type ConsumedRecord } from './support/groups.js';
import { startKafkajsMember } from './support/kafkajs-group.js';

const CHILD = path.join(import.meta.dirname, 'support', 'kafkajs-group-child.ts');
const PARTITIONS = 6;

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(topic: string) {
  const broker = await startGroupBroker(cleanups);
  const kafka = new Kafka({ clientId: 'groups-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  /** Produces records [from, to) sequentially, each to partition seq % PARTITIONS. */
  const produce = async (from: number, to: number) => {
    const PER_SEND = 2000;
    for (let start = from; start < to; start += PER_SEND) {
      const messages = [];
      for (let seq = start; seq < Math.min(start + PER_SEND, to); seq++) messages.push({ ...groupMessage(seq), partition: seq % PARTITIONS });
      await producer.send({ topic, acks: -1, messages });
    }
  };
  return { broker, kafka, admin, produce };
}

/** The group's committed offset of each partition, and each partition's log end, per kafkajs admin. */
async function committedAndEnds(admin: ReturnType<Kafka['admin']>, groupId: string, topic: string) {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = (list: Array<{ partition: number; offset?: string; high?: string }>, field: 'offset' | 'high') =>
    [...list].sort((a, b) => a.partition - b.partition).map((p) => Number(p[field]));
  return { committed: byPartition(committed.partitions, 'offset'), ends: byPartition(ends, 'high') };
}

interface MemberView {
  consumer: Consumer;
  assignments: number[][];
}

describe('consumer groups with kafkajs', () => {
  it('shares 100 000 records among members that join and leave mid-stream, each exactly once and in order, commits at the log end', { timeout: 180_000 }, async () => {
    const RECORDS = 100_000;
    const topic = 'orders';
    const groupId = 'orders-group';
    const { admin, kafka, produce } = await setup(topic);
    const ledger = new GroupLedger();
    const members = new Map<string, MemberView>();
    const start = async (name: string) => {
      const view: MemberView = { consumer: null as unknown as Consumer, assignments: [] };
      members.set(name, view);
      view.consumer = await startKafkajsMember(
        kafka,
        { groupId, topic, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 },
        {
          joined: (partitions) => view.assignments.push(partitions),
          committing: () => {},
          consumed: (partition, records) => ledger.add(name, partition, records),
        },
      );
      cleanups.push(() => view.consumer.disconnect());
    };
    const current = (names: string[]) => names.map((n) => members.get(n)!.assignments.at(-1) ?? []);
    const coversAll = (names: string[]) => current(names).flat().sort((a, b) => a - b).join() === '0,1,2,3,4,5';

    for (const name of ['m1', 'm2', 'm3']) await start(name);
    // The last member's join rebalanced the group: 2 partitions each once all have synced.
    await waitFor('three members with 2 partitions each', () => coversAll(['m1', 'm2', 'm3']) && current(['m1', 'm2', 'm3']).every((a) => a.length === 2), 30_000, () => current(['m1', 'm2', 'm3']));

    await produce(0, 33_000);
    await start('m4');
    await produce(33_000, 66_000);
    await waitFor('m4 consuming', () => ledger.countOf('m4') > 0, 30_000);
    // Leaving sends LeaveGroup: the others rebalance at once, without waiting out m1's session.
    await members.get('m1')!.consumer.disconnect();
    await produce(66_000, RECORDS);
    await waitFor(`all ${RECORDS} records consumed`, () => ledger.total >= RECORDS, 90_000, () => ledger.total);

    expect(ledger.problems(PARTITIONS, RECORDS)).toEqual([]);
    expect(ledger.total).toBe(RECORDS);
    for (const name of ['m1', 'm2', 'm3', 'm4']) expect(ledger.countOf(name), name).toBeGreaterThan(0);
    // The three members left hold disjoint shares of the 6 partitions.
    expect(coversAll(['m2', 'm3', 'm4'])).toBe(true);
    expect(current(['m2', 'm3', 'm4']).map((a) => a.length)).toEqual([2, 2, 2]);
    const { committed, ends } = await committedAndEnds(admin, groupId, topic);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(RECORDS);
    expect(committed).toEqual(ends);
  });

  it('moves the partitions of a SIGKILLed member after its session times out, skipping nothing', { timeout: 120_000 }, async () => {
    const RECORDS = 30_000;
    const SESSION_TIMEOUT_MS = 3000;
    const HEARTBEAT_INTERVAL_MS = 300;
    const topic = 'crash';
    const groupId = 'crash-group';
    const { admin, kafka, produce, broker } = await setup(topic);
    const ledger = new GroupLedger();

    // The child joins first and so holds all partitions until the survivor joins.
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, broker.bootstrap, groupId, topic, String(SESSION_TIMEOUT_MS), String(HEARTBEAT_INTERVAL_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let childReady = false;
    let childAssignment: number[] = [];
    // The batch the child was committing, per partition, until it confirms the commit. One still
    // here after the kill may or may not have been committed: either the child or the survivor consumed it.
    const committing = new Map<number, ConsumedRecord[]>();
    let killedAt = 0;
    let killAfterRecords = Infinity;
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      // Lines that arrive after the kill were written before it: they count.
      for (const line of lines) {
        const msg = JSON.parse(line) as { ready?: boolean; joined?: number[]; committing?: number; records?: ConsumedRecord[]; consumed?: [number, number, number] };
        if (msg.ready) childReady = true;
        if (msg.joined) childAssignment = msg.joined;
        if (msg.committing !== undefined) committing.set(msg.committing, msg.records!);
        if (msg.consumed) {
          const [partition, first, last] = msg.consumed;
          const records = committing.get(partition)!;
          expect([records[0].offset, records.at(-1)!.offset]).toEqual([first, last]);
          committing.delete(partition);
          ledger.add('child', partition, records);
          if (killedAt === 0 && ledger.countOf('child') >= killAfterRecords) {
            child.kill('SIGKILL');
            killedAt = Date.now();
          }
        }
      }
    });
    await waitFor('the child member running', () => childReady && childAssignment.length === PARTITIONS, 60_000, () => stderr);

    const assignments: number[][] = [];
    const joinedAt: number[] = [];
    const survivorSeen: Array<[number, number]> = [];
    const survivorOffsets = (partition: number) => survivorSeen.filter(([p]) => p === partition).map(([, o]) => o);
    const survivor = await startKafkajsMember(
      kafka,
      { groupId, topic, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS },
      {
        joined: (partitions) => {
          assignments.push(partitions);
          joinedAt.push(Date.now());
        },
        committing: () => {},
        consumed: (partition, records) => {
          ledger.add('survivor', partition, records);
          for (const r of records) survivorSeen.push([partition, r.offset]);
        },
      },
    );
    cleanups.push(() => survivor.disconnect());
    expect(assignments.at(-1)).toHaveLength(3);
    await waitFor('the child on 3 partitions', () => childAssignment.length === 3, 30_000, () => childAssignment);

    // Killed mid-stream: once it has committed some of the records, while the rest are still being produced.
    killAfterRecords = 3000;
    await produce(0, RECORDS / 2);
    await waitFor('the child killed', () => killedAt !== 0, 30_000, () => ledger.countOf('child'));
    await produce(RECORDS / 2, RECORDS);
    await waitFor('the survivor on every partition', () => assignments.at(-1)!.length === PARTITIONS, 30_000, () => assignments);
    // No LeaveGroup came, so the coordinator had to wait for the session to expire, counted from the child's
    // last heartbeat (kafkajs heartbeats between batches, late on a loaded machine): half the session is a safe floor,
    // well above a takeover on disconnect.
    expect(joinedAt.at(-1)! - killedAt).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS / 2);
    await waitFor(`all ${RECORDS} records consumed`, async () => {
      const { committed, ends } = await committedAndEnds(admin, groupId, topic);
      return committed.join() === ends.join();
    }, 60_000, () => ledger.total);

    // A batch the child was committing when killed: committed if the survivor started after it.
    for (const [partition, records] of committing) {
      const after = records.at(-1)!.offset + 1;
      if (survivorOffsets(partition).every((o) => o >= after)) ledger.add('child', partition, records);
    }
    expect(ledger.problems(PARTITIONS, RECORDS)).toEqual([]);
    expect(ledger.countOf('child')).toBeGreaterThanOrEqual(3000);
    expect(ledger.countOf('survivor')).toBeGreaterThan(RECORDS / 2);
  });
});
