// The KIP-848 records a consumer group writes to `__consumer_offsets`, in
// Kafka's layouts (group-coordinator/src/main/resources/common/message), so
// the log reads like Kafka's. Each record's key starts with its int16 key
// version, which is the record type; keys are non-flexible (int16-length
// strings). Values start with int16 version 0 and are flexible (compact
// strings and arrays, an empty tagged-field section). A null value is a
// tombstone.
//
//   3 ConsumerGroupMetadata            key {GroupId}            value {Epoch}
//   4 ConsumerGroupPartitionMetadata   key {GroupId}            value {Topics[{TopicId, TopicName, NumPartitions, PartitionMetadata[]}]}
//   5 ConsumerGroupMemberMetadata      key {GroupId, MemberId}  value {InstanceId, RackId, ClientId, ClientHost,
//                                                                      SubscribedTopicNames, SubscribedTopicRegex, RebalanceTimeoutMs, ServerAssignor,
//                                                                      tag 0: ClassicMemberMetadata {SessionTimeoutMs, SupportedProtocols[{Name, Metadata}]}}
//   6 ConsumerGroupTargetAssignmentMetadata key {GroupId}       value {AssignmentEpoch}
//   7 ConsumerGroupTargetAssignmentMember   key {GroupId, MemberId} value {TopicPartitions[{TopicId, Partitions}]}
//   8 ConsumerGroupCurrentMemberAssignment  key {GroupId, MemberId} value {MemberEpoch, PreviousMemberEpoch, State,
//                                                                      AssignedPartitions[], PartitionsPendingRevocation[]}
//
// Rack metadata per partition is written empty: this broker has no racks.
import { Reader, Writer } from '../protocol/codec.js';
import type { TopicPartitions } from './assignors/assignor.js';

export const RecordType = {
  GROUP_METADATA: 3,
  PARTITION_METADATA: 4,
  MEMBER_METADATA: 5,
  TARGET_ASSIGNMENT_METADATA: 6,
  TARGET_ASSIGNMENT_MEMBER: 7,
  CURRENT_MEMBER_ASSIGNMENT: 8,
} as const;

/** A subscribed topic as the group saw it when it last computed its subscription metadata. */
export interface SubscribedTopic {
  topicId: string;
  topicName: string;
  numPartitions: number;
}

export interface MemberSubscription {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /**
   * Set for a member that speaks the classic protocol (JoinGroup/SyncGroup)
   * inside a consumer group, after an online upgrade: its session timeout and
   * JoinGroup protocols. Null for KIP-848 members. Tagged field 0, as in Kafka.
   */
  classicMemberMetadata?: ClassicMemberMetadata | null;
}

export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  supportedProtocols: Array<{ name: string; metadata: Buffer }>;
}

export interface CurrentAssignment {
  memberEpoch: number;
  previousMemberEpoch: number;
  /** MemberState's byte value. */
  state: number;
  assignedPartitions: TopicPartitions;
  partitionsPendingRevocation: TopicPartitions;
}

export type ConsumerGroupRecord =
  | { kind: 'group-metadata'; groupId: string; epoch: number | null }
  | { kind: 'partition-metadata'; groupId: string; topics: SubscribedTopic[] | null }
  | { kind: 'member-metadata'; groupId: string; memberId: string; value: MemberSubscription | null }
  | { kind: 'target-assignment-metadata'; groupId: string; assignmentEpoch: number | null }
  | { kind: 'target-assignment-member'; groupId: string; memberId: string; partitions: TopicPartitions | null }
  | { kind: 'current-member-assignment'; groupId: string; memberId: string; value: CurrentAssignment | null };

const KEY_TYPE: Record<ConsumerGroupRecord['kind'], number> = {
  'group-metadata': RecordType.GROUP_METADATA,
  'partition-metadata': RecordType.PARTITION_METADATA,
  'member-metadata': RecordType.MEMBER_METADATA,
  'target-assignment-metadata': RecordType.TARGET_ASSIGNMENT_METADATA,
  'target-assignment-member': RecordType.TARGET_ASSIGNMENT_MEMBER,
  'current-member-assignment': RecordType.CURRENT_MEMBER_ASSIGNMENT,
};

const VALUE_VERSION = 0;

/** Whether a record key (its int16 version) is one of the KIP-848 consumer group records. */
export function isConsumerGroupKey(key: Buffer): boolean {
  if (key.length < 2) return false;
  const type = key.readInt16BE(0);
  return type >= RecordType.GROUP_METADATA && type <= RecordType.CURRENT_MEMBER_ASSIGNMENT;
}

