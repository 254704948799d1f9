// `samsa console-producer`: Kafka 4.0's kafka-console-producer. Each stdin
// line is one record (LineMessageReader: optional headers and key, see
// --property), batched per partition and sent to the partition leader.
// Exits 0 when every record was acknowledged, 1 otherwise.
import readline from 'node:readline';
import { KafkaClient } from '../client/client.js';
import { TopicProducer, byteLength } from '../client/producer.js';
import type { CompressionName, RecordInput } from '../record/record-batch.js';
import { keyValues, parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { LineFormatError, lineReaderOptions, parseLine } from './format.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The server(s) to connect to.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'REQUIRED: The topic id to produce messages to.' },
  { name: 'property', kind: 'value', argName: '<prop>', description: 'Line reader properties: parse.key, key.separator (default \\t), parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error.' },
  { name: 'reader-property', kind: 'value', argName: '<prop>', description: 'Same as --property.' },
  { name: 'producer-property', kind: 'value', argName: '<producer_prop>', description: 'Producer properties: acks, compression.type, batch.size, linger.ms, retries, request.timeout.ms, max.block.ms, enable.idempotence (default true with acks=all), client.id.' },
  { name: 'command-property', kind: 'value', argName: '<producer_prop>', description: 'Same as --producer-property.' },
  { name: 'request-required-acks', kind: 'value', argName: '<request required acks>', description: 'The required acks of the producer requests: all, -1, 0 or 1 (default: -1).' },
  { name: 'compression-codec', kind: 'optional', implied: 'gzip', argName: '<compression-codec>', description: "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, then it defaults to 'gzip'." },
  { name: 'batch-size', kind: 'value', argName: '<size>', description: 'Bytes of records per partition batch (batch.size, default: 16384).' },
  { name: 'timeout', kind: 'value', argName: '<timeout_ms>', description: 'How long a batch waits for more records (linger.ms, default: 1000).' },
  { name: 'sync', kind: 'flag', description: 'Send each record synchronously, one request per record.' },
  { name: 'request-timeout-ms', kind: 'value', argName: '<request timeout ms>', description: 'The ack timeout of the producer requests (default: 1500).' },
  { name: 'message-send-max-retries', kind: 'value', argName: '<Integer>', description: 'Retries of a batch that failed with a retriable error (default: 3).' },
  { name: 'max-block-ms', kind: 'value', argName: '<max block on send>', description: 'How long to wait for the topic metadata (default: 60000).' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const SUMMARY = 'This tool helps to read data from standard input and publish it to Kafka.';
const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

interface ProducerSettings {
  acks: number;
  compression: CompressionName;
  batchBytes: number;
  lingerMs: number;
  retries: number;
  requestTimeoutMs: number;
  maxBlockMs: number;
  idempotent: boolean;
  clientId: string;
}

export async function consoleProducerCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  let settings: ProducerSettings;
  let reader: ReturnType<typeof lineReaderOptions>;
  try {
    args = parseArgs(argv, OPTIONS);
    if (args.has('help')) {
      printLine(io.stdout, usage(SUMMARY, OPTIONS));
      return 0;
    }
    if (!args.has('topic')) throw new UsageError('Missing required argument "[topic]"');
    if (!args.has('bootstrap-server')) throw new UsageError('Missing required argument "[bootstrap-server]"');
    settings = producerSettings(args);
    reader = lineReaderOptions(keyValues([...args.all('property'), ...args.all('reader-property')]));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(SUMMARY, OPTIONS)}`);
    return 1;
  }
  for (const name of reader.unknown) printLine(io.stderr, `WARN The property '${name}' is not used by the line reader.`);
  const topic = args.get('topic')!;
  const client = await KafkaClient.connect({
    bootstrapServers: args.get('bootstrap-server')!,
    clientId: settings.clientId,
    connectTimeoutMs: connectTimeoutMs(),
  });
  const producer = new TopicProducer(client, {
    topic,
    acks: settings.acks,
    compression: settings.compression,
    batchBytes: settings.batchBytes,
    lingerMs: settings.lingerMs,
    maxBlockMs: settings.maxBlockMs,
    retries: settings.retries,
    requestTimeoutMs: settings.requestTimeoutMs,
    idempotent: settings.idempotent,
    onError: (record, message) =>
      printLine(
        io.stderr,
        `ERROR Error when sending message to topic ${topic} with key: ${describeBytes(record.key ?? null)}, value: ${describeBytes(record.value)} with error: ${message}`,
      ),
  });
  let exitCode = 0;
  try {
    await producer.init();
    const lines = readline.createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber++;
        const parsed = parseLine(line, lineNumber, reader.options);
        const record: RecordInput = { key: parsed.key, value: parsed.value, headers: parsed.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value, 'utf8') })), timestamp: Date.now() };
        await producer.send(record);
        if (args.has('sync')) await producer.flush();
      }
    } catch (err) {
      if (!(err instanceof LineFormatError)) throw err;
      printLine(io.stderr, `Error: ${err.message}`);
      exitCode = 1;
    } finally {
      lines.close();
    }
    await producer.flush();
  } finally {
    client.close();
  }
  return producer.failed > 0 ? 1 : exitCode;
}

function describeBytes(v: Buffer | string | null): string {
  return v === null ? 'null' : `${byteLength(v)} bytes`;
}

/** Producer configs: --producer-property values, overridden by the explicit options as Kafka merges them. */
function producerSettings(args: ParsedArgs): ProducerSettings {
  const props = keyValues([...args.all('producer-property'), ...args.all('command-property')]);
  const explicit = (option: string, property: string) => {
    const v = args.get(option);
    if (v !== undefined) props.set(property, v);
  };
  explicit('request-required-acks', 'acks');
  explicit('compression-codec', 'compression.type');
  explicit('batch-size', 'batch.size');
  explicit('timeout', 'linger.ms');
  explicit('request-timeout-ms', 'request.timeout.ms');
  explicit('message-send-max-retries', 'retries');
  explicit('max-block-ms', 'max.block.ms');
  const acksRaw = (props.get('acks') ?? '-1').trim();
  const acks = acksRaw === 'all' ? -1 : ['-1', '0', '1'].includes(acksRaw) ? Number(acksRaw) : NaN;
  if (Number.isNaN(acks)) throw new UsageError(`Invalid value ${acksRaw} for configuration acks: String must be one of: all, -1, 0, 1`);
  const compression = (props.get('compression.type') ?? 'none').trim().toLowerCase();
  if (!COMPRESSION_NAMES.includes(compression)) {
    throw new UsageError(`Invalid value ${compression} for configuration compression.type: String must be one of: ${COMPRESSION_NAMES.join(', ')}`);
  }
  // Kafka's producer is idempotent by default, but only with acks=all; asking for it with other acks is an error.
  const idempotence = props.get('enable.idempotence')?.trim().toLowerCase();
  if (idempotence === 'true' && acks !== -1) throw new UsageError('Must set acks to all in order to use the idempotent producer.');
  return {
    acks,
    idempotent: acks === -1 && idempotence !== 'false',
    compression: compression as CompressionName,
    batchBytes: intProperty(props, 'batch.size', 16384, 1),
    lingerMs: intProperty(props, 'linger.ms', 1000, 0),
    retries: intProperty(props, 'retries', 3, 0),
    requestTimeoutMs: intProperty(props, 'request.timeout.ms', 1500, 1),
    maxBlockMs: intProperty(props, 'max.block.ms', 60_000, 0),
    clientId: props.get('client.id') ?? 'console-producer',
  };
}

function intProperty(props: Map<string, string>, name: string, fallback: number, min: number): number {
  const raw = props.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`Invalid value ${raw} for configuration ${name}`);
  return value;
}
