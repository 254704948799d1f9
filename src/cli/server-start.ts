// `samsa server-start [server.properties] [--override name=value ...]`, like
// Kafka's kafka-server-start.sh: starts a broker and stops it gracefully on
// SIGINT/SIGTERM (answer what was read, flush, checkpoint, mark clean shutdown).
import fs from 'node:fs';
import { Broker } from '../broker/broker.js';
import { parseProperties } from '../config/properties.js';

export async function serverStart(args: string[]): Promise<void> {
  const properties: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--override') {
      const pair = args[++i] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--override needs name=value, got ${JSON.stringify(pair)}`);
      properties[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else {
      for (const [k, v] of parseProperties(fs.readFileSync(args[i], 'utf8'))) properties[k] ??= v;
    }
  }
  const broker = await Broker.start({ properties });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[samsa] ${signal}: shutting down`);
    broker.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`[samsa] shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
