// `samsa consumer-groups` and `samsa console-consumer --group` as real
// processes against a broker started here on port 0. kafkajs checks from the
// outside what the CLI did (committed offsets, group members), so a CLI that
// only printed the right table would not pass.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import { ApiKey, type ConsumerGroupDescribeResponse, type ConsumerGroupHeartbeatResponse } from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { runCli, startCli, type RunningCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

let broker: Broker;
let dataDir: string;
let bootstrap: string;
let kafka: Kafka;
const running: RunningCli[] = [];

// A new group forms at once, and short sessions keep rebalances quick.
const GROUP_PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
};
// A 20 s rebalance timeout (max.poll.interval.ms) bounds how long a JoinGroup can be held on a loaded machine.
const MEMBER_PROPS = [
  ...['--consumer-property', 'session.timeout.ms=6000'],
  ...['--consumer-property', 'heartbeat.interval.ms=300'],
  ...['--consumer-property', 'max.poll.interval.ms=20000'],
];

beforeAll(async () => {
  dataDir = tempDir('samsa-cli-groups-');
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: GROUP_PROPERTIES });
  bootstrap = `127.0.0.1:${broker.port}`;
  kafka = new Kafka({ clientId: 'cli-groups-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
});

afterAll(async () => {
  for (const r of running) await r.stop('SIGKILL');
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const groups = (...args: string[]) => runCli(['consumer-groups', '--bootstrap-server', bootstrap, ...args]);
const consume = (topic: string, group: string, ...extra: string[]) =>
  runCli(['console-consumer', '--bootstrap-server', bootstrap, '--topic', topic, '--group', group, ...MEMBER_PROPS, ...extra]);

function startConsumer(topic: string, group: string, ...extra: string[]): RunningCli {
  const r = startCli(['console-consumer', '--bootstrap-server', bootstrap, '--topic', topic, '--group', group, ...MEMBER_PROPS, ...extra]);
  running.push(r);
  return r;
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }] });
  } finally {
    await admin.disconnect();
  }
}

/** `count` records with values `${prefix}-0..`, spread over the partitions in turn. */
async function produce(topic: string, prefix: string, count: number, partitions: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
  } finally {
    await producer.disconnect();
  }
  return values;
}

/** Committed offsets as kafkajs reads them (OffsetFetch through another client). */
async function committed(group: string, topic: string): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Object.fromEntries(result.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** The group as kafkajs's DescribeGroups sees it. */
async function describeGroup(group: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeGroups([group])).groups[0];
  } finally {
    await admin.disconnect();
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForMembers(group: string, count: number): Promise<void> {
  await waitFor(`${count} stable members in ${group}`, async () => {
    const g = await describeGroup(group);
    return g.state === 'Stable' && g.members.length === count && g.members.every((m) => m.memberAssignment.length > 0) ? g : undefined;
  });
}

/** Rows of a --describe offsets table as arrays of cells (header first). */
function table(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/));
}

