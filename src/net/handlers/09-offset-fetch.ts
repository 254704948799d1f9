// OffsetFetch (key 9), versions 1-9 (Kafka 4.0 removed v0, KIP-896).
// v1: offsets from the coordinator. v2: null topics fetches every committed
// offset; top-level error. v3: throttle time. v4: same. v5: leader epoch.
// v6: flexible. v7: require_stable (KIP-447). v8: many groups per request
// (KIP-709). v9: member id and epoch of KIP-848 consumers.
//
// A partition without a commit answers offset -1, empty metadata, no error.
// require_stable asks to wait for pending transactional commits; this broker
// has no transactional offset commits, so every offset is stable.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { OffsetFetchResult } from '../../coordinator/group-coordinator.js';
import type { ApiHandler } from '../dispatcher.js';

export function offsetFetchHandler(broker: BrokerServices): ApiHandler<OffsetFetchRequest, OffsetFetchResponse> {
  return {
    apiKey: ApiKey.OffsetFetch,
    minVersion: 1,
    maxVersion: 9,
    handle(request, context) {
      const v = context.apiVersion;
      if (v >= 8) {
        return {
          throttleTimeMs: 0,
          groups: (request.groups ?? []).map((g) => {
            const result = broker.groupCoordinator.fetchOffsets(g.groupId, g.topics, g.memberId ?? null, g.memberEpoch ?? -1);
            return { groupId: g.groupId, errorCode: result.errorCode, topics: result.topics };
          }),
        };
      }
      // v1 has no null topics (the decoder gives an array) and no top-level error.
      const result: OffsetFetchResult = broker.groupCoordinator.fetchOffsets(request.groupId ?? '', request.topics ?? null);
      if (v < 2 && result.errorCode !== ErrorCode.NONE) {
        // v1 carries a group error on every requested partition.
        return {
          throttleTimeMs: 0,
          topics: (request.topics ?? []).map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: result.errorCode })),
          })),
        };
      }
      return { throttleTimeMs: 0, errorCode: result.errorCode, topics: result.topics };
    },
  };
}
