// What the log cleaner does to one RecordBatch v2, after Kafka's
// MemoryRecords.filterTo with the cleaner's filter (Cleaner.cleanInto,
// shouldRetainRecord, checkBatchRetention):
//
// - A record is kept when it lies past the offset map's end, or when it is the
//   latest for its key and either has a value or is a tombstone still inside
//   its delete horizon. Records without a key go.
// - Transactions (cleaner-txn.ts, Kafka's CleanedTransactionMetadata): the
//   records of an aborted transaction go; a control batch (marker) is kept
//   whole until no batch of its transaction is left, then stamped with a
//   delete horizon, and dropped by a clean past that horizon.
// - A batch that keeps every record, and needs no delete horizon, is copied
//   byte for byte. Otherwise it is rebuilt with the same base offset, last
//   offset delta (the producer's last sequence must survive), producer fields,
//   leader epoch, timestamp type and codec (recompressed), each record keeping
//   its offset.
// - KIP-534: a rebuilt batch that holds tombstones gets a delete horizon of
//   now + delete.retention.ms, stored as its base timestamp with attribute bit
//   6 set; a later clean past that time removes the tombstones.
// - A batch left with no records is dropped, unless it is the last batch of a
//   producer the partition still remembers: then its header stays as an empty
//   batch (Kafka's RETAIN_EMPTY), so the producer's sequence and epoch survive.
import { crc32c } from '../record/crc32c.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  Compression,
  decodeBatchRecords,
  readBatchHeader,
  RecordBatchError,
  type BatchHeader,
  type DecodedRecord,
} from '../record/record-batch.js';
import { compress } from '../record/compression.js';
import { ByteReader, varintBytes, writeVarlong } from '../record/varint.js';
import type { SkimpyOffsetMap } from './offset-map.js';
import { controlRecordType, type CleanedTransactionMetadata } from './cleaner-txn.js';

/** Kafka's RecordBatch DELETE_HORIZON_FLAG_MASK (attribute bit 6). */
export const ATTR_DELETE_HORIZON = 0x40;
const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_LOG_APPEND = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const CRC_START = BatchField.attributes;
const NO_TIMESTAMP = -1;

export interface BatchFilterContext {
  map: SkimpyOffsetMap;
  nowMs: number;
  deleteRetentionMs: number;
  /** producer id -> last offset of its last batch (Log.lastDataOffsetsOfProducers). */
  lastOffsetOfProducer: ReadonlyMap<bigint, number>;
  /** The transactions of this pass, fed every batch in offset order; without it markers are kept whole. */
  txn?: CleanedTransactionMetadata;
}

export interface FilteredBatch {
  /** The bytes to write: the original batch, a rebuilt one, an empty header; null when the batch goes. */
  bytes: Uint8Array | null;
  lastOffset: number;
  maxTimestamp: number;
  recordsRead: number;
  recordsKept: number;
}

/** Filters the whole batch batch[at, at + size). Throws RecordBatchError on a batch that cannot be decoded. */
export function filterBatch(batch: Uint8Array, at: number, size: number, context: BatchFilterContext): FilteredBatch {
  const whole = batch.subarray(at, at + size);
  const header = readBatchHeader(whole, 0);
  const result: FilteredBatch = { bytes: whole, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, recordsRead: 0, recordsKept: 0 };
  if (header.isControl) return filterControl(whole, header, context, result);
  if (context.txn?.onBatchRead(header)) return discardRecords(header, context, result);
  if (header.compression === 'none' && filterUncompressed(whole, header, context, result)) return result;
  return filterDecoded(whole, header, context, result);
}

/**
 * filterBatch by decoding every record into objects: compressed batches, and
 * uncompressed ones the in-place copy cannot reproduce exactly. Exported so a
 * test can hold the in-place path to the same bytes.
 */
export function filterBatchByDecoding(batch: Uint8Array, at: number, size: number, context: BatchFilterContext): FilteredBatch {
  const whole = batch.subarray(at, at + size);
  const header = readBatchHeader(whole, 0);
  const result: FilteredBatch = { bytes: whole, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, recordsRead: 0, recordsKept: 0 };
  if (header.isControl) return filterControl(whole, header, context, result);
  if (context.txn?.onBatchRead(header)) return discardRecords(header, context, result);
  return filterDecoded(whole, header, context, result);
}

