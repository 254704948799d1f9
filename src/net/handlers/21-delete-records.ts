// DeleteRecords (key 21), versions 0-2.
// v1: same as v0 (throttling order). v2: flexible.
//
// Moves each partition's log start offset forward (Kafka's
// Partition.deleteRecordsOnLeader): offset -1 means the high watermark; an
// offset beyond the high watermark, or negative, is OFFSET_OUT_OF_RANGE; a
// topic whose cleanup.policy lacks "delete" is POLICY_VIOLATION; internal
// topics are INVALID_TOPIC_EXCEPTION. The answer's
// low watermark is the log start offset afterwards (-1 on error). Records
// below it are no longer served (fetches there get OFFSET_OUT_OF_RANGE) and
// whole segments below it go on the next retention pass. The new start
// offsets are checkpointed before the answer, so a restart keeps them.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type DeleteRecordsRequest, type DeleteRecordsResponse } from '../../protocol/generated/index.js';
import { OffsetOutOfRangeError, StorageError } from '../../storage/errors.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';
import { isInternalTopic } from '../../cluster/local-metadata.js';

/** DeleteRecordsRequest.HIGH_WATERMARK: delete everything below the high watermark. */
const HIGH_WATERMARK = -1n;
/** DeleteRecordsResponse.INVALID_LOW_WATERMARK. */
const INVALID_LOW_WATERMARK = -1n;

export function deleteRecordsHandler(broker: BrokerServices): ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> {
  return {
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    handle(request) {
      let moved = false;
      const topics = request.topics.map((topic): DeleteRecordsResponse.DeleteRecordsTopicResult => {
        const meta = broker.metadata.topic(topic.name);
        // The effective policy: the topic's override, else the broker's log.cleanup.policy.
        const policy = meta && broker.configs.describeTopic(meta.configs).find((c) => c.name === 'cleanup.policy')?.value;
        const deletable = cleanupPolicyDeletes(policy ?? undefined);
        return {
          name: topic.name,
          partitions: topic.partitions.map((p): DeleteRecordsResponse.DeleteRecordsPartitionResult => {
            const answer = (errorCode: number, lowWatermark = INVALID_LOW_WATERMARK) => ({ partitionIndex: p.partitionIndex, lowWatermark, errorCode });
            const inRange = meta !== undefined && p.partitionIndex >= 0 && p.partitionIndex < meta.partitionCount;
            const notLeader = inRange ? broker.replicas.leaderError(meta, p.partitionIndex) : ErrorCode.NONE;
            if (notLeader !== ErrorCode.NONE) return answer(notLeader);
            const log = inRange ? broker.logs.getLog(meta.name, p.partitionIndex) : undefined;
            if (!log) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            // Kafka's ReplicaManager: "Cannot delete records of internal topic" (the coordinator owns __consumer_offsets).
            if (isInternalTopic(topic.name)) return answer(ErrorCode.INVALID_TOPIC_EXCEPTION);
            if (!deletable) return answer(ErrorCode.POLICY_VIOLATION);
            const offset = p.offset === HIGH_WATERMARK ? BigInt(log.highWatermark) : p.offset;
            if (offset < 0n || offset > BigInt(log.highWatermark)) return answer(ErrorCode.OFFSET_OUT_OF_RANGE);
            try {
              if (log.maybeIncrementLogStartOffset(Number(offset))) moved = true;
            } catch (err) {
              if (err instanceof OffsetOutOfRangeError) return answer(ErrorCode.OFFSET_OUT_OF_RANGE);
              if (err instanceof StorageError) return answer(err.kafkaCode);
              throw err;
            }
            return answer(ErrorCode.NONE, BigInt(log.logStartOffset));
          }),
        };
      });
      // Kafka writes this checkpoint on a timer; writing it now means an answered
      // deletion is never undone by a crash.
      if (moved) broker.logs.checkpointLogStartOffsets();
      return { throttleTimeMs: 0, topics };
    },
  };
}

/** cleanup.policy is a list ("delete", "compact", "compact,delete"); Kafka's default is "delete". */
function cleanupPolicyDeletes(policy: string | undefined): boolean {
  if (policy === undefined) return true;
  return policy.split(',').some((p) => p.trim().toLowerCase() === 'delete');
}
