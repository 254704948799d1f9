// Admin calls on consumer groups, as Kafka's Admin client makes them for
// kafka-consumer-groups: FindCoordinator, then the group request on the
// coordinator (ListGroups goes to every broker), and the consumer protocol's
// member metadata (ConsumerProtocolSubscription / ConsumerProtocolAssignment,
// each an int16 version followed by the struct at that version).
//
// Coordinator errors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS) are retried with a fresh FindCoordinator until
// the caller's timeout, as the Admin client retries them; every other code is
// returned to the caller, which decides how to print it.
import { Reader, Writer } from '../protocol/codec.js';
import {
  ApiKey,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../protocol/generated/index.js';
import type { BrokerNode, KafkaClient } from './client.js';
import { BrokerConnection } from './connection.js';
import { ConnectionError, KafkaResponseError } from './errors.js';

export const ErrorCodes = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  UNSTABLE_OFFSET_COMMIT: 88,
} as const;

const COORDINATOR_ERRORS = new Set<number>([
  ErrorCodes.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCodes.COORDINATOR_NOT_AVAILABLE,
  ErrorCodes.NOT_COORDINATOR,
]);
// FindCoordinator's key type for groups (1 is transactions).
const KEY_TYPE_GROUP = 0;
const RETRY_BACKOFF_MS = 100;
export const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** The highest ConsumerProtocol versions Kafka 4.0's consumer writes. */
export const SUBSCRIPTION_VERSION = 3;
export const ASSIGNMENT_VERSION = 3;

/** topic -> partition -> value, so results sort and group by topic without string keys. */
export type PartitionMap<T> = Map<string, Map<number, T>>;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export function partitionMapSet<T>(map: PartitionMap<T>, topic: string, partition: number, value: T): void {
  let inner = map.get(topic);
  if (!inner) map.set(topic, (inner = new Map()));
  inner.set(partition, value);
}

export function partitionMapGet<T>(map: PartitionMap<T>, topic: string, partition: number): T | undefined {
  return map.get(topic)?.get(partition);
}

/** Entries sorted by topic, then partition. */
export function partitionMapEntries<T>(map: PartitionMap<T>): Array<[TopicPartition, T]> {
  const out: Array<[TopicPartition, T]> = [];
  for (const topic of [...map.keys()].sort()) {
    const inner = map.get(topic)!;
    for (const partition of [...inner.keys()].sort((a, b) => a - b)) out.push([{ topic, partition }, inner.get(partition)!]);
  }
  return out;
}

export function groupByTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = out.get(topic);
    if (list) list.push(partition);
    else out.set(topic, [partition]);
  }
  return out;
}

// ---- consumer protocol member metadata ----

export interface Subscription {
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartition[];
  generationId: number;
  rackId: string | null;
}

/** Encodes a subscription as Kafka's ConsumerProtocol does: int16 version, then the struct. */
export function encodeSubscription(s: Subscription, version = SUBSCRIPTION_VERSION): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolSubscription(w, version, {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: [...groupByTopic(s.ownedPartitions)].map(([topic, partitions]) => ({ topic, partitions })),
    generationId: s.generationId,
    rackId: s.rackId,
  });
  return w.toBuffer();
}

/** Null for bytes that are not a consumer subscription. Newer versions are read as our newest (the schema only appends fields). */
export function decodeSubscription(bytes: Buffer): Subscription | null {
  if (bytes.length < 2) return null;
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), SUBSCRIPTION_VERSION);
  if (version < 0) return null;
  const s = decodeConsumerProtocolSubscription(r, version);
  if (!r.ok) return null;
  return {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: (s.ownedPartitions ?? []).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
    generationId: s.generationId ?? -1,
    rackId: s.rackId ?? null,
  };
}

export function encodeAssignment(partitions: readonly TopicPartition[], version = ASSIGNMENT_VERSION): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolAssignment(w, version, {
    assignedPartitions: [...groupByTopic(partitions)].map(([topic, list]) => ({ topic, partitions: list })),
    userData: null,
  });
  return w.toBuffer();
}

