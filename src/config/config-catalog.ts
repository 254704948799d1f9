// The configs DescribeConfigs, AlterConfigs, IncrementalAlterConfigs and
// CreateTopics speak about: Kafka 4.0's topic configs (names, types, defaults,
// valid values) with their broker-level synonyms (`retention.ms` ->
// `log.retention.ms`, `log.retention.minutes`, `log.retention.hours`), and the
// broker configs this broker reads, with which of them Kafka lets a client
// change at runtime.
//
// Values stay strings, as Kafka stores and describes them; `checkValue` parses
// one the way Kafka's ConfigDef does and returns Kafka's ConfigException text.

/** DescribeConfigs config_type (Kafka's DescribeConfigsResponse.ConfigType). */
export const ConfigType = { UNKNOWN: 0, BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;
export type ConfigTypeName = Exclude<keyof typeof ConfigType, 'UNKNOWN'>;

/** DescribeConfigs config_source (Kafka's DescribeConfigsResponse.ConfigSource). */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** Kafka's ConfigResource.Type ids. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;

export const LONG_MAX_TEXT = '9223372036854775807';
/**
 * Samsa's bound on one config value (Kafka has none): values are kept in the
 * metadata documents and echoed by DescribeConfigs, so a request cannot store megabytes.
 */
export const CONFIG_VALUE_CHARS_MAX = 64 * 1024;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

type Check = (value: number | string | boolean | string[]) => string | null;

export interface TopicConfigDef {
  name: string;
  type: ConfigTypeName;
  /** Kafka's default as DescribeConfigs renders it. */
  defaultValue: string;
  doc: string;
  /** Broker properties that supply the default, in Kafka's precedence order. */
  synonyms: readonly BrokerSynonym[];
  check?: Check;
}

export interface BrokerSynonym {
  name: string;
  /** Multiplier from the broker property's unit to the topic config's (hours -> ms). */
  scale: number;
}

export interface BrokerConfigDef {
  name: string;
  type: ConfigTypeName;
  /** Kafka's default, or null for none (e.g. log.retention.ms falls back to log.retention.hours). */
  defaultValue: string | null;
  doc: string;
  /** True when Kafka accepts it in AlterConfigs at runtime (cluster-wide or per broker). */
  dynamic: boolean;
  /** Other names for the same setting, in precedence order, including this one. */
  synonymGroup: readonly string[];
  check?: Check;
}

const atLeast = (min: number): Check => (v) => ((v as number) < min ? `Value must be at least ${min}` : null);
const between = (min: number, max: number): Check => (v) =>
  (v as number) < min ? `Value must be at least ${min}` : (v as number) > max ? `Value must be no more than ${max}` : null;
const oneOf = (...allowed: string[]): Check => (v) => (allowed.includes(v as string) ? null : `String must be one of: ${allowed.join(', ')}`);
const listOf = (...allowed: string[]): Check => (v) => {
  const items = v as string[];
  if (items.length === 0) return `Empty list is not allowed. Valid values: [${allowed.join(', ')}]`;
  const bad = items.find((i) => !allowed.includes(i));
  return bad === undefined ? null : `String must be one of: ${allowed.join(', ')}`;
};
// leader/follower.replication.throttled.replicas: "" , "*", or partitionId:brokerId pairs.
const throttledReplicas: Check = (v) => {
  const items = v as string[];
  if (items.length === 1 && items[0] === '*') return null;
  return items.every((i) => /^\d+:\d+$/.test(i)) ? null : 'must be the literal \'*\' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...';
};

const syn = (name: string, scale = 1): BrokerSynonym => ({ name, scale });

function topic(name: string, type: ConfigTypeName, defaultValue: string, doc: string, synonyms: BrokerSynonym[], check?: Check): TopicConfigDef {
  return { name, type, defaultValue, doc, synonyms, check };
}

/** Kafka 4.0's topic configs (LogConfig), sorted by name. */
export const TOPIC_CONFIGS: readonly TopicConfigDef[] = [
  topic('cleanup.policy', 'LIST', 'delete', 'Retention policy for old segments: "delete" drops them after retention, "compact" keeps the latest record per key.', [syn('log.cleanup.policy')], listOf('compact', 'delete')),
  topic('compression.gzip.level', 'INT', '-1', 'Compression level when compression.type is gzip.', [syn('compression.gzip.level')], (v) => ((v as number) === -1 || ((v as number) >= 1 && (v as number) <= 9) ? null : 'Value must be between 1 and 9, or -1')),
  topic('compression.lz4.level', 'INT', '9', 'Compression level when compression.type is lz4.', [syn('compression.lz4.level')], between(1, 17)),
  topic('compression.type', 'STRING', 'producer', 'Final compression of the topic\'s batches; "producer" keeps what the producer sent.', [syn('compression.type')], oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer')),
  topic('compression.zstd.level', 'INT', '3', 'Compression level when compression.type is zstd.', [syn('compression.zstd.level')], between(-131072, 22)),
  topic('delete.retention.ms', 'LONG', '86400000', 'How long delete tombstones are kept on compacted topics.', [syn('log.cleaner.delete.retention.ms')], atLeast(0)),
  topic('file.delete.delay.ms', 'LONG', '60000', 'Time between marking a segment deleted and removing its files.', [syn('log.segment.delete.delay.ms')], atLeast(0)),
  topic('flush.messages', 'LONG', LONG_MAX_TEXT, 'Force an fsync after this many appended messages.', [syn('log.flush.interval.messages')], atLeast(1)),
  topic('flush.ms', 'LONG', LONG_MAX_TEXT, 'Force an fsync when the last one is older than this.', [syn('log.flush.interval.ms'), syn('log.flush.scheduler.interval.ms')], atLeast(0)),
  topic('follower.replication.throttled.replicas', 'LIST', '', 'Replicas whose follower replication is throttled.', [], throttledReplicas),
  topic('index.interval.bytes', 'INT', '4096', 'Bytes of log between two offset index entries.', [syn('log.index.interval.bytes')], atLeast(0)),
  topic('leader.replication.throttled.replicas', 'LIST', '', 'Replicas whose leader-side replication is throttled.', [], throttledReplicas),
  topic('local.retention.bytes', 'LONG', '-2', 'Local log size kept when tiered storage is on; -2 means retention.bytes.', [syn('log.local.retention.bytes')], atLeast(-2)),
  topic('local.retention.ms', 'LONG', '-2', 'Local log age kept when tiered storage is on; -2 means retention.ms.', [syn('log.local.retention.ms')], atLeast(-2)),
  topic('max.compaction.lag.ms', 'LONG', LONG_MAX_TEXT, 'Longest time a record may stay uncompacted.', [syn('log.cleaner.max.compaction.lag.ms')], atLeast(1)),
  topic('max.message.bytes', 'INT', '1048588', 'Largest record batch the topic accepts.', [syn('message.max.bytes')], atLeast(0)),
  topic('message.timestamp.after.max.ms', 'LONG', '3600000', 'With CreateTime, how far a record timestamp may lie ahead of the broker clock.', [syn('log.message.timestamp.after.max.ms')], atLeast(0)),
  topic('message.timestamp.before.max.ms', 'LONG', LONG_MAX_TEXT, 'With CreateTime, how far a record timestamp may lie behind the broker clock.', [syn('log.message.timestamp.before.max.ms')], atLeast(0)),
  topic('message.timestamp.type', 'STRING', 'CreateTime', 'Whether record timestamps are the producer\'s (CreateTime) or the broker\'s append time (LogAppendTime).', [syn('log.message.timestamp.type')], oneOf('CreateTime', 'LogAppendTime')),
  topic('min.cleanable.dirty.ratio', 'DOUBLE', '0.5', 'Dirty fraction of a log that makes it eligible for compaction.', [syn('log.cleaner.min.cleanable.ratio')], between(0, 1)),
  topic('min.compaction.lag.ms', 'LONG', '0', 'Shortest time a record stays uncompacted.', [syn('log.cleaner.min.compaction.lag.ms')], atLeast(0)),
  topic('min.insync.replicas', 'INT', '1', 'Replicas that must acknowledge an acks=all write.', [syn('min.insync.replicas')], atLeast(1)),
  topic('preallocate', 'BOOLEAN', 'false', 'Preallocate segment files on creation.', [syn('log.preallocate')]),
  topic('remote.log.copy.disable', 'BOOLEAN', 'false', 'Stop copying segments to tiered storage.', []),
  topic('remote.log.delete.on.disable', 'BOOLEAN', 'false', 'Delete tiered data when tiered storage is turned off for the topic.', []),
  topic('remote.storage.enable', 'BOOLEAN', 'false', 'Tiered storage for the topic (not available on this broker).', [], (v) =>
    v === true ? 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.' : null),
  topic('retention.bytes', 'LONG', '-1', 'Largest size a partition may grow to before old segments are deleted; -1 is unlimited.', [syn('log.retention.bytes')]),
  topic('retention.ms', 'LONG', '604800000', 'Age after which old segments are deleted; -1 keeps them forever.', [syn('log.retention.ms'), syn('log.retention.minutes', 60_000), syn('log.retention.hours', 3_600_000)], atLeast(-1)),
  topic('segment.bytes', 'INT', '1073741824', 'Size at which a new segment is rolled.', [syn('log.segment.bytes')], atLeast(1024 * 1024)),
  topic('segment.index.bytes', 'INT', '10485760', 'Preallocated size of each segment\'s offset and time index.', [syn('log.index.size.max.bytes')], atLeast(4)),
  topic('segment.jitter.ms', 'LONG', '0', 'Largest random jitter subtracted from segment.ms.', [syn('log.roll.jitter.ms'), syn('log.roll.jitter.hours', 3_600_000)], atLeast(0)),
  topic('segment.ms', 'LONG', '604800000', 'Age at which a new segment is rolled even if not full.', [syn('log.roll.ms'), syn('log.roll.hours', 3_600_000)], atLeast(1)),
  topic('unclean.leader.election.enable', 'BOOLEAN', 'false', 'Allow an out-of-sync replica to become leader.', [syn('unclean.leader.election.enable')]),
];

const TOPIC_BY_NAME = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return TOPIC_BY_NAME.get(name);
}

// Broker-level defaults of the synonyms that differ from "same as the topic default".
const SYNONYM_DEFAULTS: Record<string, string | null> = {
  'log.retention.ms': null,
  'log.retention.minutes': null,
  'log.retention.hours': '168',
  'log.roll.ms': null,
  'log.roll.hours': '168',
  'log.roll.jitter.ms': null,
  'log.roll.jitter.hours': '0',
  'log.flush.interval.ms': null,
  'log.flush.scheduler.interval.ms': LONG_MAX_TEXT,
};
const SYNONYM_TYPES: Record<string, ConfigTypeName> = {
  'log.retention.minutes': 'INT',
  'log.retention.hours': 'INT',
  'log.roll.hours': 'INT',
  'log.roll.jitter.hours': 'INT',
};

function brokerOnly(name: string, type: ConfigTypeName, defaultValue: string | null, doc: string, check?: Check): BrokerConfigDef {
  return { name, type, defaultValue, doc, dynamic: false, synonymGroup: [name], check };
}

function buildBrokerConfigs(): BrokerConfigDef[] {
  const out: BrokerConfigDef[] = [];
  for (const t of TOPIC_CONFIGS) {
    const group = t.synonyms.map((s) => s.name);
    t.synonyms.forEach((s, i) => {
      const primary = i === 0;
      out.push({
        name: s.name,
        type: SYNONYM_TYPES[s.name] ?? t.type,
        defaultValue: s.name in SYNONYM_DEFAULTS ? SYNONYM_DEFAULTS[s.name] : t.defaultValue,
        doc: primary ? `Broker default of the topic config ${t.name}: ${t.doc}` : `Broker default of ${t.name}, used when ${group.slice(0, i).join(' and ')} ${i === 1 ? 'is' : 'are'} not set.`,
        // Kafka reconfigures the first synonym of each topic config at runtime (DynamicLogConfig).
        dynamic: primary,
        synonymGroup: group,
        check: primary ? t.check : atLeast(0),
      });
    });
  }
  out.push(
    brokerOnly('node.id', 'INT', '-1', 'This broker\'s id.'),
    brokerOnly('broker.id', 'INT', '-1', 'This broker\'s id (older name of node.id).'),
    brokerOnly('listeners', 'STRING', 'PLAINTEXT://:9092', 'Addresses the broker listens on, as NAME://host:port.'),
    brokerOnly('advertised.listeners', 'STRING', null, 'Addresses given to clients, when different from listeners.'),
    brokerOnly('listener.security.protocol.map', 'STRING', 'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT', 'Listener name to security protocol.'),
    brokerOnly('log.dirs', 'STRING', null, 'Directories holding the partition logs.'),
    brokerOnly('log.dir', 'STRING', '/tmp/kafka-logs', 'Directory holding the partition logs when log.dirs is not set.'),
    brokerOnly('num.partitions', 'INT', '1', 'Partitions of an automatically created topic.', atLeast(1)),
    brokerOnly('default.replication.factor', 'INT', '1', 'Replication factor of an automatically created topic.'),
    brokerOnly('auto.create.topics.enable', 'BOOLEAN', 'true', 'Create a topic when a client asks metadata for it.'),
    brokerOnly('delete.topic.enable', 'BOOLEAN', 'true', 'Allow DeleteTopics.'),
    brokerOnly('socket.request.max.bytes', 'INT', '104857600', 'Largest request frame accepted.', atLeast(1)),
    brokerOnly('max.connections', 'INT', String(INT32_MAX), 'Most connections the broker accepts at once.', atLeast(0)),
    brokerOnly('connections.max.idle.ms', 'LONG', '600000', 'Idle connections are closed after this long.'),
    brokerOnly('log.retention.check.interval.ms', 'LONG', '300000', 'How often retention is applied.', atLeast(1)),
    brokerOnly('group.min.session.timeout.ms', 'INT', '6000', 'Shortest session timeout a classic group member may ask for.'),
    brokerOnly('group.max.session.timeout.ms', 'INT', '1800000', 'Longest session timeout a classic group member may ask for.'),
    brokerOnly('group.initial.rebalance.delay.ms', 'INT', '3000', 'How long a new classic group waits for more members before its first rebalance completes.'),
    brokerOnly('group.max.size', 'INT', String(INT32_MAX), 'Most members a classic group may have.', atLeast(1)),
    brokerOnly('offset.metadata.max.bytes', 'INT', '4096', 'Longest metadata string of a committed offset.'),
    brokerOnly('offsets.topic.num.partitions', 'INT', '50', 'Partitions of the consumer offsets topic.', atLeast(1)),
    brokerOnly('offsets.topic.replication.factor', 'SHORT', '1', 'Replication factor of the consumer offsets topic (Kafka\'s default is 3; a broker alone holds 1 replica and caps larger values).', atLeast(1)),
    brokerOnly('offsets.topic.segment.bytes', 'INT', '104857600', 'segment.bytes of the consumer offsets topic, kept small for fast loads and compaction.', atLeast(1)),
    brokerOnly('offsets.retention.minutes', 'INT', '10080', 'Committed offsets of a group that has been empty this long are deleted.', atLeast(1)),
    brokerOnly('offsets.retention.check.interval.ms', 'LONG', '600000', 'How often expired offsets are looked for.', atLeast(1)),
    brokerOnly('group.coordinator.rebalance.protocols', 'LIST', 'classic,consumer', 'Group protocols served: classic, and consumer for KIP-848 groups (ConsumerGroupHeartbeat).'),
    brokerOnly('group.consumer.heartbeat.interval.ms', 'INT', '5000', 'Heartbeat interval given to members of consumer (KIP-848) groups.', atLeast(1)),
    brokerOnly('group.consumer.min.heartbeat.interval.ms', 'INT', '5000', 'Smallest group.consumer.heartbeat.interval.ms allowed.', atLeast(1)),
    brokerOnly('group.consumer.max.heartbeat.interval.ms', 'INT', '15000', 'Largest group.consumer.heartbeat.interval.ms allowed.', atLeast(1)),
    brokerOnly('group.consumer.session.timeout.ms', 'INT', '45000', 'A consumer group member that sends no heartbeat for this long is removed.', atLeast(1)),
    brokerOnly('group.consumer.min.session.timeout.ms', 'INT', '45000', 'Smallest group.consumer.session.timeout.ms allowed.', atLeast(1)),
    brokerOnly('group.consumer.max.session.timeout.ms', 'INT', '60000', 'Largest group.consumer.session.timeout.ms allowed.', atLeast(1)),
    brokerOnly('group.consumer.max.size', 'INT', String(INT32_MAX), 'Most members a consumer group may have.', atLeast(1)),
    brokerOnly(
      'group.consumer.assignors',
      'LIST',
      'org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor',
      'Server assignors of consumer groups (class or short name: uniform, range); the first is the default.',
    ),
    brokerOnly('group.consumer.migration.policy', 'STRING', 'bidirectional', 'Online conversion between classic and consumer (KIP-848) groups: upgrade when a KIP-848 member joins a classic group, downgrade when only classic members remain.', oneOf('disabled', 'downgrade', 'upgrade', 'bidirectional')),
    brokerOnly('producer.id.expiration.ms', 'INT', '86400000', 'Partitions forget an idempotent producer idle this long.', atLeast(1)),
    brokerOnly('producer.id.expiration.check.interval.ms', 'INT', '600000', 'How often idle producers are looked for.', atLeast(1)),
    brokerOnly('transactional.id.expiration.ms', 'INT', '604800000', 'Accepted for compatibility; no transaction coordinator uses it yet.', atLeast(1)),
    brokerOnly('max.incremental.fetch.session.cache.slots', 'INT', '1000', 'Incremental fetch sessions (KIP-227) kept at once.', atLeast(0)),
    brokerOnly('log.cleaner.enable', 'BOOLEAN', 'true', 'Run the log cleaner, which compacts topics whose cleanup.policy contains compact.'),
    brokerOnly('log.cleaner.threads', 'INT', '1', 'Logs cleaned at once.', atLeast(1)),
    brokerOnly('log.cleaner.backoff.ms', 'LONG', '15000', 'How long the cleaner sleeps when no log needs cleaning.', atLeast(0)),
    brokerOnly('log.cleaner.dedupe.buffer.size', 'LONG', '134217728', 'Memory for the cleaner\'s key -> offset maps, across all cleaner threads.'),
    brokerOnly('log.cleaner.io.buffer.size', 'INT', '524288', 'Memory for the cleaner\'s read and write buffers, across all cleaner threads.', atLeast(0)),
    brokerOnly('log.cleaner.io.buffer.load.factor', 'DOUBLE', '0.9', 'How full the cleaner\'s key -> offset map may get.'),
    brokerOnly('log.cleaner.io.max.bytes.per.second', 'DOUBLE', '1.7976931348623157E308', 'Bytes per second the log cleaner may read and write, across its threads.'),
    brokerOnly('log.segment.append.mode', 'STRING', 'write', 'Samsa: how the active segment is written (write or mmap).', oneOf('write', 'mmap')),
  );
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const BROKER_CONFIGS: readonly BrokerConfigDef[] = buildBrokerConfigs();
const BROKER_BY_NAME = new Map(BROKER_CONFIGS.map((d) => [d.name, d]));

export function brokerConfigDef(name: string): BrokerConfigDef | undefined {
  return BROKER_BY_NAME.get(name);
}

/**
 * Parses `raw` as Kafka's ConfigDef would for `type` (trimming; INT within
 * int32; LIST split on commas) and applies `check`. Returns Kafka's
 * ConfigException message ("Invalid value x for configuration y: ...") or null.
 */
export function checkValue(name: string, type: ConfigTypeName, raw: string, check?: Check): string | null {
  if (raw.length > CONFIG_VALUE_CHARS_MAX) return `Invalid value for configuration ${name}: longer than ${CONFIG_VALUE_CHARS_MAX} characters`;
  const parsed = parseValue(type, raw);
  const reason = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? parsed.error : check ? check(parsed as never) : null;
  return reason === null ? null : `Invalid value ${raw} for configuration ${name}: ${reason}`;
}

function parseValue(type: ConfigTypeName, raw: string): number | string | boolean | string[] | { error: string } {
  const text = raw.trim();
  switch (type) {
    case 'BOOLEAN': {
      const lower = text.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      return { error: 'Expected value to be either true or false' };
    }
    case 'INT':
    case 'SHORT':
    case 'LONG': {
      // Java's parseInt/parseLong: optional sign, decimal digits only.
      if (!/^[+-]?\d+$/.test(text)) return { error: `Not a number of type ${type}` };
      const big = BigInt(text);
      const [min, max] = type === 'INT' ? [BigInt(INT32_MIN), BigInt(INT32_MAX)] : type === 'SHORT' ? [-32768n, 32767n] : [-(2n ** 63n), 2n ** 63n - 1n];
      if (big < min || big > max) return { error: `Not a number of type ${type}` };
      return Number(big);
    }
    case 'DOUBLE': {
      const value = Number(text);
      if (text === '' || Number.isNaN(value)) return { error: 'Not a number of type DOUBLE' };
      return value;
    }
    case 'LIST':
      return text === '' ? [] : text.split(',').map((s) => s.trim());
    default:
      return text;
  }
}

/** The first failing topic config, as Kafka reports it (unknown names first), or null. */
export function topicConfigsError(configs: Readonly<Record<string, string | null>>): string | null {
  for (const name of Object.keys(configs)) {
    if (!TOPIC_BY_NAME.has(name)) return `Unknown topic config name: ${name}`;
  }
  const nulls = Object.keys(configs).filter((n) => configs[n] === null);
  if (nulls.length > 0) return `Null value not supported for topic configs: ${nulls.join(',')}`;
  for (const [name, value] of Object.entries(configs)) {
    const def = TOPIC_BY_NAME.get(name)!;
    const error = checkValue(name, def.type, value as string, def.check);
    if (error) return error;
  }
  const min = Number(configs['min.compaction.lag.ms'] ?? 0);
  const max = Number(configs['max.compaction.lag.ms'] ?? LONG_MAX_TEXT);
  if (min > max) return `conflict topic config setting min.compaction.lag.ms (${min}) > max.compaction.lag.ms (${max})`;
  return null;
}

/** Where a broker property's value comes from, highest precedence first. */
export interface BrokerConfigLayers {
  perBroker: Readonly<Record<string, string>>;
  clusterDefault: Readonly<Record<string, string>>;
  staticProps: ReadonlyMap<string, string>;
}

export interface SynonymEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
}

/** Every place a broker property has a value: per-broker dynamic, cluster-default dynamic, server.properties, Kafka's default. */
export function brokerSynonymEntries(name: string, layers: BrokerConfigLayers, includePerBroker = true): SynonymEntry[] {
  const out: SynonymEntry[] = [];
  if (includePerBroker && layers.perBroker[name] !== undefined) out.push({ name, value: layers.perBroker[name], source: ConfigSource.DYNAMIC_BROKER_CONFIG });
  if (layers.clusterDefault[name] !== undefined) out.push({ name, value: layers.clusterDefault[name], source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  const fixed = layers.staticProps.get(name);
  if (fixed !== undefined) out.push({ name, value: fixed, source: ConfigSource.STATIC_BROKER_CONFIG });
  const def = BROKER_BY_NAME.get(name);
  if (def && def.defaultValue !== null) out.push({ name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
  return out;
}

/** A broker property's effective value (dynamic per-broker, then cluster default, then static, then default). */
export function brokerValue(name: string, layers: BrokerConfigLayers): string | null {
  return brokerSynonymEntries(name, layers)[0]?.value ?? null;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  source: ConfigSource;
  readOnly: boolean;
  isSensitive: boolean;
  type: ConfigTypeName;
  doc: string;
  synonyms: SynonymEntry[];
}

/** A topic config as DescribeConfigs shows it: the override, else the broker's synonym value in topic units, else Kafka's default. */
export function describeTopicConfig(def: TopicConfigDef, overrides: Readonly<Record<string, string>>, layers: BrokerConfigLayers): DescribedConfig {
  const synonyms: SynonymEntry[] = [];
  const override = overrides[def.name];
  if (override !== undefined) synonyms.push({ name: def.name, value: override, source: ConfigSource.TOPIC_CONFIG });
  for (const s of def.synonyms) synonyms.push(...brokerSynonymEntries(s.name, layers));
  let value = override ?? null;
  if (value === null) {
    for (const s of def.synonyms) {
      const v = brokerValue(s.name, layers);
      if (v === null) continue;
      value = s.scale === 1 ? v.trim() : scaleText(v, s.scale);
      break;
    }
  }
  return {
    name: def.name,
    value: value ?? def.defaultValue,
    source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
    readOnly: false,
    isSensitive: false,
    type: def.type,
    doc: def.doc,
    synonyms,
  };
}

export function describeBrokerConfig(def: BrokerConfigDef, layers: BrokerConfigLayers, perBroker: boolean): DescribedConfig {
  const synonyms = def.synonymGroup.flatMap((n) => brokerSynonymEntries(n, layers, perBroker));
  const own = brokerSynonymEntries(def.name, layers, perBroker)[0];
  return {
    name: def.name,
    value: own?.value ?? null,
    source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
    readOnly: !def.dynamic,
    isSensitive: false,
    type: def.type,
    doc: def.doc,
    synonyms,
  };
}

function scaleText(raw: string, scale: number): string {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) return text;
  return (BigInt(text) * BigInt(scale)).toString();
}
