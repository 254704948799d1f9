// The native SegmentFile outside the happy path: failed opens, corrupt offsets
// the CRC does not cover, a worker thread exiting with a flush in flight, and
// close()/growth while the libuv pool is busy with other work.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { crc32cJs } from '../src/record/crc32c.js';
import { openSegmentFile } from '../src/storage/segment-file.js';

const hasNative = nativeAddon() !== null;
const MAX_BATCH_BYTES = 1024 * 1024;

/** A RecordBatch v2 with a valid CRC around `payloadBytes` opaque bytes; baseOffset may exceed 2^53. */
function buildBatch(baseOffset: bigint, lastOffsetDelta: number, payloadBytes = 39): Buffer {
  const batch = Buffer.alloc(61 + payloadBytes);
  batch.writeBigInt64BE(baseOffset, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt8(2, 16);
  batch.writeInt32BE(lastOffsetDelta, 23);
  batch.writeBigInt64BE(1000n, 27);
  batch.writeBigInt64BE(1000n, 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(lastOffsetDelta + 1, 57);
  for (let i = 61; i < batch.length; i++) batch[i] = (i * 31) & 0xff;
  // The CRC covers attributes onwards, not baseOffset: the corrupt batch below passes it.
  batch.writeUInt32BE(crc32cJs(batch, 21, batch.length), 17);
  return batch;
}

/** Runs `poolThreads` pbkdf2 jobs that occupy the whole libuv pool; resolves with their wall time. */
function occupyThreadPool(iterations: number): Promise<number> {
  const poolThreads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const started = performance.now();
  const jobs = Array.from(
    { length: poolThreads },
    () => new Promise<void>((resolve, reject) => crypto.pbkdf2('p', 's', iterations, 64, 'sha512', (err) => (err ? reject(err) : resolve()))),
  );
  return Promise.all(jobs).then(() => performance.now() - started);
}

// Long enough (hundreds of ms) that a close() that waits for the pool is obvious.
const PBKDF2_ITERATIONS = 100_000;

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-faults-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasNative)('SegmentFile (native) fault paths', () => {
  it('leaves the file untouched when an mmap open fails on knownSize past the file size', () => {
    const file = path.join(dir, 'a.log');
    const content = crypto.randomBytes(1000);
    fs.writeFileSync(file, content);
    expect(() => openSegmentFile(file, { mode: 'mmap', capacityBytes: 1 << 20, knownSize: 2000, impl: 'native' })).toThrow(
      RangeError,
    );
    expect(fs.statSync(file).size).toBe(1000);
    expect(fs.readFileSync(file).equals(content)).toBe(true);
  });

  for (const mode of ['mmap', 'write'] as const) {
    it(`rejects a batch whose baseOffset + lastOffsetDelta overflows int64 (${mode})`, () => {
      const first = buildBatch(0n, 2);
      const corrupt = buildBatch(0x7ffffffffffffff0n, 1000);
      const file = path.join(dir, `o-${mode}.log`);
      const segment = openSegmentFile(file, { mode, capacityBytes: 1 << 20, impl: 'native' });
      try {
        segment.append(Buffer.concat([first, corrupt, buildBatch(5n, 0)]));
        const recovery = segment.recover(0, 4096, MAX_BATCH_BYTES);
        expect(recovery).toMatchObject({ validBytes: first.length, batchCount: 1, lastOffset: 2 });
        expect(recovery.error).toMatch(/offset/);
        expect(segment.sliceEnd(0, 1e6, 10)).toBe(first.length);
        // The corrupt batch is never a match: its header is corrupt.
        expect(segment.findBatch(0, 'offset', 0)).toMatchObject({ position: 0 });
        expect(() => segment.findBatch(0, 'offset', 100)).toThrow(
          expect.objectContaining({ code: 'ESEGMENTCORRUPT', position: first.length }),
        );
        expect(() => segment.findBatch(first.length, 'offset', 0)).toThrow(
          expect.objectContaining({ code: 'ESEGMENTCORRUPT', position: first.length }),
        );
      } finally {
        segment.close();
      }
    });
  }

  it('survives a worker thread exiting while its flush is still queued', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/segment-flush-worker-child.ts'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).not.toMatch(/FATAL|Abort/);
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}')).toEqual({ workerExitCode: 0 });
  });

  it('closes without waiting for a queued flush or prefault, and the flush still calls back once', async () => {
    const pool = occupyThreadPool(PBKDF2_ITERATIONS);
    const file = path.join(dir, 'c.log');
    // The raw native object: its flush callback can be counted.
    const segment = new (nativeAddon()!.SegmentFile)(file, 'mmap', 1 << 20, -1);
    const batch = buildBatch(0n, 2);
    segment.append(batch, 0, batch.length);
    const fd = segment.fd();
    const flushResults: (Error | null)[] = [];
    const flushed = new Promise<void>((resolve) =>
      segment.flush((err) => {
        flushResults.push(err);
        resolve();
      }),
    );
    const closeStarted = performance.now();
    segment.close();
    const closeMs = performance.now() - closeStarted;
    // Trimmed by close() itself, not later.
    expect(fs.statSync(file).size).toBe(batch.length);
    expect(() => segment.size()).toThrow(/is closed/);
    const poolMs = await pool;
    await flushed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closeMs).toBeLessThan(poolMs / 4);
    expect(flushResults).toEqual([null]);
    // The fd was closed once the flush let go of it (the number may be reused by another file).
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      target = '';
    }
    expect(target).not.toBe(file);
    expect(fs.readFileSync(file).equals(batch)).toBe(true);
  });

  it('grows past capacity without waiting for a queued prefault', async () => {
    const pool = occupyThreadPool(PBKDF2_ITERATIONS);
    const file = path.join(dir, 'g.log');
    // One page: the open queues a prefault, the append below must grow the mapping.
    const segment = openSegmentFile(file, { mode: 'mmap', capacityBytes: 4096, impl: 'native' });
    try {
      const first = buildBatch(0n, 2);
      segment.append(first);
      const big = buildBatch(3n, 2, 64 * 1024);
      const appendStarted = performance.now();
      expect(segment.append(big)).toBe(first.length);
      const appendMs = performance.now() - appendStarted;
      const poolMs = await pool;
      expect(appendMs).toBeLessThan(poolMs / 4);
      // The stale prefault ran after the grow (and did nothing harmful); more appends still work.
      await new Promise((resolve) => setTimeout(resolve, 50));
      segment.append(buildBatch(6n, 2));
      expect(segment.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ batchCount: 3, lastOffset: 8, error: '' });
    } finally {
      segment.close();
    }
    expect(fs.statSync(file).size).toBe(100 + 64 * 1024 + 61 + 100);
  });
});

describe('SegmentFile (TypeScript) offset overflow', () => {
  it('rejects a batch whose baseOffset + lastOffsetDelta passes 2^53 like the native scans', () => {
    const first = buildBatch(0n, 2);
    const corrupt = buildBatch(0x7ffffffffffffff0n, 1000);
    const file = path.join(dir, 'o-js.log');
    const segment = openSegmentFile(file, { mode: 'write', capacityBytes: 1 << 20, impl: 'js' });
    try {
      segment.append(Buffer.concat([first, corrupt, buildBatch(5n, 0)]));
      expect(segment.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: first.length, batchCount: 1 });
      expect(segment.sliceEnd(0, 1e6, 10)).toBe(first.length);
      expect(segment.findBatch(0, 'offset', 0)).toMatchObject({ position: 0 });
      expect(() => segment.findBatch(0, 'offset', 100)).toThrow(expect.objectContaining({ code: 'ESEGMENTCORRUPT', position: first.length }));
    } finally {
      segment.close();
    }
  });
});