/** The partitions of an assignment; empty bytes (a member not yet assigned) give none; null for bytes that do not decode. */
export function decodeAssignment(bytes: Buffer): TopicPartition[] | null {
  if (bytes.length === 0) return [];
  if (bytes.length < 2) return null;
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), ASSIGNMENT_VERSION);
  if (version < 0) return null;
  const a = decodeConsumerProtocolAssignment(r, version);
  if (!r.ok) return null;
  return a.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

// ---- admin results ----

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** '' when the broker does not report it (ListGroups v0-3). */
  state: string;
  /** '' when the broker does not report it (ListGroups v0-4). */
  type: string;
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  host: string;
  assignment: TopicPartition[];
  /** KIP-848 members only: the partitions the group is moving the member to, and its epoch. */
  targetAssignment: TopicPartition[];
  memberEpoch: number | null;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  /** Kafka's state name: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, ... */
  state: string;
  protocolType: string;
  /** The assignor the group chose (DescribeGroups' protocol data). */
  assignor: string;
  members: GroupMember[];
  coordinator: BrokerNode;
  /** 'consumer' for a KIP-848 group (described by ConsumerGroupDescribe), else 'classic'. */
  type: 'classic' | 'consumer';
  /** KIP-848 groups only. */
  groupEpoch: number | null;
  targetAssignmentEpoch: number | null;
}

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface OffsetFetchResult {
  errorCode: number;
  offsets: PartitionMap<CommittedOffset>;
  /** Partition-level errors (e.g. UNSTABLE_OFFSET_COMMIT). */
  partitionErrors: PartitionMap<number>;
}

/** A ListOffsets spec: the earliest or latest offset, or the first offset at or after a timestamp. */
export type ListOffsetsSpec = 'earliest' | 'latest' | { timestamp: bigint };

export interface ListedOffset {
  errorCode: number;
  /** -1 when the broker found none (a timestamp after the last record). */
  offset: bigint;
}

export class GroupAdmin {
  private readonly coordinators = new Map<string, { node: BrokerNode; conn: BrokerConnection }>();
  private readonly dedicated: BrokerConnection[] = [];

  constructor(
    private readonly client: KafkaClient,
    /** How long coordinator lookups and retries may take (kafka-consumer-groups --timeout). */
    private readonly timeoutMs: number,
  ) {}

  close(): void {
    for (const c of this.dedicated) c.close();
    this.dedicated.length = 0;
    this.coordinators.clear();
  }

