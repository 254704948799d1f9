// A Samsa cluster on a real etcd: three broker processes (node ids 1-3) on
// free loopback ports register under their own key prefix; one is the
// controller; kafkajs creates topics through any broker, produces to each
// leader and consumes back with a group; every broker's Metadata agrees. Then
// the failures: a duplicate node id, the controller SIGKILLed (another takes
// over, partitions it led go offline until it returns, topics can still be
// created), and etcd SIGKILLed and restarted (brokers keep serving; nothing is
// lost; changes resume).
//
// Skipped, with the reason printed, when there is no etcd binary (Debian's
// etcd-server; .ci/run installs it).
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../src/protocol/generated/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { assignReplicas } from '../src/cluster/replica-placement.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { BrokerProcess } from './support/broker-process.js';
import { EtcdProcess, clusterProperties, etcdUnavailableReason, restartClusterBroker, startClusterBrokers, stopClusterBrokers, type ClusterBroker } from './support/etcd.js';
import { WireClient, produce } from './support/kafka-wire.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

const TEST_TIMEOUT_MS = 180_000;
const unavailable = etcdUnavailableReason();
if (unavailable) console.log(`cluster-etcd tests skipped: ${unavailable}`);

interface PartitionView {
  partitionIndex: number;
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}
interface MetadataView {
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  controllerId: number;
  clusterId: string | null;
  topics: Array<{ name: string; topicId: string; errorCode: number; partitions: PartitionView[] }>;
}

