// `samsa perf produce|consume|sink`: load tools in the shape of Kafka 4.0's
// kafka-producer-perf-test (ProducerPerformance) and
// kafka-consumer-perf-test (ConsumerPerformance): the same option names
// where they apply, the same progress and summary lines, plus --json and
// our own options (--duration, --partitions, --connections, --max-in-flight).
// The engines live in src/perf/ so harnesses can import them.
import fs from 'node:fs';
import { runConsumeLoad, type ConsumeResult, type ConsumeWindow } from '../perf/consume.js';
import { runProduceLoad, type ProduceResult, type ProduceWindow } from '../perf/produce.js';
import { startSink } from '../perf/sink.js';
import type { CompressionName } from '../record/record-batch.js';
import { keyValues, parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const PERF_USAGE = `Usage: samsa perf <produce|consume|sink> [options]

  produce   Producer load test (kafka-producer-perf-test).
  consume   Consumer load test (kafka-consumer-perf-test).
  sink      A Kafka-protocol server that acknowledges Produce and stores
            nothing, to measure the load generator alone.

Run a subcommand with --help for its options.`;

const PRODUCE_OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<host:port>', description: 'The server(s) to connect to (or bootstrap.servers in --producer-props).' },
  { name: 'topic', kind: 'value', argName: 'TOPIC', description: 'REQUIRED: produce messages to this topic (created with --partitions when missing).' },
  { name: 'num-records', kind: 'value', argName: 'NUM-RECORDS', description: 'number of messages to produce (required unless --duration is given)' },
  { name: 'duration', kind: 'value', argName: 'SECONDS', description: 'produce for this long (seconds, or e.g. 500ms); with --num-records, whichever ends first' },
  { name: 'record-size', kind: 'value', argName: 'RECORD-SIZE', description: 'REQUIRED: message size in bytes (values are random A-Z bytes, keys null)' },
  { name: 'throughput', kind: 'value', argName: 'THROUGHPUT', description: 'throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. Set this to -1 to disable throttling. (default: -1)' },
  { name: 'producer-props', kind: 'value', argName: 'PROP-NAME=PROP-VALUE', description: 'producer configs: acks, linger.ms, batch.size, compression.type, max.in.flight.requests.per.connection, max.request.size, request.timeout.ms, client.id, bootstrap.servers' },
  { name: 'producer.config', kind: 'value', argName: 'CONFIG-FILE', description: 'producer config properties file.' },
  { name: 'print-metrics', kind: 'flag', description: 'print out metrics at the end of the test.' },
  { name: 'partitions', kind: 'value', argName: 'N', description: 'partitions of the topic when it has to be created (default: the broker default)' },
  { name: 'replication-factor', kind: 'value', argName: 'N', description: 'replication factor when the topic has to be created (default: the broker default)' },
  { name: 'connections', kind: 'value', argName: 'N', description: 'TCP connections to use, spread over the partition leaders (default: 1)' },
  { name: 'max-in-flight', kind: 'value', argName: 'N', description: 'requests in flight per connection (default: max.in.flight.requests.per.connection, 5)' },
  { name: 'reporting-interval', kind: 'value', argName: 'MS', description: 'interval of the progress lines in milliseconds (default: 5000)' },
  { name: 'json', kind: 'flag', description: 'print the result as one JSON object (progress lines go to stderr)' },
  { name: 'help', kind: 'flag', description: 'show this help message and exit' },
];
const PRODUCE_SUMMARY = 'This tool is used to verify the producer performance. It talks the Kafka protocol only, so it works against Samsa or Kafka.';

