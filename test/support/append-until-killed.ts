// Child process for the SIGKILL test: appends batches forever, flushing every
// few appends and printing "flushed <logEndOffset>" once each flush is durable.
// The parent kills it with SIGKILL at a random moment.
import { Log, silentLogger } from '../../src/storage/log.js';
import { buildRecordBatch } from '../../src/record/record-batch.js';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/log-config.js';

const [dir, impl, appendMode] = process.argv.slice(2) as [string, 'native' | 'js', 'mmap' | 'write'];
const log = Log.open({
  dir,
  topic: 't',
  partition: 0,
  config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 256 * 1024, segmentIndexBytes: 8192, indexIntervalBytes: 1024, appendMode },
  logger: silentLogger,
  impl,
  hadCleanShutdown: false,
});

let appends = 0;
async function loop(): Promise<void> {
  for (;;) {
    const next = log.logEndOffset;
    // Each record's value is its own offset, so the parent can check every byte it reads back.
    const records = Array.from({ length: 1 + (appends % 7) }, (_, i) => ({ key: null, value: `offset-${next + i}`.padEnd(200, '.') }));
    log.append(buildRecordBatch(records));
    appends++;
    if (appends % 25 === 0) {
      await log.flush();
      process.stdout.write(`flushed ${log.logEndOffset}\n`);
    }
    if (appends % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
void loop();
