// Metadata (key 3), versions 0-12, from this broker's view of the cluster
// (a broker alone: itself, leading every partition).
// v0: topics (empty array = all). v1: null = all topics, controller id, rack,
// isInternal. v2: cluster id. v3: throttle time. v4: allowAutoTopicCreation.
// v5: offline replicas. v7: leader epoch. v8: authorized operations. v9:
// flexible. v10: topic ids. v11: drops cluster authorized operations. v12:
// topics may be asked for by id (name null).
// In a cluster: live brokers with racks, the controller, and per partition the
// leader (-1 and LEADER_NOT_AVAILABLE when offline), leader epoch, replicas,
// ISR and the replicas whose broker is not live (offline replicas).
import { CLUSTER_AUTHORIZED_OPERATIONS, OPERATIONS_OMITTED, TOPIC_AUTHORIZED_OPERATIONS } from '../../protocol/authorized-operations.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { kafkaUuidToCanonical, canonicalUuidToKafka, isInternalTopic, topicNameError, type TopicMetadata } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ApiKey, type MetadataRequest, type MetadataResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';
import { partitionState } from '../../cluster/metadata.js';
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

  async function answer(request: MetadataRequest, context: { apiVersion: number }): Promise<MetadataResponse> {
    const v = context.apiVersion;
    const self = broker.self;
    const brokers = broker.metadata.brokers();
    const live = new Set(brokers.map((b) => b.nodeId));
    const describe = (t: TopicMetadata) => describeTopic(t, self.nodeId, live);
    const allTopics = request.topics === null || (v === 0 && request.topics.length === 0);
    const allowAutoCreate = (v < 4 || request.allowAutoTopicCreation !== false) && broker.config.autoCreateTopicsEnable;
    const topics: MetadataResponse.MetadataResponseTopic[] = [];
    if (allTopics) {
      for (const t of broker.metadata.topics()) topics.push(describe(t));
    } else {
      for (const wanted of request.topics ?? []) {
        if (wanted.name === null) {
          const byId = wanted.topicId && wanted.topicId !== ZERO_UUID ? broker.metadata.topicById(canonicalUuidToKafka(wanted.topicId)) : undefined;
          topics.push(byId ? describe(byId) : missing(null, ErrorCode.UNKNOWN_TOPIC_ID, wanted.topicId));
          continue;
        }
        const existing = broker.metadata.topic(wanted.name);
        if (existing) {
          topics.push(describe(existing));
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
          topics.push(offsetsTopic ? describe(offsetsTopic) : missing(wanted.name, ErrorCode.COORDINATOR_NOT_AVAILABLE));
          continue;
        }
        // A cluster places default.replication.factor replicas (Kafka's auto-creation); a broker alone holds one.
        const replicationFactor = broker.metadata.clustered ? broker.config.defaultReplicationFactor : 1;
        const created = await broker.metadata.createTopic(wanted.name, broker.config.numPartitions, replicationFactor, {});
        if (created.ok) {
          broker.materializeTopic(created.value);
          topics.push(describe(created.value));
        } else {
          topics.push(missing(wanted.name, created.errorCode));
        }
      }
    }
    // v8+: what Kafka reports when asked and no authorizer is configured.
    if (request.includeTopicAuthorizedOperations === true) for (const t of topics) t.topicAuthorizedOperations = TOPIC_AUTHORIZED_OPERATIONS;
    return {
      throttleTimeMs: 0,
      brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: broker.metadata.clusterId,
      controllerId: broker.metadata.controllerId(),
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations === true ? CLUSTER_AUTHORIZED_OPERATIONS : OPERATIONS_OMITTED,
    };
  }
}

function describeTopic(topic: TopicMetadata, nodeId: number, live: ReadonlySet<number>): MetadataResponse.MetadataResponseTopic {
  const partitions: MetadataResponse.MetadataResponsePartition[] = [];
  for (let p = 0; p < topic.partitionCount; p++) {
    const state = partitionState(topic, p, nodeId)!;
    // As Kafka's metadata cache: an offline leader is LEADER_NOT_AVAILABLE; replicas of dead brokers are listed as offline.
    const leaderLive = state.leader >= 0 && (live.has(state.leader) || !topic.partitions);
    partitions.push({
      errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p,
      leaderId: leaderLive ? state.leader : -1,
      leaderEpoch: state.leaderEpoch,
      replicaNodes: state.replicas,
      isrNodes: state.isr,
      offlineReplicas: topic.partitions ? state.replicas.filter((r) => !live.has(r)) : [],
    });
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
