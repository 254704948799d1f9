// Cluster metadata in etcd: broker registrations, controller election, topics
// with their partitions' replicas, leaders, leader epochs and ISR.
//
// Keys, under metadata.etcd.prefix (several clusters can share one etcd):
//   <p>/cluster-id                 the cluster id, written once (create-if-absent)
//   <p>/brokers/ids/<id>           {host, port, rack} under the broker's lease: it
//                                  goes when the broker stops keeping it alive;
//                                  its create revision is the broker epoch
//   <p>/election/controller/<lease> etcd3's election recipe: the candidate with the
//                                  lowest create revision is the controller
//   <p>/controller-epoch           bumped by each new controller
//   <p>/topics/<name>              {topicId, configs, partitions[]} (JSON)
//   <p>/topic-set                  rewritten by every creation and deletion, so
//                                  name checks across topics ('.' vs '_') are
//                                  made against the set they were checked on
//
// Every broker keeps a view of the prefix: one snapshot, then a watch from the
// snapshot's revision; reads (Metadata, Produce's leader check) come from it,
// so an unreachable etcd stops changes, not service.
//
// Changes: every write is an etcd transaction conditioned on the mod revision
// the writer saw (compare-and-swap); a lost race re-reads and retries. Topic
// administration (CreateTopics, DeleteTopics, CreatePartitions, config
// changes) runs on the broker that received the request: the compare-and-swap
// makes it as safe as forwarding it to the controller, without a second hop.
// Leadership changes are the controller's alone: its writes are also
// conditioned on its election key still being the one it won with, so a
// deposed controller cannot write after its successor started.
import { circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError, type Campaign, type IKeyValue, type Watcher } from 'etcd3';
import {
  fail,
  MetadataErrorCode,
  partitionIncreaseError,
  PARTITIONS_PER_TOPIC_MAX,
  randomKafkaUuid,
  topicNameError,
  type MetadataResult,
  type TopicChange,
  type TopicChangeListener,
  type TopicMetadata,
} from './local-metadata.js';
import type { BrokerRegistration, ClusterMetadata, PartitionState } from './metadata.js';
import { assignReplicas, PlacementError } from './replica-placement.js';
import { electLeaders } from './leader-election.js';

export interface EtcdMetadataLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

export interface EtcdMetadataOptions {
  endpoints: string[];
  /** Key prefix without a trailing '/' ('' is the root). */
  prefix: string;
  nodeId: number;
  /** broker.session.timeout.ms: the lease TTL of the registration and the election candidacy. */
  sessionTimeoutMs: number;
  uncleanLeaderElection: boolean;
  logger: EtcdMetadataLogger;
  /** How long start-up waits for etcd before giving up. */
  connectTimeoutMs?: number;
  /** Bound on each metadata change (etcd unreachable: the change fails with REQUEST_TIMED_OUT). */
  requestTimeoutMs?: number;
}

interface StoredTopic {
  topicId: string;
  configs: Record<string, string>;
  partitions: PartitionState[];
}

interface StoredBroker {
  host: string;
  port: number;
  rack: string | null;
}

/** Start-up refused: another live broker holds this id. */
export class DuplicateBrokerIdError extends Error {}

const CAS_ATTEMPTS = 8;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function revisionOf(value: string | number | undefined): number {
  return value === undefined ? 0 : Number(value);
}


function foldCollisionChars(name: string): string {
  return name.replace(/\./g, '_');
}

export class EtcdMetadata implements ClusterMetadata {
  readonly clustered = true;
  clusterId = '';
  private readonly client: Etcd3;
  private readonly keys: { clusterId: string; brokers: string; topics: string; topicSet: string; controllerEpoch: string; election: string; all: string };
  private readonly requestTimeoutMs: number;
  private readonly ttlSeconds: number;
  private watcher: Watcher | null = null;
  private closed = false;