describe('samsa consumer-groups and console-consumer --group', { timeout: 300_000 }, () => {
  it('describes lag as log end minus committed after consuming part of a topic, and a second run resumes', async () => {
    await createTopic('lag', 1);
    const values = await produce('lag', 'v', 10, 1);
    const first = await consume('lag', 'lag-group', '--from-beginning', '--max-messages', '4');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(values.slice(0, 4).map((v) => `${v}\n`).join(''));
    expect(await committed('lag-group', 'lag')).toEqual({ 0: '4' });

    const d = await groups('--describe', '--group', 'lag-group');
    expect(d.code).toBe(0);
    expect(d.stderr).toBe("\nConsumer group 'lag-group' has no active members.\n");
    expect(d.stdout).toBe(
      '\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n' +
        'lag-group       lag             0          4               10              6               -               -               -\n',
    );

    // --from-beginning only applies without committed offsets: this run starts at 4.
    const second = await consume('lag', 'lag-group', '--from-beginning', '--max-messages', '6');
    expect(second.stdout).toBe(values.slice(4).map((v) => `${v}\n`).join(''));
    expect(await committed('lag-group', 'lag')).toEqual({ 0: '10' });
    const after = await groups('--describe', '--group', 'lag-group');
    expect(table(after.stdout)[1]).toEqual(['lag-group', 'lag', '0', '10', '10', '0', '-', '-', '-']);
  });

  it('commits the latest offset for a group that read nothing, so later records are not skipped', async () => {
    await createTopic('late', 1);
    await produce('late', 'old', 3, 1);
    const empty = await consume('late', 'late-group', '--timeout-ms', '1500');
    expect(empty.stdout).toBe('');
    expect(await committed('late-group', 'late')).toEqual({ 0: '3' });
    await produce('late', 'new', 2, 1);
    const next = await consume('late', 'late-group', '--max-messages', '2');
    expect(next.stdout).toBe('new-0\nnew-1\n');
  });

  it('says when a group does not exist, and rejects a bad --state', async () => {
    const d = await groups('--describe', '--group', 'no-such-group');
    expect(d).toMatchObject({ code: 0, stdout: "\nError: Consumer group 'no-such-group' does not exist.\n" });
    const bad = await groups('--list', '--state', 'sleepy');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Invalid state list 'sleepy'\. Valid states are: .*Stable/);
    const noAction = await groups('--group', 'x');
    expect(noAction.code).toBe(1);
    expect(noAction.stderr).toMatch(/^Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets\n/);
  });

  it('checks console-consumer group arguments as kafka-console-consumer does', async () => {
    const withPartition = await consume('lag', 'g', '--partition', '0');
    expect(withPartition.code).toBe(1);
    expect(withPartition.stderr).toMatch(/^Options group and partition cannot be specified together\.\n/);
    const conflict = await consume('lag', 'g', '--from-beginning', '--consumer-property', 'auto.offset.reset=latest');
    expect(conflict).toMatchObject({ code: 1, stderr: "Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest', please remove one option\n" });
    const mismatch = await consume('lag', 'g', '--consumer-property', 'group.id=h');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^The group ids provided in different places .* Detected group ids: 'g', 'h'\n/);
  });

  it('lists, describes state and members of an active group, and refuses to reset or delete it', async () => {
    await createTopic('live', 3);
    const member = startConsumer('live', 'live-group', '--from-beginning');
    await waitForMembers('live-group', 1);
    const [kafkaMember] = (await describeGroup('live-group')).members;

    const list = await groups('--list');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toContain('live-group');
    const stable = await groups('--list', '--state', 'stable');
    expect(stable.stdout).toMatch(/^GROUP {21}STATE {15}\n/);
    expect(stable.stdout).toContain(`${'live-group'.padEnd(25)} ${'Stable'.padEnd(20)}\n`);
    const empty = await groups('--list', '--state', 'Empty');
    expect(empty.stdout).not.toContain('live-group');

    const state = await groups('--describe', '--group', 'live-group', '--state');
    expect(state.code).toBe(0);
    const coordinator = `127.0.0.1:${broker.port}  (${broker.self.nodeId})`;
    expect(state.stdout).toBe(
      `\n${'GROUP'.padEnd(15)} ${'COORDINATOR (ID)'.padEnd(25)} ${'ASSIGNMENT-STRATEGY'.padEnd(20)} ${'STATE'.padEnd(20)} #MEMBERS` +
        `\n${'live-group'.padEnd(15)} ${coordinator.padEnd(25)} ${'range'.padEnd(20)} ${'Stable'.padEnd(20)} 1\n`,
    );

    const members = await groups('--describe', '--group', 'live-group', '--members', '--verbose');
    const rows = table(members.stdout);
    expect(rows[0]).toEqual(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'CURRENT-EPOCH', 'CURRENT-ASSIGNMENT', 'TARGET-EPOCH', 'TARGET-ASSIGNMENT']);
    expect(rows[1]).toEqual(['live-group', kafkaMember.memberId, kafkaMember.clientHost, 'console-consumer', '3', '-', 'live:0,1,2', '-', '-']);

    const reset = await groups('--reset-offsets', '--group', 'live-group', '--topic', 'live', '--to-earliest', '--execute');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toBe(
      "\nError: Assignments can only be reset if the group 'live-group' is inactive, but the current state is Stable.\n\nGROUP           TOPIC           PARTITION  NEW-OFFSET\n",
    );
    const del = await groups('--delete', '--group', 'live-group');
    expect(del.stdout).toBe(
      "\nError: Deletion of some consumer groups failed:\n* Group 'live-group' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.\n",
    );

    const stopped = await member.stop();
    expect(stopped.stderr).toContain('Processed a total of 0 messages');
    // The member left on Ctrl-C (LeaveGroup), so the group is empty at once rather than after its session times out.
    expect((await describeGroup('live-group')).state).toBe('Empty');
    const gone = await groups('--delete', '--group', 'live-group');
    expect(gone).toMatchObject({ code: 0, stdout: "Deletion of requested consumer groups ('live-group') was successful.\n" });
    expect((await groups('--describe', '--group', 'live-group')).stdout).toBe("\nError: Consumer group 'live-group' does not exist.\n");
  });

  it('plans a reset with --dry-run and commits it only with --execute', async () => {
    await createTopic('reset', 2);
    await produce('reset', 'r', 10, 2);
    await consume('reset', 'reset-group', '--from-beginning', '--max-messages', '10');
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '5', 1: '5' });

    const plan = await groups('--reset-offsets', '--group', 'reset-group', '--topic', 'reset', '--to-earliest');
    expect(plan.code).toBe(0);
    expect(plan.stderr).toMatch(/^WARN: No action will be performed as the --execute option is missing\./);
    expect(plan.stdout).toBe('\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nreset-group     reset           0          0\nreset-group     reset           1          0\n');
    const dry = await groups('--reset-offsets', '--group', 'reset-group', '--topic', 'reset:1', '--to-offset', '2', '--dry-run');
    expect(dry.stdout).toBe('\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nreset-group     reset           1          2\n');
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '5', 1: '5' });

    const exec = await groups('--reset-offsets', '--group', 'reset-group', '--topic', 'reset:1', '--to-offset', '2', '--execute');
    expect(exec.stdout).toBe('\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nreset-group     reset           1          2\n');
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '5', 1: '2' });
    const shift = await groups('--reset-offsets', '--group', 'reset-group', '--all-topics', '--shift-by', '-3', '--execute');
    expect(shift.stdout).toBe('\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nreset-group     reset           0          2\nreset-group     reset           1          0\n');
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '2', 1: '0' });
    const latest = await groups('--reset-offsets', '--group', 'reset-group', '--all-topics', '--to-latest', '--execute');
    expect(table(latest.stdout).slice(1)).toEqual([
      ['reset-group', 'reset', '0', '5'],
      ['reset-group', 'reset', '1', '5'],
    ]);
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '5', 1: '5' });

    // The console consumer resumes from a reset offset.
    await groups('--reset-offsets', '--group', 'reset-group', '--topic', 'reset:0', '--to-offset', '3', '--execute');
    const resumed = await consume('reset', 'reset-group', '--max-messages', '2', '--property', 'print.partition=true');
    expect(resumed.stdout).toBe('Partition:0\tr-6\nPartition:0\tr-8\n');

    const delOffsets = await groups('--delete-offsets', '--group', 'reset-group', '--topic', 'reset:1');
    expect(delOffsets.stdout).toBe('Request succeeded for deleting offsets from group reset-group.\n\nTOPIC           PARTITION  STATUS         \nreset           1          Successful     \n');
    expect(await committed('reset-group', 'reset')).toEqual({ 0: '5', 1: '-1' });
  });

  it('splits partitions between two console consumers in one group, each record printed once', async () => {
    await createTopic('split', 4);
    const a = startConsumer('split', 'split-group', '--property', 'print.partition=true');
    await waitForMembers('split-group', 1);
    const b = startConsumer('split', 'split-group', '--property', 'print.partition=true');
    await waitForMembers('split-group', 2);

    const members = await groups('--describe', '--group', 'split-group', '--members', '--verbose');
    const rows = table(members.stdout).slice(1);
    expect(rows.map((r) => r[4]).sort()).toEqual(['2', '2']);
    const owned = rows.flatMap((r) => r[6].replace('split:', '').split(',')).sort();
    expect(owned).toEqual(['0', '1', '2', '3']);

    const values = await produce('split', 's', 40, 4);
    await waitFor('all records printed', async () => (a.stdout().split('\n').length + b.stdout().split('\n').length - 2 >= 40 ? true : undefined));
    const [ra, rb] = [await a.stop(), await b.stop()];
    const lines = [...ra.stdout.split('\n'), ...rb.stdout.split('\n')].filter((l) => l !== '');
    expect(lines.map((l) => l.split('\t')[1]).sort()).toEqual([...values].sort());
    // Each consumer printed only the partitions it owned.
    const partitionsOf = (out: string) => new Set(out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0]));
    const pa = partitionsOf(ra.stdout);
    for (const p of partitionsOf(rb.stdout)) expect(pa.has(p)).toBe(false);
    // Both committed on the way out: nothing is left to read.
    expect(await committed('split-group', 'split')).toEqual({ 0: '10', 1: '10', 2: '10', 3: '10' });
  });

  it('takes over the partitions of a SIGKILLed member once its session expires', async () => {
    await createTopic('takeover', 2);
    const a = startConsumer('takeover', 'takeover-group', '--property', 'print.partition=true');
    await waitForMembers('takeover-group', 1);
    const b = startConsumer('takeover', 'takeover-group', '--property', 'print.partition=true');
    await waitForMembers('takeover-group', 2);
    const killed = await b.stop('SIGKILL');
    expect(killed.code).toBe(null);
    // The dead member never left: its session (6 s) has to run out before the group rebalances.
    await waitFor('the survivor to own both partitions', async () => {
      const g = await describeGroup('takeover-group');
      return g.state === 'Stable' && g.members.length === 1 ? g : undefined;
    });
    const members = await groups('--describe', '--group', 'takeover-group', '--members', '--verbose');
    expect(table(members.stdout)[1].slice(4, 7)).toEqual(['2', '-', 'takeover:0,1']);
    const values = await produce('takeover', 't', 10, 2);
    await waitFor('the survivor to print every record', async () => (a.stdout().split('\n').length - 1 >= 10 ? true : undefined));
    const result = await a.stop();
    expect(result.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[1]).sort()).toEqual([...values].sort());
  });

  it("shows a kafkajs consumer's members and assignment", async () => {
    await createTopic('kjs', 3);
    await produce('kjs', 'k', 6, 3);
    const consumer = kafka.consumer({ groupId: 'kjs-group', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
      let seen = 0;
      await consumer.run({ eachMessage: async () => void seen++ });
      await waitFor('kafkajs to read and commit everything', async () => {
        const c = await committed('kjs-group', 'kjs');
        return seen >= 6 && Object.values(c).every((o) => o === '2') ? true : undefined;
      });
      const g = await describeGroup('kjs-group');
      const members = await groups('--describe', '--group', 'kjs-group', '--members', '--verbose');
      expect(table(members.stdout)[1]).toEqual(['kjs-group', g.members[0].memberId, g.members[0].clientHost, 'cli-groups-test', '3', '-', 'kjs:0,1,2', '-', '-']);
      const offsets = await groups('--describe', '--group', 'kjs-group');
      expect(table(offsets.stdout).slice(1)).toEqual(
        [0, 1, 2].map((p) => ['kjs-group', 'kjs', String(p), '2', '2', '0', g.members[0].memberId, g.members[0].clientHost, 'cli-groups-test']),
      );
      const state = await groups('--describe', '--group', 'kjs-group', '--state');
      expect(table(state.stdout)[1]).toEqual(['kjs-group', `127.0.0.1:${broker.port}`, `(${broker.self.nodeId})`, 'RoundRobinAssigner', 'Stable', '1']);
    } finally {
      await consumer.disconnect();
    }
  });

  it('describes a KIP-848 consumer group with member and assignment epochs', async () => {
    await createTopic('modern', 3);
    const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'kip848-member' });
    try {
      // One ConsumerGroupHeartbeat with epoch 0 joins; the single member gets every partition at once.
      const joined = await conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => ({
        groupId: 'modern-group',
        memberId: '',
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ['modern'],
        serverAssignor: null,
        topicPartitions: [],
      }));
      expect(joined.errorCode).toBe(0);
      const described = await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, () => ({ groupIds: ['modern-group'], includeAuthorizedOperations: false }));
      const g = described.groups[0];
      const m = g.members[0];

      const members = await groups('--describe', '--group', 'modern-group', '--members', '--verbose');
      expect(table(members.stdout)).toEqual([
        ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'CURRENT-EPOCH', 'CURRENT-ASSIGNMENT', 'TARGET-EPOCH', 'TARGET-ASSIGNMENT'],
        ['modern-group', m.memberId, m.clientHost, 'kip848-member', String(m.assignment.topicPartitions[0].partitions.length), String(m.memberEpoch), 'modern:0,1,2', String(g.assignmentEpoch), 'modern:0,1,2'],
      ]);
      const state = await groups('--describe', '--group', 'modern-group', '--state', '--verbose');
      expect(table(state.stdout)).toEqual([
        ['GROUP', 'COORDINATOR', '(ID)', 'ASSIGNMENT-STRATEGY', 'STATE', 'GROUP-EPOCH', 'TARGET-ASSIGNMENT-EPOCH', '#MEMBERS'],
        ['modern-group', `127.0.0.1:${broker.port}`, `(${broker.self.nodeId})`, g.assignorName, g.groupState, String(g.groupEpoch), String(g.assignmentEpoch), '1'],
      ]);
      const list = await groups('--list', '--type');
      expect(list.stdout).toContain(`${'modern-group'.padEnd(25)} ${'Consumer'.padEnd(20)}\n`);
    } finally {
      conn.close();
    }
  });

  it('keeps consuming in its group across a SIGKILL and restart of the broker', async () => {
    const dir = tempDir('samsa-cli-groups-restart-');
    let proc = await BrokerProcess.start(dir, { properties: GROUP_PROPERTIES });
    const port = proc.port;
    const address = `127.0.0.1:${port}`;
    const other = new Kafka({ clientId: 'cli-groups-restart', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    const send = async (values: string[]) => {
      const producer = other.producer();
      await producer.connect();
      await producer.send({ topic: 'restart', messages: values.map((value) => ({ value })) });
      await producer.disconnect();
    };
    const stable = async () => {
      const admin = other.admin();
      await admin.connect();
      try {
        const g = (await admin.describeGroups(['restart-group'])).groups[0];
        return g.state === 'Stable' && g.members.length === 1 ? true : undefined;
      } catch {
        return undefined;
      } finally {
        await admin.disconnect();
      }
    };
    const member = startCli(['console-consumer', '--bootstrap-server', address, '--topic', 'restart', '--group', 'restart-group', ...MEMBER_PROPS]);
    running.push(member);
    try {
      await waitFor('the member to join', stable);
      await send(['a1', 'a2', 'a3']);
      await waitFor('a1..a3', async () => (member.stdout() === 'a1\na2\na3\n' ? true : undefined));
      await proc.kill('SIGKILL');
      proc = await BrokerProcess.start(dir, { port, properties: GROUP_PROPERTIES });
      // The member finds the coordinator again and rejoins; records sent after that reach it.
      await waitFor('the member to rejoin the restarted broker', stable, 90_000);
      await send(['b1', 'b2']);
      await waitFor('b1, b2', async () => (member.stdout().endsWith('b1\nb2\n') ? true : undefined));
      const result = await member.stop();
      expect(result.stdout.split('\n').filter((l) => l !== '')).toEqual(expect.arrayContaining(['a1', 'a2', 'a3', 'b1', 'b2']));
      expect(result.stderr).toMatch(/Processed a total of \d+ messages/);
    } finally {
      await proc.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
