// One KIP-848 consumer group in memory, as Kafka's ConsumerGroup keeps it,
// and the member reconciliation step (Kafka's CurrentAssignmentBuilder).
//
// The group's state is exactly what its records say: every change is made by
// writing a record (consumer-group-records.ts) and replaying it here, on the
// request path and at load alike, so a restart rebuilds the same group.
//
// Epochs: the group epoch goes up whenever the subscriptions or the
// subscribed topics' metadata change; the target assignment is recomputed for
// that epoch (assignment epoch = group epoch after that); each member then
// moves to the target assignment epoch once it owns nothing another member
// needs and nothing it must give up (member epoch). A partition moving from A
// to B is first revoked by A (A stays at its old epoch, UNREVOKED_PARTITIONS,
// until its heartbeat no longer lists the partition); only then can B get it
// (B waits in UNRELEASED_PARTITIONS meanwhile). `partitionOwners` is what
// makes that wait possible: who holds each partition now, assigned or pending
// revocation.
import type { TopicPartitions } from './assignors/assignor.js';
import type { ConsumerGroupRecord, CurrentAssignment, MemberSubscription, SubscribedTopic } from './consumer-group-records.js';

/** Kafka's MemberState byte values. */
export const MemberState = {
  UNREVOKED_PARTITIONS: 0,
  UNRELEASED_PARTITIONS: 1,
  STABLE: 2,
} as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

/** The member epoch of a static member that left and may come back (ConsumerGroupHeartbeat's -2). */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;

/** Kafka's ConsumerGroupState names, as ListGroups and ConsumerGroupDescribe spell them. */
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export interface ConsumerGroupMember extends MemberSubscription, CurrentAssignment {
  memberId: string;
}

export const EMPTY_ASSIGNMENT: TopicPartitions = new Map();

export function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    rebalanceTimeoutMs: -1,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberState.STABLE,
    assignedPartitions: EMPTY_ASSIGNMENT,
    partitionsPendingRevocation: EMPTY_ASSIGNMENT,
  };
}

export function subscriptionOf(member: ConsumerGroupMember): MemberSubscription {
  const { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor } = member;
  return { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor };
}

