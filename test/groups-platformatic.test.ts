// Consumer groups with @platformatic/kafka 1.x. Its classic protocol has
// eager assignors only; its incremental protocol is KIP-848's 'consumer'
// (ConsumerGroupHeartbeat, the broker assigns):
//  - one member consumes a 6-partition topic from the start, committing each
//    message before counting it; a second member joins, the group rebalances
//    to 3 partitions each, and the second member starts from the first one's
//    commits: every record at least once (see the test for the client's
//    duplicates around a rebalance), committed offsets at the log end;
//  - keyed records with headers in every codec the client has, consumed by a
//    group of two with autocommit: every record in partition order;
//  - groupProtocol 'consumer' (skipped while the broker does not advertise
//    ConsumerGroupHeartbeat): a second member joins and the first gives up
//    only the partitions that move; nothing is lost.
import zlib from 'node:zlib';
import { Consumer, Producer, stringDeserializers, stringSerializers, type CompressionAlgorithmValue, type Message, type MessagesStream } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../src/protocol/generated/index.js';
import { WireClient } from './support/kafka-wire.js';
import { codecsInLog, GroupLedger, groupMessage, startGroupBroker, waitFor, type Cleanups } from './support/groups.js';

const PARTITIONS = 6;
// zstd needs zlib.zstdCompressSync (Node 22.15+); the client has no other zstd.
const CODECS: Array<CompressionAlgorithmValue | 'none'> = ['none', 'gzip', 'snappy', 'lz4', ...('zstdCompressSync' in zlib ? (['zstd'] as const) : [])];

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type StringMessage = Message<string, string, string, string>;

async function setup(topic: string) {
  const broker = await startGroupBroker(cleanups);
  const base = { clientId: 'groups-platformatic', bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 100 };
  const producer = new Producer({ ...base, serializers: stringSerializers });
  cleanups.push(() => producer.close());
  // Creating the topic through metadata needs auto-creation; the broker's metadata service does it directly.
  const created = await broker.metadata.createTopic(topic, PARTITIONS, 1, {});
  if (!created.ok) throw new Error(created.message);
  broker.materializeTopic(created.value);
  /** Produces records [from, to), each to partition seq % PARTITIONS, cycling through `codecs` per send. */
  const produce = async (from: number, to: number, codecs: Array<CompressionAlgorithmValue | 'none'> = ['none']) => {
    const PER_SEND = 1000;
    let sends = 0;
    for (let start = from; start < to; start += PER_SEND) {
      const messages = [];
      for (let seq = start; seq < Math.min(start + PER_SEND, to); seq++) messages.push({ topic, partition: seq % PARTITIONS, ...groupMessage(seq) });
      const codec = codecs[sends++ % codecs.length];
      await producer.send({ messages, acks: -1, compression: codec === 'none' ? undefined : codec });
    }
  };
  return { broker, base, produce };
}

interface Member {
  consumer: Consumer<string, string, string, string>;
  stream: MessagesStream<string, string, string, string>;
  /** Partitions of each generation this member synced, latest last. */
  assignments: number[][];
  errors: Error[];
}

/**
 * Records the errors a member's consumer emits while the test runs, and closes
 * it at cleanup. Once members start closing, the others rejoin and may fail
 * to (their connections are closing too): those errors are expected.
 */
function watchErrors(member: Member): void {
  let closing = false;
  member.consumer.on('error', (err: Error) => {
    if (!closing) member.errors.push(err);
  });
  cleanups.push(() => {
    closing = true;
    return member.consumer.close(true);
  });
}

/** Partitions of `topic` a member was assigned. */
function partitionsOf(consumer: Consumer<string, string, string, string>, topic: string): number[] {
  return (consumer.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions).sort((a, b) => a - b);
}

