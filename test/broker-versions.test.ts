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
  // No initial rebalance delay: JoinGroup samples complete at once.
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { 'group.initial.rebalance.delay.ms': '0' } });
  const created = await broker.metadata.createTopic('t', 1, 1, {});
  if (!created.ok) throw new Error(created.message);
  broker.materializeTopic(created.value);
  topicId = kafkaUuidToCanonical(created.value.topicId);
  for (const name of ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'p0', 'p1', 'p2', 'p3']) {
    const extra = await broker.metadata.createTopic(name, 1, 1, {});
    if (!extra.ok) throw new Error(extra.message);
    broker.materializeTopic(extra.value);
  }
  member = await stableMember('members');
  for (let v = 0; v <= 5; v++) leavers.push((await stableMember(`leave-v${v}`)).memberId);
  for (const groupId of ['del-v1', 'del-v2', 'del-offsets']) {
    await broker.groupCoordinator.commitOffsets({
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
  }
  broker.logs.getLog('t', 0)!.append(buildRecordBatch(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(200) }))));
});

let member: { memberId: string; generationId: number };
const leavers: string[] = [];

/** A one-member group, joined and synced through the coordinator, for the APIs that need a live member. */
async function stableMember(groupId: string): Promise<{ memberId: string; generationId: number }> {
  const joined = await broker.groupCoordinator.joinGroup({
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'v',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    requireKnownMemberId: false,
    supportsSkippingAssignment: false,
    reason: null,
  });
  if (joined.errorCode !== 0) throw new Error(`join ${groupId}: ${joined.errorCode}`);
  const synced = await broker.groupCoordinator.syncGroup({
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from([1]) }],
  });
  if (synced.errorCode !== 0) throw new Error(`sync ${groupId}: ${synced.errorCode}`);
  return { memberId: joined.memberId, generationId: joined.generationId };
}

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
    case ApiKey.FindCoordinator:
      return version >= 4 ? { keyType: 0, coordinatorKeys: ['g1', 'g2'] } : { key: 'g', keyType: 0 };
    case ApiKey.JoinGroup:
      // v4 answers a new dynamic member MEMBER_ID_REQUIRED (checked below); v5+ join as a static member in one step.
      return {
        groupId: `join-v${version}`,
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: '',
        groupInstanceId: version >= 5 ? 'instance' : null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: 'test',
      };
    case ApiKey.Heartbeat:
      return { groupId: 'members', generationId: member.generationId, memberId: member.memberId, groupInstanceId: null };
    case ApiKey.SyncGroup:
      return { groupId: 'members', generationId: member.generationId, memberId: member.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] };
    case ApiKey.LeaveGroup:
      return version >= 3 ? { groupId: `leave-v${version}`, members: [{ memberId: leavers[version], groupInstanceId: null, reason: 'test' }] } : { groupId: `leave-v${version}`, memberId: leavers[version] };
    case ApiKey.DescribeGroups:
      return { groups: ['members'], ...(version >= 3 ? { includeAuthorizedOperations: true } : {}) };
    case ApiKey.ListGroups:
      return { ...(version >= 4 ? { statesFilter: ['stable'] } : {}), ...(version >= 5 ? { typesFilter: ['classic'] } : {}) };
    case ApiKey.DeleteGroups:
      return { groupsNames: [`del-v${version}`] };
    case ApiKey.OffsetCommit:
      return {
        groupId: 'members',
        generationIdOrMemberEpoch: member.generationId,
        memberId: member.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: BigInt(version), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: `v${version}` }] }],
      };
    case ApiKey.OffsetFetch:
      return version >= 8
        ? { groups: [{ groupId: 'members', memberId: null, memberEpoch: -1, topics: null }, { groupId: 'none', topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: true }
        : { groupId: 'members', topics: version >= 2 ? null : [{ name: 't', partitionIndexes: [0] }], ...(version >= 7 ? { requireStable: true } : {}) };
    case ApiKey.OffsetDelete:
      return { groupId: 'del-offsets', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] };
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
  [ApiKey.OffsetCommit, 2, 9],
  [ApiKey.OffsetFetch, 1, 9],
  [ApiKey.FindCoordinator, 0, 5],
  [ApiKey.JoinGroup, 0, 9],
  [ApiKey.Heartbeat, 0, 4],
  [ApiKey.LeaveGroup, 0, 5],
  [ApiKey.SyncGroup, 0, 5],
  [ApiKey.DescribeGroups, 0, 5],
  [ApiKey.ListGroups, 0, 5],
  [ApiKey.DeleteGroups, 1, 2],
  [ApiKey.OffsetDelete, 0, 0],
]) {
  for (let v = min; v <= max; v++) cases.push([API_REGISTRY.get(apiKey)!.name, apiKey, v]);
}

