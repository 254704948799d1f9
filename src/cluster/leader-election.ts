// The controller's leadership rules for one topic, as Kafka's
// PartitionChangeBuilder applies them when brokers come and go:
//
// - A live leader stays; dead brokers leave the ISR (the leader never does).
// - A partition whose leader is dead (or that has none) gets the first replica,
//   in assignment order, that is alive and in the ISR; the leader epoch goes up.
// - No live ISR member: with unclean.leader.election.enable the first live
//   replica leads (its log may lack acknowledged records) and becomes the ISR;
//   without it the partition goes offline (leader -1, LEADER_NOT_AVAILABLE to
//   clients) and the ISR keeps its last members, so one of them leads again
//   when it returns and nothing acknowledged is lost.
//
// Until followers replicate (the next step of the cluster work), a new
// partition's ISR is its leader alone: failing over to a follower would serve
// an empty log, so a partition whose leader dies stays offline until it comes
// back (or an unclean election is allowed).
import type { PartitionState } from './metadata.js';

/** The partitions after the rules above, or null when none changes. */
export function electLeaders(partitions: readonly PartitionState[], live: ReadonlySet<number>, uncleanAllowed: boolean): PartitionState[] | null {
  let changed = false;
  const next = partitions.map((p) => {
    const updated = electLeader(p, live, uncleanAllowed);
    if (updated !== p) changed = true;
    return updated;
  });
  return changed ? next : null;
}

export function electLeader(p: PartitionState, live: ReadonlySet<number>, uncleanAllowed: boolean): PartitionState {
  if (p.leader >= 0 && live.has(p.leader)) {
    const isr = p.isr.filter((r) => r === p.leader || live.has(r));
    if (isr.length === p.isr.length) return p;
    return { ...p, isr, partitionEpoch: p.partitionEpoch + 1 };
  }
  const clean = p.replicas.find((r) => live.has(r) && p.isr.includes(r));
  if (clean !== undefined) {
    return { ...p, leader: clean, leaderEpoch: p.leaderEpoch + 1, isr: p.isr.filter((r) => live.has(r)), partitionEpoch: p.partitionEpoch + 1 };
  }
  if (uncleanAllowed) {
    const unclean = p.replicas.find((r) => live.has(r));
    if (unclean !== undefined) return { ...p, leader: unclean, leaderEpoch: p.leaderEpoch + 1, isr: [unclean], partitionEpoch: p.partitionEpoch + 1 };
  }
  if (p.leader === -1) return p;
  // Offline: the ISR keeps the members that were in sync when the last one died.
  return { ...p, leader: -1, leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
}
