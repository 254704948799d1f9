// CreatePartitions (key 37), versions 0-3.
// v1: same as v0 (throttling order). v2: flexible. v3: same as v2 (may
// answer THROTTLING_QUOTA_EXCEEDED, which this broker never does).
//
// Partition counts only grow. Checks and messages follow Kafka's controller:
// a repeated topic is INVALID_REQUEST ("Duplicate topic name."), an unknown
// one UNKNOWN_TOPIC_OR_PARTITION without a message, the same or a smaller
// count INVALID_PARTITIONS, assignments that do not fit
// INVALID_REPLICA_ASSIGNMENT; validate_only checks without changing anything;
// a timeout of 0 or less has expired before the work starts
// (REQUEST_TIMED_OUT, nothing changed). Results for repeated topics come first,
// then the others in request order, as Kafka's controller lists them.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

type Result = CreatePartitionsResponse.CreatePartitionsTopicResult;

export function createPartitionsHandler(broker: BrokerServices): ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> {
  return {
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(request) {
      const result = (name: string, errorCode: number, errorMessage: string | null = null): Result => ({ name, errorCode, errorMessage });
      if (request.timeoutMs <= 0) return { throttleTimeMs: 0, results: request.topics.map((t) => result(t.name, ErrorCode.REQUEST_TIMED_OUT)) };
      const counts = new Map<string, number>();
      for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
      const results: Result[] = [];
      for (const [name, count] of counts) if (count > 1) results.push(result(name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      for (const t of request.topics) {
        if ((counts.get(t.name) ?? 0) > 1) continue;
        if (!broker.metadata.topic(t.name)) {
          results.push(result(t.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        const assignments = t.assignments === null ? null : t.assignments.map((a) => a.brokerIds);
        const grown = await broker.metadata.createPartitions(t.name, t.count, assignments, request.validateOnly);
        if (!grown.ok) {
          results.push(result(t.name, grown.errorCode, grown.message));
          continue;
        }
        if (!request.validateOnly) broker.materializeTopic(grown.value);
        results.push(result(t.name, ErrorCode.NONE));
      }
      return { throttleTimeMs: 0, results };
    },
  };
}
