// `samsa broker-api-versions`: Kafka 4.0's kafka-broker-api-versions. Finds
// every broker through Metadata, asks each for ApiVersions and prints, per
// broker, what it supports and which version this client would use.
import { KafkaClient } from '../client/client.js';
import { parseBootstrapCommand, type OptionSpec } from './args.js';
import { formatApiVersions, formatNode } from './format.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server(s) to use for bootstrapping>', description: 'REQUIRED: The server to connect to.' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const SUMMARY = 'This tool helps to retrieve broker version information.';

export async function brokerApiVersionsCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseBootstrapCommand(argv, OPTIONS, SUMMARY, io);
  if (typeof args === 'number') return args;
  const client = await KafkaClient.connect({
    bootstrapServers: args.get('bootstrap-server')!,
    clientId: 'samsa-broker-api-versions',
    connectTimeoutMs: connectTimeoutMs(),
  });
  try {
    await client.metadata([]);
    const nodes = [...client.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
    for (const node of nodes) {
      try {
        const conn = await client.connection(node.nodeId);
        io.stdout.write(`${formatNode(node)} -> ${formatApiVersions(conn.brokerVersions)}\n`);
      } catch (err) {
        io.stdout.write(`${formatNode(node)} -> ERROR: ${(err as Error).message}\n`);
      }
    }
    return 0;
  } finally {
    client.close();
  }
}
