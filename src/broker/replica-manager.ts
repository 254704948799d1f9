// This broker's replicas in a cluster: which partitions it holds a log for
// (it is in their replica list) and which it leads. Produce, Fetch (from
// consumers), ListOffsets and DeleteRecords go to the leader only; the others
// answer NOT_LEADER_OR_FOLLOWER, and the client refreshes its metadata.
//
// Replication seam: a follower's log is created here, empty, and stays so for
// now: acks=1 semantics, the leader's append is the whole write. The next
// step adds, here, a fetcher per leader that appends what the leader's Fetch
// (replica id set) returns, and on the leader the follower offsets that move
// the high watermark and the ISR (AlterPartition through the controller).
// Until then a partition's ISR is its leader alone (leader-election.ts).
import { partitionState, type ClusterMetadata, type PartitionState } from '../cluster/metadata.js';
import type { TopicChange, TopicMetadata } from '../cluster/local-metadata.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../storage/log-manager.js';
import type { LogLogger } from '../storage/log.js';

export class ReplicaManager {
  constructor(
    private readonly nodeId: number,
    private readonly metadata: ClusterMetadata,
    private readonly logs: LogManager,
    private readonly logger: LogLogger,
  ) {}

  state(topic: TopicMetadata, partition: number): PartitionState | undefined {
    return partitionState(topic, partition, this.nodeId);
  }

  /** NONE when a client may produce to or consume from this broker's replica; else the error to answer. */
  leaderError(topic: TopicMetadata, partition: number): number {
    if (!topic.partitions) return ErrorCode.NONE;
    const state = topic.partitions[partition];
    if (!state) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return state.leader === this.nodeId ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /** Whether this broker holds a replica of the partition (a broker alone holds them all). */
  isReplica(topic: TopicMetadata, partition: number): boolean {
    return !topic.partitions || (topic.partitions[partition]?.replicas.includes(this.nodeId) ?? false);
  }

  /**
   * Follows the cluster's topic changes: logs for new replicas, directories of
   * deleted topics set aside for removal (each broker removes its own).
   */
  onTopicChange(change: TopicChange, materialize: (topic: TopicMetadata) => void, refreshConfigs: (name: string) => void): void {
    if (!this.metadata.clustered) return;
    if (change.kind === 'deleted') {
      const partitions = this.logs.allLogs().filter((log) => log.topic === change.topic.name).map((log) => [log.topic, log.partition] as const);
      if (partitions.length > 0) {
        this.logs.deleteLogs(partitions).catch((err: Error) => this.logger.warn(`deleting the logs of ${change.topic.name} failed: ${err.message}`));
      }
      return;
    }
    if (change.kind === 'configs-changed') {
      refreshConfigs(change.topic.name);
      return;
    }
    materialize(change.topic);
  }
}
