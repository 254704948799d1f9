// A Samsa broker: configuration, logs, topic metadata, request handlers and
// the listener, started and stopped as one. `Broker.start({ port: 0, dataDir })`
// is the embedding entry point for test runners.
import os from 'node:os';
import path from 'node:path';
import { LocalMetadata, writePartitionMetadata, type MetadataResult, type TopicMetadata } from '../cluster/local-metadata.js';
import { brokerConfigFromProperties, DEFAULT_BROKER_PROPERTIES, type BrokerConfig } from '../config/broker-config.js';
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
import { ProducerIdManager } from '../cluster/producer-id-manager.js';
import { Listener } from '../net/listener.js';
import { LogManager } from '../storage/log-manager.js';
import { withTopicOverrides, type LogConfig } from '../storage/log-config.js';
import { consoleLogger, type LogLogger } from '../storage/log.js';
import { FetchWaiters } from './fetch-waiters.js';
import { deleteTopic, reconcileTopicLogs } from './topic-lifecycle.js';
import { createPartitionsHandler } from '../net/handlers/37-create-partitions.js';
import { deleteRecordsHandler } from '../net/handlers/21-delete-records.js';
import { deleteTopicsHandler } from '../net/handlers/20-delete-topics.js';
import { describeClusterHandler } from '../net/handlers/60-describe-cluster.js';
import { FetchSessionCache } from './fetch-sessions.js';
import type { Clock } from '../storage/clock.js';

export interface BrokerOptions {
  /** Overrides the port of the first listener (0 picks a free one). */
  port?: number;
  host?: string;
  /** Overrides log.dirs with one directory. */
  dataDir?: string;
  /** server.properties entries (Kafka names), on top of Samsa's defaults. */
  properties?: Record<string, string>;
  logger?: LogLogger;
  /** Time for fetch session eviction (tests advance a ManualClock instead of waiting minutes). */
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
  readonly metadata: LocalMetadata;
  readonly logs: LogManager;
  readonly fetchWaiters: FetchWaiters;
  readonly fetchSessions: FetchSessions;
  readonly self: AdvertisedBroker;
  /** Describe/alter topic and broker configs (the configs APIs, CreateTopics validation). */
  readonly configs: ConfigAdmin;
  topicLogConfig(topic: string): LogConfig;
  /** Creates the partition logs of a topic that metadata already has (those missing). */
  materializeTopic(topic: TopicMetadata): void;
  /** Deletes a topic from metadata and its partition directories; resolves when its logs are closed. */
  deleteTopic(name: string): Promise<MetadataResult<TopicMetadata>>;
}

export class Broker implements BrokerServices {
  private listener: Listener | null = null;
  self: AdvertisedBroker = { nodeId: 0, host: '', port: 0 };
  readonly configs: ConfigAdmin;

  private constructor(
    readonly config: BrokerConfig,
    readonly metadata: LocalMetadata,
    readonly logs: LogManager,
    readonly fetchWaiters: FetchWaiters,
    readonly fetchSessions: FetchSessions,
    private readonly logger: LogLogger,
    dynamicConfigs: DynamicBrokerConfigs,
  ) {
    this.configs = new ConfigAdmin(config, metadata, logs, dynamicConfigs);
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const logger = options.logger ?? consoleLogger;
    const properties: Record<string, string> = { ...DEFAULT_BROKER_PROPERTIES, ...options.properties };
    if (options.dataDir !== undefined) properties['log.dirs'] = options.dataDir;
    if (options.port !== undefined || options.host !== undefined) {
      const first = brokerConfigFromProperties(properties).listeners[0];
      properties.listeners = `${first.name}://${options.host ?? first.host}:${options.port ?? first.port}`;
      if (properties['advertised.listeners'] === undefined) delete properties['advertised.listeners'];
    }
    const config = brokerConfigFromProperties(properties);
    for (const [name] of config.unknown) logger.info(`config ${name} is not used by this broker`);
    const metadata = LocalMetadata.open(config.logDirs.map((d) => path.resolve(d)), config.nodeId);
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
    });
    const producerIds = ProducerIdManager.open(path.resolve(config.logDirs[0]), config.nodeId);
    const fetchSessions: FetchSessions = new FetchSessionCache({ slotsMax: config.maxIncrementalFetchSessionCacheSlots, clock: options.clock });
    const broker = new Broker(config, metadata, logs, new FetchWaiters(), fetchSessions, logger, dynamicConfigs);
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
    const endpoint = config.listeners[0];
    broker.listener = await Listener.start({
      host: endpoint.host === '' ? '0.0.0.0' : endpoint.host,
      port: endpoint.port,
      handler: dispatcher.handle,
      maxConnections: config.maxConnections,
      connection: { requestBytesMax: config.socketRequestMaxBytes, idleMsMax: config.connectionsMaxIdleMs, senderMode: config.socketSenderMode },
      logger,
    });
    const advertised = config.advertisedListeners.find((l) => l.name === endpoint.name) ?? endpoint;
    const boundPort = broker.listener.port;
    broker.self = {
      nodeId: config.nodeId,
      host: advertised.host !== '' && advertised.host !== '0.0.0.0' ? advertised.host : endpoint.host || os.hostname(),
      // An ephemeral listener (port 0) advertises the port it got.
      port: advertised === endpoint || advertised.port === 0 ? boundPort : advertised.port,
    };
    logger.info(`samsa broker ${config.nodeId} listening on ${endpoint.host || '0.0.0.0'}:${boundPort} (cluster ${metadata.clusterId})`);
    return broker;
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
      const log = this.logs.getOrCreateLog(topic.name, p, config);
      writePartitionMetadata(log.dir, topic.topicId);
    }
  }

  deleteTopic(name: string): Promise<MetadataResult<TopicMetadata>> {
    return deleteTopic(this.metadata, this.logs, this.logger, name);
  }

  /** Graceful stop: answer what was read, close connections, flush and checkpoint the logs. */
  async close(): Promise<void> {
    this.fetchWaiters.close();
    if (this.listener) await this.listener.close();
    this.listener = null;
    await this.logs.close();
  }
}
