// KIP-848 consumer groups over real sockets: a protocol-level consumer built
// from the generated codecs (BrokerConnection) heartbeats as Kafka 4.0's
// consumer does with group.protocol=consumer: applies each assignment it is
// given, revoking what is no longer in it, and reports what it owns.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import {
  ApiKey,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  type CreateTopicsResponse,
  type DeleteGroupsResponse,
  type DescribeGroupsResponse,
  type JoinGroupResponse,
  type ListGroupsResponse,
  type OffsetCommitResponse,
  type OffsetFetchResponse,
} from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Short timeouts through the configs (their minimums lowered too). Sessions are
// long enough that a slow, shared machine does not end them between steps,
// except in the test about session timeouts.
const GROUP_PROPERTIES = {
  'group.consumer.min.session.timeout.ms': '500',
  'group.consumer.session.timeout.ms': '20000',
  'group.consumer.max.session.timeout.ms': '60000',
  'group.consumer.min.heartbeat.interval.ms': '50',
  'group.consumer.heartbeat.interval.ms': '200',
  'group.initial.rebalance.delay.ms': '0',
};

async function startBroker(dataDir: string, properties: Record<string, string> = {}): Promise<Broker> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { ...GROUP_PROPERTIES, ...properties } });
  cleanups.push(() => broker.close());
  return broker;
}

async function connect(broker: Broker): Promise<BrokerConnection> {
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'kip848-test' });
  cleanups.push(() => conn.close());
  return conn;
}

async function createTopic(conn: BrokerConnection, name: string, partitions: number): Promise<void> {
  const response = await conn.request<CreateTopicsResponse>(ApiKey.CreateTopics, () => ({
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  }));
  expect(response.topics[0].errorCode).toBe(0);
}

class ProtocolConsumer {
  memberId = '';
  memberEpoch = 0;
  owned = new Map<string, number[]>();
  constructor(
    readonly conn: BrokerConnection,
    readonly groupId: string,
    readonly topics: string[],
  ) {}

  async heartbeat(overrides: Partial<ConsumerGroupHeartbeatRequest> = {}): Promise<ConsumerGroupHeartbeatResponse> {
    const joining = this.memberEpoch === 0;
    const body: ConsumerGroupHeartbeatRequest = {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 30_000 : -1,
      subscribedTopicNames: joining ? this.topics : null,
      serverAssignor: null,
      topicPartitions: [...this.owned].map(([topicId, partitions]) => ({ topicId, partitions })),
      ...overrides,
    };
    const response = await this.conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => body);
    if (response.errorCode !== 0) return response;
    if (response.memberId !== null) this.memberId = response.memberId;
    this.memberEpoch = response.memberEpoch;
    if (response.assignment !== null) this.owned = new Map(response.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]));
    return response;
  }

  partitions(): number[] {
    return [...this.owned.values()].flat().sort((a, b) => a - b);
  }
}

function expectNoSharedPartitions(consumers: ProtocolConsumer[]): void {
  const all = consumers.flatMap((c) => c.partitions());
  expect(new Set(all).size).toBe(all.length);
}

async function describeGroup(conn: BrokerConnection, groupId: string): Promise<ConsumerGroupDescribeResponse.DescribedGroup> {
  const response = await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, () => ({ groupIds: [groupId], includeAuthorizedOperations: true }));
  return response.groups[0];
}

async function rounds(consumers: ProtocolConsumer[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    for (const c of consumers) {
      expect((await c.heartbeat()).errorCode).toBe(0);
      expectNoSharedPartitions(consumers);
    }
  }
}

