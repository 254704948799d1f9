// ListOffsets (key 2), versions 1-8 (Kafka 4.0's minimum is 1).
// v1: one offset per partition (timestamp, offset). v2: isolation level,
// throttle time. v4: leader epochs. v6: flexible. v7: max timestamp (-3).
// v8: earliest local (-4), answered as earliest on a broker without tiers.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type ListOffsetsRequest, type ListOffsetsResponse } from '../../protocol/generated/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP } from '../../storage/log.js';
import { StorageError } from '../../storage/errors.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

const EARLIEST_LOCAL_TIMESTAMP = -4;

export function listOffsetsHandler(broker: BrokerServices): ApiHandler<ListOffsetsRequest, ListOffsetsResponse> {
  return {
    apiKey: ApiKey.ListOffsets,
    minVersion: 1,
    maxVersion: 8,
    handle(request, context) {
      const withEpoch = context.apiVersion >= 4;
      const topics = request.topics.map((topic): ListOffsetsResponse.ListOffsetsTopicResponse => {
        const meta = broker.metadata.topic(topic.name);
        return {
          name: topic.name,
          partitions: topic.partitions.map((p): ListOffsetsResponse.ListOffsetsPartitionResponse => {
            const answer = (errorCode: number, timestamp = -1n, offset = -1n): ListOffsetsResponse.ListOffsetsPartitionResponse =>
              withEpoch ? { partitionIndex: p.partitionIndex, errorCode, timestamp, offset, leaderEpoch: errorCode === 0 ? 0 : -1 } : { partitionIndex: p.partitionIndex, errorCode, timestamp, offset };
            const inRange = meta !== undefined && p.partitionIndex >= 0 && p.partitionIndex < meta.partitionCount;
            // In a cluster the leader answers (Kafka: NOT_LEADER_OR_FOLLOWER from a follower for a consumer's request).
            const notLeader = inRange ? broker.replicas.leaderError(meta, p.partitionIndex) : ErrorCode.NONE;
            if (notLeader !== ErrorCode.NONE) return answer(notLeader);
            const log = inRange ? broker.logs.getLog(topic.name, p.partitionIndex) : undefined;
            if (!log) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            const ts = Number(p.timestamp);
            try {
              // Consumers see the high watermark as "latest", not the log end.
              if (ts === LATEST_TIMESTAMP) return answer(0, -1n, BigInt(log.highWatermark));
              if (ts === EARLIEST_TIMESTAMP || ts === EARLIEST_LOCAL_TIMESTAMP) return answer(0, -1n, BigInt(log.logStartOffset));
              const found = log.offsetForTimestamp(ts === MAX_TIMESTAMP ? MAX_TIMESTAMP : ts);
              if (found === null || found.offset >= log.highWatermark) return answer(0);
              return answer(0, BigInt(found.timestamp), BigInt(found.offset));
            } catch (err) {
              if (err instanceof StorageError) return answer(err.kafkaCode);
              throw err;
            }
          }),
        };
      });
      return { throttleTimeMs: 0, topics };
    },
  };
}
