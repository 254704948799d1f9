// The config catalog: Kafka 4.0's topic config names, defaults and validation,
// broker synonyms and how values and sources are resolved across levels.
import { describe, expect, it } from 'vitest';
import {
  BROKER_CONFIGS,
  ConfigSource,
  TOPIC_CONFIGS,
  brokerConfigDef,
  checkValue,
  describeBrokerConfig,
  describeTopicConfig,
  topicConfigDef,
  topicConfigsError,
  type BrokerConfigLayers,
} from '../src/config/config-catalog.js';
import { logConfigFromBrokerProperties, withTopicOverrides } from '../src/storage/log-config.js';

const noLayers: BrokerConfigLayers = { perBroker: {}, clusterDefault: {}, staticProps: new Map() };

describe('topic config catalog', () => {
  it('lists the Kafka 4.0 topic configs with their defaults', () => {
    const defaults = Object.fromEntries(TOPIC_CONFIGS.map((d) => [d.name, d.defaultValue]));
    expect(defaults).toMatchObject({
      'cleanup.policy': 'delete',
      'compression.type': 'producer',
      'delete.retention.ms': '86400000',
      'file.delete.delay.ms': '60000',
      'flush.messages': '9223372036854775807',
      'flush.ms': '9223372036854775807',
      'index.interval.bytes': '4096',
      'max.message.bytes': '1048588',
      'message.timestamp.after.max.ms': '3600000',
      'message.timestamp.before.max.ms': '9223372036854775807',
      'message.timestamp.type': 'CreateTime',
      'min.insync.replicas': '1',
      'retention.bytes': '-1',
      'retention.ms': '604800000',
      'segment.bytes': '1073741824',
      'segment.index.bytes': '10485760',
      'segment.ms': '604800000',
      'unclean.leader.election.enable': 'false',
    });
    // Removed in Kafka 4.0.
    expect(topicConfigDef('message.format.version')).toBeUndefined();
    expect(topicConfigDef('message.downconversion.enable')).toBeUndefined();
    // Every default passes its own validation.
    for (const d of TOPIC_CONFIGS) expect(checkValue(d.name, d.type, d.defaultValue, d.check), d.name).toBeNull();
  });

  it('the defaults agree with a broker\'s storage defaults', () => {
    const DEFAULT_LOG_CONFIG = logConfigFromBrokerProperties({});
    const fromCatalog = withTopicOverrides(DEFAULT_LOG_CONFIG, {
      'segment.bytes': topicConfigDef('segment.bytes')!.defaultValue,
      'retention.ms': topicConfigDef('retention.ms')!.defaultValue,
      'max.message.bytes': topicConfigDef('max.message.bytes')!.defaultValue,
      'message.timestamp.after.max.ms': topicConfigDef('message.timestamp.after.max.ms')!.defaultValue,
      'segment.index.bytes': topicConfigDef('segment.index.bytes')!.defaultValue,
      'index.interval.bytes': topicConfigDef('index.interval.bytes')!.defaultValue,
    });
    expect(fromCatalog.segmentBytes).toBe(DEFAULT_LOG_CONFIG.segmentBytes);
    expect(fromCatalog.retentionMs).toBe(DEFAULT_LOG_CONFIG.retentionMs);
    expect(fromCatalog.maxMessageBytes).toBe(DEFAULT_LOG_CONFIG.maxMessageBytes);
    expect(fromCatalog.messageTimestampAfterMaxMs).toBe(DEFAULT_LOG_CONFIG.messageTimestampAfterMaxMs);
    expect(fromCatalog.segmentIndexBytes).toBe(DEFAULT_LOG_CONFIG.segmentIndexBytes);
    expect(fromCatalog.indexIntervalBytes).toBe(DEFAULT_LOG_CONFIG.indexIntervalBytes);
  });

  it('validates as Kafka does, with its messages', () => {
    expect(topicConfigsError({ 'retention.ms': '1000', 'cleanup.policy': 'compact,delete' })).toBeNull();
    expect(topicConfigsError({ 'no.such': '1' })).toBe('Unknown topic config name: no.such');
    expect(topicConfigsError({ 'retention.ms': null })).toBe('Null value not supported for topic configs: retention.ms');
    expect(topicConfigsError({ 'retention.ms': 'abc' })).toBe('Invalid value abc for configuration retention.ms: Not a number of type LONG');
    expect(topicConfigsError({ 'retention.ms': '-2' })).toBe('Invalid value -2 for configuration retention.ms: Value must be at least -1');
    expect(topicConfigsError({ 'segment.bytes': '1048575' })).toBe('Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576');
    // INT configs are 32-bit.
    expect(topicConfigsError({ 'max.message.bytes': '2147483648' })).toBe('Invalid value 2147483648 for configuration max.message.bytes: Not a number of type INT');
    expect(topicConfigsError({ 'retention.bytes': '9223372036854775807' })).toBeNull();
    expect(topicConfigsError({ 'retention.bytes': '9223372036854775808' })).toMatch(/Not a number of type LONG/);
    expect(topicConfigsError({ 'cleanup.policy': 'shred' })).toBe('Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete');
    expect(topicConfigsError({ 'cleanup.policy': '' })).toMatch(/Empty list/);
    expect(topicConfigsError({ 'compression.type': 'brotli' })).toMatch(/String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer/);
    expect(topicConfigsError({ 'message.timestamp.type': 'logappendtime' })).toMatch(/String must be one of: CreateTime, LogAppendTime/);
    expect(topicConfigsError({ 'unclean.leader.election.enable': 'yes' })).toBe('Invalid value yes for configuration unclean.leader.election.enable: Expected value to be either true or false');
    expect(topicConfigsError({ 'unclean.leader.election.enable': 'TRUE' })).toBeNull();
    expect(topicConfigsError({ 'min.cleanable.dirty.ratio': '1.5' })).toMatch(/Value must be no more than 1/);
    expect(topicConfigsError({ 'min.insync.replicas': '0' })).toMatch(/at least 1/);
    expect(topicConfigsError({ 'leader.replication.throttled.replicas': '0:1,1:1' })).toBeNull();
    expect(topicConfigsError({ 'leader.replication.throttled.replicas': 'x' })).not.toBeNull();
    expect(topicConfigsError({ 'remote.storage.enable': 'true' })).toMatch(/Tiered Storage functionality is disabled/);
    expect(topicConfigsError({ 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' })).toMatch(/conflict/);
    expect(topicConfigsError({ 'cleanup.policy': 'delete,'.repeat(10_000) + 'delete' })).toMatch(/longer than 65536 characters$/);
  });
});

describe('value resolution', () => {
  it('a topic value comes from its override, else the first broker synonym that has a value, else the default', () => {
    const retention = topicConfigDef('retention.ms')!;
    expect(describeTopicConfig(retention, {}, noLayers)).toMatchObject({ value: '604800000', source: ConfigSource.DEFAULT_CONFIG });
    const layers: BrokerConfigLayers = { perBroker: {}, clusterDefault: { 'log.retention.ms': '5000' }, staticProps: new Map([['log.retention.minutes', '3']]) };
    expect(describeTopicConfig(retention, {}, layers)).toMatchObject({ value: '5000', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    const minutesOnly: BrokerConfigLayers = { ...noLayers, staticProps: new Map([['log.retention.minutes', '3']]) };
    expect(describeTopicConfig(retention, {}, minutesOnly)).toMatchObject({ value: '180000', source: ConfigSource.STATIC_BROKER_CONFIG });
    expect(describeTopicConfig(retention, { 'retention.ms': '1' }, layers)).toMatchObject({ value: '1', source: ConfigSource.TOPIC_CONFIG });
    expect(describeTopicConfig(topicConfigDef('leader.replication.throttled.replicas')!, {}, layers)).toMatchObject({ value: '', source: ConfigSource.DEFAULT_CONFIG, synonyms: [] });
  });

  it('broker configs: primary log.* synonyms are dynamic, the rest read-only; values layered', () => {
    expect(brokerConfigDef('log.retention.ms')!.dynamic).toBe(true);
    expect(brokerConfigDef('log.retention.hours')!.dynamic).toBe(false);
    expect(brokerConfigDef('message.max.bytes')!.dynamic).toBe(true);
    expect(brokerConfigDef('num.partitions')!.dynamic).toBe(false);
    expect(brokerConfigDef('log.retention.hours')!.defaultValue).toBe('168');
    expect(new Set(BROKER_CONFIGS.map((d) => d.name)).size).toBe(BROKER_CONFIGS.length);
    const layers: BrokerConfigLayers = { perBroker: { 'message.max.bytes': '10' }, clusterDefault: { 'message.max.bytes': '20' }, staticProps: new Map([['message.max.bytes', '30']]) };
    const described = describeBrokerConfig(brokerConfigDef('message.max.bytes')!, layers, true);
    expect(described).toMatchObject({ value: '10', source: ConfigSource.DYNAMIC_BROKER_CONFIG, readOnly: false });
    expect(described.synonyms.map((s) => s.source)).toEqual([
      ConfigSource.DYNAMIC_BROKER_CONFIG,
      ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      ConfigSource.STATIC_BROKER_CONFIG,
      ConfigSource.DEFAULT_CONFIG,
    ]);
    // At the cluster-default level the per-broker value is not visible.
    expect(describeBrokerConfig(brokerConfigDef('message.max.bytes')!, layers, false)).toMatchObject({ value: '20', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  });
});
