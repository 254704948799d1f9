// Pre-encoded Produce requests for the load generator. A frame (size prefix,
// request header, body) is laid out once with its record batches in place;
// each send patches only the correlation id, the partition indexes, the
// batches' timestamps and their CRCs, so the hot path allocates nothing and
// never touches a record. Layout of Produce v3-v11 (v9+ flexible), from
// Kafka's ProduceRequest.json:
//   header: apiKey int16 | apiVersion int16 | correlationId int32 | clientId string(int16)
//           [v9+: tagged fields]
//   body:   transactionalId nullable string | acks int16 | timeoutMs int32
//           | topics [name string | partitions [index int32 | records bytes [tags]] [tags]] [tags]
// where v9+ uses compact (uvarint length + 1) strings, arrays and bytes.
import { crc32c } from '../record/crc32c.js';
import { BatchField } from '../record/record-batch.js';

const PRODUCE_API_KEY = 0;
const FLEXIBLE_FROM = 9;
export const PRODUCE_VERSION_MIN = 3;
export const PRODUCE_VERSION_MAX = 11;
const CORRELATION_ID_AT = 8;
const CRC_FROM = BatchField.attributes;

export interface FrameEntry {
  /** Where the entry's partition index (int32) is in the frame. */
  partitionAt: number;
  /** Where its record batch starts, and its length. */
  batchAt: number;
  batchBytes: number;
  records: number;
}

export interface ProduceFrame {
  frame: Buffer;
  entries: FrameEntry[];
  records: number;
}

export interface FrameSpec {
  version: number;
  clientId: string;
  acks: number;
  timeoutMs: number;
  topic: string;
  /** One record batch per partition entry (the same buffer may repeat). */
  batches: Buffer[];
  /** Records in each batch. */
  recordCounts: number[];
}

function uvarintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeUvarint(buf: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/** Lays out one Produce request frame holding `spec.batches`; partition indexes start as 0. */
export function buildProduceFrame(spec: FrameSpec): ProduceFrame {
  const { version } = spec;
  if (version < PRODUCE_VERSION_MIN || version > PRODUCE_VERSION_MAX) throw new Error(`Produce v${version} is not supported by the load generator`);
  const flexible = version >= FLEXIBLE_FROM;
  const clientId = Buffer.from(spec.clientId, 'utf8');
  const topic = Buffer.from(spec.topic, 'utf8');
  const count = spec.batches.length;
  let size = 4 + 2 + 2 + 4 + 2 + clientId.length + (flexible ? 1 : 0);
  size += flexible ? 1 : 2; // null transactional id
  size += 2 + 4;
  size += flexible ? uvarintBytes(2) + uvarintBytes(topic.length + 1) + topic.length + uvarintBytes(count + 1) : 4 + 2 + topic.length + 4;
  for (const b of spec.batches) size += 4 + (flexible ? uvarintBytes(b.length + 1) + b.length + 1 : 4 + b.length);
  if (flexible) size += 2; // topic and body tagged fields
  const frame = Buffer.alloc(size);
  let at = 0;
  at = frame.writeInt32BE(size - 4, at);
  at = frame.writeInt16BE(PRODUCE_API_KEY, at);
  at = frame.writeInt16BE(version, at);
  at = frame.writeInt32BE(0, at);
  at = frame.writeInt16BE(clientId.length, at);
  at += clientId.copy(frame, at);
  if (flexible) frame[at++] = 0;
  if (flexible) frame[at++] = 0;
  else at = frame.writeInt16BE(-1, at);
  at = frame.writeInt16BE(spec.acks, at);
  at = frame.writeInt32BE(spec.timeoutMs, at);
  if (flexible) {
    at = writeUvarint(frame, at, 2);
    at = writeUvarint(frame, at, topic.length + 1);
  } else {
    at = frame.writeInt32BE(1, at);
    at = frame.writeInt16BE(topic.length, at);
  }
  at += topic.copy(frame, at);
  at = flexible ? writeUvarint(frame, at, count + 1) : frame.writeInt32BE(count, at);
  const entries: FrameEntry[] = [];
  let records = 0;
  for (let i = 0; i < count; i++) {
    const batch = spec.batches[i];
    const partitionAt = at;
    at = frame.writeInt32BE(0, at);
    at = flexible ? writeUvarint(frame, at, batch.length + 1) : frame.writeInt32BE(batch.length, at);
    const batchAt = at;
    at += batch.copy(frame, at);
    if (flexible) frame[at++] = 0;
    entries.push({ partitionAt, batchAt, batchBytes: batch.length, records: spec.recordCounts[i] });
    records += spec.recordCounts[i];
  }
  if (flexible) {
    frame[at++] = 0;
    frame[at++] = 0;
  }
  if (at !== size) throw new Error(`produce frame: wrote ${at} of ${size} bytes`);
  return { frame, entries, records };
}

export function setCorrelationId(frame: Buffer, correlationId: number): void {
  frame.writeInt32BE(correlationId, CORRELATION_ID_AT);
}

/** Sets a batch's base and max timestamp to `timestampMs` (every record has delta 0) and recomputes its CRC32C. */
export function stampBatch(frame: Buffer, entry: FrameEntry, timestampMs: number): void {
  const at = entry.batchAt;
  const high = Math.floor(timestampMs / 2 ** 32);
  const low = timestampMs >>> 0;
  frame.writeInt32BE(high, at + BatchField.baseTimestamp);
  frame.writeUInt32BE(low, at + BatchField.baseTimestamp + 4);
  frame.writeInt32BE(high, at + BatchField.maxTimestamp);
  frame.writeUInt32BE(low, at + BatchField.maxTimestamp + 4);
  frame.writeUInt32BE(crc32c(frame, at + CRC_FROM, at + entry.batchBytes, 0), at + BatchField.crc);
}
