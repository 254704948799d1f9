// What a KIP-848 server-side assignor sees and returns. An assignor is a pure
// function: the group's members (each with its subscription, already resolved
// to topic ids that exist, and its current target assignment) and the
// partition counts of those topics in, the new target assignment out. It never
// reads the clock or the group; the consumer group turns its output into
// records and reconciles members towards it (src/coordinator/consumer-group.ts).
//
// Topic ids are the wire form (canonical 8-4-4-4-12 hex) so assignments go
// into ConsumerGroupHeartbeat responses and records without conversion.

/** topic id → partition numbers. */
export type TopicPartitions = Map<string, Set<number>>;

export interface AssignmentMember {
  memberId: string;
  /** Topic ids the member subscribes to; ids missing from the topic metadata are ignored. */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's current target assignment (the assignor's previous output for it). */
  assignment: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface PartitionAssignor {
  /** The name clients pick with ConsumerGroupHeartbeat's server_assignor (`uniform`, `range`). */
  readonly name: string;
  /**
   * The target assignment of every member (members that get nothing map to an
   * empty assignment). `partitionCounts` holds every topic any member
   * subscribes to that exists: topic id → partition count.
   */
  assign(members: readonly AssignmentMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitions>;
}

/** Members in member id order, so equal inputs give equal outputs whatever order the group keeps. */
export function sortedMembers(members: readonly AssignmentMember[]): AssignmentMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

/** The member's subscribed topics that exist, in topic id order. */
export function existingSubscriptions(member: AssignmentMember, partitionCounts: ReadonlyMap<string, number>): string[] {
  return [...member.subscribedTopicIds].filter((t) => partitionCounts.has(t)).sort();
}

export function addPartition(assignment: TopicPartitions, topicId: string, partition: number): void {
  let partitions = assignment.get(topicId);
  if (!partitions) {
    partitions = new Set();
    assignment.set(topicId, partitions);
  }
  partitions.add(partition);
}

export function assignmentSize(assignment: ReadonlyMap<string, ReadonlySet<number>>): number {
  let n = 0;
  for (const partitions of assignment.values()) n += partitions.size;
  return n;
}

/** Thrown for an input the assignor cannot serve; the group answers UNKNOWN_SERVER_ERROR, as Kafka does for PartitionAssignorException. */
export class PartitionAssignorError extends Error {}
