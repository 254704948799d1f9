// The group coordinator's store backed by the internal topic
// `__consumer_offsets`, with Kafka's record layouts (offsets-topic-records.ts).
//
// The topic is created on the first append, not at start-up: Kafka creates it
// on the first FindCoordinator for a group, and 50 partition directories in
// every data dir of a broker that never sees a consumer group would be pure
// cost (~150 files, plus a preallocated index pair per partition). Until then
// every partition loads as empty. When the topic exists, its partition count
// wins over offsets.topic.num.partitions, as in Kafka (which reads the count
// from metadata once the topic is there), so groups keep their partition.
//
// append: one magic-2 batch per call (no compression, producer id -1,
// timestamps from the injected clock), through Log.append like a produce with
// acks=-1 on a broker alone: answered once flush.messages is honoured. Append
// listeners (fetch waiters) are woken by the log. A failure carries the error
// of the append as Kafka's log layer reports it to the coordinator
// (KAFKA_STORAGE_ERROR, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE,
// UNKNOWN_TOPIC_OR_PARTITION for a partition that is not there); the
// coordinator maps it per API as Kafka does (groupAppendErrorToResponse:
// NOT_COORDINATOR, UNKNOWN_SERVER_ERROR, COORDINATOR_NOT_AVAILABLE). Records
// that cannot be serialized are UNKNOWN_SERVER_ERROR.
//
// load: reads a partition from its log start to its high watermark in bounded
// slices (one fd read per slice, synchronously in the same turn as Log.read so
// a segment cannot be closed under the read), yields to the event loop between
// slices, decodes every batch (compressed ones too) and calls back per record
// in offset order. Records of unknown types, and records that do not decode,
// are skipped with a log line (Kafka skips unknown types; a malformed record
// must not keep every group of the partition from loading).
//
// Ownership: the coordinator is the only writer of the topic's logs (Produce
// to it is refused with INVALID_TOPIC_EXCEPTION, see 00-produce.ts).
import fs from 'node:fs';
import type { TopicMetadata } from '../cluster/local-metadata.js';
import type { ClusterMetadata } from '../cluster/metadata.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders, RecordBatchError, type RecordInput } from '../record/record-batch.js';
import { systemClock, type Clock } from '../storage/clock.js';
import { StorageError, StorageErrorCode } from '../storage/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import type { Log, LogLogger } from '../storage/log.js';
import { CoordinatorStoreError, kafkaPartitionFor, type CoordinatorRecord, type CoordinatorStore } from './coordinator-store.js';
import { decodeCoordinatorRecord, encodeCoordinatorRecord, OFFSETS_TOPIC, RecordEncodeError } from './offsets-topic-records.js';

/** Bytes asked of Log.read per slice while loading; a larger first batch is still returned whole. */
const LOAD_SLICE_BYTES = 1024 * 1024;

export interface OffsetsTopicConfig {
  /** offsets.topic.num.partitions */
  numPartitions: number;
  /** offsets.topic.replication.factor (1 is all a broker alone can hold). */
  replicationFactor: number;
  /** offsets.topic.segment.bytes */
  segmentBytes: number;
}

export interface OffsetsTopicStoreOptions {
  metadata: ClusterMetadata;
  logs: LogManager;
  /** Creates the partition logs of a topic metadata has (Broker.materializeTopic). */
  materializeTopic: (topic: TopicMetadata) => void;
  /** The same spread over event-loop turns (Broker.materializeTopicAsync); materializeTopic when absent. */
  materializeTopicAsync?: (topic: TopicMetadata) => Promise<void>;
  /** One partition's log (Broker.materializePartition); materializeTopic when absent. */
  materializePartition?: (topic: TopicMetadata, partition: number) => void;
  config: OffsetsTopicConfig;
  logger: LogLogger;
  clock?: Clock;
}

/** The topic configs Kafka gives `__consumer_offsets` (GroupCoordinatorService.groupMetadataTopicConfigs). */
export function offsetsTopicConfigs(config: OffsetsTopicConfig): Record<string, string> {
  return {
    'cleanup.policy': 'compact',
    'compression.type': 'producer',
    'segment.bytes': String(config.segmentBytes),
  };
}

export class OffsetsTopicStore implements CoordinatorStore {
  readonly partitionCount: number;
  private readonly clock: Clock;
  /** The creation of the topic's partition logs in progress (ensureTopicAsync). */
  private creating: Promise<void> | null = null;

