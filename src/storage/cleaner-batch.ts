// What the log cleaner does to one RecordBatch v2, after Kafka's
// MemoryRecords.filterTo with the cleaner's filter (Cleaner.cleanInto,
// shouldRetainRecord, checkBatchRetention):
//
// - A record is kept when it lies past the offset map's end, or when it is the
//   latest for its key and either has a value or is a tombstone still inside
//   its delete horizon. Records without a key go.
// - Control batches are kept whole (there are no transactions to finish here).
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
  type BatchHeader,
  type DecodedRecord,
} from '../record/record-batch.js';
import { compress } from '../record/compression.js';
import { varintBytes, writeVarlong } from '../record/varint.js';
import type { SkimpyOffsetMap } from './offset-map.js';

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
  if (header.isControl) return result;
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

/** Keys of the records of one batch, for the offset map (control batches have none that count). */
export function batchKeys(batch: Uint8Array, at: number, size: number): { header: BatchHeader; records: DecodedRecord[] } {
  const whole = batch.subarray(at, at + size);
  const header = readBatchHeader(whole, 0);
  return { header, records: header.isControl ? [] : decodeBatchRecords(whole, 0) };
}
