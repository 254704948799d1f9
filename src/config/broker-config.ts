// The broker's configuration, read from server.properties with Kafka's property
// names, defaults and validation. Unknown properties are kept (and reported) so
// a Kafka server.properties can be used as it is.
import fs from 'node:fs';
import { ConfigError, logConfigFromBrokerProperties, type LogConfig } from '../storage/log-config.js';
import { PROPERTIES_BYTES_MAX, parseProperties } from './properties.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface ListenerEndpoint {
  /** Listener name, e.g. PLAINTEXT or a custom name mapped in listener.security.protocol.map. */
  name: string;
  securityProtocol: SecurityProtocol;
  /** '' binds every interface (Kafka's `PLAINTEXT://:9092`). */
  host: string;
  port: number;
}

export interface BrokerConfig {
  /** node.id (KRaft) or broker.id. */
  nodeId: number;
  /** metadata.etcd.endpoints (Samsa's own): etcd client URLs; empty means a broker running alone. */
  etcdEndpoints: string[];
  /** metadata.etcd.prefix (Samsa's own): the key prefix of this cluster in etcd, like a ZooKeeper chroot. */
  etcdPrefix: string;
  /** broker.rack: this broker's rack, for rack-aware replica placement; null when unset. */
  brokerRack: string | null;
  /** broker.session.timeout.ms: how long a broker's etcd registration outlives its last keep-alive. */
  brokerSessionTimeoutMs: number;
  /** unclean.leader.election.enable: may the controller pick a leader outside the ISR when no ISR member is alive. */
  uncleanLeaderElectionEnable: boolean;
  listeners: ListenerEndpoint[];
  advertisedListeners: ListenerEndpoint[];
  logDirs: string[];
  log: LogConfig;
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  deleteTopicEnable: boolean;
  socketRequestMaxBytes: number;
  maxConnections: number;
  connectionsMaxIdleMs: number;
  logRetentionCheckIntervalMs: number;
  offsetsTopicNumPartitions: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms: JoinGroup's accepted session timeouts. */
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: how long a new group waits for more members before its first generation. */
  groupInitialRebalanceDelayMs: number;
  /** group.max.size: members per classic group. */
  groupMaxSize: number;
  /** offset.metadata.max.bytes: longest metadata string of a committed offset. */
  offsetMetadataMaxBytes: number;
  /** offsets.topic.replication.factor: at most 1 here (Kafka's default, 3, needs three brokers). */
  offsetsTopicReplicationFactor: number;
  /** offsets.topic.segment.bytes: segment.bytes of `__consumer_offsets` when it is created. */
  offsetsTopicSegmentBytes: number;
  /** offsets.retention.minutes, in ms: how long offsets of an empty group are kept. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** group.coordinator.rebalance.protocols: `consumer` enables KIP-848 groups (ConsumerGroupHeartbeat). */
  groupCoordinatorRebalanceProtocols: string[];
  /** group.consumer.* (KIP-848 consumer groups), checked against each other as Kafka's GroupCoordinatorConfig does. */
  groupConsumer: GroupConsumerConfig;
  /** metrics.port (Samsa's own): the Prometheus /metrics endpoint; 0 turns it off. */
  metricsPort: number;
  /** metrics.host (Samsa's own): where /metrics listens; defaults to the first listener's host. */
  metricsHost: string;
  /** producer.id.expiration.ms: partitions forget idempotent producers idle this long. */
  producerIdExpirationMs: number;
  producerIdExpirationCheckIntervalMs: number;
  /**
   * transactional.id.expiration.ms: read and validated for server.properties
   * compatibility; it governs the transaction coordinator, which this broker
   * does not have yet.
   */
  transactionalIdExpirationMs: number;
  /** Fetch sessions (KIP-227) the broker keeps at once; 0 disables incremental fetches. */
  maxIncrementalFetchSessionCacheSlots: number;
  /**
   * socket.sender.mode (Samsa's own): how responses are written. auto: zero-copy
   * sendfile when the addon is loaded, else copy; copy is for comparison (bench:e2e).
   */
  socketSenderMode: SocketSenderMode;
  /** The log cleaner (compaction of cleanup.policy=compact topics). */
  cleaner: CleanerConfig;
  /** Properties this broker does not read; logged at start-up, kept for DescribeConfigs. */
  unknown: Map<string, string>;
  /** Everything as given, for DescribeConfigs. */
  raw: Map<string, string>;
}

