// What the broker asks of its cluster metadata, whichever keeps it: a broker
// running alone (LocalMetadata, a JSON file) or a cluster (EtcdMetadata, etcd
// with a controller). Reads are synchronous, from the local view; changes may
// be asynchronous (etcd transactions) and resolve once committed.
import type { MetadataResult, TopicChangeListener, TopicMetadata, MetadataErrorCode } from './local-metadata.js';

export type MaybePromise<T> = T | Promise<T>;

/** A live broker as registered in the cluster. */
export interface BrokerRegistration {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** Grows with every registration of the id (etcd's create revision, as Kafka's ZooKeeper mode used the znode's czxid). */
  epoch: number;
}

/** One partition's replicas and leadership, as the controller records them. */
export interface PartitionState {
  /** Assigned replicas; the first is the preferred leader. */
  replicas: number[];
  /** -1 when no replica can lead (offline). */
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** Bumped by every change of this partition's state (Kafka's partition epoch). */
  partitionEpoch: number;
}

export interface ClusterMetadata {
  readonly clusterId: string;
  readonly nodeId: number;
  topics(): readonly TopicMetadata[];
  topic(name: string): TopicMetadata | undefined;
  topicById(topicId: string): TopicMetadata | undefined;
  onTopicChange(listener: TopicChangeListener): () => void;
  newTopicNameError(name: string): { errorCode: MetadataErrorCode; message: string } | null;
  assignmentError(brokerIds: readonly number[], replicationFactor: number | null): string | null;
  createTopic(
    name: string,
    partitionCount: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly?: boolean,
    assignments?: ReadonlyArray<readonly number[]> | null,
  ): MaybePromise<MetadataResult<TopicMetadata>>;
  deleteTopic(name: string): MaybePromise<MetadataResult<TopicMetadata>>;
  pendingDeletions(): readonly TopicMetadata[];
  finishDeletion(topicId: string): void;
  createPartitions(
    name: string,
    newTotal: number,
    assignments?: ReadonlyArray<readonly number[]> | null,
    validateOnly?: boolean,
  ): MaybePromise<MetadataResult<TopicMetadata>>;
  setTopicConfigs(name: string, configs: Record<string, string>): MaybePromise<MetadataResult<TopicMetadata>>;
  /** Live brokers, by id. */
  brokers(): readonly BrokerRegistration[];
  /** The controller's node id, -1 while there is none. */
  controllerId(): number;
  /** True in a cluster (etcd-backed metadata). */
  readonly clustered: boolean;
}

/**
 * A partition's state: what the controller recorded, or, for a broker running
 * alone (no partition states), this broker leading its only replica.
 */
export function partitionState(topic: TopicMetadata, partition: number, selfId: number): PartitionState | undefined {
  if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) return undefined;
  if (topic.partitions) return topic.partitions[partition];
  return { replicas: [selfId], leader: selfId, leaderEpoch: 0, isr: [selfId], partitionEpoch: 0 };
}