  constructor(private readonly options: OffsetsTopicStoreOptions) {
    this.clock = options.clock ?? systemClock;
    const existing = options.metadata.topic(OFFSETS_TOPIC);
    this.partitionCount = existing?.partitionCount ?? options.config.numPartitions;
    if (existing && existing.partitionCount !== options.config.numPartitions) {
      options.logger.info(
        `${OFFSETS_TOPIC} has ${existing.partitionCount} partitions; offsets.topic.num.partitions (${options.config.numPartitions}) applies only when it is created`,
      );
    }
  }

  partitionFor(groupId: string): number {
    return kafkaPartitionFor(groupId, this.partitionCount);
  }

  async append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const log = this.writableLog(partition);
    const batch = this.buildBatch(records);
    let flushed: Promise<void> | null;
    try {
      flushed = log.append(batch).flushed;
    } catch (err) {
      throw this.appendError(partition, err);
    }
    if (flushed) {
      try {
        await flushed;
      } catch (err) {
        throw this.appendError(partition, err);
      }
    }
  }

  async load(partition: number, onRecord: (record: CoordinatorRecord) => void): Promise<void> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`${OFFSETS_TOPIC} has no partition ${partition}`);
    }
    if (!this.options.metadata.topic(OFFSETS_TOPIC)) return;
    const log = this.options.logs.getLog(OFFSETS_TOPIC, partition);
    if (!log) return;
    await this.replay(log, onRecord);
  }

  /** The partition's log, creating the topic first if it does not exist yet. */
  private writableLog(partition: number): Log {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new CoordinatorStoreError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${OFFSETS_TOPIC} has no partition ${partition}`);
    }
    // The topic is looked at only when this partition's log is missing: this
    // partition is made now, the others in the background.
    if (!this.options.logs.getLog(OFFSETS_TOPIC, partition)) {
      this.ensurePartition(partition);
      void this.ensureTopicAsync().catch(() => {});
    }
    const log = this.options.logs.getLog(OFFSETS_TOPIC, partition);
    if (!log || log.isClosed) {
      throw new CoordinatorStoreError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${OFFSETS_TOPIC}-${partition} is not available`);
    }
    return log;
  }

  /** Creates `__consumer_offsets` with Kafka's configs when it does not exist; the partition logs when they are missing. */
  ensureTopic(): void {
    const topic = this.ensureTopicMetadata();
    try {
      this.options.materializeTopic(topic);
    } catch (err) {
      throw this.appendError(-1, err);
    }
  }

  /**
   * ensureTopic without holding the event loop for the whole creation (50
   * logs, each preallocating its files, and their partition.metadata fsyncs
   * took 0.2-0.7 s in one turn): resolves once every partition log exists.
   * Concurrent callers share one creation. FindCoordinator and Metadata wait
   * on this before answering, as before, but other connections are served
   * meanwhile.
   */
  ensureTopicAsync(): Promise<void> {
    const existing = this.options.metadata.topic(OFFSETS_TOPIC);
    if (existing && this.allPartitionsExist(existing)) return Promise.resolve();
    this.creating ??= this.createPartitions().finally(() => (this.creating = null));
    return this.creating;
  }

  private async createPartitions(): Promise<void> {
    const topic = this.ensureTopicMetadata();
    try {
      if (this.options.materializeTopicAsync) await this.options.materializeTopicAsync(topic);
      else this.options.materializeTopic(topic);
    } catch (err) {
      throw this.appendError(-1, err);
    }
  }

  private allPartitionsExist(topic: TopicMetadata): boolean {
    const { logs, metadata } = this.options;
    for (let p = 0; p < topic.partitionCount; p++) {
      // In a cluster this broker holds only the partitions it is a replica of.
      if (topic.partitions && !topic.partitions[p]?.replicas.includes(metadata.nodeId)) continue;
      if (!logs.getLog(OFFSETS_TOPIC, p)) return false;
    }
    return true;
  }

  /** The topic and one partition's log, now: the first append to a partition does not wait for the others. */
  private ensurePartition(partition: number): void {
    const topic = this.ensureTopicMetadata();
    try {
      if (this.options.materializePartition) this.options.materializePartition(topic, partition);
      else this.options.materializeTopic(topic);
    } catch (err) {
      throw this.appendError(-1, err);
    }
  }

  private ensureTopicMetadata(): TopicMetadata {
    const { metadata, config, logger } = this.options;
    const topic = metadata.topic(OFFSETS_TOPIC);
    if (topic) return topic;
    const creating = metadata.createTopic(OFFSETS_TOPIC, this.partitionCount, config.replicationFactor, offsetsTopicConfigs(config));
    if (creating instanceof Promise) {
      // In a cluster the topic is created in etcd; until this broker's view has it, the coordinator is not
      // available (Kafka answers the same while it creates the topic).
      creating.then(
        (created) => {
          if (created.ok) logger.info(`created ${OFFSETS_TOPIC} with ${created.value.partitionCount} partitions`, { topic: OFFSETS_TOPIC });
          else if (created.errorCode !== 36) logger.warn(`creating ${OFFSETS_TOPIC} failed: ${created.message}`);
        },
        () => undefined,
      );
      throw new CoordinatorStoreError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} is being created`);
    }
    const created = creating;
    if (!created.ok) {
      throw new CoordinatorStoreError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `creating ${OFFSETS_TOPIC} failed: ${created.message}`);
    }
    logger.info(`created ${OFFSETS_TOPIC} with ${created.value.partitionCount} partitions`, { topic: OFFSETS_TOPIC, partitionCount: created.value.partitionCount });
    return created.value;
  }

  private buildBatch(records: readonly CoordinatorRecord[]): Buffer {
    const nowMs = this.clock.nowMs();
    const inputs: RecordInput[] = [];
    try {
      for (const record of records) {
        const { key, value } = encodeCoordinatorRecord(record);
        inputs.push({ key, value, timestamp: nowMs });
      }
      return buildRecordBatch(inputs, { baseTimestamp: nowMs });
    } catch (err) {
      // Kafka's coordinator fails the write with the serializer's exception: UNKNOWN_SERVER_ERROR.
      if (err instanceof RecordEncodeError || err instanceof RecordBatchError) {
        throw new CoordinatorStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, `cannot encode the records: ${err.message}`);
      }
      throw err;
    }
  }

  private appendError(partition: number, err: unknown): CoordinatorStoreError {
    if (err instanceof CoordinatorStoreError) return err;
    const where = partition >= 0 ? `${OFFSETS_TOPIC}-${partition}` : OFFSETS_TOPIC;
    const message = `append to ${where} failed: ${(err as Error)?.message ?? String(err)}`;
    if (err instanceof StorageError) {
      switch (err.kafkaCode) {
        case StorageErrorCode.KAFKA_STORAGE_ERROR:
          this.options.logger.warn(message);
          return new CoordinatorStoreError(err.kafkaCode, message);
        case StorageErrorCode.MESSAGE_TOO_LARGE:
        case StorageErrorCode.RECORD_LIST_TOO_LARGE:
          return new CoordinatorStoreError(err.kafkaCode, message);
        default:
          break;
      }
    }
    this.options.logger.warn(message);
    return new CoordinatorStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, message);
  }

  private async replay(log: Log, onRecord: (record: CoordinatorRecord) => void): Promise<void> {
    const { logger } = this.options;
    const endOffset = log.highWatermark;
    let nextOffset = log.logStartOffset;
    let skipped = 0;
    while (nextOffset < endOffset && !log.isClosed) {
      // The log start may have moved (DeleteRecords) since the last slice.
      nextOffset = Math.max(nextOffset, log.logStartOffset);
      const slice = readSlice(log, nextOffset, endOffset);
      if (slice === null) break;
      const before = nextOffset;
      for (const { position, header } of iterateBatchHeaders(slice)) {
        if (header.lastOffset < nextOffset) continue;
        nextOffset = header.lastOffset + 1;
        // Control batches are transaction markers; Samsa writes no transactional offsets.
        if (header.isControl || header.isTransactional) continue;
        let records;
        try {
          records = decodeBatchRecords(slice, position);
        } catch (err) {
          logger.warn(`${log.name}: skipping an undecodable batch at offset ${header.baseOffset}: ${(err as Error).message}`);
          continue;
        }
        for (const r of records) {
          if (r.offset < before) continue;
          const decoded = decodeCoordinatorRecord(r.key, r.value);
          if (decoded.ok) {
            onRecord(decoded.record);
          } else {
            skipped++;
            const why = decoded.unknownType ? `unknown record type ${decoded.keyVersion}` : decoded.reason;
            logger.info(`${log.name}: skipping the record at offset ${r.offset} while loading: ${why}`);
          }
        }
      }
      if (nextOffset === before) {
        logger.warn(`${log.name}: load stopped at offset ${nextOffset}: no whole batch there`);
        break;
      }
      // One slice per event-loop turn, so requests are served while a large partition loads.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (skipped > 0) logger.info(`${log.name}: ${skipped} record(s) skipped while loading`);
  }
}

/** Whole batches from the one holding `offset`, copied out of the segment in the same turn as the read. */
function readSlice(log: Log, offset: number, endOffset: number): Buffer | null {
  const read = log.read(offset, LOAD_SLICE_BYTES, { maxOffset: endOffset });
  if (read.records === null) return null;
  const { fd, position, length } = read.records;
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}
