// Topic and broker configs through the admin APIs, against a broker started
// here: kafkajs describeConfigs/alterConfigs, the raw protocol for
// IncrementalAlterConfigs and every version of the three APIs, the effect of a
// change on live partitions, and persistence across a restart.
import fs from 'node:fs';
import net from 'node:net';
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { Reader, Writer } from '../src/protocol/codec.js';
import { API_REGISTRY, ApiKey, decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../src/protocol/generated/index.js';
import type { DescribeConfigsResponse, IncrementalAlterConfigsResponse, ProduceResponse, CreateTopicsResponse, AlterConfigsResponse } from '../src/protocol/generated/index.js';
import { buildRecordBatch, iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
const Source = { TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

async function startBroker(dataDir: string, properties: Record<string, string> = {}): Promise<Broker> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties });
  cleanups.push(() => broker.close());
  return broker;
}

function newDataDir(): string {
  const dir = tempDir();
  cleanups.unshift(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function admin(port: number): Promise<Admin> {
  const kafka = new Kafka({ clientId: 'configs-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const a = kafka.admin();
  cleanups.push(() => a.disconnect());
  await a.connect();
  return a;
}

/** One request on its own connection; the response decoded with our codecs (and checked to be fully consumed). */
function call<T>(port: number, apiKey: number, version: number, body: unknown): Promise<T> {
  const info = API_REGISTRY.get(apiKey)!;
  const w = new Writer();
  encodeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId: 7, clientId: 'raw' });
  info.request.encode(w, version, body);
  const payload = w.toBuffer();
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeInt32BE(payload.length);
  payload.copy(frame, 4);
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(frame));
    let data = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        s.destroy();
        const r = new Reader(data.subarray(4, 4 + data.readInt32BE(0)));
        decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
        const response = info.response.decode(r, version);
        if (!r.ok || r.remaining !== 0) reject(new Error(`${info.name} v${version}: response did not decode`));
        else resolve(response as T);
      }
    });
    s.on('close', () => reject(new Error(`${info.name} v${version}: closed without a response`)));
    s.on('error', reject);
  });
}

function describeRaw(port: number, version: number, resourceType: number, resourceName: string, keys: string[] | null = null, extra = { includeSynonyms: true, includeDocumentation: true }) {
  const flags = version >= 3 ? extra : { includeSynonyms: extra.includeSynonyms };
  return call<DescribeConfigsResponse>(port, ApiKey.DescribeConfigs, version, { resources: [{ resourceType, resourceName, configurationKeys: keys }], ...flags });
}

function incremental(port: number, version: number, resourceType: number, resourceName: string, configs: Array<[string, number, string | null]>, validateOnly = false) {
  return call<IncrementalAlterConfigsResponse>(port, ApiKey.IncrementalAlterConfigs, version, {
    resources: [{ resourceType, resourceName, configs: configs.map(([name, configOperation, value]) => ({ name, configOperation, value })) }],
    validateOnly,
  });
}

function alterRaw(port: number, version: number, resourceType: number, resourceName: string, configs: Array<[string, string | null]>, validateOnly = false) {
  return call<AlterConfigsResponse>(port, ApiKey.AlterConfigs, version, {
    resources: [{ resourceType, resourceName, configs: configs.map(([name, value]) => ({ name, value })) }],
    validateOnly,
  });
}

function createTopic(broker: Broker, name: string, configs: Record<string, string> = {}, partitions = 1): void {
  const created = broker.metadata.createTopic(name, partitions, 1, configs);
  if (created instanceof Promise) throw new Error('a broker alone creates topics synchronously');
  if (!created.ok) throw new Error(created.message);
  broker.materializeTopic(created.value);
}

function produce(port: number, topic: string, records: Buffer, version = 9, acks = 1) {
  return call<ProduceResponse>(port, ApiKey.Produce, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
}

async function topicConfigs(a: Admin, topic: string, includeSynonyms = false) {
  const described = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms });
  return new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
}

