// One classic consumer group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup), as
// Kafka 4.0's ClassicGroup and the classic half of its GroupMetadataManager
// run it.
//
// States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and
// back to PreparingRebalance whenever membership or metadata changes; Dead once
// the group is deleted. A rebalance (the join phase) ends when every member has
// rejoined or the rebalance timeout fires; the generation then increments, a
// protocol all members support is chosen by votes, and the leader gets every
// member's metadata to compute assignments, which it hands back in SyncGroup.
// The group record is written before the members get their assignments.
//
// Ownership: one GroupCoordinator owns its groups; everything here runs on the
// event loop, so a group changes only between awaits. JoinGroup and SyncGroup
// answers are deferred (promises resolved when the phase completes), like
// Kafka's purgatory; timers (session, rebalance, pending sync) run on the
// coordinator's injected timer and clock.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Clock } from '../storage/clock.js';
import type { ClassicGroupSnapshot, ClassicMemberSnapshot, CoordinatorRecord } from './coordinator-store.js';
import type { CoordinatorGroup, DescribedGroup } from './group-coordinator.js';
import type { CoordinatorTimer } from './timer.js';

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** The states a group may come from, per state (Kafka's ClassicGroupState.validPreviousStates). */
const VALID_PREVIOUS_STATES: Record<ClassicGroupState, readonly ClassicGroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** JoinGroup's generation before the first one, and member id before the coordinator assigns one. */
export const UNKNOWN_GENERATION_ID = -1;
export const UNKNOWN_MEMBER_ID = '';
const EMPTY_BYTES = Buffer.alloc(0);

export interface ClassicGroupConfig {
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.max.size */
  maxSize: number;
  /**
   * How long a member that joined (and got no answer yet) may stay without
   * rejoining; Kafka's fixed 5 minutes, so defunct members of a long rebalance go.
   */
  newMemberJoinTimeoutMs: number;
}

/** What a group needs from its coordinator: time, timers, and the write of its group record. */
export interface ClassicGroupContext {
  readonly clock: Clock;
  readonly timer: CoordinatorTimer;
  readonly config: ClassicGroupConfig;
  /** Appends the group record; rejects with the Kafka error code to answer (already mapped). */
  storeGroup(snapshot: ClassicGroupSnapshot): Promise<void>;
  /** A task of a timer or an append failed unexpectedly; logged, never thrown into the event loop. */
  onError(message: string, err: unknown): void;
  log(message: string): void;
}

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED and its id, then joins with it. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+ (KIP-814): a static leader that rejoins skips computing the assignment. */
  supportsSkippingAssignment: boolean;
  reason: string | null;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  skipAssignment: boolean;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
}

export function joinError(errorCode: number, memberId = UNKNOWN_MEMBER_ID): JoinResult {
  return { errorCode, generationId: UNKNOWN_GENERATION_ID, protocolType: null, protocolName: null, leaderId: '', memberId, skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class ClassicGroupMember {
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: ((result: JoinResult) => void) | null = null;
  awaitingSync: ((result: SyncResult) => void) | null = null;
  /** Joined but not yet through a completed join phase: its heartbeat deadline is the new-member join timeout. */
  isNew = false;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: Protocol[],
  ) {}

  /** The member's metadata for a protocol (empty when it does not support it). */
  metadata(protocolName: string | null): Buffer {
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with the same metadata. */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata));
  }

  /** The member's first choice among the candidates. */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((p) => candidates.has(p.name));
    if (choice === undefined) throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
    return choice.name;
  }

  /** Members waiting for a join or sync answer count as alive (their request is their heartbeat). */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.awaitingJoin !== null || this.awaitingSync !== null;
  }
}

export class ClassicGroup implements CoordinatorGroup {
  readonly type = 'classic' as const;
  private state: ClassicGroupState = 'Empty';
  private previousState: ClassicGroupState = 'Empty';
  currentStateTimestampMs: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  private readonly members = new Map<string, ClassicGroupMember>();
  /** group.instance.id -> member id of the static members. */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet. */
  private readonly pendingJoinMembers = new Set<string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  private readonly pendingSyncMembers = new Set<string>();
  /** protocol name -> how many members support it. */
  private readonly supportedProtocols = new Map<string, number>();
  private numMembersAwaitingJoin = 0;
  /** A member joined during the initial rebalance delay: the delay is extended once more. */
  private newMemberAdded = false;

  constructor(
    readonly groupId: string,
    private readonly ctx: ClassicGroupContext,
  ) {
    this.currentStateTimestampMs = ctx.clock.nowMs();
  }

