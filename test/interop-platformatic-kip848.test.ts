// @platformatic/kafka 1.x with groupProtocol 'consumer' (KIP-848, the only
// Node client that speaks it) against the broker: two consumers in one group
// split a 4-partition topic through ConsumerGroupHeartbeat, read every record,
// commit offsets with their member epochs (OffsetCommit v9), and the partitions
// of a consumer that closes (leaving with epoch -1) go to the other.
import fs from 'node:fs';
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import { ApiKey, type ConsumerGroupDescribeResponse, type OffsetFetchResponse } from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PARTITIONS = 4;
const PER_PARTITION = 20;

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function assigned(consumer: Consumer<string, string, string, string>): number[] {
  return (consumer.assignments ?? []).flatMap((a) => a.partitions).sort((a, b) => a - b);
}

describe('@platformatic/kafka with groupProtocol consumer', () => {
  it('splits partitions between two members, reads everything, commits with member epochs, and rebalances when one leaves', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await Broker.start({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logger: silentLogger,
      properties: { 'group.consumer.min.heartbeat.interval.ms': '50', 'group.consumer.heartbeat.interval.ms': '250' },
    });
    cleanups.push(() => broker.close());
    const base = { clientId: 'kip848-interop', bootstrapBrokers: [`127.0.0.1:${broker.port}`], retries: 5, retryDelay: 100 };
    const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port });
    cleanups.push(() => conn.close());
    const created = await broker.metadata.createTopic('orders', PARTITIONS, 1, {});
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);

    const producer = new Producer({ ...base, serializers: stringSerializers });
    cleanups.push(() => producer.close());
    const messages = [];
    for (let p = 0; p < PARTITIONS; p++) for (let i = 0; i < PER_PARTITION; i++) messages.push({ topic: 'orders', partition: p, key: `k${p}`, value: `p${p}-${i}` });
    await producer.send({ messages });

    const seen = new Set<string>();
    const consumers: Array<Consumer<string, string, string, string>> = [];
    for (let i = 0; i < 2; i++) {
      const consumer = new Consumer({ ...base, groupId: 'kip848-interop', groupProtocol: 'consumer', deserializers: stringDeserializers });
      cleanups.push(() => consumer.close(true));
      consumers.push(consumer);
      const stream = await consumer.consume({ topics: ['orders'], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: 100 });
      stream.on('data', (m: { value: string }) => seen.add(m.value));
      stream.on('error', () => {});
    }
    const [a, b] = consumers;

    // Both members end up with two partitions each, never the same one.
    await waitFor('a 2/2 split', () => assigned(a).length === 2 && assigned(b).length === 2);
    expect([...assigned(a), ...assigned(b)].sort()).toEqual([0, 1, 2, 3]);
    await waitFor('every record', () => seen.size === PARTITIONS * PER_PARTITION);

    const describeGroup = async () =>
      (await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, () => ({ groupIds: ['kip848-interop'], includeAuthorizedOperations: false }))).groups[0];
    await waitFor('a stable group', async () => (await describeGroup()).groupState === 'Stable');
    const described = await describeGroup();
    expect(described.members.length).toBe(2);
    expect(described.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    for (const m of described.members) expect(m.memberEpoch).toBe(described.assignmentEpoch);

    // Autocommit went through OffsetCommit with the member epochs: every partition's offset is at its end.
    const committedAtEnd = async () => {
      const r = await conn.request<OffsetFetchResponse>(ApiKey.OffsetFetch, () => ({ groups: [{ groupId: 'kip848-interop', memberId: null, memberEpoch: -1, topics: null }], requireStable: false }));
      const partitions = r.groups![0].topics.flatMap((t) => t.partitions);
      return partitions.length === PARTITIONS && partitions.every((p) => p.committedOffset === BigInt(PER_PARTITION));
    };
    await waitFor('committed offsets', committedAtEnd);

    // b leaves (heartbeat with epoch -1); a takes all four partitions.
    await b.close(true);
    await waitFor('a owns everything', () => assigned(a).length === PARTITIONS);
    await waitFor('one member left', async () => (await describeGroup()).members.length === 1);
  });
});
