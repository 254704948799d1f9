// The `samsa` command. Subcommands mirror Kafka's tools and talk the Kafka
// protocol (src/client/), so they work against any Kafka broker too.
import { ConnectionError } from '../client/errors.js';
import { brokerApiVersionsCommand } from './broker-api-versions.js';
import { clusterCommand } from './cluster.js';
import { consoleConsumerCommand } from './console-consumer.js';
import { consoleProducerCommand } from './console-producer.js';
import { consumerGroupsCommand } from './consumer-groups.js';
import { dumpFiles } from './dump-log.js';
import { processIo, printLine, type CliIo } from './io.js';
import { perfCommand } from './perf.js';
import { serverStart } from './server-start.js';
import { topicsCommand } from './topics.js';

const USAGE = `Usage: samsa <command> [options]

Commands:
  server-start [server.properties] [--override name=value ...]
      Start a broker (default: 127.0.0.1:9092, data in ./data). Ctrl-C stops
      it gracefully.
  topics --bootstrap-server H:P --create|--list|--describe|--alter|--delete
         [--topic T] [--partitions N] [--replication-factor R] [--config k=v ...]
         [--if-exists] [--if-not-exists]
      Create, list, describe, grow or delete topics (kafka-topics).
  console-producer --bootstrap-server H:P --topic T [--property parse.key=true]
         [--property key.separator=:] [--producer-property acks=all|1|0]
         [--compression-codec gzip|snappy|lz4|zstd] [--batch-size BYTES]
      Send stdin lines as records (kafka-console-producer).
  console-consumer --bootstrap-server H:P --topic T [--from-beginning]
         [--group G | --partition N [--offset earliest|latest|N]]
         [--max-messages N] [--timeout-ms N] [--property print.key=true ...]
         [--consumer-property auto.offset.reset=earliest ...]
      Print records (kafka-console-consumer). With --group it joins the
      consumer group, reads the partitions assigned to it from the group's
      committed offsets and commits what it printed; without, it reads all
      partitions (or --partition) directly.
  consumer-groups --bootstrap-server H:P --list [--state [S,...]]
         | --describe --group G|--all-groups [--members [--verbose]|--state]
         | --reset-offsets --group G --topic T[:P,...]|--all-topics
             --to-earliest|--to-latest|--to-offset N|--shift-by N|--to-current
             |--to-datetime T|--by-duration D [--dry-run|--execute]
         | --delete --group G | --delete-offsets --group G --topic T
      List, describe, reset or delete consumer groups (kafka-consumer-groups).
  broker-api-versions --bootstrap-server H:P
      Print the API versions of every broker (kafka-broker-api-versions).
  cluster --bootstrap-server H:P
      List the brokers (id, endpoint, rack), the controller, and the
      under-replicated and offline partitions of a cluster.
  perf produce --topic T --num-records N|--duration S --record-size B
         [--bootstrap-server H:P] [--throughput R] [--producer-props acks=1
         linger.ms=5 batch.size=16384 compression.type=lz4 ...] [--partitions N]
         [--connections N] [--max-in-flight N] [--json] [--print-metrics]
      Producer load test (kafka-producer-perf-test): progress every 5 s and
      Kafka's summary line with latency percentiles.
  perf consume --bootstrap-server H:P --topic T --messages N|--duration S
         [--group G] [--from-latest] [--timeout MS] [--fetch-size B]
         [--connections N] [--show-detailed-stats] [--json]
      Consumer load test (kafka-consumer-perf-test); counts records from
      batch headers without decoding them.
  perf sink --port N
      A Kafka-protocol server that acknowledges Produce and stores nothing,
      to measure the load generator alone.
  dump-log --files <file1,file2,...> [--print-data-log] [--offsets-decoder]
      Print the batches of .log segment files, the entries of .index /
      .timeindex files and the producers in .snapshot files, in the format
      of Kafka's kafka-dump-log; --offsets-decoder decodes the records of
      __consumer_offsets.

Run a command with --help for its options. SAMSA_CONNECT_TIMEOUT_MS bounds
connecting to a broker (default 10000).
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  topics: topicsCommand,
  'console-producer': consoleProducerCommand,
  'console-consumer': consoleConsumerCommand,
  'consumer-groups': consumerGroupsCommand,
  'broker-api-versions': brokerApiVersionsCommand,
  cluster: clusterCommand,
  perf: perfCommand,
};

/** Runs one command; resolves with the process exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    printLine(command === undefined ? io.stderr : io.stdout, USAGE.trimEnd());
    return command === undefined ? 1 : 0;
  }
  if (command === 'server-start') {
    try {
      await serverStart(rest);
      return 0;
    } catch (err) {
      const e = err as Error;
      // Config errors name the property (ConfigError's message starts with it).
      printLine(io.stderr, `samsa: ${e.name === 'ConfigError' ? 'invalid configuration: ' : ''}${e.message}`);
      // A half-started broker may hold timers or sockets; nothing should outlive a failed start.
      process.exit(1);
    }
  }
  if (command === 'dump-log') {
    const out = (line: string) => printLine(io.stdout, line);
    const filesAt = rest.indexOf('--files');
    if (filesAt < 0 || !rest[filesAt + 1]) {
      printLine(io.stderr, 'dump-log: --files is required');
      return 1;
    }
    const files = rest[filesAt + 1].split(',').filter((f) => f.length > 0);
    return dumpFiles({ files, printDataLog: rest.includes('--print-data-log'), offsetsDecoder: rest.includes('--offsets-decoder'), out }) === 0 ? 0 : 1;
  }
  const run = COMMANDS[command];
  if (!run) {
    printLine(io.stderr, `samsa: unknown command ${JSON.stringify(command)}\n\n${USAGE.trimEnd()}`);
    return 1;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    // Unreachable brokers, bad bootstrap lists and broker errors end the command with one line, not a stack.
    if (err instanceof ConnectionError || err instanceof Error) {
      printLine(io.stderr, `Error: ${err.message}`);
      if (process.env.SAMSA_DEBUG && !(err instanceof ConnectionError)) printLine(io.stderr, String(err.stack));
      return 1;
    }
    throw err;
  }
}
