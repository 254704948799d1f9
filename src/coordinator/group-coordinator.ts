// The group coordinator: a registry of groups keyed by group id, each with a
// type ('classic' now; KIP-848 'consumer' groups join the same registry), and
// the committed offsets of every group (group -> topic -> partition).
//
// Every change is written through the CoordinatorStore before it is answered
// or applied: offset commits append one offset record per partition, a
// completed rebalance (or a group becoming Empty) appends the group record,
// DeleteGroups appends tombstones for the group and all its offsets. At start
// the coordinator replays every partition of the store; groups of a partition
// still loading get COORDINATOR_LOAD_IN_PROGRESS.
//
// Handlers call the operations here with plain values; version differences of
// the wire stay in src/net/handlers.
import { ErrorCode } from '../protocol/error-codes.js';
import type { Clock } from '../storage/clock.js';
import {
  ClassicGroup,
  joinError,
  syncError,
  type ClassicGroupConfig,
  type ClassicGroupContext,
  type JoinRequest,
  type JoinResult,
  type LeavingMember,
  type SyncRequest,
  type SyncResult,
} from './classic-group.js';
import { CoordinatorStoreError, type ClassicGroupSnapshot, type CoordinatorRecord, type CoordinatorStore, type OffsetAndMetadata } from './coordinator-store.js';
import type { CoordinatorTimer } from './timer.js';
import { classicExpirationBase, consumerGroupExpirationBase, findExpiredOffsets } from './offsets-retention.js';

export type GroupType = 'classic' | 'consumer';

/**
 * What the registry, ListGroups, DescribeGroups, DeleteGroups and the offset
 * APIs need of any group type. ClassicGroup implements it; a KIP-848 consumer
 * group implements it too and routes its own heartbeat API.
 */
export interface CoordinatorGroup {
  readonly type: GroupType;
  readonly groupId: string;
  /** The state name ListGroups/DescribeGroups report (Kafka's spelling, e.g. 'Stable'). */
  stateName(): string;
  /** ListGroups' protocol type: the classic group's, or 'consumer'. */
  listedProtocolType(): string;
  /** NONE, or the error an OffsetCommit from this member gets. */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationIdOrMemberEpoch: number, apiVersion: number): number;
  /** NONE, or the error an OffsetFetch from this member gets (v9 carries the member; null/-1 for admins). */
  validateOffsetFetch(memberId: string | null, memberEpoch: number): number;
  /** NONE, GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
  validateDeleteGroup(): number;
  /** NONE, GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
  validateOffsetDelete(): number;
  /** Whether deleting this topic's offsets must be refused (GROUP_SUBSCRIBED_TO_TOPIC). */
  isSubscribedToTopic(topic: string): boolean;
  /** Whether the group has no members (its offsets may then expire). */
  isEmpty(): boolean;
  /** The group is being deleted: cancel timers, refuse everything after. */
  markDead(): void;
  /** Records that remove the group itself (offsets are tombstoned by the coordinator). */
  tombstoneRecords(): CoordinatorRecord[];
  /**
   * After markDead() for a deletion or type conversion whose tombstones could
   * not be written: the group as it was, live again (to put back in the registry).
   */
  revived(): CoordinatorGroup;
  /** DescribeGroups (the classic API) view; null describes the group as Dead. */
  describe(): DescribedGroup | null;
}

/**
 * A group of another type that serves classic-protocol members too: a KIP-848
 * consumer group after an online upgrade (or one a classic member joins).
 */
export interface ClassicProtocolHost {
  classicJoin(request: JoinRequest): Promise<JoinResult>;
  classicSync(request: SyncRequest): SyncResult;
  classicHeartbeat(memberId: string, instanceId: string | null, generationId: number): number;
  classicLeave(members: readonly LeavingMember[]): Promise<{ errorCode: number; memberErrors: number[] }>;
}

