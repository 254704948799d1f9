// Topic deletion across metadata and partition logs, and the start-up pass
// that makes the two agree again after a crash.
//
// Deletion order (each step durable before the next):
//   1. metadata: the topic leaves the topic list and is recorded as deleted;
//   2. logs: every partition directory is renamed `<topic>-<p>.<uuid>-delete`
//      and the offset checkpoints are rewritten without it;
//   3. metadata: the deletion record goes.
// Steps 1 and 2 happen in one synchronous stretch, so no request can create
// the same name in between and pick up the old directories. A crash after
// step 1 leaves the record; start-up then finishes step 2 for the directories
// whose partition.metadata names the deleted topic id. A deleted topic never
// comes back, and a new topic of the same name starts empty with a new id.
import {
  readPartitionMetadata,
  writePartitionMetadata,
  type LocalMetadata,
  type MetadataResult,
  type TopicMetadata,
} from '../cluster/local-metadata.js';
import type { ClusterMetadata } from '../cluster/metadata.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogLogger } from '../storage/log.js';

/**
 * Deletes a topic: metadata and the renames of its partition directories at
 * once; the logs are closed and the directories removed after
 * file.delete.delay.ms.
 */
export async function deleteTopic(metadata: LocalMetadata, logs: LogManager, logger: LogLogger, name: string): Promise<MetadataResult<TopicMetadata>> {
  const deleted = metadata.deleteTopic(name);
  if (!deleted.ok) return deleted;
  const topic = deleted.value;
  const partitions = logs.allLogs().filter((log) => log.topic === topic.name).map((log) => [log.topic, log.partition] as const);
  // Renames (and wakes fetches waiting on the logs) before returning; the directories go later.
  const renamed = logs.deleteLogs(partitions);
  metadata.finishDeletion(topic.topicId);
  // The broker's topic-change listener already logged the deletion at info.
  logger.debug?.(`partition directories of topic ${topic.name} (id ${topic.topicId}) set aside for deletion`);
  await renamed;
  return deleted;
}

/**
 * Start-up: finishes deletions cut short by a crash, sets aside logs of topics
 * metadata does not know (Kafka's stray logs: kept on disk, never served),
 * records topic ids missing from partition directories, and creates the logs
 * of partitions metadata has but the disk lacks.
 */
export async function reconcileTopicLogs(metadata: ClusterMetadata, logs: LogManager, logger: LogLogger, materialize: (topic: TopicMetadata) => void): Promise<void> {
  const pending = metadata.pendingDeletions();
  const doomed: Array<[string, number]> = [];
  const strays: Array<[string, number]> = [];
  for (const log of logs.allLogs()) {
    const live = metadata.topic(log.topic);
    const recordedId = readPartitionMetadata(log.dir);
    // A directory without an id was made just before a crash; it belongs to the
    // deleted topic unless a live topic now has the name.
    const wasDeleted = pending.some((t) => t.name === log.topic && (recordedId === t.topicId || (recordedId === null && live === undefined)));
    if (wasDeleted) {
      doomed.push([log.topic, log.partition]);
    } else if (live === undefined || (recordedId !== null && recordedId !== live.topicId) || log.partition >= live.partitionCount) {
      logger.warn(`${log.name}: no such partition in metadata (topic id ${recordedId ?? 'unknown'}); setting the directory aside as -stray`);
      strays.push([log.topic, log.partition]);
    } else if (recordedId === null) {
      writePartitionMetadata(log.dir, live.topicId);
    }
  }
  if (doomed.length > 0) logger.info(`finishing the deletion of ${doomed.length} partition directories`);
  // Nothing can be reading them yet: no need to wait out file.delete.delay.ms.
  await logs.deleteLogs(doomed, { removeAfterMs: 0 });
  await logs.setAsideLogs(strays);
  for (const t of pending) metadata.finishDeletion(t.topicId);
  for (const topic of metadata.topics()) materialize(topic);
}
