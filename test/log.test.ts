import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatchRecords, iterateBatchHeaders } from '../src/record/record-batch.js';
import { ManualClock } from '../src/storage/clock.js';
import { OffsetOutOfRangeError, StorageError, StorageErrorCode } from '../src/storage/errors.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, Log, MAX_TIMESTAMP, silentLogger } from '../src/storage/log.js';
import type { LogConfig } from '../src/storage/log-config.js';
import { batch, smallConfig, storageVariants, tempDir, type StorageVariant } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function openLog(variant: StorageVariant, dir: string, overrides: Partial<LogConfig> = {}, extra: Partial<Parameters<typeof Log.open>[0]> = {}) {
  const log = Log.open({
    dir,
    topic: 't',
    partition: 0,
    config: smallConfig(variant, overrides),
    logger: silentLogger,
    impl: variant.impl,
    hadCleanShutdown: true,
    ...extra,
  });
  cleanups.push(() => log.close({ flush: false }));
  return log;
}

function newDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 't-0');
}

/** Reads every record from fetchOffset to the end through Log.read and the fd it returns. */
function readAll(log: Log, fetchOffset = log.logStartOffset): Array<{ offset: number; value: string }> {
  const out: Array<{ offset: number; value: string }> = [];
  let offset = fetchOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1024 * 1024);
    if (!result.records) break;
    const bytes = Buffer.alloc(result.records.length);
    fs.readSync(result.records.fd, bytes, 0, bytes.length, result.records.position);
    let next = offset;
    for (const { position, header } of iterateBatchHeaders(bytes)) {
      for (const r of decodeBatchRecords(bytes, position)) {
        if (r.offset >= offset) out.push({ offset: r.offset, value: r.value!.toString() });
      }
      next = header.lastOffset + 1;
    }
    offset = next;
  }
  return out;
}