const INT32_MAX = 2 ** 31 - 1;

export interface GroupConsumerConfig {
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs: number;
  /** group.consumer.max.size */
  maxSize: number;
  /** group.consumer.assignors, as short names (`uniform`, `range`), first = default. */
  assignors: string[];
  /** group.consumer.migration.policy: disabled, downgrade, upgrade or bidirectional. */
  migrationPolicy: string;
}

/** Kafka's server assignors by the names group.consumer.assignors accepts (class name or short name). */
const CONSUMER_ASSIGNOR_NAMES: Record<string, string> = {
  uniform: 'uniform',
  range: 'range',
  'org.apache.kafka.coordinator.group.assignor.UniformAssignor': 'uniform',
  'org.apache.kafka.coordinator.group.assignor.RangeAssignor': 'range',
};
/** Kafka's log.cleaner.* broker settings, with Kafka's defaults. */
export interface CleanerConfig {
  /** log.cleaner.enable (default true). */
  enable: boolean;
  /** log.cleaner.threads (default 1): logs cleaned at once. */
  threads: number;
  /** log.cleaner.backoff.ms (default 15000): sleep when no log needs cleaning. */
  backoffMs: number;
  /** log.cleaner.dedupe.buffer.size (default 128 MiB): memory of the key -> offset maps, shared by the threads. */
  dedupeBufferSize: number;
  /** log.cleaner.io.buffer.size (default 512 KiB): read and write buffers, shared by the threads. */
  ioBufferSize: number;
  /** log.cleaner.io.buffer.load.factor (default 0.9): how full a key -> offset map may get. */
  ioBufferLoadFactor: number;
  /** log.cleaner.io.max.bytes.per.second (default Double.MAX_VALUE: unthrottled): read + written bytes per second. */
  ioMaxBytesPerSecond: number;
}

export const CLEANER_DEFAULTS: Readonly<CleanerConfig> = Object.freeze({
  enable: true,
  threads: 1,
  backoffMs: 15_000,
  dedupeBufferSize: 128 * 1024 * 1024,
  ioBufferSize: 512 * 1024,
  ioBufferLoadFactor: 0.9,
  ioMaxBytesPerSecond: Number.MAX_VALUE,
});

export type SocketSenderMode = 'auto' | 'zero-copy' | 'copy';
const SOCKET_SENDER_MODES: readonly SocketSenderMode[] = ['auto', 'zero-copy', 'copy'];

