// A Samsa broker: configuration, logs, topic metadata, request handlers and
// the listener, started and stopped as one. `Broker.start({ port: 0, dataDir })`
// is the embedding entry point for test runners; `broker.bootstrap` is what
// clients connect to; `close()` may be called any number of times.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalMetadata, writeMetaProperties, writePartitionMetadata, writePartitionMetadataAsync, type MetadataResult, type TopicChange, type TopicMetadata } from '../cluster/local-metadata.js';
import type { ClusterMetadata } from '../cluster/metadata.js';
// Loaded only in cluster mode: the etcd client (gRPC) is no start-up cost for a broker alone.
import type { EtcdMetadata } from '../cluster/etcd-metadata.js';
import { ReplicaManager } from './replica-manager.js';
import { brokerConfigFromProperties, DEFAULT_BROKER_PROPERTIES, requireNodeIdInCluster, type BrokerConfig } from '../config/broker-config.js';
import { Dispatcher } from '../net/dispatcher.js';
import { apiVersionsHandler } from '../net/handlers/18-api-versions.js';
import { metadataHandler } from '../net/handlers/03-metadata.js';
import { createTopicsHandler } from '../net/handlers/19-create-topics.js';
import { produceHandler } from '../net/handlers/00-produce.js';
import { fetchHandler, type FetchSessions } from '../net/handlers/01-fetch.js';
import { listOffsetsHandler } from '../net/handlers/02-list-offsets.js';
import { describeConfigsHandler } from '../net/handlers/32-describe-configs.js';
import { alterConfigsHandler } from '../net/handlers/33-alter-configs.js';
import { incrementalAlterConfigsHandler } from '../net/handlers/44-incremental-alter-configs.js';
import { DynamicBrokerConfigs } from '../config/dynamic-broker-configs.js';
import { ConfigAdmin } from './config-admin.js';
import { initProducerIdHandler } from '../net/handlers/22-init-producer-id.js';
import { ClusterProducerIds, ProducerIdManager, type ProducerIdSource } from '../cluster/producer-id-manager.js';
import { Listener } from '../net/listener.js';
import { LogManager } from '../storage/log-manager.js';
import { withTopicOverrides, type LogConfig } from '../storage/log-config.js';
import type { LogLogger } from '../storage/log.js';
import { createLogger } from '../observability/logger.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import { FetchWaiters } from './fetch-waiters.js';
import { KAFKA_PROPERTIES_IGNORED } from '../config/broker-config.js';
import { deleteTopic, reconcileTopicLogs } from './topic-lifecycle.js';
import { createPartitionsHandler } from '../net/handlers/37-create-partitions.js';
import { deleteRecordsHandler } from '../net/handlers/21-delete-records.js';
import { deleteTopicsHandler } from '../net/handlers/20-delete-topics.js';
import { describeClusterHandler } from '../net/handlers/60-describe-cluster.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { systemClock, type Clock } from '../storage/clock.js';
import { startConsumerGroups, type ConsumerGroups } from './consumer-groups.js';
import { consumerGroupHeartbeatHandler } from '../net/handlers/68-consumer-group-heartbeat.js';
import { consumerGroupDescribeHandler } from '../net/handlers/69-consumer-group-describe.js';
import { OffsetsTopicStore } from '../coordinator/offsets-topic-store.js';
import { GroupCoordinator } from '../coordinator/group-coordinator.js';
import { SystemTimer } from '../coordinator/timer.js';
import { fsyncDirAsync } from '../storage/checkpoint.js';
import { findCoordinatorHandler } from '../net/handlers/10-find-coordinator.js';
import { joinGroupHandler } from '../net/handlers/11-join-group.js';
import { heartbeatHandler } from '../net/handlers/12-heartbeat.js';
import { leaveGroupHandler } from '../net/handlers/13-leave-group.js';
import { syncGroupHandler } from '../net/handlers/14-sync-group.js';
import { describeGroupsHandler } from '../net/handlers/15-describe-groups.js';
import { listGroupsHandler } from '../net/handlers/16-list-groups.js';
import { deleteGroupsHandler } from '../net/handlers/42-delete-groups.js';
import { offsetCommitHandler } from '../net/handlers/08-offset-commit.js';
import { offsetFetchHandler } from '../net/handlers/09-offset-fetch.js';
import { offsetDeleteHandler } from '../net/handlers/47-offset-delete.js';

