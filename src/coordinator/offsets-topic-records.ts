// Record keys and values of `__consumer_offsets`, byte for byte as Kafka 4.0's
// group coordinator writes them, so Kafka tooling (kafka-dump-log
// --offsets-decoder, kafka-console-consumer with the offsets formatters) reads
// what Samsa writes and Samsa loads what Kafka wrote.
//
// Every key and value starts with an int16 version; the rest follows the
// group-coordinator module's message schemas. The key's version names the
// record type:
//   0, 1  OffsetCommitKey        group string | topic string | partition int32
//   2     GroupMetadataKey       group string
//   3-8   KIP-848 consumer group records (ConsumerGroupMetadataKey, ...);
//   16    ConsumerGroupRegularExpressionKey: passed through as `raw`, owned
//         by the consumer-group code
//   other share-group (9-15) and later types: skipped on load, as Kafka
//         skips record types it does not know
// Keys are never flexible: strings are int16 length + UTF-8.
//
// OffsetCommitValue, versions 0-4 (4 is flexible):
//   offset int64 | leaderEpoch int32 (v3+) | metadata string |
//   commitTimestamp int64 | expireTimestamp int64 (v1 only)
// Kafka 4.0 writes v1 when the commit carried an explicit retention
// (OffsetCommit v1's timestamp / v2-4's retention time) and v3 otherwise.
//
// GroupMetadataValue, versions 0-4 (4 is flexible):
//   protocolType string | generation int32 | protocol nullable string |
//   leader nullable string | currentStateTimestamp int64 (v2+) |
//   members [memberId string | groupInstanceId nullable string (v3+) |
//            clientId string | clientHost string | rebalanceTimeout int32 (v1+) |
//            sessionTimeout int32 | subscription bytes | assignment bytes]
// Kafka 4.0 writes v3.
//
// Flexible versions use compact strings/bytes/arrays (unsigned varint length
// + 1, 0 = null) and end every struct with tagged fields, which are skipped
// here (none are defined for these messages).
//
// Decoding is bounded: every length is checked against the bytes left before
// anything is allocated, and bad input is a value, never a throw.
import type { ClassicGroupSnapshot, ClassicMemberSnapshot, CoordinatorRecord, OffsetAndMetadata } from './coordinator-store.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Key versions, which double as record types. */
export const KeyVersion = {
  LEGACY_OFFSET_COMMIT: 0,
  OFFSET_COMMIT: 1,
  GROUP_METADATA: 2,
  CONSUMER_GROUP_METADATA: 3,
  CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT: 8,
  CONSUMER_GROUP_REGULAR_EXPRESSION: 16,
} as const;

/** What Kafka 4.0 writes (GroupCoordinatorRecordHelpers). */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;
const OFFSET_COMMIT_VALUE_VERSION_MAX = 4;
const GROUP_METADATA_VALUE_VERSION_MAX = 4;
const FLEXIBLE_VERSION = 4;

/** Kafka's int16-length strings hold at most this many bytes. */
const STRING_BYTES_MAX = 0x7fff;
/** Kafka writes -1 for "no leader epoch" and "no expiry". */
const NO_VALUE = -1;
/** The smallest member entry (v0: three empty strings, an int32, two empty byte arrays). */
const MEMBER_BYTES_MIN = 2 + 2 + 2 + 4 + 4 + 4;

/** A value that cannot be encoded in Kafka's layout (a string past 32767 bytes). */
export class RecordEncodeError extends Error {
  override name = 'RecordEncodeError';
}

export type DecodeResult =
  | { ok: true; record: CoordinatorRecord }
  /** `unknownType`: a key version this broker does not handle (skip it); otherwise the bytes are malformed. */
  | { ok: false; unknownType: boolean; keyVersion: number; reason: string };

// ---- encoding ----

/** Appends big-endian fields to a list of chunks; one concat at the end. */
class Writer {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.push(b);
  }

  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.push(b);
  }

  int64(v: number | bigint): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(v));
    this.push(b);
  }

  unsignedVarint(v: number): void {
    const bytes: number[] = [];
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.push(Buffer.from(bytes));
  }

  string(field: string, s: string | null, flexible: boolean): void {
    if (s === null) {
      if (flexible) this.unsignedVarint(0);
      else this.int16(-1);
      return;
    }
    const bytes = Buffer.from(s, 'utf8');
    if (flexible) {
      this.unsignedVarint(bytes.length + 1);
    } else {
      if (bytes.length > STRING_BYTES_MAX) throw new RecordEncodeError(`'${field}' field is too long to be serialized (${bytes.length} bytes)`);
      this.int16(bytes.length);
    }
    this.push(bytes);
  }

  bytes(b: Buffer, flexible: boolean): void {
    if (flexible) this.unsignedVarint(b.length + 1);
    else this.int32(b.length);
    this.push(b);
  }

  /** An empty tagged-fields section. */
  noTags(): void {
    this.unsignedVarint(0);
  }

  done(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number, version: number = KeyVersion.OFFSET_COMMIT): Buffer {
  const w = new Writer();
  w.int16(version);
  w.string('group', groupId, false);
  w.string('topic', topic, false);
  w.int32(partition);
  return w.done();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  const w = new Writer();
  w.int16(KeyVersion.GROUP_METADATA);
  w.string('group', groupId, false);
  return w.done();
}

