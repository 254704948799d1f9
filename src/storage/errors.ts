// Typed storage failures. Each carries the Kafka error the broker will answer
// with, so handlers map them without string matching.

/** Kafka error codes that storage can produce (values from Kafka's Errors enum). */
export const StorageErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_TIMESTAMP: 32,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  constructor(
    readonly kafkaCode: StorageErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StorageError';
  }
}

export class OffsetOutOfRangeError extends StorageError {
  constructor(
    readonly requestedOffset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
    topicPartition: string,
  ) {
    super(
      StorageErrorCode.OFFSET_OUT_OF_RANGE,
      `${topicPartition}: offset ${requestedOffset} is outside [${logStartOffset}, ${logEndOffset}]`,
    );
    this.name = 'OffsetOutOfRangeError';
  }
}

/** A disk failure (EIO, ENOSPC...) while writing; the Kafka answer is KAFKA_STORAGE_ERROR. */
export class LogIoError extends StorageError {
  constructor(
    readonly syscallCode: string,
    message: string,
    cause?: unknown,
  ) {
    super(StorageErrorCode.KAFKA_STORAGE_ERROR, message, cause);
    this.name = 'LogIoError';
  }
}

export function errnoCode(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : 'UNKNOWN';
}

/** One rejected record: its index within its batch and why (Kafka's RecordError). */
export interface RecordError {
  batchIndex: number;
  message: string;
}

/** A batch refused because of individual records (Kafka's RecordValidationException). */
export class RecordValidationError extends StorageError {
  constructor(
    kafkaCode: StorageErrorCode,
    message: string,
    readonly recordErrors: readonly RecordError[],
  ) {
    super(kafkaCode, message);
    this.name = 'RecordValidationError';
  }
}
