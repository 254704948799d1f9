// Kafka RecordBatch v2 (magic 2): building and reading batches in TypeScript.
// Used by tests and tools, and by broker paths that must look inside batches
// (compaction, ListOffsets by timestamp); the produce/fetch hot path handles
// batches as opaque bytes in native code and never decodes records.
//
// Batch header (61 bytes, big-endian; see native/record-batch.h):
//   baseOffset int64 | batchLength int32 (bytes after this field)
//   partitionLeaderEpoch int32 | magic int8 | crc uint32 (CRC32C of bytes 21..end)
//   attributes int16 (bits 0-2 compression, 3 log-append time, 4 transactional, 5 control)
//   lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64
//   producerId int64 | producerEpoch int16 | baseSequence int32 | recordsCount int32
//
// Records section (compressed as a whole when the codec is not none); each record:
//   length varint (bytes after this field) | attributes int8 | timestampDelta varlong
//   offsetDelta varint | keyLength varint (-1 = null) | key
//   valueLength varint (-1 = null) | value | headersCount varint
//   headers: keyLength varint | key (utf8) | valueLength varint (-1 = null) | value
// All varints are zigzag-encoded (src/record/varint.ts).
//
// Int64 fields are read as BigInt and converted with Number: offsets and
// timestamps stay below 2^53 in practice, and producerId/epoch are often -1.
import { crc32c } from './crc32c.js';
import type { CompressionName } from './compression.js';
import { Compression, DECOMPRESSED_BYTES_MAX, RecordBatchError, compress, compressionName, decompress } from './compression.js';
import { ByteReader, VARLONG_SAFE_MAX, isInt32, varintBytes, writeVarlong } from './varint.js';

export { Compression, DECOMPRESSED_BYTES_MAX, RecordBatchError } from './compression.js';
export type { CompressionName } from './compression.js';

/** Byte offsets of the header fields. */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
/** Smallest batchLength: the header after the batchLength field. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES;
/** Bytes before `magic`: enough to know a batch's size (Kafka's HEADER_SIZE_UP_TO_MAGIC). */
const HEADER_BYTES_UP_TO_MAGIC = 17;
/** The CRC covers the batch from `attributes` to its end. */
const CRC_START = BatchField.attributes;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_LOG_APPEND = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/**
 * Smallest encoded record: length, attributes, timestampDelta, offsetDelta,
 * keyLength, valueLength, headersCount, one byte each. Bounds recordsCount
 * against the bytes present before any per-record work.
 */
const RECORD_BYTES_MIN = 7;
/** Smallest header: key length and value length, one byte each. */
const HEADER_BYTES_MIN = 2;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[];
  timestamp?: number;
}

export interface BatchOptions {
  baseOffset?: number;
  /** Default: the first record's timestamp, or Date.now(). */
  baseTimestamp?: number;
  compression?: CompressionName;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  control?: boolean;
  timestampType?: 'create' | 'log-append';
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  compression: CompressionName;
  timestampType: 'create' | 'log-append';
  isTransactional: boolean;
  isControl: boolean;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  /** batchLength + 12: the whole batch on disk or wire. */
  sizeInBytes: number;
}