/** The version Kafka 4.0 picks: v1 only to keep an explicit expire timestamp. */
export function offsetCommitValueVersionFor(value: OffsetAndMetadata): number {
  return value.expireTimestampMs !== null ? OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY : OFFSET_COMMIT_VALUE_VERSION;
}

export function encodeOffsetCommitValue(value: OffsetAndMetadata, version = offsetCommitValueVersionFor(value)): Buffer {
  if (version < 0 || version > OFFSET_COMMIT_VALUE_VERSION_MAX) throw new RangeError(`OffsetCommitValue version ${version}`);
  const flexible = version >= FLEXIBLE_VERSION;
  const w = new Writer();
  w.int16(version);
  w.int64(value.offset);
  if (version >= 3) w.int32(value.leaderEpoch);
  w.string('metadata', value.metadata, flexible);
  w.int64(value.commitTimestampMs);
  if (version === 1) w.int64(value.expireTimestampMs ?? NO_VALUE);
  if (flexible) w.noTags();
  return w.done();
}

export function encodeGroupMetadataValue(group: ClassicGroupSnapshot, version = GROUP_METADATA_VALUE_VERSION): Buffer {
  if (version < 0 || version > GROUP_METADATA_VALUE_VERSION_MAX) throw new RangeError(`GroupMetadataValue version ${version}`);
  const flexible = version >= FLEXIBLE_VERSION;
  const w = new Writer();
  w.int16(version);
  w.string('protocolType', group.protocolType, flexible);
  w.int32(group.generationId);
  w.string('protocol', group.protocolName, flexible);
  w.string('leader', group.leaderId, flexible);
  if (version >= 2) w.int64(group.currentStateTimestampMs);
  if (flexible) w.unsignedVarint(group.members.length + 1);
  else w.int32(group.members.length);
  for (const m of group.members) {
    w.string('memberId', m.memberId, flexible);
    if (version >= 3) w.string('groupInstanceId', m.groupInstanceId, flexible);
    w.string('clientId', m.clientId, flexible);
    w.string('clientHost', m.clientHost, flexible);
    if (version >= 1) w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription, flexible);
    w.bytes(m.assignment, flexible);
    if (flexible) w.noTags();
  }
  if (flexible) w.noTags();
  return w.done();
}

/** The key and value (null for a tombstone) of one record, as Kafka writes them. Throws RecordEncodeError. */
export function encodeCoordinatorRecord(record: CoordinatorRecord): { key: Buffer; value: Buffer | null } {
  switch (record.type) {
    case 'offset':
      return {
        key: encodeOffsetCommitKey(record.groupId, record.topic, record.partition),
        value: record.value === null ? null : encodeOffsetCommitValue(record.value),
      };
    case 'group':
      return { key: encodeGroupMetadataKey(record.groupId), value: record.value === null ? null : encodeGroupMetadataValue(record.value) };
    case 'raw':
      return { key: record.key, value: record.value };
  }
}

// ---- decoding ----

