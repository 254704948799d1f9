// Produce to a compacted topic: every record needs a key, since the cleaner
// keeps one record per key and cannot place one without. Kafka's LogValidator
// refuses such a batch with INVALID_RECORD, one RecordError per keyless
// record. This decodes every record, so it runs only for logs whose
// cleanup.policy contains "compact".
import { decodeBatchRecords, readBatchHeader, verifyBatchCrc, BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField } from '../record/record-batch.js';
import { RecordValidationError, StorageErrorCode, type RecordError } from './errors.js';

// Kafka's message lists at most this many record errors.
const ERRORS_SHOWN_MAX = 3;

/** Throws RecordValidationError(INVALID_RECORD) for the first batch in buf[start, end) holding a record without a key. */
export function checkCompactedKeys(buf: Uint8Array, start: number, end: number, topicPartition: string): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let position = start;
  while (position + BATCH_HEADER_BYTES <= end) {
    const batchBytes = view.getInt32(position + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
    // Framing and CRC problems are the batch validator's (CORRUPT_MESSAGE first, as in Kafka).
    if (batchBytes < BATCH_HEADER_BYTES || position + batchBytes > end) return;
    const errors = keylessRecords(buf.subarray(position, position + batchBytes), topicPartition);
    if (errors.length > 0) {
      const shown = errors.slice(0, ERRORS_SHOWN_MAX).map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`);
      throw new RecordValidationError(
        StorageErrorCode.INVALID_RECORD,
        `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown.join(', ')}]`,
        errors,
      );
    }
    position += batchBytes;
  }
}

function keylessRecords(batch: Uint8Array, topicPartition: string): RecordError[] {
  let records;
  try {
    if (batch[BatchField.magic] !== 2 || !verifyBatchCrc(batch, 0)) return [];
    // Clients may not send control batches; that refusal is the validator's.
    if (readBatchHeader(batch, 0).isControl) return [];
    records = decodeBatchRecords(batch, 0);
  } catch {
    return [];
  }
  const errors: RecordError[] = [];
  records.forEach((r, index) => {
    if (r.key === null) errors.push({ batchIndex: index, message: `Compacted topic cannot accept message without key in topic partition ${topicPartition}` });
  });
  return errors;
}