  // ---- State ------------------------------------------------------------

  get currentState(): ClassicGroupState {
    return this.state;
  }

  isInState(state: ClassicGroupState): boolean {
    return this.state === state;
  }

  /** Kafka's state name as ListGroups and DescribeGroups show it. */
  stateName(): string {
    return this.state;
  }

  transitionTo(target: ClassicGroupState): void {
    if (!VALID_PREVIOUS_STATES[target].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${target}`);
    }
    this.previousState = this.state;
    this.state = target;
    this.currentStateTimestampMs = this.ctx.clock.nowMs();
  }

  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  size(): number {
    return this.members.size;
  }

  isEmpty(): boolean {
    return this.members.size === 0;
  }

  allMembers(): ClassicGroupMember[] {
    return [...this.members.values()];
  }

  member(memberId: string): ClassicGroupMember | undefined {
    return this.members.get(memberId);
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingJoinMembers.has(memberId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingJoinMembers.size === 0;
  }

  /** The largest rebalance timeout of the members: how long a join phase waits. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** The consumer protocol's subscribed topics of all members; null when some metadata cannot be read. */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return this.members.size === 0 ? new Set() : null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const subscribed = consumerSubscriptionTopics(m.metadata(this.protocolName));
      if (subscribed === null) return null;
      for (const t of subscribed) topics.add(t);
    }
    return topics;
  }

  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.isInState('Empty')) return protocolType !== '' && protocols.length > 0;
    return this.protocolType === protocolType && protocols.some((p) => (this.supportedProtocols.get(p.name) ?? 0) === this.members.size);
  }

  /** A protocol every member supports, the one most members prefer. */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: cannot select a protocol without members`);
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    // Ties go to the protocol voted for first (Kafka leaves them to HashMap order).
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best!;
  }

  // ---- Membership -------------------------------------------------------

  add(member: ClassicGroupMember, onJoin: ((result: JoinResult) => void) | null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (member.protocolType !== this.protocolType) throw new Error(`group ${this.groupId}: member protocol type ${member.protocolType} differs`);
    this.members.set(member.memberId, member);
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
    if (onJoin !== null) {
      member.awaitingJoin = onJoin;
      this.numMembersAwaitingJoin++;
    }
    this.pendingJoinMembers.delete(member.memberId);
    if (this.isInState('PreparingRebalance') && this.previousState === 'Empty') this.newMemberAdded = true;
  }

