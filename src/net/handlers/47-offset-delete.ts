// OffsetDelete (key 47), version 0 (KIP-496).
//
// Deletes committed offsets of a group: allowed for an Empty group, and for a
// consumer-protocol group only on topics none of its members subscribe to
// (GROUP_SUBSCRIBED_TO_TOPIC otherwise). Unknown topics' partitions answer
// UNKNOWN_TOPIC_OR_PARTITION, as Kafka's KafkaApis does before the coordinator.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function offsetDeleteHandler(broker: BrokerServices): ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> {
  return {
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(request) {
      const exists = (name: string, partition: number) => {
        const topic = broker.metadata.topic(name);
        return topic !== undefined && partition >= 0 && partition < topic.partitionCount;
      };
      const known = request.topics
        .map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex).filter((p) => exists(t.name, p)) }))
        .filter((t) => t.partitions.length > 0);
      const result = await broker.groupCoordinator.deleteOffsets(request.groupId, known);
      if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
      const errorOf = new Map<string, Map<number, number>>();
      for (const t of result.topics) errorOf.set(t.name, new Map(t.partitions.map((p) => [p.partitionIndex, p.errorCode])));
      return {
        errorCode: ErrorCode.NONE,
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: exists(t.name, p.partitionIndex) ? (errorOf.get(t.name)?.get(p.partitionIndex) ?? ErrorCode.NONE) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        })),
      };
    },
  };
}
