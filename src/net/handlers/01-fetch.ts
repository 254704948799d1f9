// Fetch (key 1), versions 4-16 (Kafka 4.0's minimum is 4), for consumers.
// v4: isolation level, last stable offset, aborted transactions. v5: log start
// offset. v7: fetch sessions (KIP-227). v9: current leader epoch. v11: rack id,
// preferred read replica. v12: flexible, diverging epoch. v13: topic ids
// instead of names. v15: replica state. v16: node endpoints (tagged).
//
// Sessions: every answer carries session id 0 ("no session"), which clients
// take as "send full requests" — correct, if chattier than incremental fetches.
// Record slices of 4 KiB or more go out as file ranges through the zero-copy
// sender; smaller ones are read into the response.
import { ErrorCode } from '../../protocol/error-codes.js';
import fs from 'node:fs';
import { canonicalUuidToKafka } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ApiKey, type FetchRequest, type FetchResponse } from '../../protocol/generated/index.js';
import { OffsetOutOfRangeError, StorageError, StorageErrorCode } from '../../storage/errors.js';
import type { Log } from '../../storage/log.js';
import type { BrokerServices } from '../../broker/broker.js';
import { REF_BYTES_MIN, ZeroCopyResponse, fileRangePlaceholder, type ApiHandler } from '../dispatcher.js';
import type { FileRange } from '../sender.js';

/** fetch.max.bytes broker default: the most one response carries. */
const FETCH_RESPONSE_BYTES_MAX = 55 * 1024 * 1024;
const READ_COMMITTED = 1;

interface Target {
  topicIndex: number;
  request: FetchRequest.FetchPartition;
  log: Log | null;
  errorCode: number;
}

export function fetchHandler(broker: BrokerServices): ApiHandler<FetchRequest, FetchResponse> {
  return {
    apiKey: ApiKey.Fetch,
    minVersion: 4,
    maxVersion: 16,
    async handle(request, context) {
      const v = context.apiVersion;
      const responses: FetchResponse.FetchableTopicResponse[] = [];
      if (v >= 7 && (request.sessionId ?? 0) !== 0) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses };
      }
      const maxBytes = Math.min(request.maxBytes ?? FETCH_RESPONSE_BYTES_MAX, FETCH_RESPONSE_BYTES_MAX);
      const targets: Target[] = [];
      for (const topic of request.topics) {
        const name = v >= 13 ? broker.metadata.topicById(canonicalUuidToKafka(topic.topicId ?? ZERO_UUID))?.name : topic.topic;
        const meta = name !== undefined ? broker.metadata.topic(name) : undefined;
        responses.push({ topic: name ?? '', topicId: topic.topicId ?? ZERO_UUID, partitions: [] });
        for (const p of topic.partitions) {
          const log = meta && p.partition >= 0 && p.partition < meta.partitionCount ? (broker.logs.getLog(meta.name, p.partition) ?? null) : null;
          const errorCode = log ? 0 : meta === undefined && v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          targets.push({ topicIndex: responses.length - 1, request: p, log, errorCode });
        }
      }
      // One pass reads every partition; it is repeated only after a long-poll wait.
      const collect = () => {
        let bytes = 0;
        let errored = false;
        const reads = targets.map((t) => {
          const read = { errorCode: t.errorCode, slice: null as FileRange | null, highWatermark: -1, logStartOffset: -1 };
          if (!t.log) return read;
          if (broker.logs.getLog(t.log.topic, t.log.partition) !== t.log) {
            // Deleted while this fetch waited: answered as a partition the broker does not host.
            read.errorCode = v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            errored = true;
            return read;
          }
          read.highWatermark = t.log.highWatermark;
          read.logStartOffset = t.log.logStartOffset;
          const room = maxBytes - bytes;
          if (room <= 0) return read;
          try {
            const r = t.log.read(Number(t.request.fetchOffset), Math.min(t.request.partitionMaxBytes, room), {
              maxOffset: t.log.highWatermark,
              // Kafka returns at least one batch, but only for the first partition with data.
              minOneMessage: bytes === 0,
            });
            read.slice = r.records;
            bytes += r.records?.length ?? 0;
          } catch (err) {
            if (err instanceof OffsetOutOfRangeError) read.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
            else if (err instanceof StorageError) read.errorCode = err.kafkaCode;
            else throw err;
            errored = true;
          }
          return read;
        });
        return { reads, bytes, errored };
      };
      let collected = collect();
      const logs = targets.flatMap((t) => (t.log ? [t.log] : []));
      if (!collected.errored && collected.bytes < request.minBytes && request.maxWaitMs > 0 && logs.length > 0) {
        const readable = () => {
          collected = collect();
          // An error is an answer too: stop waiting.
          return collected.errored ? Number.MAX_SAFE_INTEGER : collected.bytes;
        };
        const outcome = await broker.fetchWaiters.wait(logs, request.minBytes, request.maxWaitMs, readable);
        // A timeout or shutdown answers with what is there now.
        if (outcome !== 'satisfied') collected = collect();
      }
      const fileRanges = new Map<Buffer, FileRange>();
      collected.reads.forEach((read, index) => {
        const t = targets[index];
        const hasLog = t.log !== null;
        responses[t.topicIndex].partitions.push({
          partitionIndex: t.request.partition,
          errorCode: read.errorCode,
          highWatermark: BigInt(read.highWatermark),
          lastStableOffset: BigInt(read.highWatermark),
          logStartOffset: BigInt(read.logStartOffset),
          abortedTransactions: request.isolationLevel === READ_COMMITTED ? [] : null,
          preferredReadReplica: -1,
          records: hasLog && read.slice ? recordsPart(read.slice, fileRanges) : Buffer.alloc(0),
        });
      });
      const body: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
      return fileRanges.size > 0 ? new ZeroCopyResponse(body, fileRanges) : body;
    },
  };
}

/** Small slices are read into the response; large ones become file-range placeholders. */
function recordsPart(slice: FileRange, fileRanges: Map<Buffer, FileRange>): Buffer {
  if (slice.length < REF_BYTES_MIN) {
    const bytes = Buffer.allocUnsafe(slice.length);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(slice.fd, bytes, done, bytes.length - done, slice.position + done);
      if (n === 0) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `segment ended ${bytes.length - done} bytes early`);
      done += n;
    }
    return bytes;
  }
  const placeholder = fileRangePlaceholder(slice.length);
  fileRanges.set(placeholder, { fd: slice.fd, position: slice.position, length: slice.length });
  return placeholder;
}
