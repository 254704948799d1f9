// The KIP-848 consumer group coordinator (Kafka's GroupMetadataManager, the
// consumer-group half): ConsumerGroupHeartbeat, ConsumerGroupDescribe, the
// session and rebalance timeouts, topic metadata changes, and the checks
// OffsetCommit/OffsetFetch make against member epochs.
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
import { randomBytes } from 'node:crypto';
import type { Clock } from '../storage/clock.js';
import type { CoordinatorRecord, CoordinatorStore } from './coordinator-store.js';
import { CoordinatorStoreError } from './coordinator-store.js';
import { groupAppendErrorToResponse, type CoordinatorGroup, type DescribedGroup as ClassicDescribedGroup } from './group-coordinator.js';
import { PartitionAssignorError, type AssignmentMember, type PartitionAssignor, type TopicPartitions } from './assignors/assignor.js';
import { decodeRecord, encodeRecord, isConsumerGroupKey, type ConsumerGroupRecord, type MemberSubscription, type SubscribedTopic } from './consumer-group-records.js';
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
}

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
 * offset APIs see them; an empty classic group becomes a consumer group when
 * a member joins with ConsumerGroupHeartbeat (Kafka's offline conversion).
 */
export interface GroupRegistry {
  group(groupId: string): CoordinatorGroup | undefined;
  putGroup(group: CoordinatorGroup): void;
  /** NONE, or COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE while the group's partition is not loaded. */
  availability(groupId: string): number;
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
        this.deadlines(this.sessionDeadlines, group.groupId).set(member.memberId, nowMs + this.config.sessionTimeoutMs);
        if (member.state === MemberState.UNREVOKED_PARTITIONS) {
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
      if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return this.leave(request, records);
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
  private atomically(groupId: string, change: (records: CoordinatorRecord[], ctx: ChangeContext) => HeartbeatResponse): Promise<HeartbeatResponse> {
    return this.serialized(groupId, async () => {
      const undo = this.checkpointGroup(groupId);
      const records: CoordinatorRecord[] = [];
      const ctx: ChangeContext = { onCommit: [] };
      let response: HeartbeatResponse;
      try {
        response = change(records, ctx);
      } catch (err) {
        this.rollback(undo);
        if (err instanceof GroupError) return errorResponse(err.errorCode, err.message);
        throw err;
      }
      const failure = await this.write(groupId, records);
      if (failure) {
        this.rollback(undo);
        return failure;
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
    // Registered once its records are written, so a failed first join leaves no trace in ListGroups.
    if (created) change.onCommit.push(() => this.registry?.putGroup(new ConsumerGroupEntry(this, group)));
    return response;
  }

  private consumerGroupForJoin(groupId: string, createIfMissing: boolean, out: CoordinatorRecord[]): ConsumerGroup {
    const existing = this.groups.get(groupId);
    if (existing) return existing;
    const classicState = this.classicGroupState(groupId);
    // A non-empty classic group keeps its type: Kafka answers as for a missing consumer group
    // (online upgrade of a classic group is not implemented here).
    if (classicState === 'non-empty') throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
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

  private heartbeatInGroup(group: ConsumerGroup, request: HeartbeatRequest, client: ClientInfo, nowMs: number, out: CoordinatorRecord[]): HeartbeatResponse {
    const { groupId, memberEpoch } = request;
    const owned: OwnedPartitions = request.topicPartitions;
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    const memberId = memberEpoch === 0 && request.memberId === '' ? newMemberId() : request.memberId;
    if (group.members.size >= this.config.maxSize && !group.members.has(memberId)) {
      throw new GroupError(GroupErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`);
    }

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
    };
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
    const updated = group.members.get(memberId)!;

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
      if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        throw new GroupError(GroupErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${existing.memberId} with instance id ${instanceId} is not released yet.`);
      }
      // The new instance takes the old one's place and partitions without a rebalance.
      const replacement: ConsumerGroupMember = { ...existing, memberId, memberEpoch: 0, previousMemberEpoch: 0, state: MemberState.STABLE, partitionsPendingRevocation: EMPTY_ASSIGNMENT };
      const target = group.targetAssignment.get(existing.memberId) ?? EMPTY_ASSIGNMENT;
      this.removeMemberRecords(group, existing.memberId, emit);
      emit({ kind: 'member-metadata', groupId: group.groupId, memberId, value: subscriptionOf(replacement) });
      emit({ kind: 'target-assignment-member', groupId: group.groupId, memberId, partitions: target });
      emit({ kind: 'current-member-assignment', groupId: group.groupId, memberId, value: replacement });
      this.forgetTimers(group.groupId, existing.memberId);
      this.logger.info(`consumer group ${group.groupId}: static member ${instanceId} rejoined as ${memberId}`, { groupId: group.groupId, memberId, instanceId });
      return group.members.get(memberId)!;
    }
    if (!existing) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (existing.memberId !== memberId) {
      throw new GroupError(GroupErrorCode.FENCED_INSTANCE_ID, `The static member ${memberId} with instance id ${instanceId} is fenced by member ${existing.memberId}.`);
    }
    throwIfMemberEpochIsInvalid(existing, memberEpoch, owned);
    return existing;
  }

  private leave(request: HeartbeatRequest, out: CoordinatorRecord[]): HeartbeatResponse {
    const { groupId, memberId, instanceId, memberEpoch } = request;
    const group = this.groups.get(groupId);
    if (!group) throw new GroupError(GroupErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
    const emit = (record: ConsumerGroupRecord) => this.emit(group, record, out);
    const left = { errorCode: 0, errorMessage: null, memberId, heartbeatIntervalMs: 0, assignment: null };
    if (instanceId === null) {
      const member = group.members.get(memberId);
      if (!member) throw new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
      this.fenceMember(group, member, 'left the group', emit);
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
    this.fenceMember(group, member, 'left the group', emit);
    return { ...left, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH };
  }

  /** Removes a member and bumps the group epoch so the others get its partitions (Kafka's consumerGroupFenceMember). */
  private fenceMember(group: ConsumerGroup, member: ConsumerGroupMember, reason: string, emit: (record: ConsumerGroupRecord) => void): void {
    this.removeMemberRecords(group, member.memberId, emit);
    const topics = this.subscribedTopics(group);
    if (!sameTopics(topics, group.subscribedTopics)) emit({ kind: 'partition-metadata', groupId: group.groupId, topics: [...topics.values()] });
    emit({ kind: 'group-metadata', groupId: group.groupId, epoch: group.groupEpoch + 1 });
    this.forgetTimers(group.groupId, member.memberId);
    this.logger.info(`consumer group ${group.groupId}: member ${member.memberId} ${reason}; epoch ${group.groupEpoch}`, {
      groupId: group.groupId,
      memberId: member.memberId,
      groupEpoch: group.groupEpoch,
    });
  }

  private removeMemberRecords(group: ConsumerGroup, memberId: string, emit: (record: ConsumerGroupRecord) => void): void {
    emit({ kind: 'current-member-assignment', groupId: group.groupId, memberId, value: null });
    emit({ kind: 'target-assignment-member', groupId: group.groupId, memberId, partitions: null });
    emit({ kind: 'member-metadata', groupId: group.groupId, memberId, value: null });
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

  /** Fences members whose session or rebalance timeout has passed. */
  async tick(): Promise<void> {
    const nowMs = this.clock.nowMs();
    const due = new Set<string>();
    for (const [groupId, deadlines] of this.sessionDeadlines) for (const deadlineMs of deadlines.values()) if (deadlineMs <= nowMs) due.add(groupId);
    for (const [groupId, deadlines] of this.rebalanceDeadlines) for (const { deadlineMs } of deadlines.values()) if (deadlineMs <= nowMs) due.add(groupId);
    // One change per group, run after the group's pending changes; deadlines are read again then.
    // A fencing whose write fails is rolled back with its timers, so the next tick tries again.
    await Promise.all([...due].map((groupId) => this.atomically(groupId, (out) => this.expireMembers(groupId, nowMs, out))));
  }

  private expireMembers(groupId: string, nowMs: number, out: CoordinatorRecord[]): HeartbeatResponse {
    const group = this.groups.get(groupId);
    const sessions = this.sessionDeadlines.get(groupId);
    for (const [memberId, deadlineMs] of sessions ?? []) {
      if (deadlineMs > nowMs) continue;
      const member = group?.members.get(memberId);
      if (!group || !member) {
        sessions!.delete(memberId);
        continue;
      }
      this.fenceMember(group, member, `session timed out after ${this.config.sessionTimeoutMs} ms`, (r) => this.emit(group, r, out));
    }
    const rebalances = this.rebalanceDeadlines.get(groupId);
    for (const [memberId, { epoch, deadlineMs }] of rebalances ?? []) {
      if (deadlineMs > nowMs) continue;
      const member = group?.members.get(memberId);
      rebalances!.delete(memberId);
      if (!group || !member || member.state !== MemberState.UNREVOKED_PARTITIONS || member.memberEpoch !== epoch) continue;
      this.fenceMember(group, member, `did not revoke its partitions within ${member.rebalanceTimeoutMs} ms`, (r) => this.emit(group, r, out));
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
    if (!transactional && apiVersion < OFFSET_COMMIT_MEMBER_EPOCH_VERSION) {
      return new GroupError(GroupErrorCode.UNSUPPORTED_VERSION, 'OffsetCommit version 9 or above must be used by members using the modern group protocol');
    }
    if (memberEpoch !== member.memberEpoch) {
      return new GroupError(GroupErrorCode.STALE_MEMBER_EPOCH, `The member epoch ${memberEpoch} is stale; the current member epoch is ${member.memberEpoch}.`);
    }
    return null;
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch: admin fetches (epoch -1, no member id) always pass. */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): GroupError | null {
    const group = this.groups.get(groupId);
    if (!group) return null;
    if (memberEpoch < 0 && (memberId === null || memberId === '')) return null;
    const member = memberId === null ? undefined : group.members.get(memberId);
    if (!member) return new GroupError(GroupErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
    if (memberEpoch !== member.memberEpoch) {
      return new GroupError(GroupErrorCode.STALE_MEMBER_EPOCH, `The member epoch ${memberEpoch} is stale; the current member epoch is ${member.memberEpoch}.`);
    }
    return null;
  }
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

function sameSubscription(a: MemberSubscription, b: MemberSubscription): boolean {
  return (
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
}

/** Kafka's NON_EMPTY_GROUP. */
const NON_EMPTY_GROUP = 68;
