// A group coordinator whose `__consumer_offsets` append fails (a full disk,
// for real: the broker's data dir is a tiny tmpfs) answers with Kafka's
// mapped error and keeps the group exactly as it was: a KIP-848 heartbeat
// that would add a member, a commit, and a heartbeat that would convert an
// empty classic group leave no trace in memory, and what a restart loads from
// the log agrees with what the broker answered before it. Skipped where
// mounting a tmpfs is not allowed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import {
  ApiKey,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatResponse,
  type CreateTopicsResponse,
  type ListGroupsResponse,
  type OffsetCommitResponse,
  type OffsetFetchResponse,
} from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const FS_BYTES = 8 * 1024 * 1024;
const NOT_COORDINATOR = 16;
let mountPoint = '';
let mounted = false;

beforeAll(() => {
  mountPoint = tempDir('samsa-coord-enospc-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_BYTES}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    console.warn(`coordinator write-failure tests skipped: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]})`);
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  fs.rmSync(mountPoint, { recursive: true, force: true });
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'offsets.topic.num.partitions': '1',
  'offset.metadata.max.bytes': '65536',
  // Plain writes, so a full disk fails the append itself (not a page fault on a mapping).
  'log.segment.append.mode': 'write',
  'log.index.size.max.bytes': '65536',
};

async function startBroker(dataDir: string): Promise<{ broker: Broker; conn: BrokerConnection }> {
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: PROPERTIES });
  cleanups.push(() => broker.close());
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'write-failure-test' });
  cleanups.push(() => conn.close());
  return { broker, conn };
}

function heartbeat(conn: BrokerConnection, groupId: string, memberId: string, memberEpoch: number, rackId: string | null = null): Promise<ConsumerGroupHeartbeatResponse> {
  return conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => ({
    groupId,
    memberId,
    memberEpoch,
    instanceId: null,
    rackId,
    rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['orders'] : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: memberEpoch === 0 ? [] : null,
  }));
}

async function describeGroup(conn: BrokerConnection, groupId: string): Promise<ConsumerGroupDescribeResponse.DescribedGroup> {
  for (let i = 0; ; i++) {
    const response = await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, () => ({ groupIds: [groupId], includeAuthorizedOperations: false }));
    // COORDINATOR_LOAD_IN_PROGRESS right after a restart.
    if (response.groups[0].errorCode !== 14 || i > 200) return response.groups[0];
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function commit(conn: BrokerConnection, groupId: string, memberId: string, memberEpoch: number, offset: bigint, metadata = ''): Promise<number> {
  const response = await conn.request<OffsetCommitResponse>(ApiKey.OffsetCommit, () => ({
    groupId,
    generationIdOrMemberEpoch: memberEpoch,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: metadata }] }],
  }));
  return response.topics[0].partitions[0].errorCode;
}

async function committed(conn: BrokerConnection, groupId: string): Promise<bigint> {
  const response = await conn.request<OffsetFetchResponse>(ApiKey.OffsetFetch, () => ({
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: 'orders', partitionIndexes: [0] }] }],
    requireStable: false,
  }));
  expect(response.groups![0].errorCode).toBe(0);
  return response.groups![0].topics[0].partitions[0].committedOffset;
}

async function listGroups(conn: BrokerConnection): Promise<Map<string, string>> {
  const response = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, () => ({ statesFilter: [], typesFilter: [] }));
  return new Map(response.groups.map((g) => [g.groupId, `${g.groupType}/${g.groupState}`]));
}

/** Fills the file system until a write fails; returns the filler's path. */
function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (;;) {
      try {
        fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // The last pages, a few bytes at a time.
        for (;;) {
          try {
            fs.writeSync(fd, chunk, 0, 512);
          } catch {
            return filler;
          }
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

describe('group coordinator on a full disk', () => {
  it('rolls back a KIP-848 heartbeat, a commit and a classic-to-consumer conversion whose records cannot be written', async (ctx) => {
    if (!mounted) ctx.skip();
    const dataDir = path.join(mountPoint, 'data');
    const { conn } = await startBroker(dataDir);
    const created = await conn.request<CreateTopicsResponse>(ApiKey.CreateTopics, () => ({
      topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    }));
    expect(created.topics[0].errorCode).toBe(0);

    // A consumer group with one member and a committed offset; an empty classic ("simple") group with an offset.
    const a = await heartbeat(conn, 'g', '', 0);
    expect(a.errorCode).toBe(0);
    const aId = a.memberId!;
    const aEpoch = a.memberEpoch;
    expect(await commit(conn, 'g', aId, aEpoch, 5n)).toBe(0);
    expect(await commit(conn, 'simple', '', -1, 7n)).toBe(0);
    const before = await describeGroup(conn, 'g');
    expect(before.errorCode).toBe(0);
    expect(before.members).toHaveLength(1);
    const groupsBefore = await listGroups(conn);
    expect(groupsBefore.get('simple')).toBe('classic/Empty');

    const filler = fillDisk(mountPoint);
    try {
      // Records of several KiB need new pages: the append fails with KAFKA_STORAGE_ERROR, answered NOT_COORDINATOR.
      const big = 'r'.repeat(16 * 1024);
      const b = await heartbeat(conn, 'g', '', 0, big);
      expect(b.errorCode).toBe(NOT_COORDINATOR);
      expect(await describeGroup(conn, 'g')).toEqual(before);
      // The member's heartbeat still finds the group as it was: same epoch, nothing to write.
      const same = await heartbeat(conn, 'g', aId, aEpoch);
      expect(same.errorCode).toBe(0);
      expect(same.memberEpoch).toBe(aEpoch);

      expect(await commit(conn, 'g', aId, aEpoch, 6n, 'm'.repeat(16 * 1024))).toBe(NOT_COORDINATOR);
      expect(await committed(conn, 'g')).toBe(5n);

      // Joining the empty classic group as a consumer would tombstone it: not written, so it stays classic.
      const convert = await heartbeat(conn, 'simple', '', 0, big);
      expect(convert.errorCode).toBe(NOT_COORDINATOR);
      expect(await listGroups(conn)).toEqual(groupsBefore);
      expect(await committed(conn, 'simple')).toBe(7n);
    } finally {
      fs.rmSync(filler);
    }

    // Space is back: the same changes go through, from the state before the failures.
    const b = await heartbeat(conn, 'g', '', 0, 'rack-b');
    expect(b.errorCode).toBe(0);
    expect(b.memberEpoch).toBe(before.groupEpoch + 1);
    const grown = await describeGroup(conn, 'g');
    expect(grown.members.map((m) => m.memberId).sort()).toEqual([aId, b.memberId!].sort());
    expect(grown.groupEpoch).toBe(before.groupEpoch + 1);
    const converted = await heartbeat(conn, 'simple', '', 0);
    expect(converted.errorCode).toBe(0);
    expect((await listGroups(conn)).get('simple')).toMatch(/^consumer\//);

    // What the log holds is what the broker answered: a restart loads the same groups.
    for (const c of cleanups.splice(0).reverse()) await c();
    const again = await startBroker(dataDir);
    expect(await describeGroup(again.conn, 'g')).toEqual(grown);
    expect(await committed(again.conn, 'g')).toBe(5n);
    expect((await listGroups(again.conn)).get('simple')).toMatch(/^consumer\//);
  });
});