describe('KIP-848 consumer groups over the wire', () => {
  it('splits 6 partitions between two members, moves partitions to a third only after revocation, and describes epochs and assignments', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    const conn = await connect(broker);
    expect(conn.supports(ApiKey.ConsumerGroupHeartbeat)).toBe(true);
    expect(conn.supports(ApiKey.ConsumerGroupDescribe)).toBe(true);
    await createTopic(conn, 'orders', 6);
    const a = new ProtocolConsumer(conn, 'g1', ['orders']);
    const b = new ProtocolConsumer(await connect(broker), 'g1', ['orders']);
    const first = await a.heartbeat();
    expect(first.errorCode).toBe(0);
    expect(first.memberId).not.toBeNull();
    expect(first.heartbeatIntervalMs).toBe(200);
    expect(a.partitions()).toEqual([0, 1, 2, 3, 4, 5]);
    const joinedB = await b.heartbeat();
    expect(joinedB.memberEpoch).toBe(2);
    expect(b.partitions()).toEqual([]);
    await rounds([a, b], 3);
    expect(a.partitions().length).toBe(3);
    expect(b.partitions().length).toBe(3);

    const c = new ProtocolConsumer(await connect(broker), 'g1', ['orders']);
    await c.heartbeat();
    // a and b still own everything: c waits with nothing.
    expect(c.partitions()).toEqual([]);
    let described = await describeGroup(conn, 'g1');
    expect(described.groupState).toBe('Reconciling');
    const targetOfC = described.members.find((m) => m.memberId === c.memberId)!.targetAssignment.topicPartitions[0].partitions;
    expect(targetOfC.length).toBe(2);
    await rounds([a, b, c], 3);
    expect([a, b, c].map((x) => x.partitions().length)).toEqual([2, 2, 2]);
    expect([...a.partitions(), ...b.partitions(), ...c.partitions()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(c.partitions()).toEqual([...targetOfC].sort());

    described = await describeGroup(conn, 'g1');
    expect(described.errorCode).toBe(0);
    expect(described.groupState).toBe('Stable');
    expect(described.groupEpoch).toBe(3);
    expect(described.assignmentEpoch).toBe(3);
    expect(described.assignorName).toBe('uniform');
    expect(described.authorizedOperations).toBe(3400);
    for (const consumer of [a, b, c]) {
      const m = described.members.find((x) => x.memberId === consumer.memberId)!;
      expect(m.memberEpoch).toBe(3);
      expect(m.clientId).toBe('kip848-test');
      expect(m.clientHost).toBe('/127.0.0.1');
      expect(m.subscribedTopicNames).toEqual(['orders']);
      expect(m.assignment.topicPartitions.map((t) => t.topicName)).toEqual(['orders']);
      expect([...m.assignment.topicPartitions[0].partitions].sort()).toEqual(consumer.partitions());
      expect(m.targetAssignment).toEqual(m.assignment);
    }
    const missing = await describeGroup(conn, 'no-such-group');
    expect(missing.errorCode).toBe(69);
  });

  it('reassigns the partitions of a member that leaves with epoch -1', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    const conn = await connect(broker);
    await createTopic(conn, 'events', 6);
    const a = new ProtocolConsumer(conn, 'g2', ['events']);
    const b = new ProtocolConsumer(conn, 'g2', ['events']);
    const c = new ProtocolConsumer(conn, 'g2', ['events']);
    await rounds([a, b, c], 4);
    expect([a, b, c].map((x) => x.partitions().length)).toEqual([2, 2, 2]);

    const left = await c.heartbeat({ memberEpoch: -1 });
    expect(left.errorCode).toBe(0);
    expect(left.memberEpoch).toBe(-1);
    await rounds([a, b], 3);
    expect([a, b].map((x) => x.partitions().length)).toEqual([3, 3]);
    expect((await describeGroup(conn, 'g2')).members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
  });

  it('removes a member that stops heartbeating once its session times out', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir, { 'group.consumer.session.timeout.ms': '2000' });
    const conn = await connect(broker);
    await createTopic(conn, 'events', 6);
    const a = new ProtocolConsumer(conn, 'g5', ['events']);
    const b = new ProtocolConsumer(conn, 'g5', ['events']);
    expect((await a.heartbeat()).errorCode).toBe(0);
    expect((await b.heartbeat()).errorCode).toBe(0);
    // b goes silent; a keeps heartbeating until the coordinator drops b and a gets everything.
    // (A stalled, overloaded machine may fence a too: it then rejoins, as a client does.)
    const deadline = Date.now() + 30_000;
    const onlyA = async () => {
      const members = (await describeGroup(conn, 'g5')).members;
      return members.length === 1 && members[0].memberId === a.memberId;
    };
    while ((a.partitions().length < 6 || !(await onlyA())) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const response = await a.heartbeat();
      if (response.errorCode === 25 || response.errorCode === 110) {
        a.memberEpoch = 0;
        a.owned.clear();
      } else {
        expect(response.errorCode).toBe(0);
      }
    }
    expect(a.partitions()).toEqual([0, 1, 2, 3, 4, 5]);
    const described = await describeGroup(conn, 'g5');
    expect(described.members.map((m) => m.memberId)).toEqual([a.memberId]);
    // b comes back: the coordinator no longer knows it.
    expect((await b.heartbeat()).errorCode).toBe(25);
  });

  it('answers malformed heartbeats with INVALID_REQUEST and unknown assignors with UNSUPPORTED_ASSIGNOR', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    const conn = await connect(broker);
    const joinWithoutTopics = await new ProtocolConsumer(conn, 'g3', []).heartbeat();
    expect(joinWithoutTopics.errorCode).toBe(42);
    expect(joinWithoutTopics.errorMessage).toBe('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    expect((await new ProtocolConsumer(conn, '', ['t']).heartbeat()).errorCode).toBe(42);
    expect((await new ProtocolConsumer(conn, 'g3', ['t']).heartbeat({ memberEpoch: -3, memberId: 'x' })).errorCode).toBe(42);
    expect((await new ProtocolConsumer(conn, 'g3', ['t']).heartbeat({ serverAssignor: 'cooperative-sticky' })).errorCode).toBe(112);
    expect((await new ProtocolConsumer(conn, 'g3', ['t']).heartbeat({ memberId: 'ghost', memberEpoch: 5 })).errorCode).toBe(69);
  });

  it('keeps consumer groups across a broker restart: members carry on at their epochs', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    let conn = await connect(broker);
    await createTopic(conn, 'orders', 4);
    const a = new ProtocolConsumer(conn, 'g4', ['orders']);
    const b = new ProtocolConsumer(conn, 'g4', ['orders']);
    await rounds([a, b], 3);
    const before = await describeGroup(conn, 'g4');
    expect(before.groupState).toBe('Stable');
    conn.close();
    await broker.close();

    const again = await startBroker(dataDir);
    conn = await connect(again);
    // Groups load in the background: COORDINATOR_LOAD_IN_PROGRESS (14) until their partition is read.
    let after = await describeGroup(conn, 'g4');
    for (let i = 0; i < 200 && after.errorCode === 14; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await describeGroup(conn, 'g4');
    }
    expect(after).toEqual(before);
    for (const consumer of [a, b]) (consumer as { conn: BrokerConnection }).conn = conn;
    const resumed = await a.heartbeat();
    expect(resumed.errorCode).toBe(0);
    expect(resumed.memberEpoch).toBe(before.groupEpoch);
    await rounds([a, b], 2);
    expect([a, b].map((x) => x.partitions().length)).toEqual([2, 2]);
  });
});

