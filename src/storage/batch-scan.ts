// Produce-path validation of RecordBatch v2 batches, and the header checks the
// TypeScript segment file shares with it.
//
// validateBatches is one call per partition per produce request: the native
// addon when loaded, else validateBatchesJs with the same semantics (see
// NativeBatchScan.validateBatches in src/native/types.ts). Two passes: the
// first judges every batch and writes only `out`; the second, run only when
// every batch is valid, assigns offsets and the leader epoch in place (both sit
// before the CRC'd range, so the CRC stays valid) and, for LogAppendTime,
// stamps attribute bit 3 and maxTimestamp and recomputes the CRC like Kafka's
// DefaultRecordBatch.setMaxTimestamp.
//
// maxBatchBytes bounds the whole batch (12 + batchLength), as Kafka's
// max.message.bytes bounds batch.sizeInBytes(); types.ts words it as a bound
// on batchLength, which is 12 bytes looser.
import { nativeAddon } from '../native/addon.js';
import { BatchStatus, type NativeBatchScan } from '../native/types.js';
import { crc32c } from '../record/crc32c.js';
import { BATCH_HEADER_BYTES, BATCH_LENGTH_MIN, BATCH_LOG_OVERHEAD_BYTES, BatchField } from '../record/record-batch.js';

export { BatchStatus } from '../native/types.js';

/** RecordBatch v2 header layout (big-endian): one definition, in src/record (mirrored by native/record-batch.h). */
export const BATCH_BASE_OFFSET = BatchField.baseOffset;
export const BATCH_LENGTH = BatchField.batchLength;
export const BATCH_PARTITION_LEADER_EPOCH = BatchField.partitionLeaderEpoch;
export const BATCH_MAGIC = BatchField.magic;
export const BATCH_CRC = BatchField.crc;
export const BATCH_ATTRIBUTES = BatchField.attributes;
export const BATCH_LAST_OFFSET_DELTA = BatchField.lastOffsetDelta;
export const BATCH_MAX_TIMESTAMP = BatchField.maxTimestamp;
export { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BATCH_LENGTH_MIN };
export const ATTR_TIMESTAMP_TYPE_LOG_APPEND = 0x08;
/** Kafka's max.message.bytes is an int. */
export const BATCH_BYTES_LIMIT = 0x7fffffff;
const OUT_SLOTS_PER_BATCH = 4;
const TWO_POW_32 = 4294967296;

/** CRC32C for the scans (native SSE4.2 when the addon is loaded). */
export const batchCrc32c: (buf: Uint8Array, start: number, end: number, crc: number) => number = crc32c;