function classicHost(group: CoordinatorGroup | undefined): (CoordinatorGroup & ClassicProtocolHost) | null {
  return group !== undefined && group.type === 'consumer' && 'classicJoin' in group ? (group as CoordinatorGroup & ClassicProtocolHost) : null;
}

/** The owner of `raw` records (KIP-848 consumer groups), fed by this coordinator's single load pass. */
export interface RawRecordListener {
  replay(key: Buffer, value: Buffer | null): void;
  /** Every record of the partition has been replayed; its groups may be registered. */
  partitionLoaded(partition: number): void;
}

export interface DescribedGroup {
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }>;
}

export interface GroupCoordinatorConfig extends ClassicGroupConfig {
  /** group.min.session.timeout.ms */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  maxSessionTimeoutMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes, in ms */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: GroupCoordinatorConfig = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3_000,
  maxSize: 2 ** 31 - 1,
  // Kafka's GroupCoordinatorConfig.CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS: 5 minutes.
  newMemberJoinTimeoutMs: 300_000,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
};

export interface GroupCoordinatorLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface GroupCoordinatorOptions {
  store: CoordinatorStore;
  clock: Clock;
  timer: CoordinatorTimer;
  config?: Partial<GroupCoordinatorConfig>;
  logger: GroupCoordinatorLogger;
}

export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  committedMetadata: string | null;
}

export interface OffsetCommitRequestData {
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4; -1 for the broker's retention. */
  retentionTimeMs: number;
  apiVersion: number;
  topics: Array<{ name: string; partitions: OffsetCommitPartition[] }>;
}

export interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
}

export interface TopicResults {
  name: string;
  partitions: PartitionResult[];
}

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: GroupType;
}

/** Kafka's GroupMetadataManager mapping of a failed group-record append to the answer. */
export function groupAppendErrorToResponse(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return errorCode;
  }
}

/** The same for offset records, where a batch too large means the commit was (INVALID_COMMIT_OFFSET_SIZE). */
export function offsetAppendErrorToResponse(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return groupAppendErrorToResponse(errorCode);
  }
}

function storeErrorCode(err: unknown): number {
  return err instanceof CoordinatorStoreError ? err.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
}

type PartitionLoadState = 'loading' | 'loaded' | 'failed';

export class GroupCoordinator {
  private readonly groups = new Map<string, CoordinatorGroup>();
  /** group -> topic -> partition -> committed offset */
  private readonly offsets = new Map<string, Map<string, Map<number, OffsetAndMetadata>>>();
  private readonly partitionStates: PartitionLoadState[];
  readonly config: GroupCoordinatorConfig;
  private readonly store: CoordinatorStore;
  private readonly clock: Clock;
  private readonly timer: CoordinatorTimer;
  private readonly logger: GroupCoordinatorLogger;
  private readonly classicContext: ClassicGroupContext;
  private closed = false;
  private rawRecords: RawRecordListener | null = null;

  constructor(options: GroupCoordinatorOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.timer = options.timer;
    this.logger = options.logger;
    this.config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.partitionStates = Array.from({ length: this.store.partitionCount }, () => 'loading');
    const store = this.store;
    this.classicContext = {
      clock: this.clock,
      timer: this.timer,
      config: this.config,
      storeGroup: async (snapshot: ClassicGroupSnapshot) => {
        try {
          await store.append(store.partitionFor(snapshot.groupId), [{ type: 'group', groupId: snapshot.groupId, value: snapshot }]);
        } catch (err) {
          this.logger.warn(`group ${snapshot.groupId}: storing the group record failed: ${(err as Error).message}`);
          throw new CoordinatorStoreError(groupAppendErrorToResponse(storeErrorCode(err)), (err as Error).message);
        }
      },
      onError: (message, err) => this.logger.warn(`${message}: ${(err as Error)?.stack ?? String(err)}`),
      log: (message) => this.logger.info(message),
    };
  }

  // ---- Loading ------------------------------------------------------------

