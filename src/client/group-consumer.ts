// A member of a classic consumer group (protocol type `consumer`), as Kafka's
// ConsumerCoordinator runs one, for the console consumer: FindCoordinator,
// then JoinGroup (an empty member id gets MEMBER_ID_REQUIRED with the id to
// use, KIP-394), SyncGroup (the leader computes the assignment with the range
// assignor), Heartbeat every heartbeat.interval.ms on its own connection to
// the coordinator (so heartbeats never wait behind a long-polling Fetch), and
// LeaveGroup on close. A heartbeat or commit answering REBALANCE_IN_PROGRESS,
// ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID makes the next poll commit what was
// consumed and rejoin, as Kafka's onJoinPrepare does with auto-commit.
//
// Assigned partitions start at the group's committed offset, else at
// auto.offset.reset (earliest/latest; `none` fails as Kafka's
// NoOffsetForPartitionException does). What is committed is the position
// after the last record the caller marked consumed, or the start position of
// a partition nothing was consumed from yet (so a group that read nothing
// still remembers where "latest" was, as Kafka's auto-commit does).
import {
  ApiKey,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../protocol/generated/index.js';
import type { KafkaClient } from './client.js';
import { BrokerConnection } from './connection.js';
import { TopicConsumer, type CountedBatch, type FetchedRecord, type OffsetSpec } from './consumer.js';
import { ConnectionError, KafkaResponseError } from './errors.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  ErrorCodes,
  GroupAdmin,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  isCoordinatorError,
  partitionMapEntries,
  sendOffsetCommit,
  sendOffsetFetch,
  sleep,
  type TopicPartition,
} from './groups.js';

export const RANGE_ASSIGNOR = 'range';
const RETRY_BACKOFF_MS = 100;
// Kafka gives JoinGroup the rebalance timeout plus this much on top of the request timeout.
const JOIN_EXTRA_TIMEOUT_MS = 5000;
// How often the leader looks for a subscribed topic that did not exist when it assigned.
const MISSING_TOPIC_CHECK_MS = 1000;

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  clientId: string;
  groupInstanceId: string | null;
  /** session.timeout.ms */
  sessionTimeoutMs: number;
  /** max.poll.interval.ms: how long the coordinator waits for members to rejoin. */
  rebalanceTimeoutMs: number;
  /** heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  autoOffsetReset: 'earliest' | 'latest' | 'none';
  /** enable.auto.commit: commit every autoCommitIntervalMs, before rejoining and on close. */
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  isolationLevel: 0 | 1;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  requestTimeoutMs: number;
  /** Where warnings go (failed commits, lost membership). */
  warn?: (line: string) => void;
  /** Count batches instead of decoding records (see ConsumerOptions.onBatch); counted batches are marked consumed. */
  onBatch?: (batch: CountedBatch) => void;
}

export interface MemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
}

/**
 * Kafka's RangeAssignor: per topic, the subscribed members in order (static
 * members by instance id first, then by member id) each take a contiguous
 * range; the first (partitions % members) take one extra.
 */
export function rangeAssign(members: readonly MemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const ordered = [...members].sort(compareMembers);
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionsPerTopic.get(topic);
    if (count === undefined || count <= 0) continue;
    const consumers = ordered.filter((m) => m.topics.includes(topic));
    const perConsumer = Math.floor(count / consumers.length);
    const extra = count % consumers.length;
    consumers.forEach((m, i) => {
      const start = perConsumer * i + Math.min(i, extra);
      const length = perConsumer + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) out.get(m.memberId)!.push({ topic, partition: p });
    });
  }
  return out;
}