async function commit(conn: BrokerConnection, groupId: string, memberId: string, memberEpoch: number, offset: bigint): Promise<number> {
  const response = await conn.request<OffsetCommitResponse>(ApiKey.OffsetCommit, () => ({
    groupId,
    generationIdOrMemberEpoch: memberEpoch,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }] }],
  }));
  return response.topics[0].partitions[0].errorCode;
}

async function classicJoin(conn: BrokerConnection, groupId: string): Promise<JoinGroupResponse> {
  return conn.request<JoinGroupResponse>(ApiKey.JoinGroup, () => ({
    groupId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: 'classic-instance',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    reason: null,
  }));
}

describe('consumer groups beside classic groups', () => {
  it('commits and fetches offsets with member epochs, lists consumer groups with their type, and converts empty groups between types', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await startBroker(dataDir);
    const conn = await connect(broker);
    await createTopic(conn, 'orders', 2);
    const a = new ProtocolConsumer(conn, 'mixed', ['orders']);
    await rounds([a], 2);
    expect(conn.versionFor(ApiKey.OffsetCommit)).toBe(9);

    // OffsetCommit v9 carries the member epoch: the current one commits, an old one is stale.
    expect(await commit(conn, 'mixed', a.memberId, a.memberEpoch, 42n)).toBe(0);
    expect(await commit(conn, 'mixed', a.memberId, a.memberEpoch - 1, 43n)).toBe(113);
    expect(await commit(conn, 'mixed', 'stranger', a.memberEpoch, 43n)).toBe(25);
    const fetched = await conn.request<OffsetFetchResponse>(ApiKey.OffsetFetch, () => ({
      groups: [{ groupId: 'mixed', memberId: a.memberId, memberEpoch: a.memberEpoch, topics: [{ name: 'orders', partitionIndexes: [0] }] }],
      requireStable: true,
    }));
    expect(fetched.groups![0].errorCode).toBe(0);
    expect(fetched.groups![0].topics[0].partitions[0].committedOffset).toBe(42n);
    const stale = await conn.request<OffsetFetchResponse>(ApiKey.OffsetFetch, () => ({
      groups: [{ groupId: 'mixed', memberId: a.memberId, memberEpoch: a.memberEpoch + 5, topics: null }],
      requireStable: true,
    }));
    expect(stale.groups![0].errorCode).toBe(113);

    const listed = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, () => ({ statesFilter: [], typesFilter: ['consumer'] }));
    expect(listed.groups).toEqual([expect.objectContaining({ groupId: 'mixed', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' })]);
    const described = await conn.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, () => ({ groups: ['mixed'], includeAuthorizedOperations: false }));
    expect(described.groups[0].groupState).toBe('Dead');

    // A classic member whose JoinGroup metadata is not a ConsumerProtocol subscription cannot join the consumer group
    // (well-formed ones do: test/groups-migration.test.ts); a non-empty group cannot be deleted.
    expect((await classicJoin(conn, 'mixed')).errorCode).toBe(23);
    let deleted = await conn.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, () => ({ groupsNames: ['mixed'] }));
    expect(deleted.results[0].errorCode).toBe(68);

    // Once empty, the group becomes a classic group when a classic member joins; its offsets stay.
    expect((await a.heartbeat({ memberEpoch: -1 })).errorCode).toBe(0);
    const joined = await classicJoin(conn, 'mixed');
    expect(joined.errorCode).toBe(0);
    expect((await describeGroup(conn, 'mixed')).errorCode).toBe(69);
    const classicListed = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, () => ({ statesFilter: [], typesFilter: [] }));
    expect(classicListed.groups.find((g) => g.groupId === 'mixed')?.groupType).toBe('classic');
    // ... and a consumer-protocol member cannot upgrade a classic group with members whose metadata does not decode.
    const refused = await new ProtocolConsumer(conn, 'mixed', ['orders']).heartbeat();
    expect(refused.errorCode).toBe(69);
    expect(refused.errorMessage).toBe('Cannot upgrade the classic group mixed to consumer group because the embedded consumer protocol is malformed.');

    // An empty classic group (offsets committed from outside, epoch -1) becomes a consumer group.
    expect(await commit(conn, 'simple', '', -1, 7n)).toBe(0);
    const b = new ProtocolConsumer(conn, 'simple', ['orders']);
    expect((await b.heartbeat()).errorCode).toBe(0);
    expect((await describeGroup(conn, 'simple')).groupState).toBe('Stable');
    expect((await b.heartbeat({ memberEpoch: -1 })).errorCode).toBe(0);
    deleted = await conn.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, () => ({ groupsNames: ['simple'] }));
    expect(deleted.results[0].errorCode).toBe(0);
    expect((await describeGroup(conn, 'simple')).errorCode).toBe(69);
  });
});
