// The `uniform` server assignor (Kafka's UniformAssignor): spreads partitions
// evenly over members, keeping each member's current partitions where that
// does not break the balance. Balance first, stickiness second.
//
// Homogeneous groups (every member subscribes to the same existing topics)
// take the quota path: each member may keep up to floor(P/M) partitions, and
// P mod M members may keep one more; the rest are handed out to members under
// their quota. Sizes then differ by at most one. Unlike Kafka, the extra
// slots go first to members that already hold more than the minimum, so a
// member never gives up a partition only to have another member receive it
// as its extra one.
//
// Heterogeneous groups take the general path: keep every current partition
// still subscribed, give each unassigned partition to its least-loaded
// subscriber, then move partitions from a member to a subscriber of the same
// topic holding at least two fewer until no such move exists (Kafka's
// isBalanced criterion). Each move lowers the sum of squared sizes, so the
// loop ends.
import { PartitionAssignorError, addPartition, existingSubscriptions, sortedMembers, type AssignmentMember, type PartitionAssignor, type TopicPartitions } from './assignor.js';

export const uniformAssignor: PartitionAssignor = {
  name: 'uniform',
  assign(members, partitionCounts) {
    const sorted = sortedMembers(members);
    if (sorted.length === 0) return new Map();
    const subscriptions = sorted.map((m) => existingSubscriptions(m, partitionCounts));
    const first = subscriptions[0].join(',');
    const homogeneous = subscriptions.every((s) => s.join(',') === first);
    return homogeneous ? assignHomogeneous(sorted, subscriptions[0], partitionCounts) : assignHeterogeneous(sorted, subscriptions, partitionCounts);
  },
};

function assignHomogeneous(members: AssignmentMember[], topics: string[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitions> {
  const result = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, new Map()]));
  if (topics.length === 0) return result;
  let total = 0;
  for (const t of topics) total += partitionCounts.get(t)!;
  const minQuota = Math.floor(total / members.length);
  let extras = total % members.length;

  // What each member may keep: its current partitions of subscribed topics, each claimed once.
  const claimed = new Set<string>();
  const retained = new Map<string, Array<[string, number]>>();
  for (const m of members) {
    const keep: Array<[string, number]> = [];
    for (const t of topics) {
      const count = partitionCounts.get(t)!;
      const owned = m.assignment.get(t);
      if (!owned) continue;
      for (const p of [...owned].sort((a, b) => a - b)) {
        const key = `${t}:${p}`;
        if (p < 0 || p >= count || claimed.has(key)) continue;
        claimed.add(key);
        keep.push([t, p]);
      }
    }
    retained.set(m.memberId, keep);
  }
  const quota = new Map<string, number>(members.map((m) => [m.memberId, minQuota]));
  const byRetained = [...members].sort((a, b) => retained.get(b.memberId)!.length - retained.get(a.memberId)!.length);
  for (const m of byRetained) {
    if (extras === 0) break;
    quota.set(m.memberId, minQuota + 1);
    extras--;
  }

  const kept = new Set<string>();
  for (const m of members) {
    const assignment = result.get(m.memberId)!;
    const keep = retained.get(m.memberId)!.slice(0, quota.get(m.memberId)!);
    for (const [t, p] of keep) {
      addPartition(assignment, t, p);
      kept.add(`${t}:${p}`);
    }
  }
  const unassigned: Array<[string, number]> = [];
  for (const t of topics) {
    for (let p = 0; p < partitionCounts.get(t)!; p++) if (!kept.has(`${t}:${p}`)) unassigned.push([t, p]);
  }
  let next = 0;
  for (const m of members) {
    const assignment = result.get(m.memberId)!;
    let missing = quota.get(m.memberId)! - Math.min(retained.get(m.memberId)!.length, quota.get(m.memberId)!);
    while (missing > 0 && next < unassigned.length) {
      const [t, p] = unassigned[next++];
      addPartition(assignment, t, p);
      missing--;
    }
  }
  if (next < unassigned.length) throw new PartitionAssignorError('Partitions were left unassigned');
  return result;
}

function assignHeterogeneous(members: AssignmentMember[], subscriptions: string[][], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitions> {
  const subscribers = new Map<string, string[]>();
  members.forEach((m, i) => {
    for (const t of subscriptions[i]) {
      let list = subscribers.get(t);
      if (!list) subscribers.set(t, (list = []));
      list.push(m.memberId);
    }
  });
  const owner = new Map<string, string>();
  const sizes = new Map<string, number>(members.map((m) => [m.memberId, 0]));
  const give = (key: string, memberId: string) => {
    const previous = owner.get(key);
    if (previous !== undefined) sizes.set(previous, sizes.get(previous)! - 1);
    owner.set(key, memberId);
    sizes.set(memberId, sizes.get(memberId)! + 1);
  };

  // 1. Keep what is still subscribed, each partition once.
  members.forEach((m, i) => {
    const subscribed = new Set(subscriptions[i]);
    for (const [t, owned] of [...m.assignment].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!subscribed.has(t)) continue;
      const count = partitionCounts.get(t)!;
      for (const p of [...owned].sort((a, b) => a - b)) {
        const key = `${t}:${p}`;
        if (p >= 0 && p < count && !owner.has(key)) give(key, m.memberId);
      }
    }
  });

  // 2. Unassigned partitions to their least-loaded subscriber. Topics with many
  // partitions per subscriber go first, then those with few subscribers, as
  // Kafka orders them: they have the fewest places to go.
  const topics = [...subscribers.keys()].sort((a, b) => {
    const ra = partitionCounts.get(a)! / subscribers.get(a)!.length;
    const rb = partitionCounts.get(b)! / subscribers.get(b)!.length;
    if (ra !== rb) return rb - ra;
    const sa = subscribers.get(a)!.length;
    const sb = subscribers.get(b)!.length;
    if (sa !== sb) return sa - sb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const leastLoaded = (topicId: string) => {
    let best: string | null = null;
    for (const id of subscribers.get(topicId)!) if (best === null || sizes.get(id)! < sizes.get(best)!) best = id;
    return best!;
  };
  for (const t of topics) {
    for (let p = 0; p < partitionCounts.get(t)!; p++) {
      const key = `${t}:${p}`;
      if (!owner.has(key)) give(key, leastLoaded(t));
    }
  }

  // 3. Move partitions towards members at least two lighter until none can move.
  for (let moved = true; moved; ) {
    moved = false;
    for (const t of topics) {
      if (subscribers.get(t)!.length < 2) continue;
      for (let p = 0; p < partitionCounts.get(t)!; p++) {
        const key = `${t}:${p}`;
        const from = owner.get(key)!;
        const to = leastLoaded(t);
        if (sizes.get(from)! > sizes.get(to)! + 1) {
          give(key, to);
          moved = true;
        }
      }
    }
  }

  const result = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, new Map()]));
  for (const t of topics) {
    for (let p = 0; p < partitionCounts.get(t)!; p++) addPartition(result.get(owner.get(`${t}:${p}`)!)!, t, p);
  }
  return result;
}
