// A process that cleans a compacted log and SIGKILLs itself at a chosen step:
//   node --import tsx test/support/cleaner-crash-child.ts <logDir> <point> <occurrence> <configJson>
// Opens the log dir with the LogManager (cleaner on, schedulers off), runs the
// cleaner until the `occurrence`-th time it reaches `point` (see
// CleanerCrashPoint), and dies there with SIGKILL: no close, no flush, no
// clean-shutdown marker. Prints `NOT REACHED` and exits 3 if the point never comes.
import { LogManager } from '../../src/storage/log-manager.js';
import { silentLogger } from '../../src/storage/log.js';
import type { CleanerCrashPoint } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';

const [logDir, point, occurrenceArg, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson) as LogConfig;
let hits = 0;
const manager = await LogManager.open({
  logDirs: [logDir],
  config,
  logger: silentLogger,
  schedule: false,
  cleaner: {
    enable: true,
    threads: 1,
    backoffMs: 10,
    dedupeBufferSize: 1024 * 1024,
    ioBufferSize: 8192,
    ioBufferLoadFactor: 0.9,
    crashPoint: (reached: CleanerCrashPoint) => {
      if (reached === point && ++hits === Number(occurrenceArg)) process.kill(process.pid, 'SIGKILL');
    },
  },
});
for (let round = 0; round < 20; round++) {
  if ((await manager.cleaner!.cleanOnce()) === null) break;
}
process.stdout.write('NOT REACHED\n');
process.exit(3);