  remove(memberId: string): void {
    const removed = this.members.get(memberId);
    if (removed !== undefined) {
      this.members.delete(memberId);
      for (const p of removed.protocols) this.decrementProtocol(p.name);
      if (removed.awaitingJoin !== null) this.numMembersAwaitingJoin--;
      if (removed.groupInstanceId !== null && this.staticMembers.get(removed.groupInstanceId) === memberId) {
        this.staticMembers.delete(removed.groupInstanceId);
      }
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingJoinMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  private decrementProtocol(name: string): void {
    const count = (this.supportedProtocols.get(name) ?? 0) - 1;
    if (count <= 0) this.supportedProtocols.delete(name);
    else this.supportedProtocols.set(name, count);
  }

  private updateMember(member: ClassicGroupMember, protocols: Protocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, onJoin: ((r: JoinResult) => void) | null): void {
    for (const p of member.protocols) this.decrementProtocol(p.name);
    member.protocols = protocols;
    for (const p of protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (onJoin !== null && member.awaitingJoin === null) this.numMembersAwaitingJoin++;
    else if (onJoin === null && member.awaitingJoin !== null) this.numMembersAwaitingJoin--;
    member.awaitingJoin = onJoin;
  }

  /** A static member rejoined with a new member id: the old id is fenced and the member keeps its place and assignment. */
  private replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): ClassicGroupMember {
    const old = this.members.get(oldMemberId);
    if (old === undefined) throw new Error(`group ${this.groupId}: no member ${oldMemberId} to replace`);
    this.completeJoin(old, joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId));
    this.completeSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(oldMemberId);
    const replacement = new ClassicGroupMember(newMemberId, groupInstanceId, old.clientId, old.clientHost, old.rebalanceTimeoutMs, old.sessionTimeoutMs, old.protocolType, old.protocols);
    replacement.assignment = old.assignment;
    this.members.set(newMemberId, replacement);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return replacement;
  }

  private completeJoin(member: ClassicGroupMember, result: JoinResult): void {
    const callback = member.awaitingJoin;
    if (callback === null) return;
    member.awaitingJoin = null;
    this.numMembersAwaitingJoin--;
    callback(result);
  }

  private completeSync(member: ClassicGroupMember, result: SyncResult): void {
    const callback = member.awaitingSync;
    if (callback === null) return;
    member.awaitingSync = null;
    callback(result);
  }

  /** UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID when the (member id, instance id) pair is not a current member. */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const existing = this.staticMembers.get(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Group-management admission (group.max.size) of a member about to join. */
  acceptJoiningMember(memberId: string): boolean {
    switch (this.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance': {
        const m = this.members.get(memberId);
        return (m !== undefined && m.awaitingJoin !== null) || this.numMembersAwaitingJoin < this.ctx.config.maxSize;
      }
      default:
        return this.members.has(memberId) || this.members.size < this.ctx.config.maxSize;
    }
  }

  // ---- JoinGroup --------------------------------------------------------

  /** Session-timeout and group-id checks are the coordinator's; this is the rest of Kafka's classicGroupJoin. */
  join(request: JoinRequest): Promise<JoinResult> {
    return new Promise((resolve) => {
      if (!this.acceptJoiningMember(request.memberId)) {
        this.ctx.log(`group ${this.groupId} is full (group.max.size ${this.ctx.config.maxSize}): member ${request.memberId || '(new)'} refused`);
        const known = this.members.has(request.memberId);
        // Kafka drops a refused member, known or pending, so the group shrinks back to its bound.
        if (known) this.removeMember(request.memberId);
        else this.pendingJoinMembers.delete(request.memberId);
        resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, request.memberId));
        if (known) this.afterMembersRemoved('a member was refused for group.max.size');
        return;
      }
      if (request.memberId === UNKNOWN_MEMBER_ID) this.joinNewMember(request, resolve);
      else this.joinExistingMember(request, resolve);
    });
  }

  private joinNewMember(request: JoinRequest, resolve: (r: JoinResult) => void): void {
    if (this.isInState('Dead')) return resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!this.supportsProtocols(request.protocolType, request.protocols)) return resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    // Kafka's member ids: "<group.instance.id or client.id>-<uuid>".
    const newMemberId = `${request.groupInstanceId ?? request.clientId}-${randomUUID()}`;
    if (request.groupInstanceId !== null) {
      const existing = this.staticMembers.get(request.groupInstanceId);
      if (existing !== undefined) return this.updateStaticMember(request, existing, newMemberId, resolve);
      return this.addMemberAndRebalance(request, newMemberId, resolve);
    }
    if (request.requireKnownMemberId) {
      // The member must come back with this id; if it never does, its pending place expires with the session timeout.
      this.pendingJoinMembers.add(newMemberId);
      this.scheduleHeartbeatExpiry(newMemberId, request.sessionTimeoutMs);
      return resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId));
    }
    this.addMemberAndRebalance(request, newMemberId, resolve);
  }

  private joinExistingMember(request: JoinRequest, resolve: (r: JoinResult) => void): void {
    const { memberId } = request;
    if (this.isInState('Dead')) return resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId));
    if (!this.supportsProtocols(request.protocolType, request.protocols)) return resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId));
    if (this.isPendingMember(memberId)) {
      // Pending members are dynamic: a static member never gets MEMBER_ID_REQUIRED.
      if (request.groupInstanceId !== null) return resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
      return this.addMemberAndRebalance(request, memberId, resolve);
    }
    const error = this.validateMember(memberId, request.groupInstanceId);
    if (error !== ErrorCode.NONE) return resolve(joinError(error, memberId));
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(request, member, resolve, `member ${memberId} rejoins during PreparingRebalance${clientReason(request)}`);
      case 'CompletingRebalance':
        // Same metadata: the member probably lost its JoinGroup answer; give it the current generation again.
        if (member.matches(request.protocols)) return resolve(this.currentJoinResult(member, this.isLeader(memberId)));
        return this.updateMemberAndRebalance(request, member, resolve, `member ${memberId} changed its metadata${clientReason(request)}`);
      case 'Stable':
        // The leader rejoining forces a rebalance: that is how it reacts to changes its assignor sees (new partitions).
        if (this.isLeader(memberId)) return this.updateMemberAndRebalance(request, member, resolve, `leader ${memberId} rejoins${clientReason(request)}`);
        if (!member.matches(request.protocols)) return this.updateMemberAndRebalance(request, member, resolve, `member ${memberId} changed its metadata${clientReason(request)}`);
        return resolve(this.currentJoinResult(member, false));
      default:
        return resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    }
  }

  private currentJoinResult(member: ClassicGroupMember, withMembers: boolean, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId: this.leaderId ?? '',
      memberId: member.memberId,
      skipAssignment,
      members: withMembers ? this.currentMembersMetadata() : [],
    };
  }

  private currentMembersMetadata(): JoinResult['members'] {
    return this.allMembers().map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(this.protocolName) }));
  }

  private addMemberAndRebalance(request: JoinRequest, memberId: string, resolve: (r: JoinResult) => void): void {
    const member = new ClassicGroupMember(
      memberId,
      request.groupInstanceId,
      request.clientId,
      request.clientHost,
      request.rebalanceTimeoutMs,
      request.sessionTimeoutMs,
      request.protocolType,
      request.protocols,
    );
    member.isNew = true;
    this.add(member, resolve);
    // A new member cannot heartbeat before its JoinGroup is answered; if it goes away meanwhile it retries with a
    // fresh join, so its first place expires after the new-member join timeout rather than the session timeout.
    this.scheduleHeartbeatExpiry(memberId, this.ctx.config.newMemberJoinTimeoutMs);
    this.maybePrepareRebalanceOrCompleteJoin(`adding member ${memberId}${request.groupInstanceId === null ? '' : ` (instance ${request.groupInstanceId})`}${clientReason(request)}`);
  }

  private updateMemberAndRebalance(request: JoinRequest, member: ClassicGroupMember, resolve: (r: JoinResult) => void, reason: string): void {
    this.updateMember(member, request.protocols, request.rebalanceTimeoutMs, request.sessionTimeoutMs, resolve);
    this.maybePrepareRebalanceOrCompleteJoin(reason);
  }

  private updateStaticMember(request: JoinRequest, oldMemberId: string, newMemberId: string, resolve: (r: JoinResult) => void): void {
    const instanceId = request.groupInstanceId!;
    const currentLeader = this.leaderId ?? '';
    const member = this.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.ctx.timer.cancel(this.heartbeatKey(oldMemberId));
    this.scheduleHeartbeatExpiry(newMemberId, member.sessionTimeoutMs);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    this.updateMember(member, request.protocols, request.rebalanceTimeoutMs, request.sessionTimeoutMs, resolve);
    switch (this.state) {
      case 'Stable': {
        // Same protocol for the next generation: no rebalance, the member keeps its assignment; persist the new member id.
        if (this.protocolName !== this.selectProtocol()) {
          return this.maybePrepareRebalanceOrCompleteJoin(`static member ${newMemberId} (instance ${instanceId}) rejoined with other protocols`);
        }
        const generationId = this.generationId;
        this.ctx
          .storeGroup(this.snapshot(null))
          .then(
            () => {
              if (this.members.get(newMemberId) !== member) return;
              const isLeader = this.isLeader(newMemberId);
              if (request.supportsSkippingAssignment) this.completeJoin(member, this.currentJoinResult(member, isLeader, isLeader));
              else this.completeJoin(member, { ...this.currentJoinResult(member, false), leaderId: currentLeader });
            },
            (err: unknown) => {
              if (this.members.get(newMemberId) !== member || this.generationId !== generationId) {
                this.completeJoin(member, joinError(errorCodeOf(err)));
                return;
              }
              // Not persisted: put the old member id back.
              this.updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
              const restored = this.replaceStaticMember(instanceId, newMemberId, oldMemberId);
              this.ctx.timer.cancel(this.heartbeatKey(newMemberId));
              this.scheduleHeartbeatExpiry(oldMemberId, restored.sessionTimeoutMs);
              resolve({ ...joinError(errorCodeOf(err)), generationId: this.generationId, protocolType: this.protocolType, protocolName: this.protocolName, leaderId: currentLeader });
            },
          )
          .catch((err: unknown) => this.ctx.onError(`group ${this.groupId}: static member rejoin`, err));
        return;
      }
      case 'CompletingRebalance':
        // The leader may be assigning to the old member id: rebalance so the new id gets an assignment.
        return this.prepareRebalance(`static member ${newMemberId} (instance ${instanceId}) rejoined during CompletingRebalance`);
      case 'PreparingRebalance':
        return this.maybeCompleteJoinPhase();
      default:
        throw new Error(`group ${this.groupId}: static member rejoined in state ${this.state}`);
    }
  }

  // ---- Rebalance --------------------------------------------------------

  maybePrepareRebalanceOrCompleteJoin(reason: string): void {
    if (this.canRebalance()) this.prepareRebalance(reason);
    else this.maybeCompleteJoinPhase();
  }

  prepareRebalance(reason: string): void {
    if (this.isInState('CompletingRebalance')) this.resetAndPropagateAssignmentWithError(ErrorCode.REBALANCE_IN_PROGRESS);
    this.ctx.timer.cancel(this.syncKey());
    const isInitialRebalance = this.isInState('Empty');
    this.transitionTo('PreparingRebalance');
    this.ctx.log(`group ${this.groupId}: preparing to rebalance in generation ${this.generationId} (${reason})`);
    if (isInitialRebalance) {
      // A new group waits a little for more members before the first generation (group.initial.rebalance.delay.ms).
      const delayMs = this.ctx.config.initialRebalanceDelayMs;
      const remainingMs = Math.max(this.rebalanceTimeoutMs() - delayMs, 0);
      this.ctx.timer.schedule(this.joinKey(), delayMs, () => this.guard(() => this.tryCompleteInitialRebalance(delayMs, remainingMs)));
      return;
    }
    if (this.hasAllMembersJoined()) return this.completeJoinPhase();
    this.ctx.timer.schedule(this.joinKey(), this.rebalanceTimeoutMs(), () => this.guard(() => this.completeJoinPhase()));
  }

  private tryCompleteInitialRebalance(delayMs: number, remainingMs: number): void {
    if (!this.isInState('PreparingRebalance')) return;
    if (this.newMemberAdded && remainingMs !== 0) {
      this.newMemberAdded = false;
      const nextDelayMs = Math.min(this.ctx.config.initialRebalanceDelayMs, remainingMs);
      const nextRemainingMs = Math.max(remainingMs - delayMs, 0);
      this.ctx.timer.schedule(this.joinKey(), nextDelayMs, () => this.guard(() => this.tryCompleteInitialRebalance(nextDelayMs, nextRemainingMs)));
      return;
    }
    this.completeJoinPhase();
  }

  maybeCompleteJoinPhase(): void {
    // The initial rebalance always waits out its delay.
    if (this.isInState('PreparingRebalance') && this.hasAllMembersJoined() && this.previousState !== 'Empty') this.completeJoinPhase();
  }

  private completeJoinPhase(): void {
    this.ctx.timer.cancel(this.joinKey());
    if (!this.isInState('PreparingRebalance')) return;
    // Dynamic members that did not rejoin in time are gone; static ones stay until their session expires.
    for (const m of this.allMembers()) {
      if (m.awaitingJoin !== null || m.groupInstanceId !== null) continue;
      this.ctx.timer.cancel(this.heartbeatKey(m.memberId));
      this.remove(m.memberId);
    }
    if (!this.maybeElectNewJoinedLeader() && this.members.size > 0) {
      // Nobody rejoined: wait another rebalance timeout for session expiry to remove the silent members.
      this.ctx.timer.schedule(this.joinKey(), this.rebalanceTimeoutMs(), () => this.guard(() => this.completeJoinPhase()));
      return;
    }
    this.initNextGeneration();
    if (this.isInState('Empty')) {
      this.ctx.log(`group ${this.groupId} with generation ${this.generationId} is now empty`);
      this.ctx.storeGroup(this.snapshot(new Map())).catch((err: unknown) => this.ctx.onError(`group ${this.groupId}: storing the empty group`, err));
      return;
    }
    this.ctx.log(`group ${this.groupId}: generation ${this.generationId} with ${this.members.size} member(s), protocol ${this.protocolName}`);
    for (const m of this.allMembers()) {
      this.completeJoin(m, this.currentJoinResult(m, this.isLeader(m.memberId)));
      this.scheduleHeartbeatExpiry(m.memberId, m.sessionTimeoutMs);
      m.isNew = false;
      this.pendingSyncMembers.add(m.memberId);
    }
    const generationId = this.generationId;
    this.ctx.timer.schedule(this.syncKey(), this.rebalanceTimeoutMs(), () => this.guard(() => this.expirePendingSync(generationId)));
  }

  private maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.transitionTo('Empty');
    }
    this.pendingSyncMembers.clear();
  }

  private expirePendingSync(generationId: number): void {
    if (generationId !== this.generationId) return;
    if (!this.isInState('CompletingRebalance') && !this.isInState('Stable')) return;
    if (this.pendingSyncMembers.size === 0) return;
    const late = [...this.pendingSyncMembers];
    for (const memberId of late) {
      this.ctx.timer.cancel(this.heartbeatKey(memberId));
      const m = this.members.get(memberId);
      if (m !== undefined) this.completeSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      this.remove(memberId);
    }
    this.prepareRebalance(`members ${late.join(', ')} did not send SyncGroup within the rebalance timeout`);
  }

  private resetAndPropagateAssignmentWithError(errorCode: number): void {
    for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(errorCode);
  }

  private propagateAssignment(errorCode: number): void {
    for (const m of this.members.values()) {
      if (m.awaitingSync === null) continue;
      this.completeSync(m, { errorCode, protocolType: this.protocolType, protocolName: this.protocolName, assignment: m.assignment });
      // A member whose session ran out while it waited for the assignment gets a fresh deadline from here.
      this.scheduleHeartbeatExpiry(m.memberId, m.sessionTimeoutMs);
    }
  }

  // ---- SyncGroup --------------------------------------------------------

  sync(request: SyncRequest): Promise<SyncResult> {
    return new Promise((resolve) => {
      const error = this.validateSync(request);
      if (error !== ErrorCode.NONE) return resolve(syncError(error));
      if (this.isInState('PreparingRebalance')) return resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      const member = this.members.get(request.memberId)!;
      if (this.isInState('Stable')) {
        this.removePendingSyncMember(request.memberId);
        return resolve({ errorCode: ErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment: member.assignment });
      }
      if (!this.isInState('CompletingRebalance')) return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      member.awaitingSync = resolve;
      this.removePendingSyncMember(request.memberId);
      if (this.isLeader(request.memberId)) this.completeRebalance(request);
    });
  }

  private validateSync(request: SyncRequest): number {
    if (this.isInState('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateMember(request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (request.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (isProtocolInconsistent(request.protocolType, this.protocolType) || isProtocolInconsistent(request.protocolName, this.protocolName)) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    return ErrorCode.NONE;
  }

  private removePendingSyncMember(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
    if (this.pendingSyncMembers.size === 0) this.ctx.timer.cancel(this.syncKey());
  }

  /** The leader's assignment: persisted with the group record, then handed to every member. */
  private completeRebalance(request: SyncRequest): void {
    const assignment = new Map<string, Buffer>();
    for (const a of request.assignments) assignment.set(a.memberId, a.assignment);
    // Members the leader left out get an empty assignment; ids that are not members are ignored.
    for (const m of this.members.values()) if (!assignment.has(m.memberId)) assignment.set(m.memberId, EMPTY_BYTES);
    const generationId = this.generationId;
    const stillCurrent = () => this.isInState('CompletingRebalance') && this.generationId === generationId;
    this.ctx
      .storeGroup(this.snapshot(assignment))
      .then(
        () => {
          if (!stillCurrent()) return;
          for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
          this.propagateAssignment(ErrorCode.NONE);
          this.transitionTo('Stable');
        },
        (err: unknown) => {
          if (!stillCurrent()) return;
          const errorCode = errorCodeOf(err);
          this.resetAndPropagateAssignmentWithError(errorCode);
          this.maybePrepareRebalanceOrCompleteJoin(`error ${errorCode} storing the assignment of generation ${generationId}`);
        },
      )
      .catch((err: unknown) => this.ctx.onError(`group ${this.groupId}: completing the rebalance`, err));
  }

  // ---- Heartbeat and LeaveGroup ----------------------------------------

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.isInState('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateMember(memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        this.scheduleHeartbeatExpiry(memberId, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        // Members may heartbeat between their JoinGroup answer and SyncGroup: a normal heartbeat.
        this.scheduleHeartbeatExpiry(memberId, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /** Per-member errors, as LeaveGroup v3+ reports them; the group rebalances once for all who left. */
  leave(members: readonly LeavingMember[]): number[] {
    const errors: number[] = [];
    let removed = 0;
    for (const leaving of members) {
      let memberId = leaving.memberId;
      if (memberId === UNKNOWN_MEMBER_ID) {
        // An admin may remove a static member by its instance id alone.
        const current = leaving.groupInstanceId === null ? undefined : this.staticMembers.get(leaving.groupInstanceId);
        if (current === undefined) {
          errors.push(ErrorCode.UNKNOWN_MEMBER_ID);
          continue;
        }
        memberId = current;
      } else if (this.isPendingMember(memberId)) {
        this.pendingJoinMembers.delete(memberId);
        this.ctx.timer.cancel(this.heartbeatKey(memberId));
        errors.push(ErrorCode.NONE);
        removed++;
        continue;
      } else {
        const error = this.validateMember(memberId, leaving.groupInstanceId);
        if (error !== ErrorCode.NONE) {
          errors.push(error);
          continue;
        }
      }
      this.removeMember(memberId);
      errors.push(ErrorCode.NONE);
      removed++;
    }
    if (removed > 0) this.afterMembersRemoved(`members left the group`);
    return errors;
  }

  private removeMember(memberId: string): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.ctx.timer.cancel(this.heartbeatKey(memberId));
    // A member removed while its JoinGroup waits gets UNKNOWN_MEMBER_ID, so a live client retries its join.
    this.completeJoin(member, joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    this.completeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.remove(memberId);
  }

  private afterMembersRemoved(reason: string): void {
    if (this.isInState('Stable') || this.isInState('CompletingRebalance')) this.maybePrepareRebalanceOrCompleteJoin(reason);
    else if (this.isInState('PreparingRebalance')) this.maybeCompleteJoinPhase();
  }

  // ---- Timers ------------------------------------------------------------

  private heartbeatKey(memberId: string): string {
    return `heartbeat-${this.groupId}-${memberId}`;
  }

  private joinKey(): string {
    return `join-${this.groupId}`;
  }

  private syncKey(): string {
    return `sync-${this.groupId}`;
  }

  scheduleHeartbeatExpiry(memberId: string, delayMs: number): void {
    this.ctx.timer.schedule(this.heartbeatKey(memberId), delayMs, () => this.guard(() => this.expireHeartbeat(memberId)));
  }

  private expireHeartbeat(memberId: string): void {
    if (this.isInState('Dead')) return;
    if (this.isPendingMember(memberId)) {
      this.ctx.log(`group ${this.groupId}: pending member ${memberId} did not rejoin within its session timeout`);
      this.pendingJoinMembers.delete(memberId);
      this.maybeCompleteJoinPhase();
      return;
    }
    const member = this.members.get(memberId);
    if (member === undefined || member.hasSatisfiedHeartbeat()) return;
    this.ctx.log(`group ${this.groupId}: member ${memberId} expired (no heartbeat within ${member.isNew ? 'the new-member join timeout' : `${member.sessionTimeoutMs} ms`})`);
    this.removeMember(memberId);
    this.afterMembersRemoved(`member ${memberId} expired`);
  }

  /** Group ids are arbitrary client strings; timer tasks must never throw into the event loop. */
  private guard(task: () => void): void {
    try {
      task();
    } catch (err) {
      this.ctx.onError(`group ${this.groupId}: timer task`, err);
    }
  }

  /** The group as it was before markDead() (a deletion or conversion that was not written); its members must heartbeat again. */
  revived(): ClassicGroup {
    const group = ClassicGroup.fromSnapshot(this.snapshot(null), this.ctx);
    group.onLoaded();
    return group;
  }

  /** Deletion (DeleteGroups) or unload: answers nothing further, cancels every timer. */
  markDead(): void {
    for (const m of this.members.values()) this.ctx.timer.cancel(this.heartbeatKey(m.memberId));
    for (const memberId of this.pendingJoinMembers) this.ctx.timer.cancel(this.heartbeatKey(memberId));
    this.ctx.timer.cancel(this.joinKey());
    this.ctx.timer.cancel(this.syncKey());
    this.transitionTo('Dead');
  }

  /**
   * The group becomes a KIP-848 consumer group (online upgrade): members
   * waiting in JoinGroup or SyncGroup get REBALANCE_IN_PROGRESS so they rejoin
   * the new group, as Kafka's convertToConsumerGroup answers them; then the
   * group is dead to this coordinator.
   */
  abortForUpgrade(): void {
    for (const m of this.members.values()) {
      this.completeJoin(m, joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId));
      this.completeSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.markDead();
  }

  // ---- Registry interface (offsets, admin APIs) ---------------------------

  listedProtocolType(): string {
    return this.protocolType ?? '';
  }

  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number, _apiVersion: number): number {
    if (this.isInState('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 comes from the admin client or a consumer without group management: allowed while Empty.
    if (generationId < 0 && this.isInState('Empty')) return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const memberError = this.validateMember(memberId, groupInstanceId);
      if (memberError !== ErrorCode.NONE) return memberError;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!this.isInState('Empty')) {
      // Commits without member id and generation are only accepted when nobody manages the group.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // A member with the new generation that has not synced yet: let it retry after SyncGroup.
    if (this.isInState('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  validateOffsetFetch(_memberId: string | null, _memberEpoch: number): number {
    return this.isInState('Dead') ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE;
  }

  validateDeleteGroup(): number {
    if (this.isInState('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    return this.isInState('Empty') ? ErrorCode.NONE : ErrorCode.NON_EMPTY_GROUP;
  }

  validateOffsetDelete(): number {
    if (this.isInState('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    // A non-empty group's offsets may be deleted only when its members use the consumer protocol (topics are known).
    if (!this.isInState('Empty') && this.protocolType !== 'consumer') return ErrorCode.NON_EMPTY_GROUP;
    return ErrorCode.NONE;
  }

  isSubscribedToTopic(topic: string): boolean {
    if (this.isInState('Empty')) return false;
    const topics = this.subscribedTopics();
    // Unreadable subscriptions: assume subscribed, as Kafka does, rather than delete offsets in use.
    return topics === null ? true : topics.has(topic);
  }

  tombstoneRecords(): CoordinatorRecord[] {
    return [{ type: 'group', groupId: this.groupId, value: null }];
  }

  describe(): DescribedGroup {
    const stable = this.isInState('Stable');
    return {
      groupState: this.state,
      protocolType: this.protocolType ?? '',
      // Only a Stable group has a protocol and assignments worth showing.
      protocolData: stable ? (this.protocolName ?? '') : '',
      members: this.allMembers().map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadata(this.protocolName) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  // ---- Persistence -------------------------------------------------------

  /** The group record; `assignment` null keeps the members' current assignments. */
  snapshot(assignment: ReadonlyMap<string, Buffer> | null): ClassicGroupSnapshot {
    const members: ClassicMemberSnapshot[] = this.allMembers().map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: m.metadata(this.protocolName),
      assignment: assignment === null ? m.assignment : (assignment.get(m.memberId) ?? EMPTY_BYTES),
    }));
    return {
      groupId: this.groupId,
      protocolType: this.protocolType ?? '',
      generationId: this.generationId,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      currentStateTimestampMs: this.currentStateTimestampMs,
      members,
    };
  }

  /** A group as its last record left it: Stable with its members (who must heartbeat to stay), or Empty. */
  static fromSnapshot(snapshot: ClassicGroupSnapshot, ctx: ClassicGroupContext): ClassicGroup {
    const group = new ClassicGroup(snapshot.groupId, ctx);
    group.protocolType = snapshot.protocolType === '' && snapshot.members.length === 0 ? null : snapshot.protocolType;
    group.generationId = snapshot.generationId;
    group.protocolName = snapshot.protocolName;
    for (const s of snapshot.members) {
      const protocols = snapshot.protocolName === null ? [] : [{ name: snapshot.protocolName, metadata: s.subscription }];
      const m = new ClassicGroupMember(s.memberId, s.groupInstanceId, s.clientId, s.clientHost, s.rebalanceTimeoutMs, s.sessionTimeoutMs, snapshot.protocolType, protocols);
      m.assignment = s.assignment;
      group.add(m, null);
    }
    group.leaderId = snapshot.leaderId !== null && group.members.has(snapshot.leaderId) ? snapshot.leaderId : (group.members.keys().next().value ?? null);
    if (group.members.size > 0) {
      group.state = 'Stable';
      group.previousState = 'CompletingRebalance';
    }
    group.currentStateTimestampMs = snapshot.currentStateTimestampMs;
    return group;
  }

  /** After loading: every member must heartbeat within its session timeout; an oversized group rebalances. */
  onLoaded(): void {
    for (const m of this.members.values()) this.scheduleHeartbeatExpiry(m.memberId, m.sessionTimeoutMs);
    if (this.members.size > this.ctx.config.maxSize) this.prepareRebalance(`more than group.max.size members after loading`);
  }
}

/** JoinGroup v8+ carries the client's reason (KIP-800); it goes into the rebalance log line, as in Kafka. */
function clientReason(request: JoinRequest): string {
  return request.reason === null || request.reason === '' ? '' : `; client reason: ${request.reason.slice(0, 200)}`;
}

function isProtocolInconsistent(requested: string | null, current: string | null): boolean {
  return requested !== null && current !== null && requested !== current;
}

function errorCodeOf(err: unknown): number {
  const code = (err as { errorCode?: unknown }).errorCode;
  return typeof code === 'number' ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/**
 * The topics of a ConsumerProtocolSubscription (versions 0-3: int16 version,
 * then an array of strings), or null when the bytes are not one.
 */
export function consumerSubscriptionTopics(metadata: Buffer): string[] | null {
  if (metadata.length < 6) return null;
  let pos = 2;
  const count = metadata.readInt32BE(pos);
  pos += 4;
  // Each topic takes at least its 2-byte length: a count beyond that is not a subscription.
  if (count < 0 || count > (metadata.length - pos) / 2) return null;
  const topics: string[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 2 > metadata.length) return null;
    const length = metadata.readInt16BE(pos);
    pos += 2;
    if (length < 0 || pos + length > metadata.length) return null;
    topics.push(metadata.toString('utf8', pos, pos + length));
    pos += length;
  }
  return topics;
}
