// Online migration between classic and KIP-848 consumer groups over real
// sockets: kafkajs (classic protocol) consumers in a group, then a
// @platformatic/kafka consumer with groupProtocol 'consumer' joins the same
// group: it upgrades, partitions move by revocation, every record is read and
// only records of partitions that changed owner may be read twice; when the
// KIP-848 consumer leaves, the group downgrades and the kafkajs consumers get
// everything back. Also: librdkafka cooperative-sticky classic members in a
// consumer group and through its downgrade, group.consumer.migration.policy
// refusals with Kafka's error, and a migrated group surviving a SIGKILLed broker.
import fs from 'node:fs';
import path from 'node:path';
import { Consumer, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import { encodeConsumerAssignment } from '../src/coordinator/consumer-protocol.js';
import {
  ApiKey,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  type CreateTopicsResponse,
  type HeartbeatResponse,
  type JoinGroupResponse,
  type ListGroupsResponse,
  type SyncGroupResponse,
} from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { hasPythonModule, PYTHON, runPython } from './support/confluent.js';
import { GroupLedger, startGroupBroker, waitFor as waitUntil } from './support/groups.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '500',
  'group.consumer.min.heartbeat.interval.ms': '50',
  'group.consumer.heartbeat.interval.ms': '200',
  'offsets.topic.num.partitions': '4',
};
const PARTITIONS = 4;
const GROUP = 'g-migrate';

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startBroker(properties: Record<string, string> = {}) {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { ...PROPERTIES, ...properties } });
  cleanups.push(() => broker.close());
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'migration-test' });
  cleanups.push(() => conn.close());
  const kafka = new Kafka({ clientId: 'migration-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
  return { broker, conn, kafka };
}

async function listed(conn: BrokerConnection, groupId: string) {
  const r = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, () => ({ statesFilter: [], typesFilter: [] }));
  return r.groups.find((g) => g.groupId === groupId);
}

async function describeConsumerGroup(conn: BrokerConnection, groupId: string) {
  return (await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, () => ({ groupIds: [groupId], includeAuthorizedOperations: false }))).groups[0];
}

/** Who read what, and every owner each partition had. */
class Ledger {
  readonly reads = new Map<string, number>();
  readonly owners = new Map<number, Set<string>>();
  read(value: string): void {
    this.reads.set(value, (this.reads.get(value) ?? 0) + 1);
  }
  own(member: string, partitions: number[]): void {
    for (const p of partitions) {
      let s = this.owners.get(p);
      if (!s) this.owners.set(p, (s = new Set()));
      s.add(member);
    }
  }
}

function classicMember(kafka: Kafka, name: string, topic: string, ledger: Ledger) {
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, rebalanceTimeout: 15_000, heartbeatInterval: 100, maxWaitTimeInMs: 100, retry: { retries: 8, initialRetryTime: 50 } });
  const state = { consumer, assignment: [] as number[] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    state.assignment = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
    ledger.own(name, state.assignment);
  });
  cleanups.push(() => consumer.disconnect());
  return {
    state,
    async run() {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 100,
        eachMessage: async ({ message, partition }) => {
          // A record is owned by its reader: a read of a partition this member was never given would be a bug.
          ledger.own(name, [partition]);
          ledger.read(message.value!.toString());
        },
      });
    },
  };
}

async function produce(kafka: Kafka, topic: string, batch: string, perPartition: number): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  const values: string[] = [];
  const messages = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < perPartition; i++) {
      const value = `${batch}:${p}:${i}`;
      values.push(value);
      messages.push({ value, partition: p });
    }
  }
  await producer.send({ topic, messages });
  await producer.disconnect();
  return values;
}

