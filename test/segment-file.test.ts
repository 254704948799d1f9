import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { crc32cJs } from '../src/record/crc32c.js';
import { openSegmentFile } from '../src/storage/segment-file.js';
import type { SegmentFile } from '../src/storage/segment-file.js';

// A minimal RecordBatch v2 builder: a valid header and CRC around opaque
// payload bytes (the records are never parsed by the segment file).
interface BatchSpec {
  baseOffset: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  payloadBytes: number;
}

function buildBatch(spec: BatchSpec): Buffer {
  const batch = Buffer.alloc(61 + spec.payloadBytes);
  batch.writeBigInt64BE(BigInt(spec.baseOffset), 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(0, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(0, 21);
  batch.writeInt32BE(spec.lastOffsetDelta, 23);
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp), 27);
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(spec.lastOffsetDelta + 1, 57);
  for (let i = 61; i < batch.length; i++) batch[i] = (i * 31 + spec.baseOffset) & 0xff;
  batch.writeUInt32BE(crc32cJs(batch, 21, batch.length), 17);
  return batch;
}

/** Specs of consecutive batches: offsets follow on, 100-byte batches by default. */
function consecutive(count: number, payloadBytes = 39, firstOffset = 0): BatchSpec[] {
  const specs: BatchSpec[] = [];
  for (let i = 0, offset = firstOffset; i < count; i++, offset += 3) {
    specs.push({ baseOffset: offset, lastOffsetDelta: 2, maxTimestamp: 1000 + i, payloadBytes });
  }
  return specs;
}

const hasNative = nativeAddon() !== null;
type Variant = { impl: 'native' | 'js'; mode: 'mmap' | 'write' };
const variants: Variant[] = hasNative
  ? [
      { impl: 'native', mode: 'mmap' },
      { impl: 'native', mode: 'write' },
      { impl: 'js', mode: 'write' },
    ]
  : [{ impl: 'js', mode: 'write' }];

const CAPACITY_BYTES = 1024 * 1024;
const MAX_BATCH_BYTES = 1024 * 1024;