export function readInt32BE(buf: Uint8Array, at: number): number {
  return (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}

export function readUint32BE(buf: Uint8Array, at: number): number {
  return readInt32BE(buf, at) >>> 0;
}

/**
 * A signed int64 as the nearest double, like the native side's conversion;
 * callers that need an exact integer check Number.isSafeInteger.
 */
export function readInt64BE(buf: Uint8Array, at: number): number {
  return readInt32BE(buf, at) * TWO_POW_32 + readUint32BE(buf, at + 4);
}

function writeUint32BE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

function writeInt64BE(buf: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  writeUint32BE(buf, at, high >>> 0);
  writeUint32BE(buf, at + 4, (value - high * TWO_POW_32) >>> 0);
}

/** The fields of one header; one instance is reused by the walks (no per-batch objects). */
export interface BatchHeaderFields {
  baseOffset: number;
  batchBytes: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
}

export function newBatchHeaderFields(): BatchHeaderFields {
  return { baseOffset: 0, batchBytes: 0, lastOffsetDelta: 0, maxTimestamp: 0 };
}

/**
 * Judges the header at buf[at..] given `availableBytes` from `at` to the end of
 * the data (buffer or segment) and fills `out`. Returns 0 or a BatchStatus.
 * Reads at most 61 bytes, and none unless at least 61 are available. The length
 * is judged before completeness, so an impossible length near the end is
 * BadLength rather than Truncated.
 */
export function checkBatchHeader(
  buf: Uint8Array,
  at: number,
  availableBytes: number,
  maxBatchBytes: number,
  out: BatchHeaderFields,
): number {
  if (availableBytes < BATCH_HEADER_BYTES) return BatchStatus.Truncated;
  const batchLength = readInt32BE(buf, at + BATCH_LENGTH);
  if (batchLength < BATCH_LENGTH_MIN) return BatchStatus.BadLength;
  const batchBytes = batchLength + BATCH_LOG_OVERHEAD_BYTES;
  if (batchBytes > maxBatchBytes) return BatchStatus.BadLength;
  if (batchBytes > availableBytes) return BatchStatus.Truncated;
  if (buf[at + BATCH_MAGIC] !== 2) return BatchStatus.BadMagic;
  const lastOffsetDelta = readInt32BE(buf, at + BATCH_LAST_OFFSET_DELTA);
  if (lastOffsetDelta < 0) return BatchStatus.BadOffsetDelta;
  out.baseOffset = readInt64BE(buf, at + BATCH_BASE_OFFSET);
  out.batchBytes = batchBytes;
  out.lastOffsetDelta = lastOffsetDelta;
  out.maxTimestamp = readInt64BE(buf, at + BATCH_MAX_TIMESTAMP);
  return 0;
}

function isIntegerIn(value: number, low: number, high: number): boolean {
  return Number.isInteger(value) && value >= low && value <= high;
}

const scratchHeader = newBatchHeaderFields();

export type ValidateBatches = NativeBatchScan['validateBatches'];

/** TypeScript twin of the native validateBatches; same arguments, result and `out` layout. */
export function validateBatchesJs(
  buf: Uint8Array,
  start: number,
  end: number,
  nextOffset: number,
  leaderEpoch: number,
  logAppendTimeMs: number,
  maxBatchBytes: number,
  out: Float64Array,
): number {
  if (!isIntegerIn(start, 0, buf.length) || !isIntegerIn(end, start, buf.length)) {
    throw new RangeError('validateBatches: need 0 <= start <= end <= buf.length');
  }
  if (
    !isIntegerIn(nextOffset, 0, Number.MAX_SAFE_INTEGER) ||
    !isIntegerIn(leaderEpoch, -0x80000000, 0x7fffffff) ||
    !isIntegerIn(logAppendTimeMs, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ||
    !isIntegerIn(maxBatchBytes, 0, BATCH_BYTES_LIMIT)
  ) {
    throw new RangeError('validateBatches: nextOffset, leaderEpoch, logAppendTimeMs or maxBatchBytes out of range');
  }
  if (out.length < OUT_SLOTS_PER_BATCH) throw new RangeError('validateBatches: out must hold at least 4 numbers');
  const batchCountMax = Math.floor(out.length / OUT_SLOTS_PER_BATCH);
  const header = scratchHeader;

  // Pass 1: judge every batch, write only `out`.
  let batchCount = 0;
  let offset = nextOffset;
  let status = start === end ? BatchStatus.Truncated : 0;
  for (let position = start; status === 0 && position < end; ) {
    if (batchCount === batchCountMax) {
      status = BatchStatus.TooManyBatches;
      break;
    }
    status = checkBatchHeader(buf, position, end - position, maxBatchBytes, header);
    if (status !== 0) break;
    const lastOffset = offset + header.lastOffsetDelta;
    if (lastOffset > Number.MAX_SAFE_INTEGER) {
      status = BatchStatus.BadOffsetDelta;
      break;
    }
    const crc = batchCrc32c(buf, position + BATCH_ATTRIBUTES, position + header.batchBytes, 0);
    if (crc !== readUint32BE(buf, position + BATCH_CRC)) {
      status = BatchStatus.BadCrc;
      break;
    }
    const slot = batchCount * OUT_SLOTS_PER_BATCH;
    out[slot] = position - start;
    out[slot + 1] = lastOffset;
    out[slot + 2] = logAppendTimeMs >= 0 ? logAppendTimeMs : header.maxTimestamp;
    out[slot + 3] = header.batchBytes;
    offset = lastOffset + 1;
    position += header.batchBytes;
    batchCount++;
  }
  if (status !== 0) {
    out[0] = batchCount;
    return status;
  }

  // Pass 2: every batch is valid; rewrite in place.
  offset = nextOffset;
  for (let i = 0; i < batchCount; i++) {
    const slot = i * OUT_SLOTS_PER_BATCH;
    const at = start + out[slot];
    writeInt64BE(buf, at + BATCH_BASE_OFFSET, offset);
    writeUint32BE(buf, at + BATCH_PARTITION_LEADER_EPOCH, leaderEpoch >>> 0);
    if (logAppendTimeMs >= 0) {
      buf[at + BATCH_ATTRIBUTES + 1] |= ATTR_TIMESTAMP_TYPE_LOG_APPEND;
      writeInt64BE(buf, at + BATCH_MAX_TIMESTAMP, logAppendTimeMs);
      writeUint32BE(buf, at + BATCH_CRC, batchCrc32c(buf, at + BATCH_ATTRIBUTES, at + out[slot + 3], 0));
    }
    offset = out[slot + 1] + 1;
  }
  return batchCount;
}

const addon = nativeAddon();

/**
 * Validates the RecordBatch v2 batches in buf[start, end) and, when all are
 * valid, assigns offsets from nextOffset and stamps leaderEpoch (and
 * LogAppendTime when logAppendTimeMs >= 0) in place. Returns the batch count or
 * a negative BatchStatus; see NativeBatchScan.validateBatches for `out`.
 */
export const validateBatches: ValidateBatches = addon ? addon.validateBatches.bind(addon) : validateBatchesJs;
