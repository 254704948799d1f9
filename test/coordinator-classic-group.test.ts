// The classic group coordinator without sockets: the state machine, its
// errors and timers on a ManualClock, and what it writes to and loads from
// the coordinator store.
import { describe, expect, it } from 'vitest';
import { ClassicGroup, consumerSubscriptionTopics, type JoinRequest, type JoinResult } from '../src/coordinator/classic-group.js';
import { CoordinatorStoreError, MemoryCoordinatorStore, type CoordinatorRecord } from '../src/coordinator/coordinator-store.js';
import { GroupCoordinator, type GroupCoordinatorConfig, type OffsetCommitRequestData } from '../src/coordinator/group-coordinator.js';
import { ManualTimer } from '../src/coordinator/timer.js';
import { ConsumerGroupCoordinator } from '../src/coordinator/consumer-group-coordinator.js';
import { uniformAssignor } from '../src/coordinator/assignors/uniform.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ManualClock } from '../src/storage/clock.js';

/** The in-memory store, with a switch that makes the next appends fail with a Kafka error, and a gate on loading. */
class TestStore extends MemoryCoordinatorStore {
  failWith: number | null = null;
  readonly appended: CoordinatorRecord[] = [];
  loadGate: Promise<void> | null = null;

  override async append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    if (this.failWith !== null) throw new CoordinatorStoreError(this.failWith, 'injected');
    this.appended.push(...records);
    return super.append(partition, records);
  }

  override async load(partition: number, onRecord: (record: CoordinatorRecord) => void): Promise<void> {
    if (this.loadGate !== null) await this.loadGate;
    return super.load(partition, onRecord);
  }
}

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

async function setup(config: Partial<GroupCoordinatorConfig> = {}, store = new TestStore(10)) {
  const clock = new ManualClock();
  const timer = new ManualTimer(clock);
  const coordinator = new GroupCoordinator({ store, clock, timer, logger: { info: () => {}, warn: () => {} }, config: { initialRebalanceDelayMs: 0, ...config } });
  await coordinator.load();
  return { clock, timer, store, coordinator };
}

/** ConsumerProtocolSubscription v0: version, topics, null user data. */
function subscription(...topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), int32(topics.length)];
  for (const t of topics) parts.push(Buffer.from([t.length >> 8, t.length & 0xff]), Buffer.from(t));
  parts.push(int32(-1));
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
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('t') }],
    requireKnownMemberId: false,
    supportsSkippingAssignment: false,
    reason: null,
    ...overrides,
  };
}

/** Lets resolved promises (store appends, deferred answers) run. */
const settle = () => new Promise((r) => setImmediate(r));

/** Tracks a pending promise's outcome without awaiting it. */
function pending<T>(p: Promise<T>): { value: T | undefined; done: () => boolean } {
  const box: { value: T | undefined; settled: boolean } = { value: undefined, settled: false };
  void p.then((v) => {
    box.value = v;
    box.settled = true;
  });
  return {
    get value() {
      return box.value;
    },
    done: () => box.settled,
  };
}

function classic(coordinator: GroupCoordinator, groupId = 'g'): ClassicGroup {
  const g = coordinator.group(groupId);
  if (!(g instanceof ClassicGroup)) throw new Error(`no classic group ${groupId}`);
  return g;
}

/** Joins `count` dynamic members and completes the join phase; returns their results (leader first). */
async function joinAll(coordinator: GroupCoordinator, timer: ManualTimer, count: number, overrides: Partial<JoinRequest> = {}): Promise<JoinResult[]> {
  const joins = Array.from({ length: count }, (_, i) => coordinator.joinGroup(joinRequest({ clientId: `c${i}`, ...overrides })));
  await settle();
  timer.advance(0);
  const results = await Promise.all(joins);
  return results.sort((a, b) => (a.memberId === a.leaderId ? -1 : b.memberId === b.leaderId ? 1 : 0));
}