export interface BrokerOptions {
  /** Overrides the port of the first listener (0 picks a free one). */
  port?: number;
  host?: string;
  /** Overrides log.dirs with one directory. */
  dataDir?: string;
  /** server.properties entries (Kafka names), on top of Samsa's defaults. */
  properties?: Record<string, string>;
  /** Default: pino, configured by SAMSA_LOG_LEVEL and SAMSA_LOG_FORMAT (src/observability/logger.ts). */
  logger?: LogLogger;
  /** performance.now() at which "ready in N ms" starts counting (the CLI passes 0, the process start); default: this call. */
  readySinceMs?: number;
  /** Time for fetch session eviction and group timestamps (tests advance a ManualClock instead of waiting minutes). */
  clock?: Clock;
}

export interface AdvertisedBroker {
  nodeId: number;
  host: string;
  port: number;
}

/** What request handlers may use. */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly metadata: ClusterMetadata;
  /** Which partitions this broker holds and leads (in a cluster; a broker alone leads them all). */
  readonly replicas: ReplicaManager;
  readonly logs: LogManager;
  readonly fetchWaiters: FetchWaiters;
  readonly fetchSessions: FetchSessions;
  readonly self: AdvertisedBroker;
  /** Describe/alter topic and broker configs (the configs APIs, CreateTopics validation). */
  readonly configs: ConfigAdmin;
  /** Consumer groups and committed offsets (FindCoordinator, JoinGroup, OffsetCommit, ...). */
  readonly groupCoordinator: GroupCoordinator;
  topicLogConfig(topic: string): LogConfig;
  /** Creates the partition logs of a topic that metadata already has (those missing). */
  materializeTopic(topic: TopicMetadata): void;
  /** Deletes a topic from metadata and renames its partition directories for removal (see topic-lifecycle.ts). */
  deleteTopic(name: string): Promise<MetadataResult<TopicMetadata>>;
  /** Where the group coordinator keeps groups and committed offsets: `__consumer_offsets`. */
  readonly coordinatorStore: OffsetsTopicStore;
}

export class Broker implements BrokerServices {
  private listener: Listener | null = null;
  private metrics: BrokerMetrics | null = null;
  private closing: Promise<void> | null = null;
  /** KIP-848 consumer groups (ConsumerGroupHeartbeat); set during start. */
  consumerGroups: ConsumerGroups | null = null;
  self: AdvertisedBroker = { nodeId: 0, host: '', port: 0 };
  readonly configs: ConfigAdmin;
  readonly coordinatorStore: OffsetsTopicStore;
  readonly groupCoordinator: GroupCoordinator;
  readonly replicas: ReplicaManager;