describe('configs with kafkajs', () => {
  it('describes topic defaults, overrides and broker synonyms, and alters a topic (the whole set replaced)', async () => {
    const broker = await startBroker(newDataDir(), { 'log.retention.hours': '24' });
    const a = await admin(broker.port);
    await a.createTopics({ topics: [{ topic: 'orders', configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'max.message.bytes', value: '2000000' }] }] });

    const before = await topicConfigs(a, 'orders', true);
    expect(before.get('cleanup.policy')).toMatchObject({ configValue: 'compact', configSource: Source.TOPIC_CONFIG, readOnly: false, isSensitive: false });
    // retention.ms comes from server.properties' log.retention.hours, in the topic's unit.
    expect(before.get('retention.ms')).toMatchObject({ configValue: '86400000', configSource: Source.STATIC_BROKER_CONFIG });
    expect(before.get('retention.ms')!.configSynonyms).toEqual([
      { configName: 'log.retention.hours', configValue: '24', configSource: Source.STATIC_BROKER_CONFIG },
      { configName: 'log.retention.hours', configValue: '168', configSource: Source.DEFAULT_CONFIG },
    ]);
    expect(before.get('segment.bytes')).toMatchObject({ configValue: '1073741824', configSource: Source.DEFAULT_CONFIG });
    expect(before.get('message.timestamp.type')).toMatchObject({ configValue: 'CreateTime', configSource: Source.DEFAULT_CONFIG });
    expect(before.get('flush.messages')!.configValue).toBe('9223372036854775807');
    expect(before.size).toBeGreaterThanOrEqual(30);

    // AlterConfigs replaces every override: max.message.bytes goes back to its default.
    await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const after = await topicConfigs(a, 'orders');
    expect(after.get('retention.ms')).toMatchObject({ configValue: '3600000', configSource: Source.TOPIC_CONFIG });
    expect(after.get('max.message.bytes')).toMatchObject({ configValue: '1048588', configSource: Source.DEFAULT_CONFIG });
    expect(after.get('cleanup.policy')).toMatchObject({ configValue: 'delete', configSource: Source.DEFAULT_CONFIG });
    expect(broker.logs.getLog('orders', 0)!.currentConfig.retentionMs).toBe(3_600_000);

    // validate_only changes nothing.
    await a.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    expect((await topicConfigs(a, 'orders')).get('retention.ms')!.configValue).toBe('3600000');

    // Kafka's validation: unknown names, values of the wrong type, out of range, not among the valid values.
    for (const [name, value] of [['retention.mss', '1'], ['retention.ms', 'soon'], ['segment.bytes', '1000'], ['cleanup.policy', 'shred'], ['message.timestamp.type', 'Now']]) {
      const error = await a
        .alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name, value }] }] })
        .catch((e: { type?: string }) => e);
      expect((error as { type?: string }).type, `${name}=${value}`).toBe('INVALID_CONFIG');
    }
    expect((await topicConfigs(a, 'orders')).get('retention.ms')!.configValue).toBe('3600000');

    // Broker configs: node 1 lists its configs; static ones say so; read-only flags as Kafka.
    const described = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false });
    const brokerEntries = new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
    expect(brokerEntries.get('log.retention.hours')).toMatchObject({ configValue: '24', configSource: Source.STATIC_BROKER_CONFIG, readOnly: true });
    expect(brokerEntries.get('log.retention.ms')).toMatchObject({ configValue: null, readOnly: false });
    expect(brokerEntries.get('num.partitions')).toMatchObject({ configValue: '1', configSource: Source.DEFAULT_CONFIG, readOnly: true });
  }, 60_000);

  it('refuses unknown and invalid topic configs in CreateTopics and returns every config of a new topic (v5+)', async () => {
    const broker = await startBroker(newDataDir());
    const results = await call<CreateTopicsResponse>(broker.port, ApiKey.CreateTopics, 7, {
      topics: [
        { name: 'good', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '60000' }] },
        { name: 'unknown', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.msx', value: '1' }] },
        { name: 'invalid', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'min.insync.replicas', value: '0' }] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const [good, unknown, invalid] = results.topics;
    expect(good.errorCode).toBe(0);
    const configs = new Map(good.configs!.map((c) => [c.name, c]));
    expect(configs.get('retention.ms')).toMatchObject({ value: '60000', configSource: Source.TOPIC_CONFIG, readOnly: false });
    expect(configs.get('segment.bytes')).toMatchObject({ value: '1073741824', configSource: Source.DEFAULT_CONFIG });
    expect(unknown).toMatchObject({ errorCode: 40, errorMessage: 'Unknown topic config name: retention.msx' });
    expect(invalid).toMatchObject({ errorCode: 40, errorMessage: 'Invalid value 0 for configuration min.insync.replicas: Value must be at least 1' });
    expect(broker.metadata.topic('unknown')).toBeUndefined();
  }, 60_000);
});