export interface DecodedRecord {
  offset: number;
  /** baseTimestamp + timestampDelta; the batch's maxTimestamp for log-append time. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  attributes: number;
}

// ---- building ----

/**
 * Encodes `records` as one v2 batch with the CRC filled in. Offsets are
 * baseOffset + index; records without a timestamp get baseTimestamp.
 * Throws RecordBatchError for input that cannot be encoded.
 */
export function buildRecordBatch(records: RecordInput[], options: BatchOptions = {}): Buffer {
  if (records.length === 0) throw new RecordBatchError('a batch needs at least one record');
  if (records.length > 0x7fffffff) throw new RecordBatchError('too many records for one batch');
  const baseOffset = options.baseOffset ?? 0;
  const baseTimestamp = options.baseTimestamp ?? records[0].timestamp ?? Date.now();
  const compression = options.compression ?? 'none';
  checkInteger('baseOffset', baseOffset, 0, Number.MAX_SAFE_INTEGER - records.length);
  checkInteger('baseTimestamp', baseTimestamp, -VARLONG_SAFE_MAX, Number.MAX_SAFE_INTEGER);
  if (!(compression in Compression)) throw new RecordBatchError(`unknown compression ${String(compression)}`);

  let maxTimestamp = -Infinity;
  const encoded = encodeRecords(records, baseTimestamp, (timestamp) => {
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  });
  const body = compress(compression, encoded);

  const batchBytes = BATCH_HEADER_BYTES + body.length;
  if (batchBytes - BATCH_LOG_OVERHEAD_BYTES > 0x7fffffff) throw new RecordBatchError('batch larger than 2 GiB');
  const batch = Buffer.allocUnsafe(batchBytes);
  let attributes = Compression[compression];
  if (options.timestampType === 'log-append') attributes |= ATTR_TIMESTAMP_LOG_APPEND;
  if (options.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (options.control) attributes |= ATTR_CONTROL;
  // -1 is Kafka's "none" for producer id, epoch, sequence and leader epoch.
  const producerId = options.producerId ?? -1;
  const producerEpoch = options.producerEpoch ?? -1;
  const baseSequence = options.baseSequence ?? -1;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? -1;
  checkInteger('producerId', producerId, -1, Number.MAX_SAFE_INTEGER);
  checkInteger('producerEpoch', producerEpoch, -1, 0x7fff);
  checkInteger('baseSequence', baseSequence, -1, 0x7fffffff);
  checkInteger('partitionLeaderEpoch', partitionLeaderEpoch, -1, 0x7fffffff);

  batch.writeBigInt64BE(BigInt(baseOffset), BatchField.baseOffset);
  batch.writeInt32BE(batchBytes - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt32BE(partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BatchField.baseTimestamp);
  batch.writeBigInt64BE(BigInt(maxTimestamp), BatchField.maxTimestamp);
  batch.writeBigInt64BE(BigInt(producerId), BatchField.producerId);
  batch.writeInt16BE(producerEpoch, BatchField.producerEpoch);
  batch.writeInt32BE(baseSequence, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordsCount);
  body.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(crc32c(batch, CRC_START, batchBytes, 0), BatchField.crc);
  return batch;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RecordBatchError(`${name} ${value} is not an integer in [${min}, ${max}]`);
  }
}

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

interface RecordParts {
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
  /** Bytes after the length field. */
  bodyBytes: number;
}

/** Two passes: sizes first, then one allocation and sequential writes. */
function encodeRecords(records: RecordInput[], baseTimestamp: number, onTimestamp: (t: number) => void): Buffer {
  const parts: RecordParts[] = [];
  let totalBytes = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    const timestamp = record.timestamp ?? baseTimestamp;
    checkInteger(`record ${index} timestamp`, timestamp, -VARLONG_SAFE_MAX, Number.MAX_SAFE_INTEGER);
    const timestampDelta = timestamp - baseTimestamp;
    checkInteger(`record ${index} timestamp delta`, timestampDelta, -VARLONG_SAFE_MAX, VARLONG_SAFE_MAX);
    onTimestamp(timestamp);
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = (record.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: h.value }));
    let bodyBytes =
      1 + // attributes
      varintBytes(timestampDelta) +
      varintBytes(index) +
      bytesFieldSize(key) +
      bytesFieldSize(value) +
      varintBytes(headers.length);
    for (const h of headers) bodyBytes += bytesFieldSize(h.key) + bytesFieldSize(h.value);
    if (!isInt32(bodyBytes)) throw new RecordBatchError(`record ${index} larger than 2 GiB`);
    parts.push({ timestampDelta, key, value, headers, bodyBytes });
    totalBytes += varintBytes(bodyBytes) + bodyBytes;
  }
  const out = Buffer.allocUnsafe(totalBytes);
  let position = 0;
  for (let index = 0; index < parts.length; index++) {
    const p = parts[index];
    position = writeVarlong(out, position, p.bodyBytes);
    out[position++] = 0; // record attributes: unused by Kafka, always 0
    position = writeVarlong(out, position, p.timestampDelta);
    position = writeVarlong(out, position, index);
    position = writeBytesField(out, position, p.key);
    position = writeBytesField(out, position, p.value);
    position = writeVarlong(out, position, p.headers.length);
    for (const h of p.headers) {
      position = writeBytesField(out, position, h.key);
      position = writeBytesField(out, position, h.value);
    }
  }
  if (position !== totalBytes) throw new Error(`record encoder wrote ${position} of ${totalBytes} bytes`);
  return out;
}

