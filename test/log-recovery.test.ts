import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatchRecords, iterateBatchHeaders } from '../src/record/record-batch.js';
import { StorageError, StorageErrorCode } from '../src/storage/errors.js';
import { Log, silentLogger } from '../src/storage/log.js';
import type { LogConfig } from '../src/storage/log-config.js';
import { batch, smallConfig, storageVariants, tempDir, type StorageVariant } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 't-0');
}

function open(variant: StorageVariant, dir: string, clean: boolean, overrides: Partial<LogConfig> = {}, warnings: string[] = []) {
  const log = Log.open({
    dir,
    topic: 't',
    partition: 0,
    config: smallConfig(variant, overrides),
    logger: { info: () => {}, warn: (m) => warnings.push(m) },
    impl: variant.impl,
    hadCleanShutdown: clean,
    recoveryPoint: 0,
  });
  cleanups.push(() => log.close({ flush: false }));
  return log;
}

const segmentPath = (dir: string, base: number) => path.join(dir, `${String(base).padStart(20, '0')}.log`);

/** Writes `count` 3-record batches, closes cleanly, returns the batch boundaries of the active segment. */
async function writeLog(variant: StorageVariant, dir: string, count: number, overrides: Partial<LogConfig> = {}) {
  const log = Log.open({ dir, topic: 't', partition: 0, config: smallConfig(variant, overrides), logger: silentLogger, impl: variant.impl });
  for (let i = 0; i < count; i++) log.append(batch(`v${i}`, 3, { valueBytes: 30 }));
  const bases = log.segmentBaseOffsets();
  await log.close();
  const file = segmentPath(dir, bases[bases.length - 1]);
  const bytes = fs.readFileSync(file);
  const batches = [...iterateBatchHeaders(bytes)].map(({ position, header }) => ({ position, header }));
  return { bases, file, bytes, batches };
}

function allOffsets(log: Log): number[] {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    if (!r.records) break;
    const bytes = Buffer.alloc(r.records.length);
    fs.readSync(r.records.fd, bytes, 0, bytes.length, r.records.position);
    for (const { position, header } of iterateBatchHeaders(bytes)) {
      for (const rec of decodeBatchRecords(bytes, position)) out.push(rec.offset);
      offset = header.lastOffset + 1;
    }
  }
  return out;
}

