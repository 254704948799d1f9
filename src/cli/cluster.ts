// `samsa cluster`: the cluster as one broker sees it (Metadata): cluster id,
// controller, live brokers with their endpoints and racks, and the partitions
// that are under-replicated (fewer in-sync replicas than replicas, Kafka's
// UnderReplicatedPartitions) or offline (no leader). Kafka has no single tool
// for this; kafka-metadata-quorum and kafka-topics --under-replicated-partitions
// come closest.
import { KafkaClient } from '../client/client.js';
import { parseBootstrapCommand, type OptionSpec } from './args.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server(s) to use for bootstrapping>', description: 'REQUIRED: The server to connect to.' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const SUMMARY = 'This tool lists the brokers of a cluster, its controller and its under-replicated and offline partitions.';

export async function clusterCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseBootstrapCommand(argv, OPTIONS, SUMMARY, io);
  if (typeof args === 'number') return args;
  const client = await KafkaClient.connect({ bootstrapServers: args.get('bootstrap-server')!, clientId: 'samsa-cluster', connectTimeoutMs: connectTimeoutMs() });
  try {
    const metadata = await client.metadata(null);
    let underReplicated = 0;
    let offline = 0;
    const offlineNames: string[] = [];
    for (const t of metadata.topics) {
      for (const p of t.partitions) {
        if (p.isrNodes.length < p.replicaNodes.length) underReplicated += 1;
        if (p.leaderId < 0) {
          offline += 1;
          offlineNames.push(`${t.name}-${p.partitionIndex}`);
        }
      }
    }
    printLine(io.stdout, `Cluster id: ${metadata.clusterId ?? 'unknown'}`);
    printLine(io.stdout, `Controller: ${metadata.controllerId !== undefined && metadata.controllerId >= 0 ? metadata.controllerId : 'none'}`);
    printLine(io.stdout, `Brokers: ${metadata.brokers.length}`);
    for (const b of [...metadata.brokers].sort((x, y) => x.nodeId - y.nodeId)) {
      const host = b.host.includes(':') ? `[${b.host}]` : b.host;
      printLine(io.stdout, `\tId: ${b.nodeId}\tEndpoint: ${host}:${b.port}\tRack: ${b.rack ?? 'none'}${b.nodeId === metadata.controllerId ? '\t(controller)' : ''}`);
    }
    printLine(io.stdout, `Under-replicated partitions: ${underReplicated}`);
    printLine(io.stdout, `Offline partitions: ${offline}${offline > 0 ? ` (${offlineNames.slice(0, 20).join(', ')}${offline > 20 ? ', ...' : ''})` : ''}`);
    return 0;
  } finally {
    client.close();
  }
}
