// What the group coordinator persists, and the seam between the coordinator's
// state machines (classic groups, KIP-848 consumer groups, committed offsets)
// and the log that stores them (`__consumer_offsets`, Kafka's record layouts).
//
// The coordinator keeps its state in memory and writes every change here
// before it answers; at start-up it replays each partition to rebuild that
// state. Records use Kafka's meanings: a null value is a tombstone, the last
// record for a key wins (the topic is compacted).

/** One committed offset, as OffsetCommitValue stores it. */
export interface OffsetAndMetadata {
  offset: bigint;
  /** -1 when the client sent none. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** Set only by OffsetCommit v1 with an explicit retention time; null otherwise. */
  expireTimestampMs: number | null;
}

/** One member of a classic group, as GroupMetadataValue stores it. */
export interface ClassicMemberSnapshot {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's chosen protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

/** A classic group after a rebalance completes (or when it empties), as GroupMetadataValue stores it. */
export interface ClassicGroupSnapshot {
  groupId: string;
  /** '' for a group that only commits offsets. */
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  currentStateTimestampMs: number;
  members: ClassicMemberSnapshot[];
}

export type CoordinatorRecord =
  | { type: 'offset'; groupId: string; topic: string; partition: number; value: OffsetAndMetadata | null }
  | { type: 'group'; groupId: string; value: ClassicGroupSnapshot | null }
  /** KIP-848 records (key versions 3-8), encoded by their owner; the store passes them through. */
  | { type: 'raw'; key: Buffer; value: Buffer | null };

/** Why a write failed, as the Kafka error code the coordinator turns into its answer. */
export class CoordinatorStoreError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CoordinatorStore {
  /** offsets.topic.num.partitions */
  readonly partitionCount: number;
  /** The partition of a group: abs(Java String.hashCode(groupId)) % partitionCount, as Kafka places it. */
  partitionFor(groupId: string): number;
  /**
   * Appends the records as one batch (all or nothing) to one partition.
   * Resolves once they are as durable as an acks=-1 produce on this broker;
   * rejects with CoordinatorStoreError.
   */
  append(partition: number, records: readonly CoordinatorRecord[]): Promise<void>;
  /** Replays one partition from its log start in offset order. */
  load(partition: number, onRecord: (record: CoordinatorRecord) => void): Promise<void>;
}

/** Java's String.hashCode over UTF-16 code units, as Kafka's partitionFor uses it. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Integer.MIN_VALUE maps to 0, not to itself. */
export function kafkaPartitionFor(groupId: string, partitionCount: number): number {
  const h = javaStringHashCode(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitionCount;
}

/**
 * A store that keeps records in memory only: for unit tests of the state
 * machines and until the `__consumer_offsets` store is wired in. Nothing
 * survives a restart.
 */
export class MemoryCoordinatorStore implements CoordinatorStore {
  private readonly partitions: CoordinatorRecord[][];

  constructor(readonly partitionCount = 50) {
    this.partitions = Array.from({ length: partitionCount }, () => []);
  }

  partitionFor(groupId: string): number {
    return kafkaPartitionFor(groupId, this.partitionCount);
  }

  async append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    this.partitions[partition].push(...records);
  }

  async load(partition: number, onRecord: (record: CoordinatorRecord) => void): Promise<void> {
    for (const record of this.partitions[partition]) onRecord(record);
  }
}