const CONSUME_OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The server(s) to connect to.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'REQUIRED: The topic to consume from.' },
  { name: 'messages', kind: 'value', argName: '<Long: count>', description: 'REQUIRED (unless --duration): The number of messages to consume.' },
  { name: 'timeout', kind: 'value', argName: '<Long: milliseconds>', description: 'The maximum allowed time in milliseconds between returned records. (default: 10000)' },
  { name: 'group', kind: 'value', argName: '<gid>', description: 'The group id to consume on. Without it, every partition is read directly (no group, nothing committed).' },
  { name: 'fetch-size', kind: 'value', argName: '<Integer: size>', description: 'The amount of data to fetch in a single request, per partition (max.partition.fetch.bytes). (default: 1048576)' },
  { name: 'fetch-max-bytes', kind: 'value', argName: '<Integer: size>', description: 'The most data one Fetch response may hold (fetch.max.bytes). (default: 52428800)' },
  { name: 'from-latest', kind: 'flag', description: 'If the consumer does not already have an established offset to consume from, start with the latest message present in the log rather than the earliest message.' },
  { name: 'show-detailed-stats', kind: 'flag', description: 'If set, stats are reported for each reporting interval as configured by reporting-interval' },
  { name: 'reporting-interval', kind: 'value', argName: '<Long: interval_ms>', description: 'Interval in milliseconds at which to print progress info. (default: 5000)' },
  { name: 'hide-header', kind: 'flag', description: 'If set, skips printing the header for the stats' },
  { name: 'print-metrics', kind: 'flag', description: 'Print out the metrics.' },
  { name: 'duration', kind: 'value', argName: '<seconds>', description: 'Consume for this long (seconds, or e.g. 500ms).' },
  { name: 'connections', kind: 'value', argName: '<n>', description: 'Without --group: fetchers, each with its own connection and a share of the partitions. (default: 1)' },
  { name: 'json', kind: 'flag', description: 'Print the result as one JSON object.' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const CONSUME_SUMMARY = 'This tool is used to verify the consumer performance. It talks the Kafka protocol only, so it works against Samsa or Kafka.';

const SINK_OPTIONS: readonly OptionSpec[] = [
  { name: 'port', kind: 'value', argName: '<port>', description: 'REQUIRED: The port to listen on (0: any free port, printed).' },
  { name: 'host', kind: 'value', argName: '<host>', description: 'The address to listen on. (default: 127.0.0.1)' },
  { name: 'partitions', kind: 'value', argName: '<n>', description: 'Partitions of topics created on first Metadata. (default: 1)' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];
const SINK_SUMMARY = 'A Kafka-protocol sink: answers ApiVersions, Metadata, CreateTopics and Produce (always success) and stores nothing. Ctrl-C stops it.';

const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const KNOWN_PRODUCER_PROPS = new Set([
  'acks',
  'linger.ms',
  'batch.size',
  'compression.type',
  'max.in.flight.requests.per.connection',
  'max.request.size',
  'request.timeout.ms',
  'client.id',
  'bootstrap.servers',
  'enable.idempotence',
  'key.serializer',
  'value.serializer',
]);

export async function perfCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'produce') return produceCommand(rest, io);
  if (sub === 'consume') return consumeCommand(rest, io);
  if (sub === 'sink') return sinkCommand(rest, io);
  if (sub === '--help' || sub === '-h') {
    printLine(io.stdout, PERF_USAGE);
    return 0;
  }
  printLine(io.stderr, sub === undefined ? PERF_USAGE : `samsa perf: unknown subcommand ${JSON.stringify(sub)}\n\n${PERF_USAGE}`);
  return 1;
}

/** `--producer-props a=1 b=2` takes every following word up to the next option, as argparse4j's nargs("+"). */
function expandProducerProps(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--producer-props') {
      out.push(argv[i]);
      continue;
    }
    let taken = 0;
    while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      out.push('--producer-props', argv[++i]);
      taken++;
    }
    if (taken === 0) throw new UsageError('argument --producer-props: expected at least one argument');
  }
  return out;
}

function positiveInt(args: ParsedArgs, name: string, fallback: number | null, min = 1): number | null {
  const value = args.int(name);
  if (value === undefined) return fallback;
  if (value < min) throw new UsageError(`--${name} should be ${min === 1 ? 'greater than zero' : `at least ${min}`}`);
  return value;
}