describe('configs with @platformatic/kafka', () => {
  it('describes with documentation, edits incrementally and replaces, and sees Kafka\'s errors', async () => {
    const broker = await startBroker(newDataDir());
    const a = new PlatformaticAdmin({ clientId: 'configs-test', bootstrapBrokers: [`127.0.0.1:${broker.port}`], retries: 1, retryDelay: 100 });
    cleanups.push(() => a.close());
    await a.createTopics({ topics: ['pk'], partitions: 1, replicas: 1 });
    await a.incrementalAlterConfigs({
      resources: [{ resourceType: TOPIC, resourceName: 'pk', configs: [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }, { name: 'segment.ms', configOperation: SET, value: '600000' }] }],
    });
    const [described] = await a.describeConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'pk', configurationKeys: ['cleanup.policy', 'segment.ms', 'retention.ms'] }], includeSynonyms: true, includeDocumentation: true });
    const byName = new Map(described.configs.map((c) => [c.name, c]));
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'delete,compact', configSource: Source.TOPIC_CONFIG, configType: 7 });
    expect(byName.get('segment.ms')).toMatchObject({ value: '600000', configSource: Source.TOPIC_CONFIG, configType: 5 });
    expect(byName.get('retention.ms')).toMatchObject({ value: '604800000', configSource: Source.DEFAULT_CONFIG });
    expect(byName.get('retention.ms')!.documentation).toBeTruthy();
    expect(broker.logs.getLog('pk', 0)!.currentConfig.segmentMs).toBe(600_000);
    await a.alterConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'pk', configs: [{ name: 'retention.bytes', value: '1048576' }] }] });
    expect(broker.metadata.topic('pk')!.configs).toEqual({ 'retention.bytes': '1048576' });
    const error = await a
      .incrementalAlterConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'pk', configs: [{ name: 'retention.bytes', configOperation: SET, value: 'lots' }] }] })
      .catch((e: unknown) => e);
    // The client names INVALID_CONFIG (40) "Configuration is invalid."
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).toMatch(/Configuration is invalid/);
    expect(broker.metadata.topic('pk')!.configs).toEqual({ 'retention.bytes': '1048576' });
  }, 60_000);
});

