// A broker in its own process, for tests that SIGKILL it or measure its memory:
//   node --import tsx test/support/broker-child.ts <dataDir> [port] [name=value ...]
// Prints `READY <port>` once listening, and `MEM <rss> <heapUsed>` (bytes) on
// SIGUSR2 after a full GC when started with --expose-gc. SIGTERM stops it
// gracefully.
import { Broker } from '../../src/broker/broker.js';
import { silentLogger } from '../../src/storage/log.js';
import { createLogger } from '../../src/observability/logger.js';

const [dataDir, portArg, ...pairs] = process.argv.slice(2);
const properties: Record<string, string> = {};
for (const pair of pairs) {
  const eq = pair.indexOf('=');
  properties[pair.slice(0, eq)] = pair.slice(eq + 1);
}

const broker = await Broker.start({ port: Number(portArg ?? 0), host: '127.0.0.1', dataDir, properties, logger: process.env.SAMSA_TEST_BROKER_LOG ? createLogger() : silentLogger });
process.stdout.write(`READY ${broker.port}\n`);

process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`MEM ${m.rss} ${m.heapUsed}\n`);
});
process.on('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
