// Online migration between classic and KIP-848 consumer groups, without
// sockets, on a ManualClock: a ConsumerGroupHeartbeat join upgrades a
// non-empty classic group; its classic members keep working through
// JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit served by the consumer
// group; the last KIP-848 member leaving downgrades it back; both directions
// are written in one append and reload; group.consumer.migration.policy refuses
// what it does not allow.
import { describe, expect, it } from 'vitest';
import { ClassicGroup, type JoinRequest, type JoinResult } from '../src/coordinator/classic-group.js';
import { CoordinatorStoreError, MemoryCoordinatorStore, type CoordinatorRecord } from '../src/coordinator/coordinator-store.js';
import { GroupCoordinator } from '../src/coordinator/group-coordinator.js';
import { ManualTimer } from '../src/coordinator/timer.js';
import { ConsumerGroupCoordinator, type HeartbeatRequest, type MigrationPolicy, type TopicsImage } from '../src/coordinator/consumer-group-coordinator.js';
import { decodeRecord } from '../src/coordinator/consumer-group-records.js';
import { decodeConsumerAssignment, encodeConsumerAssignment } from '../src/coordinator/consumer-protocol.js';
import { uniformAssignor } from '../src/coordinator/assignors/uniform.js';
import { rangeAssignor } from '../src/coordinator/assignors/range.js';
import { MemberState } from '../src/coordinator/consumer-group.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ManualClock } from '../src/storage/clock.js';

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;
const TOPIC_ID = '00000000-0000-0000-0000-000000000001';
const settle = () => new Promise((r) => setImmediate(r));

class RecordingStore extends MemoryCoordinatorStore {
  readonly appends: CoordinatorRecord[][] = [];
  /** The next appends fail with this Kafka error code. */
  failWith: number | null = null;
  override async append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    if (this.failWith !== null) throw new CoordinatorStoreError(this.failWith, 'injected');
    this.appends.push([...records]);
    return super.append(partition, records);
  }
}

const topics: TopicsImage = {
  topic: (name) => (name === 't' ? { topicId: TOPIC_ID, partitionCount: 4 } : undefined),
  topicNames: () => ['t'],
  topicName: (id) => (id === TOPIC_ID ? 't' : undefined),
};

/** A broker's pair of coordinators over one store, loaded as the broker loads them. */
async function start(store: RecordingStore, clock: ManualClock, policy: MigrationPolicy = 'bidirectional') {
  const timer = new ManualTimer(clock);
  const silent = { info() {}, warn() {} };
  const coordinator = new GroupCoordinator({ store, clock, timer, logger: silent, config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000 } });
  const consumer = new ConsumerGroupCoordinator(
    { heartbeatIntervalMs: 1000, sessionTimeoutMs: 45_000, maxSize: 100, assignors: [uniformAssignor, rangeAssignor], migrationPolicy: policy, classicGroupMaxSize: 100 },
    store,
    topics,
    clock,
    silent,
  );
  consumer.setRegistry(coordinator);
  coordinator.setRawRecordListener(consumer);
  await coordinator.load();
  return { coordinator, consumer, timer };
}

/** ConsumerProtocolSubscription v1: topics, null user data, owned partitions of `t`. */
function subscription(owned: number[] = []): Buffer {
  const parts = [Buffer.from([0, 1]), int32(1), Buffer.from([0, 1]), Buffer.from('t'), int32(-1), int32(owned.length ? 1 : 0)];
  if (owned.length) {
    parts.push(Buffer.from([0, 1]), Buffer.from('t'), int32(owned.length));
    for (const p of owned) parts.push(int32(p));
  }
  return Buffer.concat(parts);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'classic',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription() }],
    requireKnownMemberId: false,
    supportsSkippingAssignment: false,
    reason: null,
    ...overrides,
  };
}

function partitionsOf(assignment: Buffer): number[] {
  return (decodeConsumerAssignment(assignment) ?? []).flatMap((t) => t.partitions).sort();
}

