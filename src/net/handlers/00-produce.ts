// Produce (key 0), versions 3-11 (magic 2 batches; Kafka 4.0's minimum is 3).
// v3: transactional id, RecordBatch v2 only. v5: log start offset in the
// response. v8: record errors and an error message. v9: flexible. v10: current
// leader and node endpoints (tagged, for NOT_LEADER_OR_FOLLOWER). v11: same.
// Record bytes stay a view of the request frame; the log validates, assigns
// offsets in place and writes them with one native call per partition.
// Before that, Kafka's checks of the records field (src/net/produce-records.ts):
// exactly one complete batch, magic 2, baseOffset 0, no zstd before v7.
// Idempotent batches are checked against the partition's producer state by the
// log: a retried batch gets its original base offset and is not appended
// again; sequence gaps and stale epochs get OUT_OF_ORDER_SEQUENCE_NUMBER /
// INVALID_PRODUCER_EPOCH; transactional batches get INVALID_TXN_STATE (no
// transaction coordinator yet). Internal topics (__consumer_offsets) refuse
// clients' appends with INVALID_TOPIC_EXCEPTION, as Kafka's ReplicaManager does.
// In a cluster only the partition's leader appends (NOT_LEADER_OR_FOLLOWER
// elsewhere, the client then refreshes metadata); acks=-1 is checked against
// the partition's ISR size, which is the leader alone until followers
// replicate, and answered after the leader's append (acks=1 semantics).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type ProduceRequest, type ProduceResponse } from '../../protocol/generated/index.js';
import { RecordValidationError, StorageError } from '../../storage/errors.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';
import { produceRecordsProblem } from '../produce-records.js';
import { isInternalTopic } from '../../cluster/local-metadata.js';



export function produceHandler(broker: BrokerServices, logger: { warn(m: string): void }): ApiHandler<ProduceRequest, ProduceResponse> {
  return {
    apiKey: ApiKey.Produce,
    minVersion: 3,
    maxVersion: 11,
    async handle(request, context) {
      const acksValid = request.acks === -1 || request.acks === 0 || request.acks === 1;
      const flushes: Promise<void>[] = [];
      const responses = request.topicData.map((topic): ProduceResponse.TopicProduceResponse => {
        const meta = broker.metadata.topic(topic.name);
        // acks=-1 needs min.insync.replicas in the partition's ISR.
        const minIsr = request.acks === -1 && meta ? broker.configs.minInsyncReplicas(meta.name) : 1;
        return {
          name: topic.name,
          partitionResponses: topic.partitionData.map((p): ProduceResponse.PartitionProduceResponse => {
            const result = (errorCode: number, errorMessage: string | null = null, baseOffset = -1n, logAppendTimeMs = -1n, logStartOffset = -1n) => ({
              index: p.index,
              errorCode,
              baseOffset,
              logAppendTimeMs,
              logStartOffset,
              recordErrors: [],
              errorMessage,
            });
            const inRange = meta !== undefined && p.index >= 0 && p.index < meta.partitionCount;
            const notLeader = inRange ? broker.replicas.leaderError(meta, p.index) : ErrorCode.NONE;
            if (notLeader !== ErrorCode.NONE) return result(notLeader, `Leader not local for partition ${topic.name}-${p.index} on broker ${broker.self.nodeId}`);
            const log = inRange ? broker.logs.getLog(topic.name, p.index) : undefined;
            if (!log) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
            const isr = broker.replicas.state(meta!, p.index)?.isr ?? [broker.self.nodeId];
            // Kafka's order: unknown partition, then the records' shape, then acks.
            const problem = produceRecordsProblem(p.records, context.apiVersion);
            if (problem) return result(problem.errorCode, problem.message);
            if (!acksValid) return result(ErrorCode.INVALID_REQUIRED_ACKS);
            // Only the group coordinator writes __consumer_offsets (Kafka: ReplicaManager, no custom message).
            if (isInternalTopic(topic.name)) return result(ErrorCode.INVALID_TOPIC_EXCEPTION);
            if (minIsr > isr.length) {
              return result(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                `The size of the current ISR : ${isr.length} is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${topic.name}-${p.index}, live replica(s) broker.id are : Set(${isr.join(', ')})`,
              );
            }
            if (p.records === null) throw new Error('unreachable: null records passed the records check');
            try {
              const appended = log.append(p.records, 0, p.records.length);
              if (appended.flushed) flushes.push(appended.flushed);
              return result(0, null, BigInt(appended.firstOffset), BigInt(appended.logAppendTimeMs), BigInt(appended.logStartOffset));
            } catch (err) {
              if (err instanceof RecordValidationError) {
                return { ...result(err.kafkaCode, err.message), recordErrors: err.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message })) };
              }
              if (err instanceof StorageError) return result(err.kafkaCode, err.message);
              logger.warn(`produce to ${topic.name}-${p.index} failed: ${(err as Error).stack ?? err}`);
              return result(ErrorCode.UNKNOWN_SERVER_ERROR, 'Unexpected error');
            }
          }),
        };
      });
      // flush.messages: an acknowledged append is durable before the answer.
      if (request.acks !== 0) await Promise.all(flushes);
      if (request.acks === 0) return null;
      return { responses, throttleTimeMs: 0 };
    },
  };
}