/** Seconds (`30`, `2.5`) or a value with a unit (`500ms`, `10s`, `2m`). */
function durationMs(args: ParsedArgs, name: string): number | undefined {
  const raw = args.get(name);
  if (raw === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw);
  if (!m) throw new UsageError(`Cannot parse argument '${raw}' of option ${name}`);
  const value = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (!(value > 0)) throw new UsageError(`--${name} should be greater than zero`);
  return value;
}

interface ProduceSettings {
  bootstrap: string;
  topic: string;
  numRecords: number;
  durationMs: number | undefined;
  recordSize: number;
  throughput: number;
  acks: -1 | 0 | 1;
  lingerMs: number;
  batchSize: number;
  compression: CompressionName;
  maxInFlight: number;
  maxRequestSize: number;
  requestTimeoutMs: number;
  clientId: string;
  partitions: number | null;
  replicationFactor: number | null;
  connections: number;
  reportIntervalMs: number;
  warnings: string[];
}

function produceSettings(args: ParsedArgs): ProduceSettings {
  if (!args.has('topic')) throw new UsageError('argument --topic is required');
  if (!args.has('record-size')) throw new UsageError('argument --record-size is required');
  if (!args.has('num-records') && !args.has('duration')) throw new UsageError('argument --num-records is required (or --duration)');
  const props = new Map<string, string>();
  const file = args.get('producer.config');
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const line of text.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
      const at = trimmed.search(/[=:]/);
      if (at < 0) props.set(trimmed, '');
      else props.set(trimmed.slice(0, at).trim(), trimmed.slice(at + 1).trim());
    }
  }
  for (const pair of args.all('producer-props')) {
    // Kafka splits on '=' and wants exactly two pieces.
    if (pair.split('=').length !== 2) throw new UsageError(`Invalid property: ${pair}`);
  }
  for (const [k, v] of keyValues(args.all('producer-props'))) props.set(k, v);
  const warnings: string[] = [];
  for (const name of props.keys()) if (!KNOWN_PRODUCER_PROPS.has(name)) warnings.push(`WARN The configuration '${name}' was supplied but isn't a known config.`);
  const bootstrap = args.get('bootstrap-server') ?? props.get('bootstrap.servers');
  if (bootstrap === undefined) throw new UsageError('Missing required configuration "bootstrap.servers" which has no default value. (--bootstrap-server or --producer-props bootstrap.servers=host:port)');

  const numRecords = args.has('num-records') ? args.int('num-records')! : Infinity;
  if (!(numRecords > 0)) throw new UsageError('--num-records should be greater than zero');
  const recordSize = args.int('record-size')!;
  if (recordSize <= 0) throw new UsageError('--record-size should be greater than zero');
  const throughputRaw = args.get('throughput') ?? '-1';
  const throughput = Number(throughputRaw);
  if (throughputRaw.trim() === '' || !Number.isFinite(throughput)) throw new UsageError(`argument --throughput: could not convert '${throughputRaw}' to Double`);

  const acksRaw = (props.get('acks') ?? 'all').trim();
  const acks = acksRaw === 'all' || acksRaw === '-1' ? -1 : acksRaw === '0' ? 0 : acksRaw === '1' ? 1 : null;
  if (acks === null) throw new UsageError(`Invalid value ${acksRaw} for configuration acks: String must be one of: all, -1, 0, 1`);
  const compression = (props.get('compression.type') ?? 'none').trim().toLowerCase();
  if (!COMPRESSION_NAMES.includes(compression)) throw new UsageError(`Invalid value ${compression} for configuration compression.type: String must be one of: ${COMPRESSION_NAMES.join(', ')}`);
  if ((props.get('enable.idempotence') ?? '').trim().toLowerCase() === 'true') {
    warnings.push('WARN enable.idempotence=true is not used: samsa perf produce sends batches without a producer id (as Kafka does with enable.idempotence=false).');
  }
  return {
    bootstrap,
    topic: args.get('topic')!,
    numRecords,
    durationMs: durationMs(args, 'duration'),
    recordSize,
    throughput,
    acks,
    // Kafka 4.0's producer defaults (KIP-1030 made linger.ms 5).
    lingerMs: intProp(props, 'linger.ms', 5, 0),
    batchSize: intProp(props, 'batch.size', 16384, 1),
    compression: compression as CompressionName,
    maxInFlight: positiveInt(args, 'max-in-flight', intProp(props, 'max.in.flight.requests.per.connection', 5, 1))!,
    maxRequestSize: intProp(props, 'max.request.size', 1048576, 1),
    requestTimeoutMs: intProp(props, 'request.timeout.ms', 30000, 1),
    clientId: props.get('client.id') ?? 'perf-producer-client',
    partitions: positiveInt(args, 'partitions', null),
    replicationFactor: positiveInt(args, 'replication-factor', null),
    connections: positiveInt(args, 'connections', 1)!,
    reportIntervalMs: positiveInt(args, 'reporting-interval', 5000)!,
    warnings,
  };
}