export function encodeRecord(record: ConsumerGroupRecord): { key: Buffer; value: Buffer | null } {
  const k = new Writer(64);
  k.int16(KEY_TYPE[record.kind]);
  k.string(record.groupId);
  if ('memberId' in record) k.string(record.memberId);
  return { key: k.toBuffer(), value: encodeValue(record) };
}

function encodeValue(record: ConsumerGroupRecord): Buffer | null {
  const w = new Writer(128);
  w.int16(VALUE_VERSION);
  switch (record.kind) {
    case 'group-metadata':
      if (record.epoch === null) return null;
      w.int32(record.epoch);
      break;
    case 'partition-metadata':
      if (record.topics === null) return null;
      w.compactArrayCount(record.topics.length);
      for (const t of record.topics) {
        w.uuid(t.topicId);
        w.compactString(t.topicName);
        w.int32(t.numPartitions);
        w.compactArrayCount(0);
        w.uvarint(0);
      }
      break;
    case 'member-metadata': {
      const v = record.value;
      if (v === null) return null;
      w.compactNullableString(v.instanceId);
      w.compactNullableString(v.rackId);
      w.compactString(v.clientId);
      w.compactString(v.clientHost);
      w.compactArrayCount(v.subscribedTopicNames.length);
      for (const name of v.subscribedTopicNames) w.compactString(name);
      w.compactNullableString(v.subscribedTopicRegex);
      w.int32(v.rebalanceTimeoutMs);
      w.compactNullableString(v.serverAssignor);
      const classic = v.classicMemberMetadata ?? null;
      if (classic === null) break;
      // Tagged field 0 (a nullable struct: presence byte, then the flexible struct).
      const t = new Writer(64);
      t.int8(1);
      t.int32(classic.sessionTimeoutMs);
      t.compactArrayCount(classic.supportedProtocols.length);
      for (const p of classic.supportedProtocols) {
        t.compactString(p.name);
        t.compactBytes(p.metadata);
        t.uvarint(0);
      }
      t.uvarint(0);
      const tagged = t.toBuffer();
      w.uvarint(1);
      w.uvarint(0);
      w.uvarint(tagged.length);
      w.raw(tagged);
      return w.toBuffer();
    }
    case 'target-assignment-metadata':
      if (record.assignmentEpoch === null) return null;
      w.int32(record.assignmentEpoch);
      break;
    case 'target-assignment-member':
      if (record.partitions === null) return null;
      writeTopicPartitions(w, record.partitions);
      break;
    case 'current-member-assignment': {
      const v = record.value;
      if (v === null) return null;
      w.int32(v.memberEpoch);
      w.int32(v.previousMemberEpoch);
      w.int8(v.state);
      writeTopicPartitions(w, v.assignedPartitions);
      writeTopicPartitions(w, v.partitionsPendingRevocation);
      break;
    }
  }
  w.uvarint(0);
  return w.toBuffer();
}

