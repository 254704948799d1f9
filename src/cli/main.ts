// The `samsa` command. Subcommands mirror Kafka's tools; today: dump-log.
import { dumpFiles } from './dump-log.js';
import { serverStart } from './server-start.js';

const USAGE = `Usage: samsa <command> [options]

Commands:
  server-start [server.properties] [--override name=value ...]
      Start a broker (default: 127.0.0.1:9092, data in ./data). Ctrl-C stops
      it gracefully.
  dump-log --files <file1,file2,...> [--print-data-log]
      Print the batches of .log segment files, the entries of .index /
      .timeindex files and the producers in .snapshot files, in the format
      of Kafka's kafka-dump-log.
`;

export function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    out(USAGE.trimEnd());
    return command === undefined ? 1 : 0;
  }
  if (command === 'server-start') {
    serverStart(rest).catch((err: Error) => {
      // Config errors name the property (ConfigError's message starts with it).
      process.stderr.write(`samsa: ${err.name === 'ConfigError' ? 'invalid configuration: ' : ''}${err.message}\n`);
      // A half-started broker may hold timers or sockets; nothing should outlive a failed start.
      process.exit(1);
    });
    return 0;
  }
  if (command === 'dump-log') {
    const filesAt = rest.indexOf('--files');
    if (filesAt < 0 || !rest[filesAt + 1]) {
      out('dump-log: --files is required');
      return 1;
    }
    const files = rest[filesAt + 1].split(',').filter((f) => f.length > 0);
    return dumpFiles({ files, printDataLog: rest.includes('--print-data-log'), out }) === 0 ? 0 : 1;
  }
  out(`samsa: unknown command ${JSON.stringify(command)}\n\n${USAGE.trimEnd()}`);
  return 1;
}
