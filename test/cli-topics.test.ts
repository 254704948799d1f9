// `samsa topics` as a real process against a broker started here on port 0.
// kafkajs checks what the CLI did from the outside. Cases that need
// DeleteTopics, CreatePartitions or DescribeConfigs run when the broker
// advertises them and are skipped otherwise.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

let broker: Broker;
let dataDir: string;
let bootstrap: string;
let kafka: Kafka;
const advertised = new Set<number>();

beforeAll(async () => {
  dataDir = tempDir('samsa-cli-topics-');
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  bootstrap = `127.0.0.1:${broker.port}`;
  kafka = new Kafka({ clientId: 'cli-topics-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port });
  for (const key of conn.brokerVersions.keys()) advertised.add(key);
  conn.close();
});

afterAll(async () => {
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const topics = (...args: string[]) => runCli(['topics', '--bootstrap-server', bootstrap, ...args]);

describe('samsa topics', { timeout: 300_000 }, () => {
  it('creates a topic and prints Created topic T.', async () => {
    const r = await topics('--create', '--topic', 'orders', '--partitions', '3', '--replication-factor', '1');
    expect(r).toMatchObject({ code: 0, stdout: 'Created topic orders.\n' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
      expect(meta.topics[0].partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
  });

  it('fails on an existing topic unless --if-not-exists', async () => {
    await topics('--create', '--topic', 'dup');
    const again = await topics('--create', '--topic', 'dup');
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^Error while executing topic command : Topic 'dup' already exists\.?\n$/);
    const quiet = await topics('--create', '--topic', 'dup', '--if-not-exists');
    expect(quiet).toMatchObject({ code: 0, stdout: '' });
  });

  it("passes the broker's reason for a refused topic", async () => {
    const badRf = await topics('--create', '--topic', 'wide', '--replication-factor', '2');
    expect(badRf.code).toBe(1);
    // The broker's own wording, passed through (Kafka's ZooKeeper and KRaft brokers word it differently).
    expect(badRf.stdout).toMatch(/^Error while executing topic command : .*[Rr]eplication factor.*2.*\n$/);
    const badName = await topics('--create', '--topic', 'bad/name');
    expect(badName.code).toBe(1);
    expect(badName.stdout).toMatch(/^Error while executing topic command : .*bad\/name/);
  });

  it('warns about . and _ in a new name, as Kafka does', async () => {
    const r = await topics('--create', '--topic', 'with.dot');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\nCreated topic with.dot.\n",
    );
  });

  it('lists topics sorted, filtered by a regex', async () => {
    await topics('--create', '--topic', 'list-b');
    await topics('--create', '--topic', 'list-a');
    const all = await topics('--list');
    expect(all.code).toBe(0);
    const names = all.stdout.trim().split('\n');
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['list-a', 'list-b', 'orders']));
    const filtered = await topics('--list', '--topic', 'list-.*');
    expect(filtered).toMatchObject({ code: 0, stdout: 'list-a\nlist-b\n' });
  });

  it('describes a topic in Kafka 4.0 format', async () => {
    await topics('--create', '--topic', 'described', '--partitions', '2');
    const r = await topics('--describe', '--topic', 'described');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Topic: described\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: .*$/);
    const leader = broker.self.nodeId;
    expect(lines[1]).toBe(`\tTopic: described\tPartition: 0\tLeader: ${leader}\tReplicas: ${leader}\tIsr: ${leader}\tElr: \tLastKnownElr: `);
    expect(lines[2]).toBe(`\tTopic: described\tPartition: 1\tLeader: ${leader}\tReplicas: ${leader}\tIsr: ${leader}\tElr: \tLastKnownElr: `);
    expect(lines.slice(3)).toEqual(['']);
  });

  it('describes the configs set at creation', async (ctx) => {
    if (!advertised.has(ApiKey.DescribeConfigs)) ctx.skip();
    const created = await topics('--create', '--topic', 'configured', '--config', 'retention.ms=123456', '--config', 'cleanup.policy=compact');
    expect(created.code).toBe(0);
    const r = await topics('--describe', '--topic', 'configured');
    const configs = /\tConfigs: (.*)$/m.exec(r.stdout)![1].split(',');
    expect(configs).toEqual(expect.arrayContaining(['retention.ms=123456', 'cleanup.policy=compact']));
  });

  it('refuses to describe a missing topic unless --if-exists', async () => {
    const r = await topics('--describe', '--topic', 'nope');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe("Topic 'nope' does not exist as expected\n");
    expect(await topics('--describe', '--topic', 'nope', '--if-exists')).toMatchObject({ code: 0, stdout: '' });
  });

  it('adds partitions with --alter', async (ctx) => {
    if (!advertised.has(ApiKey.CreatePartitions)) ctx.skip();
    await topics('--create', '--topic', 'grow', '--partitions', '1');
    const r = await topics('--alter', '--topic', 'grow', '--partitions', '4');
    expect(r).toMatchObject({ code: 0, stdout: '' });
    const d = await topics('--describe', '--topic', 'grow');
    expect(d.stdout).toContain('\tPartitionCount: 4\t');
    expect(d.stdout.split('\n').filter((l) => l.startsWith('\tTopic: grow'))).toHaveLength(4);
    const shrink = await topics('--alter', '--topic', 'grow', '--partitions', '2');
    expect(shrink.code).toBe(1);
    expect(shrink.stdout).toMatch(/^Error while executing topic command : /);
  });

  it('deletes a topic', async (ctx) => {
    if (!advertised.has(ApiKey.DeleteTopics)) ctx.skip();
    await topics('--create', '--topic', 'doomed');
    const r = await topics('--delete', '--topic', 'doomed');
    expect(r).toMatchObject({ code: 0, stdout: '' });
    const list = await topics('--list');
    expect(list.stdout.split('\n')).not.toContain('doomed');
    const missing = await topics('--delete', '--topic', 'doomed');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("Topic 'doomed' does not exist as expected\n");
    expect(await topics('--delete', '--topic', 'doomed', '--if-exists')).toMatchObject({ code: 0 });
  });

  it('says which API is missing when the broker has no DeleteTopics', async (ctx) => {
    if (advertised.has(ApiKey.DeleteTopics)) ctx.skip();
    await topics('--create', '--topic', 'undeletable');
    const r = await topics('--delete', '--topic', 'undeletable');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Error while executing topic command : The broker .* does not support DeleteTopics\n$/);
  });

  it('checks arguments like kafka-topics', async () => {
    const none = await topics('--topic', 'x');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Command must include exactly one action: --list, --describe, --create, --alter or --delete');
    const noTopic = await topics('--create');
    expect(noTopic.code).toBe(1);
    expect(noTopic.stderr).toContain('Missing required argument "[topic]"');
    const alterConfig = await topics('--alter', '--topic', 'x', '--partitions', '2', '--config', 'a=b');
    expect(alterConfig.code).toBe(1);
    const badRf = await topics('--create', '--topic', 'x', '--replication-factor', '0');
    expect(badRf).toMatchObject({ code: 1, stderr: 'The replication factor must be between 1 and 32767 inclusive\n' });
    const badConfig = await topics('--create', '--topic', 'x', '--config', 'novalue');
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('Invalid topic config');
    const noBootstrap = await runCli(['topics', '--list']);
    expect(noBootstrap.code).toBe(1);
    expect(noBootstrap.stderr).toContain('--bootstrap-server must be specified');
  });

  it('names an unreachable broker and exits 1', async () => {
    const r = await runCli(['topics', '--bootstrap-server', '127.0.0.1:1', '--list']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot connect to 127.0.0.1:1 (ECONNREFUSED)\n' });
  });
});