export function currentAssignmentOf(member: ConsumerGroupMember): CurrentAssignment {
  const { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation } = member;
  return { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation };
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerGroupMember>();
  /** instance id → member id of static members. */
  readonly staticMembers = new Map<string, string>();
  readonly targetAssignment = new Map<string, TopicPartitions>();
  /** The subscribed topics (by name) when the group epoch was last bumped. */
  subscribedTopics = new Map<string, SubscribedTopic>();
  /** Set when topic metadata changed under the group; the next heartbeat recomputes subscribedTopics. */
  metadataRefreshNeeded = true;
  /** `${topicId}:${partition}` → the member holding it (assigned or pending revocation) and its epoch. */
  private readonly partitionOwners = new Map<string, { memberId: string; epoch: number }>();

  constructor(readonly groupId: string) {}

  /**
   * The group's state as it is now, for restore() when the records of a
   * change could not be written. Member objects, assignments and owners are
   * never mutated in place (replay replaces them), so copying the maps is a
   * full copy.
   */
  checkpoint(): ConsumerGroupCheckpoint {
    return {
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      members: new Map(this.members),
      staticMembers: new Map(this.staticMembers),
      targetAssignment: new Map(this.targetAssignment),
      subscribedTopics: this.subscribedTopics,
      metadataRefreshNeeded: this.metadataRefreshNeeded,
      partitionOwners: new Map(this.partitionOwners),
    };
  }

  /** Puts the group back as it was at checkpoint(), in place (registry entries keep pointing at it). */
  restore(c: ConsumerGroupCheckpoint): void {
    this.groupEpoch = c.groupEpoch;
    this.assignmentEpoch = c.assignmentEpoch;
    replaceMap(this.members, c.members);
    replaceMap(this.staticMembers, c.staticMembers);
    replaceMap(this.targetAssignment, c.targetAssignment);
    this.subscribedTopics = c.subscribedTopics;
    this.metadataRefreshNeeded = c.metadataRefreshNeeded;
    replaceMap(this.partitionOwners, c.partitionOwners);
  }

  state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.state !== MemberState.STABLE || m.memberEpoch !== this.assignmentEpoch) return 'Reconciling';
    }
    return 'Stable';
  }

  /** The epoch of the member holding the partition, or -1 when it is free. */
  currentPartitionEpoch(topicId: string, partition: number): number {
    return this.partitionOwners.get(`${topicId}:${partition}`)?.epoch ?? -1;
  }

  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    const memberId = this.staticMembers.get(instanceId);
    return memberId === undefined ? undefined : this.members.get(memberId);
  }

  /** The server assignor most members asked for, or null when none asked (Kafka's preferred server assignor). */
  preferredServerAssignor(): string | null {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) if (m.serverAssignor !== null) counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
    let best: string | null = null;
    for (const [name, count] of counts) if (best === null || count > counts.get(best)!) best = name;
    return best;
  }

  /** Applies one record of this group. */
  replay(record: ConsumerGroupRecord): void {
    switch (record.kind) {
      case 'group-metadata':
        // A tombstone is written only when the group is deleted; the registry drops the group then.
        if (record.epoch !== null) this.groupEpoch = record.epoch;
        break;
      case 'partition-metadata':
        this.subscribedTopics = new Map((record.topics ?? []).map((t) => [t.topicName, t]));
        break;
      case 'member-metadata':
        this.replayMemberMetadata(record.memberId, record.value);
        break;
      case 'target-assignment-metadata':
        if (record.assignmentEpoch !== null) this.assignmentEpoch = record.assignmentEpoch;
        break;
      case 'target-assignment-member':
        if (record.partitions === null) this.targetAssignment.delete(record.memberId);
        else this.targetAssignment.set(record.memberId, record.partitions);
        break;
      case 'current-member-assignment':
        this.replayCurrentAssignment(record.memberId, record.value);
        break;
    }
  }

  private replayMemberMetadata(memberId: string, value: MemberSubscription | null): void {
    const existing = this.members.get(memberId);
    if (value === null) {
      if (!existing) return;
      this.releasePartitions(existing);
      if (existing.instanceId !== null && this.staticMembers.get(existing.instanceId) === memberId) this.staticMembers.delete(existing.instanceId);
      this.members.delete(memberId);
      return;
    }
    const base = existing ?? newMember(memberId);
    if (base.instanceId !== null && base.instanceId !== value.instanceId && this.staticMembers.get(base.instanceId) === memberId) this.staticMembers.delete(base.instanceId);
    this.members.set(memberId, { ...base, ...value });
    if (value.instanceId !== null) this.staticMembers.set(value.instanceId, memberId);
  }

  private replayCurrentAssignment(memberId: string, value: CurrentAssignment | null): void {
    const existing = this.members.get(memberId);
    if (value === null) {
      if (!existing) return;
      this.releasePartitions(existing);
      this.members.set(memberId, { ...existing, ...currentAssignmentOf(newMember(memberId)) });
      return;
    }
    const base = existing ?? newMember(memberId);
    this.releasePartitions(base);
    const updated = { ...base, ...value };
    this.members.set(memberId, updated);
    this.holdPartitions(updated);
  }

  private releasePartitions(member: ConsumerGroupMember): void {
    for (const assignment of [member.assignedPartitions, member.partitionsPendingRevocation]) {
      for (const [topicId, partitions] of assignment) {
        for (const p of partitions) {
          const key = `${topicId}:${p}`;
          if (this.partitionOwners.get(key)?.memberId === member.memberId) this.partitionOwners.delete(key);
        }
      }
    }
  }

  private holdPartitions(member: ConsumerGroupMember): void {
    for (const assignment of [member.assignedPartitions, member.partitionsPendingRevocation]) {
      for (const [topicId, partitions] of assignment) {
        for (const p of partitions) this.partitionOwners.set(`${topicId}:${p}`, { memberId: member.memberId, epoch: member.memberEpoch });
      }
    }
  }
}

export interface ConsumerGroupCheckpoint {
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly members: ReadonlyMap<string, ConsumerGroupMember>;
  readonly staticMembers: ReadonlyMap<string, string>;
  readonly targetAssignment: ReadonlyMap<string, TopicPartitions>;
  readonly subscribedTopics: Map<string, SubscribedTopic>;
  readonly metadataRefreshNeeded: boolean;
  readonly partitionOwners: ReadonlyMap<string, { memberId: string; epoch: number }>;
}

function replaceMap<K, V>(into: Map<K, V>, from: ReadonlyMap<K, V>): void {
  into.clear();
  for (const [k, v] of from) into.set(k, v);
}

/** What the member said it owns in its heartbeat: null when it did not say (unchanged since the last one). */
export type OwnedPartitions = ReadonlyArray<{ topicId: string; partitions: readonly number[] }> | null;

/**
 * The member's next state towards the target assignment (Kafka's
 * CurrentAssignmentBuilder.build): returns the member itself when it cannot
 * move, otherwise a new member object.
 */
