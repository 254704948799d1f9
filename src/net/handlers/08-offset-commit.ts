// OffsetCommit (key 8), versions 2-9 (Kafka 4.0 removed v0-1, KIP-896).
// v2-4: retention time (-1 for the broker's). v3: throttle time. v5: no
// retention time. v6: leader epoch per partition. v7: group.instance.id.
// v8: flexible. v9: usable by KIP-848 groups (member epoch); an unknown group
// with a generation is GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION.
//
// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION here, as Kafka's
// KafkaApis answers them before the coordinator sees the request; the rest are
// written as one batch of offset records before the answer.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function offsetCommitHandler(broker: BrokerServices): ApiHandler<OffsetCommitRequest, OffsetCommitResponse> {
  return {
    apiKey: ApiKey.OffsetCommit,
    minVersion: 2,
    maxVersion: 9,
    async handle(request, context) {
      const v = context.apiVersion;
      const known: Array<{ name: string; partitions: OffsetCommitRequest.OffsetCommitRequestPartition[] }> = [];
      const unknown = new Map<string, Set<number>>();
      for (const t of request.topics) {
        const topic = broker.metadata.topic(t.name);
        const partitions = t.partitions.filter((p) => {
          const exists = topic !== undefined && p.partitionIndex >= 0 && p.partitionIndex < topic.partitionCount;
          if (!exists) {
            if (!unknown.has(t.name)) unknown.set(t.name, new Set());
            unknown.get(t.name)!.add(p.partitionIndex);
          }
          return exists;
        });
        if (partitions.length > 0) known.push({ name: t.name, partitions });
      }
      const results = await broker.groupCoordinator.commitOffsets({
        groupId: request.groupId,
        generationIdOrMemberEpoch: request.generationIdOrMemberEpoch ?? -1,
        memberId: request.memberId ?? '',
        groupInstanceId: request.groupInstanceId ?? null,
        retentionTimeMs: v <= 4 ? Number(request.retentionTimeMs ?? -1n) : -1,
        apiVersion: v,
        topics: known.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: p.committedOffset,
            committedLeaderEpoch: p.committedLeaderEpoch ?? -1,
            committedMetadata: p.committedMetadata,
          })),
        })),
      });
      // Answer in request order: each partition's error from the coordinator or the topic check.
      const errorOf = new Map<string, Map<number, number>>();
      for (const t of results) errorOf.set(t.name, new Map(t.partitions.map((p) => [p.partitionIndex, p.errorCode])));
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: unknown.get(t.name)?.has(p.partitionIndex) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : (errorOf.get(t.name)?.get(p.partitionIndex) ?? ErrorCode.NONE),
          })),
        })),
      };
    },
  };
}