  private constructor(
    readonly config: BrokerConfig,
    readonly metadata: ClusterMetadata,
    readonly logs: LogManager,
    readonly fetchWaiters: FetchWaiters,
    readonly fetchSessions: FetchSessions,
    readonly logger: LogLogger,
    dynamicConfigs: DynamicBrokerConfigs,
    clock: Clock | undefined,
  ) {
    this.configs = new ConfigAdmin(config, metadata, logs, dynamicConfigs);
    this.replicas = new ReplicaManager(config.nodeId, metadata, logs, logger);
    if (config.offsetsTopicReplicationFactor > 1 && !metadata.clustered) {
      logger.warn(`offsets.topic.replication.factor=${config.offsetsTopicReplicationFactor}: a broker alone holds one replica; __consumer_offsets is created with 1`);
    }
    this.coordinatorStore = new OffsetsTopicStore({
      metadata,
      logs,
      materializeTopic: (topic) => this.materializeTopic(topic),
      materializeTopicAsync: (topic) => this.materializeTopicAsync(topic),
      materializePartition: (topic, partition) => this.materializePartition(topic, partition),
      config: {
        numPartitions: config.offsetsTopicNumPartitions,
        replicationFactor: metadata.clustered ? config.offsetsTopicReplicationFactor : 1,
        segmentBytes: config.offsetsTopicSegmentBytes,
      },
      logger,
      // Batch timestamps follow the logs' own clock (their timestamp checks use it); the
      // coordinator's clock (commit timestamps, retention) is the injected one.
    });
    this.groupCoordinator = new GroupCoordinator({
      // Classic groups and every committed offset live in __consumer_offsets, beside the KIP-848 groups.
      store: this.coordinatorStore,
      clock: clock ?? systemClock,
      timer: new SystemTimer(),
      logger,
      config: {
        minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        maxSize: config.groupMaxSize,
        offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
        offsetsRetentionMs: config.offsetsRetentionMs,
        offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
      },
    });
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const startMs = options.readySinceMs ?? performance.now();
    const logger = options.logger ?? createLogger();
    const properties: Record<string, string> = { ...DEFAULT_BROKER_PROPERTIES, ...options.properties };
    const userSet = (k: string) => options.properties?.[k] !== undefined;
    requireNodeIdInCluster(new Map(Object.entries(properties)), userSet);
    // broker.id alone names the broker (the default node.id would otherwise win).
    if (userSet('broker.id') && !userSet('node.id')) delete properties['node.id'];
    if (options.dataDir !== undefined) properties['log.dirs'] = options.dataDir;
    if (options.port !== undefined || options.host !== undefined) {
      const first = brokerConfigFromProperties(properties).listeners[0];
      properties.listeners = `${first.name}://${options.host ?? first.host}:${options.port ?? first.port}`;
      if (properties['advertised.listeners'] === undefined) delete properties['advertised.listeners'];
    }
    const config = brokerConfigFromProperties(properties);
    logUnusedProperties(config, logger);
    const metadata = config.etcdEndpoints.length > 0 ? await openClusterMetadata(config, logger) : LocalMetadata.open(config.logDirs.map((d) => path.resolve(d)), config.nodeId);
    metadata.onTopicChange((change) => logTopicChange(change, logger));
    // Broker configs set at runtime (AlterConfigs) outrank server.properties, as in Kafka.
    const dynamicConfigs = DynamicBrokerConfigs.open(path.resolve(config.logDirs[0]));
    config.log = ConfigAdmin.effectiveLogConfig(config, dynamicConfigs);
    const topicConfig = (topic: string) => {
      const t = metadata.topic(topic);
      return t ? withTopicOverrides(config.log, t.configs) : config.log;
    };
    const logs = await LogManager.open({
      logDirs: config.logDirs,
      config: config.log,
      topicConfig,
      logger,
      retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
      producerIdExpirationMs: config.producerIdExpirationMs,
      producerIdExpirationCheckIntervalMs: config.producerIdExpirationCheckIntervalMs,
      cleaner: config.cleaner,
    });
    // In a cluster every broker takes blocks from etcd, so no two hand out the same id.
    const producerIds: ProducerIdSource = metadata.clustered
      ? new ClusterProducerIds((size) => (metadata as EtcdMetadata).reserveProducerIdBlock(size))
      : ProducerIdManager.open(path.resolve(config.logDirs[0]), config.nodeId);
    const fetchSessions: FetchSessions = new FetchSessionCache({ slotsMax: config.maxIncrementalFetchSessionCacheSlots, clock: options.clock });
    const broker = new Broker(config, metadata, logs, new FetchWaiters(), fetchSessions, logger, dynamicConfigs, options.clock);
    // In a cluster, topics change on other brokers too: this broker follows its view.
    metadata.onTopicChange((change) => broker.replicas.onTopicChange(change, (t) => broker.materializeTopic(t), (name) => broker.configs.refreshTopic(name)));
    await reconcileTopicLogs(metadata, logs, logger, (topic) => broker.materializeTopic(topic));
    const dispatcher = new Dispatcher(logger);
    dispatcher.register(produceHandler(broker, logger));
    dispatcher.register(fetchHandler(broker));
    dispatcher.register(listOffsetsHandler(broker));
    dispatcher.register(apiVersionsHandler(dispatcher));
    dispatcher.register(metadataHandler(broker));
    dispatcher.register(createTopicsHandler(broker));
    dispatcher.register(deleteTopicsHandler(broker));
    dispatcher.register(deleteRecordsHandler(broker));
    dispatcher.register(createPartitionsHandler(broker));
    dispatcher.register(describeClusterHandler(broker));
    dispatcher.register(describeConfigsHandler(broker));
    dispatcher.register(alterConfigsHandler(broker));
    dispatcher.register(incrementalAlterConfigsHandler(broker));
    dispatcher.register(initProducerIdHandler(producerIds, logger));
    // KIP-848 consumer groups: they load in the group coordinator's pass below.
    broker.consumerGroups = startConsumerGroups(config, metadata, broker.coordinatorStore, broker.groupCoordinator, options.clock ?? systemClock, logger);
    if (config.groupCoordinatorRebalanceProtocols.includes('consumer')) {
      dispatcher.register(consumerGroupHeartbeatHandler(broker.consumerGroups.coordinator));
      dispatcher.register(consumerGroupDescribeHandler(broker.consumerGroups.coordinator));
    }
    dispatcher.register(findCoordinatorHandler(broker));
    dispatcher.register(joinGroupHandler(broker));
    dispatcher.register(heartbeatHandler(broker));
    dispatcher.register(leaveGroupHandler(broker));
    dispatcher.register(syncGroupHandler(broker));
    dispatcher.register(describeGroupsHandler(broker));
    dispatcher.register(listGroupsHandler(broker));
    dispatcher.register(deleteGroupsHandler(broker));
    dispatcher.register(offsetCommitHandler(broker));
    dispatcher.register(offsetFetchHandler(broker));
    dispatcher.register(offsetDeleteHandler(broker));
    // Groups load in the background; until their partition is loaded they answer COORDINATOR_LOAD_IN_PROGRESS.
    void broker.groupCoordinator.load().catch((err: Error) => logger.warn(`group coordinator: loading failed: ${err.message}`));
    // A deleted topic's committed offsets go with it (tombstones in __consumer_offsets).
    metadata.onTopicChange((change) => {
      if (change.kind === 'deleted') void broker.groupCoordinator.onTopicDeleted(change.topic.name);
    });
    const endpoint = config.listeners[0];
    broker.listener = await Listener.start({
      host: endpoint.host === '' ? '0.0.0.0' : endpoint.host,
      port: endpoint.port,
      handler: dispatcher.handle,
      maxConnections: config.maxConnections,
      connection: { requestBytesMax: config.socketRequestMaxBytes, idleMsMax: config.connectionsMaxIdleMs, senderMode: config.socketSenderMode },
      logger,
    }).catch(async (err: Error) => {
      // A port in use must not leave the logs open (their timers would keep an embedding process alive).
      await broker.close();
      throw err;
    });
    const advertised = config.advertisedListeners.find((l) => l.name === endpoint.name) ?? endpoint;
    const boundPort = broker.listener.port;
    broker.self = {
      nodeId: config.nodeId,
      host: advertised.host !== '' && advertised.host !== '0.0.0.0' ? advertised.host : endpoint.host || os.hostname(),
      // An ephemeral listener (port 0) advertises the port it got.
      port: advertised === endpoint || advertised.port === 0 ? boundPort : advertised.port,
    };
    if (metadata instanceof LocalMetadata) metadata.self = { ...broker.self, rack: config.brokerRack, epoch: 0 };
    if (metadata.clustered) {
      const cluster = metadata as EtcdMetadata;
      // Registered once clients can connect; a live broker with the same id stops this one.
      try {
        await cluster.register({ host: broker.self.host, port: broker.self.port, rack: config.brokerRack });
      } catch (err) {
        await broker.close();
        throw err;
      }
      cluster.startController();
    }
    await broker.startMetrics(dispatcher);
    logReady(broker, `${endpoint.host || '0.0.0.0'}:${boundPort}`, performance.now() - startMs);
    return broker;
  }