/** Bounded big-endian reader: short input marks it bad and yields zeros; checked once per message. */
class Reader {
  bad = false;
  reason = '';
  private position = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.position;
  }

  fail(reason: string): void {
    if (!this.bad) {
      this.bad = true;
      this.reason = `${reason} at byte ${this.position}`;
    }
    this.position = this.buf.length;
  }

  private take(n: number, what: string): number {
    if (n > this.remaining) {
      this.fail(`truncated ${what}`);
      return -1;
    }
    const at = this.position;
    this.position += n;
    return at;
  }

  int16(): number {
    const at = this.take(2, 'int16');
    return at < 0 ? 0 : this.buf.readInt16BE(at);
  }

  int32(): number {
    const at = this.take(4, 'int32');
    return at < 0 ? 0 : this.buf.readInt32BE(at);
  }

  int64(): bigint {
    const at = this.take(8, 'int64');
    return at < 0 ? 0n : this.buf.readBigInt64BE(at);
  }

  /** An int64 that must be a safe integer (timestamps). */
  int64Number(): number {
    const v = this.int64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`int64 ${v} outside the safe integer range`);
      return 0;
    }
    return Number(v);
  }

  unsignedVarint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const at = this.take(1, 'varint');
      if (at < 0) return 0;
      const b = this.buf[at];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (value > 0xffffffff) break;
        return value;
      }
      scale *= 128;
    }
    this.fail('malformed unsigned varint');
    return 0;
  }

  /** A string's byte length, or -1 for null. */
  private length(flexible: boolean, what: string): number {
    const n = flexible ? this.unsignedVarint() - 1 : this.int16();
    if (n < -1) this.fail(`${what} length ${n}`);
    else if (n > this.remaining) this.fail(`${what} length ${n} past the ${this.remaining} bytes left`);
    return this.bad ? -1 : n;
  }

  nullableString(flexible: boolean): string | null {
    const n = this.length(flexible, 'string');
    if (n < 0) return null;
    const at = this.take(n, 'string');
    return at < 0 ? null : this.buf.toString('utf8', at, at + n);
  }

  string(flexible: boolean, field: string): string {
    const s = this.nullableString(flexible);
    if (s === null && !this.bad) this.fail(`null ${field}`);
    return s ?? '';
  }

  bytes(flexible: boolean): Buffer {
    const n = flexible ? this.unsignedVarint() - 1 : this.int32();
    if (n < 0 || n > this.remaining) {
      this.fail(`bytes length ${n} with ${this.remaining} bytes left`);
      return Buffer.alloc(0);
    }
    const at = this.take(n, 'bytes');
    // A copy: the batch buffer the record came from is reused.
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  /** Non-flexible nullable bytes (int32 length, -1 = null). */
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0 || n > this.remaining) {
      this.fail(`bytes length ${n} with ${this.remaining} bytes left`);
      return null;
    }
    const at = this.take(n, 'bytes');
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  arrayCount(flexible: boolean, elementBytesMin: number): number {
    const n = flexible ? this.unsignedVarint() - 1 : this.int32();
    if (n < 0 || n * elementBytesMin > this.remaining) {
      this.fail(`array of ${n} elements with ${this.remaining} bytes left`);
      return 0;
    }
    return n;
  }

  /** Skips a tagged-fields section (none are defined for these messages). */
  skipTags(): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count && !this.bad; i++) {
      this.unsignedVarint();
      const size = this.unsignedVarint();
      this.take(size, 'tagged field');
    }
  }
}

export function decodeOffsetCommitValue(buf: Buffer): { value: OffsetAndMetadata; version: number } | { error: string } {
  const r = new Reader(buf);
  const version = r.int16();
  if (!r.bad && (version < 0 || version > OFFSET_COMMIT_VALUE_VERSION_MAX)) return { error: `unknown OffsetCommitValue version ${version}` };
  const flexible = version >= FLEXIBLE_VERSION;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : NO_VALUE;
  const metadata = r.string(flexible, 'metadata');
  const commitTimestampMs = r.int64Number();
  const expireTimestamp = version === 1 ? r.int64Number() : NO_VALUE;
  if (flexible) r.skipTags();
  if (r.bad) return { error: `OffsetCommitValue v${version}: ${r.reason}` };
  // Kafka reads what it understands and ignores trailing bytes of a newer minor layout; so do we.
  return {
    version,
    value: { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs: expireTimestamp === NO_VALUE ? null : expireTimestamp },
  };
}

