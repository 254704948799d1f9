// The checks Kafka makes on a partition's records field before appending
// (ProduceRequest.validateRecords and the log's client-origin checks), reading
// only the first batch's fixed header: exactly one complete batch, magic 2,
// baseOffset 0, and no zstd before Produce v7. CRC, sizes and timestamps are
// left to the log's validation of the whole batch.
//
// Kafka reads a batch as: baseOffset int64 | length int32 | (v0/v1: crc int32,
// v2: partitionLeaderEpoch int32) | magic int8 at byte 16, so the magic of a
// legacy message set sits where a v2 batch has it.
import { ErrorCode } from '../protocol/error-codes.js';
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField, Compression } from '../record/record-batch.js';

const HEADER_BYTES_UP_TO_MAGIC = 17;
/** The smallest legacy (magic 0) message after its length field: Kafka's RECORD_OVERHEAD_V0. */
const RECORD_BYTES_MIN = 14;
const CURRENT_MAGIC = 2;
const COMPRESSION_MASK = 0x07;
/** Produce v7 is the first that may carry zstd batches (KIP-110). */
const ZSTD_MIN_PRODUCE_VERSION = 7;

export interface RecordsProblem {
  errorCode: number;
  message: string;
}

/**
 * What Kafka answers for this partition's records at this Produce version
 * (3 or later), or null when the batch may go on to the log.
 */
export function produceRecordsProblem(records: Buffer | null, version: number): RecordsProblem | null {
  const first = records === null ? null : batchAt(records, 0);
  if (first === null || first === 'incomplete') {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${version} must have at least one record batch per partition` };
  }
  if (typeof first === 'string') return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: first };
  const bytes = records!;
  if (first.magic !== CURRENT_MAGIC) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${version} are only allowed to contain record batches with magic version 2` };
  }
  if (first.bytes >= BATCH_HEADER_BYTES && version < ZSTD_MIN_PRODUCE_VERSION && (bytes.readInt16BE(BatchField.attributes) & COMPRESSION_MASK) === Compression.zstd) {
    return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `Produce requests with version ${version} are not allowed to use ZStandard compression` };
  }
  const second = batchAt(bytes, first.bytes);
  if (typeof second === 'string' && second !== 'incomplete') return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: second };
  if (second !== null && second !== 'incomplete') {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${version} are only allowed to contain exactly one record batch per partition` };
  }
  const baseOffset = bytes.readBigInt64BE(0);
  if (baseOffset !== 0n) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: `The baseOffset of the record batch in the append should be 0, but it is ${baseOffset}` };
  }
  return null;
}

/**
 * The batch starting at `position` as Kafka's batch iterator sees it: null when
 * no bytes are left, 'incomplete' when it does not fit (the iterator stops
 * there), a message when its header is impossible, else its magic and size.
 */
function batchAt(records: Buffer, position: number): { magic: number; bytes: number } | 'incomplete' | string | null {
  const left = records.length - position;
  if (left <= 0) return null;
  if (left < HEADER_BYTES_UP_TO_MAGIC) return 'incomplete';
  const length = records.readInt32BE(position + BatchField.batchLength);
  if (length < RECORD_BYTES_MIN) return `Record size ${length} is less than the minimum record overhead (${RECORD_BYTES_MIN})`;
  const magic = records.readInt8(position + BatchField.magic);
  if (magic < 0 || magic > CURRENT_MAGIC) return `Invalid magic found in record: ${magic}`;
  if (length > left - BATCH_LOG_OVERHEAD_BYTES) return 'incomplete';
  return { magic, bytes: BATCH_LOG_OVERHEAD_BYTES + length };
}