  /** FindCoordinator for a group; the coordinator's connection is cached until a coordinator error. */
  async coordinator(groupId: string): Promise<{ node: BrokerNode; conn: BrokerConnection }> {
    const cached = this.coordinators.get(groupId);
    if (cached && !cached.conn.closed) return cached;
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const conn = await this.client.bootstrapConnection();
      const response = await conn.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, (version): FindCoordinatorRequest =>
        version >= 4 ? { keyType: KEY_TYPE_GROUP, coordinatorKeys: [groupId] } : { key: groupId, keyType: KEY_TYPE_GROUP },
      );
      const found = response.coordinators?.[0] ?? {
        errorCode: response.errorCode ?? 0,
        errorMessage: response.errorMessage ?? null,
        nodeId: response.nodeId ?? -1,
        host: response.host ?? '',
        port: response.port ?? -1,
      };
      if (found.errorCode === 0) {
        const node: BrokerNode = { nodeId: found.nodeId, host: found.host, port: found.port, rack: null };
        const entry = { node, conn: await this.connectionTo(node) };
        this.coordinators.set(groupId, entry);
        return entry;
      }
      if (!COORDINATOR_ERRORS.has(found.errorCode) || Date.now() >= deadline) throw new KafkaResponseError(found.errorCode, found.errorMessage);
      await sleep(RETRY_BACKOFF_MS);
    }
  }

  private async connectionTo(node: BrokerNode): Promise<BrokerConnection> {
    const boot = await this.client.bootstrapConnection();
    if (boot.host === node.host && boot.port === node.port) return boot;
    if (!this.client.brokers.has(node.nodeId)) this.client.brokers.set(node.nodeId, node);
    return this.client.connection(node.nodeId);
  }

  /**
   * Runs `attempt` against the group's coordinator; when it reports a
   * coordinator error, finds the coordinator again and retries until the timeout.
   */
  private async onCoordinator<T>(groupId: string, attempt: (conn: BrokerConnection, node: BrokerNode) => Promise<{ errorCode: number; value: T }>): Promise<{ errorCode: number; value: T }> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      let result: { errorCode: number; value: T };
      try {
        const { conn, node } = await this.coordinator(groupId);
        result = await attempt(conn, node);
      } catch (err) {
        if (!(err instanceof ConnectionError) || Date.now() >= deadline) throw err;
        this.coordinators.delete(groupId);
        await sleep(RETRY_BACKOFF_MS);
        continue;
      }
      if (!COORDINATOR_ERRORS.has(result.errorCode) || Date.now() >= deadline) return result;
      this.coordinators.delete(groupId);
      await sleep(RETRY_BACKOFF_MS);
    }
  }

  /** ListGroups on every broker (each lists the groups it coordinates); `states` filters (ListGroups v4+). */
  async listGroups(states: string[] = [], types: string[] = []): Promise<ListedGroup[]> {
    await this.client.metadata([]);
    const nodes = [...this.client.brokers.values()];
    const out: ListedGroup[] = [];
    const seen = new Set<string>();
    for (const node of nodes) {
      const conn = await this.connectionTo(node);
      const response = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, (version): ListGroupsRequest => {
        if (states.length > 0 && version < 4) throw new KafkaResponseError(35, 'The broker does not support filtering groups by state (ListGroups v4).');
        return { statesFilter: states, typesFilter: version >= 5 ? types : [] };
      });
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode);
      for (const g of response.groups) {
        if (seen.has(g.groupId)) continue;
        seen.add(g.groupId);
        out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? '', type: g.groupType ?? '' });
      }
    }
    return out;
  }

  /**
   * Describes a group as Kafka 4.0's Admin does: ConsumerGroupDescribe first
   * when the coordinator has it (KIP-848 groups), DescribeGroups when that
   * says the group is not a consumer group (a classic group, or none).
   */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { value } = await this.onCoordinator(groupId, async (conn, node) => {
      if (conn.supports(ApiKey.ConsumerGroupDescribe)) {
        const modern = await describeConsumerGroup(conn, node, groupId);
        if (modern.errorCode !== ErrorCodes.GROUP_ID_NOT_FOUND) return { errorCode: modern.errorCode, value: modern };
      }
      const classic = await describeClassicGroup(conn, node, groupId);
      return { errorCode: classic.errorCode, value: classic };
    });
    return value;
  }

  /** Committed offsets of a group: of `partitions`, or of every partition it has committed when null. */
  async fetchOffsets(groupId: string, partitions: TopicPartition[] | null, requireStable = false): Promise<OffsetFetchResult> {
    const { value } = await this.onCoordinator(groupId, async (conn) => {
      const result = await sendOffsetFetch(conn, groupId, partitions, requireStable);
      return { errorCode: result.errorCode, value: result };
    });
    return value;
  }

  /**
   * Commits offsets as an admin (generation -1, member id ''), which the
   * coordinator accepts only for a group with no active members. Returns
   * per-partition error codes.
   */
  async commitOffsets(groupId: string, offsets: PartitionMap<bigint>): Promise<PartitionMap<number>> {
    const { value } = await this.onCoordinator(groupId, async (conn) => {
      const errors = await sendOffsetCommit(conn, groupId, offsets, ADMIN_COMMITTER);
      let coordinatorError = 0;
      for (const [, code] of partitionMapEntries(errors)) if (COORDINATOR_ERRORS.has(code)) coordinatorError = code;
      return { errorCode: coordinatorError, value: errors };
    });
    return value;
  }

  /** DeleteGroups; the error code per group. */
  async deleteGroups(groupIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const groupId of groupIds) {
      const { errorCode } = await this.onCoordinator(groupId, async (conn) => {
        const response = await conn.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, (): DeleteGroupsRequest => ({ groupsNames: [groupId] }));
        const r = response.results.find((x) => x.groupId === groupId);
        return { errorCode: r ? r.errorCode : -1, value: null };
      });
      out.set(groupId, errorCode);
    }
    return out;
  }

  /** OffsetDelete: the top-level error code and one code per partition. */
  async deleteOffsets(groupId: string, partitions: TopicPartition[]): Promise<{ errorCode: number; partitions: PartitionMap<number> }> {
    const { value } = await this.onCoordinator(groupId, async (conn) => {
      const response = await conn.request<OffsetDeleteResponse>(ApiKey.OffsetDelete, (): OffsetDeleteRequest => ({
        groupId,
        topics: [...groupByTopic(partitions)].map(([name, list]) => ({ name, partitions: list.map((partitionIndex) => ({ partitionIndex })) })),
      }));
      const result = new Map<string, Map<number, number>>();
      for (const t of response.topics) for (const p of t.partitions) partitionMapSet(result, t.name, p.partitionIndex, p.errorCode);
      return { errorCode: response.errorCode, value: { errorCode: response.errorCode, partitions: result } };
    });
    return value;
  }

  /** ListOffsets to each partition's leader (read_uncommitted: the log end offset is the high watermark). */
  async listOffsets(partitions: TopicPartition[], spec: ListOffsetsSpec): Promise<PartitionMap<ListedOffset>> {
    const out: PartitionMap<ListedOffset> = new Map();
    if (partitions.length === 0) return out;
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const metadata = await this.client.metadata(topics);
    const leaders: PartitionMap<number> = new Map();
    for (const t of metadata.topics) {
      if (t.name === null) continue;
      for (const p of t.partitions) partitionMapSet(leaders, t.name, p.partitionIndex, p.errorCode === 0 ? p.leaderId : -1);
    }
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of partitions) {
      const leader = partitionMapGet(leaders, tp.topic, tp.partition);
      if (leader === undefined) {
        partitionMapSet(out, tp.topic, tp.partition, { errorCode: ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION, offset: -1n });
        continue;
      }
      if (leader < 0) {
        partitionMapSet(out, tp.topic, tp.partition, { errorCode: ErrorCodes.LEADER_NOT_AVAILABLE, offset: -1n });
        continue;
      }
      const list = byLeader.get(leader);
      if (list) list.push(tp);
      else byLeader.set(leader, [tp]);
    }
    const timestamp = spec === 'earliest' ? -2n : spec === 'latest' ? -1n : spec.timestamp;
    for (const [leader, list] of byLeader) {
      const conn = await this.client.connection(leader);
      const response = await conn.request<ListOffsetsResponse>(ApiKey.ListOffsets, (): ListOffsetsRequest => ({
        replicaId: -1,
        isolationLevel: 0,
        topics: [...groupByTopic(list)].map(([name, ps]) => ({
          name,
          partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
        })),
      }));
      for (const t of response.topics) {
        for (const p of t.partitions) {
          const offset = p.offset !== undefined && p.offset >= 0n ? p.offset : (p.oldStyleOffsets?.[0] ?? -1n);
          partitionMapSet(out, t.name, p.partitionIndex, { errorCode: p.errorCode, offset });
        }
      }
    }
    return out;
  }
}