describe('every advertised API version', () => {
  it.each(cases)('%s (key %i) v%i answers', async (_name, apiKey, version) => {
    const { correlationId, ok, response } = await roundTrip(apiKey, version);
    expect(correlationId).toBe(version + 1000);
    expect(ok).toBe(true);
    // JoinGroup v4: a new dynamic member must first learn its member id (KIP-394).
    const expected = apiKey === ApiKey.JoinGroup && version === 4 ? [79] : [];
    expect(errorCodes(response), JSON.stringify(response, (_k, x) => (typeof x === 'bigint' ? String(x) : x))).toEqual(expected);
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
      // Kafka 4.0 dropped OffsetCommit v0-1, OffsetFetch v0 and DeleteGroups v0 (KIP-896); it kept FindCoordinator v0 and 4.0.1 restored JoinGroup v0-1 (KAFKA-19444), which librdkafka < 2.11 needs.
      [8, 2, 9],
      [9, 1, 9],
      [10, 0, 5],
      [11, 0, 9],
      [12, 0, 4],
      [13, 0, 5],
      [14, 0, 5],
      [15, 0, 5],
      [16, 0, 5],
      [18, 0, 3],
      [19, 0, 7],
      [20, 1, 6],
      [21, 0, 2],
      [22, 0, 5],
      [32, 1, 4],
      [33, 0, 2],
      [37, 0, 3],
      [42, 1, 2],
      [44, 0, 1],
      [47, 0, 0],
      [60, 0, 1],
      [68, 0, 0],
      [69, 0, 0],
    ]);
  });
});

/** Group API requests that fail, per version: the error answer must encode at every version (null names where a version has no nulls). */
const groupErrorCases: Array<[string, number, number, unknown, number[]]> = [];
for (let v = 0; v <= 9; v++) {
  const join = { groupId: 'g-err', sessionTimeoutMs: 1, rebalanceTimeoutMs: 1, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] };
  groupErrorCases.push(['JoinGroup', ApiKey.JoinGroup, v, join, [26]]);
}
for (let v = 0; v <= 5; v++) {
  groupErrorCases.push(['SyncGroup', ApiKey.SyncGroup, v, { groupId: 'g-none', generationId: 1, memberId: 'm', groupInstanceId: null, assignments: [] }, [25]]);
  groupErrorCases.push(['LeaveGroup', ApiKey.LeaveGroup, v, v >= 3 ? { groupId: 'g-none', members: [{ memberId: 'm', groupInstanceId: null }] } : { groupId: 'g-none', memberId: 'm' }, [25]]);
  groupErrorCases.push(['DescribeGroups', ApiKey.DescribeGroups, v, { groups: [''] }, [24]]);
}
for (let v = 0; v <= 4; v++) groupErrorCases.push(['Heartbeat', ApiKey.Heartbeat, v, { groupId: 'g-none', generationId: 1, memberId: 'm', groupInstanceId: null }, [25]]);
for (let v = 1; v <= 5; v++) {
  groupErrorCases.push(['FindCoordinator', ApiKey.FindCoordinator, v, v >= 4 ? { keyType: 1, coordinatorKeys: ['txn'] } : { key: 'txn', keyType: 1 }, [15]]);
}
for (let v = 2; v <= 9; v++) {
  const partitions = [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }];
  groupErrorCases.push(['OffsetCommit', ApiKey.OffsetCommit, v, { groupId: 'g-none', generationIdOrMemberEpoch: 3, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: 't', partitions }, { name: 'no-such-topic', partitions }] }, v >= 9 ? [69, 3] : [22, 3]]);
}
for (let v = 1; v <= 2; v++) groupErrorCases.push(['DeleteGroups', ApiKey.DeleteGroups, v, { groupsNames: ['g-none'] }, [69]]);
groupErrorCases.push(['OffsetDelete', ApiKey.OffsetDelete, 0, { groupId: 'g-none', topics: [] }, [69]]);

describe('group API errors at every version', () => {
  it.each(groupErrorCases)('%s (key %i) v%i answers its error', async (_name, apiKey, version, requestBody, expected) => {
    const { ok, response } = await roundTripBody(apiKey, version, requestBody);
    expect(ok).toBe(true);
    expect(errorCodes(response)).toEqual(expected);
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
