// The KIP-848 consumer group coordinator (Kafka's GroupMetadataManager, the
// consumer-group half): ConsumerGroupHeartbeat, ConsumerGroupDescribe, the
// session and rebalance timeouts, topic metadata changes, and the checks
// OffsetCommit/OffsetFetch make against member epochs; and Kafka 4.0's online
// migration (group.consumer.migration.policy): a ConsumerGroupHeartbeat join
// upgrades a non-empty classic group, whose members then live here speaking
// the classic protocol (classicJoin/Sync/Heartbeat/Leave, their own session,
// sync and join timeouts), and the group goes back to a classic group
// (downgrade) when only such members remain.
//
// Every change is a list of records (consumer-group-records.ts) replayed into
// the in-memory group at once and appended to the group's `__consumer_offsets`
// partition through the CoordinatorStore before the answer goes out. A change
// is all or nothing (atomically()): when it throws or its append fails, the
// group, its timers and its registration are put back as they were, as
// Kafka's runtime reverts its timeline to the last written offset. `load()`
// replays the same records at start-up. Timers are not records: at load every
// member gets a fresh session timeout, and members revoking partitions a fresh
// rebalance timeout, as Kafka schedules them when a coordinator loads.
//
// Time comes from the injected clock; `tick()` fires the timeouts that are due
// (the broker calls it periodically, tests after advancing a ManualClock).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../storage/clock.js';
import type { ClassicGroupSnapshot, CoordinatorRecord, CoordinatorStore } from './coordinator-store.js';
import { CoordinatorStoreError } from './coordinator-store.js';
import { groupAppendErrorToResponse, type CoordinatorGroup, type DescribedGroup as ClassicDescribedGroup } from './group-coordinator.js';
import { ClassicGroup, joinError, syncError, type JoinRequest, type JoinResult, type LeavingMember, type SyncRequest, type SyncResult } from './classic-group.js';
import { decodeConsumerAssignment, decodeConsumerSubscription, encodeConsumerAssignment, subscriptionVersion, type TopicPartitionList } from './consumer-protocol.js';
import { PartitionAssignorError, type AssignmentMember, type PartitionAssignor, type TopicPartitions } from './assignors/assignor.js';
import { decodeRecord, encodeRecord, isConsumerGroupKey, type ClassicMemberMetadata, type ConsumerGroupRecord, type MemberSubscription, type SubscribedTopic } from './consumer-group-records.js';
import {
  ConsumerGroup,
  EMPTY_ASSIGNMENT,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  MemberState,
  newMember,
  reconcile,
  sameAssignment,
  sameMember,
  subscriptionOf,
  type ConsumerGroupCheckpoint,
  type ConsumerGroupMember,
  type ConsumerGroupState,
  type OwnedPartitions,
} from './consumer-group.js';

/** Kafka error codes this coordinator answers with (org.apache.kafka.common.protocol.Errors). */
export const GroupErrorCode = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  REBALANCE_IN_PROGRESS: 27,
  MEMBER_ID_REQUIRED: 79,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  GROUP_ID_NOT_FOUND: 69,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
  INVALID_REGULAR_EXPRESSION: 128,
} as const;

/** A failure answered with a Kafka error code and message. */
export class GroupError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ConsumerGroupConfig {
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs: number;
  /** group.consumer.max.size */
  maxSize: number;
  /** group.consumer.assignors, in preference order: the first is the default. */
  assignors: readonly PartitionAssignor[];
  /** group.consumer.migration.policy (Kafka 4.0's default: bidirectional). */
  migrationPolicy?: MigrationPolicy;
  /** group.max.size: a downgrade to a classic group larger than this is refused. */
  classicGroupMaxSize?: number;
}

/** group.consumer.migration.policy: which online conversions between classic and consumer groups are allowed. */
export type MigrationPolicy = 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';


/** The topics the coordinator can see: name → wire topic id and partition count. */
export interface TopicsImage {
  topic(name: string): { topicId: string; partitionCount: number } | undefined;
  topicNames(): Iterable<string>;
  topicName(topicId: string): string | undefined;
}

/**
 * The group registry shared with classic groups (GroupCoordinator): a group
 * id has one type. Consumer groups are registered there (as
 * ConsumerGroupEntry) so ListGroups, DescribeGroups, DeleteGroups and the
 * offset APIs see them; a classic group becomes a consumer group when a
 * member joins with ConsumerGroupHeartbeat (an empty one always, a non-empty
 * one as the migration policy allows), and back (putClassicGroup).
 */
export interface GroupRegistry {
  group(groupId: string): CoordinatorGroup | undefined;
  putGroup(group: CoordinatorGroup): void;
  /** NONE, or COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE while the group's partition is not loaded. */
  availability(groupId: string): number;
  /**
   * Registers a classic group rebuilt from `snapshot` under its id (online
   * downgrade, or undoing an upgrade whose records could not be written);
   * its members must heartbeat within their session timeouts; with a reason,
   * it rebalances at once.
   */
  putClassicGroup?(snapshot: ClassicGroupSnapshot, rebalanceReason: string | null): void;
}


export interface ConsumerGroupLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  /** Only in ConsumerGroupHeartbeat v1 (Kafka 4.0); null from v0 clients. */
  subscribedTopicRegex?: string | null;
  serverAssignor: string | null;
  topicPartitions: Array<{ topicId: string; partitions: number[] }> | null;
}

export interface HeartbeatResponse {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: Array<{ topicId: string; partitions: number[] }> } | null;
}

export interface ClientInfo {
  clientId: string;
  clientHost: string;
}

export interface DescribedMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: Array<{ topicId: string; topicName: string; partitions: number[] }>;
  targetAssignment: Array<{ topicId: string; topicName: string; partitions: number[] }>;
}

export type DescribedGroup =
  | { errorCode: 0; groupId: string; groupState: ConsumerGroupState; groupEpoch: number; assignmentEpoch: number; assignorName: string; members: DescribedMember[] }
  | { errorCode: number; errorMessage: string; groupId: string };

export interface ListedGroup {
  groupId: string;
  groupState: ConsumerGroupState;
}

/** What a change defers until its records are written. */
interface ChangeContext {
  onCommit: Array<() => void>;
}

/** A group as it was before a change, to put back when the change fails. */
interface GroupUndo {
  groupId: string;
  group: ConsumerGroup | undefined;
  state: ConsumerGroupCheckpoint | undefined;
  sessions: Map<string, number> | undefined;
  rebalances: Map<string, { epoch: number; deadlineMs: number }> | undefined;
  syncs: Map<string, number> | undefined;
  joins: Map<string, number> | undefined;
  registered: CoordinatorGroup | undefined;
  registeredAlive: boolean;
}

/** OffsetCommit: v9 is the first version that carries member epochs (KIP-848). */
const OFFSET_COMMIT_MEMBER_EPOCH_VERSION = 9;