/** A Stable classic group of two members: the first gets t-0,1, the second t-2,3. */
async function classicGroup(coordinator: GroupCoordinator, timer: ManualTimer): Promise<JoinResult[]> {
  const joins = [coordinator.joinGroup(joinRequest({ clientId: 'a' })), coordinator.joinGroup(joinRequest({ clientId: 'b' }))];
  await settle();
  timer.advance(0);
  const joined = (await Promise.all(joins)).sort((a, b) => (a.memberId === a.leaderId ? -1 : b.memberId === b.leaderId ? 1 : 0));
  const [leader, follower] = joined;
  const followerSync = coordinator.syncGroup({ groupId: 'g', generationId: follower.generationId, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const leaderSync = await coordinator.syncGroup({
    groupId: 'g',
    generationId: leader.generationId,
    memberId: leader.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [
      { memberId: leader.memberId, assignment: encodeConsumerAssignment([{ topic: 't', partitions: [0, 1] }], 1) },
      { memberId: follower.memberId, assignment: encodeConsumerAssignment([{ topic: 't', partitions: [2, 3] }], 1) },
    ],
  });
  expect(leaderSync.errorCode).toBe(ErrorCode.NONE);
  expect((await followerSync).errorCode).toBe(ErrorCode.NONE);
  return joined;
}

function heartbeat(overrides: Partial<HeartbeatRequest>): HeartbeatRequest {
  return { groupId: 'g', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: REBALANCE_MS, subscribedTopicNames: ['t'], serverAssignor: null, topicPartitions: [], ...overrides };
}

const client = { clientId: 'kip848', clientHost: '/127.0.0.1' };

/** Each partition is held (assigned or pending revocation) by at most one member. */
function expectNoPartitionTwice(consumer: ConsumerGroupCoordinator): void {
  const group = consumer.group('g')!;
  const seen = new Set<number>();
  for (const m of group.members.values()) {
    for (const held of [m.assignedPartitions, m.partitionsPendingRevocation]) {
      for (const p of held.get(TOPIC_ID) ?? []) {
        expect(seen.has(p), `partition ${p} held twice`).toBe(false);
        seen.add(p);
      }
    }
  }
}

describe('online upgrade of a classic group and downgrade back', () => {
  it('converts both ways, moves partitions by revocation, and reloads each state', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore(4);
    const { coordinator, consumer, timer } = await start(store, clock);
    const [a, b] = await classicGroup(coordinator, timer);
    expect(coordinator.group('g')).toBeInstanceOf(ClassicGroup);

    // 1. A KIP-848 member joins: the group upgrades in one append starting with the classic group's tombstone.
    const appendsBefore = store.appends.length;
    const k = await consumer.heartbeat(heartbeat({}), client);
    expect(k.errorCode).toBe(ErrorCode.NONE);
    expect(store.appends.length).toBe(appendsBefore + 1);
    const upgrade = store.appends.at(-1)!;
    expect(upgrade[0]).toEqual({ type: 'group', groupId: 'g', value: null });
    const kinds = upgrade.slice(1).map((r) => (r.type === 'raw' ? decodeRecord(r.key, r.value).kind : r.type));
    expect(kinds.slice(0, 2)).toEqual(['member-metadata', 'member-metadata']);
    expect(kinds).toContain('current-member-assignment');
    expect(coordinator.group('g')?.type).toBe('consumer');
    expect(coordinator.listGroups([], []).groups).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Reconciling', groupType: 'consumer' }]);
    expect(coordinator.describeGroup('g').group.groupState).toBe('Dead');
    // The classic members keep their partitions at epoch = the classic generation; the new member waits for some.
    const group = consumer.group('g')!;
    expect([...group.members.get(a.memberId)!.assignedPartitions.get(TOPIC_ID)!].sort()).toEqual([0, 1]);
    expect(group.members.get(a.memberId)!.memberEpoch).toBe(a.generationId);
    expect(group.groupEpoch).toBe(a.generationId + 1);
    expect(k.assignment?.topicPartitions ?? []).toEqual([]);
    expectNoPartitionTwice(consumer);

    // 2. Classic heartbeats at their generation are told to rejoin; a wrong generation is ILLEGAL_GENERATION.
    expect(coordinator.heartbeat('g', a.memberId, null, a.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(coordinator.heartbeat('g', a.memberId, null, a.generationId + 7)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat('g', 'nobody', null, a.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    // 3. The member that must give a partition up rejoins as a cooperative client (still owning both): it is
    //    answered at once, as a follower, at its old epoch (it must revoke first); SyncGroup hands it what it
    //    keeps; its heartbeat then asks it to rejoin again.
    const target = (m: JoinResult) => group.targetAssignment.get(m.memberId)?.get(TOPIC_ID)?.size ?? 0;
    const [loser, other] = target(a) < 2 ? [a, b] : [b, a];
    expect(target(loser)).toBe(1);
    const owned = [...group.members.get(loser.memberId)!.assignedPartitions.get(TOPIC_ID)!].sort();
    const lJoin = await coordinator.joinGroup(joinRequest({ memberId: loser.memberId, protocols: [{ name: 'range', metadata: subscription(owned) }] }));
    expect(lJoin).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: '', protocolType: 'consumer', protocolName: 'range', members: [], generationId: loser.generationId });
    const lSync = await coordinator.syncGroup({ groupId: 'g', generationId: lJoin.generationId, memberId: loser.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(lSync.errorCode).toBe(ErrorCode.NONE);
    const kept = partitionsOf(lSync.assignment);
    expect(kept.length).toBe(1);
    expect(group.members.get(loser.memberId)!.state).toBe(MemberState.UNREVOKED_PARTITIONS);
    expect(coordinator.heartbeat('g', loser.memberId, null, lJoin.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expectNoPartitionTwice(consumer);
    // Having revoked, it rejoins owning only what it kept and reaches the group epoch.
    const lJoin2 = await coordinator.joinGroup(joinRequest({ memberId: loser.memberId, protocols: [{ name: 'range', metadata: subscription(kept) }] }));
    expect(lJoin2.generationId).toBe(group.groupEpoch);
    // An eager member (owns nothing when it rejoins) goes straight to its target.
    const oJoin = await coordinator.joinGroup(joinRequest({ memberId: other.memberId }));
    expect(oJoin.generationId).toBe(group.groupEpoch);
    const oSync = await coordinator.syncGroup({ groupId: 'g', generationId: oJoin.generationId, memberId: other.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(oSync.errorCode).toBe(ErrorCode.NONE);
    expect(partitionsOf(oSync.assignment).length).toBe(2);
    expect(coordinator.heartbeat('g', other.memberId, null, oJoin.generationId)).toBe(ErrorCode.NONE);
    const bJoin = b === other ? oJoin : lJoin2;
    // The KIP-848 member now gets the released partitions.
    const k2 = await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: k.memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [] }), client);
    expect(k2.errorCode).toBe(ErrorCode.NONE);
    expect(k2.assignment?.topicPartitions[0]?.partitions.length ?? 0).toBeGreaterThan(0);
    expectNoPartitionTwice(consumer);

    // 4. Classic members commit with their generation (OffsetCommit below v9 is fine for them).
    const commit = (memberId: string, generation: number) =>
      coordinator.commitOffsets({
        groupId: 'g',
        generationIdOrMemberEpoch: generation,
        memberId,
        groupInstanceId: null,
        retentionTimeMs: -1,
        apiVersion: 7,
        topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    expect((await commit(b.memberId, bJoin.generationId))[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await commit(b.memberId, bJoin.generationId - 1))[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const described = consumer.describe('g');
    expect('members' in described && described.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId, k.memberId].sort());

    // 5. A restart brings the consumer group back with its classic members (and their classic metadata).
    const reloaded = await start(store, clock);
    expect(reloaded.consumer.describe('g')).toEqual(consumer.describe('g'));
    const classicMetadata = group.members.get(b.memberId)!.classicMemberMetadata;
    expect(classicMetadata).toMatchObject({ sessionTimeoutMs: SESSION_MS, supportedProtocols: [{ name: 'range' }] });
    expect(reloaded.consumer.group('g')!.members.get(b.memberId)!.classicMemberMetadata).toEqual(classicMetadata);
    expect(reloaded.coordinator.heartbeat('g', b.memberId, null, bJoin.generationId)).toBe(ErrorCode.NONE);
    reloaded.coordinator.close();

    // 6. The KIP-848 member leaves: only classic members remain, so the group downgrades and rebalances.
    const epochBefore = group.groupEpoch;
    const left = await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: -1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }), client);
    expect(left.errorCode).toBe(ErrorCode.NONE);
    const downgrade = store.appends.at(-1)!;
    const groupRecord = downgrade.at(-1)!;
    expect(groupRecord.type).toBe('group');
    expect(groupRecord.type === 'group' && groupRecord.value?.generationId).toBe(epochBefore);
    expect(downgrade.slice(0, -1).every((r) => r.type === 'raw' && r.value === null)).toBe(true);
    const downgraded = coordinator.group('g');
    expect(downgraded).toBeInstanceOf(ClassicGroup);
    expect((downgraded as ClassicGroup).stateName()).toBe('PreparingRebalance');
    expect(consumer.group('g')).toBeUndefined();
    expect(coordinator.heartbeat('g', a.memberId, null, epochBefore)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);

    // 7. Both classic members rejoin the classic group and share all four partitions again.
    const rejoins = [
      coordinator.joinGroup(joinRequest({ memberId: a.memberId, clientId: 'a' })),
      coordinator.joinGroup(joinRequest({ memberId: b.memberId, clientId: 'b' })),
    ];
    await settle();
    timer.advance(0);
    const results = await Promise.all(rejoins);
    for (const r of results) expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(results[0].generationId).toBe(epochBefore + 1);
    const leader = results.find((r) => r.memberId === r.leaderId)!;
    expect(leader.members.length).toBe(2);
    expect((downgraded as ClassicGroup).stateName()).toBe('CompletingRebalance');

    // 8. A restart brings the downgraded classic group back.
    const again = await start(store, clock);
    const reloadedClassic = again.coordinator.group('g');
    expect(reloadedClassic).toBeInstanceOf(ClassicGroup);
    expect((reloadedClassic as ClassicGroup).allMembers().map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    again.coordinator.close();
    coordinator.close();
  });

  it('serves a new classic member joining a consumer group (MEMBER_ID_REQUIRED first) and fences it when its session ends', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore(4);
    const { coordinator, consumer } = await start(store, clock);
    const k = await consumer.heartbeat(heartbeat({}), client);
    expect(k.assignment?.topicPartitions[0].partitions).toEqual([0, 1, 2, 3]);
    const first = await coordinator.joinGroup(joinRequest({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const joined = await coordinator.joinGroup(joinRequest({ memberId: first.memberId, requireKnownMemberId: true }));
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    // All four partitions are still the KIP-848 member's: the classic member waits for its share.
    const sync = await coordinator.syncGroup({ groupId: 'g', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(partitionsOf(sync.assignment)).toEqual([]);
    expect(coordinator.heartbeat('g', joined.memberId, null, joined.generationId)).toBe(ErrorCode.NONE);
    // The KIP-848 member revokes; then the classic member's heartbeat says its partitions are free: rejoin.
    const k2 = await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: k.memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [{ topicId: TOPIC_ID, partitions: [0, 1, 2, 3] }] }), client);
    const keep = k2.assignment!.topicPartitions[0].partitions;
    expect(keep.length).toBe(2);
    await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: k2.memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [{ topicId: TOPIC_ID, partitions: keep }] }), client);
    expect(coordinator.heartbeat('g', joined.memberId, null, joined.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await coordinator.joinGroup(joinRequest({ memberId: joined.memberId }));
    const sync2 = await coordinator.syncGroup({ groupId: 'g', generationId: rejoined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(partitionsOf(sync2.assignment).length).toBe(2);
    expectNoPartitionTwice(consumer);
    // Its session timeout (its own, from JoinGroup) ends it; the group stays a consumer group.
    clock.advance(SESSION_MS + 1);
    await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: k2.memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }), client);
    await consumer.tick();
    expect(consumer.group('g')!.members.has(joined.memberId)).toBe(false);
    expect(coordinator.group('g')?.type).toBe('consumer');
    // LeaveGroup for a member that is not a classic member of the group: UNKNOWN_MEMBER_ID.
    expect(await coordinator.leave('g', [{ memberId: k.memberId!, groupInstanceId: null }])).toEqual({ errorCode: ErrorCode.NONE, memberErrors: [ErrorCode.UNKNOWN_MEMBER_ID] });
    // The fenced classic member comes back with its old id: Kafka takes it in again under that id.
    expect((await coordinator.joinGroup(joinRequest({ memberId: joined.memberId }))).errorCode).toBe(ErrorCode.NONE);
    // An empty consumer group does not know a classic member id: UNKNOWN_MEMBER_ID, so the client joins without one.
    const e = await consumer.heartbeat(heartbeat({ groupId: 'e' }), client);
    await consumer.heartbeat(heartbeat({ groupId: 'e', memberId: e.memberId!, memberEpoch: -1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }), client);
    expect(coordinator.group('e')?.type).toBe('consumer');
    expect((await coordinator.joinGroup(joinRequest({ groupId: 'e', memberId: 'gone' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    coordinator.close();
  });

  it('keeps a consumer group while a KIP-848 member remains, and downgrades when its session ends leaving classic members only', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore(4);
    const { coordinator, consumer, timer } = await start(store, clock);
    const [a, b] = await classicGroup(coordinator, timer);
    const k = await consumer.heartbeat(heartbeat({}), client);
    // A classic member leaving keeps the group a consumer group (a KIP-848 member remains).
    expect(await coordinator.leave('g', [{ memberId: a.memberId, groupInstanceId: null }])).toEqual({ errorCode: ErrorCode.NONE, memberErrors: [ErrorCode.NONE] });
    expect(coordinator.group('g')?.type).toBe('consumer');
    // The KIP-848 member stops heartbeating: its session ends and the group downgrades with b.
    clock.advance(45_001);
    coordinator.heartbeat('g', b.memberId, null, b.generationId);
    await consumer.tick();
    expect(coordinator.group('g')).toBeInstanceOf(ClassicGroup);
    expect((coordinator.group('g') as ClassicGroup).allMembers().map((m) => m.memberId)).toEqual([b.memberId]);
    expect(k.errorCode).toBe(ErrorCode.NONE);
    coordinator.close();
  });
});

describe('a migration whose records cannot be written', () => {
  it('leaves the classic group as it was (members, assignments, heartbeat timers), and the next join upgrades it', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore(4);
    const { coordinator, consumer, timer } = await start(store, clock);
    const [a, b] = await classicGroup(coordinator, timer);
    store.failWith = ErrorCode.KAFKA_STORAGE_ERROR;
    const failed = await consumer.heartbeat(heartbeat({}), client);
    expect(failed.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    const back = coordinator.group('g');
    expect(back).toBeInstanceOf(ClassicGroup);
    expect((back as ClassicGroup).stateName()).toBe('Stable');
    expect(consumer.group('g')).toBeUndefined();
    expect(coordinator.heartbeat('g', a.memberId, null, a.generationId)).toBe(ErrorCode.NONE);
    // Its members still expire: b stops heartbeating and is removed after its session timeout.
    clock.advance(SESSION_MS / 2);
    expect(coordinator.heartbeat('g', a.memberId, null, a.generationId)).toBe(ErrorCode.NONE);
    clock.advance(SESSION_MS / 2 + 1);
    timer.advance(0);
    expect((back as ClassicGroup).hasMember(b.memberId)).toBe(false);
    store.failWith = null;
    expect((await consumer.heartbeat(heartbeat({}), client)).errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('g')?.type).toBe('consumer');
    coordinator.close();
  });
});

describe('static member replacement', () => {
  it('downgrades without a rebalance when a classic static member replaces the last KIP-848 member', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore(4);
    const { coordinator, consumer, timer } = await start(store, clock);
    const [a, b] = await classicGroup(coordinator, timer);
    const k = await consumer.heartbeat(heartbeat({ instanceId: 'inst' }), client);
    expect(k.errorCode).toBe(ErrorCode.NONE);
    const group = consumer.group('g')!;
    const kTarget = [...(group.targetAssignment.get(k.memberId!)?.get(TOPIC_ID) ?? [])].sort();
    expect(kTarget.length).toBe(1);
    // The same instance comes back speaking the classic protocol.
    const joined = await coordinator.joinGroup(joinRequest({ groupInstanceId: 'inst', clientId: 'k-classic' }));
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    const downgraded = coordinator.group('g');
    expect(downgraded).toBeInstanceOf(ClassicGroup);
    expect((downgraded as ClassicGroup).stateName()).toBe('Stable');
    expect((downgraded as ClassicGroup).allMembers().map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId, joined.memberId].sort());
    expect(consumer.group('g')).toBeUndefined();
    // Its SyncGroup to the classic group hands it the partitions the KIP-848 member was to have.
    const sync = await coordinator.syncGroup({ groupId: 'g', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: 'inst', protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    expect(partitionsOf(sync.assignment)).toEqual(kTarget);
    coordinator.close();
  });
});

describe('group.consumer.migration.policy', () => {
  it('disabled and downgrade refuse the upgrade with GROUP_ID_NOT_FOUND; upgrade upgrades but never downgrades', async () => {
    for (const policy of ['disabled', 'downgrade'] as const) {
      const clock = new ManualClock();
      const { coordinator, consumer, timer } = await start(new RecordingStore(4), clock, policy);
      await classicGroup(coordinator, timer);
      const refused = await consumer.heartbeat(heartbeat({}), client);
      expect(refused.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      expect(refused.errorMessage).toBe('Group g is not a consumer group.');
      expect(coordinator.group('g')).toBeInstanceOf(ClassicGroup);
      expect((coordinator.group('g') as ClassicGroup).stateName()).toBe('Stable');
      coordinator.close();
    }
    const clock = new ManualClock();
    const { coordinator, consumer, timer } = await start(new RecordingStore(4), clock, 'upgrade');
    await classicGroup(coordinator, timer);
    const k = await consumer.heartbeat(heartbeat({}), client);
    expect(k.errorCode).toBe(ErrorCode.NONE);
    const left = await consumer.heartbeat(heartbeat({ memberId: k.memberId!, memberEpoch: -1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }), client);
    expect(left.errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('g')?.type).toBe('consumer');
    expect(consumer.group('g')!.members.size).toBe(2);
    coordinator.close();
  });

  it('refuses to upgrade a group whose protocol type is not consumer, or whose metadata is malformed', async () => {
    const clock = new ManualClock();
    const { coordinator, consumer, timer } = await start(new RecordingStore(4), clock);
    const join = coordinator.joinGroup(joinRequest({ protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.from('x') }] }));
    await settle();
    timer.advance(0);
    expect((await join).errorCode).toBe(ErrorCode.NONE);
    expect((await consumer.heartbeat(heartbeat({}), client)).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const bad = coordinator.joinGroup(joinRequest({ groupId: 'bad', protocols: [{ name: 'range', metadata: Buffer.from([0]) }] }));
    await settle();
    timer.advance(0);
    expect((await bad).errorCode).toBe(ErrorCode.NONE);
    const refused = await consumer.heartbeat(heartbeat({ groupId: 'bad' }), client);
    expect(refused.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(coordinator.group('bad')).toBeInstanceOf(ClassicGroup);
    coordinator.close();
  });
});
