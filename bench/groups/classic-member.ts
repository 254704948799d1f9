// A classic-protocol group member for the rebalance benchmark, on Samsa's own
// client connection (src/client/connection.ts) and consumer-protocol codecs:
// JoinGroup (MEMBER_ID_REQUIRED, KIP-394, answered by joining again with the
// given id), SyncGroup (the leader assigns with the client's range assignor),
// then Heartbeat every `heartbeatIntervalMs`; a heartbeat answering
// REBALANCE_IN_PROGRESS makes it rejoin at once, as Kafka's consumer does. No
// fetching and no offset fetch: the time measured is the group protocol's.
//
// Every completed SyncGroup is reported to a RebalanceWatch, which knows when
// all the members it expects hold an assignment of one generation.
import { ApiKey, type HeartbeatResponse, type JoinGroupResponse, type LeaveGroupResponse, type SyncGroupResponse } from '../../src/protocol/generated/index.js';
import { BrokerConnection } from '../../src/client/connection.js';
import { rangeAssign, RANGE_ASSIGNOR } from '../../src/client/group-consumer.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, ErrorCodes, type TopicPartition } from '../../src/client/groups.js';

export interface MemberOptions {
  port: number;
  groupId: string;
  topic: string;
  partitions: number;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

/** Knows which members should end up in one generation, and when they all did. */
export class RebalanceWatch {
  private readonly synced = new Map<ClassicMember, { generation: number; partitions: TopicPartition[] }>();
  private expected = new Set<ClassicMember>();
  private waiter: { minGeneration: number; resolve: (generation: number) => void } | null = null;
  /** When each member last sent a JoinGroup (performance.now()). */
  readonly lastJoinSentAt = new Map<ClassicMember, number>();

  constructor(private readonly totalPartitions: number) {}

  /** Resolves with the generation once exactly `members` hold one generation >= minGeneration whose assignments cover every partition once. */
  until(members: Iterable<ClassicMember>, minGeneration: number): Promise<number> {
    this.expected = new Set(members);
    return new Promise((resolve) => {
      this.waiter = { minGeneration, resolve };
      this.check();
    });
  }

  onSynced(member: ClassicMember, generation: number, partitions: TopicPartition[]): void {
    this.synced.set(member, { generation, partitions });
    this.check();
  }

  onLeft(member: ClassicMember): void {
    this.synced.delete(member);
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    let generation = -1;
    const seen = new Set<string>();
    for (const m of this.expected) {
      const s = this.synced.get(m);
      if (!s || s.generation < w.minGeneration || (generation !== -1 && s.generation !== generation)) return;
      generation = s.generation;
      for (const tp of s.partitions) {
        const key = `${tp.topic}-${tp.partition}`;
        if (seen.has(key)) return;
        seen.add(key);
      }
    }
    if (seen.size !== this.totalPartitions) return;
    this.waiter = null;
    w.resolve(generation);
  }
}

export class ClassicMember {
  memberId = '';
  generation = -1;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private joining: Promise<void> | null = null;
  /** Count of JoinGroup requests sent (MEMBER_ID_REQUIRED round trips included). */
  joins = 0;

  private constructor(
    private readonly conn: BrokerConnection,
    private readonly options: MemberOptions,
    private readonly watch: RebalanceWatch,
  ) {}

  static async connect(options: MemberOptions, watch: RebalanceWatch, clientId: string): Promise<ClassicMember> {
    const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: options.port, clientId, requestTimeoutMs: 60_000 });
    return new ClassicMember(conn, options, watch);
  }

  /** Joins (again), leaving the heartbeat loop while it does; a join already under way is shared. */
  join(): Promise<void> {
    this.joining ??= this.joinLoop().finally(() => (this.joining = null));
    return this.joining;
  }

  private async joinLoop(): Promise<void> {
    this.stopHeartbeats();
    const { groupId, topic } = this.options;
    while (!this.stopped) {
      const metadata = encodeSubscription({ topics: [topic], userData: null, ownedPartitions: [], generationId: this.generation, rackId: null });
      this.joins++;
      this.watch.lastJoinSentAt.set(this, performance.now());
      const join = await this.conn.request<JoinGroupResponse>(
        ApiKey.JoinGroup,
        () => ({
          groupId,
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: [{ name: RANGE_ASSIGNOR, metadata }],
          reason: null,
        }),
        this.options.rebalanceTimeoutMs + 10_000,
      );
      if (this.stopped) return;
      if (join.errorCode === ErrorCodes.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        continue;
      }
      if (join.errorCode === ErrorCodes.REBALANCE_IN_PROGRESS) continue;
      if (join.errorCode !== 0) throw new Error(`JoinGroup ${groupId}: error ${join.errorCode}`);
      this.memberId = join.memberId;
      this.generation = join.generationId;
      const assignments = join.leader === join.memberId ? this.assign(join.members) : [];
      const sync = await this.conn.request<SyncGroupResponse>(ApiKey.SyncGroup, () => ({
        groupId,
        generationId: join.generationId,
        memberId: join.memberId,
        groupInstanceId: null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: join.protocolName,
        assignments,
      }));
      if (this.stopped) return;
      // A member that joined meanwhile started the next rebalance: join again.
      if (sync.errorCode === ErrorCodes.REBALANCE_IN_PROGRESS || sync.errorCode === ErrorCodes.ILLEGAL_GENERATION) continue;
      if (sync.errorCode !== 0) throw new Error(`SyncGroup ${groupId}: error ${sync.errorCode}`);
      const partitions = decodeAssignment(sync.assignment);
      if (partitions === null) throw new Error(`SyncGroup ${groupId}: the assignment does not decode`);
      this.watch.onSynced(this, join.generationId, partitions);
      this.startHeartbeats();
      return;
    }
  }

  private assign(members: JoinGroupResponse.JoinGroupResponseMember[]) {
    const subscriptions = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, topics: decodeSubscription(m.metadata)?.topics ?? [] }));
    const result = rangeAssign(subscriptions, new Map([[this.options.topic, this.options.partitions]]));
    return [...result].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment(partitions) }));
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.options.heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatTimer = null;
    if (this.stopped) return;
    const response = await this.conn.request<HeartbeatResponse>(ApiKey.Heartbeat, () => ({
      groupId: this.options.groupId,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: null,
    }));
    if (this.stopped || this.joining) return;
    if (response.errorCode === 0) this.startHeartbeats();
    else if (response.errorCode === ErrorCodes.REBALANCE_IN_PROGRESS) void this.join().catch((err: Error) => this.fail(err));
    else this.fail(new Error(`Heartbeat ${this.options.groupId}: error ${response.errorCode}`));
  }

  private fail(err: Error): void {
    console.error(`member ${this.memberId}: ${err.message}`);
    this.stopped = true;
  }

  /** LeaveGroup (this member), then stop. */
  async leave(): Promise<void> {
    this.stopped = true;
    this.stopHeartbeats();
    this.watch.onLeft(this);
    const response = await this.conn.request<LeaveGroupResponse>(ApiKey.LeaveGroup, () => ({
      groupId: this.options.groupId,
      members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'bench' }],
    }));
    if (response.errorCode !== 0) throw new Error(`LeaveGroup: error ${response.errorCode}`);
  }

  close(): void {
    this.stopped = true;
    this.stopHeartbeats();
    this.conn.close();
  }
}