describe.each(storageVariants())('Log recovery ($name)', (variant) => {
  it('cuts a zero-filled tail without losing a batch', async () => {
    const dir = newDir();
    const { file, bytes } = await writeLog(variant, dir, 10);
    fs.appendFileSync(file, Buffer.alloc(8192));
    const log = open(variant, dir, false);
    expect(log.logEndOffset).toBe(30);
    expect(allOffsets(log)).toHaveLength(30);
    await log.close();
    expect(fs.statSync(file).size).toBe(bytes.length);
  });

  it('cuts a half-written last batch at its start', async () => {
    const dir = newDir();
    const { file, batches } = await writeLog(variant, dir, 10);
    const last = batches[batches.length - 1];
    fs.truncateSync(file, last.position + Math.floor(last.header.sizeInBytes / 2));
    const warnings: string[] = [];
    const log = open(variant, dir, false, {}, warnings);
    expect(log.logEndOffset).toBe(27);
    expect(log.activeSegment().size).toBe(last.position);
    expect(warnings.join('\n')).toMatch(/truncated/);
  });

  it('cuts the last batch when one of its bits flipped (CRC mismatch)', async () => {
    const dir = newDir();
    const { file, bytes, batches } = await writeLog(variant, dir, 10);
    const last = batches[batches.length - 1];
    const corrupted = Buffer.from(bytes);
    corrupted[last.position + last.header.sizeInBytes - 3] ^= 0x04;
    fs.writeFileSync(file, corrupted);
    const log = open(variant, dir, false);
    expect(log.logEndOffset).toBe(27);
    expect(allOffsets(log)).toEqual(Array.from({ length: 27 }, (_, i) => i));
  });

  it('cuts at a batch whose length points past the end of the file', async () => {
    const dir = newDir();
    const { file, bytes, batches } = await writeLog(variant, dir, 10);
    const victim = batches[7];
    const corrupted = Buffer.from(bytes);
    corrupted.writeInt32BE(0x7fff0000, victim.position + 8);
    fs.writeFileSync(file, corrupted);
    const log = open(variant, dir, false);
    expect(log.logEndOffset).toBe(21);
    expect(log.activeSegment().size).toBe(victim.position);
  });

  it('deletes the segments after a corrupt one', async () => {
    const dir = newDir();
    const { bases } = await writeLog(variant, dir, 60, { segmentBytes: 2048 });
    expect(bases.length).toBeGreaterThan(3);
    const victimBase = bases[1];
    const victim = segmentPath(dir, victimBase);
    const bytes = fs.readFileSync(victim);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(victim, bytes);
    const log = open(variant, dir, false, { segmentBytes: 2048 });
    expect(log.segmentBaseOffsets()).toEqual([bases[0], bases[1]]);
    expect(log.logEndOffset).toBe(bases[2] - 3);
    for (const later of bases.slice(2)) expect(fs.existsSync(segmentPath(dir, later))).toBe(false);
    // The recovered segment is the active one again and takes appends.
    expect(log.append(batch('new', 1)).firstOffset).toBe(bases[2] - 3);
  });

  it('fails a read that meets a corrupt header with KAFKA_STORAGE_ERROR instead of serving it', async () => {
    const dir = newDir();
    const { bases } = await writeLog(variant, dir, 60, { segmentBytes: 2048 });
    const victim = segmentPath(dir, bases[0]);
    const bytes = fs.readFileSync(victim);
    const batches = [...iterateBatchHeaders(bytes)];
    // Damage the length of the third batch of the first (old, flushed) segment.
    bytes.writeInt32BE(5, batches[2].position + 8);
    fs.writeFileSync(victim, bytes);
    // A clean shutdown means no recovery scan: the damage is found by the read path.
    const warnings: string[] = [];
    const log = open(variant, dir, true, { segmentBytes: 2048 }, warnings);
    expect(log.read(0, 1).records!.length).toBe(batches[0].header.sizeInBytes);
    const err = (() => {
      try {
        log.read(batches[2].header.baseOffset + 1, 1 << 20);
      } catch (e) {
        return e as StorageError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(StorageError);
    expect(err!.kafkaCode).toBe(StorageErrorCode.KAFKA_STORAGE_ERROR);
    expect(warnings.join('\n')).toMatch(/read at offset/);
    // Other segments still serve.
    expect(log.read(bases[1], 1 << 20).records).not.toBeNull();
  });

  it('rebuilds deleted index files after a clean shutdown', async () => {
    const dir = newDir();
    await writeLog(variant, dir, 80, { segmentBytes: 8192 });
    const indexes = fs.readdirSync(dir).filter((f) => f.endsWith('.index') || f.endsWith('.timeindex'));
    expect(indexes.length).toBeGreaterThan(2);
    for (const f of indexes) fs.rmSync(path.join(dir, f));
    const warnings: string[] = [];
    const log = open(variant, dir, true, { segmentBytes: 8192 }, warnings);
    expect(warnings.join('\n')).toMatch(/missing/);
    expect(log.logEndOffset).toBe(240);
    expect(allOffsets(log)).toHaveLength(240);
    expect(log.read(200, 100).firstBatchBaseOffset).toBe(198);
    await log.close();
    for (const f of indexes) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    // Index entries were rebuilt (index.interval.bytes is 512 in these tests).
    const someIndex = indexes.find((f) => f.endsWith('.index'))!;
    expect(fs.statSync(path.join(dir, someIndex)).size).toBeGreaterThan(0);
  });

  it('after SIGKILL during appends, ends on a batch boundary with every flushed batch present', async () => {
    const dir = newDir();
    const script = fileURLToPath(new URL('./support/append-until-killed.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, variant.impl, variant.appendMode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let flushedOffset = 0;
    let flushes = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      let pending = '';
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const m = /^flushed (\d+)$/.exec(line);
          if (m) {
            flushedOffset = Number(m[1]);
            flushes++;
          }
        }
        // Kill between flushes, while appends are still streaming.
        if (flushes >= 12) {
          setTimeout(() => child.kill('SIGKILL'), 3);
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    expect(flushes).toBeGreaterThanOrEqual(12);
    const log = open(variant, dir, false, { segmentBytes: 256 * 1024, segmentIndexBytes: 8192, indexIntervalBytes: 1024 });
    expect(log.logEndOffset).toBeGreaterThanOrEqual(flushedOffset);
    // Every record reads back with the value that names its offset, with no gap.
    let expected = 0;
    let offset = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 1 << 20)!;
      const bytes = Buffer.alloc(r.records!.length);
      fs.readSync(r.records!.fd, bytes, 0, bytes.length, r.records!.position);
      for (const { position, header } of iterateBatchHeaders(bytes)) {
        for (const rec of decodeBatchRecords(bytes, position)) {
          expect(rec.offset).toBe(expected);
          expect(rec.value!.toString().replace(/\.+$/, '')).toBe(`offset-${expected}`);
          expected++;
        }
        offset = header.lastOffset + 1;
      }
    }
    expect(expected).toBe(log.logEndOffset);
    // The active segment ends exactly after its last batch.
    const active = log.activeSegment();
    const bytes = fs.readFileSync(active.logPath).subarray(0, active.size);
    let end = 0;
    for (const { position, header } of iterateBatchHeaders(bytes)) end = position + header.sizeInBytes;
    expect(end).toBe(active.size);
  }, 60_000);
});
