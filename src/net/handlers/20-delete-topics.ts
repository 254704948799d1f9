// DeleteTopics (key 20), versions 1-6 (Kafka 4.0 removed v0).
// v1: throttle time. v2: same. v3: TOPIC_DELETION_DISABLED replaces
// INVALID_REQUEST when delete.topic.enable is false. v4: flexible. v5: error
// messages. v6: topics named by name or by id (name null), ids in the answer.
//
// Checks and answers follow Kafka's controller: duplicates and name-plus-id
// entries are INVALID_REQUEST, unknown names UNKNOWN_TOPIC_OR_PARTITION,
// unknown ids UNKNOWN_TOPIC_ID; a timeout of 0 or less has expired before the
// work starts (REQUEST_TIMED_OUT for every topic, nothing deleted). Answered
// once the topics are out of metadata and their directories renamed.
// Internal topics (__consumer_offsets) are refused with INVALID_TOPIC_EXCEPTION.
import { canonicalUuidToKafka, isInternalTopic, kafkaUuidToCanonical } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type DeleteTopicsRequest, type DeleteTopicsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

type Result = DeleteTopicsResponse.DeletableTopicResult;

const UNKNOWN_TOPIC_MESSAGE = 'This server does not host this topic-partition.';
const UNKNOWN_TOPIC_ID_MESSAGE = 'This server does not host this topic ID.';

export function deleteTopicsHandler(broker: BrokerServices): ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> {
  return {
    apiKey: ApiKey.DeleteTopics,
    minVersion: 1,
    maxVersion: 6,
    async handle(request, context) {
      const v = context.apiVersion;
      const entries: DeleteTopicsRequest.DeleteTopicState[] =
        v >= 6 ? (request.topics ?? []) : (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
      const result = (name: string | null, topicId: string, errorCode: number, errorMessage: string | null = null): Result => ({
        name,
        topicId,
        errorCode,
        errorMessage,
      });
      const everyEntry = (errorCode: number): DeleteTopicsResponse => ({
        throttleTimeMs: 0,
        responses: entries.map((e) => result(e.name, e.topicId, errorCode)),
      });
      if (!broker.config.deleteTopicEnable) return everyEntry(v < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED);
      if (request.timeoutMs <= 0) return everyEntry(ErrorCode.REQUEST_TIMED_OUT);

      const responses: Result[] = [];
      const names = new Set<string>();
      const duplicateNames = new Set<string>();
      const ids = new Set<string>();
      const duplicateIds = new Set<string>();
      const addName = (name: string) => {
        if (duplicateNames.has(name) || names.has(name)) {
          duplicateNames.add(name);
          names.delete(name);
        } else {
          names.add(name);
        }
      };
      for (const entry of entries) {
        if (entry.name === null) {
          if (entry.topicId === ZERO_UUID) {
            responses.push(result(null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.'));
          } else if (duplicateIds.has(entry.topicId) || ids.has(entry.topicId)) {
            duplicateIds.add(entry.topicId);
            ids.delete(entry.topicId);
          } else {
            ids.add(entry.topicId);
          }
        } else if (entry.topicId === ZERO_UUID) {
          addName(entry.name);
        } else {
          responses.push(result(entry.name, entry.topicId, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'));
        }
      }
      for (const name of duplicateNames) responses.push(result(name, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      for (const id of duplicateIds) responses.push(result(null, id, ErrorCode.INVALID_REQUEST, 'Duplicate topic id.'));

      // Canonical topic id -> name of every topic to delete.
      const toDelete = new Map<string, string>();
      for (const id of ids) {
        const topic = broker.metadata.topicById(canonicalUuidToKafka(id));
        if (topic) toDelete.set(id, topic.name);
        else responses.push(result(null, id, ErrorCode.UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_ID_MESSAGE));
      }
      for (const name of names) {
        const topic = broker.metadata.topic(name);
        if (!topic) {
          responses.push(result(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_MESSAGE));
          continue;
        }
        const id = kafkaUuidToCanonical(topic.topicId);
        if (duplicateIds.has(id) || toDelete.has(id)) {
          duplicateIds.add(id);
          toDelete.delete(id);
          responses.push(result(name, id, ErrorCode.INVALID_REQUEST, 'The provided topic name maps to an ID that was already supplied.'));
          continue;
        }
        toDelete.set(id, name);
      }

      // Each deletion's metadata change and renames happen when it is called;
      // closing the old logs is what is awaited.
      const deletions = [...toDelete].map(async ([id, name]): Promise<Result> => {
        // Kafka 4.0's controller would delete it (only its TopicCommand refuses); here the
        // group coordinator holds its logs open, so the broker refuses, in TopicCommand's words.
        if (isInternalTopic(name)) {
          return result(name, id, ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic ${name} is a kafka internal topic and is not allowed to be marked for deletion.`);
        }
        try {
          const deleted = await broker.deleteTopic(name);
          if (deleted.ok) return result(name, id, ErrorCode.NONE);
          return result(name, id, deleted.errorCode, deleted.message);
        } catch (err) {
          return result(name, id, ErrorCode.KAFKA_STORAGE_ERROR, `Deleting the partition directories failed: ${(err as Error).message}`);
        }
      });
      responses.push(...(await Promise.all(deletions)));
      return { throttleTimeMs: 0, responses };
    },
  };
}