function bytesFieldSize(bytes: Buffer | null): number {
  return bytes === null ? varintBytes(-1) : varintBytes(bytes.length) + bytes.length;
}

function writeBytesField(out: Buffer, position: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarlong(out, position, -1);
  position = writeVarlong(out, position, bytes.length);
  bytes.copy(out, position);
  return position + bytes.length;
}

// ---- reading ----

function int64(view: DataView, at: number): number {
  return Number(view.getBigInt64(at));
}

/**
 * Reads the 61-byte header at `position`. Throws RecordBatchError when fewer
 * than 61 bytes remain, when magic is not 2 (the layout below is v2 only),
 * when batchLength is below the v2 minimum or the compression code is unknown.
 * Does not require the rest of the batch to be present.
 */
export function readBatchHeader(buf: Uint8Array, position = 0): BatchHeader {
  if (!Number.isInteger(position) || position < 0) throw new RecordBatchError(`bad position ${position}`);
  if (buf.length - position < BATCH_HEADER_BYTES) {
    throw new RecordBatchError(`truncated batch header: ${Math.max(0, buf.length - position)} bytes at ${position}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset + position, BATCH_HEADER_BYTES);
  const magic = view.getInt8(BatchField.magic);
  if (magic !== 2) throw new RecordBatchError(`unsupported magic ${magic} at ${position}`);
  const batchLength = view.getInt32(BatchField.batchLength);
  if (batchLength < BATCH_LENGTH_MIN) throw new RecordBatchError(`batchLength ${batchLength} below ${BATCH_LENGTH_MIN}`);
  const attributes = view.getInt16(BatchField.attributes);
  const baseOffset = int64(view, BatchField.baseOffset);
  const lastOffsetDelta = view.getInt32(BatchField.lastOffsetDelta);
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: view.getInt32(BatchField.partitionLeaderEpoch),
    magic,
    crc: view.getUint32(BatchField.crc),
    attributes,
    lastOffsetDelta,
    baseTimestamp: int64(view, BatchField.baseTimestamp),
    maxTimestamp: int64(view, BatchField.maxTimestamp),
    producerId: int64(view, BatchField.producerId),
    producerEpoch: view.getInt16(BatchField.producerEpoch),
    baseSequence: view.getInt32(BatchField.baseSequence),
    recordsCount: view.getInt32(BatchField.recordsCount),
    compression: compressionName(attributes & ATTR_COMPRESSION_MASK),
    timestampType: attributes & ATTR_TIMESTAMP_LOG_APPEND ? 'log-append' : 'create',
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    lastOffset: baseOffset + lastOffsetDelta,
    sizeInBytes: batchLength + BATCH_LOG_OVERHEAD_BYTES,
  };
}

/** The header of a batch that must be wholly present in buf. */
function readWholeBatch(buf: Uint8Array, position: number): BatchHeader {
  const header = readBatchHeader(buf, position);
  if (header.sizeInBytes > buf.length - position) {
    throw new RecordBatchError(
      `truncated batch at ${position}: ${header.sizeInBytes} bytes declared, ${buf.length - position} present`,
    );
  }
  return header;
}

/** Whether the stored CRC32C matches bytes 21..end. Throws RecordBatchError for a truncated batch. */
export function verifyBatchCrc(buf: Uint8Array, position = 0): boolean {
  const header = readWholeBatch(buf, position);
  return crc32c(buf, position + CRC_START, position + header.sizeInBytes, 0) === header.crc;
}

/**
 * Headers of consecutive batches in buf. Stops quietly at a trailing partial
 * batch (fetch responses are cut at a byte limit, as Kafka clients expect);
 * throws RecordBatchError for a batch that is structurally impossible.
 */
export function* iterateBatchHeaders(buf: Uint8Array): Generator<{ position: number; header: BatchHeader }> {
  let position = 0;
  while (buf.length - position >= HEADER_BYTES_UP_TO_MAGIC) {
    const view = new DataView(buf.buffer, buf.byteOffset + position, HEADER_BYTES_UP_TO_MAGIC);
    const batchLength = view.getInt32(BatchField.batchLength);
    if (batchLength < BATCH_LENGTH_MIN) {
      throw new RecordBatchError(`batchLength ${batchLength} below ${BATCH_LENGTH_MIN} at ${position}`);
    }
    if (batchLength + BATCH_LOG_OVERHEAD_BYTES > buf.length - position) return;
    const header = readBatchHeader(buf, position);
    yield { position, header };
    position += header.sizeInBytes;
  }
}

/**
 * Decodes every record of the batch at `position`, decompressing the records
 * section with at most `maxBytes` of output. Does not check the CRC (call
 * verifyBatchCrc). Throws RecordBatchError on truncated or malformed input.
 * Keys and values never alias `batch`: they are views of one private copy
 * (or of the decompressed section).
 */
export function decodeBatchRecords(
  batch: Uint8Array,
  position = 0,
  maxBytes = DECOMPRESSED_BYTES_MAX,
): DecodedRecord[] {
  const header = readWholeBatch(batch, position);
  if (header.recordsCount < 0) throw new RecordBatchError(`negative recordsCount ${header.recordsCount}`);
  const section = batch.subarray(position + BATCH_HEADER_BYTES, position + header.sizeInBytes);
  const data =
    header.compression === 'none' ? Buffer.from(section) : decompress(header.compression, section, maxBytes);
  if (header.recordsCount > data.length / RECORD_BYTES_MIN) {
    throw new RecordBatchError(`recordsCount ${header.recordsCount} cannot fit in ${data.length} bytes`);
  }
  const reader = new ByteReader(data, 0, data.length);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < header.recordsCount; i++) {
    records.push(readRecord(reader, header, i));
  }
  if (reader.remaining() !== 0) {
    throw new RecordBatchError(`${reader.remaining()} bytes after the last of ${header.recordsCount} records`);
  }
  return records;
}

function readRecord(reader: ByteReader, header: BatchHeader, index: number): DecodedRecord {
  const bodyBytes = reader.varint();
  if (!reader.bad && (bodyBytes < 0 || bodyBytes > reader.remaining())) {
    reader.fail(`record length ${bodyBytes} outside the ${reader.remaining()} bytes left`);
  }
  const recordEnd = reader.position + bodyBytes;
  // A reader confined to this record, so a bad length inside cannot read the next one.
  const r = new ByteReader(reader.buf, reader.position, reader.bad ? reader.position : recordEnd);
  const attributes = r.int8();
  const timestampDelta = r.varlong();
  const offsetDelta = r.varint();
  const key = readNullableBytes(r);
  const value = readNullableBytes(r);
  const headersCount = r.varint();
  if (!r.bad && (headersCount < 0 || headersCount > r.remaining() / HEADER_BYTES_MIN)) {
    r.fail(`headers count ${headersCount} impossible in ${r.remaining()} bytes`);
  }
  const headers: RecordHeader[] = [];
  for (let h = 0; h < headersCount && !r.bad; h++) {
    const keyBytes = r.varint();
    if (keyBytes < 0) r.fail(`header key length ${keyBytes}`);
    const headerKey = r.bytes(Math.max(0, keyBytes));
    const headerValue = readNullableBytes(r);
    headers.push({ key: Buffer.from(headerKey.buffer, headerKey.byteOffset, headerKey.length).toString('utf8'), value: headerValue });
  }
  if (!r.bad && r.remaining() !== 0) r.fail(`${r.remaining()} unread bytes inside the record`);
  if (reader.bad || r.bad) {
    throw new RecordBatchError(`record ${index} of batch at offset ${header.baseOffset}: ${reader.reason || r.reason}`);
  }
  reader.position = recordEnd;
  return {
    offset: header.baseOffset + offsetDelta,
    timestamp: header.timestampType === 'log-append' ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
    attributes,
  };
}

function readNullableBytes(r: ByteReader): Buffer | null {
  const length = r.varint();
  if (length === -1) return null;
  if (length < -1) {
    r.fail(`length ${length}`);
    return null;
  }
  const view = r.bytes(length);
  return Buffer.from(view.buffer, view.byteOffset, view.length);
}
