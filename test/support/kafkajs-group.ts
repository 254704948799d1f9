// A kafkajs consumer-group member as the group tests run it, in the test's
// process or in a child (test/support/kafkajs-group-child.ts) that a test
// SIGKILLs. Commits are synchronous: each batch's next offset is committed
// before the batch counts as consumed, so a member that goes through a
// rebalance alive neither loses nor repeats a record.
import type { Consumer, Kafka } from 'kafkajs';
import type { ConsumedRecord } from './groups.js';

export interface MemberOptions {
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface MemberEvents {
  /** A generation's assignment: partitions of `topic`. */
  joined(partitions: number[], memberId: string): void;
  /** About to commit the offset after `records` (a crash from here on may or may not leave them committed). */
  committing(partition: number, records: ConsumedRecord[]): void;
  /** The records are committed. */
  consumed(partition: number, records: ConsumedRecord[]): void;
}

export async function startKafkajsMember(kafka: Kafka, options: MemberOptions, events: MemberEvents): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    // A member that lags in rejoining holds up the others for this long at most.
    rebalanceTimeout: Math.max(options.sessionTimeoutMs, 10_000),
    heartbeatInterval: options.heartbeatIntervalMs,
    // kafkajs heartbeats between fetches: a short wait keeps it heartbeating on an idle topic.
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = (e.payload.memberAssignment as Record<string, number[]>)[options.topic] ?? [];
    events.joined([...assigned].sort((a, b) => a - b), e.payload.memberId);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, commitOffsetsIfNecessary, resolveOffset, isRunning }) => {
      if (batch.isEmpty() || !isRunning()) return;
      const records: ConsumedRecord[] = batch.messages.map((m) => ({
        offset: Number(m.offset),
        key: m.key?.toString() ?? '',
        value: m.value?.toString() ?? '',
        headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? ''])),
      }));
      const last = records[records.length - 1].offset;
      events.committing(batch.partition, records);
      // Throws on a failed commit (e.g. ILLEGAL_GENERATION after a rebalance): kafkajs rejoins and fetches from the committed offset again.
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(last + 1) }] }] });
      // The next fetch starts after the last resolved offset (without it kafkajs fetches this batch again).
      resolveOffset(String(last));
      events.consumed(batch.partition, records);
    },
  });
  return consumer;
}
