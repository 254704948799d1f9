// Which committed offsets have expired (offsets.retention.minutes), as Kafka
// 4.0's OffsetMetadataManager.cleanupExpiredOffsets decides it, run every
// offsets.retention.check.interval.ms by the coordinator.
//
// Per group, an "expiration condition" names the time retention counts from:
// - classic group, Empty, with a protocol type: from when the group became
//   Empty (its current state timestamp; from the commit for groups loaded
//   from metadata too old to carry one) — Kafka 2.1+ semantics (KIP-211);
// - classic group with members: only a Stable "consumer" group that knows its
//   subscribed topics, from the commit, and only for topics it is not
//   subscribed to; otherwise nothing expires;
// - classic group without a protocol type (offsets committed by "simple"
//   consumers with generation -1): from the commit;
// - KIP-848 consumer group: from the commit.
// An offset committed with an explicit retention (OffsetCommit v1-v4, stored
// as an expire timestamp) expires at that timestamp instead. Offsets of topics
// the group is subscribed to never expire. When every offset of a group has
// expired, an Empty group is deleted too (its GroupMetadata tombstone).

import type { OffsetAndMetadata } from './coordinator-store.js';

/** The time retention counts from for one offset, or null when the group's offsets cannot expire now. */
export type ExpirationBase = ((offset: OffsetAndMetadata) => number) | null;

export interface ClassicRetentionView {
  /** null for a group only "simple" consumers committed to. */
  protocolType: string | null;
  /** Kafka's state name: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  /** When the group entered its state; -1 when unknown (loaded from GroupMetadataValue v0/v1). */
  currentStateTimestampMs: number;
  /** Whether the group knows the topics its members subscribe to (a Stable group of protocol type "consumer"). */
  knowsSubscribedTopics: boolean;
}

const byCommit = (offset: OffsetAndMetadata) => offset.commitTimestampMs;

/** Kafka's ClassicGroup.offsetExpirationCondition. */
export function classicExpirationBase(group: ClassicRetentionView): ExpirationBase {
  // '' is how a group record stores "no protocol type" (Kafka reads it back as none).
  if (group.protocolType === null || group.protocolType === '') return byCommit;
  if (group.state === 'Empty') {
    const since = group.currentStateTimestampMs;
    return since >= 0 ? () => since : byCommit;
  }
  if (group.protocolType === 'consumer' && group.knowsSubscribedTopics && group.state === 'Stable') return byCommit;
  return null;
}

/** Kafka's ConsumerGroup (KIP-848) condition: always from the commit. */
export function consumerGroupExpirationBase(): ExpirationBase {
  return byCommit;
}

export function isOffsetExpired(offset: OffsetAndMetadata, base: (offset: OffsetAndMetadata) => number, nowMs: number, retentionMs: number): boolean {
  if (offset.expireTimestampMs !== null) return nowMs >= offset.expireTimestampMs;
  return nowMs - base(offset) >= retentionMs;
}

export interface ExpiredOffsets {
  /** Topic-partitions whose offsets expired (tombstones to write). */
  expired: Array<{ topic: string; partition: number }>;
  /** Whether no offset of the group is left afterwards (the group may then go too). */
  allExpired: boolean;
}

/** The expired offsets of one group (group -> topic -> partition -> offset). */
export function findExpiredOffsets(
  offsetsByTopic: ReadonlyMap<string, ReadonlyMap<number, OffsetAndMetadata>>,
  base: ExpirationBase,
  isSubscribedToTopic: (topic: string) => boolean,
  nowMs: number,
  retentionMs: number,
): ExpiredOffsets {
  // A group without offsets counts as all expired (an Empty one is then deleted); one whose offsets cannot expire now does not.
  if (base === null) return { expired: [], allExpired: offsetsByTopic.size === 0 };
  const expired: ExpiredOffsets['expired'] = [];
  let allExpired = true;
  for (const [topic, partitions] of offsetsByTopic) {
    if (isSubscribedToTopic(topic)) {
      allExpired = false;
      continue;
    }
    for (const [partition, offset] of partitions) {
      if (isOffsetExpired(offset, base, nowMs, retentionMs)) expired.push({ topic, partition });
      else allExpired = false;
    }
  }
  return { expired, allExpired };
}
