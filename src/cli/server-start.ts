// `samsa server-start [server.properties] [--override name=value ...]`, like
// Kafka's kafka-server-start.sh: starts a broker and stops it gracefully on
// SIGINT/SIGTERM (answer what was read, flush, checkpoint, mark clean shutdown).
//
// Configuration problems (a malformed value, an unreadable file, a bad
// SAMSA_LOG_LEVEL) end the process with exit code 1 and one line on stderr
// naming the property; nothing is started.
import fs from 'node:fs';
import { Broker } from '../broker/broker.js';
import { PROPERTIES_BYTES_MAX, parseProperties } from '../config/properties.js';
import { createLogger } from '../observability/logger.js';

export class UsageError extends Error {}

export interface ServerStartArgs {
  propertiesFile: string | null;
  overrides: Record<string, string>;
}

export function parseServerStartArgs(args: string[]): ServerStartArgs {
  let propertiesFile: string | null = null;
  const overrides: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--override') {
      const pair = args[++i] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--override needs name=value, got ${JSON.stringify(pair)}`);
      overrides[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`server-start: unknown option ${arg}`);
    } else if (propertiesFile !== null) {
      throw new UsageError(`server-start: one properties file expected, got ${propertiesFile} and ${arg}`);
    } else {
      propertiesFile = arg;
    }
  }
  return { propertiesFile, overrides };
}

/** The file's properties with the overrides on top. */
export function readServerProperties(args: ServerStartArgs): Record<string, string> {
  const properties: Record<string, string> = {};
  if (args.propertiesFile !== null) {
    const file = args.propertiesFile;
    let text: string;
    try {
      if (fs.statSync(file).size > PROPERTIES_BYTES_MAX) throw new Error(`larger than ${PROPERTIES_BYTES_MAX} bytes`);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    try {
      for (const [k, v] of parseProperties(text)) properties[k] = v;
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
  }
  return { ...properties, ...args.overrides };
}

export async function serverStart(args: string[]): Promise<void> {
  const properties = readServerProperties(parseServerStartArgs(args));
  const logger = createLogger();
  // Handlers go in before anything starts: a signal that arrives during start-up
  // (or right after the ready line) must stop the broker gracefully, not kill it.
  let broker: Broker | null = null;
  let signalled: string | null = null;
  const stop = () => {
    logger.info(`${signalled}: shutting down`, { signal: signalled });
    broker!.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error(`shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (signalled !== null) return;
    signalled = signal;
    if (broker !== null) stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Ready time counts from the process start (performance.now() is relative to it), module loading included.
  broker = await Broker.start({ properties, logger, readySinceMs: 0 });
  if (signalled !== null) stop();
}