export function decodeGroupMetadataValue(groupId: string, buf: Buffer): { value: ClassicGroupSnapshot; version: number } | { error: string } {
  const r = new Reader(buf);
  const version = r.int16();
  if (!r.bad && (version < 0 || version > GROUP_METADATA_VALUE_VERSION_MAX)) return { error: `unknown GroupMetadataValue version ${version}` };
  const flexible = version >= FLEXIBLE_VERSION;
  const protocolType = r.string(flexible, 'protocolType');
  const generationId = r.int32();
  const protocolName = r.nullableString(flexible);
  const leaderId = r.nullableString(flexible);
  const currentStateTimestampMs = version >= 2 ? r.int64Number() : NO_VALUE;
  const count = r.arrayCount(flexible, flexible ? MEMBER_BYTES_MIN / 2 : MEMBER_BYTES_MIN);
  const members: ClassicMemberSnapshot[] = [];
  for (let i = 0; i < count && !r.bad; i++) {
    const memberId = r.string(flexible, 'memberId');
    const groupInstanceId = version >= 3 ? r.nullableString(flexible) : null;
    const clientId = r.string(flexible, 'clientId');
    const clientHost = r.string(flexible, 'clientHost');
    const sessionOrRebalance = r.int32();
    // v0 has no rebalance timeout; Kafka then uses the session timeout for both.
    const rebalanceTimeoutMs = sessionOrRebalance;
    const sessionTimeoutMs = version >= 1 ? r.int32() : sessionOrRebalance;
    const subscription = r.bytes(flexible);
    const assignment = r.bytes(flexible);
    if (flexible) r.skipTags();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (flexible) r.skipTags();
  if (r.bad) return { error: `GroupMetadataValue v${version}: ${r.reason}` };
  return { version, value: { groupId, protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members } };
}

function isRawKeyVersion(version: number): boolean {
  return (version >= KeyVersion.CONSUMER_GROUP_METADATA && version <= KeyVersion.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT) || version === KeyVersion.CONSUMER_GROUP_REGULAR_EXPRESSION;
}

/** One record of `__consumer_offsets` (value null = tombstone) as the store's record type. */
export function decodeCoordinatorRecord(key: Buffer | null, value: Buffer | null): DecodeResult {
  if (key === null) return { ok: false, unknownType: false, keyVersion: -1, reason: 'record without a key' };
  const r = new Reader(key);
  const keyVersion = r.int16();
  if (r.bad) return { ok: false, unknownType: false, keyVersion: -1, reason: `key: ${r.reason}` };
  if (keyVersion === KeyVersion.LEGACY_OFFSET_COMMIT || keyVersion === KeyVersion.OFFSET_COMMIT) {
    const groupId = r.string(false, 'group');
    const topic = r.string(false, 'topic');
    const partition = r.int32();
    if (r.bad) return { ok: false, unknownType: false, keyVersion, reason: `OffsetCommitKey: ${r.reason}` };
    if (value === null) return { ok: true, record: { type: 'offset', groupId, topic, partition, value: null } };
    const decoded = decodeOffsetCommitValue(value);
    if ('error' in decoded) return { ok: false, unknownType: false, keyVersion, reason: decoded.error };
    return { ok: true, record: { type: 'offset', groupId, topic, partition, value: decoded.value } };
  }
  if (keyVersion === KeyVersion.GROUP_METADATA) {
    const groupId = r.string(false, 'group');
    if (r.bad) return { ok: false, unknownType: false, keyVersion, reason: `GroupMetadataKey: ${r.reason}` };
    if (value === null) return { ok: true, record: { type: 'group', groupId, value: null } };
    const decoded = decodeGroupMetadataValue(groupId, value);
    if ('error' in decoded) return { ok: false, unknownType: false, keyVersion, reason: decoded.error };
    return { ok: true, record: { type: 'group', groupId, value: decoded.value } };
  }
  if (isRawKeyVersion(keyVersion)) return { ok: true, record: { type: 'raw', key, value } };
  return { ok: false, unknownType: true, keyVersion, reason: `unknown record type ${keyVersion}` };
}

// ---- kafka-dump-log --offsets-decoder ----

/**
 * One record as kafka-dump-log --offsets-decoder prints it (Kafka 4.0's
 * OffsetsMessageParser): the key as {"type":"<key version>","data":{...}},
 * the value as {"version":"<value version>","data":{...}} or <DELETE>, with
 * the schema's field names and only the fields of that version. Bytes fields
 * (a member's subscription and assignment) are base64, as Kafka prints them
 * when it does not parse the embedded consumer protocol. KIP-848 types are
 * named but not decoded here.
 */
export function formatOffsetsRecord(offset: number, key: Buffer | null, value: Buffer | null): { key: string; payload: string | null } {
  if (key === null) return { key: `Failed to decode message at offset ${offset} using offset topic decoder (message had a missing key)`, payload: null };
  const r = new Reader(key);
  const keyVersion = r.int16();
  const fail = (reason: string) => ({ key: `Error at offset ${offset}, skipping. ${reason}`, payload: null });
  if (r.bad) return fail(`Could not read the key: ${r.reason}`);
  const type = (data: Record<string, unknown>) => JSON.stringify({ type: String(keyVersion), data });
  const versioned = (version: number, data: Record<string, unknown>) => JSON.stringify({ version: String(version), data });
  if (keyVersion === KeyVersion.LEGACY_OFFSET_COMMIT || keyVersion === KeyVersion.OFFSET_COMMIT) {
    const group = r.string(false, 'group');
    const topic = r.string(false, 'topic');
    const partition = r.int32();
    if (r.bad) return fail(`Could not read the key: ${r.reason}`);
    const keyText = type({ group, topic, partition });
    if (value === null) return { key: keyText, payload: '<DELETE>' };
    const decoded = decodeOffsetCommitValue(value);
    if ('error' in decoded) return fail(decoded.error);
    const v = decoded.value;
    const data: Record<string, unknown> = { offset: Number(v.offset) };
    if (decoded.version >= 3) data.leaderEpoch = v.leaderEpoch;
    data.metadata = v.metadata;
    data.commitTimestamp = v.commitTimestampMs;
    if (decoded.version === 1) data.expireTimestamp = v.expireTimestampMs ?? NO_VALUE;
    return { key: keyText, payload: versioned(decoded.version, data) };
  }
  if (keyVersion === KeyVersion.GROUP_METADATA) {
    const group = r.string(false, 'group');
    if (r.bad) return fail(`Could not read the key: ${r.reason}`);
    const keyText = type({ group });
    if (value === null) return { key: keyText, payload: '<DELETE>' };
    const decoded = decodeGroupMetadataValue(group, value);
    if ('error' in decoded) return fail(decoded.error);
    const g = decoded.value;
    const version = decoded.version;
    const data: Record<string, unknown> = { protocolType: g.protocolType, generation: g.generationId, protocol: g.protocolName, leader: g.leaderId };
    if (version >= 2) data.currentStateTimestamp = g.currentStateTimestampMs;
    data.members = g.members.map((m) => {
      const member: Record<string, unknown> = { memberId: m.memberId };
      if (version >= 3) member.groupInstanceId = m.groupInstanceId;
      member.clientId = m.clientId;
      member.clientHost = m.clientHost;
      if (version >= 1) member.rebalanceTimeout = m.rebalanceTimeoutMs;
      member.sessionTimeout = m.sessionTimeoutMs;
      // Kafka's tool shows the embedded consumer protocol when it parses, base64 otherwise.
      const consumer = g.protocolType === 'consumer';
      member.subscription = (consumer && consumerSubscriptionJson(m.subscription)) || m.subscription.toString('base64');
      member.assignment = (consumer && consumerAssignmentJson(m.assignment)) || m.assignment.toString('base64');
      return member;
    });
    return { key: keyText, payload: versioned(version, data) };
  }
  if (isRawKeyVersion(keyVersion)) {
    return { key: `Record type ${keyVersion} (KIP-848 consumer group) at offset ${offset}: not decoded by this tool.`, payload: value === null ? '<DELETE>' : null };
  }
  return { key: `Unknown record type ${keyVersion} at offset ${offset}, skipping.`, payload: null };
}

// The consumer protocol embedded in a classic "consumer" group's members
// (ConsumerProtocolSubscription / ConsumerProtocolAssignment, versions 0-3, not
// flexible), as Kafka's JSON converters print them; null when it does not parse.
const CONSUMER_PROTOCOL_VERSION_MAX = 3;
const TOPIC_PARTITION_BYTES_MIN = 2 + 4;

function readTopicPartitions(r: Reader): Array<{ topic: string; partitions: number[] }> {
  const count = r.arrayCount(false, TOPIC_PARTITION_BYTES_MIN);
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (let i = 0; i < count && !r.bad; i++) {
    const topic = r.string(false, 'topic');
    const n = r.arrayCount(false, 4);
    const partitions: number[] = [];
    for (let j = 0; j < n && !r.bad; j++) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}

export function consumerSubscriptionJson(bytes: Buffer): Record<string, unknown> | null {
  const r = new Reader(bytes);
  const version = r.int16();
  if (r.bad || version < 0 || version > CONSUMER_PROTOCOL_VERSION_MAX) return null;
  const topicCount = r.arrayCount(false, 2);
  const topics: string[] = [];
  for (let i = 0; i < topicCount && !r.bad; i++) topics.push(r.string(false, 'topic'));
  const userData = r.nullableBytes();
  const json: Record<string, unknown> = { topics, userData: userData === null ? null : userData.toString('base64') };
  if (version >= 1) json.ownedPartitions = readTopicPartitions(r);
  if (version >= 2) json.generationId = r.int32();
  if (version >= 3) json.rackId = r.nullableString(false);
  return r.bad ? null : json;
}

export function consumerAssignmentJson(bytes: Buffer): Record<string, unknown> | null {
  const r = new Reader(bytes);
  const version = r.int16();
  if (r.bad || version < 0 || version > CONSUMER_PROTOCOL_VERSION_MAX) return null;
  const assignedPartitions = readTopicPartitions(r);
  const userData = r.nullableBytes();
  return r.bad ? null : { assignedPartitions, userData: userData === null ? null : userData.toString('base64') };
}