  /** The metrics endpoint, when metrics.port is set; a failure to bind stops the broker again. */
  private async startMetrics(dispatcher: Dispatcher): Promise<void> {
    if (this.config.metricsPort === 0) return;
    try {
      const { BrokerMetrics } = await import('../observability/metrics.js');
      this.metrics = await BrokerMetrics.start({
        host: this.config.metricsHost,
        port: this.config.metricsPort,
        logger: this.logger,
        sources: {
          openConnections: () => this.listener?.connectionCount ?? 0,
          partitionLogs: () => this.logs.allLogs(),
          fetchSessions: () => this.fetchSessions,
          logCleaner: () => this.logs.cleaner?.stats() ?? null,
        },
      });
    } catch (err) {
      await this.close();
      throw new Error(`metrics.port ${this.config.metricsPort}: ${(err as Error).message}`);
    }
    dispatcher.setObserver(this.metrics);
  }

  /** host:port as clients should dial it (the advertised listener). */
  get bootstrap(): string {
    const host = this.self.host.includes(':') ? `[${this.self.host}]` : this.self.host;
    return `${host}:${this.self.port}`;
  }

  /** The port /metrics listens on, or null when metrics are off. */
  get metricsPort(): number | null {
    return this.metrics?.port ?? null;
  }

  get port(): number {
    return this.self.port;
  }

