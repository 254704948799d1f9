// Metadata (key 3), versions 0-12, for a broker running alone.
// v0: topics (empty array = all). v1: null = all topics, controller id, rack,
// isInternal. v2: cluster id. v3: throttle time. v4: allowAutoTopicCreation.
// v5: offline replicas. v7: leader epoch. v8: authorized operations. v9:
// flexible. v10: topic ids. v11: drops cluster authorized operations. v12:
// topics may be asked for by id (name null).
import { CLUSTER_AUTHORIZED_OPERATIONS, OPERATIONS_OMITTED, TOPIC_AUTHORIZED_OPERATIONS } from '../../protocol/authorized-operations.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { kafkaUuidToCanonical, canonicalUuidToKafka, isInternalTopic, topicNameError, type TopicMetadata } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ApiKey, type MetadataRequest, type MetadataResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic-records.js';


export function metadataHandler(broker: BrokerServices): ApiHandler<MetadataRequest, MetadataResponse> {
  return {
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    handle(request, context) {
      // Naming __consumer_offsets before it exists creates it (Kafka's auto-creation of the
      // internal topic); its partitions are made over several turns, then this is answered.
      const createsOffsetsTopic =
        request.topics !== null &&
        request.topics.some((t) => t.name === OFFSETS_TOPIC) &&
        !broker.metadata.topic(OFFSETS_TOPIC) &&
        (context.apiVersion < 4 || request.allowAutoTopicCreation !== false) &&
        broker.config.autoCreateTopicsEnable;
      if (createsOffsetsTopic) {
        return broker.coordinatorStore.ensureTopicAsync().then(
          () => answer(request, context),
          // Answered below as not available; the store logged why.
          () => answer(request, context),
        );
      }
      return answer(request, context);
    },
  };

  function answer(request: MetadataRequest, context: { apiVersion: number }): MetadataResponse {
    const v = context.apiVersion;
    const self = broker.self;
    const allTopics = request.topics === null || (v === 0 && request.topics.length === 0);
    const allowAutoCreate = (v < 4 || request.allowAutoTopicCreation !== false) && broker.config.autoCreateTopicsEnable;
    const topics: MetadataResponse.MetadataResponseTopic[] = [];
    if (allTopics) {
      for (const t of broker.metadata.topics()) topics.push(describe(t, self.nodeId));
    } else {
      for (const wanted of request.topics ?? []) {
        if (wanted.name === null) {
          const byId = wanted.topicId && wanted.topicId !== ZERO_UUID ? broker.metadata.topicById(canonicalUuidToKafka(wanted.topicId)) : undefined;
          topics.push(byId ? describe(byId, self.nodeId) : missing(null, ErrorCode.UNKNOWN_TOPIC_ID, wanted.topicId));
          continue;
        }
        const existing = broker.metadata.topic(wanted.name);
        if (existing) {
          topics.push(describe(existing, self.nodeId));
          continue;
        }
        if (topicNameError(wanted.name)) {
          topics.push(missing(wanted.name, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        if (!allowAutoCreate) {
          topics.push(missing(wanted.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        if (wanted.name === OFFSETS_TOPIC) {
          // Kafka's auto-creation gives the offsets topic its own partition count and configs
          // (made by ensureTopicAsync before this answer; missing only when that failed).
          const offsetsTopic = broker.metadata.topic(OFFSETS_TOPIC);
          topics.push(offsetsTopic ? describe(offsetsTopic, self.nodeId) : missing(wanted.name, ErrorCode.COORDINATOR_NOT_AVAILABLE));
          continue;
        }
        const created = broker.metadata.createTopic(wanted.name, broker.config.numPartitions, 1, {});
        if (created.ok) {
          broker.materializeTopic(created.value);
          topics.push(describe(created.value, self.nodeId));
        } else {
          topics.push(missing(wanted.name, created.errorCode));
        }
      }
    }
    // v8+: what Kafka reports when asked and no authorizer is configured.
    if (request.includeTopicAuthorizedOperations === true) for (const t of topics) t.topicAuthorizedOperations = TOPIC_AUTHORIZED_OPERATIONS;
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: self.nodeId, host: self.host, port: self.port, rack: null }],
      clusterId: broker.metadata.clusterId,
      controllerId: self.nodeId,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations === true ? CLUSTER_AUTHORIZED_OPERATIONS : OPERATIONS_OMITTED,
    };
  }
}

function describe(topic: TopicMetadata, nodeId: number): MetadataResponse.MetadataResponseTopic {
  const partitions: MetadataResponse.MetadataResponsePartition[] = [];
  for (let p = 0; p < topic.partitionCount; p++) {
    partitions.push({ errorCode: 0, partitionIndex: p, leaderId: nodeId, leaderEpoch: 0, replicaNodes: [nodeId], isrNodes: [nodeId], offlineReplicas: [] });
  }
  return {
    errorCode: 0,
    name: topic.name,
    topicId: kafkaUuidToCanonical(topic.topicId),
    isInternal: isInternalTopic(topic.name),
    partitions,
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

function missing(name: string | null, errorCode: number, topicId = ZERO_UUID): MetadataResponse.MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED };
}
