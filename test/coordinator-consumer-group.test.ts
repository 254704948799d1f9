// The KIP-848 consumer group state machine on a ManualClock and an in-memory
// store: joins, incremental reconciliation (revoke before reassign), leaving,
// session and rebalance timeouts, static members, errors, topic changes, and
// rebuilding the same state from the stored records.
import { describe, expect, it } from 'vitest';
import { rangeAssignor } from '../src/coordinator/assignors/range.js';
import { uniformAssignor } from '../src/coordinator/assignors/uniform.js';
import { MemoryCoordinatorStore } from '../src/coordinator/coordinator-store.js';
import {
  ConsumerGroupCoordinator,
  GroupErrorCode,
  type ConsumerGroupConfig,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type TopicsImage,
} from '../src/coordinator/consumer-group-coordinator.js';
import { ManualClock } from '../src/storage/clock.js';
import { decodeRecord, encodeRecord } from '../src/coordinator/consumer-group-records.js';

const silent = { info() {}, warn() {} };

class Topics implements TopicsImage {
  readonly byName = new Map<string, { topicId: string; partitionCount: number }>();
  private next = 1;
  add(name: string, partitionCount: number): string {
    const topicId = `00000000-0000-0000-0000-${String(this.next++).padStart(12, '0')}`;
    this.byName.set(name, { topicId, partitionCount });
    return topicId;
  }
  topic(name: string) {
    return this.byName.get(name);
  }
  topicNames() {
    return this.byName.keys();
  }
  topicName(topicId: string) {
    for (const [name, t] of this.byName) if (t.topicId === topicId) return name;
    return undefined;
  }
}

function setup(overrides: Partial<ConsumerGroupConfig> = {}) {
  const clock = new ManualClock();
  const store = new MemoryCoordinatorStore(4);
  const topics = new Topics();
  const config: ConsumerGroupConfig = { heartbeatIntervalMs: 5000, sessionTimeoutMs: 45000, maxSize: 100, assignors: [uniformAssignor, rangeAssignor], ...overrides };
  const coordinator = new ConsumerGroupCoordinator(config, store, topics, clock, silent);
  return { clock, store, topics, config, coordinator };
}

/** A consumer as Kafka's client behaves: applies each assignment it gets (revoking the rest) and reports what it owns. */
class Member {
  memberId = '';
  memberEpoch = 0;
  owned = new Map<string, number[]>();
  last: HeartbeatResponse | null = null;
  constructor(
    private readonly coordinator: ConsumerGroupCoordinator,
    readonly groupId: string,
    private readonly topics: string[],
    private readonly extra: Partial<HeartbeatRequest> = {},
  ) {}

  async heartbeat(overrides: Partial<HeartbeatRequest> = {}): Promise<HeartbeatResponse> {
    const joining = this.memberEpoch === 0;
    const request: HeartbeatRequest = {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 60000 : -1,
      subscribedTopicNames: joining ? this.topics : null,
      serverAssignor: null,
      topicPartitions: [...this.owned].map(([topicId, partitions]) => ({ topicId, partitions })),
      ...this.extra,
      ...overrides,
    };
    const response = await this.coordinator.heartbeat(request, { clientId: 'test', clientHost: '/127.0.0.1' });
    this.last = response;
    if (response.errorCode !== 0) return response;
    if (response.memberId) this.memberId = response.memberId;
    this.memberEpoch = response.memberEpoch;
    if (response.assignment) this.owned = new Map(response.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions]]));
    return response;
  }

  count(): number {
    let n = 0;
    for (const ps of this.owned.values()) n += ps.length;
    return n;
  }

  partitions(topicId: string): number[] {
    return [...(this.owned.get(topicId) ?? [])].sort((a, b) => a - b);
  }
}

async function settle(members: Member[], rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const m of members) await m.heartbeat();
}