/**
 * A transaction marker (Kafka's checkBatchRetention for control batches): kept
 * whole while its transaction has batches before it; then stamped with a
 * delete horizon; dropped by a clean past the horizon.
 */
function filterControl(whole: Uint8Array, header: BatchHeader, context: BatchFilterContext, result: FilteredBatch): FilteredBatch {
  result.recordsRead = header.recordsCount;
  result.recordsKept = header.recordsCount;
  if (!context.txn || !context.txn.onControlBatchRead(header, controlRecordType(whole, 0))) return result;
  if ((header.attributes & ATTR_DELETE_HORIZON) !== 0) {
    if (context.nowMs >= header.baseTimestamp) {
      result.bytes = null;
      result.recordsKept = 0;
    }
    return result;
  }
  const rebuilt = rebuildBatch(header, decodeBatchRecords(whole, 0), context.nowMs + context.deleteRetentionMs);
  result.bytes = rebuilt;
  result.maxTimestamp = Number(Buffer.from(rebuilt.buffer, rebuilt.byteOffset, rebuilt.length).readBigInt64BE(BatchField.maxTimestamp));
  return result;
}

/** A batch of an aborted transaction: its records go; the batch stays empty when it is its producer's last. */
function discardRecords(header: BatchHeader, context: BatchFilterContext, result: FilteredBatch): FilteredBatch {
  result.recordsRead = header.recordsCount;
  result.recordsKept = 0;
  const producerLast = header.producerId >= 0 ? context.lastOffsetOfProducer.get(BigInt(header.producerId)) : undefined;
  result.bytes = producerLast === header.lastOffset ? emptyBatch(header) : null;
  return result;
}

function filterDecoded(whole: Uint8Array, header: BatchHeader, context: BatchFilterContext, result: FilteredBatch): FilteredBatch {
  const records = decodeBatchRecords(whole, 0);
  const hasHorizon = (header.attributes & ATTR_DELETE_HORIZON) !== 0;
  // The horizon is the base timestamp of a batch carrying the flag.
  const retainDeletes = !hasHorizon || context.nowMs < header.baseTimestamp;
  const kept: DecodedRecord[] = [];
  let tombstones = false;
  for (const record of records) {
    if (shouldRetainRecord(context.map, record, retainDeletes)) {
      kept.push(record);
      if (record.value === null) tombstones = true;
    }
  }
  result.recordsRead = records.length;
  result.recordsKept = kept.length;
  if (kept.length > 0) {
    const needHorizon = tombstones && !hasHorizon;
    if (kept.length === records.length && !needHorizon) return result;
    const horizonMs = needHorizon ? context.nowMs + context.deleteRetentionMs : hasHorizon ? header.baseTimestamp : NO_TIMESTAMP;
    const rebuilt = rebuildBatch(header, kept, horizonMs);
    result.bytes = rebuilt;
    result.maxTimestamp = Number(Buffer.from(rebuilt.buffer, rebuilt.byteOffset, rebuilt.length).readBigInt64BE(BatchField.maxTimestamp));
    return result;
  }
  const producerLast = header.producerId >= 0 ? context.lastOffsetOfProducer.get(BigInt(header.producerId)) : undefined;
  result.bytes = producerLast === header.lastOffset ? emptyBatch(header) : null;
  return result;
}

function shouldRetainRecord(map: SkimpyOffsetMap, record: DecodedRecord, retainDeletes: boolean): boolean {
  if (record.offset > map.latestOffset) return true;
  if (record.key === null) return false;
  const latestForKey = record.offset >= map.get(record.key);
  return latestForKey && (record.value !== null || retainDeletes);
}

/**
 * Kafka's buildRetainedRecordsInto: the kept records in a batch with the
 * original header fields. The base timestamp is the delete horizon when there
 * is one, else the first kept record's timestamp; deltas follow from it.
 */
