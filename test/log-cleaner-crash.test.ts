// The cleaner SIGKILLed at each step of writing and swapping a cleaned
// segment (a child process kills itself there, see
// support/cleaner-crash-child.ts); the log is then reopened after the unclean
// stop and must read back with every key's latest value at its offset, no
// cleaner files left over, CRC-valid batches, and a log end that did not move.
// A clean after the restart finishes the job.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders, verifyBatchCrc } from '../src/record/record-batch.js';
import { CLEAN_SHUTDOWN_FILE } from '../src/storage/checkpoint.js';
import type { LogConfig } from '../src/storage/log-config.js';
import { LogManager } from '../src/storage/log-manager.js';
import { groupSegmentsBySize } from '../src/storage/log-cleaner.js';
import { silentLogger, type Log } from '../src/storage/log.js';
import { smallConfig, storageVariants, tempDir } from './support/storage.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'cleaner-crash-child.ts');
const variant = storageVariants().find((v) => v.impl === 'native' && v.appendMode === 'write') ?? storageVariants()[0];
const CONFIG: LogConfig = smallConfig(variant, { segmentBytes: 2048, indexIntervalBytes: 256, compact: true, delete: false });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(dir: string): Promise<LogManager> {
  const manager = await LogManager.open({
    logDirs: [dir],
    config: CONFIG,
    logger: silentLogger,
    impl: variant.impl,
    schedule: false,
    cleaner: { enable: true, threads: 1, backoffMs: 10, dedupeBufferSize: 1024 * 1024, ioBufferSize: 8192, ioBufferLoadFactor: 0.9 },
  });
  return manager;
}

/** Every record through Log.read, checking each batch's CRC; empty batches advance the offset like a client. */
function readAll(log: Log): Array<{ offset: number; key: string; value: string | null }> {
  const out: Array<{ offset: number; key: string; value: string | null }> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1024 * 1024);
    if (!result.records) break;
    const bytes = Buffer.alloc(result.records.length);
    fs.readSync(result.records.fd, bytes, 0, bytes.length, result.records.position);
    for (const { position, header } of iterateBatchHeaders(bytes)) {
      expect(verifyBatchCrc(bytes, position)).toBe(true);
      for (const r of decodeBatchRecords(bytes, position)) {
        if (r.offset >= offset) out.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
      }
      offset = header.lastOffset + 1;
    }
  }
  return out;
}

function latestByKey(records: Array<{ offset: number; key: string; value: string | null }>) {
  const out = new Map<string, { offset: number; value: string | null }>();
  for (const r of records) out.set(r.key, { offset: r.offset, value: r.value });
  return out;
}

function runChild(dir: string, point: string, occurrence: number): Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, point, String(occurrence), JSON.stringify(CONFIG)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('exit', (_code, signal) => resolve({ signal, stdout, stderr }));
  });
}

// Each rename of the three files (.log, .index, .timeindex) is one step; the
// first group is segments 0.., so occurrence 4 of 'renaming-to-swap' is the
// second group's first rename.
const POINTS: Array<[string, number]> = [
  ['cleaned-partly-written', 1],
  ['cleaned-written', 1],
  ['renaming-to-swap', 1],
  ['renaming-to-swap', 2],
  ['renaming-to-swap', 3],
  ['old-segments-deleted', 1],
  ['renaming-into-place', 1],
  ['renaming-into-place', 3],
  ['renaming-to-swap', 4],
];

describe('LogCleaner killed mid-clean (SIGKILL)', () => {
  it.each(POINTS)('at %s #%i: the log reopens readable with every latest value', async (point, occurrence) => {
    const dir = tempDir('samsa-cleaner-crash-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = await open(dir);
    const log = first.getOrCreateLog('c', 0);
    const writeRounds = (from: number, keys: number) => {
      for (let round = from; round < from + 40; round++) {
        log.append(buildRecordBatch(Array.from({ length: keys }, (_, k) => ({ key: `key-${k}`, value: `v${round}-${'x'.repeat(40)}` }))));
      }
    };
    // A first clean leaves small segments, so the clean that gets killed merges several into one,
    // and keys 5-9 are not written again, so that merged segment keeps records from several of
    // them: the swap then covers offsets of segments other than the one at its own base.
    writeRounds(0, 10);
    log.roll();
    while ((await first.cleaner!.cleanOnce()) !== null);
    writeRounds(40, 5);
    const segments = log.segmentsSnapshot();
    expect(groupSegmentsBySize(segments.slice(0, -1), CONFIG.segmentBytes, CONFIG.segmentIndexBytes, segments[segments.length - 1].baseOffset)[0].length).toBeGreaterThan(1);
    const expected = latestByKey(readAll(log));
    const endOffset = log.logEndOffset;
    await first.close();

    const { signal, stdout, stderr } = await runChild(dir, point, occurrence);
    expect(stdout + stderr).not.toContain('NOT REACHED');
    expect(signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);

    const second = await open(dir);
    cleanups.push(() => second.close());
    const reopened = second.getLog('c', 0)!;
    expect(fs.readdirSync(reopened.dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n))).toEqual([]);
    expect(reopened.logEndOffset).toBe(endOffset);
    expect(latestByKey(readAll(reopened))).toEqual(expected);
    // Offsets strictly increase, and no two segment files hold the same offsets (the swap replaced every segment it covers).
    const offsets = readAll(reopened).map((r) => r.offset);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThan(offsets[i - 1]);
    const files = fs.readdirSync(reopened.dir).filter((n) => n.endsWith('.log')).sort();
    let previousEnd = -1;
    for (const name of files) {
      const base = Number(name.slice(0, 20));
      expect(base).toBeGreaterThan(previousEnd);
      for (const { header } of iterateBatchHeaders(fs.readFileSync(path.join(reopened.dir, name)))) previousEnd = header.lastOffset;
    }

    // The next clean completes the job.
    while ((await second.cleaner!.cleanOnce()) !== null);
    const cleaned = readAll(reopened);
    expect(latestByKey(cleaned)).toEqual(expected);
    const below = cleaned.filter((r) => r.offset < reopened.activeSegment().baseOffset);
    expect(new Set(below.map((r) => r.key)).size).toBe(below.length);
  });
});
