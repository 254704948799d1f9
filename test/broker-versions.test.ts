// Every API at every version the broker advertises gets a well-formed answer
// (a field the version lacks must never make the encoder throw and the
// connection close).
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { Reader, Writer } from '../src/protocol/codec.js';
import { API_REGISTRY, ApiKey, decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../src/protocol/generated/index.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { kafkaUuidToCanonical } from '../src/cluster/local-metadata.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

let broker: Broker;
let dataDir: string;
let topicId: string;

beforeAll(async () => {
  dataDir = tempDir();
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  const created = broker.metadata.createTopic('t', 1, 1, {});
  if (!created.ok) throw new Error(created.message);
  broker.materializeTopic(created.value);
  topicId = kafkaUuidToCanonical(created.value.topicId);
  for (const name of ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'p0', 'p1', 'p2', 'p3']) {
    const extra = broker.metadata.createTopic(name, 1, 1, {});
    if (!extra.ok) throw new Error(extra.message);
    broker.materializeTopic(extra.value);
  }
  broker.logs.getLog('t', 0)!.append(buildRecordBatch(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(200) }))));
});

afterAll(async () => {
  await broker.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function body(apiKey: number, version: number): unknown {
  switch (apiKey) {
    case ApiKey.Produce:
      return { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'a', value: 'b' }]) }] }] };
    case ApiKey.Fetch:
      return {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 't', topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      };
    case ApiKey.ListOffsets:
      return { replicaId: -1, isolationLevel: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] };
    case ApiKey.Metadata:
      return version >= 4 ? { topics: null, allowAutoTopicCreation: false } : { topics: version === 0 ? [] : null };
    case ApiKey.CreateTopics:
      return { topics: [{ name: `c${version}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false };
    case ApiKey.DescribeConfigs:
      return { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }, { resourceType: 4, resourceName: '1', configurationKeys: ['log.retention.ms'] }], includeSynonyms: true, ...(version >= 3 ? { includeDocumentation: true } : {}) };
    case ApiKey.AlterConfigs:
      return { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '86400000' }] }], validateOnly: true };
    case ApiKey.IncrementalAlterConfigs:
      return { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }], validateOnly: true };
    case ApiKey.ApiVersions:
      return { clientSoftwareName: 'test', clientSoftwareVersion: '1' };
    case ApiKey.DeleteTopics:
      // Each version deletes a topic of its own, created in beforeAll.
      return version >= 6
        ? { topics: [{ name: `d${version}`, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 1000 }
        : { topicNames: [`d${version}`], timeoutMs: 1000 };
    case ApiKey.DeleteRecords:
      return { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 };
    case ApiKey.CreatePartitions:
      return { topics: [{ name: `p${version}`, count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false };
    case ApiKey.DescribeCluster:
      return { includeClusterAuthorizedOperations: true, endpointType: 1 };
    case ApiKey.InitProducerId:
      return { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 };
    case ApiKey.ConsumerGroupHeartbeat:
      return { groupId: 'versions', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['t'], serverAssignor: null, topicPartitions: [] };
    case ApiKey.ConsumerGroupDescribe:
      return { groupIds: [], includeAuthorizedOperations: false };
    default:
      throw new Error(`no sample for ${apiKey}`);
  }
}

function roundTrip(apiKey: number, version: number): Promise<{ correlationId: number; response: unknown; ok: boolean }> {
  return roundTripBody(apiKey, version, body(apiKey, version));
}

function roundTripBody(apiKey: number, version: number, requestBody: unknown): Promise<{ correlationId: number; response: unknown; ok: boolean }> {
  const info = API_REGISTRY.get(apiKey)!;
  const w = new Writer();
  encodeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId: version + 1000, clientId: 'v' });
  info.request.encode(w, version, requestBody);
  const payload = w.toBuffer();
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeInt32BE(payload.length);
  payload.copy(frame, 4);
  return new Promise((resolve, reject) => {
    const s = net.connect(broker.port, '127.0.0.1', () => s.write(frame));
    let data = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        s.destroy();
        const r = new Reader(data.subarray(4, 4 + data.readInt32BE(0)));
        const header = decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
        const response = info.response.decode(r, version);
        resolve({ correlationId: header.correlationId, response, ok: r.ok && r.remaining === 0 });
      }
    });
    s.on('close', () => reject(new Error(`${info.name} v${version}: connection closed without a response`)));
    s.on('error', reject);
  });
}

const cases: Array<[string, number, number]> = [];
for (const [apiKey, min, max] of [
  [ApiKey.Produce, 3, 11],
  [ApiKey.Fetch, 4, 16],
  [ApiKey.ListOffsets, 1, 8],
  [ApiKey.Metadata, 0, 12],
  [ApiKey.CreateTopics, 0, 7],
  [ApiKey.ApiVersions, 0, 3],
  [ApiKey.DeleteTopics, 1, 6],
  [ApiKey.DeleteRecords, 0, 2],
  [ApiKey.CreatePartitions, 0, 3],
  [ApiKey.DescribeCluster, 0, 1],
  [ApiKey.DescribeConfigs, 1, 4],
  [ApiKey.AlterConfigs, 0, 2],
  [ApiKey.IncrementalAlterConfigs, 0, 1],
  [ApiKey.InitProducerId, 0, 5],
  [ApiKey.ConsumerGroupHeartbeat, 0, 0],
  [ApiKey.ConsumerGroupDescribe, 0, 0],
]) {
  for (let v = min; v <= max; v++) cases.push([API_REGISTRY.get(apiKey)!.name, apiKey, v]);
}

describe('every advertised API version', () => {
  it.each(cases)('%s (key %i) v%i answers', async (_name, apiKey, version) => {
    const { correlationId, ok, response } = await roundTrip(apiKey, version);
    expect(correlationId).toBe(version + 1000);
    expect(ok).toBe(true);
    expect(errorCodes(response), JSON.stringify(response, (_k, x) => (typeof x === 'bigint' ? String(x) : x))).toEqual([]);
  });

  it('answers a version Kafka 4.0 dropped (DeleteTopics v0) by closing the connection, as for any unsupported version', async () => {
    await expect(roundTripBody(ApiKey.DeleteTopics, 0, { topicNames: ['t'], timeoutMs: 1000 })).rejects.toThrow(/closed without a response/);
    expect(broker.metadata.topic('t')).toBeDefined();
  });

  it('advertises exactly these versions', async () => {
    const { response } = await roundTrip(ApiKey.ApiVersions, 3);
    const keys = (response as { apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> }).apiKeys;
    expect(keys.map((k) => [k.apiKey, k.minVersion, k.maxVersion])).toEqual([
      [0, 0, 11], // Produce serves v3+, advertised from v0 as Kafka 4.0 does (KAFKA-18659)
      [1, 4, 16],
      [2, 1, 8],
      [3, 0, 12],
      [18, 0, 3],
      [19, 0, 7],
      [20, 1, 6],
      [21, 0, 2],
      [22, 0, 5],
      [32, 1, 4],
      [33, 0, 2],
      [37, 0, 3],
      [44, 0, 1],
      [60, 0, 1],
      [68, 0, 0],
      [69, 0, 0],
    ]);
  });
});

/** Every non-zero errorCode anywhere in a response (the samples above all succeed). */
function errorCodes(value: unknown): number[] {
  if (Array.isArray(value)) return value.flatMap(errorCodes);
  if (value === null || typeof value !== 'object') return [];
  const found: number[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'errorCode' && typeof inner === 'number' && inner !== 0) found.push(inner);
    else found.push(...errorCodes(inner));
  }
  return found;
}