function rebuildBatch(header: BatchHeader, records: DecodedRecord[], deleteHorizonMs: number): Buffer {
  const logAppendTime = header.timestampType === 'log-append';
  // Under LogAppendTime every record carries the batch's append time.
  const timestampOf = (r: DecodedRecord) => (logAppendTime ? header.maxTimestamp : r.timestamp);
  const baseTimestamp = deleteHorizonMs !== NO_TIMESTAMP ? deleteHorizonMs : timestampOf(records[0]);
  let maxTimestamp = NO_TIMESTAMP;
  for (const r of records) maxTimestamp = Math.max(maxTimestamp, timestampOf(r));
  if (logAppendTime) maxTimestamp = header.maxTimestamp;
  const section = encodeRecords(records, header.baseOffset, baseTimestamp, timestampOf);
  const body = header.compression === 'none' ? section : compress(header.compression, section);
  let attributes = header.attributes & ~ATTR_COMPRESSION_MASK & ~ATTR_DELETE_HORIZON;
  attributes |= Compression[header.compression];
  if (deleteHorizonMs !== NO_TIMESTAMP) attributes |= ATTR_DELETE_HORIZON;
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  writeHeader(out, header, attributes, baseTimestamp, maxTimestamp, records.length);
  body.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length, 0), BatchField.crc);
  return out;
}

/** Kafka's DefaultRecordBatch.writeEmptyHeader: no records, no codec, no base timestamp. */
function emptyBatch(header: BatchHeader): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  // Only the timestamp type, transactional and control bits carry over.
  const attributes = header.attributes & (ATTR_TIMESTAMP_LOG_APPEND | ATTR_TRANSACTIONAL | ATTR_CONTROL);
  writeHeader(out, header, attributes, NO_TIMESTAMP, header.maxTimestamp, 0);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length, 0), BatchField.crc);
  return out;
}