describe('ConsumerGroupCoordinator', () => {
  it('gives two members half of a 6-partition topic each, then moves partitions to a third only after they are revoked', async () => {
    const { coordinator, topics } = setup();
    const t = topics.add('orders', 6);
    const a = new Member(coordinator, 'g', ['orders']);
    const b = new Member(coordinator, 'g', ['orders']);
    await a.heartbeat();
    expect(a.memberId).not.toBe('');
    expect(a.memberEpoch).toBe(1);
    expect(a.count()).toBe(6);
    await b.heartbeat();
    // b joins at epoch 2 but a still holds everything: b gets nothing yet.
    expect(b.memberEpoch).toBe(2);
    expect(b.count()).toBe(0);
    expect(coordinator.group('g')!.state()).toBe('Reconciling');
    await a.heartbeat();
    // a is told to keep 3 (revoking 3) and stays at epoch 1 until it has revoked.
    expect(a.count()).toBe(3);
    await b.heartbeat();
    await a.heartbeat();
    expect(a.memberEpoch).toBe(2);
    await b.heartbeat();
    expect(b.count()).toBe(3);
    expect([...a.partitions(t), ...b.partitions(t)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(coordinator.group('g')!.state()).toBe('Stable');

    const c = new Member(coordinator, 'g', ['orders']);
    await c.heartbeat();
    expect(c.memberEpoch).toBe(3);
    expect(c.count()).toBe(0);
    await c.heartbeat();
    expect(c.count()).toBe(0);
    // a is told to give one up; it stays at epoch 2 until its next heartbeat shows it did.
    await a.heartbeat();
    expect(a.count()).toBe(2);
    expect(coordinator.group('g')!.members.get(a.memberId)!.memberEpoch).toBe(2);
    await a.heartbeat();
    expect(a.memberEpoch).toBe(3);
    // c now gets a's released partition but not b's, which b has not revoked yet.
    await c.heartbeat();
    expect(c.count()).toBe(1);
    expect(coordinator.group('g')!.members.get(c.memberId)!.state).toBe(1);
    const described = coordinator.describe('g');
    expect(described.errorCode).toBe(0);
    await settle([a, b, c]);
    expect([a.count(), b.count(), c.count()]).toEqual([2, 2, 2]);
    expect([...a.partitions(t), ...b.partitions(t), ...c.partitions(t)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(coordinator.group('g')!.state()).toBe('Stable');
  });

  it('never gives a partition to a member while another still owns it', async () => {
    const { coordinator, topics } = setup();
    const t = topics.add('orders', 6);
    const members = [new Member(coordinator, 'g', ['orders']), new Member(coordinator, 'g', ['orders']), new Member(coordinator, 'g', ['orders'])];
    for (let round = 0; round < 8; round++) {
      for (const m of members) {
        await m.heartbeat();
        const owners = new Map<number, number>();
        for (const other of members) for (const p of other.partitions(t)) owners.set(p, (owners.get(p) ?? 0) + 1);
        for (const count of owners.values()) expect(count).toBe(1);
      }
    }
    expect(members.map((m) => m.count())).toEqual([2, 2, 2]);
  });

  it('reassigns the partitions of a member that leaves (epoch -1)', async () => {
    const { coordinator, topics } = setup();
    topics.add('orders', 6);
    const a = new Member(coordinator, 'g', ['orders']);
    const b = new Member(coordinator, 'g', ['orders']);
    await settle([a, b]);
    expect([a.count(), b.count()]).toEqual([3, 3]);
    const left = await b.heartbeat({ memberEpoch: -1 });
    expect(left.errorCode).toBe(0);
    expect(left.memberEpoch).toBe(-1);
    await a.heartbeat();
    expect(a.count()).toBe(6);
    expect(coordinator.group('g')!.members.size).toBe(1);
  });

  it('removes a member that stops heartbeating once its session times out', async () => {
    const { coordinator, topics, clock } = setup({ sessionTimeoutMs: 10000 });
    topics.add('orders', 4);
    const a = new Member(coordinator, 'g', ['orders']);
    const b = new Member(coordinator, 'g', ['orders']);
    await settle([a, b]);
    clock.advance(6000);
    await a.heartbeat();
    await coordinator.tick();
    expect(coordinator.group('g')!.members.size).toBe(2);
    clock.advance(6000);
    await a.heartbeat();
    await coordinator.tick();
    expect([...coordinator.group('g')!.members.keys()]).toEqual([a.memberId]);
    await a.heartbeat();
    expect(a.count()).toBe(4);
    // The fenced member's next heartbeat is answered UNKNOWN_MEMBER_ID; it rejoins with epoch 0.
    expect((await b.heartbeat()).errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('fences a member that does not revoke within its rebalance timeout', async () => {
    const { coordinator, topics, clock } = setup();
    const t = topics.add('orders', 4);
    const a = new Member(coordinator, 'g', ['orders'], { rebalanceTimeoutMs: 5000 });
    await a.heartbeat();
    const b = new Member(coordinator, 'g', ['orders']);
    await b.heartbeat();
    // a is asked to revoke but keeps reporting all four partitions.
    await a.heartbeat({ rebalanceTimeoutMs: -1, topicPartitions: [{ topicId: t, partitions: [0, 1, 2, 3] }] });
    expect(coordinator.group('g')!.members.get(a.memberId)!.state).toBe(0);
    clock.advance(5001);
    await b.heartbeat();
    await coordinator.tick();
    expect(coordinator.group('g')!.members.has(a.memberId)).toBe(false);
    await b.heartbeat();
    expect(b.count()).toBe(4);
  });

  it('answers FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, INVALID_REQUEST, UNSUPPORTED_ASSIGNOR and GROUP_MAX_SIZE_REACHED', async () => {
    const { coordinator, topics } = setup({ maxSize: 2 });
    topics.add('orders', 2);
    const a = new Member(coordinator, 'g', ['orders']);
    await a.heartbeat();
    expect((await a.heartbeat({ memberEpoch: 7 })).errorCode).toBe(GroupErrorCode.FENCED_MEMBER_EPOCH);
    expect((await a.heartbeat({ memberId: 'nobody', memberEpoch: 1 })).errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
    const invalid = await coordinator.heartbeat(
      { groupId: 'g', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: ['orders'], serverAssignor: null, topicPartitions: [] },
      { clientId: 'c', clientHost: 'h' },
    );
    expect(invalid.errorCode).toBe(GroupErrorCode.INVALID_REQUEST);
    expect(invalid.errorMessage).toBe('RebalanceTimeoutMs must be provided in first request.');
    const b = new Member(coordinator, 'g', ['orders']);
    expect((await b.heartbeat({ serverAssignor: 'sticky' })).errorCode).toBe(GroupErrorCode.UNSUPPORTED_ASSIGNOR);
    expect((await b.heartbeat()).errorCode).toBe(0);
    // Kafka checks the size before the member: a full group answers an unknown member id the same way.
    expect((await new Member(coordinator, 'g', ['orders']).heartbeat()).errorCode).toBe(GroupErrorCode.GROUP_MAX_SIZE_REACHED);
    expect((await new Member(coordinator, 'nope', ['orders']).heartbeat({ memberId: 'x', memberEpoch: 3 })).errorCode).toBe(GroupErrorCode.GROUP_ID_NOT_FOUND);
    expect(coordinator.hasGroup('nope')).toBe(false);
  });

  it('accepts the previous epoch when the bump was lost and the member owns a subset', async () => {
    const { coordinator, topics } = setup();
    const t = topics.add('orders', 2);
    const a = new Member(coordinator, 'g', ['orders']);
    await a.heartbeat();
    const b = new Member(coordinator, 'g', ['orders']);
    await b.heartbeat();
    await a.heartbeat();
    await a.heartbeat();
    const m = coordinator.group('g')!.members.get(a.memberId)!;
    expect(m.memberEpoch).toBe(2);
    expect(m.previousMemberEpoch).toBe(1);
    const retried = await coordinator.heartbeat(
      { groupId: 'g', memberId: a.memberId, memberEpoch: 1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, serverAssignor: null, topicPartitions: [{ topicId: t, partitions: a.partitions(t) }] },
      { clientId: 'c', clientHost: 'h' },
    );
    expect(retried.errorCode).toBe(0);
    expect(retried.memberEpoch).toBe(2);
  });

  it('lets a static member leave with epoch -2 and come back as a new member id with its partitions', async () => {
    const { coordinator, topics } = setup();
    const t = topics.add('orders', 4);
    const a = new Member(coordinator, 'g', ['orders'], { instanceId: 'i-1' });
    const b = new Member(coordinator, 'g', ['orders']);
    await settle([a, b]);
    const kept = a.partitions(t);
    expect(kept.length).toBe(2);
    expect((await a.heartbeat({ memberEpoch: -2 })).memberEpoch).toBe(-2);
    // Another instance with the same id while it is still in the group: refused.
    const imposter = new Member(coordinator, 'g', ['orders'], { instanceId: 'i-1' });
    const a2 = new Member(coordinator, 'g', ['orders'], { instanceId: 'i-1' });
    await a2.heartbeat();
    expect(a2.last!.errorCode).toBe(0);
    expect(a2.partitions(t)).toEqual(kept);
    expect(coordinator.group('g')!.members.has(a.memberId)).toBe(false);
    expect((await imposter.heartbeat()).errorCode).toBe(GroupErrorCode.UNRELEASED_INSTANCE_ID);
    await settle([a2, b]);
    expect(b.count()).toBe(2);
  });

  it('rebalances when partitions are added to a subscribed topic or a matching topic appears', async () => {
    const { coordinator, topics } = setup();
    topics.add('orders', 2);
    const a = new Member(coordinator, 'g', ['orders', 'later']);
    const b = new Member(coordinator, 'g', ['orders', 'later']);
    await settle([a, b]);
    expect([a.count(), b.count()]).toEqual([1, 1]);
    const epoch = coordinator.group('g')!.groupEpoch;
    topics.byName.set('orders', { ...topics.byName.get('orders')!, partitionCount: 4 });
    coordinator.onTopicChange('orders');
    await settle([a, b]);
    expect(coordinator.group('g')!.groupEpoch).toBe(epoch + 1);
    expect([a.count(), b.count()]).toEqual([2, 2]);
    topics.add('later', 2);
    coordinator.onTopicChange('later');
    await settle([a, b]);
    expect([a.count(), b.count()]).toEqual([3, 3]);
  });

  it('rebuilds groups, members, epochs and assignments from the stored records', async () => {
    const { coordinator, topics, store, config, clock } = setup();
    topics.add('orders', 6);
    const a = new Member(coordinator, 'g', ['orders']);
    const b = new Member(coordinator, 'g', ['orders']);
    await settle([a, b]);
    const c = new Member(coordinator, 'g', ['orders'], { instanceId: 'static' });
    await c.heartbeat();
    await a.heartbeat();
    const reloaded = new ConsumerGroupCoordinator(config, store, topics, clock, silent);
    await reloaded.load();
    expect(reloaded.describe('g')).toEqual(coordinator.describe('g'));
    // Members carry on against the reloaded coordinator.
    for (const m of [a, b, c]) (m as unknown as { coordinator: ConsumerGroupCoordinator }).coordinator = reloaded;
    await settle([a, b, c]);
    expect([a.count(), b.count(), c.count()]).toEqual([2, 2, 2]);
    expect(reloaded.group('g')!.state()).toBe('Stable');
  });

  it('validates offset commits against member epochs', async () => {
    const { coordinator, topics } = setup();
    topics.add('orders', 2);
    const a = new Member(coordinator, 'g', ['orders']);
    await a.heartbeat();
    expect(coordinator.validateOffsetCommit('g', a.memberId, a.memberEpoch, 9)).toBeNull();
    expect(coordinator.validateOffsetCommit('g', a.memberId, a.memberEpoch - 1, 9)!.errorCode).toBe(GroupErrorCode.STALE_MEMBER_EPOCH);
    expect(coordinator.validateOffsetCommit('g', 'other', 1, 9)!.errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.validateOffsetCommit('g', a.memberId, a.memberEpoch, 8)!.errorCode).toBe(GroupErrorCode.UNSUPPORTED_VERSION);
    expect(coordinator.validateOffsetCommit('g', '', -1, 9)!.errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
    await a.heartbeat({ memberEpoch: -1 });
    expect(coordinator.validateOffsetCommit('g', '', -1, 9)).toBeNull();
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while the shared registry is still loading the group', async () => {
    const { coordinator, topics } = setup();
    topics.add('orders', 1);
    let loading = true;
    coordinator.setRegistry({ group: () => undefined, putGroup: () => {}, availability: () => (loading ? 14 : 0) });
    const a = new Member(coordinator, 'g', ['orders']);
    expect((await a.heartbeat()).errorCode).toBe(14);
    expect(coordinator.describe('g').errorCode).toBe(14);
    loading = false;
    expect((await a.heartbeat()).errorCode).toBe(0);
  });
});

describe('consumer group records', () => {
  it("use Kafka's key layout (int16 type, int16-length strings) and round-trip", () => {
    const metadata = encodeRecord({ kind: 'group-metadata', groupId: 'g', epoch: 7 });
    expect(metadata.key.toString('hex')).toBe('0003' + '0001' + '67');
    // Value: version 0, epoch, no tagged fields.
    expect(metadata.value!.toString('hex')).toBe('0000' + '00000007' + '00');
    const member = encodeRecord({ kind: 'current-member-assignment', groupId: 'g', memberId: 'm', value: { memberEpoch: 3, previousMemberEpoch: 2, state: 2, assignedPartitions: new Map([['00000000-0000-0000-0000-000000000001', new Set([1, 0])]]), partitionsPendingRevocation: new Map() } });
    expect(member.key.toString('hex')).toBe('0008' + '0001' + '67' + '0001' + '6d');
    expect(decodeRecord(member.key, member.value)).toEqual({
      kind: 'current-member-assignment',
      groupId: 'g',
      memberId: 'm',
      value: { memberEpoch: 3, previousMemberEpoch: 2, state: 2, assignedPartitions: new Map([['00000000-0000-0000-0000-000000000001', new Set([0, 1])]]), partitionsPendingRevocation: new Map() },
    });
    const tombstone = encodeRecord({ kind: 'member-metadata', groupId: 'g', memberId: 'm', value: null });
    expect(tombstone.value).toBeNull();
    expect(decodeRecord(tombstone.key, null)).toEqual({ kind: 'member-metadata', groupId: 'g', memberId: 'm', value: null });
  });
});