// Properties read here, plus the log.* names read by logConfigFromBrokerProperties.
const KNOWN = new Set([
  'metadata.etcd.endpoints',
  'metadata.etcd.prefix',
  'broker.rack',
  'broker.session.timeout.ms',
  'unclean.leader.election.enable',
  'node.id',
  'broker.id',
  'listeners',
  'advertised.listeners',
  'listener.security.protocol.map',
  'log.dirs',
  'log.dir',
  'num.partitions',
  'default.replication.factor',
  'auto.create.topics.enable',
  'delete.topic.enable',
  'socket.request.max.bytes',
  'max.connections',
  'connections.max.idle.ms',
  'log.retention.check.interval.ms',
  'offsets.topic.num.partitions',
  'group.min.session.timeout.ms',
  'group.max.session.timeout.ms',
  'group.initial.rebalance.delay.ms',
  'group.max.size',
  'offset.metadata.max.bytes',
  'offsets.topic.replication.factor',
  'offsets.topic.segment.bytes',
  'offsets.retention.minutes',
  'offsets.retention.check.interval.ms',
  'producer.id.expiration.ms',
  'producer.id.expiration.check.interval.ms',
  'transactional.id.expiration.ms',
  'max.incremental.fetch.session.cache.slots',
  'log.segment.bytes',
  'log.roll.ms',
  'log.roll.hours',
  'log.roll.jitter.ms',
  'log.roll.jitter.hours',
  'log.index.size.max.bytes',
  'log.index.interval.bytes',
  'log.retention.ms',
  'log.retention.minutes',
  'log.retention.hours',
  'log.retention.bytes',
  'message.max.bytes',
  'log.segment.delete.delay.ms',
  'log.flush.interval.messages',
  'log.flush.interval.ms',
  'log.message.timestamp.type',
  'log.message.timestamp.before.max.ms',
  'log.message.timestamp.after.max.ms',
  'log.segment.append.mode',
  'metrics.port',
  'metrics.host',
  'socket.sender.mode',
  'group.coordinator.rebalance.protocols',
  'group.consumer.heartbeat.interval.ms',
  'group.consumer.min.heartbeat.interval.ms',
  'group.consumer.max.heartbeat.interval.ms',
  'group.consumer.session.timeout.ms',
  'group.consumer.min.session.timeout.ms',
  'group.consumer.max.session.timeout.ms',
  'group.consumer.max.size',
  'group.consumer.assignors',
  'group.consumer.migration.policy',
  'log.cleanup.policy',
  'log.cleaner.enable',
  'log.cleaner.threads',
  'log.cleaner.backoff.ms',
  'log.cleaner.dedupe.buffer.size',
  'log.cleaner.io.buffer.size',
  'log.cleaner.io.buffer.load.factor',
  'log.cleaner.io.max.bytes.per.second',
  'log.cleaner.delete.retention.ms',
  'log.cleaner.min.compaction.lag.ms',
  'log.cleaner.max.compaction.lag.ms',
  'log.cleaner.min.cleanable.ratio',
]);

// Kafka broker properties that Samsa accepts and ignores (its own server.properties
// sets them); anything in neither set is likely a typo and is warned about.
export const KAFKA_PROPERTIES_IGNORED = new Set([
  'process.roles',
  'controller.quorum.voters',
  'controller.quorum.bootstrap.servers',
  'controller.listener.names',
  'inter.broker.listener.name',
  'num.network.threads',
  'num.io.threads',
  'socket.send.buffer.bytes',
  'socket.receive.buffer.bytes',
  'num.recovery.threads.per.data.dir',
  'transaction.state.log.replication.factor',
  'transaction.state.log.min.isr',
  'share.coordinator.state.topic.replication.factor',
  'share.coordinator.state.topic.min.isr',
  'num.replica.fetchers',
  'replica.lag.time.max.ms',
  'min.insync.replicas',
  'compression.type',
  'zookeeper.connect',
  'zookeeper.connection.timeout.ms',
]);

/** Kafka's default listener.security.protocol.map: each protocol maps to itself. */
const DEFAULT_PROTOCOL_MAP: Record<string, SecurityProtocol> = {
  PLAINTEXT: 'PLAINTEXT',
  SSL: 'SSL',
  SASL_PLAINTEXT: 'SASL_PLAINTEXT',
  SASL_SSL: 'SASL_SSL',
};

/** Samsa's embedded defaults: one broker on localhost:9092 with data in ./data. */
export const DEFAULT_BROKER_PROPERTIES: Readonly<Record<string, string>> = Object.freeze({
  'node.id': '1',
  listeners: 'PLAINTEXT://127.0.0.1:9092',
  'log.dirs': './data',
});

