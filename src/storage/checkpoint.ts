// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint), byte-compatible with Kafka's
// CheckpointFile/OffsetCheckpointFile:
//
//   0                 <- version
//   2                 <- entry count
//   orders 0 1234     <- topic, partition, offset (space separated)
//   orders 1 77
//
// Written atomically: temp file, fsync, rename over the old one, fsync the
// directory, so a crash leaves either the old or the new file, never half of one.
import fs from 'node:fs';
import path from 'node:path';

export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
/** Kafka's marker of a clean shutdown in each log dir. */
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

const CHECKPOINT_VERSION = 0;
// A checkpoint lists every partition of a log dir; far above any real broker.
const CHECKPOINT_ENTRIES_MAX = 1_000_000;

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** "topic-partition" -> offset. */
export type OffsetCheckpoint = Map<string, number>;

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/**
 * writeFileAtomic with the writes and fsyncs on the libuv pool, so the event
 * loop is not held for the disk. The same crash guarantee: the file is the old
 * one or the whole new one.
 */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  await fsyncDirAsync(path.dirname(file));
}

export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeOffsetCheckpoint(file: string, entries: Iterable<[topic: string, partition: number, offset: number]>): void {
  const lines: string[] = [];
  for (const [topic, partition, offset] of entries) lines.push(`${topic} ${partition} ${offset}`);
  writeFileAtomic(file, `${CHECKPOINT_VERSION}\n${lines.length}\n${lines.map((l) => l + '\n').join('')}`);
}

/** Reads a checkpoint; a missing file is empty. A malformed one throws CheckpointError (Kafka fails the dir). */
export function readOffsetCheckpoint(file: string): OffsetCheckpoint {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const version = Number(lines[0]);
  if (lines.length < 2 || version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(file, `unrecognised version ${JSON.stringify(lines[0])}`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || count > CHECKPOINT_ENTRIES_MAX || count !== lines.length - 2) {
    throw new CheckpointError(file, `entry count ${JSON.stringify(lines[1])} does not match ${lines.length - 2} lines`);
  }
  const result: OffsetCheckpoint = new Map();
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i].split(' ');
    const partition = Number(parts[1]);
    const offset = Number(parts[2]);
    if (parts.length !== 3 || !Number.isInteger(partition) || partition < 0 || !Number.isSafeInteger(offset)) {
      throw new CheckpointError(file, `malformed line ${i + 1}: ${JSON.stringify(lines[i])}`);
    }
    result.set(topicPartitionKey(parts[0], partition), offset);
  }
  return result;
}