async function describeConsumerGroup(conn: BrokerConnection, node: BrokerNode, groupId: string): Promise<GroupDescription> {
  const response = await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, (): ConsumerGroupDescribeRequest => ({
    groupIds: [groupId],
    includeAuthorizedOperations: false,
  }));
  const g = response.groups.find((x) => x.groupId === groupId) ?? response.groups[0];
  if (!g) throw new KafkaResponseError(-1, `the coordinator did not describe group ${groupId}`);
  const partitions = (a: ConsumerGroupDescribeResponse.Assignment) =>
    a.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition })));
  return {
    groupId,
    errorCode: g.errorCode,
    state: g.groupState,
    protocolType: CONSUMER_PROTOCOL_TYPE,
    assignor: g.assignorName,
    coordinator: node,
    type: 'consumer',
    groupEpoch: g.groupEpoch,
    targetAssignmentEpoch: g.assignmentEpoch,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      host: m.clientHost,
      assignment: partitions(m.assignment),
      targetAssignment: partitions(m.targetAssignment),
      memberEpoch: m.memberEpoch,
    })),
  };
}

async function describeClassicGroup(conn: BrokerConnection, node: BrokerNode, groupId: string): Promise<GroupDescription> {
  const response = await conn.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, (): DescribeGroupsRequest => ({
    groups: [groupId],
    includeAuthorizedOperations: false,
  }));
  const g = response.groups.find((x) => x.groupId === groupId) ?? response.groups[0];
  if (!g) throw new KafkaResponseError(-1, `the coordinator did not describe group ${groupId}`);
  return {
    groupId,
    errorCode: g.errorCode,
    state: g.groupState,
    protocolType: g.protocolType,
    assignor: g.protocolData,
    coordinator: node,
    type: 'classic',
    groupEpoch: null,
    targetAssignmentEpoch: null,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      host: m.clientHost,
      // Only the consumer protocol's assignments can be read; other protocols show none, as Kafka's Admin does.
      assignment: g.protocolType === CONSUMER_PROTOCOL_TYPE ? (decodeAssignment(m.memberAssignment) ?? []) : [],
      targetAssignment: [],
      memberEpoch: null,
    })),
  };
}