describe('consumer groups with @platformatic/kafka', () => {
  it('rebalances when a second member joins; it resumes from the first one\'s commits, every record at least once', { timeout: 120_000 }, async () => {
    const topic = 'pf-group';
    const groupId = 'pf-group';
    const HALF = 3000;
    const { base, produce } = await setup(topic);
    const ledger = new GroupLedger();

    const join = async (name: string): Promise<Member> => {
      const consumer = new Consumer({ ...base, groupId, deserializers: stringDeserializers, sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 300, maxWaitTime: 100 });
      const member: Member = { consumer, stream: null as unknown as Member['stream'], assignments: [], errors: [] };
      watchErrors(member);
      consumer.on('consumer:group:join', () => member.assignments.push(partitionsOf(consumer, topic)));
      member.stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
      // Records count as consumed once their commit succeeded.
      void (async () => {
        for await (const m of member.stream as AsyncIterable<StringMessage>) {
          try {
            await m.commit();
          } catch (err) {
            member.errors.push(err as Error);
            continue;
          }
          ledger.add(name, m.partition, [{ offset: Number(m.offset), key: m.key, value: m.value, headers: Object.fromEntries(m.headers) }]);
        }
      })().catch((err: Error) => member.errors.push(err));
      return member;
    };

    const first = await join('first');
    expect(partitionsOf(first.consumer, topic)).toEqual([0, 1, 2, 3, 4, 5]);
    await produce(0, HALF);
    await waitFor('the first half consumed', () => ledger.total >= HALF, 60_000, () => ledger.total);

    const committedOf = async (member: Member) => {
      const offsets = await member.consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3, 4, 5] }] });
      return offsets.get(topic)!.map(Number);
    };
    const perPartition = (records: number) => Array.from({ length: PARTITIONS }, (_, p) => Math.floor(records / PARTITIONS) + (p < records % PARTITIONS ? 1 : 0));
    expect(await committedOf(first)).toEqual(perPartition(HALF));

    const second = await join('second');
    await waitFor('the first member rebalanced to 3 partitions', () => first.assignments.at(-1)?.length === 3, 30_000, () => first.assignments);
    expect([...first.assignments.at(-1)!, ...partitionsOf(second.consumer, topic)].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    await produce(HALF, 2 * HALF);
    await waitFor('the second half consumed', () => ledger.distinct() >= 2 * HALF, 60_000, () => ledger.distinct());
    await waitFor('commits at the log end', async () => (await committedOf(second)).join() === perPartition(2 * HALF).join(), 30_000);
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    const story = JSON.stringify({ consumed: ledger.summary(), first: first.assignments, second: second.assignments });
    // The second member starts each of its partitions at the first member's commit.
    for (const p of partitionsOf(second.consumer, topic)) expect(ledger.firstOffsetOf('second', p), story).toBe(perPartition(HALF)[p]);
    // At least once: around a rebalance @platformatic/kafka 1.x may still deliver (and commit, which Kafka
    // accepts from any member of the generation) records fetched before it, and re-reads from the
    // committed offsets while uncommitted records are buffered. Nothing may be lost or reordered.
    expect(ledger.problems(PARTITIONS, 2 * HALF, () => true), story).toEqual([]);
  });

  it(`consumes keyed records with headers in every codec (${CODECS.join(', ')}) through a group of two, in partition order`, { timeout: 120_000 }, async () => {
    const topic = 'pf-codecs';
    const groupId = 'pf-codecs';
    const RECORDS = 20_000;
    const { broker, base, produce } = await setup(topic);
    const ledger = new GroupLedger();
    const members: Member[] = [];
    for (const name of ['a', 'b']) {
      const consumer = new Consumer({ ...base, groupId, deserializers: stringDeserializers, sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 300, maxWaitTime: 100 });
      const member: Member = { consumer, stream: null as unknown as Member['stream'], assignments: [], errors: [] };
      watchErrors(member);
      consumer.on('consumer:group:join', () => member.assignments.push(partitionsOf(consumer, topic)));
      // autocommit: true commits what each fetch returned once it is pushed.
      member.stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: true });
      member.stream.on('data', (m: StringMessage) => ledger.add(name, m.partition, [{ offset: Number(m.offset), key: m.key, value: m.value, headers: Object.fromEntries(m.headers) }]));
      member.stream.on('error', (err: Error) => member.errors.push(err));
      members.push(member);
    }
    await waitFor('two members with 3 partitions each', () => members.every((m) => m.assignments.at(-1)?.length === 3), 30_000, () => members.map((m) => m.assignments));

    const generationsBefore = members.map((m) => m.assignments.length);
    await produce(0, RECORDS, CODECS);
    await waitFor(`all ${RECORDS} records consumed`, () => ledger.distinct() >= RECORDS, 60_000, () => ledger.distinct());
    expect(members.flatMap((m) => m.errors)).toEqual([]);
    const story = JSON.stringify({ consumed: ledger.summary(), assignments: members.map((m) => m.assignments) });
    // Exactly once unless the group rebalanced meanwhile (a loaded machine can delay a heartbeat past the session).
    const rebalanced = members.some((m, i) => m.assignments.length !== generationsBefore[i]);
    // A partition a member held before its latest join may still reach it from a fetch of the old
    // generation (the client keeps delivering a lost partition's fetched records): only there may a record repeat.
    const moved = new Set(members.flatMap((m) => m.assignments.slice(0, -1).flat().filter((p) => !m.assignments.at(-1)!.includes(p))));
    expect(ledger.problems(PARTITIONS, RECORDS, (partition) => rebalanced || moved.has(partition)), story).toEqual([]);
    for (let p = 0; p < PARTITIONS; p++) expect([...codecsInLog(broker, topic, p)].sort()).toEqual([...CODECS].sort());
    await waitFor('commits at the log end', async () => {
      const offsets = await members[0].consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3, 4, 5] }] });
      return offsets.get(topic)!.map(Number).reduce((a, b) => a + b, 0) === RECORDS;
    }, 30_000);
  });

  it('KIP-848 (groupProtocol consumer): a joining member takes only the partitions that move, nothing is lost', { timeout: 120_000 }, async ({ skip }) => {
    const topic = 'pf-kip848';
    const groupId = 'pf-kip848';
    const HALF = 3000;
    const { broker, base, produce } = await setup(topic);
    const wire = await WireClient.connect(broker.port);
    const versions = await wire.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
    wire.close();
    if (!versions.apiKeys.some((k: { apiKey: number }) => k.apiKey === ApiKey.ConsumerGroupHeartbeat)) skip('the broker does not advertise ConsumerGroupHeartbeat yet');

    const ledger = new GroupLedger();
    const join = async (name: string): Promise<Member> => {
      const consumer = new Consumer({ ...base, groupId, groupProtocol: 'consumer', deserializers: stringDeserializers, maxWaitTime: 100 });
      const member: Member = { consumer, stream: null as unknown as Member['stream'], assignments: [], errors: [] };
      watchErrors(member);
      // Assignments arrive in heartbeat responses; the latest is sampled as it changes.
      const timer = setInterval(() => {
        const now = partitionsOf(consumer, topic);
        if (now.join() !== member.assignments.at(-1)?.join()) member.assignments.push(now);
      }, 20);
      cleanups.push(() => clearInterval(timer));
      member.stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
      void (async () => {
        for await (const m of member.stream as AsyncIterable<StringMessage>) {
          try {
            await m.commit();
          } catch (err) {
            member.errors.push(err as Error);
            continue;
          }
          ledger.add(name, m.partition, [{ offset: Number(m.offset), key: m.key, value: m.value, headers: Object.fromEntries(m.headers) }]);
        }
      })().catch((err: Error) => member.errors.push(err));
      return member;
    };

    const first = await join('first');
    await waitFor('the first member on every partition', () => first.assignments.at(-1)?.length === PARTITIONS, 30_000, () => first.assignments);
    await produce(0, HALF);
    await waitFor('the first half consumed', () => ledger.total >= HALF, 60_000, () => ledger.total);
    const second = await join('second');
    await waitFor('3 partitions each', () => first.assignments.at(-1)?.length === 3 && second.assignments.at(-1)?.length === 3, 30_000, () => [first.assignments, second.assignments]);
    // Incremental: the first member went from 6 partitions to the 3 it keeps, never through an empty assignment.
    const kept = first.assignments.at(-1)!;
    const sinceAll = first.assignments.slice(first.assignments.findIndex((a) => a.length === PARTITIONS));
    for (const a of sinceAll) expect(kept.every((p) => a.includes(p)), JSON.stringify(first.assignments)).toBe(true);
    expect([...first.assignments.at(-1)!, ...second.assignments.at(-1)!].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    await produce(HALF, 2 * HALF);
    await waitFor('the second half consumed', () => ledger.distinct() >= 2 * HALF, 60_000, () => ledger.total);
    // What a revoked partition had buffered may be delivered and committed once more by its old owner (at least once).
    expect(ledger.problems(PARTITIONS, 2 * HALF, () => true)).toEqual([]);
    expect(ledger.countOf('second')).toBeGreaterThan(0);
  });
});
