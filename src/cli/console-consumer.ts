// `samsa console-consumer`: Kafka 4.0's kafka-console-consumer. With --group
// (or --consumer-property group.id=G) it joins the consumer group, reads the
// partitions the group assigns it from the group's committed offsets (else
// from auto.offset.reset: --from-beginning means earliest) and commits what
// it printed (every auto.commit.interval.ms, on rebalance and on exit), so the
// next run resumes. Without a group it reads every partition of the topic
// (or --partition), assigned directly, and commits nothing. Records print in Kafka's DefaultMessageFormatter format and the count goes
// to stderr as "Processed a total of N messages" when it stops (after
// --max-messages, after --timeout-ms without a record, or on Ctrl-C).
import { KafkaClient } from '../client/client.js';
import { TopicConsumer, type FetchedRecord, type OffsetSpec } from '../client/consumer.js';
import { GroupConsumer } from '../client/group-consumer.js';
import { keyValues, parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { formatRecord, formatterOptions } from './format.js';
import { connectTimeoutMs, printLine, writeBounded, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The server(s) to connect to.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'The topic to consume on.' },
  { name: 'partition', kind: 'value', argName: '<Integer: partition>', description: 'The partition to consume from. Without it (and without a group) every partition of the topic is read, each assigned directly.' },
  { name: 'offset', kind: 'value', argName: '<consume offset>', description: "The offset to start consuming from (with --partition): a non-negative number, or 'earliest', or 'latest' (default: latest)." },
  { name: 'from-beginning', kind: 'flag', description: 'If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message.' },
  { name: 'max-messages', kind: 'value', argName: '<Integer: num_messages>', description: 'The maximum number of messages to consume before exiting. If not set, consumption is continual.' },
  { name: 'timeout-ms', kind: 'value', argName: '<Long: timeout_ms>', description: 'If specified, exit if no message is available for consumption for the specified interval.' },
  { name: 'property', kind: 'value', argName: '<prop>', description: 'Formatter properties: print.timestamp, print.key, print.value, print.partition, print.offset, print.headers, key.separator, line.separator, headers.separator, null.literal.' },
  { name: 'formatter-property', kind: 'value', argName: '<prop>', description: 'Same as --property.' },
  { name: 'consumer-property', kind: 'value', argName: '<consumer_prop>', description: 'Consumer properties: group.id, group.instance.id, auto.offset.reset, enable.auto.commit, auto.commit.interval.ms, session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms, isolation.level, fetch.max.bytes, max.partition.fetch.bytes, fetch.max.wait.ms, client.id.' },
  { name: 'command-property', kind: 'value', argName: '<consumer_prop>', description: 'Same as --consumer-property.' },
  { name: 'isolation-level', kind: 'value', argName: '<isolation level>', description: 'read_committed or read_uncommitted (default).' },
  { name: 'group', kind: 'value', argName: '<consumer group id>', description: 'The consumer group id of the consumer.' },
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
  group: GroupSettings | null;
}

interface GroupSettings {
  groupId: string;
  groupInstanceId: string | null;
  autoOffsetReset: 'earliest' | 'latest' | 'none';
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
}

/** What the loop below needs from either consumer. */
interface RecordSource {
  poll(maxWaitMs: number): Promise<FetchedRecord[]>;
  markConsumed(record: FetchedRecord): void;
  /** Ctrl-C: make a blocked poll return. */
  interrupt(): void;
  close(): Promise<void>;
}

/** Kafka's consumer rejects a missing group.id only when it needs one; these are its defaults otherwise. */
const SESSION_TIMEOUT_MS_DEFAULT = 45_000;
const HEARTBEAT_INTERVAL_MS_DEFAULT = 3_000;
const MAX_POLL_INTERVAL_MS_DEFAULT = 300_000;
const AUTO_COMMIT_INTERVAL_MS_DEFAULT = 5_000;

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
    if (err instanceof OffsetResetConflict) {
      printLine(io.stderr, err.message);
      return 1;
    }
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
  const consumer = recordSource(client, settings, (line) => printLine(io.stderr, line));
  let count = 0;
  let stopping = false;
  const stop = () => {
    stopping = true;
    consumer.interrupt();
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
        consumer.markConsumed(record);
        count++;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    // A group member commits what it printed and leaves the group before the connections close.
    await consumer.close().catch((err: Error) => printLine(io.stderr, `WARN Closing the consumer failed: ${err.message}`));
    client.close();
    printLine(io.stderr, `Processed a total of ${count} messages`);
  }
  return 0;
}