export interface Committer {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

const ADMIN_COMMITTER: Committer = { generationId: -1, memberId: '', groupInstanceId: null };

export function isCoordinatorError(code: number): boolean {
  return COORDINATOR_ERRORS.has(code);
}

/** One OffsetFetch on a coordinator connection; the group-level error code (or a per-partition coordinator error) in `errorCode`. */
export async function sendOffsetFetch(conn: BrokerConnection, groupId: string, partitions: TopicPartition[] | null, requireStable: boolean): Promise<OffsetFetchResult> {
  const topics = partitions === null ? null : [...groupByTopic(partitions)].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const response = await conn.request<OffsetFetchResponse>(ApiKey.OffsetFetch, (version): OffsetFetchRequest =>
    version >= 8 ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable } : { groupId, topics, requireStable },
  );
  const result: OffsetFetchResult = { errorCode: 0, offsets: new Map(), partitionErrors: new Map() };
  const group = response.groups?.find((g) => g.groupId === groupId);
  result.errorCode = group ? group.errorCode : (response.errorCode ?? 0);
  const responseTopics = group ? group.topics : (response.topics ?? []);
  for (const t of responseTopics) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) {
        partitionMapSet(result.partitionErrors, t.name, p.partitionIndex, p.errorCode);
        // Old brokers report a coordinator problem per partition.
        if (COORDINATOR_ERRORS.has(p.errorCode)) result.errorCode = p.errorCode;
        continue;
      }
      if (p.committedOffset < 0n) continue;
      partitionMapSet(result.offsets, t.name, p.partitionIndex, {
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch ?? -1,
        metadata: p.metadata,
      });
    }
  }
  return result;
}

/** One OffsetCommit on a coordinator connection; the error code per partition. */
export async function sendOffsetCommit(conn: BrokerConnection, groupId: string, offsets: PartitionMap<bigint>, committer: Committer): Promise<PartitionMap<number>> {
  const response = await conn.request<OffsetCommitResponse>(ApiKey.OffsetCommit, (): OffsetCommitRequest => ({
    groupId,
    generationIdOrMemberEpoch: committer.generationId,
    memberId: committer.memberId,
    groupInstanceId: committer.groupInstanceId,
    retentionTimeMs: -1n,
    topics: [...offsets].map(([name, partitions]) => ({
      name,
      partitions: [...partitions].map(([partitionIndex, offset]) => ({
        partitionIndex,
        committedOffset: offset,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: '',
      })),
    })),
  }));
  const errors: PartitionMap<number> = new Map();
  for (const t of response.topics) for (const p of t.partitions) partitionMapSet(errors, t.name, p.partitionIndex, p.errorCode);
  return errors;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