describe('online migration with real clients', () => {
  it('kafkajs group upgrades when a KIP-848 consumer joins, and downgrades when it leaves, reading every record', async () => {
    const { broker, conn, kafka } = await startBroker();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'mig', numPartitions: PARTITIONS }] });
    const ledger = new Ledger();
    const all: string[] = [];
    all.push(...(await produce(kafka, 'mig', 'one', 10)));

    // 1. Two kafkajs consumers share the topic as a classic group.
    const a = classicMember(kafka, 'a', 'mig', ledger);
    const b = classicMember(kafka, 'b', 'mig', ledger);
    await a.run();
    await b.run();
    await waitFor('a 2/2 classic split', () => a.state.assignment.length === 2 && b.state.assignment.length === 2);
    await waitFor('the first batch read', () => all.every((v) => ledger.reads.has(v)));
    expect((await listed(conn, GROUP))?.groupType).toBe('classic');

    // 2. A KIP-848 consumer joins the same group: the group becomes a consumer group and hands it partitions,
    //    which the kafkajs members give up when they rejoin.
    const k = new Consumer({ clientId: 'kip848', bootstrapBrokers: [`127.0.0.1:${broker.port}`], retries: 8, retryDelay: 100, groupId: GROUP, groupProtocol: 'consumer', deserializers: stringDeserializers });
    cleanups.push(() => k.close(true));
    const kAssigned = () => (k.assignments ?? []).flatMap((x) => x.partitions).sort((x, y) => x - y);
    const stream = await k.consume({ topics: ['mig'], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: 100 });
    stream.on('data', (m: { value: string; partition: number }) => {
      ledger.own('k', [m.partition]);
      ledger.read(m.value);
    });
    stream.on('error', () => {});
    const poll = setInterval(() => ledger.own('k', kAssigned()), 20);
    cleanups.push(() => clearInterval(poll));
    await waitFor('the group upgraded', async () => (await listed(conn, GROUP))?.groupType === 'consumer');
    await waitFor('k owns partitions', () => kAssigned().length > 0);
    await waitFor('a Stable consumer group of three', async () => {
      const d = await describeConsumerGroup(conn, GROUP);
      return d.errorCode === 0 && d.groupState === 'Stable' && d.members.length === 3;
    });
    const described = await describeConsumerGroup(conn, GROUP);
    const held = described.members.flatMap((m) => m.assignment.topicPartitions.flatMap((t) => t.partitions)).sort();
    expect(held).toEqual([0, 1, 2, 3]);
    expect(described.members.map((m) => m.memberId)).toContain(k.memberId);
    // kafkajs' view agrees with the group's: nobody holds a partition another holds.
    await waitFor('kafkajs assignments follow', () => [...a.state.assignment, ...b.state.assignment, ...kAssigned()].sort().join() === '0,1,2,3');

    // 3. Records produced now are read once by the group (at-least-once only on partitions that moved).
    all.push(...(await produce(kafka, 'mig', 'two', 10)));
    await waitFor('the second batch read', () => all.every((v) => ledger.reads.has(v)));

    // 4. The KIP-848 consumer leaves: only classic members remain, the group downgrades and they take everything back.
    clearInterval(poll);
    await k.close(true);
    await waitFor('the group downgraded', async () => (await listed(conn, GROUP))?.groupType === 'classic');
    await waitFor('kafkajs owns every partition', () => [...a.state.assignment, ...b.state.assignment].sort().join() === '0,1,2,3');
    all.push(...(await produce(kafka, 'mig', 'three', 10)));
    await waitFor('the third batch read', () => all.every((v) => ledger.reads.has(v)));
    const groups = await admin.describeGroups([GROUP]);
    expect(groups.groups[0]).toMatchObject({ state: 'Stable', protocolType: 'consumer', errorCode: 0 });
    expect(groups.groups[0].members).toHaveLength(2);

    // Nothing lost (above); a record read twice is on a partition that changed owner.
    for (const [value, count] of ledger.reads) {
      if (count === 1) continue;
      const partition = Number(value.split(':')[1]);
      expect(ledger.owners.get(partition)!.size, `${value} read ${count} times on partition ${partition} that never moved`).toBeGreaterThan(1);
    }
  });

  it('refuses the upgrade with GROUP_ID_NOT_FOUND when group.consumer.migration.policy is disabled', async () => {
    const { conn } = await startBroker({ 'group.consumer.migration.policy': 'disabled' });
    await createTopicRaw(conn, 'orders');
    await classicStableGroup(conn, 'g-disabled');
    const refused = await consumerHeartbeat(conn, { groupId: 'g-disabled', memberId: '', memberEpoch: 0 });
    expect(refused.errorCode).toBe(69);
    expect(refused.errorMessage).toBe('Group g-disabled is not a consumer group.');
    expect((await listed(conn, 'g-disabled'))?.groupType).toBe('classic');
  });

  it('upgrade policy: upgrades, and keeps a consumer group of classic members when the KIP-848 member leaves', async () => {
    const { conn } = await startBroker({ 'group.consumer.migration.policy': 'upgrade' });
    await createTopicRaw(conn, 'orders');
    const classic = await classicStableGroup(conn, 'g-upgrade');
    const k = await consumerHeartbeat(conn, { groupId: 'g-upgrade', memberId: '', memberEpoch: 0 });
    expect(k.errorCode).toBe(0);
    expect((await listed(conn, 'g-upgrade'))?.groupType).toBe('consumer');
    // The classic member is told to rejoin (the group epoch moved past its generation).
    const hb = await conn.request<HeartbeatResponse>(ApiKey.Heartbeat, () => ({ groupId: 'g-upgrade', generationId: classic.generationId, memberId: classic.memberId, groupInstanceId: null }));
    expect(hb.errorCode).toBe(27);
    const left = await consumerHeartbeat(conn, { groupId: 'g-upgrade', memberId: k.memberId!, memberEpoch: -1 });
    expect(left.errorCode).toBe(0);
    expect((await listed(conn, 'g-upgrade'))?.groupType).toBe('consumer');
    const d = await describeConsumerGroup(conn, 'g-upgrade');
    expect(d.members.map((m) => m.memberId)).toEqual([classic.memberId]);
  });

  it('a migrated group comes back with its members and assignments after the broker is SIGKILLed', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let child = await BrokerProcess.start(dataDir, { properties: PROPERTIES });
    cleanups.push(() => child.kill());
    let conn = await BrokerConnection.connect({ host: '127.0.0.1', port: child.port, clientId: 'migration-test' });
    await createTopicRaw(conn, 'orders');
    const classic = await classicStableGroup(conn, 'g-kill');
    const k = await consumerHeartbeat(conn, { groupId: 'g-kill', memberId: '', memberEpoch: 0 });
    expect(k.errorCode).toBe(0);
    const before = await describeConsumerGroup(conn, 'g-kill');
    expect(before.members.length).toBe(2);
    conn.close();
    await child.kill('SIGKILL');
    await child.exited;

    child = await BrokerProcess.start(dataDir, { port: child.port, properties: PROPERTIES });
    cleanups.push(() => child.kill());
    conn = await BrokerConnection.connect({ host: '127.0.0.1', port: child.port, clientId: 'migration-test' });
    cleanups.push(() => conn.close());
    let after: Awaited<ReturnType<typeof describeConsumerGroup>> | undefined;
    await waitFor('the group loaded', async () => {
      after = await describeConsumerGroup(conn, 'g-kill');
      return after.errorCode === 0;
    });
    const view = (d: typeof before) => ({
      groupEpoch: d.groupEpoch,
      assignmentEpoch: d.assignmentEpoch,
      members: d.members.map((m) => ({ memberId: m.memberId, memberEpoch: m.memberEpoch, assignment: m.assignment, targetAssignment: m.targetAssignment })).sort((x, y) => (x.memberId < y.memberId ? -1 : 1)),
    });
    expect(view(after!)).toEqual(view(before));
    // The classic member is still served by the consumer group after the restart.
    const hb = await conn.request<HeartbeatResponse>(ApiKey.Heartbeat, () => ({ groupId: 'g-kill', generationId: classic.generationId, memberId: classic.memberId, groupInstanceId: null }));
    expect(hb.errorCode).toBe(27);
  });
});

