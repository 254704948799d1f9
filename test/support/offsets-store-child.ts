// Child process for the __consumer_offsets SIGKILL test: a broker whose
// coordinator store commits offsets in a loop (as OffsetCommit would), printing
// "ACK <group> <partition> <offset>" once each append has resolved, i.e. once
// an OffsetCommit would have been answered. The parent SIGKILLs it at a random
// moment and checks that every acknowledged commit loads back.
import { Broker } from '../../src/broker/broker.js';
import { silentLogger } from '../../src/storage/log.js';

const [dataDir, ...pairs] = process.argv.slice(2);
const properties: Record<string, string> = {};
for (const pair of pairs) {
  const eq = pair.indexOf('=');
  properties[pair.slice(0, eq)] = pair.slice(eq + 1);
}
const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, properties, logger: silentLogger });
const store = broker.coordinatorStore;
process.stdout.write('READY\n');

const GROUPS = 8;
let round = 0;
for (;;) {
  const group = `group-${round % GROUPS}`;
  const offset = BigInt(round);
  const records = [0, 1, 2].map((partition) => ({
    type: 'offset' as const,
    groupId: group,
    topic: 'orders',
    partition,
    value: { offset, leaderEpoch: 0, metadata: `round ${round}`, commitTimestampMs: Date.now(), expireTimestampMs: null },
  }));
  await store.append(store.partitionFor(group), records);
  process.stdout.write(`ACK ${group} ${offset}\n`);
  round++;
  if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
}
