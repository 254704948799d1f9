// InitProducerId (key 22), versions 0-5.
// v0: transactional id and transaction timeout in, producer id and epoch out.
// v1: same (throttling on quota violation). v2: flexible. v3: the request may
// carry the producer's current id and epoch (KIP-360). v4: the client can
// handle PRODUCER_FENCED. v5: transactions v2 (KIP-890); same fields.
//
// Idempotent producers (null transactional id) get a fresh producer id with
// epoch 0, as Kafka's TransactionCoordinator answers them: an id and epoch
// carried in a v3+ request are checked for consistency but not reused, because
// Kafka bumps a non-transactional producer's epoch on the client side
// (KIP-360) and only transactional ids keep their id across InitProducerId.
// Transactional ids need a transaction coordinator, which this broker does not
// have yet: they get COORDINATOR_NOT_AVAILABLE, the retriable answer Kafka
// gives while no coordinator can serve the id (clients retry until their
// max.block.ms and fail with a timeout, without corrupting anything).
// In a cluster ids come in blocks reserved in etcd; while none can be reserved
// (etcd unreachable) the answer is COORDINATOR_LOAD_IN_PROGRESS, retriable, as
// Kafka's broker answers while the controller has not handed it a block.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type InitProducerIdRequest, type InitProducerIdResponse } from '../../protocol/generated/index.js';
import type { ProducerIdSource } from '../../cluster/producer-id-manager.js';
import type { ApiHandler } from '../dispatcher.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;
/** transaction.max.timeout.ms default: 15 minutes. */
const TRANSACTION_TIMEOUT_MS_MAX = 900_000;

export function initProducerIdHandler(
  producerIds: ProducerIdSource,
  logger: { warn(m: string): void },
): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  const failed = (errorCode: number): InitProducerIdResponse => ({
    throttleTimeMs: 0,
    errorCode,
    producerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
  });
  return {
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    handle(request) {
      const producerId = request.producerId ?? NO_PRODUCER_ID;
      const producerEpoch = request.producerEpoch ?? NO_PRODUCER_EPOCH;
      // Kafka's KafkaApis: an id without an epoch (or the reverse) is malformed.
      if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return failed(ErrorCode.INVALID_REQUEST);
      const transactionalId = request.transactionalId;
      if (transactionalId === null) {
        try {
          const id = producerIds.generateProducerId();
          if (typeof id === 'bigint') return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
          return id.then(
            (producerId): InitProducerIdResponse => ({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 }),
            (err: Error) => {
              logger.warn(`InitProducerId: no producer id block from the cluster: ${err.message}`);
              return failed(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
            },
          );
        } catch (err) {
          logger.warn(`InitProducerId: could not reserve producer ids: ${(err as Error).message}`);
          return failed(ErrorCode.UNKNOWN_SERVER_ERROR);
        }
      }
      if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
      if (request.transactionTimeoutMs <= 0 || request.transactionTimeoutMs > TRANSACTION_TIMEOUT_MS_MAX) {
        return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      }
      return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    },
  };
}