function intProp(props: Map<string, string>, name: string, fallback: number, min: number): number {
  const raw = props.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isSafeInteger(value)) throw new UsageError(`Invalid value ${raw} for configuration ${name}: Not a number of type INT`);
  if (value < min) throw new UsageError(`Invalid value ${raw} for configuration ${name}: Value must be at least ${min}`);
  return value;
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'NaN');

/** Kafka's progress line: "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency." */
export function formatProduceWindow(w: ProduceWindow): string {
  return `${w.records} records sent, ${fixed(w.recordsPerSec, 1)} records/sec (${fixed(w.mbPerSec, 2)} MB/sec), ${fixed(w.avgLatencyMs, 1)} ms avg latency, ${fixed(w.maxLatencyMs, 1)} ms max latency.`;
}

/**
 * Kafka's summary: "%d records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency,
 * %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th." (percentiles in whole ms, truncated like Kafka's int latencies).
 */
export function formatProduceSummary(r: ProduceResult): string {
  const ms = (v: number) => String(Math.floor(v));
  return (
    `${r.records} records sent, ${fixed(r.recordsPerSec, 6)} records/sec (${fixed(r.mbPerSec, 2)} MB/sec), ` +
    `${fixed(r.avgLatencyMs, 2)} ms avg latency, ${fixed(r.maxLatencyMs, 2)} ms max latency, ` +
    `${ms(r.p50Ms)} ms 50th, ${ms(r.p95Ms)} ms 95th, ${ms(r.p99Ms)} ms 99th, ${ms(r.p999Ms)} ms 99.9th.`
  );
}

/** Kafka's ToolsUtils.printMetrics shape: "name : value" rows under a header. */
function formatMetrics(rows: Array<[string, number]>): string {
  const width = Math.max(...rows.map(([n]) => n.length), 'Metric Name'.length);
  return [`${'Metric Name'.padEnd(width)}   Value`, ...rows.map(([n, v]) => `${n.padEnd(width)} : ${v.toFixed(3)}`)].join('\n');
}