function writeHeader(out: Buffer, h: BatchHeader, attributes: number, baseTimestamp: number, maxTimestamp: number, recordsCount: number): void {
  out.writeBigInt64BE(BigInt(h.baseOffset), BatchField.baseOffset);
  out.writeInt32BE(out.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  out.writeInt32BE(h.partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  out.writeInt8(2, BatchField.magic);
  out.writeInt16BE(attributes, BatchField.attributes);
  out.writeInt32BE(h.lastOffsetDelta, BatchField.lastOffsetDelta);
  out.writeBigInt64BE(BigInt(baseTimestamp), BatchField.baseTimestamp);
  out.writeBigInt64BE(BigInt(maxTimestamp), BatchField.maxTimestamp);
  out.writeBigInt64BE(BigInt(h.producerId), BatchField.producerId);
  out.writeInt16BE(h.producerEpoch, BatchField.producerEpoch);
  out.writeInt32BE(h.baseSequence, BatchField.baseSequence);
  out.writeInt32BE(recordsCount, BatchField.recordsCount);
}

/** The records section: each record with its own offset delta and a delta from the new base timestamp. */
function encodeRecords(records: DecodedRecord[], baseOffset: number, baseTimestamp: number, timestampOf: (r: DecodedRecord) => number): Buffer {
  const sizes: number[] = [];
  let total = 0;
  for (const r of records) {
    let body = 1 + varintBytes(timestampOf(r) - baseTimestamp) + varintBytes(r.offset - baseOffset);
    body += bytesField(r.key) + bytesField(r.value) + varintBytes(r.headers.length);
    for (const h of r.headers) body += bytesField(Buffer.from(h.key, 'utf8')) + bytesField(h.value);
    sizes.push(body);
    total += varintBytes(body) + body;
  }
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  records.forEach((r, i) => {
    p = writeVarlong(out, p, sizes[i]);
    out[p++] = 0; // record attributes: unused, always 0 (as Kafka writes them)
    p = writeVarlong(out, p, timestampOf(r) - baseTimestamp);
    p = writeVarlong(out, p, r.offset - baseOffset);
    p = writeBytes(out, p, r.key);
    p = writeBytes(out, p, r.value);
    p = writeVarlong(out, p, r.headers.length);
    for (const h of r.headers) {
      p = writeBytes(out, p, Buffer.from(h.key, 'utf8'));
      p = writeBytes(out, p, h.value);
    }
  });
  if (p !== total) throw new Error(`cleaner record encoder wrote ${p} of ${total} bytes`);
  return out;
}

function bytesField(b: Uint8Array | null): number {
  return b === null ? 1 : varintBytes(b.length) + b.length;
}

function writeBytes(out: Buffer, p: number, b: Uint8Array | null): number {
  if (b === null) return writeVarlong(out, p, -1);
  p = writeVarlong(out, p, b.length);
  out.set(b, p);
  return p + b.length;
}

// ---- walking uncompressed batches in place ----
//
// Most batches are uncompressed, and the cleaner only needs each record's
// offset, key and whether the value is null: decoding every record into
// objects (values copied) made a fifth of the cleaner's CPU garbage
// collection. The walk validates exactly what decodeBatchRecords does, so a
// batch it refuses still fails the clean the same way.

/** Positions of one batch's records, reused from batch to batch (one walk at a time). */
class RecordSpans {
  count = 0;
  offsetDelta = new Int32Array(64);
  keyStart = new Int32Array(64);
  /** -1 for a null key. */
  keyLength = new Int32Array(64);
  valueNull = new Uint8Array(64);
  timestampDelta = new Float64Array(64);
  /** From the offset delta to the record's end: what a rebuilt record keeps byte for byte. */
  tailStart = new Int32Array(64);
  tailEnd = new Int32Array(64);
  /** Every varint after the timestamp delta is minimal and no record has headers: tails re-encode to themselves. */
  copyable = true;
  /** The records section the positions are in (positions count from its start, as the decoder's errors do). */
  section: Uint8Array = new Uint8Array(0);

  reserve(n: number): void {
    if (n <= this.offsetDelta.length) return;
    const size = Math.max(n, this.offsetDelta.length * 2);
    const grow = <T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (size: number) => T): T => {
      const b = make(size);
      b.set(a as never);
      return b;
    };
    this.offsetDelta = grow(this.offsetDelta, (k) => new Int32Array(k));
    this.keyStart = grow(this.keyStart, (k) => new Int32Array(k));
    this.keyLength = grow(this.keyLength, (k) => new Int32Array(k));
    this.valueNull = grow(this.valueNull, (k) => new Uint8Array(k));
    this.timestampDelta = grow(this.timestampDelta, (k) => new Float64Array(k));
    this.tailStart = grow(this.tailStart, (k) => new Int32Array(k));
    this.tailEnd = grow(this.tailEnd, (k) => new Int32Array(k));
  }
}

const spans = new RecordSpans();
const RECORD_BYTES_MIN = 7;
const HEADER_BYTES_MIN = 2;
// Reused readers: the batch's records section, and one record inside it.
const sectionReader = new ByteReader(new Uint8Array(0), 0, 0);
const recordReader = new ByteReader(new Uint8Array(0), 0, 0);

function resetReader(r: ByteReader, buf: Uint8Array, position: number, end: number): ByteReader {
  (r as { buf: Uint8Array }).buf = buf;
  r.position = position;
  r.end = end;
  r.bad = false;
  r.reason = '';
  return r;
}

/** A varint that also notes whether it was written in its minimal form (as the encoder would write it). */
function minimalVarint(r: ByteReader): number {
  const start = r.position;
  const v = r.varint();
  if (r.position - start !== varintBytes(v)) spans.copyable = false;
  return v;
}

/** Skips a nullable bytes field; answers its length (-1 for null). */
function skipNullableBytes(r: ByteReader): number {
  const length = minimalVarint(r);
  if (length === -1) return -1;
  if (length < -1) {
    r.fail(`length ${length}`);
    return -1;
  }
  if (length > r.remaining()) {
    r.fail(`length ${length} past the end`);
    return -1;
  }
  r.position += length;
  return length;
}

/**
 * Walks the records of the uncompressed batch `whole` into `spans`, checking
 * what decodeBatchRecords checks. Throws RecordBatchError as it does.
 */
function walkRecords(whole: Uint8Array, header: BatchHeader): RecordSpans {
  if (header.sizeInBytes > whole.length) {
    throw new RecordBatchError(`truncated batch at 0: ${header.sizeInBytes} bytes declared, ${whole.length} present`);
  }
  if (header.recordsCount < 0) throw new RecordBatchError(`negative recordsCount ${header.recordsCount}`);
  const end = header.sizeInBytes;
  if (header.recordsCount > (end - BATCH_HEADER_BYTES) / RECORD_BYTES_MIN) {
    throw new RecordBatchError(`recordsCount ${header.recordsCount} cannot fit in ${end - BATCH_HEADER_BYTES} bytes`);
  }
  spans.reserve(header.recordsCount);
  spans.copyable = true;
  const section = whole.subarray(BATCH_HEADER_BYTES, end);
  spans.section = section;
  const reader = resetReader(sectionReader, section, 0, section.length);
  for (let i = 0; i < header.recordsCount; i++) {
    const bodyBytes = reader.varint();
    if (!reader.bad && (bodyBytes < 0 || bodyBytes > reader.remaining())) {
      reader.fail(`record length ${bodyBytes} outside the ${reader.remaining()} bytes left`);
    }
    const recordEnd = reader.position + bodyBytes;
    const r = resetReader(recordReader, section, reader.position, reader.bad ? reader.position : recordEnd);
    r.int8();
    const timestampDelta = r.varlong();
    const tailStart = r.position;
    const offsetDelta = minimalVarint(r);
    const keyLength = skipNullableBytes(r);
    const keyStart = r.position - Math.max(keyLength, 0);
    const valueLength = skipNullableBytes(r);
    const headersCount = minimalVarint(r);
    if (!r.bad && (headersCount < 0 || headersCount > r.remaining() / HEADER_BYTES_MIN)) {
      r.fail(`headers count ${headersCount} impossible in ${r.remaining()} bytes`);
    }
    // Header keys are re-encoded from strings by the rebuild: leave records with headers to it.
    if (headersCount > 0) spans.copyable = false;
    for (let h = 0; h < headersCount && !r.bad; h++) {
      const keyBytes = r.varint();
      if (keyBytes < 0) r.fail(`header key length ${keyBytes}`);
      if (Math.max(0, keyBytes) > r.remaining()) r.fail(`length ${keyBytes} past the end`);
      else r.position += Math.max(0, keyBytes);
      skipNullableBytes(r);
    }
    if (!r.bad && r.remaining() !== 0) r.fail(`${r.remaining()} unread bytes inside the record`);
    if (reader.bad || r.bad) {
      throw new RecordBatchError(`record ${i} of batch at offset ${header.baseOffset}: ${reader.reason || r.reason}`);
    }
    reader.position = recordEnd;
    spans.offsetDelta[i] = offsetDelta;
    spans.keyStart[i] = keyStart;
    spans.keyLength[i] = keyLength;
    spans.valueNull[i] = valueLength === -1 ? 1 : 0;
    spans.timestampDelta[i] = timestampDelta;
    spans.tailStart[i] = tailStart;
    spans.tailEnd[i] = recordEnd;
  }
  if (reader.remaining() !== 0) {
    throw new RecordBatchError(`${reader.remaining()} bytes after the last of ${header.recordsCount} records`);
  }
  spans.count = header.recordsCount;
  return spans;
}

// Indexes of the kept records of the batch being filtered.
let keptIndexes = new Int32Array(64);

/**
 * filterBatch for an uncompressed batch, deciding from the walk. A rebuilt
 * batch copies each kept record's bytes from the offset delta on and writes
 * only its length, attributes and timestamp delta, which is what encodeRecords
 * would write when every varint is minimal and there are no headers; otherwise
 * this answers false and the decoding path does the batch.
 */
function filterUncompressed(whole: Uint8Array, header: BatchHeader, context: BatchFilterContext, result: FilteredBatch): boolean {
  const s = walkRecords(whole, header);
  const map = context.map;
  const hasHorizon = (header.attributes & ATTR_DELETE_HORIZON) !== 0;
  const retainDeletes = !hasHorizon || context.nowMs < header.baseTimestamp;
  if (keptIndexes.length < s.count) keptIndexes = new Int32Array(Math.max(s.count, keptIndexes.length * 2));
  let kept = 0;
  let tombstones = false;
  for (let i = 0; i < s.count; i++) {
    const offset = header.baseOffset + s.offsetDelta[i];
    let retain: boolean;
    if (offset > map.latestOffset) retain = true;
    else if (s.keyLength[i] === -1) retain = false;
    else {
      const latestForKey = offset >= map.get(s.section.subarray(s.keyStart[i], s.keyStart[i] + s.keyLength[i]));
      retain = latestForKey && (s.valueNull[i] === 0 || retainDeletes);
    }
    if (retain) {
      keptIndexes[kept++] = i;
      if (s.valueNull[i] === 1) tombstones = true;
    }
  }
  result.recordsRead = s.count;
  result.recordsKept = kept;
  if (kept === 0) {
    const producerLast = header.producerId >= 0 ? context.lastOffsetOfProducer.get(BigInt(header.producerId)) : undefined;
    result.bytes = producerLast === header.lastOffset ? emptyBatch(header) : null;
    return true;
  }
  const needHorizon = tombstones && !hasHorizon;
  if (kept === s.count && !needHorizon) return true;
  if (!s.copyable) return false;
  const horizonMs = needHorizon ? context.nowMs + context.deleteRetentionMs : hasHorizon ? header.baseTimestamp : NO_TIMESTAMP;
  const logAppendTime = header.timestampType === 'log-append';
  const timestampOf = (i: number) => (logAppendTime ? header.maxTimestamp : header.baseTimestamp + s.timestampDelta[i]);
  const baseTimestamp = horizonMs !== NO_TIMESTAMP ? horizonMs : timestampOf(keptIndexes[0]);
  let maxTimestamp = NO_TIMESTAMP;
  let total = 0;
  for (let k = 0; k < kept; k++) {
    const i = keptIndexes[k];
    const ts = timestampOf(i);
    maxTimestamp = Math.max(maxTimestamp, ts);
    const body = 1 + varintBytes(ts - baseTimestamp) + (s.tailEnd[i] - s.tailStart[i]);
    total += varintBytes(body) + body;
  }
  if (logAppendTime) maxTimestamp = header.maxTimestamp;
  let attributes = header.attributes & ~ATTR_DELETE_HORIZON;
  if (horizonMs !== NO_TIMESTAMP) attributes |= ATTR_DELETE_HORIZON;
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + total);
  writeHeader(out, header, attributes, baseTimestamp, maxTimestamp, kept);
  let p = BATCH_HEADER_BYTES;
  for (let k = 0; k < kept; k++) {
    const i = keptIndexes[k];
    const delta = timestampOf(i) - baseTimestamp;
    const tail = s.tailEnd[i] - s.tailStart[i];
    p = writeVarlong(out, p, 1 + varintBytes(delta) + tail);
    out[p++] = 0; // record attributes: unused, always 0 (as Kafka writes them)
    p = writeVarlong(out, p, delta);
    out.set(s.section.subarray(s.tailStart[i], s.tailEnd[i]), p);
    p += tail;
  }
  if (p !== out.length) throw new Error(`cleaner record copier wrote ${p} of ${out.length} bytes`);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length, 0), BatchField.crc);
  result.bytes = out;
  result.maxTimestamp = maxTimestamp;
  return true;
}

/**
 * Calls onKey for each keyed record of one batch (key as a view of `batch`,
 * valid only during the call); answers the batch header and its record count.
 * Control batches have no keys that count. Uncompressed batches are walked in
 * place; compressed ones are decoded.
 */
export function forEachBatchKey(
  batch: Buffer,
  at: number,
  size: number,
  onKey: (key: Uint8Array, offset: number) => boolean,
): { header: BatchHeader; records: number } {
  const whole = batch.subarray(at, at + size);
  const header = readBatchHeader(whole, 0);
  if (header.isControl) return { header, records: 0 };
  if (header.compression === 'none') {
    // Walked whole first, so a bad batch puts nothing, as when it was decoded first.
    const s = walkRecords(whole, header);
    for (let i = 0; i < s.count; i++) {
      if (s.keyLength[i] === -1) continue;
      if (!onKey(s.section.subarray(s.keyStart[i], s.keyStart[i] + s.keyLength[i]), header.baseOffset + s.offsetDelta[i])) break;
    }
    return { header, records: s.count };
  }
  const records = decodeBatchRecords(whole, 0);
  for (const record of records) {
    if (record.key !== null && !onKey(record.key, record.offset)) break;
  }
  return { header, records: records.length };
}
