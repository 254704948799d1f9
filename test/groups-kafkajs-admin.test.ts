// kafkajs's admin client on consumer groups, as operators use it: list and
// describe a running group (members, their assignments in the consumer
// protocol's encoding), the refusals Kafka gives while members run (offsets
// can only be set on an empty group, a group with members cannot be deleted),
// then, once the members have left, setOffsets and resetOffsets (kafkajs
// joins the group itself and commits), a consumer that resumes from the
// offsets set, and deleteGroups removing the group and its offsets.
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupLedger, groupMessage, startGroupBroker, waitFor, type Cleanups } from './support/groups.js';
import { startKafkajsMember } from './support/kafkajs-group.js';

const PARTITIONS = 6;
const RECORDS = 600;

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('kafkajs admin on consumer groups', () => {
  it('lists and describes a running group, refuses offset changes and deletion while it runs, then sets, resets and deletes', { timeout: 120_000 }, async () => {
    const topic = 'admin-groups';
    const groupId = 'admin-group';
    const broker = await startGroupBroker(cleanups);
    const kafka = new Kafka({ clientId: 'groups-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic, acks: -1, messages: Array.from({ length: RECORDS }, (_, seq) => ({ ...groupMessage(seq), partition: seq % PARTITIONS })) });

    const ledger = new GroupLedger();
    const startMember = async (name: string) => {
      const consumer = await startKafkajsMember(kafka, { groupId, topic, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }, { joined: () => {}, committing: () => {}, consumed: (p, records) => ledger.add(name, p, records) });
      cleanups.push(() => consumer.disconnect());
      return consumer;
    };
    const members = [await startMember('a'), await startMember('b')];
    await waitFor(`all ${RECORDS} records consumed`, () => ledger.total >= RECORDS, 30_000, () => ledger.total);
    expect(ledger.problems(PARTITIONS, RECORDS)).toEqual([]);

    expect((await admin.listGroups()).groups).toContainEqual({ groupId, protocolType: 'consumer' });
    // Stable once both members synced; the last member's join may still be completing.
    let described = (await admin.describeGroups([groupId])).groups[0];
    await waitFor('a stable group', async () => {
      described = (await admin.describeGroups([groupId])).groups[0];
      return described.state === 'Stable';
    }, 30_000, () => described.state);
    expect(described).toMatchObject({ groupId, errorCode: 0, protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(described.members).toHaveLength(2);
    const assigned = described.members.flatMap((m) => {
      expect(m.clientId).toBe('groups-admin');
      expect(m.clientHost).toMatch(/127\.0\.0\.1/);
      expect(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics).toEqual([topic]);
      return AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment[topic];
    });
    expect(assigned.sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // Kafka refuses both while members run: kafkajs checks the state for setOffsets, the broker answers NON_EMPTY_GROUP for deletion.
    await expect(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] })).rejects.toThrow(/no running instances/);
    const refused = (await admin.deleteGroups([groupId]).catch((e: unknown) => e)) as { groups?: Array<{ groupId: string; errorCode: number }> };
    expect(refused.groups?.map((g) => [g.groupId, g.errorCode])).toEqual([[groupId, 68]]);

    for (const m of members) await m.disconnect();
    expect((await admin.describeGroups([groupId])).groups[0]).toMatchObject({ state: 'Empty', members: [] });
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return t.partitions.sort((x, y) => x.partition - y.partition).map((p) => Number(p.offset));
    };
    expect(await committed()).toEqual([100, 100, 100, 100, 100, 100]);

    // setOffsets joins the group with a consumer of its own, seeks and commits.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '90' }, { partition: 3, offset: '95' }] });
    expect(await committed()).toEqual([90, 100, 100, 95, 100, 100]);
    // A member started now resumes from the offsets set: exactly the 15 records after them.
    const resumed = new GroupLedger();
    const again = await startKafkajsMember(kafka, { groupId, topic, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }, { joined: () => {}, committing: () => {}, consumed: (p, records) => resumed.add('c', p, records) });
    cleanups.push(() => again.disconnect());
    await waitFor('the 15 records after the offsets set', () => resumed.total >= 15, 30_000, () => resumed.total);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(resumed.total).toBe(15);
    await again.disconnect();

    // kafkajs commits the EARLIEST sentinel (-2) itself; Kafka stores a committed offset as sent, and
    // a consumer resolves -2 to the log start: everything is read again.
    await admin.resetOffsets({ groupId, topic, earliest: true });
    expect(await committed()).toEqual([-2, -2, -2, -2, -2, -2]);
    const fromStart = new GroupLedger();
    const third = await startKafkajsMember(kafka, { groupId, topic, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 }, { joined: () => {}, committing: () => {}, consumed: (p, records) => fromStart.add('d', p, records) });
    cleanups.push(() => third.disconnect());
    await waitFor(`all ${RECORDS} records again`, () => fromStart.total >= RECORDS, 30_000, () => fromStart.total);
    expect(fromStart.problems(PARTITIONS, RECORDS)).toEqual([]);
    await third.disconnect();

    await admin.deleteGroups([groupId]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
    expect(await committed()).toEqual([-1, -1, -1, -1, -1, -1]);
  });
});