  /** Replays every partition of the store, rebuilding groups and offsets; resolves when all are loaded. */
  async load(): Promise<void> {
    const startMs = performance.now();
    await Promise.all(this.partitionStates.map((_, partition) => this.loadPartition(partition)));
    if (this.closed) return;
    let members = 0;
    for (const g of this.groups.values()) if (g instanceof ClassicGroup) members += g.size();
    this.logger.info(`group coordinator loaded ${this.groups.size} group(s) with ${members} member(s) in ${Math.round(performance.now() - startMs)} ms`, {
      groups: this.groups.size,
    });
    this.scheduleRetentionCheck();
  }

  private async loadPartition(partition: number): Promise<void> {
    const loadedGroups = new Map<string, ClassicGroupSnapshot | null>();
    const loadedOffsets: Array<Extract<CoordinatorRecord, { type: 'offset' }>> = [];
    try {
      await this.store.load(partition, (record) => {
        if (record.type === 'group') loadedGroups.set(record.groupId, record.value);
        else if (record.type === 'offset') loadedOffsets.push(record);
        else this.rawRecords?.replay(record.key, record.value);
      });
    } catch (err) {
      this.partitionStates[partition] = 'failed';
      this.logger.warn(`group coordinator: loading partition ${partition} failed: ${(err as Error).message}`, { partition });
      return;
    }
    if (this.closed) return;
    // KIP-848 groups of this partition join the registry first, so their offsets are not taken for a simple group's.
    this.rawRecords?.partitionLoaded(partition);
    // Last record per key wins, as in the compacted topic.
    for (const [groupId, snapshot] of loadedGroups) {
      if (snapshot === null) continue;
      const group = ClassicGroup.fromSnapshot(snapshot, this.classicContext);
      this.groups.set(groupId, group);
    }
    for (const r of loadedOffsets) {
      if (r.value === null) this.removeOffset(r.groupId, r.topic, r.partition);
      else {
        this.putOffset(r.groupId, r.topic, r.partition, r.value);
        // Offsets without a group record belong to a "simple" group (commits with generation -1).
        if (!this.groups.has(r.groupId) && !loadedGroups.has(r.groupId)) this.groups.set(r.groupId, new ClassicGroup(r.groupId, this.classicContext));
      }
    }
    for (const [groupId, snapshot] of loadedGroups) {
      if (snapshot !== null) continue;
      // A deleted group: its offset tombstones came with it; offsets committed after the deletion recreate a simple group
      // (unless the id now belongs to a KIP-848 consumer group, registered before this load).
      if (this.offsets.has(groupId) && !this.groups.has(groupId)) this.groups.set(groupId, new ClassicGroup(groupId, this.classicContext));
    }
    for (const [groupId] of loadedGroups) {
      const g = this.groups.get(groupId);
      if (g instanceof ClassicGroup) g.onLoaded();
    }
    this.partitionStates[partition] = 'loaded';
  }