describe('configs over the raw protocol', () => {
  it('IncrementalAlterConfigs SET, DELETE, APPEND and SUBTRACT at v0 and v1, with validate_only', async () => {
    const broker = await startBroker(newDataDir());
    createTopic(broker, 'inc');
    const port = broker.port;
    for (const version of [0, 1]) {
      let r = await incremental(port, version, TOPIC, 'inc', [['retention.ms', SET, '120000'], ['cleanup.policy', APPEND, 'compact']]);
      expect(r.responses[0]).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'inc' });
      expect(broker.metadata.topic('inc')!.configs).toEqual({ 'retention.ms': '120000', 'cleanup.policy': 'delete,compact' });
      r = await incremental(port, version, TOPIC, 'inc', [['cleanup.policy', SUBTRACT, 'delete']]);
      expect(broker.metadata.topic('inc')!.configs['cleanup.policy']).toBe('compact');
      // validate_only: accepted, not applied.
      r = await incremental(port, version, TOPIC, 'inc', [['retention.ms', DELETE, null]], true);
      expect(r.responses[0].errorCode).toBe(0);
      expect(broker.metadata.topic('inc')!.configs['retention.ms']).toBe('120000');
      r = await incremental(port, version, TOPIC, 'inc', [['retention.ms', DELETE, null], ['cleanup.policy', DELETE, null]]);
      expect(broker.metadata.topic('inc')!.configs).toEqual({});
      // APPEND to a non-list config, unknown names, a missing topic, a bad topic name.
      r = await incremental(port, version, TOPIC, 'inc', [['retention.ms', APPEND, '5']]);
      expect(r.responses[0]).toMatchObject({ errorCode: 40, errorMessage: "Can't APPEND to key retention.ms because its type is not LIST." });
      r = await incremental(port, version, TOPIC, 'inc', [['no.such.config', SET, '5']]);
      expect(r.responses[0]).toMatchObject({ errorCode: 40, errorMessage: 'Unknown topic config name: no.such.config' });
      r = await incremental(port, version, TOPIC, 'missing', [['retention.ms', SET, '5']]);
      expect(r.responses[0].errorCode).toBe(3);
      r = await incremental(port, version, TOPIC, 'bad/name', [['retention.ms', SET, '5']]);
      expect(r.responses[0].errorCode).toBe(17);
      r = await incremental(port, version, TOPIC, 'inc', [['retention.ms', SET, '5'], ['retention.ms', SET, '6']]);
      expect(r.responses[0].errorCode).toBe(42);
      // A very long list (only flexible versions' strings can carry one) is handled in linear time and refused for its size, not stored.
      if (version === 0) continue;
      const replicas = Array.from({ length: 100_000 }, (_, i) => `${i}:1`).join(',');
      r = await incremental(port, version, TOPIC, 'inc', [['leader.replication.throttled.replicas', APPEND, replicas]]);
      expect(r.responses[0]).toMatchObject({ errorCode: 40, errorMessage: 'Invalid value for configuration leader.replication.throttled.replicas: longer than 65536 characters' });
      expect(broker.metadata.topic('inc')!.configs).toEqual({});
    }
  }, 60_000);

  it('answers DescribeConfigs v1-v4 and AlterConfigs v0-v2 with what each version carries', async () => {
    const broker = await startBroker(newDataDir());
    createTopic(broker, 'v', { 'retention.ms': '1000000' });
    for (const version of [1, 2, 3, 4]) {
      const r = await describeRaw(broker.port, version, TOPIC, 'v', ['retention.ms', 'cleanup.policy']);
      const [result] = r.results;
      expect(result).toMatchObject({ errorCode: 0, resourceType: TOPIC, resourceName: 'v' });
      const retention = result.configs.find((c) => c.name === 'retention.ms')!;
      expect(result.configs.map((c) => c.name).sort()).toEqual(['cleanup.policy', 'retention.ms']);
      expect(retention).toMatchObject({ value: '1000000', readOnly: false, configSource: Source.TOPIC_CONFIG, isSensitive: false });
      expect(retention.synonyms![0]).toEqual({ name: 'retention.ms', value: '1000000', source: Source.TOPIC_CONFIG });
      expect(retention.synonyms!.at(-1)).toEqual({ name: 'log.retention.hours', value: '168', source: Source.DEFAULT_CONFIG });
      if (version >= 3) {
        expect(retention.configType).toBe(5); // LONG
        expect(result.configs.find((c) => c.name === 'cleanup.policy')!.configType).toBe(7); // LIST
        expect(retention.documentation).toMatch(/segments/);
      }
      // Without include_synonyms / include_documentation.
      const plain = await describeRaw(broker.port, version, TOPIC, 'v', ['retention.ms'], { includeSynonyms: false, includeDocumentation: false });
      expect(plain.results[0].configs[0].synonyms).toEqual([]);
      if (version >= 3) expect(plain.results[0].configs[0].documentation).toBeNull();
    }
    const missing = await describeRaw(broker.port, 4, TOPIC, 'nope');
    expect(missing.results[0]).toMatchObject({ errorCode: 3, configs: [] });
    // Resource types this broker does not serve, and operations that do not exist: INVALID_REQUEST, connection kept.
    expect((await describeRaw(broker.port, 4, 99, 'x')).results[0].errorCode).toBe(42);
    expect((await incremental(broker.port, 1, TOPIC, 'v', [['retention.ms', 9, '1']])).responses[0].errorCode).toBe(42);
    expect((await alterRaw(broker.port, 2, 99, 'x', [['a', 'b']])).responses[0].errorCode).toBe(42);
    for (const version of [0, 1, 2]) {
      const r = await alterRaw(broker.port, version, TOPIC, 'v', [['retention.ms', String(2000 + version)]]);
      expect(r.responses[0]).toMatchObject({ errorCode: 0, resourceName: 'v' });
      expect(broker.metadata.topic('v')!.configs).toEqual({ 'retention.ms': String(2000 + version) });
      const bad = await alterRaw(broker.port, version, TOPIC, 'v', [['retention.ms', null]]);
      expect(bad.responses[0].errorCode).toBe(40);
    }
  }, 60_000);

  it('broker configs: cluster default and per-broker levels, read-only and unknown refused, unknown broker ids refused', async () => {
    const dataDir = newDataDir();
    const broker = await startBroker(dataDir, { 'log.retention.check.interval.ms': '600000' });
    createTopic(broker, 'b');
    const port = broker.port;
    // Cluster default (resource name "").
    let r = await incremental(port, 1, BROKER, '', [['log.retention.ms', SET, '7200000']]);
    expect(r.responses[0]).toMatchObject({ errorCode: 0 });
    let topic = (await describeRaw(port, 4, TOPIC, 'b', ['retention.ms'])).results[0].configs[0];
    expect(topic).toMatchObject({ value: '7200000', configSource: Source.DYNAMIC_DEFAULT_BROKER_CONFIG });
    expect(broker.logs.getLog('b', 0)!.currentConfig.retentionMs).toBe(7_200_000);
    const defaults = await describeRaw(port, 4, BROKER, '');
    expect(defaults.results[0].configs.map((c) => [c.name, c.value, c.configSource])).toEqual([['log.retention.ms', '7200000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG]]);
    // The per-broker level outranks the cluster default.
    r = await incremental(port, 0, BROKER, '1', [['log.retention.ms', SET, '3600000'], ['message.max.bytes', SET, '500000']]);
    expect(r.responses[0].errorCode).toBe(0);
    topic = (await describeRaw(port, 4, TOPIC, 'b', ['retention.ms'])).results[0].configs[0];
    expect(topic).toMatchObject({ value: '3600000', configSource: Source.DYNAMIC_BROKER_CONFIG });
    expect(topic.synonyms!.map((s) => [s.name, s.value, s.source])).toEqual([
      ['log.retention.ms', '3600000', Source.DYNAMIC_BROKER_CONFIG],
      ['log.retention.ms', '7200000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['log.retention.hours', '168', Source.DEFAULT_CONFIG],
    ]);
    expect(broker.logs.getLog('b', 0)!.currentConfig.maxMessageBytes).toBe(500_000);
    const mine = (await describeRaw(port, 4, BROKER, '1', ['log.retention.ms', 'log.retention.hours'])).results[0].configs;
    expect(mine.find((c) => c.name === 'log.retention.ms')).toMatchObject({ value: '3600000', configSource: Source.DYNAMIC_BROKER_CONFIG, readOnly: false });
    // A topic override still wins over every broker level.
    await incremental(port, 1, TOPIC, 'b', [['retention.ms', SET, '1000']]);
    expect(broker.logs.getLog('b', 0)!.currentConfig.retentionMs).toBe(1000);

    // Refusals, as Kafka words them.
    r = await incremental(port, 1, BROKER, '1', [['num.partitions', SET, '3']]);
    expect(r.responses[0]).toMatchObject({ errorCode: 42, errorMessage: "Invalid config value for resource ConfigResource(type=BROKER, name='1'): Cannot update these configs dynamically: Set(num.partitions)" });
    r = await incremental(port, 1, BROKER, '1', [['log.retention.ms', SET, 'later']]);
    expect(r.responses[0]).toMatchObject({ errorCode: 42 });
    expect(r.responses[0].errorMessage).toContain('Invalid value later for configuration log.retention.ms: Not a number of type LONG');
    r = await incremental(port, 1, BROKER, '2', [['log.retention.ms', SET, '1']]);
    expect(r.responses[0]).toMatchObject({ errorCode: 42, errorMessage: 'Unexpected broker id, expected 1 or empty string, but received 2' });
    r = await incremental(port, 1, BROKER, 'x', [['log.retention.ms', SET, '1']]);
    expect(r.responses[0]).toMatchObject({ errorCode: 42, errorMessage: 'Broker id must be an integer, but it is: x' });
    const other = await describeRaw(port, 4, BROKER, '7');
    expect(other.results[0].errorCode).toBe(42);
    // AlterConfigs on a broker replaces its level: the per-broker retention goes, message.max.bytes stays.
    const replaced = await alterRaw(port, 2, BROKER, '1', [['message.max.bytes', '600000']]);
    expect(replaced.responses[0].errorCode).toBe(0);
    await incremental(port, 1, TOPIC, 'b', [['retention.ms', DELETE, null]]);
    expect(broker.logs.getLog('b', 0)!.currentConfig.retentionMs).toBe(7_200_000);
    expect(broker.logs.getLog('b', 0)!.currentConfig.maxMessageBytes).toBe(600_000);

    // Everything survives a restart: topic overrides and both dynamic levels.
    await incremental(port, 1, TOPIC, 'b', [['segment.bytes', SET, '2097152']]);
    await broker.close();
    cleanups.length = 0;
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const again = await startBroker(dataDir);
    const log = again.logs.getLog('b', 0)!;
    expect(log.currentConfig.segmentBytes).toBe(2_097_152);
    expect(log.currentConfig.retentionMs).toBe(7_200_000);
    expect(log.currentConfig.maxMessageBytes).toBe(600_000);
    const described = (await describeRaw(again.port, 4, TOPIC, 'b', ['segment.bytes', 'retention.ms', 'max.message.bytes'])).results[0].configs;
    expect(described.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['max.message.bytes', '600000', Source.DYNAMIC_BROKER_CONFIG],
      ['retention.ms', '7200000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['segment.bytes', '2097152', Source.TOPIC_CONFIG],
    ]);
  }, 90_000);
});

describe('config changes on live partitions', () => {
  it('a lower segment.bytes rolls sooner, a lower max.message.bytes refuses big batches, retention applies at the next check', async () => {
    const broker = await startBroker(newDataDir(), { 'log.retention.check.interval.ms': '100' });
    createTopic(broker, 'live');
    const port = broker.port;
    const log = broker.logs.getLog('live', 0)!;
    const old = Date.now() - 3 * 3_600_000;
    const bigBatch = () => buildRecordBatch([{ value: Buffer.alloc(400_000, 7), timestamp: old }]);
    for (let i = 0; i < 3; i++) expect((await produce(port, 'live', bigBatch())).responses[0].partitionResponses[0].errorCode).toBe(0);
    expect(log.segmentBaseOffsets()).toEqual([0]);
    await incremental(port, 1, TOPIC, 'live', [['segment.bytes', SET, String(1024 * 1024)]]);
    for (let i = 0; i < 3; i++) expect((await produce(port, 'live', bigBatch())).responses[0].partitionResponses[0].errorCode).toBe(0);
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(1);

    await incremental(port, 1, TOPIC, 'live', [['max.message.bytes', SET, '1000']]);
    const refused = (await produce(port, 'live', buildRecordBatch([{ value: Buffer.alloc(5000, 1) }]))).responses[0].partitionResponses[0];
    expect(refused.errorCode).toBe(10); // MESSAGE_TOO_LARGE
    expect((await produce(port, 'live', buildRecordBatch([{ value: 'small' }]))).responses[0].partitionResponses[0].errorCode).toBe(0);

    // min.insync.replicas above the ISR (this broker alone) refuses acks=-1, not acks=1.
    await incremental(port, 1, TOPIC, 'live', [['min.insync.replicas', SET, '2']]);
    const all = (await produce(port, 'live', buildRecordBatch([{ value: 'x' }]), 9, -1)).responses[0].partitionResponses[0];
    expect(all).toMatchObject({ errorCode: 19 }); // NOT_ENOUGH_REPLICAS
    expect(all.errorMessage).toContain('min.isr requirement of 2 for partition live-0');
    expect((await produce(port, 'live', buildRecordBatch([{ value: 'x' }]), 9, 1)).responses[0].partitionResponses[0].errorCode).toBe(0);
    await incremental(port, 1, TOPIC, 'live', [['min.insync.replicas', DELETE, null]]);
    expect((await produce(port, 'live', buildRecordBatch([{ value: 'x' }]), 9, -1)).responses[0].partitionResponses[0].errorCode).toBe(0);
    // The broker-level default (min.insync.replicas is its own synonym) applies to topics without an override.
    await incremental(port, 1, BROKER, '', [['min.insync.replicas', SET, '3']]);
    expect((await produce(port, 'live', buildRecordBatch([{ value: 'x' }]), 9, -1)).responses[0].partitionResponses[0].errorCode).toBe(19);
    await incremental(port, 1, BROKER, '', [['min.insync.replicas', DELETE, null]]);

    // Records three hours old outlive a one-hour retention only until the next check.
    expect(log.logStartOffset).toBe(0);
    await incremental(port, 1, TOPIC, 'live', [['retention.ms', SET, '3600000']]);
    const deadline = Date.now() + 30_000;
    while (log.logStartOffset === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(log.logStartOffset).toBeGreaterThan(0);
  }, 90_000);

  it('message.timestamp.type=LogAppendTime stamps batches with the broker clock; CreateTime bounds refuse records with per-record errors', async () => {
    const broker = await startBroker(newDataDir());
    createTopic(broker, 'ts');
    const port = broker.port;
    const future = Date.now() + 2 * 3_600_000;
    // Kafka 4.0's default message.timestamp.after.max.ms is one hour.
    const batch = buildRecordBatch([{ value: 'ok', timestamp: Date.now() }, { value: 'late', timestamp: future }]);
    const refused = (await produce(port, 'ts', batch)).responses[0].partitionResponses[0];
    expect(refused.errorCode).toBe(32);
    expect(refused.errorMessage).toBe('One or more records have been rejected due to invalid timestamp');
    expect(refused.recordErrors).toHaveLength(1);
    expect(refused.recordErrors![0].batchIndex).toBe(1);
    expect(refused.recordErrors![0].batchIndexErrorMessage).toMatch(new RegExp(`^Timestamp ${future} of message with offset 1 is out of range\\. The timestamp should be within \\[-?\\d+, \\d+\\]$`));
    // Older produce versions get the code without record errors.
    expect((await produce(port, 'ts', batch, 7)).responses[0].partitionResponses[0].errorCode).toBe(32);

    // A tighter before-bound refuses old records too.
    await incremental(port, 1, TOPIC, 'ts', [['message.timestamp.before.max.ms', SET, '60000']]);
    const stale = (await produce(port, 'ts', buildRecordBatch([{ value: 'old', timestamp: Date.now() - 600_000 }]))).responses[0].partitionResponses[0];
    expect(stale.errorCode).toBe(32);
    expect(stale.recordErrors![0].batchIndex).toBe(0);
    // A record older than its batch's first timestamp (a negative delta) is found too.
    const mixed = buildRecordBatch([{ value: 'now', timestamp: Date.now() }, { value: 'fresh', timestamp: Date.now() }, { value: 'old', timestamp: Date.now() - 600_000 }]);
    const olderInside = (await produce(port, 'ts', mixed)).responses[0].partitionResponses[0];
    expect(olderInside.errorCode).toBe(32);
    expect(olderInside.recordErrors!.map((e) => e.batchIndex)).toEqual([2]);

    // LogAppendTime: accepted whatever the producer's timestamp, and stamped by the broker.
    await incremental(port, 1, TOPIC, 'ts', [['message.timestamp.type', SET, 'LogAppendTime']]);
    const before = Date.now();
    const appended = (await produce(port, 'ts', batch)).responses[0].partitionResponses[0];
    expect(appended.errorCode).toBe(0);
    expect(Number(appended.logAppendTimeMs)).toBeGreaterThanOrEqual(before - 1000);
    const log = broker.logs.getLog('ts', 0)!;
    const read = log.read(Number(appended.baseOffset), 1 << 20, { maxOffset: log.highWatermark });
    const bytes = Buffer.alloc(read.records!.length);
    fs.readSync(read.records!.fd, bytes, 0, bytes.length, read.records!.position);
    const headers = [...iterateBatchHeaders(bytes)].map((b) => b.header);
    expect(headers[0].timestampType).toBe('log-append');
    expect(headers[0].maxTimestamp).toBe(Number(appended.logAppendTimeMs));
  }, 60_000);
});
