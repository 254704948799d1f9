// CreateTopics (key 19), versions 0-7, for a broker running alone.
// v1: validateOnly. v2: error messages. v3: same as v2. v4: -1 partitions or
// replication factor take the broker defaults. v5: flexible; the result carries
// partitions, replication factor and every config of the topic (value and source). v6: same as v5. v7: topic ids.
//
// Checks, their order and messages follow Kafka 4.0's controller, except the
// replication factor above the broker count, which carries the wording
// "Replication factor: 2 larger than available brokers: 1." (see LocalMetadata).
import { ErrorCode } from '../../protocol/error-codes.js';
import { kafkaUuidToCanonical } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ApiKey, type CreateTopicsRequest, type CreateTopicsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';


export function createTopicsHandler(broker: BrokerServices): ApiHandler<CreateTopicsRequest, CreateTopicsResponse> {
  return {
    apiKey: ApiKey.CreateTopics,
    minVersion: 0,
    maxVersion: 7,
    async handle(request, context) {
      const v = context.apiVersion;
      const validateOnly = v >= 1 && request.validateOnly === true;
      const fail = (name: string, errorCode: number, errorMessage: string | null): CreateTopicsResponse.CreatableTopicResult => ({
        name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage: v >= 1 ? errorMessage : null,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      // A timeout of 0 or less has expired before Kafka's controller starts: nothing is created.
      if (request.timeoutMs <= 0) return { throttleTimeMs: 0, topics: request.topics.map((t) => fail(t.name, ErrorCode.REQUEST_TIMED_OUT, null)) };
      const seen = new Map<string, number>();
      for (const t of request.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      const results: CreateTopicsResponse.CreatableTopicResult[] = [];
      for (const t of request.topics) {
        // Kafka's controller answers repeated names once each, after the others.
        if ((seen.get(t.name) ?? 0) > 1) continue;
        results.push(await createOne(t));
      }
      for (const [name, count] of seen) if (count > 1) results.push(fail(name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));

      // Kafka's order: name, existence, configs, then assignments or counts.
      async function createOne(t: CreateTopicsRequest.CreatableTopic): Promise<CreateTopicsResponse.CreatableTopicResult> {
        const nameError = broker.metadata.newTopicNameError(t.name);
        if (nameError) return fail(t.name, nameError.errorCode, nameError.message);
        const requested: Record<string, string | null> = {};
        for (const c of t.configs) requested[c.name] = c.value;
        // The same validation as AlterConfigs: unknown names, types, ranges, valid values.
        const invalid = broker.configs.validateTopicConfigs(requested);
        if (invalid.errorCode !== ErrorCode.NONE) return fail(t.name, invalid.errorCode, invalid.errorMessage ?? 'Invalid config');
        const configs = requested as Record<string, string>;
        let partitions = t.numPartitions === -1 ? broker.config.numPartitions : t.numPartitions;
        let replicationFactor = t.replicationFactor === -1 ? broker.config.defaultReplicationFactor : t.replicationFactor;
        if (t.assignments.length > 0) {
          const refusal = assignmentRefusal(t);
          if (refusal) return fail(t.name, refusal.errorCode, refusal.message);
          partitions = t.assignments.length;
          replicationFactor = t.assignments[0].brokerIds.length;
        }
        const assignments = t.assignments.length > 0 ? [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds) : null;
        const created = await broker.metadata.createTopic(t.name, partitions, replicationFactor, configs, validateOnly, assignments);
        if (!created.ok) return fail(t.name, created.errorCode, created.message);
        if (!validateOnly) broker.materializeTopic(created.value);
        return {
          name: t.name,
          topicId: validateOnly ? ZERO_UUID : kafkaUuidToCanonical(created.value.topicId),
          errorCode: 0,
          errorMessage: null,
          numPartitions: partitions,
          replicationFactor,
          // v5+: every config of the new topic with its value and source, as DescribeConfigs gives them.
          configs: broker.configs.describeTopic(configs).map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.source, isSensitive: c.isSensitive })),
        };
      }

      // Kafka's controller checks of an explicit assignment, with its messages.
      function assignmentRefusal(t: CreateTopicsRequest.CreatableTopic): { errorCode: number; message: string } | null {
        if (t.replicationFactor !== -1) {
          return { errorCode: ErrorCode.INVALID_REQUEST, message: 'A manual partition assignment was specified, but replication factor was not set to -1.' };
        }
        if (t.numPartitions !== -1) {
          return { errorCode: ErrorCode.INVALID_REQUEST, message: 'A manual partition assignment was specified, but numPartitions was not set to -1.' };
        }
        const indexes = new Set<number>();
        let replicationFactor: number | null = null;
        for (const a of t.assignments) {
          if (indexes.has(a.partitionIndex)) {
            return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `Found multiple manual partition assignments for partition ${a.partitionIndex}` };
          }
          const error = broker.metadata.assignmentError(a.brokerIds, replicationFactor);
          if (error) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: error };
          replicationFactor = a.brokerIds.length;
          indexes.add(a.partitionIndex);
        }
        for (let i = 0; i < indexes.size; i++) {
          if (!indexes.has(i)) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'partitions should be a consecutive 0-based integer sequence' };
        }
        return null;
      }
      return { throttleTimeMs: 0, topics: results };
    },
  };
}
