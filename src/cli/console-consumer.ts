// `samsa console-consumer`: Kafka 4.0's kafka-console-consumer without
// consumer groups. Without --partition it reads every partition of the
// topic, assigned directly (no group coordination, no committed offsets);
// records print in Kafka's DefaultMessageFormatter format and the count goes
// to stderr as "Processed a total of N messages" when it stops (after
// --max-messages, after --timeout-ms without a record, or on Ctrl-C).
import { KafkaClient } from '../client/client.js';
import { TopicConsumer, type OffsetSpec } from '../client/consumer.js';
import { keyValues, parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { formatRecord, formatterOptions } from './format.js';
import { connectTimeoutMs, printLine, writeBounded, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The server(s) to connect to.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'The topic to consume on.' },
  { name: 'partition', kind: 'value', argName: '<Integer: partition>', description: 'The partition to consume from. Without it every partition of the topic is read, each assigned directly: samsa does not join a consumer group.' },
  { name: 'offset', kind: 'value', argName: '<consume offset>', description: "The offset to start consuming from (with --partition): a non-negative number, or 'earliest', or 'latest' (default: latest)." },
  { name: 'from-beginning', kind: 'flag', description: 'Start with the earliest message present in the log rather than the latest message.' },
  { name: 'max-messages', kind: 'value', argName: '<Integer: num_messages>', description: 'The maximum number of messages to consume before exiting. If not set, consumption is continual.' },
  { name: 'timeout-ms', kind: 'value', argName: '<Long: timeout_ms>', description: 'If specified, exit if no message is available for consumption for the specified interval.' },
  { name: 'property', kind: 'value', argName: '<prop>', description: 'Formatter properties: print.timestamp, print.key, print.value, print.partition, print.offset, print.headers, key.separator, line.separator, headers.separator, null.literal.' },
  { name: 'formatter-property', kind: 'value', argName: '<prop>', description: 'Same as --property.' },
  { name: 'consumer-property', kind: 'value', argName: '<consumer_prop>', description: 'Consumer properties: isolation.level, fetch.max.bytes, max.partition.fetch.bytes, fetch.max.wait.ms, client.id.' },
  { name: 'command-property', kind: 'value', argName: '<consumer_prop>', description: 'Same as --consumer-property.' },
  { name: 'isolation-level', kind: 'value', argName: '<isolation level>', description: 'read_committed or read_uncommitted (default).' },
  { name: 'group', kind: 'value', argName: '<consumer group id>', description: 'Not supported: samsa console-consumer does not use consumer groups.' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const SUMMARY = 'This tool helps to read data from Kafka topics and outputs it to standard output.';

interface ConsumerSettings {
  topic: string;
  partitions: number[] | null;
  start: OffsetSpec;
  resetTo: 'earliest' | 'latest';
  maxMessages: number;
  timeoutMs: number;
  isolationLevel: 0 | 1;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  fetchMaxWaitMs: number;
  clientId: string;
}

export async function consoleConsumerCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  let settings: ConsumerSettings;
  try {
    args = parseArgs(argv, OPTIONS);
    if (args.has('help')) {
      printLine(io.stdout, usage(SUMMARY, OPTIONS));
      return 0;
    }
    settings = consumerSettings(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(SUMMARY, OPTIONS)}`);
    return 1;
  }
  const formatter = formatterOptions(keyValues([...args.all('property'), ...args.all('formatter-property')]));
  for (const name of formatter.unknown) printLine(io.stderr, `WARN The property '${name}' is not used by the message formatter.`);

  const client = await KafkaClient.connect({
    bootstrapServers: args.get('bootstrap-server')!,
    clientId: settings.clientId,
    connectTimeoutMs: connectTimeoutMs(),
  });
  const consumer = new TopicConsumer(client, {
    topic: settings.topic,
    partitions: settings.partitions,
    start: settings.start,
    resetTo: settings.resetTo,
    isolationLevel: settings.isolationLevel,
    fetchMaxBytes: settings.fetchMaxBytes,
    partitionMaxBytes: settings.partitionMaxBytes,
    requestTimeoutMs: 30_000,
  });
  let count = 0;
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  const onSigint = () => stop();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  io.stdout.once('error', stop); // EPIPE: the reader went away (e.g. `| head`)
  try {
    let lastRecordAt = Date.now();
    while (!stopping && (settings.maxMessages < 0 || count < settings.maxMessages)) {
      const idleMs = Date.now() - lastRecordAt;
      if (settings.timeoutMs >= 0 && idleMs >= settings.timeoutMs) {
        printLine(io.stderr, `ERROR Error processing message, terminating consumer process: TimeoutException: no message within ${settings.timeoutMs} ms`);
        break;
      }
      const waitMs = settings.timeoutMs >= 0 ? Math.max(1, Math.min(settings.fetchMaxWaitMs, settings.timeoutMs - idleMs)) : settings.fetchMaxWaitMs;
      const records = await consumer.poll(waitMs);
      if (records.length > 0) lastRecordAt = Date.now();
      for (const record of records) {
        if (stopping || (settings.maxMessages >= 0 && count >= settings.maxMessages)) break;
        await writeBounded(io.stdout, formatRecord(record, formatter.options));
        count++;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    client.close();
    printLine(io.stderr, `Processed a total of ${count} messages`);
  }
  return 0;
}

function consumerSettings(args: ParsedArgs): ConsumerSettings {
  if (!args.has('topic')) throw new UsageError('Exactly one of whitelist/topic is required.');
  if (args.has('group')) throw new UsageError('--group is not supported: samsa console-consumer reads partitions directly, without a consumer group.');
  const partition = args.int('partition');
  const fromBeginning = args.has('from-beginning');
  if (partition !== undefined) {
    if (partition < 0) throw new UsageError(`The partition must be non-negative, got ${partition}`);
    if (fromBeginning && args.has('offset')) throw new UsageError('Options from-beginning and offset cannot be specified together.');
  } else if (args.has('offset')) {
    throw new UsageError('The partition is required when offset is specified.');
  }
  if (!args.has('bootstrap-server')) throw new UsageError('Missing required argument "[bootstrap-server]"');
  const props = keyValues([...args.all('consumer-property'), ...args.all('command-property')]);
  if (args.has('isolation-level')) props.set('isolation.level', args.get('isolation-level')!);
  const isolation = (props.get('isolation.level') ?? 'read_uncommitted').trim();
  if (isolation !== 'read_uncommitted' && isolation !== 'read_committed') {
    throw new UsageError(`Invalid value ${isolation} for configuration isolation.level: String must be one of: read_committed, read_uncommitted`);
  }
  return {
    topic: args.get('topic')!,
    partitions: partition === undefined ? null : [partition],
    start: parseOffset(args.get('offset'), fromBeginning),
    resetTo: fromBeginning ? 'earliest' : 'latest',
    maxMessages: args.int('max-messages') ?? -1,
    timeoutMs: args.int('timeout-ms') ?? -1,
    isolationLevel: isolation === 'read_committed' ? 1 : 0,
    fetchMaxBytes: intProperty(props, 'fetch.max.bytes', 52_428_800),
    partitionMaxBytes: intProperty(props, 'max.partition.fetch.bytes', 1_048_576),
    fetchMaxWaitMs: intProperty(props, 'fetch.max.wait.ms', 500),
    clientId: props.get('client.id') ?? 'console-consumer',
  };
}

function parseOffset(raw: string | undefined, fromBeginning: boolean): OffsetSpec {
  if (raw === undefined) return fromBeginning ? 'earliest' : 'latest';
  const lower = raw.toLowerCase();
  if (lower === 'earliest' || lower === 'latest') return lower;
  if (/^\d+$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  throw new UsageError(`The provided offset value '${raw}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.`);
}

function intProperty(props: Map<string, string>, name: string, fallback: number): number {
  const raw = props.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`Invalid value ${raw} for configuration ${name}`);
  return value;
}