function writeTopicPartitions(w: Writer, partitions: TopicPartitions): void {
  const topics = [...partitions].filter(([, ps]) => ps.size > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  w.compactArrayCount(topics.length);
  for (const [topicId, ps] of topics) {
    w.uuid(topicId);
    const sorted = [...ps].sort((a, b) => a - b);
    w.compactArrayCount(sorted.length);
    for (const p of sorted) w.int32(p);
    w.uvarint(0);
  }
}

/** Decodes one record; throws on bytes that do not parse (the log is ours, so that is corruption). */
export function decodeRecord(key: Buffer, value: Buffer | null): ConsumerGroupRecord {
  const k = new Reader(key);
  const type = k.int16();
  const groupId = k.string();
  const memberId = type === RecordType.MEMBER_METADATA || type === RecordType.TARGET_ASSIGNMENT_MEMBER || type === RecordType.CURRENT_MEMBER_ASSIGNMENT ? k.string() : '';
  if (!k.ok) throw new Error(`consumer group record key (type ${type}): ${k.error}`);
  const v = value === null ? null : new Reader(value);
  if (v !== null && v.int16() !== VALUE_VERSION) throw new Error(`consumer group record (type ${type}) of group ${groupId}: unknown value version`);
  let record: ConsumerGroupRecord;
  switch (type) {
    case RecordType.GROUP_METADATA:
      record = { kind: 'group-metadata', groupId, epoch: v === null ? null : v.int32() };
      break;
    case RecordType.PARTITION_METADATA:
      record = { kind: 'partition-metadata', groupId, topics: v === null ? null : readSubscribedTopics(v) };
      break;
    case RecordType.MEMBER_METADATA:
      record = { kind: 'member-metadata', groupId, memberId, value: v === null ? null : readMemberSubscription(v) };
      if (v !== null && record.value !== null) {
        record.value.classicMemberMetadata = readClassicMemberTag(v);
        if (!v.ok) throw new Error(`consumer group record (type ${type}) of group ${groupId}: ${v.error}`);
        return record;
      }
      break;
    case RecordType.TARGET_ASSIGNMENT_METADATA:
      record = { kind: 'target-assignment-metadata', groupId, assignmentEpoch: v === null ? null : v.int32() };
      break;
    case RecordType.TARGET_ASSIGNMENT_MEMBER:
      record = { kind: 'target-assignment-member', groupId, memberId, partitions: v === null ? null : readTopicPartitions(v) };
      break;
    case RecordType.CURRENT_MEMBER_ASSIGNMENT:
      record = {
        kind: 'current-member-assignment',
        groupId,
        memberId,
        value:
          v === null
            ? null
            : { memberEpoch: v.int32(), previousMemberEpoch: v.int32(), state: v.int8(), assignedPartitions: readTopicPartitions(v), partitionsPendingRevocation: readTopicPartitions(v) },
      };
      break;
    default:
      throw new Error(`not a consumer group record: key type ${type}`);
  }
  if (v !== null) skipTags(v);
  if (v !== null && !v.ok) throw new Error(`consumer group record (type ${type}) of group ${groupId}: ${v.error}`);
  return record;
}

function readSubscribedTopics(r: Reader): SubscribedTopic[] {
  const n = r.nonNull(r.compactArrayCount(1));
  const topics: SubscribedTopic[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const topicId = r.uuid();
    const topicName = r.compactString();
    const numPartitions = r.int32();
    const racks = r.nonNull(r.compactArrayCount(1));
    for (let j = 0; j < racks && r.ok; j++) {
      r.int32();
      const names = r.nonNull(r.compactArrayCount(1));
      for (let x = 0; x < names && r.ok; x++) r.compactString();
      skipTags(r);
    }
    skipTags(r);
    topics.push({ topicId, topicName, numPartitions });
  }
  return topics;
}

function readMemberSubscription(r: Reader): MemberSubscription {
  const instanceId = r.compactNullableString();
  const rackId = r.compactNullableString();
  const clientId = r.compactString();
  const clientHost = r.compactString();
  const n = r.nonNull(r.compactArrayCount(1));
  const subscribedTopicNames: string[] = [];
  for (let i = 0; i < n && r.ok; i++) subscribedTopicNames.push(r.compactString());
  const subscribedTopicRegex = r.compactNullableString();
  const rebalanceTimeoutMs = r.int32();
  const serverAssignor = r.compactNullableString();
  return { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor };
}

/** The tagged fields of a member metadata value: tag 0 is the classic member metadata, others are skipped. */
function readClassicMemberTag(r: Reader): ClassicMemberMetadata | null {
  let classic: ClassicMemberMetadata | null = null;
  const count = r.uvarint();
  for (let i = 0; i < count && r.ok; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    const end = r.taggedEnd(size);
    if (tag !== 0) {
      r.unknownTagged(tag, size, undefined);
      continue;
    }
    if (r.int8() !== 1) {
      r.checkTaggedEnd(end);
      continue;
    }
    const sessionTimeoutMs = r.int32();
    const n = r.nonNull(r.compactArrayCount(2));
    const supportedProtocols: ClassicMemberMetadata['supportedProtocols'] = [];
    for (let j = 0; j < n && r.ok; j++) {
      const name = r.compactString();
      const metadata = Buffer.from(r.compactBytes());
      skipTags(r);
      supportedProtocols.push({ name, metadata });
    }
    skipTags(r);
    r.checkTaggedEnd(end);
    classic = { sessionTimeoutMs, supportedProtocols };
  }
  return classic;
}

function readTopicPartitions(r: Reader): TopicPartitions {
  const out: TopicPartitions = new Map();
  const n = r.nonNull(r.compactArrayCount(17));
  for (let i = 0; i < n && r.ok; i++) {
    const topicId = r.uuid();
    const count = r.nonNull(r.compactArrayCount(4));
    const partitions = new Set<number>();
    for (let j = 0; j < count && r.ok; j++) partitions.add(r.int32());
    skipTags(r);
    if (partitions.size > 0) out.set(topicId, partitions);
  }
  return out;
}

function skipTags(r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count && r.ok; i++) {
    r.uvarint();
    const size = r.uvarint();
    r.taggedEnd(size);
    r.unknownTagged(0, size, undefined);
  }
}
