// The KIP-848 server assignors as pure functions: every subscribed partition
// goes to exactly one subscriber, sizes are balanced, current partitions stay
// where balance allows, and range keeps co-partitioned topics aligned.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssignmentMember, PartitionAssignor, TopicPartitions } from '../src/coordinator/assignors/assignor.js';
import { rangeAssignor } from '../src/coordinator/assignors/range.js';
import { uniformAssignor } from '../src/coordinator/assignors/uniform.js';

const T1 = '00000000-0000-0000-0000-000000000001';
const T2 = '00000000-0000-0000-0000-000000000002';
const T3 = '00000000-0000-0000-0000-000000000003';

function member(memberId: string, topics: string[], assignment: TopicPartitions = new Map()): AssignmentMember {
  return { memberId, subscribedTopicIds: new Set(topics), assignment };
}

function size(a: TopicPartitions | undefined): number {
  let n = 0;
  for (const s of a?.values() ?? []) n += s.size;
  return n;
}

function flat(a: TopicPartitions | undefined): string[] {
  const out: string[] = [];
  for (const [t, ps] of a ?? []) for (const p of ps) out.push(`${t}:${p}`);
  return out.sort();
}

/** Every partition of a subscribed topic assigned once, to a subscriber; nothing else assigned. */
function expectComplete(members: AssignmentMember[], counts: Map<string, number>, result: Map<string, TopicPartitions>): void {
  const owners = new Map<string, string>();
  for (const m of members) {
    for (const [t, ps] of result.get(m.memberId) ?? []) {
      expect(m.subscribedTopicIds.has(t)).toBe(true);
      for (const p of ps) {
        expect(p).toBeLessThan(counts.get(t)!);
        expect(owners.has(`${t}:${p}`)).toBe(false);
        owners.set(`${t}:${p}`, m.memberId);
      }
    }
  }
  for (const [t, count] of counts) {
    if (!members.some((m) => m.subscribedTopicIds.has(t))) continue;
    for (let p = 0; p < count; p++) expect(owners.has(`${t}:${p}`)).toBe(true);
  }
}

function rerun(assignor: PartitionAssignor, members: AssignmentMember[], counts: Map<string, number>, previous: Map<string, TopicPartitions>) {
  return assignor.assign(members.map((m) => member(m.memberId, [...m.subscribedTopicIds], previous.get(m.memberId) ?? new Map())), counts);
}

