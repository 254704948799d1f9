import { describe, expect, it } from 'vitest';
import type { OffsetAndMetadata } from '../src/coordinator/coordinator-store.js';
import { classicExpirationBase, consumerGroupExpirationBase, findExpiredOffsets, type ClassicRetentionView } from '../src/coordinator/offsets-retention.js';

const DAY = 86_400_000;
const RETENTION = 7 * DAY;
const at = (commitTimestampMs: number, expireTimestampMs: number | null = null): OffsetAndMetadata => ({ offset: 1n, leaderEpoch: -1, metadata: '', commitTimestampMs, expireTimestampMs });
const offsets = (entries: Record<string, Record<number, OffsetAndMetadata>>) =>
  new Map(Object.entries(entries).map(([topic, ps]) => [topic, new Map(Object.entries(ps).map(([p, o]) => [Number(p), o]))]));
const classic = (view: Partial<ClassicRetentionView>): ClassicRetentionView => ({ protocolType: 'consumer', state: 'Empty', currentStateTimestampMs: -1, knowsSubscribedTopics: false, ...view });
const none = () => false;

describe('offset retention (Kafka 2.1+ semantics)', () => {
  it('counts from when a classic group became Empty, not from the commit', () => {
    const base = classicExpirationBase(classic({ currentStateTimestampMs: 10 * DAY }));
    const committed = offsets({ t: { 0: at(0) } });
    expect(findExpiredOffsets(committed, base, none, 10 * DAY + RETENTION - 1, RETENTION)).toEqual({ expired: [], allExpired: false });
    expect(findExpiredOffsets(committed, base, none, 10 * DAY + RETENTION, RETENTION)).toEqual({ expired: [{ topic: 't', partition: 0 }], allExpired: true });
  });

  it('counts from the commit for a group loaded without a state timestamp, for simple consumers and for KIP-848 groups', () => {
    for (const base of [classicExpirationBase(classic({})), classicExpirationBase(classic({ protocolType: null })), classicExpirationBase(classic({ protocolType: '' })), consumerGroupExpirationBase()]) {
      const committed = offsets({ t: { 0: at(DAY), 1: at(3 * DAY) } });
      expect(findExpiredOffsets(committed, base, none, DAY + RETENTION, RETENTION)).toEqual({ expired: [{ topic: 't', partition: 0 }], allExpired: false });
    }
  });

  it('keeps every offset of a classic group with members, except a Stable consumer group\'s unsubscribed topics', () => {
    const committed = offsets({ t: { 0: at(0) }, old: { 0: at(0) } });
    for (const state of ['PreparingRebalance', 'CompletingRebalance', 'Stable']) {
      expect(findExpiredOffsets(committed, classicExpirationBase(classic({ state })), none, 100 * DAY, RETENTION)).toEqual({ expired: [], allExpired: false });
    }
    const stable = classicExpirationBase(classic({ state: 'Stable', knowsSubscribedTopics: true }));
    expect(findExpiredOffsets(committed, stable, (topic) => topic === 't', 100 * DAY, RETENTION)).toEqual({ expired: [{ topic: 'old', partition: 0 }], allExpired: false });
  });

  it('honours an explicit expire timestamp (OffsetCommit v1-v4 retention) over the broker\'s retention', () => {
    const base = classicExpirationBase(classic({ currentStateTimestampMs: 0 }));
    const committed = offsets({ t: { 0: at(0, 5000), 1: at(0, 100 * DAY) } });
    expect(findExpiredOffsets(committed, base, none, 5000, RETENTION)).toEqual({ expired: [{ topic: 't', partition: 0 }], allExpired: false });
    expect(findExpiredOffsets(committed, base, none, 50 * DAY, RETENTION).expired).toHaveLength(1);
  });

  it('treats a group without offsets as all expired, so an Empty one is deleted', () => {
    expect(findExpiredOffsets(new Map(), classicExpirationBase(classic({ state: 'Stable' })), none, 0, RETENTION)).toEqual({ expired: [], allExpired: true });
  });
});