export function brokerConfigFromProperties(properties: ReadonlyMap<string, string> | Record<string, string>): BrokerConfig {
  const raw = new Map<string, string>(properties instanceof Map ? properties : Object.entries(properties));
  const get = (name: string) => raw.get(name)?.trim();
  const props: Record<string, string> = Object.fromEntries(raw);
  const protocolMap = parseProtocolMap(get('listener.security.protocol.map'));
  const listeners = parseListeners('listeners', get('listeners') ?? 'PLAINTEXT://:9092', protocolMap);
  const advertisedRaw = get('advertised.listeners');
  const advertisedListeners = advertisedRaw ? parseListeners('advertised.listeners', advertisedRaw, protocolMap) : listeners;
  const nodeIdRaw = get('node.id') ?? get('broker.id') ?? '-1';
  const nodeId = intIn('node.id', nodeIdRaw, -1, INT32_MAX);
  const dirsRaw = get('log.dirs') ?? get('log.dir') ?? '/tmp/kafka-logs';
  const logDirs = dirsRaw.split(',').map((d) => d.trim()).filter((d) => d.length > 0);
  if (logDirs.length === 0) throw new ConfigError('log.dirs', 'no directory given');
  const unknown = new Map([...raw].filter(([k]) => !KNOWN.has(k)));
  const etcdEndpoints = (get('metadata.etcd.endpoints') ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  const etcdPrefix = (get('metadata.etcd.prefix') ?? '/samsa').replace(/\/+$/, '');
  if (etcdPrefix !== '' && !etcdPrefix.startsWith('/')) throw new ConfigError('metadata.etcd.prefix', `must start with '/', got ${etcdPrefix}`);
  // A cluster needs every broker to say who it is; a broker alone may leave it to the default.
  if (etcdEndpoints.length > 0 && (raw.get('node.id') ?? raw.get('broker.id')) === undefined) {
    throw new ConfigError('node.id', 'must be set (node.id or broker.id) when metadata.etcd.endpoints is set');
  }
  if (etcdEndpoints.length > 0 && nodeId < 0) throw new ConfigError('node.id', `must be 0 or more in a cluster, got ${nodeId}`);
  const rack = get('broker.rack');
  return {
    nodeId,
    etcdEndpoints,
    etcdPrefix,
    brokerRack: rack === undefined || rack === '' ? null : rack,
    brokerSessionTimeoutMs: intIn('broker.session.timeout.ms', get('broker.session.timeout.ms') ?? '9000', 1000, INT32_MAX),
    uncleanLeaderElectionEnable: bool('unclean.leader.election.enable', get('unclean.leader.election.enable') ?? 'false'),
    listeners,
    advertisedListeners,
    logDirs,
    log: logConfigFromBrokerProperties(props),
    numPartitions: intIn('num.partitions', get('num.partitions') ?? '1', 1, INT32_MAX),
    defaultReplicationFactor: intIn('default.replication.factor', get('default.replication.factor') ?? '1', 1, 32767),
    autoCreateTopicsEnable: bool('auto.create.topics.enable', get('auto.create.topics.enable') ?? 'true'),
    deleteTopicEnable: bool('delete.topic.enable', get('delete.topic.enable') ?? 'true'),
    socketRequestMaxBytes: intIn('socket.request.max.bytes', get('socket.request.max.bytes') ?? String(100 * 1024 * 1024), 1, INT32_MAX),
    maxConnections: intIn('max.connections', get('max.connections') ?? String(INT32_MAX), 0, INT32_MAX),
    connectionsMaxIdleMs: intIn('connections.max.idle.ms', get('connections.max.idle.ms') ?? '600000', -1, Number.MAX_SAFE_INTEGER),
    logRetentionCheckIntervalMs: intIn('log.retention.check.interval.ms', get('log.retention.check.interval.ms') ?? '300000', 1, Number.MAX_SAFE_INTEGER),
    offsetsTopicNumPartitions: intIn('offsets.topic.num.partitions', get('offsets.topic.num.partitions') ?? '50', 1, INT32_MAX),
    groupMinSessionTimeoutMs: intIn('group.min.session.timeout.ms', get('group.min.session.timeout.ms') ?? '6000', 0, INT32_MAX),
    groupMaxSessionTimeoutMs: intIn('group.max.session.timeout.ms', get('group.max.session.timeout.ms') ?? '1800000', 0, INT32_MAX),
    groupInitialRebalanceDelayMs: intIn('group.initial.rebalance.delay.ms', get('group.initial.rebalance.delay.ms') ?? '3000', 0, INT32_MAX),
    groupMaxSize: intIn('group.max.size', get('group.max.size') ?? String(INT32_MAX), 1, INT32_MAX),
    offsetMetadataMaxBytes: intIn('offset.metadata.max.bytes', get('offset.metadata.max.bytes') ?? '4096', 0, INT32_MAX),
    // Kafka's default is 3; a broker alone holds one replica, so 1 is the default and larger values are capped (with a warning at start-up).
    offsetsTopicReplicationFactor: intIn('offsets.topic.replication.factor', get('offsets.topic.replication.factor') ?? '1', 1, 32767),
    offsetsTopicSegmentBytes: intIn('offsets.topic.segment.bytes', get('offsets.topic.segment.bytes') ?? '104857600', 1, INT32_MAX),
    offsetsRetentionMs: intIn('offsets.retention.minutes', get('offsets.retention.minutes') ?? '10080', 1, INT32_MAX) * 60_000,
    offsetsRetentionCheckIntervalMs: intIn('offsets.retention.check.interval.ms', get('offsets.retention.check.interval.ms') ?? '600000', 1, Number.MAX_SAFE_INTEGER),
    groupCoordinatorRebalanceProtocols: groupRebalanceProtocols(get('group.coordinator.rebalance.protocols') ?? 'classic,consumer'),
    groupConsumer: groupConsumerConfig(get),
    metricsPort: intIn('metrics.port', get('metrics.port') || '0', 0, 65535),
    metricsHost: get('metrics.host') || listeners[0].host,
    producerIdExpirationMs: intIn('producer.id.expiration.ms', get('producer.id.expiration.ms') ?? '86400000', 1, INT32_MAX),
    producerIdExpirationCheckIntervalMs: intIn(
      'producer.id.expiration.check.interval.ms',
      get('producer.id.expiration.check.interval.ms') ?? '600000',
      1,
      INT32_MAX,
    ),
    transactionalIdExpirationMs: intIn('transactional.id.expiration.ms', get('transactional.id.expiration.ms') ?? '604800000', 1, INT32_MAX),
    maxIncrementalFetchSessionCacheSlots: intIn('max.incremental.fetch.session.cache.slots', get('max.incremental.fetch.session.cache.slots') ?? '1000', 0, INT32_MAX),
    socketSenderMode: oneOf('socket.sender.mode', get('socket.sender.mode') ?? 'auto', SOCKET_SENDER_MODES),
    cleaner: cleanerConfig(get),
    unknown,
    raw,
  };
}

function cleanerConfig(get: (name: string) => string | undefined): CleanerConfig {
  const d = CLEANER_DEFAULTS;
  const loadFactor = Number(get('log.cleaner.io.buffer.load.factor') ?? String(d.ioBufferLoadFactor));
  if (!(loadFactor > 0 && loadFactor <= 1)) throw new ConfigError('log.cleaner.io.buffer.load.factor', `must be in (0, 1], got ${loadFactor}`);
  return {
    enable: bool('log.cleaner.enable', get('log.cleaner.enable') ?? String(d.enable)),
    threads: intIn('log.cleaner.threads', get('log.cleaner.threads') ?? String(d.threads), 1, 64),
    backoffMs: intIn('log.cleaner.backoff.ms', get('log.cleaner.backoff.ms') ?? String(d.backoffMs), 0, Number.MAX_SAFE_INTEGER),
    // Kafka's minimum is 512 KiB; tests go lower to force several passes, so only "holds one entry" is required.
    dedupeBufferSize: intIn('log.cleaner.dedupe.buffer.size', get('log.cleaner.dedupe.buffer.size') ?? String(d.dedupeBufferSize), 1024, Number.MAX_SAFE_INTEGER),
    ioBufferSize: intIn('log.cleaner.io.buffer.size', get('log.cleaner.io.buffer.size') ?? String(d.ioBufferSize), 1024, INT32_MAX),
    ioBufferLoadFactor: loadFactor,
    ioMaxBytesPerSecond: ioMaxBytesPerSecond(get('log.cleaner.io.max.bytes.per.second')),
  };
}

/** A double as Kafka's ConfigDef parses it (1.7976931348623157E308 included); must be positive. */
function ioMaxBytesPerSecond(raw: string | undefined): number {
  if (raw === undefined) return CLEANER_DEFAULTS.ioMaxBytesPerSecond;
  const value = Number(raw.trim());
  if (raw.trim() === '' || Number.isNaN(value) || value <= 0) throw new ConfigError('log.cleaner.io.max.bytes.per.second', `must be a positive number, got ${raw}`);
  return value;
}

/** Reads a server.properties file (bounded in size) and applies `overrides` on top. */
export function loadBrokerConfig(file: string | null, overrides: Record<string, string> = {}): BrokerConfig {
  const merged = new Map<string, string>(Object.entries(DEFAULT_BROKER_PROPERTIES));
  if (file !== null) {
    const size = fs.statSync(file).size;
    if (size > PROPERTIES_BYTES_MAX) throw new ConfigError(file, `larger than ${PROPERTIES_BYTES_MAX} bytes`);
    for (const [k, v] of parseProperties(fs.readFileSync(file, 'utf8'))) merged.set(k, v);
  }
  for (const [k, v] of Object.entries(overrides)) merged.set(k, v);
  const userSet = (k: string) => merged.get(k) !== DEFAULT_BROKER_PROPERTIES[k] || (file !== null && fileSets(file, k)) || k in overrides;
  requireNodeIdInCluster(merged, userSet);
  // broker.id alone names the broker (the default node.id would otherwise win).
  if (userSet('broker.id') && !userSet('node.id')) merged.delete('node.id');
  return brokerConfigFromProperties(merged);
}

function fileSets(file: string, key: string): boolean {
  return parseProperties(fs.readFileSync(file, 'utf8')).has(key);
}

/**
 * In a cluster every broker must say which it is: Samsa's default node.id (1)
 * serves a broker alone, and two brokers left at it would collide. `userSet`
 * tells whether a property came from the user rather than the defaults.
 */
export function requireNodeIdInCluster(properties: ReadonlyMap<string, string>, userSet: (key: string) => boolean): void {
  if (!(properties.get('metadata.etcd.endpoints') ?? '').trim()) return;
  if (!userSet('node.id') && !userSet('broker.id')) {
    throw new ConfigError('node.id', 'must be set (node.id or broker.id) when metadata.etcd.endpoints is set');
  }
}

function groupRebalanceProtocols(raw: string): string[] {
  const protocols = raw.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0);
  for (const p of protocols) {
    if (!['classic', 'consumer', 'share', 'streams'].includes(p)) throw new ConfigError('group.coordinator.rebalance.protocols', `unknown protocol ${JSON.stringify(p)}`);
  }
  if (!protocols.includes('classic')) throw new ConfigError('group.coordinator.rebalance.protocols', 'must contain classic');
  return protocols;
}