export function reconcile(
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: TopicPartitions,
  currentPartitionEpoch: (topicId: string, partition: number) => number,
  owned: OwnedPartitions,
): ConsumerGroupMember {
  switch (member.state) {
    case MemberState.STABLE:
      // A newer target (or epoch) may be waiting.
      return member.memberEpoch === targetEpoch ? member : computeNextAssignment(member, targetEpoch, target, currentPartitionEpoch, owned);
    case MemberState.UNREVOKED_PARTITIONS:
      // Nothing moves until the member stops reporting the revoked partitions.
      if (ownsAnyOf(owned, member.partitionsPendingRevocation)) return member;
      return computeNextAssignment(member, targetEpoch, target, currentPartitionEpoch, owned);
    case MemberState.UNRELEASED_PARTITIONS:
      // Picks up partitions as their previous owners release them.
      return computeNextAssignment(member, targetEpoch, target, currentPartitionEpoch, owned);
    default:
      // A state this build does not know: start the member over from the target.
      return computeNextAssignment({ ...member, memberEpoch: targetEpoch }, targetEpoch, target, currentPartitionEpoch, owned);
  }
}

function ownsAnyOf(owned: OwnedPartitions, partitions: TopicPartitions): boolean {
  // A member that did not report its partitions is taken to still own them.
  if (owned === null) return true;
  for (const t of owned) {
    const pending = partitions.get(t.topicId);
    if (pending && t.partitions.some((p) => pending.has(p))) return true;
  }
  return false;
}

function computeNextAssignment(
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: TopicPartitions,
  currentPartitionEpoch: (topicId: string, partition: number) => number,
  owned: OwnedPartitions,
): ConsumerGroupMember {
  let hasUnreleased = false;
  const assigned: TopicPartitions = new Map();
  const pendingRevocation: TopicPartitions = new Map();
  const pendingAssignment: TopicPartitions = new Map();
  const topicIds = new Set([...target.keys(), ...member.assignedPartitions.keys()]);
  for (const topicId of topicIds) {
    const wanted = target.get(topicId) ?? new Set<number>();
    const current = member.assignedPartitions.get(topicId) ?? new Set<number>();
    const keep = new Set([...current].filter((p) => wanted.has(p)));
    const revoke = new Set([...current].filter((p) => !wanted.has(p)));
    const add = new Set<number>();
    for (const p of wanted) {
      if (keep.has(p)) continue;
      // Held by another member (assigned or not yet revoked): not ours until released.
      if (currentPartitionEpoch(topicId, p) !== -1) hasUnreleased = true;
      else add.add(p);
    }
    if (keep.size > 0) assigned.set(topicId, keep);
    if (revoke.size > 0) pendingRevocation.set(topicId, revoke);
    if (add.size > 0) pendingAssignment.set(topicId, add);
  }
  if (pendingRevocation.size > 0 && ownsAnyOf(owned, pendingRevocation)) {
    // Revoke first, at the current epoch; the member gets nothing new until it has.
    return { ...member, state: MemberState.UNREVOKED_PARTITIONS, assignedPartitions: assigned, partitionsPendingRevocation: pendingRevocation, ...epochs(member, member.memberEpoch) };
  }
  for (const [topicId, partitions] of pendingAssignment) {
    const into = assigned.get(topicId);
    if (into) for (const p of partitions) into.add(p);
    else assigned.set(topicId, partitions);
  }
  const state = hasUnreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE;
  return { ...member, state, assignedPartitions: assigned, partitionsPendingRevocation: EMPTY_ASSIGNMENT, ...epochs(member, targetEpoch) };
}

/** Kafka's updateMemberEpoch: the previous epoch moves only when the epoch does. */
function epochs(member: ConsumerGroupMember, memberEpoch: number): { memberEpoch: number; previousMemberEpoch: number } {
  return { memberEpoch, previousMemberEpoch: memberEpoch === member.memberEpoch ? member.previousMemberEpoch : member.memberEpoch };
}

export function sameAssignment(a: ReadonlyMap<string, ReadonlySet<number>>, b: ReadonlyMap<string, ReadonlySet<number>>): boolean {
  const nonEmpty = (m: ReadonlyMap<string, ReadonlySet<number>>) => [...m].filter(([, s]) => s.size > 0);
  const ea = nonEmpty(a);
  const eb = nonEmpty(b);
  if (ea.length !== eb.length) return false;
  for (const [topicId, partitions] of ea) {
    const other = b.get(topicId);
    if (!other || other.size !== partitions.size) return false;
    for (const p of partitions) if (!other.has(p)) return false;
  }
  return true;
}

export function sameMember(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return (
    a.memberEpoch === b.memberEpoch &&
    a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state &&
    sameAssignment(a.assignedPartitions, b.assignedPartitions) &&
    sameAssignment(a.partitionsPendingRevocation, b.partitionsPendingRevocation)
  );
}