  /** NONE, COORDINATOR_LOAD_IN_PROGRESS while the group's partition loads, or COORDINATOR_NOT_AVAILABLE if it failed to. */
  availability(groupId: string): number {
    const state = this.partitionStates[this.store.partitionFor(groupId)];
    if (state === 'loaded') return this.closed ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NONE;
    return state === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** Stops all timers; pending JoinGroup/SyncGroup answers are dropped with their connections. */
  close(): void {
    this.closed = true;
    this.timer.cancelAll();
  }

  // ---- Classic group membership -------------------------------------------

  async joinGroup(request: JoinRequest): Promise<JoinResult> {
    if (request.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, request.memberId);
    const unavailable = this.availability(request.groupId);
    if (unavailable !== ErrorCode.NONE) return joinError(unavailable, request.memberId);
    if (request.sessionTimeoutMs < this.config.minSessionTimeoutMs || request.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId);
    }
    let group = this.groups.get(request.groupId);
    // A classic member joining a non-empty KIP-848 consumer group is served by that group.
    const host = classicHost(group);
    if (host !== null && !host.isEmpty()) return host.classicJoin(request);
    // An empty KIP-848 consumer group becomes a classic group when a classic member joins
    // (Kafka's offline conversion; its committed offsets stay).
    if (group !== undefined && group.type === 'consumer' && group.isEmpty() && request.memberId === '') {
      const converted = await this.removeGroupRecords(group);
      if (converted !== ErrorCode.NONE) return joinError(converted, request.memberId);
      group = undefined;
    }
    if (group === undefined) {
      if (request.memberId !== '') return joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId);
      group = new ClassicGroup(request.groupId, this.classicContext);
      this.groups.set(request.groupId, group);
    }
    // An empty consumer group and a member id it does not know: as Kafka, UNKNOWN_MEMBER_ID, so the client
    // joins again without one (and converts the group).
    if (!(group instanceof ClassicGroup)) return joinError(group.type === 'consumer' && group.isEmpty() ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    const created = group.isEmpty() && group.protocolType === null;
    const result = await group.join(request);
    // A group created by a join that failed at once (no member added) is not kept.
    // (A group that reached a generation has written its group record and stays.)
    if (created && group.isEmpty() && group.isInState('Empty') && group.generationId === 0 && !this.offsets.has(request.groupId) && result.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) {
      if (this.groups.get(request.groupId) === group) this.groups.delete(request.groupId);
    }
    return result;
  }