/** Kafka's defaults and the checks GroupCoordinatorConfig makes between them. */
function groupConsumerConfig(get: (name: string) => string | undefined): GroupConsumerConfig {
  const int = (name: string, fallback: string, min = 1) => intIn(name, get(name) ?? fallback, min, INT32_MAX);
  const sessionMin = int('group.consumer.min.session.timeout.ms', '45000');
  const sessionMax = int('group.consumer.max.session.timeout.ms', '60000');
  const heartbeatMin = int('group.consumer.min.heartbeat.interval.ms', '5000');
  const heartbeatMax = int('group.consumer.max.heartbeat.interval.ms', '15000');
  const sessionTimeoutMs = int('group.consumer.session.timeout.ms', '45000');
  const heartbeatIntervalMs = int('group.consumer.heartbeat.interval.ms', '5000');
  const within = (name: string, value: number, min: number, max: number, minName: string, maxName: string) => {
    if (value < min) throw new ConfigError(name, `must be greater than or equal to ${minName} (${min})`);
    if (value > max) throw new ConfigError(name, `must be less than or equal to ${maxName} (${max})`);
  };
  if (sessionMax < sessionMin) throw new ConfigError('group.consumer.max.session.timeout.ms', 'must be greater than or equal to group.consumer.min.session.timeout.ms');
  if (heartbeatMax < heartbeatMin) throw new ConfigError('group.consumer.max.heartbeat.interval.ms', 'must be greater than or equal to group.consumer.min.heartbeat.interval.ms');
  within('group.consumer.session.timeout.ms', sessionTimeoutMs, sessionMin, sessionMax, 'group.consumer.min.session.timeout.ms', 'group.consumer.max.session.timeout.ms');
  within('group.consumer.heartbeat.interval.ms', heartbeatIntervalMs, heartbeatMin, heartbeatMax, 'group.consumer.min.heartbeat.interval.ms', 'group.consumer.max.heartbeat.interval.ms');
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new ConfigError('group.consumer.heartbeat.interval.ms', 'must be less than group.consumer.session.timeout.ms');
  const assignors = (get('group.consumer.assignors') ?? 'uniform,range')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0)
    .map((a) => {
      const name = CONSUMER_ASSIGNOR_NAMES[a];
      if (name === undefined) throw new ConfigError('group.consumer.assignors', `unknown assignor ${JSON.stringify(a)} (uniform and range are available)`);
      return name;
    });
  if (assignors.length === 0) throw new ConfigError('group.consumer.assignors', 'no assignor given');
  return {
    heartbeatIntervalMs,
    sessionTimeoutMs,
    maxSize: int('group.consumer.max.size', String(INT32_MAX)),
    assignors: [...new Set(assignors)],
    migrationPolicy: oneOf('group.consumer.migration.policy', get('group.consumer.migration.policy') ?? 'bidirectional', ['disabled', 'downgrade', 'upgrade', 'bidirectional']),
  };
}