describe('uniform assignor', () => {
  it('splits 6 partitions 3/3, then moves only one partition from each to a third member', () => {
    const counts = new Map([[T1, 6]]);
    const two = uniformAssignor.assign([member('a', [T1]), member('b', [T1])], counts);
    expect(two.get('a')!.get(T1)!.size).toBe(3);
    expect(two.get('b')!.get(T1)!.size).toBe(3);
    const three = uniformAssignor.assign([member('a', [T1], two.get('a')), member('b', [T1], two.get('b')), member('c', [T1])], counts);
    for (const id of ['a', 'b']) {
      expect(size(three.get(id))).toBe(2);
      for (const p of three.get(id)!.get(T1)!) expect(two.get(id)!.get(T1)!.has(p)).toBe(true);
    }
    expect(size(three.get('c'))).toBe(2);
  });

  it('gives the extra partition to a member that already holds it rather than moving it', () => {
    const counts = new Map([[T1, 5]]);
    // b holds 3 of 5; balance allows 3/2, so b keeps all three.
    const result = uniformAssignor.assign(
      [member('a', [T1], new Map([[T1, new Set([0, 1])]])), member('b', [T1], new Map([[T1, new Set([2, 3, 4])]]))],
      counts,
    );
    expect(flat(result.get('a'))).toEqual([`${T1}:0`, `${T1}:1`]);
    expect(flat(result.get('b'))).toEqual([`${T1}:2`, `${T1}:3`, `${T1}:4`]);
  });

  it('drops partitions of topics a member no longer subscribes to, and of topics that no longer exist', () => {
    const counts = new Map([[T2, 2]]);
    const result = uniformAssignor.assign([member('a', [T1, T2], new Map([[T1, new Set([0])]]))], counts);
    expect(flat(result.get('a'))).toEqual([`${T2}:0`, `${T2}:1`]);
  });

  it('balances heterogeneous subscriptions: nothing can move to a subscriber two lighter', () => {
    const counts = new Map([[T1, 3], [T2, 3], [T3, 6]]);
    const members = [member('a', [T1]), member('b', [T1, T2, T3]), member('c', [T2, T3])];
    const result = uniformAssignor.assign(members, counts);
    expectComplete(members, counts, result);
    expect([size(result.get('a')), size(result.get('b')), size(result.get('c'))].sort()).toEqual([3, 4, 5]);
  });

  it('property: complete, balanced, and stable when run again on its own output', () => {
    const arb = fc.record({
      counts: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
      members: fc.array(fc.subarray([0, 1, 2], { minLength: 1 }), { minLength: 1, maxLength: 6 }),
      homogeneous: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ counts: c, members: subs, homogeneous }) => {
        const topics = [T1, T2, T3].slice(0, c.length);
        const counts = new Map(topics.map((t, i) => [t, c[i]]));
        const members = subs.map((s, i) => member(`m${i}`, homogeneous ? topics : s.filter((x) => x < topics.length).map((x) => topics[x])));
        const result = uniformAssignor.assign(members, counts);
        expectComplete(members, counts, result);
        for (const m of members) {
          for (const other of members) {
            // Kafka's balance: no partition of a topic both subscribe to could go to a member two lighter.
            if (size(result.get(m.memberId)) <= size(result.get(other.memberId)) + 1) continue;
            for (const t of result.get(m.memberId)!.keys()) expect(other.subscribedTopicIds.has(t)).toBe(false);
          }
        }
        const again = rerun(uniformAssignor, members, counts, result);
        for (const m of members) expect(flat(again.get(m.memberId))).toEqual(flat(result.get(m.memberId)));
      }),
    );
  });

  it('property: a joining member takes partitions only from members above the new quota', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 6 }), (partitions, memberCount) => {
        const counts = new Map([[T1, partitions]]);
        const members = Array.from({ length: memberCount }, (_, i) => member(`m${i}`, [T1]));
        const before = uniformAssignor.assign(members, counts);
        const joined = [...members.map((m) => member(m.memberId, [T1], before.get(m.memberId))), member('new', [T1])];
        const after = uniformAssignor.assign(joined, counts);
        let moved = 0;
        for (const m of members) {
          const kept = flat(after.get(m.memberId)).filter((k) => flat(before.get(m.memberId)).includes(k)).length;
          expect(kept).toBe(size(after.get(m.memberId)));
          moved += size(before.get(m.memberId)) - kept;
        }
        expect(moved).toBe(size(after.get('new')));
        expect(size(after.get('new'))).toBe(Math.floor(partitions / (memberCount + 1)));
      }),
    );
  });
});

describe('range assignor', () => {
  it('gives co-partitioned topics the same ranges', () => {
    const counts = new Map([[T1, 7], [T2, 7]]);
    const members = [member('b', [T1, T2]), member('a', [T1, T2]), member('c', [T1, T2])];
    const result = rangeAssignor.assign(members, counts);
    expect([...result.get('a')!.get(T1)!].sort()).toEqual([0, 1, 2]);
    expect([...result.get('b')!.get(T1)!].sort()).toEqual([3, 4]);
    expect([...result.get('c')!.get(T1)!].sort()).toEqual([5, 6]);
    for (const id of ['a', 'b', 'c']) expect([...result.get(id)!.get(T2)!].sort()).toEqual([...result.get(id)!.get(T1)!].sort());
  });

  it('keeps current partitions up to the quota', () => {
    const counts = new Map([[T1, 4]]);
    const result = rangeAssignor.assign([member('a', [T1], new Map([[T1, new Set([2, 3])]])), member('b', [T1])], counts);
    expect([...result.get('a')!.get(T1)!].sort()).toEqual([2, 3]);
    expect([...result.get('b')!.get(T1)!].sort()).toEqual([0, 1]);
  });

  it('property: complete, each subscriber within one of the per-topic quota, stable on its own output', () => {
    const arb = fc.record({
      counts: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
      members: fc.array(fc.subarray([0, 1, 2], { minLength: 1 }), { minLength: 1, maxLength: 6 }),
    });
    fc.assert(
      fc.property(arb, ({ counts: c, members: subs }) => {
        const topics = [T1, T2, T3].slice(0, c.length);
        const counts = new Map(topics.map((t, i) => [t, c[i]]));
        const members = subs.map((s, i) => member(`m${i}`, s.filter((x) => x < topics.length).map((x) => topics[x])));
        const result = rangeAssignor.assign(members, counts);
        expectComplete(members, counts, result);
        for (const t of topics) {
          const subscribers = members.filter((m) => m.subscribedTopicIds.has(t));
          const sizes = subscribers.map((m) => result.get(m.memberId)!.get(t)?.size ?? 0);
          if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        }
        const again = rerun(rangeAssignor, members, counts, result);
        for (const m of members) expect(flat(again.get(m.memberId))).toEqual(flat(result.get(m.memberId)));
      }),
    );
  });
});