let dir = '';
const opened: SegmentFile[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
});
afterEach(() => {
  for (const segment of opened.splice(0)) segment.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(variants)('SegmentFile ($impl, $mode)', ({ impl, mode }) => {
  function open(name: string, knownSize = -1, capacityBytes = CAPACITY_BYTES, openMode: 'mmap' | 'write' | 'readonly' = mode) {
    const segment = openSegmentFile(path.join(dir, name), { mode: openMode, capacityBytes, knownSize, impl });
    opened.push(segment);
    return segment;
  }

  it('appends many batches in one call and returns where each call starts', () => {
    const segment = open('a.log');
    expect(segment.impl).toBe(impl);
    expect(segment.mode).toBe(mode);
    const first = Buffer.concat(consecutive(10).map(buildBatch));
    const second = Buffer.concat(consecutive(5, 500, 30).map(buildBatch));
    expect(segment.append(first)).toBe(0);
    expect(segment.append(second)).toBe(first.length);
    expect(segment.size).toBe(first.length + second.length);
    const target = Buffer.alloc(second.length + 10);
    expect(segment.readInto(first.length, target, 10, second.length)).toBe(second.length);
    expect(target.subarray(10).equals(second)).toBe(true);
    expect(segment.read(0, first.length).equals(first)).toBe(true);
  });

  it('appends the [start, end) range of a buffer', () => {
    const segment = open('a.log');
    const batches = Buffer.concat(consecutive(3).map(buildBatch));
    expect(segment.append(batches, 100, 200)).toBe(0);
    expect(segment.size).toBe(100);
    expect(segment.read(0, 1000).equals(batches.subarray(100, 200))).toBe(true);
  });

  it('reads short at the logical end', () => {
    const segment = open('a.log');
    segment.append(buildBatch(consecutive(1)[0]));
    const target = Buffer.alloc(500);
    expect(segment.readInto(60, target, 0, 500)).toBe(40);
    expect(segment.readInto(100, target, 0, 500)).toBe(0);
  });

  it('reopens a closed segment at its logical end, with no zero tail on disk', () => {
    const file = path.join(dir, 'a.log');
    const segment = open('a.log');
    const batches = Buffer.concat(consecutive(20).map(buildBatch));
    segment.append(batches);
    segment.close();
    expect(fs.statSync(file).size).toBe(batches.length);
    const reopened = open('a.log');
    expect(reopened.size).toBe(batches.length);
    expect(reopened.append(buildBatch(consecutive(1, 39, 60)[0]))).toBe(batches.length);
    expect(reopened.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: batches.length + 100, error: '' });
  });

  it('reopens a segment copied while open (a crash) at its logical end by header walk', () => {
    const segment = open('a.log');
    const batches = Buffer.concat(consecutive(20).map(buildBatch));
    segment.append(batches);
    fs.copyFileSync(path.join(dir, 'a.log'), path.join(dir, 'crash.log'));
    if (mode === 'mmap') expect(fs.statSync(path.join(dir, 'crash.log')).size).toBe(CAPACITY_BYTES);
    const recovered = open('crash.log', -1, CAPACITY_BYTES, 'mmap');
    expect(recovered.size).toBe(batches.length);
    expect(recovered.read(0, batches.length).equals(batches)).toBe(true);
  });

  it('trusts knownSize and cuts the file past it', () => {
    const batches = Buffer.concat(consecutive(4).map(buildBatch));
    fs.writeFileSync(path.join(dir, 'a.log'), Buffer.concat([batches, Buffer.alloc(300, 7)]));
    const segment = open('a.log', batches.length);
    expect(segment.size).toBe(batches.length);
    segment.append(buildBatch(consecutive(1, 39, 12)[0]));
    segment.close();
    expect(fs.statSync(path.join(dir, 'a.log')).size).toBe(batches.length + 100);
    expect(() => open('a.log', batches.length + 101)).toThrow(RangeError);
  });

  it('grows past its capacity', () => {
    const segment = open('a.log', -1, 64 * 1024);
    const batches = consecutive(30, 10_000 - 61).map(buildBatch);
    for (let i = 0; i < batches.length; i += 3) segment.append(Buffer.concat(batches.slice(i, i + 3)));
    const all = Buffer.concat(batches);
    expect(segment.size).toBe(all.length);
    expect(segment.read(0, all.length).equals(all)).toBe(true);
    expect(segment.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: all.length, batchCount: 30 });
    segment.close();
    expect(fs.statSync(path.join(dir, 'a.log')).size).toBe(all.length);
  });

  it('truncates and then appends at the new end', () => {
    const segment = open('a.log');
    const batches = consecutive(5).map(buildBatch);
    segment.append(Buffer.concat(batches));
    segment.truncate(200);
    expect(segment.size).toBe(200);
    const next = buildBatch(consecutive(1, 139, 6)[0]);
    expect(segment.append(next)).toBe(200);
    expect(segment.read(200, 1000).equals(next)).toBe(true);
    // A crash now must not resurrect the truncated batches behind the new one.
    fs.copyFileSync(path.join(dir, 'a.log'), path.join(dir, 'crash.log'));
    expect(open('crash.log', -1, CAPACITY_BYTES, 'mmap').size).toBe(200 + next.length);
    expect(() => segment.truncate(segment.size + 1)).toThrow(RangeError);
  });

  it('flush resolves once the appended bytes are durable', async () => {
    const segment = open('a.log');
    segment.append(Buffer.concat(consecutive(10).map(buildBatch)));
    await expect(segment.flush()).resolves.toBeUndefined();
    await Promise.all([segment.flush(), segment.flush()]);
  });

  it('closes while a flush is in flight, and the flush still resolves', async () => {
    const segment = openSegmentFile(path.join(dir, 'a.log'), { mode, capacityBytes: CAPACITY_BYTES, impl });
    segment.append(Buffer.concat(consecutive(10).map(buildBatch)));
    const flushed = segment.flush();
    segment.close();
    await expect(flushed).resolves.toBeUndefined();
  });

  it('throws from every method after close, and close is idempotent', () => {
    const segment = open('a.log');
    segment.close();
    segment.close();
    expect(() => segment.append(Buffer.alloc(10))).toThrow(/closed/);
    expect(() => segment.readInto(0, Buffer.alloc(1), 0, 1)).toThrow(/closed/);
    expect(() => segment.findBatch(0, 'offset', 0)).toThrow(/closed/);
    expect(() => segment.recover(0, 4096, MAX_BATCH_BYTES)).toThrow(/closed/);
  });

  it('rejects appends and truncation when readonly', () => {
    const batches = Buffer.concat(consecutive(3).map(buildBatch));
    fs.writeFileSync(path.join(dir, 'a.log'), batches);
    const segment = open('a.log', -1, 0, 'readonly');
    expect(segment.mode).toBe('readonly');
    expect(segment.size).toBe(batches.length);
    expect(() => segment.append(batches)).toThrow(/readonly/);
    expect(() => segment.truncate(0)).toThrow(/readonly/);
    expect(segment.findBatch(0, 'offset', 4)).toMatchObject({ position: 100, baseOffset: 3, lastOffset: 5 });
  });

  it('rejects ranges outside the buffer', () => {
    const segment = open('a.log');
    expect(() => segment.append(Buffer.alloc(10), 5, 11)).toThrow(RangeError);
    expect(() => segment.append(Buffer.alloc(10), 6, 5)).toThrow(RangeError);
    expect(() => segment.readInto(0, Buffer.alloc(10), 5, 6)).toThrow(RangeError);
    expect(segment.size).toBe(0);
  });

  it('finds batches by offset and timestamp and slices reads like a brute-force walk', () => {
    const specArb = fc.record({
      gap: fc.integer({ min: 0, max: 3 }),
      lastOffsetDelta: fc.integer({ min: 0, max: 4 }),
      maxTimestamp: fc.integer({ min: -1, max: 200 }),
      payloadBytes: fc.integer({ min: 0, max: 400 }),
    });
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 12, maxLength: 12 }),
        (raw, picks) => {
          const specs: BatchSpec[] = [];
          let offset = 0;
          for (const r of raw) {
            offset += r.gap;
            specs.push({ baseOffset: offset, lastOffsetDelta: r.lastOffsetDelta, maxTimestamp: r.maxTimestamp, payloadBytes: r.payloadBytes });
            offset += r.lastOffsetDelta + 1;
          }
          const batches = specs.map(buildBatch);
          const positions: number[] = [];
          let end = 0;
          for (const b of batches) {
            positions.push(end);
            end += b.length;
          }
          const segment = open(`p${run++}.log`);
          // Several batches per call, split at a random batch boundary.
          const split = picks[0] % (batches.length + 1);
          segment.append(Buffer.concat(batches.slice(0, split)));
          segment.append(Buffer.concat(batches.slice(split)));

          const startIndex = picks[1] % batches.length;
          const start = positions[startIndex];
          for (const target of [picks[2] % (offset + 3), picks[3] % (offset + 3), 0, offset + 5]) {
            const i = specs.findIndex((s, k) => k >= startIndex && s.baseOffset + s.lastOffsetDelta >= target);
            const found = segment.findBatch(start, 'offset', target);
            if (i < 0) expect(found).toBeNull();
            else
              expect(found).toEqual({
                position: positions[i],
                baseOffset: specs[i].baseOffset,
                lastOffset: specs[i].baseOffset + specs[i].lastOffsetDelta,
                maxTimestamp: specs[i].maxTimestamp,
                batchBytes: batches[i].length,
              });
          }
          for (const target of [picks[4] % 210, picks[5] % 210, -1, 201]) {
            const i = specs.findIndex((s, k) => k >= startIndex && s.maxTimestamp >= target);
            expect(segment.findBatch(start, 'timestamp', target)?.position ?? -1).toBe(i < 0 ? -1 : positions[i]);
          }
          for (let q = 6; q < 12; q += 2) {
            const maxBytes = picks[q] * 4;
            const maxOffsetExclusive = q === 10 ? Number.MAX_SAFE_INTEGER : picks[q + 1] % (offset + 3);
            let expected = start;
            for (let k = startIndex; k < specs.length; k++) {
              if (specs[k].baseOffset + specs[k].lastOffsetDelta >= maxOffsetExclusive) break;
              if (expected > start && expected - start + batches[k].length > maxBytes) break;
              expected += batches[k].length;
            }
            expect(segment.sliceEnd(start, maxBytes, maxOffsetExclusive)).toBe(expected);
          }
          segment.close();
        },
      ),
      { numRuns: 40, seed: 20251122 },
    );
  });

  it('returns at least one batch from sliceEnd even when it exceeds maxBytes', () => {
    const segment = open('a.log');
    segment.append(Buffer.concat(consecutive(3, 939).map(buildBatch)));
    expect(segment.sliceEnd(0, 10, Number.MAX_SAFE_INTEGER)).toBe(1000);
    expect(segment.sliceEnd(0, 1999, Number.MAX_SAFE_INTEGER)).toBe(1000);
    expect(segment.sliceEnd(0, 2000, Number.MAX_SAFE_INTEGER)).toBe(2000);
    // lastOffsets are 2, 5, 8: a high watermark of 5 keeps only the first batch.
    expect(segment.sliceEnd(0, 1 << 20, 5)).toBe(1000);
    expect(segment.sliceEnd(0, 1 << 20, 2)).toBe(0);
    expect(segment.sliceEnd(3000, 1 << 20, 100)).toBe(3000);
  });

  it('throws ESEGMENTCORRUPT when a lookup walks into a bad header', () => {
    const batches = consecutive(3).map(buildBatch);
    batches[1].writeInt32BE(5, 8);
    fs.writeFileSync(path.join(dir, 'a.log'), Buffer.concat(batches));
    const segment = open('a.log', 300);
    expect(segment.findBatch(0, 'offset', 0)?.position).toBe(0);
    expect(() => segment.findBatch(0, 'offset', 7)).toThrow(expect.objectContaining({ code: 'ESEGMENTCORRUPT', position: 100 }));
    expect(() => segment.sliceEnd(0, 1 << 20, 100)).toThrow(expect.objectContaining({ code: 'ESEGMENTCORRUPT' }));
  });

  describe('recover', () => {
    function writeAndOpen(bytes: Buffer): SegmentFile {
      fs.writeFileSync(path.join(dir, 'r.log'), bytes);
      return open('r.log', bytes.length);
    }
    const five = () => consecutive(5).map(buildBatch);

    it('accepts a clean segment to its end', () => {
      const r = writeAndOpen(Buffer.concat(five())).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 500, batchCount: 5, firstOffset: 0, lastOffset: 14, error: '' });
      expect(r).toMatchObject({ maxTimestamp: 1004, offsetOfMaxTimestamp: 14 });
    });

    it('stops at a zero-filled tail', () => {
      const r = writeAndOpen(Buffer.concat([...five(), Buffer.alloc(4096)])).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r.validBytes).toBe(500);
      expect(r.batchCount).toBe(5);
      expect(r.error).toMatch(/length/);
    });

    it('stops at a zero tail shorter than a header', () => {
      const r = writeAndOpen(Buffer.concat([...five(), Buffer.alloc(30)])).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 500 });
      expect(r.error).not.toBe('');
    });

    it('stops before a half-written batch', () => {
      const batches = five();
      batches[4] = batches[4].subarray(0, 50 + 30);
      const r = writeAndOpen(Buffer.concat(batches)).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 400, batchCount: 4, lastOffset: 11 });
      expect(r.error).toMatch(/past the end/);
    });

    it('stops before a batch with a flipped bit', () => {
      const batches = five();
      batches[4][70] ^= 0x10;
      const r = writeAndOpen(Buffer.concat(batches)).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 400, error: 'CRC32C mismatch' });
    });

    it('stops before a length that points past the end of the file', () => {
      const batches = five();
      batches[3].writeInt32BE(5000, 8);
      const r = writeAndOpen(Buffer.concat(batches)).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 300, batchCount: 3 });
      expect(r.error).toMatch(/past the end/);
    });

    it('stops before impossible lengths', () => {
      for (const length of [0, 48, -1, 0x7fffffff, MAX_BATCH_BYTES - 11]) {
        const batches = five();
        batches[2].writeInt32BE(length, 8);
        const r = writeAndOpen(Buffer.concat(batches)).recover(0, 4096, MAX_BATCH_BYTES);
        expect(r).toMatchObject({ validBytes: 200, batchCount: 2 });
        expect(r.error).toMatch(/length/);
      }
    });

    it('stops at a wrong magic and at offsets that go backwards', () => {
      const badMagic = five();
      badMagic[1][16] = 1;
      expect(writeAndOpen(Buffer.concat(badMagic)).recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: 100 });
      const backwards = [...consecutive(2).map(buildBatch), buildBatch({ baseOffset: 5, lastOffsetDelta: 0, maxTimestamp: 1, payloadBytes: 39 })];
      const r = writeAndOpen(Buffer.concat(backwards)).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 200, lastOffset: 5 });
      expect(r.error).toMatch(/previous/);
    });

    it('reports no batch on an empty segment', () => {
      const r = writeAndOpen(Buffer.alloc(0)).recover(0, 4096, MAX_BATCH_BYTES);
      expect(r).toMatchObject({ validBytes: 0, batchCount: 0, firstOffset: -1, lastOffset: -1, maxTimestamp: -1, error: '' });
      expect(r.offsetEntries.length).toBe(0);
      expect(r.timeEntries.length).toBe(0);
    });

    it("rebuilds index entries with Kafka's rule", () => {
      // Six 100-byte batches, lastOffsets 2, 12, ..., 52, indexIntervalBytes 150.
      // An entry is added for a batch when more than 150 bytes were counted
      // before it: batch 2 (200 counted) and batch 4 (200 counted since batch 2).
      // Time entries carry the max timestamp so far (30 at offset 12, then 40
      // at offset 32) and recovery ends with the overall max (50 at offset 52).
      const timestamps = [10, 30, 20, 40, 35, 50];
      const batches = timestamps.map((maxTimestamp, i) =>
        buildBatch({ baseOffset: 10 * i, lastOffsetDelta: 2, maxTimestamp, payloadBytes: 39 }),
      );
      const r = writeAndOpen(Buffer.concat(batches)).recover(0, 150, MAX_BATCH_BYTES);
      expect(Array.from(r.offsetEntries)).toEqual([22, 200, 42, 400]);
      expect(Array.from(r.timeEntries)).toEqual([30, 12, 40, 32, 50, 52]);
      expect(r).toMatchObject({ validBytes: 600, maxTimestamp: 50, offsetOfMaxTimestamp: 52, firstOffset: 0, lastOffset: 52 });
    });

    it('recovers from a start position with a fresh interval count', () => {
      const batches = consecutive(6).map(buildBatch);
      const r = writeAndOpen(Buffer.concat(batches)).recover(200, 99, MAX_BATCH_BYTES);
      // From 200: batch 2 counts 0 (no entry), batches 3, 4, 5 each follow 100 counted bytes.
      expect(Array.from(r.offsetEntries)).toEqual([11, 300, 14, 400, 17, 500]);
      expect(r).toMatchObject({ validBytes: 600, batchCount: 4, firstOffset: 6 });
    });
  });
});

