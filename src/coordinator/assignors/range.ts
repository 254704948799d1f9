// The `range` server assignor (Kafka's RangeAssignor for the consumer
// protocol): topic by topic, the subscribers of the topic (in member id
// order) each get floor(P/N) partitions, and the first P mod N of them one
// more, in contiguous ranges. With co-partitioned topics (same partition
// count, same subscribers) partition i of every topic goes to the same
// member, which is what joins across topics need. Sticky as Kafka's: a member
// keeps its lowest current partitions of a topic up to its quota; the ranges
// are cut from what is left.
import { addPartition, existingSubscriptions, sortedMembers, type PartitionAssignor, type TopicPartitions } from './assignor.js';

export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  assign(members, partitionCounts) {
    const sorted = sortedMembers(members);
    const result = new Map<string, TopicPartitions>(sorted.map((m) => [m.memberId, new Map()]));
    const subscribers = new Map<string, string[]>();
    for (const m of sorted) {
      for (const t of existingSubscriptions(m, partitionCounts)) {
        let list = subscribers.get(t);
        if (!list) subscribers.set(t, (list = []));
        list.push(m.memberId);
      }
    }
    const byId = new Map(sorted.map((m) => [m.memberId, m]));
    for (const [topicId, memberIds] of [...subscribers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const count = partitionCounts.get(topicId)!;
      const minQuota = Math.floor(count / memberIds.length);
      let extras = count % memberIds.length;
      const sticky = new Set<number>();
      const unfilled: Array<{ memberId: string; remaining: number }> = [];
      for (const memberId of memberIds) {
        const owned = [...(byId.get(memberId)!.assignment.get(topicId) ?? [])].filter((p) => p >= 0 && p < count && !sticky.has(p)).sort((a, b) => a - b);
        const assignment = result.get(memberId)!;
        for (const p of owned.slice(0, minQuota)) {
          sticky.add(p);
          addPartition(assignment, topicId, p);
        }
        const remaining = minQuota - owned.length;
        if (remaining < 0 && extras > 0) {
          // Already above the minimum: keep one more as this member's extra partition.
          extras--;
          sticky.add(owned[minQuota]);
          addPartition(assignment, topicId, owned[minQuota]);
        } else {
          unfilled.push({ memberId, remaining });
        }
      }
      const unassigned: number[] = [];
      for (let p = 0; p < count; p++) if (!sticky.has(p)) unassigned.push(p);
      let next = 0;
      for (const { memberId, remaining } of unfilled) {
        let want = remaining;
        if (extras > 0) {
          want++;
          extras--;
        }
        for (; want > 0 && next < unassigned.length; want--) addPartition(result.get(memberId)!, topicId, unassigned[next++]);
      }
    }
    return result;
  },
};
