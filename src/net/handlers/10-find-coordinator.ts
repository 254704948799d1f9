// FindCoordinator (key 10), versions 0-5. v0: the group key only. Kafka 4.x
// still serves v0 although KIP-896 had deprecated it: librdkafka before 2.11
// (Debian's kcat and confluent-kafka) looks up a group coordinator only on a
// broker whose FindCoordinator range includes v0.
// v1: key type and error message. v2: same. v3: flexible. v4: batched
// coordinator keys (KIP-699), one result per key. v5: same as v4 (the
// transaction coordinator may answer TRANSACTION_ABORTABLE).
//
// One broker holds every partition of the offsets topic, so the group
// coordinator is always this broker (`broker.self`). Transactional ids need a
// transaction coordinator this broker does not have: COORDINATOR_NOT_AVAILABLE,
// the retriable answer, as Kafka gives while none can serve the key. The
// first group lookup creates __consumer_offsets, as in Kafka, and is answered
// once its partitions exist; the creation yields between partitions, so other
// connections are served meanwhile.
// In a cluster the coordinator of a group is the leader of its
// __consumer_offsets partition (COORDINATOR_NOT_AVAILABLE while it has none or
// the topic is being created). Not yet: moving a group's state when that
// leadership moves (see docs/configs.md, Cluster mode).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic-records.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

type Answer = Omit<FindCoordinatorResponse.Coordinator, 'key'>;

export function findCoordinatorHandler(broker: BrokerServices): ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> {
  const answer = (keyType: number, key: string, offsetsTopicReady: boolean): Answer => {
    const failed = (errorCode: number, errorMessage: string): Answer => ({ nodeId: -1, host: '', port: -1, errorCode, errorMessage });
    if (keyType === KEY_TYPE_GROUP) {
      if (!offsetsTopicReady) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
      if (!broker.metadata.clustered) return { nodeId: broker.self.nodeId, host: broker.self.host, port: broker.self.port, errorCode: ErrorCode.NONE, errorMessage: null };
      const topic = broker.metadata.topic(OFFSETS_TOPIC);
      const leader = topic?.partitions?.[broker.coordinatorStore.partitionFor(key)]?.leader ?? -1;
      const node = broker.metadata.brokers().find((b) => b.nodeId === leader);
      if (!node) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
      return { nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
    }
    if (keyType === KEY_TYPE_TRANSACTION) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
    return failed(ErrorCode.INVALID_REQUEST, `Unknown coordinator type: ${keyType}`);
  };
  const respond = (request: FindCoordinatorRequest, apiVersion: number, offsetsTopicReady: boolean): FindCoordinatorResponse => {
    const keyType = request.keyType ?? KEY_TYPE_GROUP;
    if (apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: (request.coordinatorKeys ?? []).map((key) => ({ key, ...answer(keyType, key, offsetsTopicReady) })) };
    }
    return { throttleTimeMs: 0, ...answer(keyType, request.key ?? '', offsetsTopicReady) };
  };
  return {
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const keyType = request.keyType ?? KEY_TYPE_GROUP;
      // Kafka creates __consumer_offsets on the first FindCoordinator for a group, so
      // the one-time cost of its partitions is not paid inside a JoinGroup or commit.
      if (keyType !== KEY_TYPE_GROUP || broker.metadata.topic(OFFSETS_TOPIC)) return respond(request, context.apiVersion, true);
      return broker.coordinatorStore.ensureTopicAsync().then(
        () => respond(request, context.apiVersion, true),
        () => respond(request, context.apiVersion, false),
      );
    },
  };
}