  async syncGroup(request: SyncRequest): Promise<SyncResult> {
    if (request.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID);
    const unavailable = this.availability(request.groupId);
    if (unavailable !== ErrorCode.NONE) return syncError(unavailable);
    const group = this.groups.get(request.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    const host = classicHost(group);
    if (host !== null) return host.classicSync(request);
    if (!(group instanceof ClassicGroup)) return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    return group.sync(request);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const unavailable = this.availability(groupId);
    // Kafka answers heartbeats of a loading group with NONE: the member keeps going until the group is back.
    if (unavailable === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
    if (unavailable !== ErrorCode.NONE) return unavailable;
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const host = classicHost(group);
    if (host !== null) return host.classicHeartbeat(memberId, groupInstanceId, generationId);
    if (!(group instanceof ClassicGroup)) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  /** Top-level error, or NONE and one error per leaving member. */
  leaveGroup(groupId: string, members: readonly LeavingMember[]): { errorCode: number; memberErrors: number[] } {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, memberErrors: [] };
    const unavailable = this.availability(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, memberErrors: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) return { errorCode: ErrorCode.NONE, memberErrors: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    if (!(group instanceof ClassicGroup)) return { errorCode: ErrorCode.NONE, memberErrors: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    if (group.isInState('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, memberErrors: [] };
    return { errorCode: ErrorCode.NONE, memberErrors: group.leave(members) };
  }

  /** LeaveGroup for any group type: a consumer group answers for its classic members (and may downgrade). */
  async leave(groupId: string, members: readonly LeavingMember[]): Promise<{ errorCode: number; memberErrors: number[] }> {
    if (groupId !== '' && this.availability(groupId) === ErrorCode.NONE) {
      const host = classicHost(this.groups.get(groupId));
      if (host !== null) return host.classicLeave(members);
    }
    return this.leaveGroup(groupId, members);
  }

  // ---- Offsets --------------------------------------------------------------

  async commitOffsets(request: OffsetCommitRequestData): Promise<TopicResults[]> {
    const all = (errorCode: number): TopicResults[] =>
      request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
    if (request.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    const unavailable = this.availability(request.groupId);
    if (unavailable !== ErrorCode.NONE) return all(unavailable);
    let group = this.groups.get(request.groupId);
    let created = false;
    if (group === undefined) {
      // Generation -1: the admin client or a consumer without group management; Kafka creates a "simple" group.
      if (request.generationIdOrMemberEpoch >= 0) return all(request.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      group = new ClassicGroup(request.groupId, this.classicContext);
      this.groups.set(request.groupId, group);
      created = true;
    }
    const invalid = group.validateOffsetCommit(request.memberId, request.groupInstanceId, request.generationIdOrMemberEpoch, request.apiVersion);
    if (invalid !== ErrorCode.NONE) {
      if (created) this.groups.delete(request.groupId);
      return all(invalid);
    }
    const results = await this.writeOffsets(request, () => this.groups.get(request.groupId) === group);
    // A simple group created for a commit that failed entirely is not kept.
    if (created && this.groups.get(request.groupId) === group && !this.offsets.has(request.groupId)) this.groups.delete(request.groupId);
    return results;
  }

  /**
   * Appends one offset record per valid partition as one batch, then applies
   * them unless `stillCurrent` says the group was deleted meanwhile (its
   * tombstones then follow these records in the log).
   */
  private async writeOffsets(request: OffsetCommitRequestData, stillCurrent: () => boolean): Promise<TopicResults[]> {
    const nowMs = this.clock.nowMs();
    const expireTimestampMs = request.retentionTimeMs >= 0 ? nowMs + request.retentionTimeMs : null;
    const records: Array<Extract<CoordinatorRecord, { type: 'offset' }>> = [];
    const results: TopicResults[] = request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (metadata.length > this.config.offsetMetadataMaxBytes) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        const value: OffsetAndMetadata = { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata, commitTimestampMs: nowMs, expireTimestampMs };
        records.push({ type: 'offset', groupId: request.groupId, topic: t.name, partition: p.partitionIndex, value });
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
      }),
    }));
    if (records.length === 0) return results;
    try {
      await this.store.append(this.store.partitionFor(request.groupId), records);
    } catch (err) {
      const errorCode = offsetAppendErrorToResponse(storeErrorCode(err));
      this.logger.warn(`group ${request.groupId}: storing ${records.length} offset(s) failed: ${(err as Error).message}`);
      for (const t of results) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = errorCode;
      return results;
    }
    if (stillCurrent()) for (const r of records) this.putOffset(r.groupId, r.topic, r.partition, r.value!);
    return results;
  }

  /** Offsets of one group; `topics` null means every committed offset. */
  fetchOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null, memberId: string | null = null, memberEpoch = -1): OffsetFetchResult {
    const unavailable = this.availability(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, topics: [] };
    const group = this.groups.get(groupId);
    if (group !== undefined) {
      const invalid = group.validateOffsetFetch(memberId, memberEpoch);
      if (invalid !== ErrorCode.NONE) return { errorCode: invalid, topics: [] };
    }
    const committed = this.offsets.get(groupId);
    const toFetched = (partitionIndex: number, o: OffsetAndMetadata | undefined): FetchedOffset =>
      o === undefined
        ? { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
        : { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE };
    if (topics === null) {
      const all: OffsetFetchResult['topics'] = [];
      for (const [name, partitions] of committed ?? []) {
        all.push({ name, partitions: [...partitions].sort((a, b) => a[0] - b[0]).map(([p, o]) => toFetched(p, o)) });
      }
      return { errorCode: ErrorCode.NONE, topics: all };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => toFetched(p, committed?.get(t.name)?.get(p))) })),
    };
  }

  /** OffsetDelete: top-level error, or per-partition results. */
  async deleteOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitions: readonly number[] }>): Promise<{ errorCode: number; topics: TopicResults[] }> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const unavailable = this.availability(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, topics: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const invalid = group.validateOffsetDelete();
    if (invalid !== ErrorCode.NONE) return { errorCode: invalid, topics: [] };
    const isSubscribedToTopic = (topic: string) => group.isSubscribedToTopic(topic);
    const committed = this.offsets.get(groupId);
    const records: CoordinatorRecord[] = [];
    const results: TopicResults[] = topics.map((t) => {
      const subscribed = isSubscribedToTopic(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (subscribed) return { partitionIndex: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          if (committed?.get(t.name)?.has(p)) records.push({ type: 'offset', groupId, topic: t.name, partition: p, value: null });
          return { partitionIndex: p, errorCode: ErrorCode.NONE };
        }),
      };
    });
    if (records.length === 0) return { errorCode: ErrorCode.NONE, topics: results };
    try {
      await this.store.append(this.store.partitionFor(groupId), records);
    } catch (err) {
      return { errorCode: groupAppendErrorToResponse(storeErrorCode(err)), topics: [] };
    }
    for (const r of records) if (r.type === 'offset') this.removeOffset(groupId, r.topic, r.partition);
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  private putOffset(groupId: string, topic: string, partition: number, value: OffsetAndMetadata): void {
    let byTopic = this.offsets.get(groupId);
    if (byTopic === undefined) this.offsets.set(groupId, (byTopic = new Map()));
    let byPartition = byTopic.get(topic);
    if (byPartition === undefined) byTopic.set(topic, (byPartition = new Map()));
    byPartition.set(partition, value);
  }

  private removeOffset(groupId: string, topic: string, partition: number): void {
    const byTopic = this.offsets.get(groupId);
    const byPartition = byTopic?.get(topic);
    if (byTopic === undefined || byPartition === undefined) return;
    byPartition.delete(partition);
    if (byPartition.size === 0) byTopic.delete(topic);
    if (byTopic.size === 0) this.offsets.delete(groupId);
  }

  // ---- Admin: list, describe, delete ----------------------------------------

  /** ListGroups: states and types filters match case-insensitively; empty filters match all. */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): { errorCode: number; groups: ListedGroup[] } {
    // Kafka answers from the partitions it has loaded and reports loading ones with COORDINATOR_LOAD_IN_PROGRESS.
    const loading = this.partitionStates.some((s) => s === 'loading');
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      const state = g.stateName();
      if (state === 'Dead') continue;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(g.type)) continue;
      groups.push({ groupId: g.groupId, protocolType: g.listedProtocolType(), groupState: state, groupType: g.type });
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  describeGroup(groupId: string): { errorCode: number; group: DescribedGroup } {
    const dead: DescribedGroup = { groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, group: dead };
    const unavailable = this.availability(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, group: dead };
    const described = this.groups.get(groupId)?.describe() ?? null;
    // Up to DescribeGroups v5, Kafka describes an unknown group as Dead without an error.
    return { errorCode: ErrorCode.NONE, group: described ?? dead };
  }

  /** DeleteGroups: one error code per group id, in order. */
  async deleteGroups(groupIds: readonly string[]): Promise<number[]> {
    const outcomes: Array<number | Promise<number>> = groupIds.map((groupId) => {
      if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
      const unavailable = this.availability(groupId);
      if (unavailable !== ErrorCode.NONE) return unavailable;
      const group = this.groups.get(groupId);
      if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND;
      const invalid = group.validateDeleteGroup();
      if (invalid !== ErrorCode.NONE) return invalid;
      return this.deleteGroup(group);
    });
    return Promise.all(outcomes);
  }

  /** Writes the tombstones of a group (not its offsets) and drops it from the registry. */
  private async removeGroupRecords(group: CoordinatorGroup): Promise<number> {
    const records = group.tombstoneRecords();
    this.groups.delete(group.groupId);
    group.markDead();
    try {
      await this.store.append(this.store.partitionFor(group.groupId), records);
    } catch (err) {
      // Not converted after all: the group stays as it was, unless another took the id meanwhile.
      if (!this.groups.has(group.groupId)) this.groups.set(group.groupId, group.revived());
      return groupAppendErrorToResponse(storeErrorCode(err));
    }
    this.logger.info(`group ${group.groupId}: converted from ${group.type} to classic`);
    return ErrorCode.NONE;
  }

  private async deleteGroup(group: CoordinatorGroup): Promise<number> {
    const groupId = group.groupId;
    const offsets = this.offsets.get(groupId);
    const records: CoordinatorRecord[] = [];
    for (const [topic, partitions] of offsets ?? []) for (const partition of partitions.keys()) records.push({ type: 'offset', groupId, topic, partition, value: null });
    records.push(...group.tombstoneRecords());
    // Removed at once, so nothing joins or commits to it while the tombstones are written.
    this.groups.delete(groupId);
    this.offsets.delete(groupId);
    group.markDead();
    try {
      await this.store.append(this.store.partitionFor(groupId), records);
    } catch (err) {
      // Not deleted after all: put the group back unless a new one took the id meanwhile (its offsets are lost from memory only).
      if (!this.groups.has(groupId)) {
        this.groups.set(groupId, group.revived());
        if (offsets !== undefined) this.offsets.set(groupId, offsets);
      }
      return groupAppendErrorToResponse(storeErrorCode(err));
    }
    this.logger.info(`group ${groupId} deleted with ${records.length - 1} offset(s)`);
    return ErrorCode.NONE;
  }

  // ---- Offset retention ------------------------------------------------------

  private retentionCheckRunning = false;

  private scheduleRetentionCheck(): void {
    if (this.closed) return;
    this.timer.schedule('offsets-retention', this.config.offsetsRetentionCheckIntervalMs, () => {
      this.scheduleRetentionCheck();
      // One check at a time: a slow store must not pile them up.
      if (this.retentionCheckRunning) return;
      this.retentionCheckRunning = true;
      this.expireOffsets()
        .catch((err: unknown) => this.logger.warn(`offsets retention check failed: ${(err as Error).message}`))
        .finally(() => (this.retentionCheckRunning = false));
    });
  }

  /**
   * Deletes offsets past offsets.retention.minutes (offsets-retention.ts has
   * Kafka's rules) with tombstones; an Empty classic group left without
   * offsets is deleted too. Returns how many offsets expired.
   */
  async expireOffsets(): Promise<number> {
    const nowMs = this.clock.nowMs();
    const writes: Array<Promise<number>> = [];
    for (const [groupId, byTopic] of this.offsets) {
      if (this.availability(groupId) !== ErrorCode.NONE) continue;
      const group = this.groups.get(groupId);
      if (group === undefined) continue;
      let base;
      let isSubscribedToTopic: (topic: string) => boolean;
      if (group instanceof ClassicGroup) {
        const subscribed = group.isInState('Stable') ? group.subscribedTopics() : null;
        base = classicExpirationBase({ protocolType: group.protocolType, state: group.stateName(), currentStateTimestampMs: group.currentStateTimestampMs, knowsSubscribedTopics: subscribed !== null && group.protocolType === 'consumer' });
        isSubscribedToTopic = (topic) => subscribed?.has(topic) ?? false;
      } else {
        base = consumerGroupExpirationBase();
        isSubscribedToTopic = (topic) => group.isSubscribedToTopic(topic);
      }
      const { expired, allExpired } = findExpiredOffsets(byTopic, base, isSubscribedToTopic, nowMs, this.config.offsetsRetentionMs);
      if (expired.length === 0) continue;
      const records: CoordinatorRecord[] = expired.map((e) => ({ type: 'offset', groupId, topic: e.topic, partition: e.partition, value: null }));
      const deleteGroup = allExpired && group instanceof ClassicGroup && group.isInState('Empty');
      if (deleteGroup) records.push(...group.tombstoneRecords());
      writes.push(
        this.store.append(this.store.partitionFor(groupId), records).then(
          () => {
            for (const e of expired) this.removeOffset(groupId, e.topic, e.partition);
            if (deleteGroup && this.groups.get(groupId) === group && group.isInState('Empty')) {
              this.groups.delete(groupId);
              group.markDead();
            }
            this.logger.info(`group ${groupId}: ${expired.length} offset(s) expired${deleteGroup ? '; group deleted' : ''}`);
            return expired.length;
          },
          (err: unknown) => {
            this.logger.warn(`group ${groupId}: writing expired offsets failed: ${(err as Error).message}`);
            return 0;
          },
        ),
      );
    }
    // Kafka's cleanupGroupMetadata also deletes an Empty classic group that has no offsets at all.
    for (const [groupId, group] of this.groups) {
      if (this.offsets.has(groupId) || !(group instanceof ClassicGroup) || !group.isInState('Empty')) continue;
      if (this.availability(groupId) !== ErrorCode.NONE) continue;
      writes.push(
        this.store.append(this.store.partitionFor(groupId), group.tombstoneRecords()).then(
          () => {
            if (this.groups.get(groupId) === group && group.isInState('Empty') && !this.offsets.has(groupId)) {
              this.groups.delete(groupId);
              group.markDead();
              this.logger.info(`group ${groupId}: empty without offsets; deleted`);
            }
            return 0;
          },
          (err: unknown) => {
            this.logger.warn(`group ${groupId}: deleting the empty group failed: ${(err as Error).message}`);
            return 0;
          },
        ),
      );
    }
    const counts = await Promise.all(writes);
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * A deleted topic takes its committed offsets with it (Kafka's
   * OffsetMetadataManager.onPartitionsDeleted): tombstones for every group's
   * offsets of the topic; the groups stay.
   */
  async onTopicDeleted(topic: string): Promise<number> {
    const appends: Promise<void>[] = [];
    let removed = 0;
    for (const [groupId, byTopic] of [...this.offsets]) {
      const partitions = byTopic.get(topic);
      if (partitions === undefined) continue;
      const records: CoordinatorRecord[] = [...partitions.keys()].map((partition) => ({ type: 'offset', groupId, topic, partition, value: null }));
      for (const partition of [...partitions.keys()]) this.removeOffset(groupId, topic, partition);
      removed += records.length;
      appends.push(
        this.store.append(this.store.partitionFor(groupId), records).catch((err: Error) => {
          // Gone from memory either way: the topic no longer exists. A restart would bring the offsets back until they expire.
          this.logger.warn(`group ${groupId}: writing tombstones for the offsets of deleted topic ${topic} failed: ${err.message}`);
        }),
      );
    }
    await Promise.all(appends);
    if (removed > 0) this.logger.info(`removed ${removed} committed offset(s) of deleted topic ${topic}`, { topic, offsets: removed });
    return removed;
  }

  /** Receives the records of other group types (KIP-848) while partitions load; set before load(). */
  setRawRecordListener(listener: RawRecordListener | null): void {
    this.rawRecords = listener;
  }

  // ---- Introspection (tests, CLI) -------------------------------------------

  group(groupId: string): CoordinatorGroup | undefined {
    return this.groups.get(groupId);
  }

  /**
   * A classic group rebuilt from its record takes the id (a KIP-848 group
   * downgraded, or an upgrade undone): its members must heartbeat within their
   * session timeouts, and with a reason it rebalances so they all rejoin.
   */
  putClassicGroup(snapshot: ClassicGroupSnapshot, rebalanceReason: string | null): void {
    const group = ClassicGroup.fromSnapshot(snapshot, this.classicContext);
    this.groups.set(snapshot.groupId, group);
    group.onLoaded();
    if (rebalanceReason !== null && group.canRebalance()) group.prepareRebalance(rebalanceReason);
  }

  /** Registers a group of another type (KIP-848) under its id. */
  putGroup(group: CoordinatorGroup): void {
    this.groups.set(group.groupId, group);
  }

  committedOffset(groupId: string, topic: string, partition: number): OffsetAndMetadata | undefined {
    return this.offsets.get(groupId)?.get(topic)?.get(partition);
  }
}
