// Replica assignment as Kafka's AdminUtils.assignReplicasToBrokers does it
// (the placer behind ZooKeeper-mode topic creation, which KRaft's
// StripedReplicaPlacer keeps in spirit): the first replica of partition p goes
// to broker (p + startIndex) in the sorted broker list, so leaders spread
// round-robin from a starting broker; the other replicas follow at a shift
// that grows by one every full round of partitions, so followers spread too.
// With racks on every broker, the broker list alternates racks and a replica
// skips a rack that already holds one while another rack holds none.
//
// Brokers with a rack and brokers without one in the same cluster: Kafka's
// AdminUtils refuses ("Not all brokers have rack information"); here the
// placement then ignores racks, as KRaft's placer does for brokers without one.

export interface PlacementBroker {
  id: number;
  rack: string | null;
}

export class PlacementError extends Error {}

/**
 * Replica lists for `partitionCount` partitions numbered from
 * `startPartitionId`. `startIndex`/`shift` fix the starting broker and the
 * follower shift (Kafka's fixedStartIndex); -1 picks them at random, as Kafka does.
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  replicationFactor: number,
  startIndex = -1,
  startPartitionId = -1,
  random: () => number = Math.random,
): number[][] {
  if (partitionCount <= 0) throw new PlacementError('Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) throw new PlacementError('Replication factor must be larger than 0.');
  if (replicationFactor > brokers.length) {
    throw new PlacementError(`Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`);
  }
  const rackAware = brokers.every((b) => b.rack !== null);
  return rackAware
    ? rackAwareAssignment(brokers, partitionCount, replicationFactor, startIndex, startPartitionId, random)
    : rackUnawareAssignment(
        brokers.map((b) => b.id).sort((a, b) => a - b),
        partitionCount,
        replicationFactor,
        startIndex,
        startPartitionId,
        random,
      );
}

function pick(fixed: number, n: number, random: () => number): number {
  return fixed >= 0 ? fixed : Math.floor(random() * n);
}

/** Kafka's replicaIndex: the j-th follower of a partition whose first replica is at `first`. */
function replicaIndex(first: number, secondReplicaShift: number, j: number, n: number): number {
  const shift = 1 + ((secondReplicaShift + j) % (n - 1));
  return (first + shift) % n;
}

function rackUnawareAssignment(ids: number[], partitionCount: number, rf: number, fixedStart: number, startPartitionId: number, random: () => number): number[][] {
  const n = ids.length;
  const startIndex = pick(fixedStart, n, random);
  let partitionId = Math.max(0, startPartitionId);
  let shift = pick(fixedStart, n, random);
  const result: number[][] = [];
  for (let i = 0; i < partitionCount; i++) {
    if (partitionId > 0 && partitionId % n === 0) shift += 1;
    const first = (partitionId + startIndex) % n;
    const replicas = [ids[first]];
    for (let j = 0; j < rf - 1; j++) replicas.push(ids[replicaIndex(first, shift, j, n)]);
    result.push(replicas);
    partitionId += 1;
  }
  return result;
}

/** Kafka's getRackAlternatedBrokerList: one broker of each rack in turn (racks and brokers sorted). */
export function rackAlternatedBrokers(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b.id);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const queues = racks.map((r) => byRack.get(r)!.sort((a, b) => a - b));
  const result: number[] = [];
  for (let i = 0; result.length < brokers.length; i++) {
    const queue = queues[i % queues.length];
    const next = queue.shift();
    if (next !== undefined) result.push(next);
  }
  return result;
}

function rackAwareAssignment(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  rf: number,
  fixedStart: number,
  startPartitionId: number,
  random: () => number,
): number[][] {
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack!]));
  const numRacks = new Set(rackOf.values()).size;
  const arranged = rackAlternatedBrokers(brokers);
  const n = arranged.length;
  const startIndex = pick(fixedStart, n, random);
  let partitionId = Math.max(0, startPartitionId);
  let shift = pick(fixedStart, n, random);
  const result: number[][] = [];
  for (let i = 0; i < partitionCount; i++) {
    if (partitionId > 0 && partitionId % n === 0) shift += 1;
    const first = (partitionId + startIndex) % n;
    const leader = arranged[first];
    const replicas = [leader];
    const racksUsed = new Set([rackOf.get(leader)!]);
    const brokersUsed = new Set([leader]);
    let k = 0;
    for (let j = 0; j < rf - 1; j++) {
      for (;;) {
        const broker = arranged[replicaIndex(first, shift * numRacks, k, n)];
        const rack = rackOf.get(broker)!;
        k += 1;
        // Skip a rack that has a replica while another has none, and a broker that has one while another has none.
        if ((!racksUsed.has(rack) || racksUsed.size === numRacks) && (!brokersUsed.has(broker) || brokersUsed.size === n)) {
          replicas.push(broker);
          racksUsed.add(rack);
          brokersUsed.add(broker);
          break;
        }
      }
    }
    result.push(replicas);
    partitionId += 1;
  }
  return result;
}