// Decimal digits only: Number() would also take '', '0x10', '1e3' and ' 7 '.
const INTEGER_PATTERN = /^[+-]?\d{1,19}$/;

function intIn(name: string, raw: string, min: number, max: number): number {
  if (!INTEGER_PATTERN.test(raw)) throw new ConfigError(name, `not an integer: ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

function oneOf<T extends string>(name: string, raw: string, values: readonly T[]): T {
  const value = values.find((v) => v === raw.toLowerCase());
  if (value === undefined) throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
  return value;
}

function bool(name: string, raw: string): boolean {
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function parseProtocolMap(raw: string | undefined): Record<string, SecurityProtocol> {
  if (!raw) return { ...DEFAULT_PROTOCOL_MAP };
  const map: Record<string, SecurityProtocol> = {};
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name, protocol] = entry.split(':').map((p) => p.trim());
    if (!name || !protocol || !(protocol in DEFAULT_PROTOCOL_MAP)) {
      throw new ConfigError('listener.security.protocol.map', `malformed entry ${JSON.stringify(entry)}`);
    }
    map[name.toUpperCase()] = protocol as SecurityProtocol;
  }
  return map;
}

/** `NAME://host:port` entries, comma separated; IPv6 hosts in brackets. */
export function parseListeners(property: string, raw: string, protocolMap: Record<string, SecurityProtocol> = DEFAULT_PROTOCOL_MAP): ListenerEndpoint[] {
  const out: ListenerEndpoint[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_]+):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]*):(\d{1,5})$/.exec(entry);
    if (!match) throw new ConfigError(property, `malformed listener ${JSON.stringify(entry)} (expected NAME://host:port)`);
    const name = match[1].toUpperCase();
    const securityProtocol = protocolMap[name];
    if (!securityProtocol) throw new ConfigError(property, `listener ${name} has no entry in listener.security.protocol.map`);
    const port = Number(match[3]);
    if (port > 65535) throw new ConfigError(property, `port ${port} out of range`);
    const host = match[2].startsWith('[') ? match[2].slice(1, -1) : match[2];
    if (out.some((l) => l.name === name)) throw new ConfigError(property, `listener name ${name} appears twice`);
    out.push({ name, securityProtocol, host, port });
  }
  if (out.length === 0) throw new ConfigError(property, 'no listener given');
  return out;
}