  /** The port the listener is bound to; differs from `port` when advertised.listeners names another (a proxy in tests). */
  get boundPort(): number {
    return this.listener?.port ?? 0;
  }

  topicLogConfig(topic: string): LogConfig {
    const t = this.metadata.topic(topic);
    return t ? withTopicOverrides(this.config.log, t.configs) : this.config.log;
  }

  materializeTopic(topic: TopicMetadata): void {
    const config = this.topicLogConfig(topic.name);
    for (let p = 0; p < topic.partitionCount; p++) {
      if (this.logs.getLog(topic.name, p)) continue;
      // In a cluster only the assigned replicas hold a log.
      if (!this.replicas.isReplica(topic, p)) continue;
      const log = this.logs.getOrCreateLog(topic.name, p, config);
      writePartitionMetadata(log.dir, topic.topicId);
    }
  }

  /**
   * materializeTopic spread over event-loop turns, for a topic with many
   * partitions created while clients are served (`__consumer_offsets`, 50 by
   * default): one log per turn (opening one preallocates its segment and
   * indexes, a few ms), partition.metadata written and fsynced on the libuv
   * pool, then one fsync per log dir for the new directories. A crash midway
   * leaves a loadable state: start-up (reconcileTopicLogs) creates the
   * partitions metadata has and the log dirs lack, and writes a missing or
   * torn partition.metadata.
   */
  async materializeTopicAsync(topic: TopicMetadata): Promise<void> {
    const config = this.topicLogConfig(topic.name);
    const writes: Array<Promise<void>> = [];
    const parents = new Set<string>();
    for (let p = 0; p < topic.partitionCount; p++) {
      if (this.closing) break;
      if (this.logs.getLog(topic.name, p)) continue;
      // In a cluster only the assigned replicas hold a log.
      if (!this.replicas.isReplica(topic, p)) continue;
      const log = this.logs.getOrCreateLog(topic.name, p, config);
      parents.add(path.dirname(log.dir));
      writes.push(writePartitionMetadataAsync(log.dir, topic.topicId));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
    await Promise.all([...parents].map((dir) => fsyncDirAsync(dir)));
  }

  /** One partition's log now (the coordinator's first append to it), the way materializeTopic makes it. */
  materializePartition(topic: TopicMetadata, partition: number): void {
    if (this.logs.getLog(topic.name, partition)) return;
    if (!this.replicas.isReplica(topic, partition)) return;
    const log = this.logs.getOrCreateLog(topic.name, partition, this.topicLogConfig(topic.name));
    writePartitionMetadata(log.dir, topic.topicId);
  }

  async deleteTopic(name: string): Promise<MetadataResult<TopicMetadata>> {
    // In a cluster the deletion is one etcd transaction; every broker (this one at once) then sets its directories aside.
    if (this.metadata.clustered) return (this.metadata as EtcdMetadata).deleteTopic(name);
    return deleteTopic(this.metadata as LocalMetadata, this.logs, this.logger, name);
  }

  /** Graceful stop: answer what was read, close connections, flush and checkpoint the logs. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const startMs = performance.now();
    this.logger.info('stopping', { nodeId: this.config.nodeId });
    this.fetchWaiters.close();
    this.consumerGroups?.stop();
    this.groupCoordinator.close();
    if (this.listener) await this.listener.close();
    this.listener = null;
    if (this.metrics) await this.metrics.close();
    this.metrics = null;
    // Deregistering first lets the controller move leadership at once rather than after the session timeout.
    if (this.metadata.clustered) await (this.metadata as EtcdMetadata).close();
    await this.logs.close();
    const stopMs = Math.round(performance.now() - startMs);
    this.logger.info(`stopped in ${stopMs} ms`, { nodeId: this.config.nodeId, stopMs });
  }
}

/** Cluster mode: the view of the cluster's metadata in etcd, and this broker's meta.properties with the cluster id. */
async function openClusterMetadata(config: BrokerConfig, logger: LogLogger): Promise<EtcdMetadata> {
  const { EtcdMetadata } = await import('../cluster/etcd-metadata.js');
  const metadata = await EtcdMetadata.connect({
    endpoints: config.etcdEndpoints,
    prefix: config.etcdPrefix,
    nodeId: config.nodeId,
    sessionTimeoutMs: config.brokerSessionTimeoutMs,
    uncleanLeaderElection: config.uncleanLeaderElectionEnable,
    logger,
  });
  try {
    for (const dir of config.logDirs.map((d) => path.resolve(d))) {
      fs.mkdirSync(dir, { recursive: true });
      writeMetaProperties(dir, metadata.clusterId, config.nodeId);
    }
  } catch (err) {
    await metadata.close();
    throw err;
  }
  return metadata;
}

/** The one start-up line: listener, data dirs, cluster, and how long it took. */
function logReady(broker: Broker, listening: string, readyMs: number): void {
  const dataDirs = broker.config.logDirs.map((d) => path.resolve(d));
  const metrics = broker.metricsPort === null ? '' : `, metrics on http://${broker.config.metricsHost || '0.0.0.0'}:${broker.metricsPort}/metrics`;
  broker.logger.info(
    `ready in ${Math.round(readyMs)} ms: listening on ${listening}, data in ${dataDirs.join(',')}, cluster ${broker.metadata.clusterId}, node ${broker.config.nodeId}${metrics}`,
    { listener: listening, advertised: broker.bootstrap, dataDirs, clusterId: broker.metadata.clusterId, nodeId: broker.config.nodeId, readyMs: Math.round(readyMs), metricsPort: broker.metricsPort },
  );
}

/** Kafka properties Samsa ignores on purpose get one info line; anything else is likely a typo and gets a warning. */
function logUnusedProperties(config: BrokerConfig, logger: LogLogger): void {
  const ignored = [...config.unknown.keys()].filter((k) => KAFKA_PROPERTIES_IGNORED.has(k));
  const unknown = [...config.unknown.keys()].filter((k) => !KAFKA_PROPERTIES_IGNORED.has(k));
  if (ignored.length > 0) logger.info(`Kafka properties not used by Samsa: ${ignored.join(', ')}`, { properties: ignored });
  for (const name of unknown) logger.warn(`unknown property ${name} (ignored)`, { property: name });
}

function logTopicChange(change: TopicChange, logger: LogLogger): void {
  const { name, topicId, partitionCount } = change.topic;
  const fields = { topic: name, topicId, partitionCount };
  if (change.kind === 'created') logger.info(`topic ${name} created with ${partitionCount} partition(s)`, fields);
  else if (change.kind === 'deleted') logger.info(`topic ${name} deleted`, fields);
  else if (change.kind === 'partitions-added') {
    logger.info(`topic ${name}: partitions ${change.previousPartitionCount} -> ${partitionCount}`, { ...fields, previousPartitionCount: change.previousPartitionCount });
  } else if (change.kind === 'configs-changed') logger.info(`topic ${name}: configs changed`, { ...fields, configs: change.topic.configs });
}
