// CreateTime timestamp bounds (message.timestamp.before.max.ms and
// message.timestamp.after.max.ms): a produced record whose timestamp lies too
// far from the broker clock is refused with INVALID_TIMESTAMP, naming each bad
// record, as Kafka's LogValidator does. With Kafka's defaults (no before-bound,
// one hour after) this reads one header field per batch and decodes records
// only of a batch whose maxTimestamp is out of bounds; a topic with a
// before-bound has every batch's records decoded.
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField, decodeBatchRecords, verifyBatchCrc } from '../record/record-batch.js';
import { RecordValidationError, StorageErrorCode, type RecordError } from './errors.js';
import type { LogConfig } from './log-config.js';

const NO_TIMESTAMP = -1;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
// Bounds at or above this are Kafka's Long.MAX_VALUE ("no bound"): config
// parsing caps longs at Number.MAX_SAFE_INTEGER, and no real bound comes near it.
const UNBOUNDED_MS = Number.MAX_SAFE_INTEGER;

/** The accepted CreateTime range; -Infinity/Infinity where the config sets no bound. */
export function timestampBounds(config: Readonly<LogConfig>, nowMs: number): { lowest: number; highest: number } {
  const before = config.messageTimestampBeforeMaxMs;
  const after = config.messageTimestampAfterMaxMs;
  return {
    lowest: before >= UNBOUNDED_MS ? -Infinity : nowMs - before,
    highest: after >= UNBOUNDED_MS ? Infinity : nowMs + after,
  };
}

/**
 * Throws RecordValidationError(INVALID_TIMESTAMP) if a batch in buf[start, end)
 * carries a record timestamp outside [now - before, now + after], or claims
 * LogAppendTime on a CreateTime topic. Malformed framing is left to the batch
 * validator that runs next.
 */
export function checkCreateTimestamps(buf: Uint8Array, start: number, end: number, config: Readonly<LogConfig>, nowMs: number): void {
  if (config.messageTimestampType !== 'CreateTime') return;
  const before = config.messageTimestampBeforeMaxMs;
  const after = config.messageTimestampAfterMaxMs;
  const { lowest, highest } = timestampBounds(config, nowMs);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let position = start;
  while (position + BATCH_HEADER_BYTES <= end) {
    const batchBytes = view.getInt32(position + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
    if (batchBytes < BATCH_HEADER_BYTES || position + batchBytes > end) return;
    const attributes = view.getInt16(position + BatchField.attributes);
    const max = Number(view.getBigInt64(position + BatchField.maxTimestamp));
    const logAppend = (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    // With a before-bound every record is looked at (a record may be older than the batch's first);
    // the after-bound needs only maxTimestamp, which covers the batch.
    const suspect = logAppend || lowest !== -Infinity || (max !== NO_TIMESTAMP && max > highest);
    if (suspect) {
      const errors = recordErrors(buf.subarray(position, position + batchBytes), logAppend, lowest, highest, before, after, nowMs);
      if (errors.length > 0) {
        throw new RecordValidationError(StorageErrorCode.INVALID_TIMESTAMP, 'One or more records have been rejected due to invalid timestamp', errors);
      }
    }
    position += batchBytes;
  }
}

function recordErrors(batch: Uint8Array, logAppend: boolean, lowest: number, highest: number, before: number, after: number, nowMs: number): RecordError[] {
  let records;
  try {
    // A corrupt batch is the batch validator's to refuse (CORRUPT_MESSAGE comes first, as in Kafka).
    if (!verifyBatchCrc(batch, 0)) return [];
    records = decodeBatchRecords(batch, 0);
  } catch {
    return [];
  }
  const range = `[${bound(nowMs, before, -1)}, ${bound(nowMs, after, 1)}]`;
  const errors: RecordError[] = [];
  records.forEach((r, index) => {
    if (logAppend) {
      errors.push({ batchIndex: index, message: `Invalid timestamp type in message with offset ${r.offset}. Producer should not set timestamp type to LogAppendTime.` });
    } else if (r.timestamp !== NO_TIMESTAMP && (r.timestamp < lowest || r.timestamp > highest)) {
      errors.push({ batchIndex: index, message: `Timestamp ${r.timestamp} of message with offset ${r.offset} is out of range. The timestamp should be within ${range}` });
    }
  });
  return errors;
}

// now -/+ bound as Kafka prints it with Java longs (Long.MAX_VALUE wraps).
function bound(nowMs: number, ms: number, sign: 1 | -1): string {
  const limit = ms >= UNBOUNDED_MS ? 2n ** 63n - 1n : BigInt(Math.trunc(ms));
  const value = BigInt(Math.trunc(nowMs)) + BigInt(sign) * limit;
  return BigInt.asIntN(64, value).toString();
}