function recordSource(client: KafkaClient, settings: ConsumerSettings, warn: (line: string) => void): RecordSource {
  const fetch = {
    isolationLevel: settings.isolationLevel,
    fetchMaxBytes: settings.fetchMaxBytes,
    partitionMaxBytes: settings.partitionMaxBytes,
    requestTimeoutMs: 30_000,
  };
  if (settings.group !== null) {
    const member = new GroupConsumer(client, { ...fetch, ...settings.group, topic: settings.topic, clientId: settings.clientId, warn });
    return { poll: (ms) => member.poll(ms), markConsumed: (r) => member.markConsumed(r), interrupt: () => member.interrupt(), close: () => member.close() };
  }
  const direct = new TopicConsumer(client, { ...fetch, topic: settings.topic, partitions: settings.partitions, start: settings.start, resetTo: settings.resetTo });
  return { poll: (ms) => direct.poll(ms), markConsumed: () => undefined, interrupt: () => undefined, close: async () => undefined };
}

/** Kafka prints this conflict on its own line and exits 1, without the usage text. */
class OffsetResetConflict extends Error {}

function consumerSettings(args: ParsedArgs): ConsumerSettings {
  if (!args.has('topic')) throw new UsageError('Exactly one of whitelist/topic is required.');
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
    group: groupSettings(args, props, partition !== undefined, fromBeginning),
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

function groupSettings(args: ParsedArgs, props: Map<string, string>, hasPartition: boolean, fromBeginning: boolean): GroupSettings | null {
  const ids = new Set<string>();
  if (args.has('group')) ids.add(args.get('group')!);
  if (props.has('group.id')) ids.add(props.get('group.id')!);
  if (ids.size > 1) {
    throw new UsageError(
      "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. " +
        `Detected group ids: ${[...ids].map((g) => `'${g}'`).join(', ')}`,
    );
  }
  if (ids.size === 0) return null;
  if (hasPartition) throw new UsageError('Options group and partition cannot be specified together.');
  let reset = props.get('auto.offset.reset')?.trim();
  if (reset !== undefined && fromBeginning && reset !== 'earliest') {
    throw new OffsetResetConflict(`Can't simultaneously specify --from-beginning and 'auto.offset.reset=${reset}', please remove one option`);
  }
  reset ??= fromBeginning ? 'earliest' : 'latest';
  if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') {
    throw new UsageError(`Invalid value ${reset} for configuration auto.offset.reset: Invalid value \`${reset}\` for configuration auto.offset.reset. The value must be either 'earliest', 'latest', 'none' or of the format 'by_duration:<PnDTnHnMn.nS.>'.`);
  }
  const autoCommit = (props.get('enable.auto.commit') ?? 'true').trim().toLowerCase();
  if (autoCommit !== 'true' && autoCommit !== 'false') throw new UsageError(`Invalid value ${autoCommit} for configuration enable.auto.commit: Expected value to be either true or false`);
  const sessionTimeoutMs = intProperty(props, 'session.timeout.ms', SESSION_TIMEOUT_MS_DEFAULT);
  const heartbeatIntervalMs = intProperty(props, 'heartbeat.interval.ms', HEARTBEAT_INTERVAL_MS_DEFAULT);
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new UsageError('Heartbeat must be set lower than the session timeout');
  return {
    groupId: [...ids][0],
    groupInstanceId: props.get('group.instance.id') ?? null,
    autoOffsetReset: reset,
    autoCommit: autoCommit === 'true',
    autoCommitIntervalMs: intProperty(props, 'auto.commit.interval.ms', AUTO_COMMIT_INTERVAL_MS_DEFAULT),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: intProperty(props, 'max.poll.interval.ms', MAX_POLL_INTERVAL_MS_DEFAULT),
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