  // The view: the latest revision applied per key (puts and deletes), so
  // snapshot reads, watch events and this broker's own writes may arrive in
  // any order and the newest always wins.
  private readonly keyRevisions = new Map<string, number>();
  private readonly topicsByName = new Map<string, { meta: TopicMetadata; modRevision: number }>();
  private readonly brokersById = new Map<number, BrokerRegistration>();
  private readonly candidates = new Map<string, { createRevision: number; nodeId: number }>();
  private topicSetRevision = 0;
  private controllerEpochRevision = 0;
  private controllerEpochValue = 0;
  private lastController = -1;

  private readonly topicListeners = new Set<TopicChangeListener>();
  private readonly brokerListeners = new Set<() => void>();

  // This broker's registration and candidacy.
  private leaseId: string | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private registration: StoredBroker | null = null;
  private campaign: Campaign | null = null;
  /** Set while this broker is the controller: its election key and that key's create revision. */
  private fence: { key: string; createRevision: number } | null = null;
  private reconcileRunning: Promise<void> | null = null;
  private reconcileAgain = false;

  private constructor(private readonly options: EtcdMetadataOptions) {
    const p = options.prefix;
    this.keys = {
      all: `${p}/`,
      clusterId: `${p}/cluster-id`,
      brokers: `${p}/brokers/ids/`,
      topics: `${p}/topics/`,
      topicSet: `${p}/topic-set`,
      controllerEpoch: `${p}/controller-epoch`,
      election: `${p}/election/controller/`,
    };
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.ttlSeconds = Math.max(1, Math.ceil(options.sessionTimeoutMs / 1000));
    const hosts = options.endpoints.map((e) => (/^[a-z]+:\/\//.test(e) ? e : `http://${e}`));
    this.client = new Etcd3({
      hosts,
      dialTimeout: 2000,
      // Unary calls are bounded so a lost etcd fails a change instead of hanging it; streams (watch, keep-alive) are not.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: new Date(Date.now() + this.requestTimeoutMs) }),
      // etcd3's default breaker refuses calls for 5 s after three failures, which keeps a broker from
      // renewing its lease after an etcd restart until the lease expired; half-open after 300 ms instead.
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
      },
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
    // The controller reacts to brokers coming and going (a no-op on the others).
    this.brokerListeners.add(() => this.scheduleReconcile());
  }

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** Connects, reads (or sets) the cluster id, loads the view and starts watching. */
  static async connect(options: EtcdMetadataOptions): Promise<EtcdMetadata> {
    const metadata = new EtcdMetadata(options);
    const deadline = Date.now() + (options.connectTimeoutMs ?? 30_000);
    for (;;) {
      try {
        await metadata.initialize();
        return metadata;
      } catch (err) {
        if (Date.now() > deadline) {
          metadata.client.close();
          throw new Error(`etcd at ${options.endpoints.join(',')} is not reachable: ${(err as Error).message}`);
        }
        options.logger.warn(`waiting for etcd at ${options.endpoints.join(',')}: ${(err as Error).message}`);
        await sleep(1000);
      }
    }
  }

  private async initialize(): Promise<void> {
    const id = randomKafkaUuid();
    const result = await this.client
      .if(this.keys.clusterId, 'Create', '==', 0)
      .then(this.client.put(this.keys.clusterId).value(id))
      .else(this.client.get(this.keys.clusterId))
      .commit();
    this.clusterId = result.succeeded ? id : result.responses[0].response_range.kvs[0].value.toString();
    const revision = await this.refresh();
    this.watcher = await this.client.watch().prefix(this.keys.all).startRevision(String(revision + 1)).create();
    this.watcher.on('put', (kv) => this.applyKv(kv.key.toString(), kv, revisionOf(kv.mod_revision)));
    this.watcher.on('delete', (kv) => this.applyKv(kv.key.toString(), null, revisionOf(kv.mod_revision)));
    this.watcher.on('disconnected', (err) => this.options.logger.warn(`etcd watch disconnected: ${err.message}; serving the last known metadata`));
    this.watcher.on('connected', () => this.options.logger.debug?.('etcd watch connected'));
    this.watcher.on('error', (err) => this.options.logger.warn(`etcd watch failed: ${err.message}`));
  }

  /** Reads the whole prefix at one revision into the view; returns that revision. */
  private async refresh(): Promise<number> {
    const response = await this.client.getAll().prefix(this.keys.all).exec();
    const revision = revisionOf(response.header.revision);
    const present = new Set<string>();
    for (const kv of response.kvs) {
      const key = kv.key.toString();
      present.add(key);
      this.applyKv(key, kv, revisionOf(kv.mod_revision));
    }
    // Keys the view has that the snapshot lacks were deleted at or before its revision.
    const known = [...this.topicsByName.keys()].map((n) => this.keys.topics + n);
    for (const id of this.brokersById.keys()) known.push(this.keys.brokers + id);
    for (const key of this.candidates.keys()) known.push(key);
    for (const key of known) if (!present.has(key)) this.applyKv(key, null, revision);
    return revision;
  }

  /** Applies one key's new state (null: deleted) at `revision`, unless the view already has a newer one. */
  private applyKv(key: string, kv: IKeyValue | null, revision: number): void {
    if (revision <= (this.keyRevisions.get(key) ?? 0)) return;
    this.keyRevisions.set(key, revision);
    try {
      if (key.startsWith(this.keys.topics)) this.applyTopic(key.slice(this.keys.topics.length), kv, revision);
      else if (key.startsWith(this.keys.brokers)) this.applyBroker(key.slice(this.keys.brokers.length), kv);
      else if (key.startsWith(this.keys.election)) this.applyCandidate(key, kv);
      else if (key === this.keys.topicSet) this.topicSetRevision = revision;
      else if (key === this.keys.controllerEpoch) {
        this.controllerEpochRevision = kv ? revision : 0;
        this.controllerEpochValue = kv ? Number(kv.value.toString()) || 0 : 0;
      }
    } catch (err) {
      // A malformed value written by something else must not stop the view.
      this.options.logger.warn(`ignoring malformed metadata at ${key}: ${(err as Error).message}`);
    }
  }

  private applyTopic(name: string, kv: IKeyValue | null, revision: number): void {
    const before = this.topicsByName.get(name)?.meta;
    if (kv === null) {
      if (!before) return;
      this.topicsByName.delete(name);
      this.emit({ kind: 'deleted', topic: before });
      return;
    }
    const stored = JSON.parse(kv.value.toString()) as StoredTopic;
    if (typeof stored.topicId !== 'string' || !Array.isArray(stored.partitions) || stored.partitions.length === 0) throw new Error('not a topic record');
    const meta: TopicMetadata = { name, topicId: stored.topicId, partitionCount: stored.partitions.length, configs: stored.configs ?? {}, partitions: stored.partitions };
    this.topicsByName.set(name, { meta, modRevision: revision });
    if (!before || before.topicId !== meta.topicId) {
      if (before) this.emit({ kind: 'deleted', topic: before });
      this.emit({ kind: 'created', topic: meta });
      return;
    }
    if (meta.partitionCount > before.partitionCount) this.emit({ kind: 'partitions-added', topic: meta, previousPartitionCount: before.partitionCount });
    else if (JSON.stringify(meta.partitions) !== JSON.stringify(before.partitions)) this.emit({ kind: 'partitions-changed', topic: meta });
    if (JSON.stringify(meta.configs) !== JSON.stringify(before.configs)) this.emit({ kind: 'configs-changed', topic: meta });
  }

  private applyBroker(idText: string, kv: IKeyValue | null): void {
    const id = Number(idText);
    if (!Number.isInteger(id)) return;
    if (kv === null) this.brokersById.delete(id);
    else {
      const stored = JSON.parse(kv.value.toString()) as StoredBroker;
      this.brokersById.set(id, { nodeId: id, host: String(stored.host), port: Number(stored.port), rack: stored.rack ?? null, epoch: revisionOf(kv.create_revision) });
    }
    for (const listener of this.brokerListeners) listener();
  }

  private applyCandidate(key: string, kv: IKeyValue | null): void {
    if (kv === null) this.candidates.delete(key);
    else this.candidates.set(key, { createRevision: revisionOf(kv.create_revision), nodeId: Number(kv.value.toString()) });
    const controller = this.controllerId();
    if (controller !== this.lastController) {
      this.options.logger.info(`controller is now broker ${controller}`, { controllerId: controller });
      this.lastController = controller;
    }
  }

  private emit(change: TopicChange): void {
    for (const listener of this.topicListeners) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger.warn(`topic change listener failed: ${(err as Error).message}`);
      }
    }
  }

  // ---- reads (the local view) ----

  topics(): readonly TopicMetadata[] {
    return [...this.topicsByName.values()].map((t) => t.meta);
  }

  topic(name: string): TopicMetadata | undefined {
    return this.topicsByName.get(name)?.meta;
  }

  topicById(topicId: string): TopicMetadata | undefined {
    for (const t of this.topicsByName.values()) if (t.meta.topicId === topicId) return t.meta;
    return undefined;
  }

  brokers(): readonly BrokerRegistration[] {
    return [...this.brokersById.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(id: number): BrokerRegistration | undefined {
    return this.brokersById.get(id);
  }

  controllerId(): number {
    let best: { createRevision: number; nodeId: number } | null = null;
    for (const c of this.candidates.values()) if (best === null || c.createRevision < best.createRevision) best = c;
    return best?.nodeId ?? -1;
  }

  get controllerEpoch(): number {
    return this.controllerEpochValue;
  }

  get isController(): boolean {
    return this.fence !== null;
  }

  onTopicChange(listener: TopicChangeListener): () => void {
    this.topicListeners.add(listener);
    return () => this.topicListeners.delete(listener);
  }

  /** Calls `listener` after each change of the live broker set. */
  onBrokersChange(listener: () => void): () => void {
    this.brokerListeners.add(listener);
    return () => this.brokerListeners.delete(listener);
  }

  pendingDeletions(): readonly TopicMetadata[] {
    // Deletion is one etcd transaction; each broker removes its own directories when it sees it.
    return [];
  }

  finishDeletion(): void {}

  newTopicNameError(name: string): { errorCode: MetadataErrorCode; message: string } | null {
    if (this.topic(name)) return { errorCode: MetadataErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' already exists.` };
    const nameError = topicNameError(name);
    if (nameError) return { errorCode: MetadataErrorCode.INVALID_TOPIC_EXCEPTION, message: nameError };
    const folded = foldCollisionChars(name);
    for (const t of this.topicsByName.keys()) {
      if (foldCollisionChars(t) === folded) return { errorCode: MetadataErrorCode.INVALID_TOPIC_EXCEPTION, message: `Topic '${name}' collides with existing topic: ${t}` };
    }
    return null;
  }

  assignmentError(brokerIds: readonly number[], replicationFactor: number | null): string | null {
    if (brokerIds.length === 0) return 'The manual partition assignment includes an empty replica list.';
    const sorted = [...brokerIds].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++) {
      if (!this.brokersById.has(sorted[i])) return `The manual partition assignment includes broker ${sorted[i]}, but no such broker is registered.`;
      if (i > 0 && sorted[i] === sorted[i - 1]) return `The manual partition assignment includes the broker ${sorted[i]} more than once.`;
    }
    if (replicationFactor !== null && sorted.length !== replicationFactor) {
      return (
        `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not ` +
        `consistent with previous partitions, which have ${replicationFactor} replica(s).`
      );
    }
    return null;
  }

  // ---- changes (compare-and-swap transactions) ----

  /** A new partition's state: the first live replica leads; the ISR is the leader alone (see docs: no replication yet). */
  private newPartition(replicas: number[]): PartitionState {
    const leader = replicas.find((r) => this.brokersById.has(r)) ?? -1;
    return { replicas, leader, leaderEpoch: 0, isr: leader >= 0 ? [leader] : [...replicas], partitionEpoch: 0 };
  }

  private placementFailure(replicationFactor: number): MetadataResult<never> {
    return fail(
      MetadataErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${this.brokersById.size} broker(s) are registered.`,
    );
  }

  async createTopic(
    name: string,
    partitionCount: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
    assignments: ReadonlyArray<readonly number[]> | null = null,
  ): Promise<MetadataResult<TopicMetadata>> {
    return this.withRetries(async () => {
      const nameError = this.newTopicNameError(name);
      if (nameError) return fail(nameError.errorCode, nameError.message);
      let replicas: number[][];
      if (assignments !== null && assignments.length > 0) {
        replicas = assignments.map((a) => [...a]);
      } else {
        if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
          return fail(MetadataErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
        }
        if (!Number.isInteger(partitionCount) || partitionCount < 1) {
          return fail(MetadataErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
        }
        if (partitionCount > PARTITIONS_PER_TOPIC_MAX) {
          return fail(MetadataErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}, got ${partitionCount}.`);
        }
        if (replicationFactor > this.brokersById.size) return this.placementFailure(replicationFactor);
        replicas = assignReplicas(this.placementBrokers(), partitionCount, replicationFactor);
      }
      const topic: TopicMetadata = { name, topicId: randomKafkaUuid(), partitionCount: replicas.length, configs: { ...configs }, partitions: replicas.map((r) => this.newPartition(r)) };
      if (validateOnly) return { ok: true, value: topic };
      const key = this.keys.topics + name;
      const value = JSON.stringify(this.stored(topic));
      const result = await this.client
        .if(key, 'Create', '==', 0)
        .and(this.keys.topicSet, 'Mod', '==', this.topicSetRevision)
        .then(this.client.put(key).value(value), this.client.put(this.keys.topicSet).value(name))
        .commit();
      if (!result.succeeded) return null;
      const revision = revisionOf(result.header.revision);
      this.applyOwnPut(key, value, revision);
      this.applyOwnPut(this.keys.topicSet, name, revision);
      this.scheduleReconcile();
      return { ok: true, value: this.topic(name) ?? topic };
    });
  }

  async deleteTopic(name: string): Promise<MetadataResult<TopicMetadata>> {
    return this.withRetries(async () => {
      const entry = this.topicsByName.get(name);
      if (!entry) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      const key = this.keys.topics + name;
      const result = await this.client
        .if(key, 'Mod', '==', entry.modRevision)
        .and(this.keys.topicSet, 'Mod', '==', this.topicSetRevision)
        .then(this.client.delete().key(key), this.client.put(this.keys.topicSet).value(name))
        .commit();
      if (!result.succeeded) return null;
      const revision = revisionOf(result.header.revision);
      this.applyKv(key, null, revision);
      this.applyOwnPut(this.keys.topicSet, name, revision);
      return { ok: true, value: entry.meta };
    });
  }

  async createPartitions(
    name: string,
    newTotal: number,
    assignments: ReadonlyArray<readonly number[]> | null = null,
    validateOnly = false,
  ): Promise<MetadataResult<TopicMetadata>> {
    return this.updateTopic(name, false, (topic) => {
      const refused = partitionIncreaseError<TopicMetadata>(name, topic.partitionCount, newTotal, assignments);
      if (refused) return refused;
      const current = topic.partitionCount;
      const additional = newTotal - current;
      const partitions = topic.partitions ?? [];
      const replicationFactor = partitions[0]?.replicas.length ?? 1;
      let added: number[][];
      if (assignments !== null) {
        for (const brokerIds of assignments) {
          const error = this.assignmentError(brokerIds, replicationFactor);
          if (error) return fail(MetadataErrorCode.INVALID_REPLICA_ASSIGNMENT, error);
        }
        added = assignments.map((a) => [...a]);
      } else {
        if (replicationFactor > this.brokersById.size) return this.placementFailure(replicationFactor);
        // Kafka continues the pattern from partition 0's first replica, numbering from the current count.
        const ids = this.placementBrokers().map((b) => b.id).sort((a, b) => a - b);
        const first = partitions[0]?.replicas[0] ?? ids[0];
        const startIndex = Math.max(0, ids.findIndex((id) => id >= first));
        added = assignReplicas(this.placementBrokers(), additional, replicationFactor, startIndex, current);
      }
      return { ok: true, value: { ...topic, partitionCount: newTotal, partitions: [...partitions, ...added.map((r) => this.newPartition(r))] } };
    }, validateOnly);
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<MetadataResult<TopicMetadata>> {
    return this.updateTopic(name, false, (topic) => ({ ok: true, value: { ...topic, configs: { ...configs } } }));
  }

  private placementBrokers(): { id: number; rack: string | null }[] {
    return this.brokers().map((b) => ({ id: b.nodeId, rack: b.rack }));
  }

  private stored(topic: TopicMetadata): StoredTopic {
    return { topicId: topic.topicId, configs: topic.configs, partitions: topic.partitions ?? [] };
  }

  private applyOwnPut(key: string, value: string, revision: number): void {
    // A write this broker made is in its view at once (its own next read must see it); the watch brings it again later, ignored.
    this.applyKv(key, { key: Buffer.from(key), value: Buffer.from(value), mod_revision: String(revision), create_revision: String(revision) } as unknown as IKeyValue, revision);
  }

  /** Compare-and-swap on one topic's record; `fenced` adds the controller's election key to the condition. */
  private async updateTopic(
    name: string,
    fenced: boolean,
    change: (topic: TopicMetadata) => MetadataResult<TopicMetadata> | null,
    validateOnly = false,
  ): Promise<MetadataResult<TopicMetadata>> {
    return this.withRetries(async () => {
      const entry = this.topicsByName.get(name);
      if (!entry) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
      const changed = change(entry.meta);
      if (changed === null || !changed.ok || validateOnly) return changed;
      const key = this.keys.topics + name;
      const value = JSON.stringify(this.stored(changed.value));
      let txn = this.client.if(key, 'Mod', '==', entry.modRevision);
      if (fenced) {
        if (!this.fence) return fail(MetadataErrorCode.REQUEST_TIMED_OUT, 'This broker is no longer the controller.');
        txn = txn.and(this.fence.key, 'Create', '==', this.fence.createRevision);
      }
      const result = await txn.then(this.client.put(key).value(value)).commit();
      if (!result.succeeded) return null;
      this.applyOwnPut(key, value, revisionOf(result.header.revision));
      return { ok: true, value: this.topic(name) ?? changed.value };
    });
  }

  /**
   * Runs a compare-and-swap attempt until it commits or decides (a result), re-reading
   * the view after each lost race; etcd unreachable ends it with REQUEST_TIMED_OUT.
   */
  private async withRetries(attempt: () => Promise<MetadataResult<TopicMetadata> | null>): Promise<MetadataResult<TopicMetadata>> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      try {
        const result = await attempt();
        if (result !== null) return result;
        await this.refresh();
      } catch (err) {
        this.options.logger.warn(`metadata change failed: ${(err as Error).message}`);
        return fail(MetadataErrorCode.REQUEST_TIMED_OUT, `The metadata store (etcd) is not available: ${(err as Error).message}`);
      }
    }
    return fail(MetadataErrorCode.REQUEST_TIMED_OUT, 'The metadata changed concurrently too many times; try again.');
  }

  // ---- producer ids ----

  /**
   * Reserves the next block of producer ids for this broker (compare-and-swap
   * on the cluster's last block, Kafka's /latest_producer_id_block layout).
   */
  async reserveProducerIdBlock(size: number): Promise<{ start: number; end: number }> {
    const key = `${this.options.prefix}/latest-producer-id-block`;
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const got = await this.client.get(key).exec();
      const kv = got.kvs[0];
      const last = kv ? Number((JSON.parse(kv.value.toString()) as { block_end?: string }).block_end) : -1;
      if (!Number.isSafeInteger(last) || last < -1) throw new Error(`${key} holds no producer id block`);
      const start = last + 1;
      const end = start + size - 1;
      const value = JSON.stringify({ version: 1, broker: this.options.nodeId, block_start: String(start), block_end: String(end) });
      const txn = kv ? this.client.if(key, 'Mod', '==', revisionOf(kv.mod_revision)) : this.client.if(key, 'Create', '==', 0);
      const result = await txn.then(this.client.put(key).value(value)).commit();
      if (result.succeeded) return { start, end };
    }
    throw new Error('producer id blocks changed concurrently too many times');
  }

  // ---- this broker's registration ----

  /**
   * Registers this broker under a lease kept alive in the background. An id
   * held by a live broker is refused; a registration left by this id's
   * previous run (killed) is waited out until its lease expires.
   *
   * The keep-alive is this class's own rather than etcd3's Lease: that one
   * gives a lease up after two TTLs without an answer, so an etcd restart
   * longer than that would drop every registration (and move every leader)
   * although etcd extends the leases it restores. Here the same lease is kept
   * alive again once etcd answers; only a lease etcd says expired is replaced.
   */
  async register(self: StoredBroker): Promise<void> {
    this.registration = self;
    const key = this.keys.brokers + this.options.nodeId;
    const deadline = Date.now() + this.options.sessionTimeoutMs + 2000;
    for (;;) {
      const granted = await this.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds });
      const leaseId = granted.ID;
      const value = JSON.stringify(self);
      const result = await this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(value).lease(leaseId))
        .else(this.client.get(key))
        .commit();
      if (result.succeeded) {
        this.leaseId = leaseId;
        this.applyOwnPut(key, value, revisionOf(result.header.revision));
        this.startKeepAlive();
        this.options.logger.info(`registered as broker ${this.options.nodeId} in etcd (epoch ${result.header.revision})`, { nodeId: this.options.nodeId });
        return;
      }
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
      if (Date.now() > deadline) {
        const holder = result.responses[0].response_range.kvs[0]?.value.toString() ?? '?';
        throw new DuplicateBrokerIdError(
          `broker id ${this.options.nodeId} is already registered by a live broker (${holder}) under ${this.options.prefix || '/'}: each broker needs its own node.id`,
        );
      }
      await sleep(250);
    }
  }

  private startKeepAlive(): void {
    if (this.keepAliveTimer) return;
    let failing = false;
    const tick = async () => {
      const id = this.leaseId;
      if (this.closed || id === null) return;
      try {
        const alive = await this.keepAliveOnce(id);
        if (failing) this.options.logger.info('etcd answers again; registration kept');
        failing = false;
        if (!alive && this.leaseId === id) {
          this.leaseId = null;
          this.options.logger.warn('broker registration expired in etcd; registering again');
          await this.reregister();
        }
      } catch (err) {
        if (!failing) this.options.logger.warn(`etcd keep-alive failed (${(err as Error).message}); serving the last known metadata`);
        failing = true;
      }
    };
    this.keepAliveTimer = setInterval(() => void tick(), Math.max(300, Math.floor((this.ttlSeconds * 1000) / 3)));
    this.keepAliveTimer.unref();
  }

  /** One keep-alive of the lease; false when etcd says it expired. */
  private async keepAliveOnce(id: string): Promise<boolean> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      return await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('keep-alive timed out')), this.requestTimeoutMs);
        stream.on('data', (res: { TTL: string | number }) => {
          clearTimeout(timer);
          resolve(Number(res.TTL) > 0);
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.write({ ID: id });
      });
    } finally {
      stream.end();
    }
  }

  private async reregister(): Promise<void> {
    while (!this.closed && this.leaseId === null && this.registration) {
      try {
        await this.register(this.registration);
        return;
      } catch (err) {
        this.options.logger.warn(`registering again failed: ${(err as Error).message}`);
        await sleep(1000);
      }
    }
  }

  // ---- the controller ----

  /** Campaigns for the controller role for as long as the broker runs. */
  startController(): void {
    if (this.closed) return;
    // etcd3's Election keeps candidates under <namespace>election/<name>/: here <prefix>/election/controller/.
    const campaign = this.client.namespace(`${this.options.prefix}/`).election('controller', this.ttlSeconds).campaign(String(this.options.nodeId));
    this.campaign = campaign;
    campaign.on('elected', () => void this.becomeController(campaign));
    campaign.on('error', (err) => {
      if (this.campaign !== campaign) return;
      this.fence = null;
      this.campaign = null;
      if (this.closed) return;
      this.options.logger.warn(`controller candidacy lost (${err.message}); campaigning again`);
      campaign.resign().catch(() => undefined);
      setTimeout(() => this.startController(), 1000).unref();
    });
  }

  private async becomeController(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const got = await this.client.get(key).exec();
      const kv = got.kvs[0];
      if (!kv || this.campaign !== campaign) return;
      const fence = { key, createRevision: revisionOf(kv.create_revision) };
      // The epoch goes up once per controller, conditioned on this controller's key.
      for (;;) {
        const epoch = this.controllerEpochValue + 1;
        const result = await this.client
          .if(this.keys.controllerEpoch, 'Mod', '==', this.controllerEpochRevision)
          .and(fence.key, 'Create', '==', fence.createRevision)
          .then(this.client.put(this.keys.controllerEpoch).value(String(epoch)))
          .commit();
        if (result.succeeded) {
          this.applyOwnPut(this.keys.controllerEpoch, String(epoch), revisionOf(result.header.revision));
          break;
        }
        await this.refresh();
        if (!this.candidates.has(key)) return;
      }
      this.fence = fence;
      this.options.logger.info(`this broker (${this.options.nodeId}) is the controller, epoch ${this.controllerEpochValue}`, { controllerEpoch: this.controllerEpochValue });
      this.scheduleReconcile();
    } catch (err) {
      this.options.logger.warn(`taking the controller role failed: ${(err as Error).message}`);
      campaign.emit('error', err);
    }
  }

  /** Runs a leadership pass now, or again after the running one. */
  scheduleReconcile(): void {
    if (!this.fence) return;
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    this.reconcileRunning = this.reconcile()
      .catch((err: Error) => this.options.logger.warn(`controller pass failed: ${err.message}`))
      .finally(() => {
        this.reconcileRunning = null;
        if (this.reconcileAgain) {
          this.reconcileAgain = false;
          this.scheduleReconcile();
        }
      });
  }

  /** Elects leaders for partitions whose leader is gone and drops dead brokers from ISRs (see leader-election.ts). */
  private async reconcile(): Promise<void> {
    let retry = false;
    for (const name of [...this.topicsByName.keys()]) {
      if (!this.fence) return;
      const entry = this.topicsByName.get(name);
      if (!entry) continue;
      const live = new Set(this.brokersById.keys());
      const next = electLeaders(entry.meta.partitions ?? [], live, this.options.uncleanLeaderElection);
      if (next === null) continue;
      const result = await this.updateTopic(name, true, (topic) => {
        const again = electLeaders(topic.partitions ?? [], new Set(this.brokersById.keys()), this.options.uncleanLeaderElection);
        return again === null ? { ok: true, value: topic } : { ok: true, value: { ...topic, partitions: again } };
      });
      if (!result.ok) {
        retry = true;
        continue;
      }
      for (const [p, state] of (result.value.partitions ?? []).entries()) {
        const before = entry.meta.partitions?.[p];
        if (before && before.leader !== state.leader) {
          this.options.logger.info(`${name}-${p}: leader ${before.leader} -> ${state.leader} (epoch ${state.leaderEpoch}), isr [${state.isr.join(',')}]`);
        }
      }
    }
    if (retry) {
      // A controller whose election key is gone (its lease expired) was deposed: it stops and campaigns again.
      if (this.fence && !this.candidates.has(this.fence.key)) {
        this.options.logger.warn('this broker is no longer the controller (its election key expired); campaigning again');
        this.campaign?.emit('error', new Error('election key expired'));
        return;
      }
      await sleep(500);
      this.reconcileAgain = true;
    }
  }

  /** Stops campaigning and deregisters (the lease is revoked, so the registration goes at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fence = null;
    const campaign = this.campaign;
    this.campaign = null;
    const leaseId = this.leaseId;
    this.leaseId = null;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    await Promise.allSettled([campaign?.resign(), leaseId === null ? undefined : this.client.leaseClient.leaseRevoke({ ID: leaseId }), this.watcher?.cancel()]);
    this.client.close();
  }
}
