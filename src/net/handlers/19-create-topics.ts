// CreateTopics (key 19), versions 0-7, for a broker running alone.
// v1: validateOnly. v2: error messages. v3: same as v2. v4: -1 partitions or
// replication factor take the broker defaults. v5: flexible; the result carries
// partitions, replication factor and every config of the topic (value and source). v6: same as v5. v7: topic ids.
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
    handle(request, context) {
      const v = context.apiVersion;
      const validateOnly = v >= 1 && request.validateOnly === true;
      const seen = new Map<string, number>();
      for (const t of request.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      const results = request.topics.map((t): CreateTopicsResponse.CreatableTopicResult => {
        const fail = (errorCode: number, errorMessage: string): CreateTopicsResponse.CreatableTopicResult => ({
          name: t.name,
          topicId: ZERO_UUID,
          errorCode,
          errorMessage: v >= 1 ? errorMessage : null,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        });
        if ((seen.get(t.name) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST, `Create topics request from client ${context.header.clientId} contains multiple entries for the following topics: ${t.name}`);
        let partitions = t.numPartitions === -1 ? broker.config.numPartitions : t.numPartitions;
        let replicationFactor = t.replicationFactor === -1 ? broker.config.defaultReplicationFactor : t.replicationFactor;
        if (t.assignments.length > 0) {
          if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
            return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
          }
          const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
          if (indexes.some((p, i) => p !== i)) return fail(ErrorCode.INVALID_REQUEST, 'Partitions should be a consecutive 0-based integer sequence');
          if (t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.self.nodeId)) {
            return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replica assignments must name this broker (${broker.self.nodeId}) once per partition.`);
          }
          partitions = indexes.length;
          replicationFactor = 1;
        }
        const requested: Record<string, string | null> = {};
        for (const c of t.configs) requested[c.name] = c.value;
        // The same validation as AlterConfigs: unknown names, types, ranges, valid values.
        const invalid = broker.configs.validateTopicConfigs(requested);
        if (invalid.errorCode !== ErrorCode.NONE) return fail(invalid.errorCode, invalid.errorMessage ?? 'Invalid config');
        const configs = requested as Record<string, string>;
        const created = broker.metadata.createTopic(t.name, partitions, replicationFactor, configs, validateOnly);
        if (!created.ok) return fail(created.errorCode, created.message);
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
      });
      return { throttleTimeMs: 0, topics: results };
    },
  };
}