describe.each(storageVariants())('Log ($name)', (variant) => {
  it('assigns consecutive offsets across appends and reads them back', () => {
    const log = openLog(variant, newDir());
    const a = log.append(batch('a', 3));
    const b = log.append(Buffer.concat([batch('b', 2), batch('c', 4)]));
    expect([a.firstOffset, a.lastOffset, a.batchCount]).toEqual([0, 2, 1]);
    expect([b.firstOffset, b.lastOffset, b.batchCount]).toEqual([3, 8, 2]);
    expect(log.logEndOffset).toBe(9);
    const values = readAll(log).map((r) => `${r.offset}:${r.value}`);
    expect(values).toEqual(['0:a/0', '1:a/1', '2:a/2', '3:b/0', '4:b/1', '5:c/0', '6:c/1', '7:c/2', '8:c/3']);
  });

  it('reads start at the batch containing the fetch offset and end on a batch boundary', () => {
    const log = openLog(variant, newDir());
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const b = batch(`b${i}`, 5, { valueBytes: 100 });
      sizes.push(b.length);
      log.append(b);
    }
    const r = log.read(12, sizes[0] * 2 + 10);
    expect(r.firstBatchBaseOffset).toBe(10);
    expect(r.records!.length).toBe(sizes[2] + sizes[3]);
    // A maxBytes below one batch still returns that whole batch (minOneMessage).
    expect(log.read(12, 1).records!.length).toBe(sizes[2]);
    expect(log.read(12, 1, { minOneMessage: false }).records).toBeNull();
    // The high watermark caps the read.
    expect(log.read(12, 1_000_000, { maxOffset: 20 }).records!.length).toBe(sizes[2] + sizes[3]);
    expect(log.read(50, 100).records).toBeNull();
    expect(() => log.read(51, 100)).toThrow(OffsetOutOfRangeError);
  });

  it('rejects a corrupt batch with CORRUPT_MESSAGE and an oversized one with MESSAGE_TOO_LARGE, appending nothing', () => {
    const log = openLog(variant, newDir(), { maxMessageBytes: 2000 });
    const good = batch('g', 2);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    const err1 = catchError(() => log.append(Buffer.concat([good, bad])));
    expect(err1).toBeInstanceOf(StorageError);
    expect((err1 as StorageError).kafkaCode).toBe(StorageErrorCode.CORRUPT_MESSAGE);
    const err2 = catchError(() => log.append(batch('big', 1, { valueBytes: 5000 })));
    expect((err2 as StorageError).kafkaCode).toBe(StorageErrorCode.MESSAGE_TOO_LARGE);
    expect(log.logEndOffset).toBe(0);
    log.append(good);
    expect(readAll(log).map((r) => r.value)).toEqual(['g/0', 'g/1']);
  });

  it('rolls segments by size, keeping every record readable', () => {
    const log = openLog(variant, newDir(), { segmentBytes: 4096 });
    for (let i = 0; i < 40; i++) log.append(batch(`s${i}`, 4, { valueBytes: 50 }));
    expect(log.segmentCount).toBeGreaterThan(3);
    const bases = log.segmentBaseOffsets();
    for (let i = 1; i < bases.length; i++) expect(bases[i]).toBeGreaterThan(bases[i - 1]);
    const files = fs.readdirSync(log.dir).filter((f) => f.endsWith('.log'));
    expect(files).toEqual(bases.map((b) => `${String(b).padStart(20, '0')}.log`));
    // Rolled segments are trimmed to their data.
    for (const base of bases.slice(0, -1)) {
      expect(fs.statSync(path.join(log.dir, `${String(base).padStart(20, '0')}.log`)).size).toBeLessThanOrEqual(4096);
    }
    expect(readAll(log)).toHaveLength(160);
    expect(readAll(log, 77)[0].offset).toBe(77);
  });

  it('rolls by segment.ms measured from the first batch timestamp', () => {
    const clock = new ManualClock(1_000_000);
    const log = openLog(variant, newDir(), { segmentMs: 60_000 }, { clock });
    log.append(batch('a', 1, { baseTimestamp: 1_000_000 }));
    log.append(batch('b', 1, { baseTimestamp: 1_030_000 }));
    expect(log.segmentCount).toBe(1);
    log.append(batch('c', 1, { baseTimestamp: 1_070_000 }));
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
  });

  it('deletes old segments by retention.bytes and retention.ms but never the active one', () => {
    const clock = new ManualClock(10_000_000);
    const log = openLog(variant, newDir(), { segmentBytes: 2048, retentionBytes: 4096, retentionMs: -1 }, { clock });
    for (let i = 0; i < 30; i++) log.append(batch(`r${i}`, 2, { valueBytes: 100, baseTimestamp: 10_000_000 + i }));
    const before = log.segmentCount;
    const deleted = log.deleteOldSegments();
    expect(deleted).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(before - deleted);
    expect(log.size).toBeLessThanOrEqual(4096 + 2048);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    expect(readAll(log)[0].offset).toBe(log.logStartOffset);
    expect(() => log.read(0, 100)).toThrow(OffsetOutOfRangeError);

    log.updateConfig({ ...log.currentConfig, retentionBytes: -1, retentionMs: 1000 });
    clock.advance(5000);
    log.deleteOldSegments();
    // Everything expired: the log rolled, so the only segment left is a new, empty active one.
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(log.logEndOffset);
    expect(log.activeSegment().size).toBe(0);
    // Deleted files are gone from the directory (file.delete.delay.ms = 0 here, after a tick).
    return new Promise<void>((resolve) => setTimeout(resolve, 20)).then(() => {
      const remaining = fs.readdirSync(log.dir).filter((f) => f.endsWith('.log') || f.endsWith('.deleted'));
      expect(remaining).toEqual([`${String(log.logEndOffset).padStart(20, '0')}.log`]);
    });
  });

  it('finds offsets by timestamp: earliest, latest, max timestamp and the first record at or after a time', () => {
    const log = openLog(variant, newDir(), { segmentBytes: 2048 });
    // Three records per batch at t, t+1, t+2; batches 10 ms apart.
    for (let i = 0; i < 30; i++) log.append(batch(`t${i}`, 3, { baseTimestamp: 5_000 + i * 10, valueBytes: 40 }));
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(log.offsetForTimestamp(EARLIEST_TIMESTAMP)!.offset).toBe(0);
    expect(log.offsetForTimestamp(LATEST_TIMESTAMP)!.offset).toBe(90);
    expect(log.offsetForTimestamp(MAX_TIMESTAMP)).toEqual({ timestamp: 5_292, offset: 89 });
    expect(log.offsetForTimestamp(5_000)).toEqual({ timestamp: 5_000, offset: 0 });
    expect(log.offsetForTimestamp(5_101)).toEqual({ timestamp: 5_101, offset: 31 });
    expect(log.offsetForTimestamp(5_103)).toEqual({ timestamp: 5_110, offset: 33 });
    expect(log.offsetForTimestamp(6_000)).toBeNull();
  });

  it('truncates to an offset and appends again from there', () => {
    const log = openLog(variant, newDir(), { segmentBytes: 2048 });
    for (let i = 0; i < 20; i++) log.append(batch(`x${i}`, 2, { valueBytes: 100 }));
    const segments = log.segmentCount;
    expect(log.truncateTo(11)).toBe(true);
    // Offset 11 is inside batch [10, 11]: the whole batch goes.
    expect(log.logEndOffset).toBe(10);
    expect(log.segmentCount).toBeLessThan(segments);
    log.append(batch('y', 2));
    expect(readAll(log).slice(8).map((r) => `${r.offset}:${r.value.replace(/x+$/, '')}`)).toEqual(['8:x4/0', '9:x4/1', '10:y/0', '11:y/1']);
    log.truncateFullyAndStartAt(500);
    expect([log.logStartOffset, log.logEndOffset, log.segmentCount]).toEqual([500, 500, 1]);
    expect(log.append(batch('z', 1)).firstOffset).toBe(500);
  });

  it('keeps data, offsets and indexes across a clean close and reopen', async () => {
    const dir = newDir();
    const log = openLog(variant, dir, { segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) log.append(batch(`p${i}`, 3, { valueBytes: 60, baseTimestamp: 1000 + i }));
    const expected = readAll(log);
    const bases = log.segmentBaseOffsets();
    await log.close();
    // No zero tail stays on disk.
    const active = path.join(dir, `${String(bases[bases.length - 1]).padStart(20, '0')}.log`);
    const bytes = fs.readFileSync(active);
    let end = 0;
    for (const { position, header } of iterateBatchHeaders(bytes)) end = position + header.sizeInBytes;
    expect(bytes.length).toBe(end);
    const reopened = openLog(variant, dir, { segmentBytes: 4096 });
    expect(reopened.logEndOffset).toBe(90);
    expect(reopened.segmentBaseOffsets()).toEqual(bases);
    expect(readAll(reopened)).toEqual(expected);
    // Batch i holds records stamped 1000+i .. 1002+i: the first at 1015 is the last record of batch 13.
    expect(reopened.offsetForTimestamp(1015)!.offset).toBe(41);
    expect(reopened.append(batch('after', 1)).firstOffset).toBe(90);
  });

  it('flush moves the recovery point to the log end', async () => {
    const log = openLog(variant, newDir());
    log.append(batch('f', 5));
    expect(log.recoveryPoint).toBe(0);
    await log.flush();
    expect(log.recoveryPoint).toBe(5);
    const r = log.append(batch('g', 1));
    expect(r.flushed).toBeNull();
  });

  it('flush.messages=1 makes every append return a durable-flush promise', async () => {
    const log = openLog(variant, newDir(), { flushMessages: 1 });
    const r = log.append(batch('d', 2));
    expect(r.flushed).not.toBeNull();
    await r.flushed;
    expect(log.recoveryPoint).toBe(2);
  });

  it('ignores files of another making in the partition directory', () => {
    const dir = newDir();
    const log = openLog(variant, dir);
    log.append(batch('a', 1));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    fs.writeFileSync(path.join(dir, '123.log'), 'not a segment');
    return log.close().then(() => {
      const warnings: string[] = [];
      const reopened = Log.open({
        dir,
        topic: 't',
        partition: 0,
        config: smallConfig(variant),
        logger: { info: () => {}, warn: (m) => warnings.push(m) },
        impl: variant.impl,
        hadCleanShutdown: true,
      });
      cleanups.push(() => reopened.close({ flush: false }));
      expect(reopened.logEndOffset).toBe(1);
      expect(warnings.join('\n')).toMatch(/notes\.txt/);
      expect(warnings.join('\n')).toMatch(/123\.log/);
    });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