function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return compareStrings(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A classic-protocol error that no rejoin can fix. */
export class GroupMembershipError extends KafkaResponseError {}

export class GroupConsumer {
  private readonly admin: GroupAdmin;
  private coordinatorConn: BrokerConnection | null = null;
  /** The coordinator connection being opened, shared by a heartbeat and a poll that both need it. */
  private coordinatorOpening: Promise<BrokerConnection> | null = null;
  /** Set once close() has closed the coordinator connection. */
  private closed = false;
  private memberId = '';
  private generationId = -1;
  private needsJoin = true;
  private closing = false;
  /** Set by interrupt(): stop joining and return from poll as soon as possible. */
  private interrupted = false;
  private joinInFlight = false;
  private assigned: number[] = [];
  private fetcher: TopicConsumer | null = null;
  /** Next offset after the last record the caller consumed, per assigned partition. */
  private readonly consumed = new Map<number, number>();
  private readonly committed = new Map<number, number>();
  private lastCommitAtMs = Date.now();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;
  private leaderMissingTopic = false;
  private lastMissingTopicCheckMs = 0;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GroupConsumerOptions,
  ) {
    this.admin = new GroupAdmin(client, options.requestTimeoutMs);
  }

  /** The partitions of the topic this member owns in the current generation. */
  get assignment(): readonly number[] {
    return this.assigned;
  }

  get generation(): number {
    return this.generationId;
  }

  /** Joins (or rejoins) when needed, commits when due, then one round of fetches on the assigned partitions. */
  async poll(maxWaitMs: number): Promise<FetchedRecord[]> {
    if (this.closing || this.interrupted) return [];
    try {
      if (this.needsJoin) await this.rejoin();
      if (this.closing || this.interrupted) return [];
      await this.maybeAutoCommit();
      await this.checkMissingTopic();
      if (!this.fetcher || this.needsJoin) {
        if (!this.needsJoin) await sleep(Math.min(maxWaitMs, 500));
        return [];
      }
      return await this.fetcher.poll(maxWaitMs);
    } catch (err) {
      // The broker is unreachable (restarting, say): keep trying, as Kafka's consumer does; heartbeats find out whether we are still a member.
      if (!(err instanceof ConnectionError)) throw err;
      await sleep(Math.min(maxWaitMs, 500));
      return [];
    }
  }

  /**
   * Makes a poll that is waiting in JoinGroup (which the coordinator may hold
   * for up to the rebalance timeout) return now, as Kafka's wakeup() does, so
   * Ctrl-C does not wait for a rebalance. close() still commits and leaves.
   */
  interrupt(): void {
    this.interrupted = true;
    if (this.joinInFlight) this.dropCoordinator();
  }

  /** Records that the caller has processed `record`; its offset + 1 is what gets committed. */
  markConsumed(record: FetchedRecord): void {
    if (this.assigned.includes(record.partition)) this.consumed.set(record.partition, record.offset + 1);
  }

  /** Commits the consumed positions (synchronously, with the current generation). */
  async commit(): Promise<void> {
    this.lastCommitAtMs = Date.now();
    if (this.generationId < 0 || this.assigned.length === 0) return;
    const offsets = new Map<number, bigint>();
    for (const partition of this.assigned) {
      const position = this.consumed.get(partition) ?? this.fetcher?.resolvedStarts.get(partition);
      if (position === undefined || position === this.committed.get(partition)) continue;
      offsets.set(partition, BigInt(position));
    }
    if (offsets.size === 0) return;
    let errors;
    try {
      const conn = await this.ensureCoordinator();
      errors = await sendOffsetCommit(conn, this.options.groupId, new Map([[this.options.topic, offsets]]), {
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
      });
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      this.dropCoordinator();
      this.warn(`Offset commit failed: ${err.message}`);
      return;
    }
    for (const [{ partition }, code] of partitionMapEntries(errors)) {
      if (code === 0) {
        this.committed.set(partition, Number(offsets.get(partition)));
        continue;
      }
      this.onGroupError(code, 'OffsetCommit');
      this.warn(`Offset commit for partition ${this.options.topic}-${partition} failed: ${new KafkaResponseError(code).errorName}`);
    }
  }

  /** Commits (with auto-commit), leaves the group and closes the coordinator connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopHeartbeats();
    try {
      // A rebalance may be under way: the coordinator still takes commits from the current generation then.
      if (this.options.autoCommit) await this.commit();
      if (this.memberId !== '') await this.leave();
    } catch (err) {
      if (!(err instanceof ConnectionError) && !(err instanceof KafkaResponseError)) throw err;
      this.warn(`Leaving the group failed: ${err.message}`);
    } finally {
      this.closed = true;
      this.coordinatorConn?.close();
      this.coordinatorConn = null;
      this.admin.close();
    }
  }

  private warn(line: string): void {
    this.options.warn?.(`WARN ${line}`);
  }

  private async maybeAutoCommit(): Promise<void> {
    if (!this.options.autoCommit || Date.now() - this.lastCommitAtMs < this.options.autoCommitIntervalMs) return;
    await this.commit();
  }

  /** A dedicated connection to the coordinator: heartbeats must not queue behind fetches to the same broker. */
  private ensureCoordinator(): Promise<BrokerConnection> {
    if (this.coordinatorConn && !this.coordinatorConn.closed) return Promise.resolve(this.coordinatorConn);
    this.coordinatorOpening ??= this.openCoordinator().finally(() => (this.coordinatorOpening = null));
    return this.coordinatorOpening;
  }

  private async openCoordinator(): Promise<BrokerConnection> {
    const { node } = await this.admin.coordinator(this.options.groupId);
    const conn = await BrokerConnection.connect({
      host: node.host,
      port: node.port,
      clientId: this.options.clientId,
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    // close() may have run meanwhile (a heartbeat was opening this): nothing would close it later.
    if (this.closed) {
      conn.close();
      throw new ConnectionError('the consumer is closed');
    }
    this.coordinatorConn = conn;
    return conn;
  }

  private dropCoordinator(): void {
    this.coordinatorConn?.close();
    this.coordinatorConn = null;
    this.admin.close();
  }

  /** Reacts to a group error from a heartbeat or commit; throws for the fatal ones. */
  private onGroupError(code: number, api: string): void {
    switch (code) {
      case ErrorCodes.REBALANCE_IN_PROGRESS:
      case ErrorCodes.ILLEGAL_GENERATION:
        this.needsJoin = true;
        return;
      case ErrorCodes.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        this.generationId = -1;
        this.needsJoin = true;
        return;
      case ErrorCodes.FENCED_INSTANCE_ID:
        throw new GroupMembershipError(code, `${api}: another consumer with group.instance.id ${this.options.groupInstanceId} has joined the group`);
      default:
        if (isCoordinatorError(code)) {
          this.dropCoordinator();
          this.needsJoin = true;
        }
    }
  }

  /** Commits what the old generation consumed, then JoinGroup/SyncGroup until a generation is complete. */
  private async rejoin(): Promise<void> {
    this.stopHeartbeats();
    if (this.options.autoCommit && this.generationId >= 0) {
      await this.commit().catch((err: Error) => this.warn(`Offset commit before rejoining failed: ${err.message}`));
    }
    this.fetcher = null;
    this.assigned = [];
    this.consumed.clear();
    this.committed.clear();
    // Creates the topic when the broker allows it (allow.auto.create.topics), as Kafka's consumer metadata does.
    await this.client.metadata([this.options.topic], true).catch(() => undefined);
    while (!this.closing && !this.interrupted) {
      try {
        this.joinInFlight = true;
        const assignment = await this.joinAndSync().finally(() => (this.joinInFlight = false));
        if (assignment === null) continue;
        await this.startFetching(assignment.filter((tp) => tp.topic === this.options.topic).map((tp) => tp.partition));
      } catch (err) {
        // The coordinator went away (restart, move): find it again and rejoin; the generation may have moved on.
        if (!(err instanceof ConnectionError)) throw err;
        this.dropCoordinator();
        this.fetcher = null;
        this.assigned = [];
        if (!this.interrupted) await sleep(RETRY_BACKOFF_MS);
        continue;
      }
      this.needsJoin = false;
      this.startHeartbeats();
      return;
    }
  }

  /** One JoinGroup + SyncGroup round; null when it must be repeated (after a backoff where Kafka backs off). */
  private async joinAndSync(): Promise<TopicPartition[] | null> {
    const conn = await this.ensureCoordinator();
    const { groupId } = this.options;
    const metadata = encodeSubscription({
      topics: [this.options.topic],
      userData: null,
      ownedPartitions: [],
      generationId: this.generationId,
      rackId: null,
    });
    const join = await conn.request<JoinGroupResponse>(
      ApiKey.JoinGroup,
      (): JoinGroupRequest => ({
        groupId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: [{ name: RANGE_ASSIGNOR, metadata }],
        reason: this.generationId < 0 ? null : 'rejoining the group',
      }),
      Math.max(this.options.requestTimeoutMs, this.options.rebalanceTimeoutMs + JOIN_EXTRA_TIMEOUT_MS),
    );
    if (join.errorCode !== 0) return this.onJoinError(join.errorCode, join.memberId, 'JoinGroup');
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    const assignments = join.leader === join.memberId && !join.skipAssignment ? await this.assign(join.members) : [];
    const sync = await conn.request<SyncGroupResponse>(ApiKey.SyncGroup, (): SyncGroupRequest => ({
      groupId,
      generationId: join.generationId,
      memberId: join.memberId,
      groupInstanceId: this.options.groupInstanceId,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: join.protocolName,
      assignments,
    }));
    if (sync.errorCode !== 0) return this.onJoinError(sync.errorCode, this.memberId, 'SyncGroup');
    const assigned = decodeAssignment(sync.assignment);
    if (assigned === null) throw new GroupMembershipError(-1, `SyncGroup: the assignment of group ${groupId} does not decode as the consumer protocol`);
    return assigned;
  }

  private async onJoinError(code: number, memberId: string, api: string): Promise<null> {
    switch (code) {
      case ErrorCodes.MEMBER_ID_REQUIRED:
        // KIP-394: the coordinator names our member id and waits for us to join with it.
        this.memberId = memberId;
        return null;
      case ErrorCodes.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        this.generationId = -1;
        return null;
      case ErrorCodes.REBALANCE_IN_PROGRESS:
      case ErrorCodes.ILLEGAL_GENERATION:
        return null;
      default:
        if (isCoordinatorError(code)) {
          this.dropCoordinator();
          await sleep(RETRY_BACKOFF_MS);
          return null;
        }
        throw new GroupMembershipError(code, `${api} for group ${this.options.groupId} failed: ${new KafkaResponseError(code).message}`);
    }
  }

  /** The leader's part: the range assignment of every member's subscription, as SyncGroup assignments. */
  private async assign(members: JoinGroupResponse.JoinGroupResponseMember[]): Promise<SyncGroupRequest.SyncGroupRequestAssignment[]> {
    const subscriptions: MemberSubscription[] = members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      topics: decodeSubscription(m.metadata)?.topics ?? [],
    }));
    const topics = [...new Set(subscriptions.flatMap((s) => s.topics))];
    const metadata = await this.client.metadata(topics);
    const counts = new Map<string, number>();
    for (const t of metadata.topics) if (t.name !== null && t.errorCode === 0 && t.partitions.length > 0) counts.set(t.name, t.partitions.length);
    this.leaderMissingTopic = topics.some((t) => !counts.has(t));
    const result = rangeAssign(subscriptions, counts);
    return [...result].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment(partitions) }));
  }

  /** The leader rejoins once a subscribed topic that had no partitions at assignment gets some. */
  private async checkMissingTopic(): Promise<void> {
    if (!this.leaderMissingTopic || Date.now() - this.lastMissingTopicCheckMs < MISSING_TOPIC_CHECK_MS) return;
    this.lastMissingTopicCheckMs = Date.now();
    const metadata = await this.client.metadata([this.options.topic], true);
    const topic = metadata.topics.find((t) => t.name === this.options.topic);
    if (topic && topic.errorCode === 0 && topic.partitions.length > 0) {
      this.leaderMissingTopic = false;
      this.needsJoin = true;
    }
  }

  /** Committed offsets of the new assignment (waiting out unstable offsets), then a fetcher starting there. */
  private async startFetching(partitions: number[]): Promise<void> {
    this.assigned = [...partitions].sort((a, b) => a - b);
    if (this.assigned.length === 0) return;
    const starts = new Map<number, OffsetSpec>();
    for (;;) {
      const conn = await this.ensureCoordinator();
      const result = await sendOffsetFetch(conn, this.options.groupId, this.assigned.map((partition) => ({ topic: this.options.topic, partition })), true);
      const unstable = [...partitionMapEntries(result.partitionErrors)].some(([, code]) => code === ErrorCodes.UNSTABLE_OFFSET_COMMIT);
      if (result.errorCode !== 0 && !isCoordinatorError(result.errorCode)) throw new GroupMembershipError(result.errorCode, `OffsetFetch for group ${this.options.groupId} failed`);
      if (result.errorCode !== 0 || unstable) {
        if (result.errorCode !== 0) this.dropCoordinator();
        await sleep(RETRY_BACKOFF_MS);
        continue;
      }
      for (const [{ partition }, committed] of partitionMapEntries(result.offsets)) {
        starts.set(partition, Number(committed.offset));
        this.committed.set(partition, Number(committed.offset));
      }
      break;
    }
    const missing = this.assigned.filter((p) => !starts.has(p));
    if (missing.length > 0 && this.options.autoOffsetReset === 'none') {
      throw new GroupMembershipError(-1, `Undefined offset with no reset policy for partitions: [${missing.map((p) => `${this.options.topic}-${p}`).join(', ')}]`);
    }
    const reset = this.options.autoOffsetReset === 'none' ? 'latest' : this.options.autoOffsetReset;
    this.fetcher = new TopicConsumer(this.client, {
      topic: this.options.topic,
      partitions: this.assigned,
      start: reset,
      starts,
      resetTo: reset,
      isolationLevel: this.options.isolationLevel,
      fetchMaxBytes: this.options.fetchMaxBytes,
      partitionMaxBytes: this.options.partitionMaxBytes,
      requestTimeoutMs: this.options.requestTimeoutMs,
      onBatch: this.options.onBatch
        ? (batch) => {
            this.consumed.set(batch.partition, batch.nextOffset);
            this.options.onBatch!(batch);
          }
        : undefined,
    });
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    const tick = () => {
      this.heartbeatTimer = setTimeout(() => {
        void this.heartbeat().finally(() => {
          if (this.heartbeatTimer !== null && !this.needsJoin && !this.closing) tick();
        });
      }, this.options.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    };
    tick();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.needsJoin || this.closing) return;
    this.heartbeatInFlight = true;
    try {
      const conn = await this.ensureCoordinator();
      const response = await conn.request<HeartbeatResponse>(ApiKey.Heartbeat, (): HeartbeatRequest => ({
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
      }));
      if (response.errorCode !== 0) this.onGroupError(response.errorCode, 'Heartbeat');
    } catch (err) {
      // A lost connection is retried on the next beat; a fatal group error surfaces on the next poll.
      if (err instanceof ConnectionError) this.dropCoordinator();
      else this.needsJoin = true;
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  private async leave(): Promise<void> {
    const conn = await this.ensureCoordinator();
    const response = await conn.request<LeaveGroupResponse>(ApiKey.LeaveGroup, (version): LeaveGroupRequest =>
      version >= 3
        ? {
            groupId: this.options.groupId,
            members: [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId, reason: 'the consumer is being closed' }],
          }
        : { groupId: this.options.groupId, memberId: this.memberId },
    );
    const code = response.errorCode !== 0 ? response.errorCode : (response.members?.find((m) => m.errorCode !== 0)?.errorCode ?? 0);
    // The member may already be gone (session expired, group deleted): nothing left to leave.
    if (code !== 0 && code !== ErrorCodes.UNKNOWN_MEMBER_ID) throw new KafkaResponseError(code);
    this.memberId = '';
    this.generationId = -1;
  }
}