/** A Stable group of `count` members, each assigned a buffer naming it. */
async function stableGroup(coordinator: GroupCoordinator, timer: ManualTimer, count: number) {
  const joined = await joinAll(coordinator, timer, count);
  const [leader, ...followers] = joined;
  const syncs = followers.map((f) => coordinator.syncGroup({ groupId: 'g', generationId: f.generationId, memberId: f.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
  const leaderSync = await coordinator.syncGroup({
    groupId: 'g',
    generationId: leader.generationId,
    memberId: leader.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: joined.map((j) => ({ memberId: j.memberId, assignment: Buffer.from(j.memberId) })),
  });
  expect(leaderSync.errorCode).toBe(ErrorCode.NONE);
  for (const s of await Promise.all(syncs)) expect(s.errorCode).toBe(ErrorCode.NONE);
  return joined;
}

describe('ClassicGroup join phase', () => {
  it('answers a new v4+ member MEMBER_ID_REQUIRED with a clientId-uuid id, then joins it with that id', async () => {
    const { coordinator, timer } = await setup();
    const first = await coordinator.joinGroup(joinRequest({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^client-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first.generationId).toBe(-1);
    const join = pending(coordinator.joinGroup(joinRequest({ requireKnownMemberId: true, memberId: first.memberId })));
    await settle();
    timer.advance(0);
    await settle();
    expect(join.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, memberId: first.memberId, leaderId: first.memberId, protocolName: 'range', protocolType: 'consumer' });
    expect(join.value!.members.map((m) => m.memberId)).toEqual([first.memberId]);
    expect(classic(coordinator).currentState).toBe('CompletingRebalance');
  });

  it('forgets a pending member that does not come back within its session timeout', async () => {
    const { coordinator, timer } = await setup();
    const first = await coordinator.joinGroup(joinRequest({ requireKnownMemberId: true }));
    timer.advance(SESSION_MS);
    expect(classic(coordinator).isPendingMember(first.memberId)).toBe(false);
  });

  it('waits group.initial.rebalance.delay.ms for more members, extending it while members keep arriving', async () => {
    const { coordinator, timer } = await setup({ initialRebalanceDelayMs: 3000 });
    const a = pending(coordinator.joinGroup(joinRequest({ clientId: 'a' })));
    timer.advance(2000);
    const b = pending(coordinator.joinGroup(joinRequest({ clientId: 'b' })));
    timer.advance(1000);
    await settle();
    // b arrived during the delay: another delay starts.
    expect(a.done()).toBe(false);
    timer.advance(2999);
    await settle();
    expect(a.done()).toBe(false);
    timer.advance(1);
    await settle();
    expect(a.value!.generationId).toBe(1);
    expect(b.value!.generationId).toBe(1);
    const leader = a.value!.leaderId === a.value!.memberId ? a.value! : b.value!;
    const follower = leader === a.value! ? b.value! : a.value!;
    expect(leader.members).toHaveLength(2);
    expect(follower.members).toEqual([]);
  });

  it('refuses session timeouts outside group.min/max.session.timeout.ms', async () => {
    const { coordinator } = await setup({ minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 60_000 });
    expect((await coordinator.joinGroup(joinRequest({ sessionTimeoutMs: 5999 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.joinGroup(joinRequest({ sessionTimeoutMs: 60_001 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect(coordinator.group('g')).toBeUndefined();
  });

  it('refuses an empty group id, and a known member id for a group that does not exist', async () => {
    const { coordinator } = await setup();
    expect((await coordinator.joinGroup(joinRequest({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await coordinator.joinGroup(joinRequest({ memberId: 'ghost' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('refuses members whose protocol type differs or who share no protocol with the group (INCONSISTENT_GROUP_PROTOCOL)', async () => {
    const { coordinator, timer } = await setup();
    await joinAll(coordinator, timer, 1);
    expect((await coordinator.joinGroup(joinRequest({ protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await coordinator.joinGroup(joinRequest({ protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await coordinator.joinGroup(joinRequest({ groupId: 'other', protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('selects the protocol every member supports that most members prefer', async () => {
    const { coordinator, timer } = await setup();
    const m = (name: string) => ({ name, metadata: Buffer.from(name) });
    const joins = [
      coordinator.joinGroup(joinRequest({ protocols: [m('a'), m('b')] })),
      coordinator.joinGroup(joinRequest({ protocols: [m('b'), m('a')] })),
      coordinator.joinGroup(joinRequest({ protocols: [m('c'), m('b'), m('a')] })),
      coordinator.joinGroup(joinRequest({ protocols: [m('b'), m('a')] })),
    ];
    await settle();
    timer.advance(0);
    const results = await Promise.all(joins);
    expect(new Set(results.map((r) => r.protocolName))).toEqual(new Set(['b']));
    const leader = results.find((r) => r.memberId === r.leaderId)!;
    // The leader gets every member's metadata for the chosen protocol.
    expect(leader.members.map((x) => x.metadata.toString())).toEqual(['b', 'b', 'b', 'b']);
  });

  it('answers GROUP_MAX_SIZE_REACHED past group.max.size', async () => {
    const { coordinator, timer } = await setup({ maxSize: 2 });
    await stableGroup(coordinator, timer, 2);
    expect((await coordinator.joinGroup(joinRequest({ clientId: 'third' }))).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect(classic(coordinator).currentState).toBe('Stable');
    expect(classic(coordinator).size()).toBe(2);
  });

  it('gives a member that rejoins with the same metadata the current generation again', async () => {
    const { coordinator, timer } = await setup();
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    const again = await coordinator.joinGroup(joinRequest({ clientId: 'c1', memberId: follower.memberId }));
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, generationId: leader.generationId, memberId: follower.memberId, members: [] });
    expect(classic(coordinator).currentState).toBe('Stable');
  });
});

describe('ClassicGroup sync phase', () => {
  it('hands each member the assignment the leader sent, after writing the group record', async () => {
    const { coordinator, timer, store } = await setup();
    const [leader, follower] = await joinAll(coordinator, timer, 2);
    const followerSync = pending(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
    await settle();
    expect(followerSync.done()).toBe(false);
    const leaderSync = await coordinator.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: follower.memberId, assignment: Buffer.from('F') }, { memberId: 'not-a-member', assignment: Buffer.from('X') }],
    });
    await settle();
    // A member the leader left out gets an empty assignment.
    expect(leaderSync).toEqual({ errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.alloc(0) });
    expect(followerSync.value!.assignment.toString()).toBe('F');
    expect(classic(coordinator).currentState).toBe('Stable');
    const records = store.appended.filter((r) => r.type === 'group');
    expect(records).toHaveLength(1);
    const snapshot = (records[0] as Extract<CoordinatorRecord, { type: 'group' }>).value!;
    expect(snapshot).toMatchObject({ groupId: 'g', protocolType: 'consumer', generationId: 1, protocolName: 'range', leaderId: leader.memberId });
    expect(snapshot.members.map((m) => [m.memberId, m.assignment.toString()]).sort()).toEqual(
      [
        [leader.memberId, ''],
        [follower.memberId, 'F'],
      ].sort(),
    );
  });

  it('answers SyncGroup errors as Kafka does', async () => {
    const { coordinator, timer } = await setup();
    const base = { groupId: 'g', generationId: 1, memberId: 'x', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
    expect((await coordinator.syncGroup(base)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    expect((await coordinator.syncGroup({ ...base, memberId: 'x' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.syncGroup({ ...base, memberId: leader.memberId, generationId: 7 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await coordinator.syncGroup({ ...base, memberId: leader.memberId, protocolName: 'roundrobin' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await coordinator.syncGroup({ ...base, memberId: leader.memberId, groupInstanceId: 'i' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // The leader rejoining starts a rebalance: its old generation's SyncGroup is too early.
    void coordinator.joinGroup(joinRequest({ clientId: 'c0', memberId: leader.memberId }));
    await settle();
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
    expect((await coordinator.syncGroup({ ...base, memberId: follower.memberId })).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('on a failed group record append, answers the mapped error and rebalances', async () => {
    const { coordinator, timer, store } = await setup();
    const [leader, follower] = await joinAll(coordinator, timer, 2);
    const followerSync = pending(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
    store.failWith = ErrorCode.NOT_ENOUGH_REPLICAS;
    const leaderSync = await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await settle();
    expect(leaderSync.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(followerSync.value!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
  });

  it('removes members that do not send SyncGroup within the rebalance timeout and rebalances', async () => {
    const { coordinator, timer } = await setup();
    const [leader, follower] = await joinAll(coordinator, timer, 2);
    const leaderSync = pending(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
    await settle();
    expect(leaderSync.value!.errorCode).toBe(ErrorCode.NONE);
    // The leader heartbeats; the follower never syncs.
    for (let t = 0; t < REBALANCE_MS; t += 5000) {
      timer.advance(5000);
      coordinator.heartbeat('g', leader.memberId, null, 1);
    }
    expect(classic(coordinator).hasMember(follower.memberId)).toBe(false);
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
  });
});

describe('ClassicGroup heartbeats, expiry and leaving', () => {
  it('answers heartbeats by state, generation and member', async () => {
    const { coordinator, timer } = await setup();
    expect(coordinator.heartbeat('g', 'x', null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    expect(coordinator.heartbeat('g', leader.memberId, null, 1)).toBe(ErrorCode.NONE);
    expect(coordinator.heartbeat('g', leader.memberId, null, 2)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat('g', 'x', null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.heartbeat('', leader.memberId, null, 1)).toBe(ErrorCode.INVALID_GROUP_ID);
    void coordinator.joinGroup(joinRequest({ clientId: 'c0', memberId: leader.memberId }));
    await settle();
    expect(coordinator.heartbeat('g', follower.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('removes a member that stops heartbeating after its session timeout; the rest rebalance without it', async () => {
    const { coordinator, timer } = await setup();
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    timer.advance(SESSION_MS - 1);
    expect(coordinator.heartbeat('g', leader.memberId, null, 1)).toBe(ErrorCode.NONE);
    timer.advance(1);
    expect(classic(coordinator).hasMember(follower.memberId)).toBe(false);
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
    expect(coordinator.heartbeat('g', leader.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await coordinator.joinGroup(joinRequest({ clientId: 'c0', memberId: leader.memberId }));
    expect(rejoined).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: leader.memberId });
    expect(rejoined.members.map((m) => m.memberId)).toEqual([leader.memberId]);
  });

  it('removes members that do not rejoin within the rebalance timeout', async () => {
    const { coordinator, timer } = await setup();
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    const rejoin = pending(coordinator.joinGroup(joinRequest({ clientId: 'c0', memberId: leader.memberId })));
    // The follower keeps heartbeating but never rejoins.
    for (let t = 0; t < REBALANCE_MS; t += 5000) {
      timer.advance(5000);
      coordinator.heartbeat('g', follower.memberId, null, 1);
    }
    await settle();
    expect(rejoin.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(rejoin.value!.members.map((m) => m.memberId)).toEqual([leader.memberId]);
    expect(coordinator.heartbeat('g', follower.memberId, null, 2)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('LeaveGroup answers per member; the last member leaving empties the group and writes it', async () => {
    const { coordinator, timer, store } = await setup();
    const [leader, follower] = await stableGroup(coordinator, timer, 2);
    const left = coordinator.leaveGroup('g', [
      { memberId: follower.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
      { memberId: '', groupInstanceId: 'no-such-instance' },
    ]);
    expect(left).toEqual({ errorCode: ErrorCode.NONE, memberErrors: [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID] });
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
    expect(coordinator.leaveGroup('g', [{ memberId: leader.memberId, groupInstanceId: null }]).memberErrors).toEqual([ErrorCode.NONE]);
    await settle();
    const group = classic(coordinator);
    expect(group.currentState).toBe('Empty');
    expect(group.generationId).toBe(2);
    const last = store.appended.filter((r) => r.type === 'group').at(-1) as Extract<CoordinatorRecord, { type: 'group' }>;
    expect(last.value).toMatchObject({ generationId: 2, protocolName: null, members: [] });
    expect(coordinator.leaveGroup('nope', [{ memberId: 'm', groupInstanceId: null }])).toEqual({ errorCode: ErrorCode.NONE, memberErrors: [ErrorCode.UNKNOWN_MEMBER_ID] });
  });
});

describe('ClassicGroup static membership', () => {
  it('gives a static member that rejoins under a new member id its assignment back without a rebalance, and fences the old id', async () => {
    const { coordinator, timer } = await setup();
    const joins = [
      coordinator.joinGroup(joinRequest({ clientId: 'a', groupInstanceId: 'ia' })),
      coordinator.joinGroup(joinRequest({ clientId: 'b', groupInstanceId: 'ib' })),
    ];
    await settle();
    timer.advance(0);
    const [a, b] = await Promise.all(joins);
    expect(a.memberId.startsWith('ia-')).toBe(true);
    const leader = a.leaderId === a.memberId ? a : b;
    const follower = leader === a ? b : a;
    const followerInstance = follower === a ? 'ia' : 'ib';
    const followerSync = coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: followerInstance, protocolType: null, protocolName: null, assignments: [] });
    await coordinator.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: leader === a ? 'ia' : 'ib',
      protocolType: null,
      protocolName: null,
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.from('L') },
        { memberId: follower.memberId, assignment: Buffer.from('F') },
      ],
    });
    await followerSync;

    const restarted = await coordinator.joinGroup(joinRequest({ clientId: 'b2', groupInstanceId: followerInstance }));
    expect(restarted).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: leader.memberId, members: [] });
    expect(restarted.memberId).not.toBe(follower.memberId);
    expect(classic(coordinator).currentState).toBe('Stable');
    const synced = await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: restarted.memberId, groupInstanceId: followerInstance, protocolType: null, protocolName: null, assignments: [] });
    expect(synced.assignment.toString()).toBe('F');
    expect(coordinator.heartbeat('g', follower.memberId, followerInstance, 1)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(coordinator.heartbeat('g', restarted.memberId, followerInstance, 1)).toBe(ErrorCode.NONE);
    // Removing a static member by its instance id alone (an admin's LeaveGroup).
    expect(coordinator.leaveGroup('g', [{ memberId: '', groupInstanceId: followerInstance }]).memberErrors).toEqual([ErrorCode.NONE]);
    expect(classic(coordinator).currentState).toBe('PreparingRebalance');
  });

  it('rebalances when a rejoining static member no longer supports the group protocol', async () => {
    const { coordinator, timer } = await setup();
    await joinAll(coordinator, timer, 1, { groupInstanceId: 'i' });
    const group = classic(coordinator);
    const [only] = group.allMembers();
    await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: only.memberId, groupInstanceId: 'i', protocolType: null, protocolName: null, assignments: [] });
    expect(group.currentState).toBe('Stable');
    const rejoin = pending(coordinator.joinGroup(joinRequest({ groupInstanceId: 'i', protocols: [{ name: 'range', metadata: subscription('t') }, { name: 'sticky', metadata: Buffer.alloc(0) }] })));
    await settle();
    // Same selected protocol ('range' is still everyone's first choice): no rebalance.
    expect(rejoin.value!.generationId).toBe(1);
    const changed = pending(coordinator.joinGroup(joinRequest({ groupInstanceId: 'i', protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] })));
    await settle();
    expect(group.currentState).not.toBe('Stable');
    timer.advance(0);
    await settle();
    expect(changed.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, protocolName: 'sticky' });
  });
});

describe('GroupCoordinator offsets', () => {
  const commit = (overrides: Partial<OffsetCommitRequestData> = {}): OffsetCommitRequestData => ({
    groupId: 'g',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    apiVersion: 8,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 3, committedMetadata: 'meta' }] }],
    ...overrides,
  });
  const errorsOf = (results: Awaited<ReturnType<GroupCoordinator['commitOffsets']>>) => results.flatMap((t) => t.partitions.map((p) => p.errorCode));

  it('takes simple commits (generation -1) for a new group and fetches them back; -1 without a commit', async () => {
    const { coordinator, store } = await setup();
    expect(errorsOf(await coordinator.commitOffsets(commit()))).toEqual([ErrorCode.NONE]);
    expect(store.appended.filter((r) => r.type === 'offset')).toHaveLength(1);
    expect(classic(coordinator).currentState).toBe('Empty');
    expect(coordinator.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }])).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 3, metadata: 'meta', errorCode: ErrorCode.NONE },
            { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
          ],
        },
      ],
    });
    expect(coordinator.fetchOffsets('g', null).topics.map((t) => t.name)).toEqual(['t']);
    expect(coordinator.fetchOffsets('unknown', null)).toEqual({ errorCode: ErrorCode.NONE, topics: [] });
  });

  it('checks generation and member of commits against the group', async () => {
    const { coordinator, timer } = await setup();
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: 'm' })))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: 'm', apiVersion: 9 })))).toEqual([ErrorCode.GROUP_ID_NOT_FOUND]);
    const [leader, follower] = await joinAll(coordinator, timer, 2);
    // Between JoinGroup and SyncGroup: retry after the sync.
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: leader.memberId })))).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    const syncs = [leader, follower].map((m) => coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: m.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
    await Promise.all(syncs);
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: leader.memberId })))).toEqual([ErrorCode.NONE]);
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 2, memberId: leader.memberId })))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(errorsOf(await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: 'ghost' })))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    // A simple commit into a group with members.
    expect(errorsOf(await coordinator.commitOffsets(commit()))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(errorsOf(await coordinator.commitOffsets(commit({ groupId: '' })))).toEqual([ErrorCode.INVALID_GROUP_ID]);
  });

  it('refuses metadata over offset.metadata.max.bytes per partition and maps failed appends', async () => {
    const { coordinator, store } = await setup({ offsetMetadataMaxBytes: 4 });
    const twoPartitions = commit({
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: 'long!' },
            { partitionIndex: 1, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(errorsOf(await coordinator.commitOffsets(twoPartitions))).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE]);
    store.failWith = ErrorCode.RECORD_LIST_TOO_LARGE;
    expect(errorsOf(await coordinator.commitOffsets(commit({ topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] })))).toEqual([
      ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
    ]);
    store.failWith = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    expect(errorsOf(await coordinator.commitOffsets(commit()))).toEqual([ErrorCode.NOT_COORDINATOR]);
    store.failWith = ErrorCode.REQUEST_TIMED_OUT;
    expect(errorsOf(await coordinator.commitOffsets(commit()))).toEqual([ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    expect(coordinator.committedOffset('g', 't', 2)).toBeUndefined();
    expect(coordinator.committedOffset('g', 't', 1)?.offset).toBe(1n);
  });

  it('deletes only empty groups, with tombstones for the group and every offset', async () => {
    const { coordinator, timer, store } = await setup();
    await coordinator.commitOffsets(commit({ groupId: 'simple' }));
    await stableGroup(coordinator, timer, 1);
    expect(await coordinator.deleteGroups(['g', 'simple', 'missing', ''])).toEqual([ErrorCode.NON_EMPTY_GROUP, ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND, ErrorCode.INVALID_GROUP_ID]);
    expect(coordinator.group('simple')).toBeUndefined();
    expect(coordinator.fetchOffsets('simple', null).topics).toEqual([]);
    expect(store.appended.slice(-2)).toEqual([
      { type: 'offset', groupId: 'simple', topic: 't', partition: 0, value: null },
      { type: 'group', groupId: 'simple', value: null },
    ]);
  });

  it('deletes offsets of an empty group, and of a consumer group only for topics it does not subscribe to', async () => {
    const { coordinator, timer } = await setup();
    await coordinator.commitOffsets(commit({ groupId: 'simple' }));
    expect(await coordinator.deleteOffsets('simple', [{ name: 't', partitions: [0, 5] }])).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }, { partitionIndex: 5, errorCode: ErrorCode.NONE }] }],
    });
    expect(coordinator.committedOffset('simple', 't', 0)).toBeUndefined();
    expect((await coordinator.deleteOffsets('missing', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);

    const [leader] = await stableGroup(coordinator, timer, 1);
    await coordinator.commitOffsets(commit({ generationIdOrMemberEpoch: 1, memberId: leader.memberId, topics: [{ name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] }));
    const deleted = await coordinator.deleteOffsets('g', [
      { name: 't', partitions: [0] },
      { name: 'other', partitions: [0] },
    ]);
    expect(deleted.topics.map((t) => [t.name, t.partitions[0].errorCode])).toEqual([
      ['t', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      ['other', ErrorCode.NONE],
    ]);

    const connectJoin = coordinator.joinGroup(joinRequest({ groupId: 'connect', protocolType: 'connect' }));
    timer.advance(0);
    await connectJoin;
    expect((await coordinator.deleteOffsets('connect', [{ name: 't', partitions: [0] }])).errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
  });

  it('reads the topics of a ConsumerProtocolSubscription', () => {
    expect(consumerSubscriptionTopics(subscription('a', 'bb'))).toEqual(['a', 'bb']);
    expect(consumerSubscriptionTopics(Buffer.from([0, 0, 0x7f, 0, 0, 0]))).toBeNull();
    expect(consumerSubscriptionTopics(Buffer.alloc(2))).toBeNull();
  });
});

describe('GroupCoordinator admin views and loading', () => {
  it('lists groups with state and type filters, and describes them as Kafka does', async () => {
    const { coordinator, timer } = await setup();
    await stableGroup(coordinator, timer, 1);
    await coordinator.commitOffsets({ groupId: 'simple', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, apiVersion: 8, topics: [] });
    await coordinator.commitOffsets({
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    const all = coordinator.listGroups([], []);
    expect(all.groups.map((g) => [g.groupId, g.protocolType, g.groupState, g.groupType]).sort()).toEqual([
      ['g', 'consumer', 'Stable', 'classic'],
      ['simple', '', 'Empty', 'classic'],
    ]);
    expect(coordinator.listGroups(['STABLE'], []).groups.map((g) => g.groupId)).toEqual(['g']);
    expect(coordinator.listGroups([], ['consumer']).groups).toEqual([]);
    const described = coordinator.describeGroup('g');
    expect(described.errorCode).toBe(ErrorCode.NONE);
    expect(described.group).toMatchObject({ groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(described.group.members[0]).toMatchObject({ clientId: 'c0', clientHost: '/127.0.0.1' });
    expect(coordinator.describeGroup('missing')).toEqual({ errorCode: ErrorCode.NONE, group: { groupState: 'Dead', protocolType: '', protocolData: '', members: [] } });
  });

  it('rebuilds groups and offsets from the store; loaded members expire after their session timeout', async () => {
    const store = new TestStore(10);
    const first = await setup({}, store);
    const [leader, follower] = await stableGroup(first.coordinator, first.timer, 2);
    await first.coordinator.commitOffsets({
      groupId: 'g',
      generationIdOrMemberEpoch: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    await first.coordinator.commitOffsets({
      groupId: 'gone',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    expect(await first.coordinator.deleteGroups(['gone'])).toEqual([ErrorCode.NONE]);
    first.coordinator.close();

    const second = await setup({}, store);
    const group = classic(second.coordinator);
    expect(group.currentState).toBe('Stable');
    expect(group.generationId).toBe(1);
    expect(group.allMembers().map((m) => m.memberId).sort()).toEqual([leader.memberId, follower.memberId].sort());
    expect(second.coordinator.committedOffset('g', 't', 0)?.offset).toBe(7n);
    expect(second.coordinator.group('gone')).toBeUndefined();
    // A member still alive keeps its place by heartbeating; the other one expires.
    const synced = await second.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(synced.assignment.toString()).toBe(follower.memberId);
    second.timer.advance(SESSION_MS / 2);
    expect(second.coordinator.heartbeat('g', follower.memberId, null, 1)).toBe(ErrorCode.NONE);
    second.timer.advance(SESSION_MS / 2);
    expect(group.hasMember(leader.memberId)).toBe(false);
    expect(group.currentState).toBe('PreparingRebalance');
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while loading (heartbeats pass)', async () => {
    const store = new TestStore(10);
    let open!: () => void;
    store.loadGate = new Promise((r) => (open = r));
    const clock = new ManualClock();
    const coordinator = new GroupCoordinator({ store, clock, timer: new ManualTimer(clock), logger: { info: () => {}, warn: () => {} }, config: { initialRebalanceDelayMs: 0 } });
    const loading = coordinator.load();
    expect((await coordinator.joinGroup(joinRequest())).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.fetchOffsets('g', null).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.describeGroup('g').errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.listGroups([], []).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.heartbeat('g', 'm', null, 1)).toBe(ErrorCode.NONE);
    open();
    await loading;
    expect(coordinator.fetchOffsets('g', null).errorCode).toBe(ErrorCode.NONE);
  });
});

describe('GroupCoordinator offset retention', () => {
  const simpleCommit = (groupId: string, retentionTimeMs = -1): OffsetCommitRequestData => ({
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs,
    apiVersion: 8,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });

  it('expires offsets of a simple group offsets.retention.minutes after the commit, then the group', async () => {
    const { coordinator, timer, store } = await setup({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    await coordinator.commitOffsets(simpleCommit('simple'));
    timer.advance(50_000);
    await settle();
    expect(coordinator.committedOffset('simple', 't', 0)).toBeDefined();
    timer.advance(10_000);
    await settle();
    expect(coordinator.committedOffset('simple', 't', 0)).toBeUndefined();
    expect(coordinator.group('simple')).toBeUndefined();
    expect(store.appended.slice(-2)).toEqual([
      { type: 'offset', groupId: 'simple', topic: 't', partition: 0, value: null },
      { type: 'group', groupId: 'simple', value: null },
    ]);
  });

  it('keeps offsets of a live consumer group for its subscribed topics, and counts an empty group from when it emptied', async () => {
    const { coordinator, timer, clock } = await setup({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    const [leader] = await stableGroup(coordinator, timer, 1);
    await coordinator.commitOffsets({ ...simpleCommit('g'), generationIdOrMemberEpoch: 1, memberId: leader.memberId });
    for (let t = 0; t < 120_000; t += 5000) {
      timer.advance(5000);
      coordinator.heartbeat('g', leader.memberId, null, 1);
    }
    await settle();
    // The member subscribes to 't': its offset stays however old.
    expect(coordinator.committedOffset('g', 't', 0)).toBeDefined();
    coordinator.leaveGroup('g', [{ memberId: leader.memberId, groupInstanceId: null }]);
    const emptiedAtMs = clock.nowMs();
    timer.advance(50_000);
    await settle();
    expect(coordinator.committedOffset('g', 't', 0)).toBeDefined();
    timer.advance(20_000);
    await settle();
    expect(clock.nowMs() - emptiedAtMs).toBeGreaterThanOrEqual(60_000);
    expect(coordinator.committedOffset('g', 't', 0)).toBeUndefined();
    expect(coordinator.group('g')).toBeUndefined();
  });

  it('honours an explicit retention time from OffsetCommit v2-4', async () => {
    const { coordinator, timer } = await setup({ offsetsRetentionMs: 600_000, offsetsRetentionCheckIntervalMs: 10_000 });
    await coordinator.commitOffsets(simpleCommit('short', 15_000));
    timer.advance(10_000);
    await settle();
    expect(coordinator.committedOffset('short', 't', 0)).toBeDefined();
    timer.advance(10_000);
    await settle();
    expect(coordinator.committedOffset('short', 't', 0)).toBeUndefined();
  });
});

describe('GroupCoordinator with KIP-848 consumer groups in its registry', () => {
  it('routes offsets, ListGroups, DescribeGroups and the classic-to-consumer conversion by group type', async () => {
    const { coordinator, store, clock } = await setup();
    const topics = {
      topic: (name: string) => (name === 't' ? { topicId: '00000000-0000-0000-0000-000000000001', partitionCount: 1 } : undefined),
      topicNames: () => ['t'],
      topicName: (id: string) => (id === '00000000-0000-0000-0000-000000000001' ? 't' : undefined),
    };
    const consumerGroups = new ConsumerGroupCoordinator({ heartbeatIntervalMs: 5000, sessionTimeoutMs: 45_000, maxSize: 100, assignors: [uniformAssignor] }, store, topics, clock, { info() {}, warn() {} });
    consumerGroups.setRegistry(coordinator);
    // An empty classic group (offsets only) becomes a consumer group on the first heartbeat.
    await coordinator.commitOffsets({
      groupId: 'cg',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 9,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    const joined = await consumerGroups.heartbeat(
      { groupId: 'cg', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 60_000, subscribedTopicNames: ['t'], serverAssignor: null, topicPartitions: [] },
      { clientId: 'c', clientHost: '/127.0.0.1' },
    );
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('cg')?.type).toBe('consumer');
    expect(coordinator.committedOffset('cg', 't', 0)?.offset).toBe(5n);
    expect(coordinator.listGroups([], ['consumer']).groups).toEqual([{ groupId: 'cg', protocolType: 'consumer', groupState: expect.any(String), groupType: 'consumer' }]);
    expect(coordinator.describeGroup('cg').group.groupState).toBe('Dead');
    const commit = (memberEpoch: number) =>
      coordinator.commitOffsets({
        groupId: 'cg',
        generationIdOrMemberEpoch: memberEpoch,
        memberId: joined.memberId!,
        groupInstanceId: null,
        retentionTimeMs: -1,
        apiVersion: 9,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 9n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    expect((await commit(joined.memberEpoch + 5))[0].partitions[0].errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await commit(joined.memberEpoch))[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.fetchOffsets('cg', null, joined.memberId!, joined.memberEpoch).topics[0].partitions[0].committedOffset).toBe(9n);
    expect(coordinator.fetchOffsets('cg', null, 'someone', 3).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await coordinator.deleteGroups(['cg'])).toEqual([ErrorCode.NON_EMPTY_GROUP]);
    // A classic join to a non-empty consumer group joins that group (Kafka 4.0); it never creates a second group of that id.
    const classicJoin = await coordinator.joinGroup(joinRequest({ groupId: 'cg' }));
    expect(classicJoin.errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('cg')?.type).toBe('consumer');
    expect(consumerGroups.describe('cg')).toMatchObject({ members: expect.arrayContaining([expect.objectContaining({ memberId: classicJoin.memberId })]) });
    // Protocols other than the consumer embedded protocol are refused.
    expect((await coordinator.joinGroup(joinRequest({ groupId: 'cg', protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });
});