async function metadataFrom(port: number, topics: string[] | null = null): Promise<MetadataView> {
  const wire = await WireClient.connect(port);
  try {
    return await wire.request<MetadataView>(ApiKey.Metadata, 12, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
  } finally {
    wire.close();
  }
}

/** The parts of a Metadata answer every broker must agree on (topics sorted by name). */
function comparable(m: MetadataView) {
  return {
    brokers: [...m.brokers].sort((a, b) => a.nodeId - b.nodeId),
    controllerId: m.controllerId,
    clusterId: m.clusterId,
    topics: [...m.topics].sort((a, b) => a.name.localeCompare(b.name)).map((t) => ({ ...t, partitions: [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex) })),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the given brokers answer the same Metadata, with `expectTopics` present and led; returns it. */
async function agreedMetadata(brokers: readonly ClusterBroker[], check: (m: MetadataView) => boolean): Promise<MetadataView> {
  return until('brokers agree on metadata', async () => {
    const views = await Promise.all(brokers.map((b) => metadataFrom(b.process.port)));
    const first = JSON.stringify(comparable(views[0]));
    if (!views.every((v) => JSON.stringify(comparable(v)) === first)) return null;
    return check(views[0]) ? views[0] : null;
  });
}

function kafkaFor(brokers: readonly ClusterBroker[]): Kafka {
  return new Kafka({
    clientId: 'samsa-cluster-test',
    brokers: brokers.map((b) => `127.0.0.1:${b.process.port}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

async function createTopicVia(broker: ClusterBroker, topic: string, numPartitions: number, replicationFactor: number): Promise<void> {
  const admin = kafkaFor([broker]).admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor }] })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

async function createTopicWire(broker: ClusterBroker, name: string, numPartitions: number, replicationFactor: number): Promise<number> {
  const wire = await WireClient.connect(broker.process.port);
  try {
    const response = await wire.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    return response.topics[0].errorCode as number;
  } finally {
    wire.close();
  }
}

/** The assignment Kafka's AdminUtils gives with some start index and follower shift, or null if none matches. */
function matchesKafkaPlacement(replicas: number[][], brokerIds: number[]): boolean {
  const brokers = brokerIds.map((id) => ({ id, rack: null }));
  for (let start = 0; start < brokerIds.length; start++) {
    for (let shift = 0; shift < brokerIds.length; shift++) {
      let k = 0;
      const rng = () => [start, shift][k++] / brokerIds.length + 1e-9;
      const expected = assignReplicas(brokers, replicas.length, replicas[0].length, -1, -1, rng);
      if (JSON.stringify(expected) === JSON.stringify(replicas)) return true;
    }
  }
  return false;
}

describe.skipIf(unavailable !== null)('a cluster of three brokers on etcd', () => {
  let etcd: EtcdProcess;
  let brokers: ClusterBroker[] = [];
  const prefix = `/samsa-test-${process.pid}`;

  beforeAll(async () => {
    etcd = await EtcdProcess.start();
    brokers = await startClusterBrokers(etcd, 3, { prefix });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await stopClusterBrokers(brokers);
    await etcd?.close();
  }, TEST_TIMEOUT_MS);

  it('registers three brokers and elects one controller, and every broker says the same', async () => {
    const m = await agreedMetadata(brokers, (v) => v.brokers.length === 3 && v.controllerId > 0);
    expect(m.brokers.map((b) => [b.nodeId, b.port])).toEqual(brokers.map((b) => [b.nodeId, b.process.port]));
    // DescribeCluster through kafkajs, from each broker alone.
    for (const b of brokers) {
      const admin = kafkaFor([b]).admin();
      await admin.connect();
      const described = await admin.describeCluster();
      await admin.disconnect();
      expect(described.controller).toBe(m.controllerId);
      expect(described.clusterId).toBe(m.clusterId);
      expect(described.brokers.map((x) => x.nodeId).sort()).toEqual([1, 2, 3]);
    }
    // Producer ids come from blocks reserved in etcd: two brokers never hand out the same one.
    const ids: bigint[] = [];
    for (const b of [...brokers, ...brokers]) {
      const wire = await WireClient.connect(b.process.port);
      const r = await wire.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      wire.close();
      expect(r.errorCode).toBe(0);
      ids.push(r.producerId as bigint);
    }
    expect(new Set(ids).size).toBe(6);
  }, TEST_TIMEOUT_MS);

  it('creates topics from any broker with replicas placed as Kafka does; produces to each leader and consumes back', async () => {
    await createTopicVia(brokers[1], 'spread-rf1', 6, 1);
    await createTopicVia(brokers[2], 'spread-rf3', 6, 3);
    // A replication factor above the live brokers is refused, as Kafka's controller does.
    const admin = kafkaFor([brokers[0]]).admin();
    await admin.connect();
    await expect(admin.createTopics({ topics: [{ topic: 'too-many', numPartitions: 1, replicationFactor: 4 }] })).rejects.toMatchObject({
      errors: [expect.objectContaining({ type: 'INVALID_REPLICATION_FACTOR' })],
    });
    await admin.disconnect();

    const m = await agreedMetadata(brokers, (v) => ['spread-rf1', 'spread-rf3'].every((n) => v.topics.find((t) => t.name === n)?.partitions.every((p) => p.leaderId > 0)));
    expect(m.topics.find((t) => t.name === 'too-many')).toBeUndefined();
    for (const [name, rf] of [['spread-rf1', 1], ['spread-rf3', 3]] as const) {
      const partitions = m.topics.find((t) => t.name === name)!.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
      const replicas = partitions.map((p) => p.replicaNodes);
      expect(replicas.every((r) => r.length === rf && new Set(r).size === rf)).toBe(true);
      expect(matchesKafkaPlacement(replicas, [1, 2, 3])).toBe(true);
      // Leaders spread evenly: two partitions each; the preferred (first) replica leads; the ISR is the leader alone (no replication yet).
      for (const id of [1, 2, 3]) expect(partitions.filter((p) => p.leaderId === id)).toHaveLength(2);
      for (const p of partitions) {
        expect(p.leaderId).toBe(p.replicaNodes[0]);
        expect(p.isrNodes).toEqual([p.leaderId]);
        expect(p.offlineReplicas).toEqual([]);
        expect(p.errorCode).toBe(0);
      }
    }

    const kafka = kafkaFor(brokers);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent: string[] = [];
    for (const topic of ['spread-rf1', 'spread-rf3']) {
      for (let p = 0; p < 6; p++) {
        const value = `${topic}/${p}`;
        await producer.send({ topic, acks: 1, messages: [{ partition: p, value }] });
        sent.push(value);
      }
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'cluster-readers', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['spread-rf1', 'spread-rf3'], fromBeginning: true });
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          expect(message.value?.toString()).toBe(`${topic}/${partition}`);
          received.push(message.value!.toString());
          if (received.length === sent.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(received.sort()).toEqual(sent.sort());

    // The operator's view: `samsa cluster` and `samsa topics --describe` (Kafka's Leader/Replicas/Isr lines).
    const cluster = await runCli(['cluster', '--bootstrap-server', `127.0.0.1:${brokers[0].process.port}`]);
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toContain(`Controller: ${m.controllerId}\n`);
    expect(cluster.stdout).toContain('Brokers: 3\n');
    for (const b of brokers) expect(cluster.stdout).toContain(`\tId: ${b.nodeId}\tEndpoint: 127.0.0.1:${b.process.port}\tRack: none`);
    // spread-rf3: three replicas, one in sync (no replication yet); the others have one replica each.
    expect(cluster.stdout).toContain('Under-replicated partitions: 6\nOffline partitions: 0\n');
    const described = await runCli(['topics', '--bootstrap-server', `127.0.0.1:${brokers[2].process.port}`, '--describe', '--topic', 'spread-rf3']);
    expect(described.code).toBe(0);
    for (const p of m.topics.find((t) => t.name === 'spread-rf3')!.partitions) {
      expect(described.stdout).toContain(
        `\tTopic: spread-rf3\tPartition: ${p.partitionIndex}\tLeader: ${p.leaderId}\tReplicas: ${p.replicaNodes.join(',')}\tIsr: ${p.leaderId}\t`,
      );
    }

    // A broker that is not the leader refuses the append, so the client goes to the leader.
    const p0 = m.topics.find((t) => t.name === 'spread-rf3')!.partitions.find((p) => p.partitionIndex === 0)!;
    const follower = brokers.find((b) => b.nodeId !== p0.leaderId)!;
    const wire = await WireClient.connect(follower.process.port);
    const refused = await produce(wire, 'spread-rf3', 0, buildRecordBatch([{ key: null, value: Buffer.from('x') }]), 1);
    wire.close();
    expect(refused!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }, TEST_TIMEOUT_MS);

  it('adds partitions, alters topic configs and deletes topics from any broker; every broker follows', async () => {
    await createTopicVia(brokers[0], 'admin-target', 3, 2);
    await agreedMetadata(brokers, (v) => v.topics.find((t) => t.name === 'admin-target')?.partitions.every((p) => p.leaderId > 0) === true);
    const admin = kafkaFor([brokers[1]]).admin();
    await admin.connect();
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: 'admin-target', count: 6 }] });
      const grown = await agreedMetadata(brokers, (v) => v.topics.find((t) => t.name === 'admin-target')?.partitions.length === 6);
      const partitions = grown.topics.find((t) => t.name === 'admin-target')!.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
      expect(partitions.every((p) => p.replicaNodes.length === 2 && p.leaderId === p.replicaNodes[0])).toBe(true);
      // The added partitions continue the leaders round-robin.
      for (const id of [1, 2, 3]) expect(partitions.filter((p) => p.leaderId === id)).toHaveLength(2);
      // Each broker holds a log for exactly the partitions it is a replica of.
      await until('replica logs on every broker', async () =>
        brokers.every((b) => {
          const dirs = fs.readdirSync(b.dataDir).filter((d) => /^admin-target-\d+$/.test(d)).sort();
          const expected = partitions.filter((p) => p.replicaNodes.includes(b.nodeId)).map((p) => `admin-target-${p.partitionIndex}`).sort();
          return JSON.stringify(dirs) === JSON.stringify(expected);
        }),
      );

      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'admin-target', configEntries: [{ name: 'retention.ms', value: '12345' }] }] });
    } finally {
      await admin.disconnect();
    }
    // Another broker describes the new value from its own view.
    const other = kafkaFor([brokers[2]]).admin();
    await other.connect();
    try {
      await until('config change seen by another broker', async () => {
        const described = await other.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'admin-target', configNames: ['retention.ms'] }] });
        return described.resources[0].configEntries[0]?.configValue === '12345';
      });
      expect(await other.deleteTopics({ topics: ['admin-target'], timeout: 10_000 })).toBeUndefined();
    } finally {
      await other.disconnect();
    }
    await agreedMetadata(brokers, (v) => !v.topics.some((t) => t.name === 'admin-target'));
    // Every broker set its replicas' directories aside for deletion.
    await until('partition directories renamed on every broker', async () =>
      brokers.every((b) => !fs.readdirSync(b.dataDir).some((d) => /^admin-target-\d+$/.test(d))),
    );
  }, TEST_TIMEOUT_MS);

  it('refuses to start a second broker with a live node id', async () => {
    const dataDir = tempDir();
    const started = BrokerProcess.start(dataDir, { properties: clusterProperties(etcd, 2, prefix) });
    await expect(started).rejects.toThrow(/broker id 2 is already registered by a live broker/);
  }, TEST_TIMEOUT_MS);

  it('SIGKILLed controller: another broker takes over within seconds, its partitions go offline until it returns, topics can still be created', async () => {
    const before = await agreedMetadata(brokers, (v) => v.controllerId > 0);
    const victim = brokers.find((b) => b.nodeId === before.controllerId)!;
    const survivors = brokers.filter((b) => b !== victim);
    const killedAt = Date.now();
    await victim.process.kill('SIGKILL');
    const after = await agreedMetadata(survivors, (v) => v.controllerId > 0 && v.controllerId !== victim.nodeId && v.brokers.length === 2);
    const takeoverMs = Date.now() - killedAt;
    console.log(`controller ${victim.nodeId} SIGKILLed: broker ${after.controllerId} is controller after ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(20_000);

    // Its partitions: no other replica has its records (no replication yet), so they are offline, not failed over.
    const led = await until('partitions of the dead broker marked offline', async () => {
      const m = await metadataFrom(survivors[0].process.port, ['spread-rf3']);
      const ps = m.topics[0].partitions.filter((p) => p.replicaNodes[0] === victim.nodeId);
      // Metadata shows -1 as soon as the broker is gone; the controller's change (epoch 1) follows.
      return ps.every((p) => p.leaderId === -1 && p.leaderEpoch === 1) ? ps : null;
    });
    const cluster = await runCli(['cluster', '--bootstrap-server', `127.0.0.1:${survivors[0].process.port}`]);
    expect(cluster.stdout).toContain('Brokers: 2\n');
    expect(cluster.stdout).toMatch(/Offline partitions: [1-9]\d* \(/);
    for (const p of led) expect(cluster.stdout).toContain(`spread-rf3-${p.partitionIndex}`);
    for (const p of led) {
      expect(p.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
      expect(p.offlineReplicas).toEqual([victim.nodeId]);
      expect(p.isrNodes).toEqual([victim.nodeId]);
      expect(p.leaderEpoch).toBe(1);
    }

    // Through the wire: kafkajs refuses every Metadata answer that holds an offline partition (as it does with Kafka).
    expect(await createTopicWire(survivors[0], 'after-failover', 4, 2)).toBe(ErrorCode.NONE);
    const m = await agreedMetadata(survivors, (v) => v.topics.find((t) => t.name === 'after-failover')?.partitions.every((p) => p.leaderId > 0) === true);
    const created = m.topics.find((t) => t.name === 'after-failover')!;
    expect(created.partitions.every((p) => p.replicaNodes.every((r) => r !== victim.nodeId))).toBe(true);

    // Back again: it leads its partitions again (it was their last in-sync replica) with a new epoch.
    await restartClusterBroker(victim);
    const back = await agreedMetadata(brokers, (v) => v.brokers.length === 3 && v.topics.find((t) => t.name === 'spread-rf3')!.partitions.every((p) => p.leaderId > 0));
    for (const p of back.topics.find((t) => t.name === 'spread-rf3')!.partitions) {
      expect(p.leaderId).toBe(p.replicaNodes[0]);
      if (p.replicaNodes[0] === victim.nodeId) expect(p.leaderEpoch).toBe(2);
    }
    // Its records are still there: produce and consume through kafkajs.
    const kafka = kafkaFor(brokers);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const victimPartition = back.topics.find((t) => t.name === 'spread-rf3')!.partitions.find((p) => p.leaderId === victim.nodeId)!.partitionIndex;
    const [meta] = await producer.send({ topic: 'spread-rf3', acks: 1, messages: [{ partition: victimPartition, value: 'after-restart' }] });
    await producer.disconnect();
    expect(meta.errorCode).toBe(0);
    expect(meta.baseOffset).toBe('1');
  }, TEST_TIMEOUT_MS);

  it('etcd SIGKILLed: brokers keep serving what they know, changes fail; restarted: nothing lost, changes resume', async () => {
    // Independent of the test before: a broker it left down comes back first.
    for (const b of brokers) if (b.process.child.exitCode !== null || b.process.child.signalCode !== null) await restartClusterBroker(b);
    const before = await agreedMetadata(brokers, (v) => v.brokers.length === 3 && v.topics.every((t) => t.partitions.every((p) => p.leaderId > 0)));
    await etcd.stop('SIGKILL');

    // Metadata and produce keep working from the brokers' views.
    for (const b of brokers) expect(comparable(await metadataFrom(b.process.port)).topics).toEqual(comparable(before).topics);
    const kafka = kafkaFor(brokers);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: 'spread-rf1', acks: 1, messages: [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, value: 'while-etcd-down' })) });
    // A change cannot be made: CreateTopics answers REQUEST_TIMED_OUT.
    const wire = await WireClient.connect(brokers[0].process.port);
    const refused = await wire.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'during-outage', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    wire.close();
    expect(refused.topics[0].errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);

    await etcd.restart();
    // Changes resume and every broker is registered again; no topic or assignment is lost.
    await until('CreateTopics after etcd returns', async () => {
      const admin = kafkaFor([brokers[0]]).admin();
      await admin.connect();
      try {
        return await admin.createTopics({ topics: [{ topic: 'after-etcd', numPartitions: 3, replicationFactor: 3 }] });
      } finally {
        await admin.disconnect();
      }
    }, 30_000);
    const after = await agreedMetadata(brokers, (v) => v.brokers.length === 3 && v.controllerId > 0 && v.topics.some((t) => t.name === 'after-etcd'));
    const old = comparable(before).topics;
    expect(comparable(after).topics.filter((t) => t.name !== 'after-etcd')).toEqual(old);
    await producer.send({ topic: 'after-etcd', acks: 1, messages: [0, 1, 2].map((p) => ({ partition: p, value: 'after' })) });
    await producer.disconnect();
  }, TEST_TIMEOUT_MS);
});

describe.skipIf(unavailable !== null)('a cluster with racks', () => {
  let etcd: EtcdProcess;
  let brokers: ClusterBroker[] = [];

  beforeAll(async () => {
    etcd = await EtcdProcess.start();
    // Two racks of two brokers; the same etcd could hold other clusters under other prefixes.
    brokers = await startClusterBrokers(etcd, 4, { prefix: `/racks-${process.pid}`, properties: (id) => ({ 'broker.rack': id <= 2 ? 'rack-a' : 'rack-b' }) });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await stopClusterBrokers(brokers);
    await etcd?.close();
  }, TEST_TIMEOUT_MS);

  it('reports racks and puts the two replicas of every partition in different racks', async () => {
    await agreedMetadata(brokers, (v) => v.brokers.length === 4);
    expect(await createTopicWire(brokers[3], 'racked', 8, 2)).toBe(ErrorCode.NONE);
    const m = await agreedMetadata(brokers, (v) => v.topics.find((t) => t.name === 'racked')?.partitions.every((p) => p.leaderId > 0) === true);
    expect(m.brokers.map((b) => [b.nodeId, b.rack])).toEqual([[1, 'rack-a'], [2, 'rack-a'], [3, 'rack-b'], [4, 'rack-b']]);
    const rackOf = (id: number) => (id <= 2 ? 'rack-a' : 'rack-b');
    const partitions = m.topics.find((t) => t.name === 'racked')!.partitions;
    for (const p of partitions) expect(new Set(p.replicaNodes.map(rackOf)).size).toBe(2);
    for (const id of [1, 2, 3, 4]) expect(partitions.filter((p) => p.leaderId === id)).toHaveLength(2);
    const cluster = await runCli(['cluster', '--bootstrap-server', `127.0.0.1:${brokers[0].process.port}`]);
    expect(cluster.stdout).toContain(`\tId: 3\tEndpoint: 127.0.0.1:${brokers[2].process.port}\tRack: rack-b`);
  }, TEST_TIMEOUT_MS);
});
