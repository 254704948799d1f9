// Kafka's embedded ConsumerProtocol (the JoinGroup metadata and SyncGroup
// assignment of protocol type "consumer"), as the coordinator reads and
// writes it when classic members live in a KIP-848 consumer group: an int16
// version, then the ConsumerProtocolSubscription / ConsumerProtocolAssignment
// struct. Versions newer than 3 are read as 3 (Kafka only appends fields).
import { Reader, Writer } from '../protocol/codec.js';
import { decodeConsumerProtocolAssignment, encodeConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { decodeConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';

const MAX_VERSION = 3;

export interface TopicPartitionList {
  topic: string;
  partitions: number[];
}

export interface ConsumerSubscription {
  version: number;
  topics: string[];
  ownedPartitions: TopicPartitionList[];
  rackId: string | null;
}

/** Null when the bytes are not a subscription (Kafka's SchemaException). */
export function decodeConsumerSubscription(bytes: Buffer): ConsumerSubscription | null {
  if (bytes.length < 2) return null;
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) return null;
  const s = decodeConsumerProtocolSubscription(r, Math.min(version, MAX_VERSION));
  if (!r.ok) return null;
  return { version, topics: s.topics, ownedPartitions: (s.ownedPartitions ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions })), rackId: s.rackId ?? null };
}

/** The version of a subscription's bytes (Kafka's ConsumerProtocol.deserializeVersion), 0 when unreadable. */
export function subscriptionVersion(bytes: Buffer): number {
  return bytes.length >= 2 ? Math.max(0, bytes.readInt16BE(0)) : 0;
}

/** An assignment in the version the member's subscription used, capped at 3 (Kafka's serializeAssignment). */
export function encodeConsumerAssignment(partitions: readonly TopicPartitionList[], version: number): Buffer {
  const v = Math.min(Math.max(version, 0), MAX_VERSION);
  const w = new Writer(64);
  w.int16(v);
  encodeConsumerProtocolAssignment(w, v, { assignedPartitions: partitions.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })), userData: null });
  return w.toBuffer();
}

/** Empty bytes are an empty assignment (a member the leader left out); null when the bytes do not decode. */
export function decodeConsumerAssignment(bytes: Buffer): TopicPartitionList[] | null {
  if (bytes.length === 0) return [];
  if (bytes.length < 2) return null;
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) return null;
  const a = decodeConsumerProtocolAssignment(r, Math.min(version, MAX_VERSION));
  if (!r.ok) return null;
  return a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
}