describe.skipIf(!hasNative)('SegmentFile implementations agree', () => {
  it('native and js recover identically on randomly damaged segments', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 12 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
          fc.nat(),
          fc.integer({ min: 0, max: 500 }),
          (count, flips, cut, interval) => {
            const bytes = Buffer.concat(consecutive(count, 100).map(buildBatch));
            for (const [at, value] of flips) bytes[at % bytes.length] = value;
            const length = bytes.length - (cut % 200);
            const file = path.join(d, 'x.log');
            fs.writeFileSync(file, bytes.subarray(0, length));
            const results = (['native', 'js'] as const).map((impl) => {
              const s = openSegmentFile(file, { mode: 'readonly', capacityBytes: 0, impl });
              try {
                return s.recover(0, interval, 4096);
              } finally {
                s.close();
              }
            });
            expect(results[0]).toEqual(results[1]);
          },
        ),
        { numRuns: 100, seed: 7 },
      );
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

// ENOSPC needs a filesystem that can fill up: a 4 MiB tmpfs (tmpfs supports
// fallocate). Mounting needs root with CAP_SYS_ADMIN; elsewhere this is skipped.
const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountDir], { stdio: 'ignore' });
  mounted = true;
} catch {
  console.warn(`segment-file ENOSPC tests skipped: cannot mount a 4 MiB tmpfs on ${mountDir} (needs root)`);
}
afterAll(() => {
  if (mounted) execFileSync('umount', [mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

describe.skipIf(!mounted)('SegmentFile on a full disk', () => {
  afterEach(() => {
    for (const name of fs.readdirSync(mountDir)) fs.rmSync(path.join(mountDir, name), { force: true });
  });

  it.skipIf(!hasNative)('fails mmap segment creation larger than the free space with ENOSPC', () => {
    expect(() => openSegmentFile(path.join(mountDir, 'big.log'), { mode: 'mmap', capacityBytes: 8 << 20 })).toThrow(
      expect.objectContaining({ code: 'ENOSPC' }),
    );
    // The failed creation left no allocation behind: the space is still usable.
    const segment = openSegmentFile(path.join(mountDir, 'small.log'), { mode: 'mmap', capacityBytes: 512 << 10 });
    segment.close();
  });

  for (const impl of hasNative ? (['native', 'js'] as const) : (['js'] as const)) {
    it(`fails a write-mode append that does not fit with ENOSPC and stays usable (${impl})`, () => {
      const segment = openSegmentFile(path.join(mountDir, 'w.log'), { mode: 'write', capacityBytes: 0, impl });
      try {
        const first = Buffer.concat(consecutive(100).map(buildBatch));
        segment.append(first);
        const tooBig = Buffer.concat(consecutive(20, 300_000 - 61, 300).map(buildBatch));
        expect(() => segment.append(tooBig)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
        expect(segment.size).toBe(first.length);
        expect(fs.statSync(path.join(mountDir, 'w.log')).size).toBe(first.length);
        expect(segment.read(0, first.length).equals(first)).toBe(true);
        // Space is back (the failed append was cut): a fitting append works.
        const next = Buffer.concat(consecutive(2, 100_000 - 61, 300).map(buildBatch));
        expect(segment.append(next)).toBe(first.length);
        expect(segment.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: first.length + next.length, error: '' });
      } finally {
        segment.close();
      }
    });
  }

  it.skipIf(!hasNative)('fails an mmap append that must grow past the free space, then grows once space returns', () => {
    const segment = openSegmentFile(path.join(mountDir, 'm.log'), { mode: 'mmap', capacityBytes: 256 << 10 });
    try {
      fs.writeFileSync(path.join(mountDir, 'filler'), Buffer.alloc(3584 << 10));
      const first = Buffer.concat(consecutive(200).map(buildBatch));
      segment.append(first);
      const grow = Buffer.concat(consecutive(3, 100_000 - 61, 600).map(buildBatch));
      expect(() => segment.append(grow)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(segment.size).toBe(first.length);
      expect(segment.read(0, first.length).equals(first)).toBe(true);
      fs.rmSync(path.join(mountDir, 'filler'));
      expect(segment.append(grow)).toBe(first.length);
      expect(segment.recover(0, 4096, MAX_BATCH_BYTES)).toMatchObject({ validBytes: first.length + grow.length, error: '' });
    } finally {
      segment.close();
    }
  });
});

describe('SegmentFile (js) asked for mmap', () => {
  it('serves mmap as write mode and says so', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
    try {
      const segment = openSegmentFile(path.join(d, 'a.log'), { mode: 'mmap', capacityBytes: CAPACITY_BYTES, impl: 'js' });
      expect(segment.mode).toBe('write');
      segment.append(buildBatch(consecutive(1)[0]));
      segment.close();
      expect(fs.statSync(path.join(d, 'a.log')).size).toBe(100);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