async function createTopicRaw(conn: BrokerConnection, name: string): Promise<void> {
  const r = await conn.request<CreateTopicsResponse>(ApiKey.CreateTopics, () => ({
    topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  }));
  expect(r.topics[0].errorCode).toBe(0);
}

/** ConsumerProtocolSubscription v0 for `orders`. */
function subscriptionV0(): Buffer {
  const topic = Buffer.from('orders');
  const b = Buffer.alloc(2 + 4 + 2 + topic.length + 4);
  let o = b.writeInt16BE(0, 0);
  o = b.writeInt32BE(1, o);
  o = b.writeInt16BE(topic.length, o);
  o += topic.copy(b, o);
  b.writeInt32BE(-1, o);
  return b;
}

/** One classic member through JoinGroup (v5: no MEMBER_ID_REQUIRED round) and SyncGroup, owning every partition. */
async function classicStableGroup(conn: BrokerConnection, groupId: string): Promise<{ memberId: string; generationId: number }> {
  const joined = await conn.send<JoinGroupResponse>(ApiKey.JoinGroup, 3, {
    groupId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscriptionV0() }],
    reason: null,
  });
  expect(joined.errorCode).toBe(0);
  const synced = await conn.send<SyncGroupResponse>(ApiKey.SyncGroup, 3, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: encodeConsumerAssignment([{ topic: 'orders', partitions: [0, 1, 2, 3] }], 0) }],
  });
  expect(synced.errorCode).toBe(0);
  return { memberId: joined.memberId, generationId: joined.generationId };
}