export class ConsumerGroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>();
  /** groupId → memberId → when the session ends. */
  private readonly sessionDeadlines = new Map<string, Map<string, number>>();
  /** groupId → memberId → when a member revoking partitions at `epoch` is fenced. */
  private readonly rebalanceDeadlines = new Map<string, Map<string, { epoch: number; deadlineMs: number }>>();
  /** groupId → memberId → when a classic member that got its JoinGroup answer is fenced for not sending SyncGroup. */
  private readonly syncDeadlines = new Map<string, Map<string, number>>();
  /** groupId → memberId → when a classic member told to rejoin (REBALANCE_IN_PROGRESS) is fenced for not doing so. */
  private readonly joinDeadlines = new Map<string, Map<string, number>>();
  private registry: GroupRegistry | null = null;
  /** groupId → the last queued change of the group (see atomically()). */
  private readonly groupQueues = new Map<string, Promise<void>>();

  constructor(
    private readonly config: ConsumerGroupConfig,
    private readonly store: CoordinatorStore,
    private readonly topics: TopicsImage,
    private readonly clock: Clock,
    private readonly logger: ConsumerGroupLogger,
  ) {
    if (config.assignors.length === 0) throw new Error('group.consumer.assignors is empty');
  }

  /** Wires in the shared group registry; groups are registered as their partitions load. */
  setRegistry(registry: GroupRegistry | null): void {
    this.registry = registry;
  }

  /** A classic group under this id: 'none', or whether it has members. */
  private classicGroupState(groupId: string): 'none' | 'empty' | 'non-empty' {
    const g = this.registry?.group(groupId);
    if (!g || g.type !== 'classic') return 'none';
    return g.isEmpty() ? 'empty' : 'non-empty';
  }

  /** DeleteGroups, or a classic member taking over the empty group: forget it. */
  dropGroup(groupId: string): void {
    this.groups.delete(groupId);
    this.sessionDeadlines.delete(groupId);
    this.rebalanceDeadlines.delete(groupId);
    this.syncDeadlines.delete(groupId);
    this.joinDeadlines.delete(groupId);
  }

  /** A group dropped for a deletion or conversion whose records could not be written is back. */
  reviveGroup(group: ConsumerGroup): void {
    if (!this.groups.has(group.groupId)) this.groups.set(group.groupId, group);
  }

  /** The records that delete an empty consumer group (Kafka's createGroupTombstoneRecords). */
  tombstoneRecords(group: ConsumerGroup): CoordinatorRecord[] {
    const out: CoordinatorRecord[] = [];
    const encode = (record: ConsumerGroupRecord) => {
      const { key, value } = encodeRecord(record);
      out.push({ type: 'raw', key, value });
    };
    const groupId = group.groupId;
    for (const memberId of group.members.keys()) {
      encode({ kind: 'current-member-assignment', groupId, memberId, value: null });
      encode({ kind: 'target-assignment-member', groupId, memberId, partitions: null });
      encode({ kind: 'member-metadata', groupId, memberId, value: null });
    }
    encode({ kind: 'target-assignment-metadata', groupId, assignmentEpoch: null });
    encode({ kind: 'partition-metadata', groupId, topics: null });
    encode({ kind: 'group-metadata', groupId, epoch: null });
    return out;
  }

  hasGroup(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  isEmptyGroup(groupId: string): boolean {
    return (this.groups.get(groupId)?.members.size ?? 0) === 0;
  }

  listGroups(): ListedGroup[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.groupId, groupState: g.state() }));
  }

  // ---- loading ------------------------------------------------------------

  /**
   * Replays every partition of the store on its own (unit tests, or without a
   * shared registry); the broker instead feeds replay() and partitionLoaded()
   * from GroupCoordinator's single load pass.
   */
  async load(): Promise<void> {
    for (let partition = 0; partition < this.store.partitionCount; partition++) {
      await this.store.load(partition, (record) => {
        if (record.type === 'raw') this.replay(record.key, record.value);
      });
      this.partitionLoaded(partition);
    }
  }

  /** RawRecordListener: one stored record; records of other types (not KIP-848 consumer groups) are ignored. */
  replay(key: Buffer, value: Buffer | null): void {
    if (isConsumerGroupKey(key)) this.replayRaw(key, value);
  }

  /**
   * RawRecordListener: the groups of a loaded partition are registered and get
   * fresh timers (timers are not records), as Kafka schedules them when a
   * coordinator loads: a session timeout for every member, a rebalance
   * timeout for members revoking partitions.
   */
  partitionLoaded(partition: number): void {
    const nowMs = this.clock.nowMs();
    for (const group of this.groups.values()) {
      if (this.store.partitionFor(group.groupId) !== partition) continue;
      group.metadataRefreshNeeded = true;
      this.registry?.putGroup(new ConsumerGroupEntry(this, group));
      for (const member of group.members.values()) {
        this.deadlines(this.sessionDeadlines, group.groupId).set(member.memberId, nowMs + this.sessionTimeoutOf(member));
        if (member.state === MemberState.UNREVOKED_PARTITIONS && !isClassic(member)) {
          this.deadlines(this.rebalanceDeadlines, group.groupId).set(member.memberId, { epoch: member.memberEpoch, deadlineMs: nowMs + member.rebalanceTimeoutMs });
        }
      }
    }
  }

  /** Applies one stored KIP-848 record (for a coordinator that reads the log itself). */
  replayRaw(key: Buffer, value: Buffer | null): void {
    const record = decodeRecord(key, value);
    if (record.kind === 'group-metadata' && record.epoch === null) {
      this.groups.delete(record.groupId);
      return;
    }
    let group = this.groups.get(record.groupId);
    if (!group) this.groups.set(record.groupId, (group = new ConsumerGroup(record.groupId)));
    group.replay(record);
  }

  // ---- ConsumerGroupHeartbeat ------------------------------------------------

  async heartbeat(request: HeartbeatRequest, client: ClientInfo): Promise<HeartbeatResponse> {
    try {
      this.validate(request);
    } catch (err) {
      if (err instanceof GroupError) return errorResponse(err.errorCode, err.message);
      throw err;
    }
    // A classic group of this id may still be loading: answer as Kafka does until it is known.
    const unavailable = this.registry?.availability(request.groupId) ?? GroupErrorCode.NONE;
    if (unavailable !== GroupErrorCode.NONE) return errorResponse(unavailable, null);
    return this.atomically(request.groupId, (records, change) => {
      if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return this.leave(request, records, change);
      return this.join(request, client, records, change);
    });
  }

  /**
   * Runs one change of a group as Kafka's coordinator runtime runs a write
   * operation against its timeline: the change applies its records to the
   * in-memory group as it makes them, then they are appended as one batch; if
   * the change throws or the append fails, the group (its state, timers,
   * registration, and a classic group it replaced) is put back as it was and
   * the request gets the error. Changes of one group run one at a time, so
   * none builds on state that may still be rolled back.
   */
  private atomically(groupId: string, change: (records: CoordinatorRecord[], ctx: ChangeContext) => HeartbeatResponse): Promise<HeartbeatResponse>;
  private atomically<T>(groupId: string, change: (records: CoordinatorRecord[], ctx: ChangeContext) => T, failed: (errorCode: number, message: string | null) => T): Promise<T>;
  private atomically<T>(
    groupId: string,
    change: (records: CoordinatorRecord[], ctx: ChangeContext) => T,
    failed: (errorCode: number, message: string | null) => T = errorResponse as unknown as (errorCode: number, message: string | null) => T,
  ): Promise<T> {
    return this.serialized(groupId, async () => {
      const undo = this.checkpointGroup(groupId);
      const records: CoordinatorRecord[] = [];
      const ctx: ChangeContext = { onCommit: [] };
      let response: T;
      try {
        response = change(records, ctx);
      } catch (err) {
        this.rollback(undo);
        if (err instanceof GroupError) return failed(err.errorCode, err.message);
        throw err;
      }
      const failure = await this.write(groupId, records);
      if (failure) {
        this.rollback(undo);
        return failed(failure.errorCode, failure.errorMessage);
      }
      for (const f of ctx.onCommit) f();
      return response;
    });
  }

  /** Runs `task` after every earlier task of the group has finished. */
  private async serialized<T>(groupId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.groupQueues.get(groupId);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.groupQueues.set(groupId, mine);
    try {
      if (previous) await previous;
      return await task();
    } finally {
      done();
      if (this.groupQueues.get(groupId) === mine) this.groupQueues.delete(groupId);
    }
  }

  private checkpointGroup(groupId: string): GroupUndo {
    const group = this.groups.get(groupId);
    const copy = <T>(m: Map<string, T> | undefined) => (m === undefined ? undefined : new Map(m));
    const registered = this.registry?.group(groupId);
    return {
      groupId,
      group,
      state: group?.checkpoint(),
      sessions: copy(this.sessionDeadlines.get(groupId)),
      rebalances: copy(this.rebalanceDeadlines.get(groupId)),
      syncs: copy(this.syncDeadlines.get(groupId)),
      joins: copy(this.joinDeadlines.get(groupId)),
      registered,
      registeredAlive: registered !== undefined && registered.stateName() !== 'Dead',
    };
  }

  private rollback(undo: GroupUndo): void {
    const { groupId } = undo;
    const current = this.groups.get(groupId);
    if (undo.group === undefined) {
      // A group this change created is forgotten.
      if (current !== undefined) this.groups.delete(groupId);
    } else {
      undo.group.restore(undo.state!);
      this.groups.set(groupId, undo.group);
    }
    const restoreTimers = <T>(all: Map<string, Map<string, T>>, saved: Map<string, T> | undefined) => {
      if (saved === undefined) all.delete(groupId);
      else all.set(groupId, saved);
    };
    restoreTimers(this.sessionDeadlines, undo.sessions);
    restoreTimers(this.rebalanceDeadlines, undo.rebalances);
    restoreTimers(this.syncDeadlines, undo.syncs);
    restoreTimers(this.joinDeadlines, undo.joins);
    // A classic group marked dead for a conversion comes back to life.
    const classic = undo.registered;
    if (this.registry && classic !== undefined && undo.registeredAlive && classic.stateName() === 'Dead' && this.registry.group(groupId) === classic) {
      this.registry.putGroup(classic.revived());
    }
    this.logger.info(`consumer group ${groupId}: change rolled back`, { groupId });
  }

  private validate(request: HeartbeatRequest): void {
    const invalid = (message: string) => new GroupError(GroupErrorCode.INVALID_REQUEST, message);
    const epoch = request.memberEpoch;
    if ((epoch > 0 || epoch === LEAVE_GROUP_MEMBER_EPOCH) && request.memberId === '') throw invalid("MemberId can't be empty.");
    if (request.groupId === '') throw invalid("GroupId can't be empty.");
    if (request.instanceId === '') throw invalid("InstanceId can't be empty.");
    if (request.rackId === '') throw invalid("RackId can't be empty.");
    const regex = request.subscribedTopicRegex ?? null;
    if (epoch === 0) {
      if (request.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided in first request.');
      if (request.topicPartitions === null || request.topicPartitions.length > 0) throw invalid('TopicPartitions must be empty when (re-)joining.');
      const hasNames = request.subscribedTopicNames !== null && request.subscribedTopicNames.length > 0;
      const hasRegex = regex !== null && regex !== '';
      if (!hasNames && !hasRegex) throw invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (request.instanceId === null) throw invalid("InstanceId can't be null.");
    } else if (epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      throw invalid('MemberEpoch is invalid.');
    }
    if (request.serverAssignor !== null && !this.config.assignors.some((a) => a.name === request.serverAssignor)) {
      throw new GroupError(
        GroupErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${request.serverAssignor} is not supported. Supported assignors: ${this.config.assignors.map((a) => a.name).join(', ')}.`,
      );
    }
    if (regex !== null && regex !== '' && compileTopicRegex(regex) === null) {
      throw new GroupError(GroupErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${regex}\` is not a valid regular expression.`);
    }
  }

  private join(request: HeartbeatRequest, client: ClientInfo, out: CoordinatorRecord[], change: ChangeContext): HeartbeatResponse {
    const { groupId, memberEpoch } = request;
    const nowMs = this.clock.nowMs();
    const created = !this.groups.has(groupId);
    const group = this.consumerGroupForJoin(groupId, memberEpoch === 0, out);
    const response = this.heartbeatInGroup(group, request, client, nowMs, out);
    // Registered once its records are written, so a failed first join leaves no trace in ListGroups
    // (and a classic group it converted stays registered until then, so a rollback revives it).
    if (created) change.onCommit.push(() => this.registry?.putGroup(new ConsumerGroupEntry(this, group)));
    return response;
  }

  private consumerGroupForJoin(groupId: string, createIfMissing: boolean, out: CoordinatorRecord[]): ConsumerGroup {
    const existing = this.groups.get(groupId);
    if (existing) return existing;
    const classicState = this.classicGroupState(groupId);
    if (classicState === 'non-empty') {
      const classic = this.registry!.group(groupId)!;
      if (!createIfMissing || !(classic instanceof ClassicGroup) || !this.validateOnlineUpgrade(classic)) {
        throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
      }
      return this.convertToConsumerGroup(classic, out);
    }
    if (!createIfMissing) throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
    if (classicState === 'empty') {
      const classic = this.registry!.group(groupId)!;
      out.push(...classic.tombstoneRecords());
      classic.markDead();
      this.logger.info(`converted empty classic group ${groupId} to a consumer group`, { groupId });
    }
    const group = new ConsumerGroup(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  private get migrationPolicy(): MigrationPolicy {
    return this.config.migrationPolicy ?? 'bidirectional';
  }

  /** Kafka's validateOnlineUpgrade: the policy allows it, the members speak the consumer protocol, the group fits. */
  private validateOnlineUpgrade(classic: ClassicGroup): boolean {
    const groupId = classic.groupId;
    if (this.migrationPolicy !== 'upgrade' && this.migrationPolicy !== 'bidirectional') {
      this.logger.info(`cannot upgrade classic group ${groupId} to a consumer group: group.consumer.migration.policy is ${this.migrationPolicy}`, { groupId });
      return false;
    }
    if (classic.protocolType !== 'consumer') {
      this.logger.info(`cannot upgrade classic group ${groupId} to a consumer group: its protocol type is not consumer`, { groupId });
      return false;
    }
    if (classic.size() > this.config.maxSize) {
      this.logger.info(`cannot upgrade classic group ${groupId} to a consumer group: it has more members than group.consumer.max.size`, { groupId });
      return false;
    }
    return true;
  }

  /**
   * Kafka's convertToConsumerGroup / ConsumerGroup.fromClassicGroup: the
   * classic members become consumer group members that keep speaking the
   * classic protocol, at member epoch = group epoch = target assignment epoch
   * = the classic generation, Stable, owning (and targeted at) the partitions
   * of their last SyncGroup assignment. The records are the classic group's
   * tombstone and the new group's records, in one append with the joining
   * member's; if they cannot be written, atomically() revives the classic group.
   */
  private convertToConsumerGroup(classic: ClassicGroup, out: CoordinatorRecord[]): ConsumerGroup {
    const groupId = classic.groupId;
    const generation = classic.generationId;
    const converted: Array<{ subscription: MemberSubscription; assigned: TopicPartitions }> = [];
    for (const m of classic.allMembers()) {
      const metadata = classic.protocolName !== null ? m.metadata(classic.protocolName) : (m.protocols[0]?.metadata ?? Buffer.alloc(0));
      const subscription = decodeConsumerSubscription(metadata);
      const assignment = decodeConsumerAssignment(m.assignment);
      if (subscription === null || assignment === null) {
        this.logger.warn(`cannot upgrade classic group ${groupId} to a consumer group: member ${m.memberId} has a malformed consumer protocol`, { groupId });
        throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Cannot upgrade the classic group ${groupId} to consumer group because the embedded consumer protocol is malformed.`);
      }
      converted.push({
        subscription: {
          instanceId: m.groupInstanceId,
          rackId: subscription.rackId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: [...new Set(subscription.topics)].sort(),
          subscribedTopicRegex: null,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          serverAssignor: null,
          classicMemberMetadata: { sessionTimeoutMs: m.sessionTimeoutMs, supportedProtocols: m.protocols.map((p) => ({ name: p.name, metadata: p.metadata })) },
        },
        assigned: this.toTopicIds(assignment),
      });
    }
    const memberIds = classic.allMembers().map((m) => m.memberId);
    classic.abortForUpgrade();
    out.push(...classic.tombstoneRecords());
    const group = new ConsumerGroup(groupId);
    this.groups.set(groupId, group);
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    memberIds.forEach((memberId, i) => emit({ kind: 'member-metadata', groupId, memberId, value: converted[i].subscription }));
    emit({ kind: 'group-metadata', groupId, epoch: generation });
    memberIds.forEach((memberId, i) => emit({ kind: 'target-assignment-member', groupId, memberId, partitions: converted[i].assigned }));
    emit({ kind: 'target-assignment-metadata', groupId, assignmentEpoch: generation });
    memberIds.forEach((memberId, i) =>
      emit({
        kind: 'current-member-assignment',
        groupId,
        memberId,
        value: { memberEpoch: generation, previousMemberEpoch: generation, state: MemberState.STABLE, assignedPartitions: converted[i].assigned, partitionsPendingRevocation: EMPTY_ASSIGNMENT },
      }),
    );
    const nowMs = this.clock.nowMs();
    converted.forEach((c, i) => this.deadlines(this.sessionDeadlines, groupId).set(memberIds[i], nowMs + c.subscription.classicMemberMetadata!.sessionTimeoutMs));
    this.logger.info(`upgraded classic group ${groupId} (generation ${generation}, ${memberIds.length} member(s)) to a consumer group`, { groupId });
    return group;
  }

  /** Topic names (as the ConsumerProtocol carries them) to this broker's topic ids; unknown topics are left out. */
  private toTopicIds(list: readonly TopicPartitionList[]): TopicPartitions {
    const out: TopicPartitions = new Map();
    for (const t of list) {
      const topic = this.topics.topic(t.topic);
      if (!topic) continue;
      let set = out.get(topic.topicId);
      if (!set) out.set(topic.topicId, (set = new Set()));
      for (const p of t.partitions) if (p >= 0 && p < topic.partitionCount) set.add(p);
    }
    return out;
  }

  private toTopicNames(assignment: TopicPartitions): TopicPartitionList[] {
    return toWire(assignment).flatMap((t) => {
      const topic = this.topics.topicName(t.topicId);
      return topic === undefined ? [] : [{ topic, partitions: t.partitions }];
    });
  }

  private heartbeatInGroup(group: ConsumerGroup, request: HeartbeatRequest, client: ClientInfo, nowMs: number, out: CoordinatorRecord[]): HeartbeatResponse {
    const { groupId, memberEpoch } = request;
    const owned: OwnedPartitions = request.topicPartitions;
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    const memberId = memberEpoch === 0 && request.memberId === '' ? newMemberId() : request.memberId;
    this.throwIfGroupIsFull(group, memberId);

    const member = request.instanceId === null ? this.dynamicMember(group, memberId, memberEpoch, owned) : this.staticMember(group, memberId, request.instanceId, memberEpoch, owned, emit);
    const before = member;

    // 1. The member's subscription (fields left null did not change).
    const subscription: MemberSubscription = {
      instanceId: request.instanceId ?? member.instanceId,
      rackId: request.rackId ?? member.rackId,
      clientId: client.clientId,
      clientHost: client.clientHost,
      subscribedTopicNames: request.subscribedTopicNames !== null ? [...new Set(request.subscribedTopicNames)].sort() : member.subscribedTopicNames,
      subscribedTopicRegex: request.subscribedTopicRegex === undefined || request.subscribedTopicRegex === null ? member.subscribedTopicRegex : request.subscribedTopicRegex === '' ? null : request.subscribedTopicRegex,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs !== -1 ? request.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: request.serverAssignor ?? member.serverAssignor,
      classicMemberMetadata: null,
    };
    const updated = this.updateAndReconcile(group, memberId, member, subscription, owned, emit);

    // 5. Timers: the session restarts with every heartbeat; a member revoking partitions has its rebalance timeout.
    this.deadlines(this.sessionDeadlines, groupId).set(memberId, nowMs + this.config.sessionTimeoutMs);
    const rebalance = this.deadlines(this.rebalanceDeadlines, groupId);
    if (updated.state === MemberState.UNREVOKED_PARTITIONS) {
      const scheduled = rebalance.get(memberId);
      if (!scheduled || scheduled.epoch !== updated.memberEpoch || before.state !== MemberState.UNREVOKED_PARTITIONS) {
        rebalance.set(memberId, { epoch: updated.memberEpoch, deadlineMs: nowMs + updated.rebalanceTimeoutMs });
      }
    } else {
      rebalance.delete(memberId);
    }

    // The assignment goes out on a full request (join, or a client resending everything after an error) or when it changed.
    const fullRequest =
      memberEpoch === 0 || (request.rebalanceTimeoutMs !== -1 && (request.subscribedTopicNames !== null || (request.subscribedTopicRegex ?? null) !== null) && owned !== null);
    const sendAssignment = fullRequest || !sameAssignment(before.assignedPartitions, updated.assignedPartitions);
    return {
      errorCode: GroupErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch: updated.memberEpoch,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignment: sendAssignment ? { topicPartitions: toWire(updated.assignedPartitions) } : null,
    };
  }

  private throwIfGroupIsFull(group: ConsumerGroup, memberId: string): void {
    if (group.members.size >= this.config.maxSize && (memberId === '' || !group.members.has(memberId))) {
      throw new GroupError(GroupErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`);
    }
  }

  /**
   * Steps 1-4 of a heartbeat or a classic member's JoinGroup: the member's
   * new subscription, the group epoch and subscribed topics, the target
   * assignment, and the member's move towards it. Returns the member after.
   */
  private updateAndReconcile(
    group: ConsumerGroup,
    memberId: string,
    member: ConsumerGroupMember,
    subscription: MemberSubscription,
    owned: OwnedPartitions,
    emit: (record: ConsumerGroupRecord) => void,
  ): ConsumerGroupMember {
    const groupId = group.groupId;
    let bumpGroupEpoch = false;
    if (!group.members.has(memberId) || !sameSubscription(subscriptionOf(member), subscription)) {
      emit({ kind: 'member-metadata', groupId, memberId, value: subscription });
      if (!group.members.has(memberId) || member.subscribedTopicNames.join('\0') !== subscription.subscribedTopicNames.join('\0') || member.subscribedTopicRegex !== subscription.subscribedTopicRegex) {
        bumpGroupEpoch = true;
      }
    }

    // 2. The subscribed topics, and the group epoch when anything changed.
    if (bumpGroupEpoch || group.metadataRefreshNeeded) {
      const topics = this.subscribedTopics(group);
      group.metadataRefreshNeeded = false;
      if (!sameTopics(topics, group.subscribedTopics)) {
        emit({ kind: 'partition-metadata', groupId, topics: [...topics.values()] });
        bumpGroupEpoch = true;
      }
    }
    if (bumpGroupEpoch) {
      emit({ kind: 'group-metadata', groupId, epoch: group.groupEpoch + 1 });
      this.logger.info(`consumer group ${groupId}: epoch ${group.groupEpoch}`, { groupId, groupEpoch: group.groupEpoch });
    }

    // 3. A new target assignment for a new group epoch.
    if (group.groupEpoch > group.assignmentEpoch) this.updateTargetAssignment(group, emit);

    // 4. The member moves towards its target.
    const current = group.members.get(memberId)!;
    const target = group.targetAssignment.get(memberId) ?? EMPTY_ASSIGNMENT;
    const next = current.state === MemberState.STABLE && current.memberEpoch === group.assignmentEpoch ? current : reconcile(current, group.assignmentEpoch, target, (t, p) => group.currentPartitionEpoch(t, p), owned);
    if (next !== current && !sameMember(next, current)) {
      emit({ kind: 'current-member-assignment', groupId, memberId, value: next });
    }
    return group.members.get(memberId)!;
  }

  private dynamicMember(group: ConsumerGroup, memberId: string, memberEpoch: number, owned: OwnedPartitions): ConsumerGroupMember {
    const existing = group.members.get(memberId);
    if (memberEpoch === 0) return existing ?? newMember(memberId);
    if (!existing) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
    throwIfMemberEpochIsInvalid(existing, memberEpoch, owned);
    return existing;
  }

  private staticMember(
    group: ConsumerGroup,
    memberId: string,
    instanceId: string,
    memberEpoch: number,
    owned: OwnedPartitions,
    emit: (record: ConsumerGroupRecord) => void,
  ): ConsumerGroupMember {
    const existing = group.staticMember(instanceId);
    if (memberEpoch === 0) {
      if (!existing || existing.memberId === memberId) return existing ?? newMember(memberId);
      // A KIP-848 member replaces a previous one only once it has left (epoch -2); one that spoke the classic protocol it replaces at once.
      if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH && !isClassic(existing)) {
        throw new GroupError(GroupErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${existing.memberId} with instance id ${instanceId} is not released yet.`);
      }
      return this.replaceStaticMember(group, existing, memberId, emit);
    }
    if (!existing) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (existing.memberId !== memberId) {
      throw new GroupError(GroupErrorCode.FENCED_INSTANCE_ID, `The static member ${memberId} with instance id ${instanceId} is fenced by member ${existing.memberId}.`);
    }
    throwIfMemberEpochIsInvalid(existing, memberEpoch, owned);
    return existing;
  }

  /** The new instance takes the old one's place and partitions without a rebalance. */
  private replaceStaticMember(group: ConsumerGroup, existing: ConsumerGroupMember, memberId: string, emit: (record: ConsumerGroupRecord) => void): ConsumerGroupMember {
    const replacement: ConsumerGroupMember = { ...existing, memberId, memberEpoch: 0, previousMemberEpoch: 0, state: MemberState.STABLE, partitionsPendingRevocation: EMPTY_ASSIGNMENT };
    const target = group.targetAssignment.get(existing.memberId) ?? EMPTY_ASSIGNMENT;
    this.removeMemberRecords(group, existing.memberId, emit);
    emit({ kind: 'member-metadata', groupId: group.groupId, memberId, value: subscriptionOf(replacement) });
    emit({ kind: 'target-assignment-member', groupId: group.groupId, memberId, partitions: target });
    emit({ kind: 'current-member-assignment', groupId: group.groupId, memberId, value: replacement });
    this.forgetTimers(group.groupId, existing.memberId);
    this.logger.info(`consumer group ${group.groupId}: static member ${existing.instanceId} rejoined as ${memberId}`, { groupId: group.groupId, memberId, instanceId: existing.instanceId });
    return group.members.get(memberId)!;
  }

  private leave(request: HeartbeatRequest, out: CoordinatorRecord[], change: ChangeContext): HeartbeatResponse {
    const { groupId, memberId, instanceId, memberEpoch } = request;
    const group = this.groups.get(groupId);
    if (!group) throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    const left = { errorCode: 0, errorMessage: null, memberId, heartbeatIntervalMs: 0, assignment: null };
    if (instanceId === null) {
      const member = group.members.get(memberId);
      if (!member) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
      this.fenceMembers(group, [member], 'left the group', out, change);
      return { ...left, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH };
    }
    const member = group.staticMember(instanceId);
    if (!member) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (member.memberId !== memberId) {
      throw new GroupError(GroupErrorCode.FENCED_INSTANCE_ID, `The static member ${memberId} with instance id ${instanceId} is fenced by member ${member.memberId}.`);
    }
    if (memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // A static member leaving temporarily keeps its partitions until its session ends.
      emit({ kind: 'current-member-assignment', groupId, memberId, value: { ...member, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, previousMemberEpoch: member.memberEpoch } });
      this.deadlines(this.rebalanceDeadlines, groupId).delete(memberId);
      this.logger.info(`consumer group ${groupId}: static member ${instanceId} (${memberId}) left temporarily`, { groupId, memberId, instanceId });
      return { ...left, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH };
    }
    this.fenceMembers(group, [member], 'left the group', out, change);
    return { ...left, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH };
  }

  /**
   * Removes members (leave, timeouts) and bumps the group epoch so the others
   * get their partitions (Kafka's consumerGroupFenceMembers) — or, when only
   * members speaking the classic protocol would remain and the policy allows
   * it, converts the group back to a classic group instead (online downgrade).
   */
  private fenceMembers(group: ConsumerGroup, members: readonly ConsumerGroupMember[], reason: string, out: CoordinatorRecord[], change: ChangeContext): void {
    if (members.length === 0) return;
    const leaving = new Set(members.map((m) => m.memberId));
    if (this.validateOnlineDowngrade(group, leaving)) {
      this.convertToClassicGroup(group, leaving, reason, out, change);
      return;
    }
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    for (const member of members) {
      this.removeMemberRecords(group, member.memberId, emit);
      this.forgetTimers(group.groupId, member.memberId);
    }
    const topics = this.subscribedTopics(group);
    if (!sameTopics(topics, group.subscribedTopics)) emit({ kind: 'partition-metadata', groupId: group.groupId, topics: [...topics.values()] });
    emit({ kind: 'group-metadata', groupId: group.groupId, epoch: group.groupEpoch + 1 });
    for (const member of members) {
      this.logger.info(`consumer group ${group.groupId}: member ${member.memberId} ${reason}; epoch ${group.groupEpoch}`, {
        groupId: group.groupId,
        memberId: member.memberId,
        groupEpoch: group.groupEpoch,
      });
    }
  }

  /** Kafka's validateOnlineDowngradeWithFencedMembers. */
  private validateOnlineDowngrade(group: ConsumerGroup, leaving: ReadonlySet<string>): boolean {
    const remaining = [...group.members.values()].filter((m) => !leaving.has(m.memberId));
    if (remaining.length === 0 || !remaining.every(isClassic)) return false;
    const groupId = group.groupId;
    if (this.migrationPolicy !== 'downgrade' && this.migrationPolicy !== 'bidirectional') {
      this.logger.info(`cannot downgrade consumer group ${groupId} to a classic group: group.consumer.migration.policy is ${this.migrationPolicy}`, { groupId });
      return false;
    }
    if (remaining.length > (this.config.classicGroupMaxSize ?? Number.MAX_SAFE_INTEGER)) {
      this.logger.info(`cannot downgrade consumer group ${groupId} to a classic group: it has more members than group.max.size`, { groupId });
      return false;
    }
    if (this.registry?.putClassicGroup === undefined) return false;
    return true;
  }

  /**
   * Kafka's convertToClassicGroup / ClassicGroup.fromConsumerGroup: tombstones
   * for the consumer group, and a classic group record of the remaining
   * members (generation = group epoch, the protocol they all support, each
   * member's target assignment as its ConsumerProtocol assignment); the new
   * classic group then rebalances so the members rejoin it.
   */
  private convertToClassicGroup(group: ConsumerGroup, leaving: ReadonlySet<string>, reason: string, out: CoordinatorRecord[], change: ChangeContext, rebalance = true): void {
    const groupId = group.groupId;
    const remaining = [...group.members.values()].filter((m) => !leaving.has(m.memberId));
    out.push(...this.tombstoneRecords(group));
    // The protocol every remaining member supports that most of them prefer (ClassicGroup.selectProtocol).
    const supportedBy = new Map<string, number>();
    for (const m of remaining) for (const p of m.classicMemberMetadata!.supportedProtocols) supportedBy.set(p.name, (supportedBy.get(p.name) ?? 0) + 1);
    const candidates = new Set([...supportedBy].filter(([, n]) => n === remaining.length).map(([name]) => name));
    const votes = new Map<string, number>();
    for (const m of remaining) {
      const choice = m.classicMemberMetadata!.supportedProtocols.find((p) => candidates.has(p.name))?.name ?? m.classicMemberMetadata!.supportedProtocols[0]?.name ?? '';
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let protocolName = '';
    let best = -1;
    for (const [name, n] of votes) if (n > best) [protocolName, best] = [name, n];
    const nowMs = this.clock.nowMs();
    const snapshot: ClassicGroupSnapshot = {
      groupId,
      protocolType: 'consumer',
      generationId: group.groupEpoch,
      protocolName,
      leaderId: remaining[0].memberId,
      currentStateTimestampMs: nowMs,
      members: remaining.map((m) => {
        const metadata = m.classicMemberMetadata!.supportedProtocols.find((p) => p.name === protocolName)?.metadata ?? Buffer.alloc(0);
        return {
          memberId: m.memberId,
          groupInstanceId: m.instanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.classicMemberMetadata!.sessionTimeoutMs,
          subscription: metadata,
          assignment: encodeConsumerAssignment(this.toTopicNames(group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT), subscriptionVersion(metadata)),
        };
      }),
    };
    out.push({ type: 'group', groupId, value: snapshot });
    // The switch happens once the records are written; until then (and if they cannot be) the consumer group stays.
    change.onCommit.push(() => {
      if (this.groups.get(groupId) !== group) return;
      this.dropGroup(groupId);
      this.registry!.putClassicGroup!(snapshot, rebalance ? `downgrade of group ${groupId} from consumer to classic` : null);
      this.logger.info(`consumer group ${groupId}: ${leaving.size > 0 ? `${[...leaving].join(', ')} ` : ''}${reason}; only classic members remain: downgraded to a classic group (generation ${snapshot.generationId})`, { groupId });
    });
  }

  private removeMemberRecords(group: ConsumerGroup, memberId: string, emit: (record: ConsumerGroupRecord) => void): void {
    emit({ kind: 'current-member-assignment', groupId: group.groupId, memberId, value: null });
    emit({ kind: 'target-assignment-member', groupId: group.groupId, memberId, partitions: null });
    emit({ kind: 'member-metadata', groupId: group.groupId, memberId, value: null });
  }

  // ---- Classic protocol members (JoinGroup/SyncGroup/Heartbeat/LeaveGroup to a consumer group) ----

  /** The member a classic request names: by instance id when given (Kafka's validateConsumerGroupMember). */
  private classicMember(group: ConsumerGroup, memberId: string, instanceId: string | null): ConsumerGroupMember {
    let member: ConsumerGroupMember | undefined;
    if (instanceId === null) {
      member = group.members.get(memberId);
      if (!member) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
    } else {
      member = group.staticMember(instanceId);
      if (!member) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member with instance id ${instanceId} is not a member of group ${group.groupId}.`);
      if (member.memberId !== memberId) throw new GroupError(GroupErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${member.memberId}.`);
    }
    if (!isClassic(member)) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${member.memberId} does not use the classic protocol.`);
    return member;
  }

  /** Kafka's ConsumerGroup.supportsClassicProtocols: type consumer, and a protocol every other classic member supports. */
  private supportsClassicProtocols(group: ConsumerGroup, memberId: string, protocolType: string, names: readonly string[]): boolean {
    if (protocolType !== 'consumer' || names.length === 0) return false;
    const others = [...group.members.values()].filter((m) => m.memberId !== memberId && isClassic(m));
    if (others.length === 0) return true;
    return names.some((name) => others.every((m) => m.classicMemberMetadata!.supportedProtocols.some((p) => p.name === name)));
  }

  /**
   * JoinGroup from a classic member (Kafka's classicGroupJoinToConsumerGroup):
   * answered at once, with generation = the member's epoch after
   * reconciliation, no leader and no member list, so the client syncs as a
   * follower and SyncGroup hands it the assignment the server computed.
   */
  async classicJoin(request: JoinRequest): Promise<JoinResult> {
    const groupId = request.groupId;
    const isUnknownMember = request.memberId === '';
    const memberId = isUnknownMember ? randomUUID() : request.memberId;
    let sessionAndSync = false;
    const result = await this.atomically(
      groupId,
      (out, change) => {
        const group = this.groups.get(groupId);
        if (!group) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Group ${groupId} not found.`);
        this.throwIfGroupIsFull(group, memberId);
        if (!this.supportsClassicProtocols(group, memberId, request.protocolType, request.protocols.map((p) => p.name))) {
          throw new GroupError(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL, `Member ${memberId}'s protocols are not supported.`);
        }
        // A new dynamic member (JoinGroup v4+) first gets its id and joins again with it.
        if (isUnknownMember && request.groupInstanceId === null && request.requireKnownMemberId) return joinError(GroupErrorCode.MEMBER_ID_REQUIRED, memberId);
        const subscription = decodeConsumerSubscription(request.protocols[0].metadata);
        if (subscription === null) throw new GroupError(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL, `Member ${memberId}'s consumer protocol subscription is malformed.`);
        const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
        let member: ConsumerGroupMember;
        let replaced: ConsumerGroupMember | null = null;
        if (request.groupInstanceId === null) {
          member = group.members.get(memberId) ?? newMember(memberId);
          if (group.members.has(memberId) && !isClassic(member)) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} does not use the classic protocol.`);
        } else {
          const existing = group.staticMember(request.groupInstanceId);
          if (isUnknownMember && existing) replaced = existing;
          if (isUnknownMember) member = existing ? this.replaceStaticMember(group, existing, memberId, emit) : newMember(memberId);
          else {
            if (!existing) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${request.groupInstanceId} is unknown.`);
            if (existing.memberId !== memberId) {
              throw new GroupError(GroupErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${request.groupInstanceId} was fenced by member ${existing.memberId}.`);
            }
            member = existing;
          }
        }
        const classicMemberMetadata: ClassicMemberMetadata = { sessionTimeoutMs: request.sessionTimeoutMs, supportedProtocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata })) };
        const updatedSubscription: MemberSubscription = {
          instanceId: request.groupInstanceId ?? member.instanceId,
          rackId: subscription.rackId ?? member.rackId,
          clientId: request.clientId,
          clientHost: request.clientHost,
          subscribedTopicNames: [...new Set(subscription.topics)].sort(),
          subscribedTopicRegex: member.subscribedTopicRegex,
          rebalanceTimeoutMs: request.rebalanceTimeoutMs,
          serverAssignor: member.serverAssignor,
          classicMemberMetadata,
        };
        // The partitions the member says it owns (ConsumerProtocol v1+; an eager member owns none when it rejoins).
        const owned = toWire(this.toTopicIds(subscription.ownedPartitions));
        const updated = this.updateAndReconcile(group, memberId, member, updatedSubscription, owned, emit);
        sessionAndSync = true;
        // A classic static member that replaced the last KIP-848 member: the group goes back to the classic
        // protocol at once, without a rebalance (Kafka's validateOnlineDowngradeWithReplacedMemberId).
        if (replaced !== null && !isClassic(replaced) && this.validateOnlineDowngrade(group, new Set())) {
          this.convertToClassicGroup(group, new Set(), `static member ${replaced.memberId} (instance ${replaced.instanceId}) was replaced by classic member ${memberId}`, out, change, false);
        }
        const response: JoinResult = {
          errorCode: GroupErrorCode.NONE,
          generationId: updated.memberEpoch,
          protocolType: 'consumer',
          protocolName: request.protocols[0].name,
          leaderId: '',
          memberId,
          skipAssignment: false,
          members: [],
        };
        return response;
      },
      (errorCode) => joinError(errorCode, request.memberId),
    );
    const group = this.groups.get(groupId);
    if (result.errorCode === GroupErrorCode.NONE && sessionAndSync && group?.members.has(memberId)) {
      const nowMs = this.clock.nowMs();
      this.joinDeadlines.get(groupId)?.delete(memberId);
      this.deadlines(this.sessionDeadlines, groupId).set(memberId, nowMs + request.sessionTimeoutMs);
      // The member must follow up with SyncGroup within its rebalance timeout.
      this.deadlines(this.syncDeadlines, groupId).set(memberId, nowMs + request.rebalanceTimeoutMs);
    }
    return result;
  }

  /** SyncGroup from a classic member (Kafka's classicGroupSyncToConsumerGroup): its current assignment in the ConsumerProtocol. */
  classicSync(request: SyncRequest): SyncResult {
    const group = this.groups.get(request.groupId);
    if (!group) return syncError(GroupErrorCode.UNKNOWN_MEMBER_ID);
    try {
      const member = this.classicMember(group, request.memberId, request.groupInstanceId);
      if (member.memberEpoch !== request.generationId) {
        throw new GroupError(GroupErrorCode.ILLEGAL_GENERATION, `The request generation id ${request.generationId} is not equal to the member epoch ${member.memberEpoch} of member ${member.memberId}.`);
      }
      const protocolName = member.classicMemberMetadata!.supportedProtocols[0]?.name ?? '';
      if ((request.protocolType !== null && request.protocolType !== 'consumer') || (request.protocolName !== null && request.protocolName !== protocolName)) {
        throw new GroupError(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL, `The protocol of member ${member.memberId}'s request does not match the group's.`);
      }
      this.throwIfRebalanceInProgress(group, member);
      const nowMs = this.clock.nowMs();
      this.syncDeadlines.get(group.groupId)?.delete(member.memberId);
      this.deadlines(this.sessionDeadlines, group.groupId).set(member.memberId, nowMs + member.classicMemberMetadata!.sessionTimeoutMs);
      const metadata = member.classicMemberMetadata!.supportedProtocols[0]?.metadata ?? Buffer.alloc(0);
      return {
        errorCode: GroupErrorCode.NONE,
        protocolType: request.protocolType,
        protocolName: request.protocolName,
        assignment: encodeConsumerAssignment(this.toTopicNames(member.assignedPartitions), subscriptionVersion(metadata)),
      };
    } catch (err) {
      if (err instanceof GroupError) return syncError(err.errorCode);
      throw err;
    }
  }

  /**
   * A new group epoch means the member must rejoin to catch up, unless it is
   * still revoking (it rejoins after; Kafka's throwIfRebalanceInProgress).
   */
  private throwIfRebalanceInProgress(group: ConsumerGroup, member: ConsumerGroupMember): void {
    if (group.groupEpoch > member.memberEpoch && member.state !== MemberState.UNREVOKED_PARTITIONS) {
      this.scheduleJoinDeadline(group.groupId, member);
      throw new GroupError(GroupErrorCode.REBALANCE_IN_PROGRESS, `A new rebalance is triggered in group ${group.groupId} and member ${member.memberId} should rejoin to catch up.`);
    }
  }

  private scheduleJoinDeadline(groupId: string, member: ConsumerGroupMember): void {
    const joins = this.deadlines(this.joinDeadlines, groupId);
    if (!joins.has(member.memberId)) joins.set(member.memberId, this.clock.nowMs() + member.rebalanceTimeoutMs);
  }

  /**
   * Heartbeat from a classic member (Kafka's classicGroupHeartbeatToConsumerGroup):
   * REBALANCE_IN_PROGRESS when it must rejoin — the group epoch moved past
   * its epoch, it has partitions to revoke, or partitions it waits for are free.
   */
  classicHeartbeat(groupId: string, memberId: string, instanceId: string | null, generationId: number): number {
    const group = this.groups.get(groupId);
    if (!group) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    try {
      const member = this.classicMember(group, memberId, instanceId);
      if (member.memberEpoch !== generationId) return GroupErrorCode.ILLEGAL_GENERATION;
      this.deadlines(this.sessionDeadlines, groupId).set(member.memberId, this.clock.nowMs() + member.classicMemberMetadata!.sessionTimeoutMs);
      const mustRejoin =
        member.memberEpoch < group.groupEpoch ||
        member.state === MemberState.UNREVOKED_PARTITIONS ||
        (member.state === MemberState.UNRELEASED_PARTITIONS && !this.waitingOnUnreleasedPartition(group, member));
      if (!mustRejoin) return GroupErrorCode.NONE;
      this.scheduleJoinDeadline(groupId, member);
      return GroupErrorCode.REBALANCE_IN_PROGRESS;
    } catch (err) {
      if (err instanceof GroupError) return err.errorCode;
      throw err;
    }
  }

  /** Whether a partition of the member's target it does not have yet is still held by another member. */
  private waitingOnUnreleasedPartition(group: ConsumerGroup, member: ConsumerGroupMember): boolean {
    const target = group.targetAssignment.get(member.memberId) ?? EMPTY_ASSIGNMENT;
    for (const [topicId, partitions] of target) {
      for (const p of partitions) {
        if (member.assignedPartitions.get(topicId)?.has(p)) continue;
        if (group.currentPartitionEpoch(topicId, p) !== -1) return true;
      }
    }
    return false;
  }

  /** LeaveGroup naming classic members of a consumer group (Kafka's classicGroupLeaveToConsumerGroup): one error per member. */
  async classicLeave(groupId: string, leaving: readonly LeavingMember[]): Promise<{ errorCode: number; memberErrors: number[] }> {
    type LeaveResult = { errorCode: number; memberErrors: number[] };
    return this.atomically(
      groupId,
      (out, change): LeaveResult => {
        const group = this.groups.get(groupId);
        if (!group) return { errorCode: GroupErrorCode.NONE, memberErrors: leaving.map(() => GroupErrorCode.UNKNOWN_MEMBER_ID) };
        const valid: ConsumerGroupMember[] = [];
        const memberErrors = leaving.map((l) => {
          let member: ConsumerGroupMember | undefined;
          if (l.groupInstanceId === null) {
            member = group.members.get(l.memberId);
            if (!member) return GroupErrorCode.UNKNOWN_MEMBER_ID;
          } else {
            member = group.staticMember(l.groupInstanceId);
            if (!member) return GroupErrorCode.UNKNOWN_MEMBER_ID;
            // An admin removes a static member by its instance id alone.
            if (l.memberId !== '' && member.memberId !== l.memberId) return GroupErrorCode.FENCED_INSTANCE_ID;
          }
          if (!isClassic(member)) return GroupErrorCode.UNKNOWN_MEMBER_ID;
          if (!valid.includes(member)) valid.push(member);
          return GroupErrorCode.NONE;
        });
        this.fenceMembers(group, valid, 'left the group (LeaveGroup)', out, change);
        return { errorCode: GroupErrorCode.NONE, memberErrors };
      },
      (errorCode): LeaveResult => ({ errorCode, memberErrors: [] }),
    );
  }

  private updateTargetAssignment(group: ConsumerGroup, emit: (record: ConsumerGroupRecord) => void): void {
    const assignor = this.assignorFor(group);
    const partitionCounts = new Map<string, number>();
    const idByName = new Map<string, string>();
    for (const t of group.subscribedTopics.values()) {
      partitionCounts.set(t.topicId, t.numPartitions);
      idByName.set(t.topicName, t.topicId);
    }
    const members: AssignmentMember[] = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      subscribedTopicIds: new Set(this.memberTopicNames(m, group.subscribedTopics.keys()).flatMap((name) => (idByName.has(name) ? [idByName.get(name)!] : []))),
      assignment: group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT,
    }));
    let result: Map<string, TopicPartitions>;
    try {
      result = assignor.assign(members, partitionCounts);
    } catch (err) {
      if (err instanceof PartitionAssignorError) {
        throw new GroupError(GroupErrorCode.UNKNOWN_SERVER_ERROR, `Failed to compute a new target assignment for epoch ${group.groupEpoch}: ${err.message}.`);
      }
      throw err;
    }
    for (const m of members) {
      const next = result.get(m.memberId) ?? new Map();
      if (!sameAssignment(next, m.assignment) || !group.targetAssignment.has(m.memberId)) {
        emit({ kind: 'target-assignment-member', groupId: group.groupId, memberId: m.memberId, partitions: next });
      }
    }
    emit({ kind: 'target-assignment-metadata', groupId: group.groupId, assignmentEpoch: group.groupEpoch });
  }

  private assignorFor(group: ConsumerGroup): PartitionAssignor {
    const preferred = group.preferredServerAssignor();
    return this.config.assignors.find((a) => a.name === preferred) ?? this.config.assignors[0];
  }

  /** The topics the members subscribe to, by name or regex, that exist now. */
  private subscribedTopics(group: ConsumerGroup): Map<string, SubscribedTopic> {
    const names = new Set<string>();
    const allNames = [...this.topics.topicNames()];
    for (const m of group.members.values()) for (const name of this.memberTopicNames(m, allNames)) names.add(name);
    const topics = new Map<string, SubscribedTopic>();
    for (const name of [...names].sort()) {
      const t = this.topics.topic(name);
      if (t) topics.set(name, { topicId: t.topicId, topicName: name, numPartitions: t.partitionCount });
    }
    return topics;
  }

  /** The member's subscribed names plus the names among `candidates` its regex matches. */
  private memberTopicNames(member: ConsumerGroupMember, candidates: Iterable<string>): string[] {
    if (member.subscribedTopicRegex === null) return member.subscribedTopicNames;
    const regex = compileTopicRegex(member.subscribedTopicRegex);
    const names = new Set(member.subscribedTopicNames);
    if (regex) for (const name of candidates) if (regex.test(name)) names.add(name);
    return [...names];
  }

  private emit(group: ConsumerGroup, record: ConsumerGroupRecord, out: CoordinatorRecord[]): void {
    group.replay(record);
    const { key, value } = encodeRecord(record);
    out.push({ type: 'raw', key, value });
  }

  /**
   * Appends the records; an error response when the store refused them, with
   * the append error mapped as Kafka's GroupCoordinatorService maps it
   * (KAFKA_STORAGE_ERROR -> NOT_COORDINATOR, UNKNOWN_TOPIC_OR_PARTITION ->
   * COORDINATOR_NOT_AVAILABLE, too large -> UNKNOWN_SERVER_ERROR).
   */
  private async write(groupId: string, records: CoordinatorRecord[]): Promise<HeartbeatResponse | null> {
    if (records.length === 0) return null;
    try {
      await this.store.append(this.store.partitionFor(groupId), records);
      return null;
    } catch (err) {
      const code = err instanceof CoordinatorStoreError ? err.errorCode : GroupErrorCode.UNKNOWN_SERVER_ERROR;
      this.logger.warn(`consumer group ${groupId}: could not write ${records.length} record(s): ${(err as Error).message}`, { groupId });
      return errorResponse(groupAppendErrorToResponse(code), null);
    }
  }

  // ---- timers and metadata -----------------------------------------------

  /** Fences members whose session, rebalance, sync or join timeout has passed. */
  async tick(): Promise<void> {
    const nowMs = this.clock.nowMs();
    const due = new Set<string>();
    for (const [groupId, deadlines] of this.sessionDeadlines) for (const deadlineMs of deadlines.values()) if (deadlineMs <= nowMs) due.add(groupId);
    for (const [groupId, deadlines] of this.rebalanceDeadlines) for (const { deadlineMs } of deadlines.values()) if (deadlineMs <= nowMs) due.add(groupId);
    for (const all of [this.syncDeadlines, this.joinDeadlines]) for (const [groupId, deadlines] of all) for (const deadlineMs of deadlines.values()) if (deadlineMs <= nowMs) due.add(groupId);
    // One change per group, run after the group's pending changes; deadlines are read again then.
    // A fencing whose write fails is rolled back with its timers, so the next tick tries again.
    await Promise.all([...due].map((groupId) => this.atomically(groupId, (out, change) => this.expireMembers(groupId, nowMs, out, change))));
  }

  private expireMembers(groupId: string, nowMs: number, out: CoordinatorRecord[], change: ChangeContext): HeartbeatResponse {
    const group = this.groups.get(groupId);
    const expired = new Map<string, string>();
    const sessions = this.sessionDeadlines.get(groupId);
    for (const [memberId, deadlineMs] of sessions ?? []) {
      if (deadlineMs > nowMs) continue;
      const member = group?.members.get(memberId);
      if (!group || !member) sessions!.delete(memberId);
      else expired.set(memberId, `session timed out after ${this.sessionTimeoutOf(member)} ms`);
    }
    const rebalances = this.rebalanceDeadlines.get(groupId);
    for (const [memberId, { epoch, deadlineMs }] of rebalances ?? []) {
      if (deadlineMs > nowMs) continue;
      const member = group?.members.get(memberId);
      rebalances!.delete(memberId);
      if (!group || !member || member.state !== MemberState.UNREVOKED_PARTITIONS || member.memberEpoch !== epoch) continue;
      if (!expired.has(memberId)) expired.set(memberId, `did not revoke its partitions within ${member.rebalanceTimeoutMs} ms`);
    }
    for (const [deadlines, what] of [
      [this.syncDeadlines.get(groupId), 'did not send SyncGroup'],
      [this.joinDeadlines.get(groupId), 'did not rejoin'],
    ] as const) {
      for (const [memberId, deadlineMs] of deadlines ?? []) {
        if (deadlineMs > nowMs) continue;
        deadlines!.delete(memberId);
        const member = group?.members.get(memberId);
        if (member && !expired.has(memberId)) expired.set(memberId, `${what} within its rebalance timeout of ${member.rebalanceTimeoutMs} ms`);
      }
    }
    if (group && expired.size > 0) {
      const reason = [...new Set(expired.values())].join('; ');
      this.fenceMembers(group, [...expired.keys()].map((id) => group.members.get(id)!), reason, out, change);
    }
    return errorResponse(GroupErrorCode.NONE, null);
  }

  /** A topic was created, deleted or grew: groups that may subscribe to it recompute their subscribed topics at the next heartbeat. */
  onTopicChange(topicName: string): void {
    for (const group of this.groups.values()) {
      if (group.subscribedTopics.has(topicName)) {
        group.metadataRefreshNeeded = true;
        continue;
      }
      for (const m of group.members.values()) {
        if (this.memberTopicNames(m, [topicName]).includes(topicName)) {
          group.metadataRefreshNeeded = true;
          break;
        }
      }
    }
  }

  private deadlines<T>(all: Map<string, Map<string, T>>, groupId: string): Map<string, T> {
    let m = all.get(groupId);
    if (!m) all.set(groupId, (m = new Map()));
    return m;
  }

  private forgetTimers(groupId: string, memberId: string): void {
    this.sessionDeadlines.get(groupId)?.delete(memberId);
    this.rebalanceDeadlines.get(groupId)?.delete(memberId);
    this.syncDeadlines.get(groupId)?.delete(memberId);
    this.joinDeadlines.get(groupId)?.delete(memberId);
  }

  /** A classic member's session timeout is its own (JoinGroup); KIP-848 members have the broker's. */
  private sessionTimeoutOf(member: ConsumerGroupMember): number {
    return member.classicMemberMetadata?.sessionTimeoutMs ?? this.config.sessionTimeoutMs;
  }


  // ---- ConsumerGroupDescribe -----------------------------------------------

  describe(groupId: string): DescribedGroup {
    if (groupId === '') return { errorCode: GroupErrorCode.INVALID_GROUP_ID, errorMessage: 'The group id must not be empty.', groupId };
    const unavailable = this.registry?.availability(groupId) ?? GroupErrorCode.NONE;
    if (unavailable !== GroupErrorCode.NONE) return { errorCode: unavailable, errorMessage: 'The coordinator is loading the group.', groupId };
    const group = this.groups.get(groupId);
    if (!group) {
      const classic = this.classicGroupState(groupId);
      const message = classic === 'none' ? `Group ${groupId} not found.` : `Group ${groupId} is not a consumer group.`;
      return { errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND, errorMessage: message, groupId };
    }
    const describe = (assignment: TopicPartitions) =>
      toWire(assignment).flatMap((t) => {
        const topicName = this.topics.topicName(t.topicId);
        return topicName === undefined ? [] : [{ topicId: t.topicId, topicName, partitions: t.partitions }];
      });
    return {
      errorCode: 0,
      groupId,
      groupState: group.state(),
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: this.assignorFor(group).name,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: describe(m.assignedPartitions),
        targetAssignment: describe(group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT),
      })),
    };
  }

  // ---- offsets ---------------------------------------------------------------

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit: null when the commit may go
   * ahead. An empty group takes commits from outside (admin tools, epoch -1);
   * otherwise the member must exist and send its current member epoch.
   */
  validateOffsetCommit(groupId: string, memberId: string, memberEpoch: number, apiVersion: number, transactional = false): GroupError | null {
    const group = this.groups.get(groupId);
    if (!group) return null;
    if (memberEpoch < 0 && group.members.size === 0) return null;
    const member = group.members.get(memberId);
    if (!member) return new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
    if (!transactional && !isClassic(member) && apiVersion < OFFSET_COMMIT_MEMBER_EPOCH_VERSION) {
      return new GroupError(GroupErrorCode.UNSUPPORTED_VERSION, 'OffsetCommit version 9 or above must be used by members using the modern group protocol');
    }
    return validateMemberEpoch(member, memberEpoch);
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch: admin fetches (epoch -1, no member id) always pass. */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): GroupError | null {
    const group = this.groups.get(groupId);
    if (!group) return null;
    if (memberEpoch < 0 && (memberId === null || memberId === '')) return null;
    const member = memberId === null ? undefined : group.members.get(memberId);
    if (!member) return new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
    return validateMemberEpoch(member, memberEpoch);
  }
}

/** Kafka's ConsumerGroup.validateMemberEpoch: a classic member's mismatch is ILLEGAL_GENERATION, a KIP-848 member's STALE_MEMBER_EPOCH. */
function validateMemberEpoch(member: ConsumerGroupMember, memberEpoch: number): GroupError | null {
  if (memberEpoch === member.memberEpoch) return null;
  if (isClassic(member)) return new GroupError(GroupErrorCode.ILLEGAL_GENERATION, `The generation id ${memberEpoch} is not the member epoch ${member.memberEpoch}.`);
  return new GroupError(GroupErrorCode.STALE_MEMBER_EPOCH, `The member epoch ${memberEpoch} is stale; the current member epoch is ${member.memberEpoch}.`);
}

function throwIfMemberEpochIsInvalid(member: ConsumerGroupMember, received: number, owned: OwnedPartitions): void {
  if (received > member.memberEpoch) {
    throw new GroupError(
      GroupErrorCode.FENCED_MEMBER_EPOCH,
      `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
    );
  }
  if (received < member.memberEpoch) {
    // The response that bumped the epoch may have been lost: the previous epoch
    // is accepted while the member owns only partitions it still has.
    if (received !== member.previousMemberEpoch || !ownsSubsetOf(owned, member.assignedPartitions)) {
      throw new GroupError(
        GroupErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
  }
}

function ownsSubsetOf(owned: OwnedPartitions, assigned: TopicPartitions): boolean {
  if (owned === null) return false;
  return owned.every((t) => t.partitions.every((p) => assigned.get(t.topicId)?.has(p) === true));
}

function sameClassicMetadata(a: ClassicMemberMetadata | null | undefined, b: ClassicMemberMetadata | null | undefined): boolean {
  if ((a ?? null) === null || (b ?? null) === null) return (a ?? null) === (b ?? null);
  return (
    a!.sessionTimeoutMs === b!.sessionTimeoutMs &&
    a!.supportedProtocols.length === b!.supportedProtocols.length &&
    a!.supportedProtocols.every((p, i) => p.name === b!.supportedProtocols[i].name && p.metadata.equals(b!.supportedProtocols[i].metadata))
  );
}

/** Whether the member speaks the classic protocol (JoinGroup/SyncGroup) inside the consumer group. */
export function isClassic(member: ConsumerGroupMember): boolean {
  return (member.classicMemberMetadata ?? null) !== null;
}

function sameSubscription(a: MemberSubscription, b: MemberSubscription): boolean {
  return (
    sameClassicMetadata(a.classicMemberMetadata, b.classicMemberMetadata) &&
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.clientId === b.clientId &&
    a.clientHost === b.clientHost &&
    a.subscribedTopicNames.join('\0') === b.subscribedTopicNames.join('\0') &&
    a.subscribedTopicRegex === b.subscribedTopicRegex &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    a.serverAssignor === b.serverAssignor
  );
}

function sameTopics(a: ReadonlyMap<string, SubscribedTopic>, b: ReadonlyMap<string, SubscribedTopic>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const o = b.get(name);
    if (!o || o.topicId !== t.topicId || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

function toWire(assignment: TopicPartitions): Array<{ topicId: string; partitions: number[] }> {
  return [...assignment]
    .filter(([, ps]) => ps.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((x, y) => x - y) }));
}

function errorResponse(errorCode: number, errorMessage: string | null): HeartbeatResponse {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

/** Kafka's member ids are random Uuids in their base64 form. */
function newMemberId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Topic regexes are RE2/J syntax in Kafka and must match the whole name. This
 * uses JavaScript's RegExp anchored at both ends: the common subset
 * (classes, alternation, quantifiers) behaves the same; RE2-only syntax such
 * as \Q..\E or (?P<name>..) is refused as invalid.
 */
export function compileTopicRegex(source: string): RegExp | null {
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch {
    return null;
  }
}

/** A consumer group as the shared registry sees it (ListGroups, DescribeGroups, DeleteGroups, offsets). */
export class ConsumerGroupEntry implements CoordinatorGroup {
  readonly type = 'consumer' as const;
  readonly groupId: string;

  constructor(
    private readonly coordinator: ConsumerGroupCoordinator,
    private readonly group: ConsumerGroup,
  ) {
    this.groupId = group.groupId;
  }

  stateName(): string {
    return this.coordinator.group(this.groupId) === this.group ? this.group.state() : 'Dead';
  }

  listedProtocolType(): string {
    return 'consumer';
  }

  validateOffsetCommit(memberId: string, _groupInstanceId: string | null, memberEpoch: number, apiVersion: number): number {
    return this.coordinator.validateOffsetCommit(this.groupId, memberId, memberEpoch, apiVersion)?.errorCode ?? GroupErrorCode.NONE;
  }

  validateOffsetFetch(memberId: string | null, memberEpoch: number): number {
    return this.coordinator.validateOffsetFetch(this.groupId, memberId, memberEpoch)?.errorCode ?? GroupErrorCode.NONE;
  }

  validateDeleteGroup(): number {
    // Kafka's ConsumerGroup.validateDeleteGroup: only an empty group may be deleted.
    return this.group.members.size === 0 ? GroupErrorCode.NONE : NON_EMPTY_GROUP;
  }

  validateOffsetDelete(): number {
    // Kafka lets offsets of a consumer group be deleted at any time, except those of subscribed topics.
    return GroupErrorCode.NONE;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.group.subscribedTopics.has(topic);
  }

  isEmpty(): boolean {
    return this.group.members.size === 0;
  }

  markDead(): void {
    if (this.coordinator.group(this.groupId) === this.group) this.coordinator.dropGroup(this.groupId);
  }

  tombstoneRecords(): CoordinatorRecord[] {
    return this.coordinator.tombstoneRecords(this.group);
  }

  revived(): ConsumerGroupEntry {
    this.coordinator.reviveGroup(this.group);
    return this;
  }

  /** DescribeGroups (v0-v5) describes a group of another type as Dead, as Kafka does. */
  describe(): ClassicDescribedGroup | null {
    return null;
  }

  // Classic members of the group (after an online upgrade, or joining one) are served by the consumer group.
  classicJoin(request: JoinRequest): Promise<JoinResult> {
    return this.coordinator.classicJoin(request);
  }

  classicSync(request: SyncRequest): SyncResult {
    return this.coordinator.classicSync(request);
  }

  classicHeartbeat(memberId: string, instanceId: string | null, generationId: number): number {
    return this.coordinator.classicHeartbeat(this.groupId, memberId, instanceId, generationId);
  }

  classicLeave(members: readonly LeavingMember[]): Promise<{ errorCode: number; memberErrors: number[] }> {
    return this.coordinator.classicLeave(this.groupId, members);
  }

}

/** Kafka's NON_EMPTY_GROUP. */
const NON_EMPTY_GROUP = 68;