async function produceCommand(argv: string[], io: CliIo): Promise<number> {
  let settings: ProduceSettings;
  let json = false;
  let printMetrics = false;
  try {
    const args = parseArgs(expandProducerProps(argv), PRODUCE_OPTIONS);
    if (args.has('help') || argv.length === 0) {
      printLine(io.stdout, usage(PRODUCE_SUMMARY, PRODUCE_OPTIONS));
      return 0;
    }
    settings = produceSettings(args);
    json = args.has('json');
    printMetrics = args.has('print-metrics');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${usage(PRODUCE_SUMMARY, PRODUCE_OPTIONS)}\nproducer-performance: error: ${err.message}`);
    return 1;
  }
  for (const w of settings.warnings) printLine(io.stderr, w);
  const progressOut = json ? io.stderr : io.stdout;
  let errorsPrinted = 0;
  const result = await runProduceLoad({
    bootstrapServers: settings.bootstrap,
    topic: settings.topic,
    numRecords: settings.numRecords,
    durationMs: settings.durationMs,
    recordSize: settings.recordSize,
    throughput: settings.throughput,
    acks: settings.acks,
    batchSize: settings.batchSize,
    lingerMs: settings.lingerMs,
    compression: settings.compression,
    partitions: settings.partitions,
    replicationFactor: settings.replicationFactor,
    connections: settings.connections,
    maxInFlight: settings.maxInFlight,
    maxRequestSize: settings.maxRequestSize,
    requestTimeoutMs: settings.requestTimeoutMs,
    clientId: settings.clientId,
    connectTimeoutMs: connectTimeoutMs(),
    reportIntervalMs: settings.reportIntervalMs,
    onProgress: (w) => printLine(progressOut, formatProduceWindow(w)),
    onError: (message) => {
      // A broker rejecting every batch must not flood the terminal.
      if (errorsPrinted++ < 10) printLine(io.stderr, `ERROR ${message}`);
    },
  });
  if (json) {
    printLine(io.stdout, JSON.stringify({ ...result, compression: settings.compression, acks: settings.acks, recordSize: settings.recordSize, batchSize: settings.batchSize, lingerMs: settings.lingerMs, throughputCap: settings.throughput, maxInFlight: settings.maxInFlight }));
  } else {
    printLine(io.stdout, formatProduceSummary(result));
  }
  if (printMetrics) {
    const tag = `{client-id=${settings.clientId}}`;
    printLine(
      io.stdout,
      formatMetrics([
        [`producer-metrics:record-send-rate:${tag}`, result.recordsPerSec],
        [`producer-metrics:record-error-total:${tag}`, result.failed],
        [`producer-metrics:request-total:${tag}`, result.requests],
        [`producer-metrics:outgoing-byte-total:${tag}`, result.wireBytes],
        [`producer-metrics:records-per-request-avg:${tag}`, result.requests > 0 ? (result.records + result.failed) / result.requests : 0],
        [`producer-metrics:batch-size-avg:${tag}`, result.requests > 0 ? result.wireBytes / result.requests / result.batchesPerRequest : 0],
        [`producer-metrics:request-latency-avg:${tag}`, result.avgLatencyMs],
        [`producer-metrics:request-latency-max:${tag}`, result.maxLatencyMs],
        [`process-metrics:cpu-ms-per-gib:${tag}`, result.cpuMsPerGiB],
      ]),
    );
  }
  if (result.failed > 0) {
    printLine(io.stderr, `ERROR ${result.failed} records failed.`);
    return 1;
  }
  return 0;
}

/** Kafka's default --date-format, yyyy-MM-dd HH:mm:ss:SSS, in local time. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const p = (v: number, n = 2) => String(v).padStart(n, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

const CONSUME_HEADER_TAIL = ', rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';

export function formatConsumeSummary(r: ConsumeResult): string {
  return [
    formatDate(r.startMs),
    formatDate(r.endMs),
    r.mb.toFixed(4),
    fixed(r.mbPerSec, 4),
    String(r.records),
    fixed(r.recordsPerSec, 4),
    String(r.rebalanceTimeMs),
    String(r.fetchTimeMs),
    fixed(r.fetchMbPerSec, 4),
    fixed(r.fetchRecordsPerSec, 4),
  ].join(', ');
}

function formatConsumeWindow(w: ConsumeWindow): string {
  return [
    formatDate(w.endMs),
    '0',
    (w.bytes / (1024 * 1024)).toFixed(4),
    fixed(w.mbPerSec, 4),
    String(w.records),
    fixed(w.recordsPerSec, 4),
    String(w.rebalanceTimeMs),
    String(w.fetchTimeMs),
    fixed(w.fetchMbPerSec, 4),
    fixed(w.fetchRecordsPerSec, 4),
  ].join(', ');
}

async function consumeCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  let messages: number;
  let duration: number | undefined;
  try {
    args = parseArgs(argv, CONSUME_OPTIONS);
    if (args.has('help')) {
      printLine(io.stdout, usage(CONSUME_SUMMARY, CONSUME_OPTIONS));
      return 0;
    }
    if (!args.has('bootstrap-server')) throw new UsageError('Missing required argument "[bootstrap-server]"');
    if (!args.has('messages') && !args.has('duration')) throw new UsageError('Missing required argument "[messages]"');
    if (!args.has('topic')) throw new UsageError('Exactly one of the following arguments is required: [topic]');
    messages = args.has('messages') ? args.int('messages')! : Infinity;
    if (!(messages > 0)) throw new UsageError('--messages should be greater than zero');
    duration = durationMs(args, 'duration');
    if (args.has('reporting-interval') && !/^\d+$/.test(args.get('reporting-interval')!)) {
      throw new UsageError(`Value [${args.get('reporting-interval')}] did not match pattern [^\\d+$]`);
    }
    if (args.int('reporting-interval') === 0) throw new UsageError('Reporting interval must be greater than 0.');
    positiveInt(args, 'fetch-size', null);
    positiveInt(args, 'fetch-max-bytes', null);
    positiveInt(args, 'connections', null);
    positiveInt(args, 'timeout', null, 0);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(CONSUME_SUMMARY, CONSUME_OPTIONS)}`);
    return 1;
  }
  const json = args.has('json');
  const detailed = args.has('show-detailed-stats');
  if (!json && !args.has('hide-header')) {
    printLine(io.stdout, detailed ? `time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec${CONSUME_HEADER_TAIL}` : `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec${CONSUME_HEADER_TAIL}`);
  }
  const timeoutMs = args.int('timeout') ?? 10_000;
  const result = await runConsumeLoad({
    bootstrapServers: args.get('bootstrap-server')!,
    topic: args.get('topic')!,
    messages,
    timeoutMs,
    durationMs: duration,
    group: args.get('group') ?? null,
    fromLatest: args.has('from-latest'),
    fetchSize: args.int('fetch-size') ?? 1024 * 1024,
    fetchMaxBytes: args.int('fetch-max-bytes') ?? 50 * 1024 * 1024,
    connections: args.int('connections') ?? 1,
    clientId: 'perf-consumer-client',
    connectTimeoutMs: connectTimeoutMs(),
    reportIntervalMs: args.int('reporting-interval') ?? 5000,
    onProgress: detailed ? (w) => printLine(json ? io.stderr : io.stdout, formatConsumeWindow(w)) : undefined,
    warn: (line) => printLine(io.stderr, line),
  });
  if (result.timedOut && result.records < messages) {
    printLine(io.stdout, `WARNING: Exiting before consuming the expected number of messages: timeout (${timeoutMs} ms) exceeded. You can use the --timeout option to increase the timeout.`);
  }
  if (json) printLine(io.stdout, JSON.stringify(result));
  else if (!detailed) printLine(io.stdout, formatConsumeSummary(result));
  if (args.has('print-metrics')) {
    const tag = '{client-id=perf-consumer-client}';
    printLine(
      io.stdout,
      formatMetrics([
        [`consumer-fetch-manager-metrics:records-consumed-total:${tag}`, result.records],
        [`consumer-fetch-manager-metrics:bytes-consumed-total:${tag}`, result.bytes],
        [`consumer-fetch-manager-metrics:batches-consumed-total:${tag}`, result.batches],
        [`process-metrics:cpu-ms-per-gib:${tag}`, result.cpuMsPerGiB],
      ]),
    );
  }
  return 0;
}

async function sinkCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, SINK_OPTIONS);
    if (args.has('help')) {
      printLine(io.stdout, usage(SINK_SUMMARY, SINK_OPTIONS));
      return 0;
    }
    if (!args.has('port')) throw new UsageError('Missing required argument "[port]"');
    const port = args.int('port')!;
    if (port < 0 || port > 65535) throw new UsageError(`Invalid port ${port}`);
    positiveInt(args, 'partitions', null);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(SINK_SUMMARY, SINK_OPTIONS)}`);
    return 1;
  }
  const host = args.get('host') ?? '127.0.0.1';
  const sink = await startSink({ host, port: args.int('port')!, defaultPartitions: args.int('partitions') ?? 1 });
  printLine(io.stdout, `Sink listening on ${host}:${sink.port}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sink.close();
  printLine(io.stdout, `Sink stopped: ${sink.stats.produceRequests} produce requests, ${sink.stats.records} records, ${sink.stats.bytes} record bytes discarded.`);
  return 0;
}