async function consumerHeartbeat(conn: BrokerConnection, r: { groupId: string; memberId: string; memberEpoch: number }): Promise<ConsumerGroupHeartbeatResponse> {
  const joining = r.memberEpoch === 0;
  return conn.request<ConsumerGroupHeartbeatResponse>(
    ApiKey.ConsumerGroupHeartbeat,
    (): ConsumerGroupHeartbeatRequest => ({
      groupId: r.groupId,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 30_000 : -1,
      subscribedTopicNames: joining ? ['orders'] : null,
      serverAssignor: null,
      topicPartitions: joining ? [] : null,
    }),
  );
}

// librdkafka (confluent-kafka for Python) classic cooperative-sticky members, with a KIP-848 member driven
// here: the first classic member joins the consumer group the KIP-848 member holds and gets partitions as
// they are revoked; when the KIP-848 member leaves, the group downgrades and the librdkafka members carry on
// (test/support/confluent-groups.py's cooperative scenario: every record once, commits at the log end).
describe.skipIf(!hasPythonModule('confluent_kafka'))('online migration with librdkafka classic members', () => {
  it('a cooperative-sticky member joins a consumer group, gets partitions by revocation, and keeps going after the downgrade', { timeout: 120_000 }, async () => {
    const broker = await startGroupBroker(cleanups, PROPERTIES);
    const topic = 'confluent-cooperative';
    const groupId = 'cooperative-group';
    const created = await broker.metadata.createTopic(topic, 6, 1, {});
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);
    const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'kip848' });
    cleanups.push(() => conn.close());

    // The KIP-848 member: heartbeats, applies each assignment (revoking the rest at once), reports what it owns.
    let member = { memberId: '', memberEpoch: 0, owned: [] as Array<{ topicId: string; partitions: number[] }> };
    let leaving = false;
    const errors: number[] = [];
    const beat = async () => {
      const joining = member.memberEpoch === 0;
      const r = await conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => ({
        groupId,
        memberId: member.memberId,
        memberEpoch: leaving ? -1 : member.memberEpoch,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: joining ? 30_000 : -1,
        subscribedTopicNames: joining ? [topic] : null,
        serverAssignor: null,
        topicPartitions: leaving ? null : member.owned,
      }));
      if (r.errorCode !== 0) errors.push(r.errorCode);
      else member = { memberId: r.memberId ?? member.memberId, memberEpoch: r.memberEpoch, owned: r.assignment ? r.assignment.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: t.partitions })) : member.owned };
    };
    await beat();
    expect(member.owned.flatMap((t) => t.partitions).length).toBe(6);
    const loop = setInterval(() => void beat().catch(() => {}), 150);
    cleanups.push(() => clearInterval(loop));

    const python = runPython(PYTHON, [path.join(import.meta.dirname, 'support', 'confluent-groups.py'), broker.bootstrap, 'cooperative', topic, groupId], { timeout: 100_000, maxBuffer: 64 * 1024 * 1024 });
    // The librdkafka member joins the consumer group and gets its share once the KIP-848 member released it.
    await waitUntil('a classic member holding partitions in the consumer group', async () => {
      const d = await describeConsumerGroup(conn, groupId);
      return d.errorCode === 0 && d.groupState === 'Stable' && d.members.length === 2 && d.members.every((m) => m.assignment.topicPartitions.length > 0);
    });
    expect((await listed(conn, groupId))?.groupType).toBe('consumer');
    clearInterval(loop);
    leaving = true;
    await beat();
    await waitUntil('the group downgraded', async () => (await listed(conn, groupId))?.groupType === 'classic');

    const { stdout } = await python;
    const report = JSON.parse(stdout) as { members: Record<string, { errors: unknown[] }>; records: Array<[string, number, number, string, string, Record<string, string>]>; committed: number[] };
    expect(errors).toEqual([]);
    expect(report.members.a.errors).toEqual([]);
    expect(report.members.b.errors).toEqual([]);
    const ledger = new GroupLedger();
    for (const [m, partition, offset, key, value, headers] of report.records) ledger.add(m, partition, [{ offset, key, value, headers }]);
    expect(ledger.problems(6, 6000)).toEqual([]);
    expect(report.committed).toEqual([1000, 1000, 1000, 1000, 1000, 1000]);
  });
});
