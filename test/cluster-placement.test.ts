// Kafka's replica placement (AdminUtils.assignReplicasToBrokers) and the
// controller's leader election rules, as pure functions.
import { describe, expect, it } from 'vitest';
import { assignReplicas, rackAlternatedBrokers } from '../src/cluster/replica-placement.js';
import { electLeader, electLeaders } from '../src/cluster/leader-election.js';
import type { PartitionState } from '../src/cluster/metadata.js';
import { loadBrokerConfig } from '../src/config/broker-config.js';
import { Broker } from '../src/broker/broker.js';

const brokers = (ids: number[], racks?: string[]) => ids.map((id, i) => ({ id, rack: racks ? racks[i] : null }));

describe('replica placement', () => {
  it("matches Kafka's AdminTest.testReplicaAssignment (5 brokers, 10 partitions, RF 3, start index 0)", () => {
    expect(assignReplicas(brokers([0, 1, 2, 3, 4]), 10, 3, 0)).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 0],
      [4, 0, 1],
      [0, 2, 3],
      [1, 3, 4],
      [2, 4, 0],
      [3, 0, 1],
      [4, 1, 2],
    ]);
  });

  it('spreads leaders round-robin, and added partitions continue the leaders from where the topic stopped', () => {
    const all = assignReplicas(brokers([3, 1, 2]), 6, 2, 1);
    expect(all.map((r) => r[0])).toEqual([2, 3, 1, 2, 3, 1]);
    // As Kafka's addPartitions: same start index, numbering from the current count (the follower shift starts over).
    expect(assignReplicas(brokers([1, 2, 3]), 2, 2, 1, 6).map((r) => r[0])).toEqual([2, 3]);
  });

  it('alternates racks and puts the replicas of a partition on different racks', () => {
    const b = brokers([0, 1, 2, 3, 4, 5], ['a', 'a', 'b', 'b', 'c', 'c']);
    expect(rackAlternatedBrokers(b)).toEqual([0, 2, 4, 1, 3, 5]);
    const rackOf = new Map(b.map((x) => [x.id, x.rack]));
    const assignment = assignReplicas(b, 12, 3);
    for (const replicas of assignment) expect(new Set(replicas.map((r) => rackOf.get(r))).size).toBe(3);
    // Leaders spread evenly.
    for (const id of [0, 1, 2, 3, 4, 5]) expect(assignment.filter((r) => r[0] === id)).toHaveLength(2);
  });

  it('refuses a replication factor above the broker count', () => {
    expect(() => assignReplicas(brokers([1, 2]), 1, 3)).toThrow(/larger than available brokers: 2/);
  });
});

describe('leader election', () => {
  const p = (leader: number, isr: number[], replicas = [1, 2, 3], leaderEpoch = 0): PartitionState => ({ replicas, leader, leaderEpoch, isr, partitionEpoch: 0 });

  it('keeps a live leader and drops dead brokers from the ISR', () => {
    const same = p(1, [1, 2]);
    expect(electLeader(same, new Set([1, 2, 3]), false)).toBe(same);
    expect(electLeader(p(1, [1, 2]), new Set([1, 3]), false)).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1] });
  });

  it('elects the first live ISR member in replica order, bumping the leader epoch', () => {
    expect(electLeader(p(1, [1, 3, 2]), new Set([2, 3]), false)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [3, 2] });
  });

  it('goes offline, keeping the ISR, when no ISR member lives (unclean election off); its last leader returns', () => {
    const offline = electLeader(p(1, [1]), new Set([2, 3]), false);
    expect(offline).toMatchObject({ leader: -1, leaderEpoch: 1, isr: [1] });
    expect(electLeader(offline, new Set([2, 3]), false)).toBe(offline);
    expect(electLeader(offline, new Set([1, 2, 3]), false)).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [1] });
  });

  it('elects a live replica outside the ISR only with unclean.leader.election.enable', () => {
    expect(electLeader(p(1, [1]), new Set([3]), true)).toMatchObject({ leader: 3, leaderEpoch: 1, isr: [3] });
  });

  it('reports no change as null', () => {
    expect(electLeaders([p(1, [1]), p(2, [2])], new Set([1, 2]), false)).toBeNull();
  });
});

describe('cluster configuration', () => {
  it('requires node.id or broker.id with metadata.etcd.endpoints; broker.id alone names the broker', async () => {
    const endpoints = { 'metadata.etcd.endpoints': 'http://127.0.0.1:1' };
    expect(() => loadBrokerConfig(null, endpoints)).toThrow(/node.id.*must be set/);
    await expect(Broker.start({ port: 0, dataDir: '/tmp/unused-samsa', properties: endpoints })).rejects.toThrow(/node.id.*must be set/);
    expect(loadBrokerConfig(null, { ...endpoints, 'broker.id': '7' }).nodeId).toBe(7);
    expect(loadBrokerConfig(null, { ...endpoints, 'node.id': '1' }).nodeId).toBe(1);
    expect(loadBrokerConfig(null, { 'broker.id': '3' }).nodeId).toBe(3);
    expect(loadBrokerConfig(null, {}).nodeId).toBe(1);
  });
});
