import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { crc32cJs } from '../src/record/crc32c.js';
import { BatchStatus, validateBatches, validateBatchesJs } from '../src/storage/batch-scan.js';

// A minimal RecordBatch v2 builder: a valid header and CRC around opaque payload bytes.
interface BatchSpec {
  baseOffset?: number;
  lastOffsetDelta: number;
  baseTimestamp?: number;
  maxTimestamp: number;
  payloadBytes: number;
  attributes?: number;
}

function buildBatch(spec: BatchSpec): Buffer {
  const batch = Buffer.alloc(61 + spec.payloadBytes);
  batch.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(spec.attributes ?? 0, 21);
  batch.writeInt32BE(spec.lastOffsetDelta, 23);
  batch.writeBigInt64BE(BigInt(spec.baseTimestamp ?? spec.maxTimestamp), 27);
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(spec.lastOffsetDelta + 1, 57);
  for (let i = 61; i < batch.length; i++) batch[i] = (i * 7 + spec.payloadBytes) & 0xff;
  batch.writeUInt32BE(crc32cJs(batch, 21, batch.length), 17);
  return batch;
}

function crcIsValid(batch: Buffer): boolean {
  return crc32cJs(batch, 21, batch.length) === batch.readUInt32BE(17);
}

type Validate = typeof validateBatchesJs;
const addon = nativeAddon();
const impls: Array<{ name: string; validate: Validate }> = [{ name: 'js', validate: validateBatchesJs }];
if (addon) impls.unshift({ name: 'native', validate: (...args) => addon.validateBatches(...args) });

const MAX_BATCH_BYTES = 1 << 20;

describe('validateBatches dispatch', () => {
  it('uses the native addon when it is loaded', () => {
    expect(validateBatches === validateBatchesJs).toBe(addon === null);
  });
});

describe.each(impls)('validateBatches ($name)', ({ validate }) => {
  const three = () => [
    buildBatch({ lastOffsetDelta: 0, maxTimestamp: 100, payloadBytes: 10 }),
    buildBatch({ lastOffsetDelta: 4, maxTimestamp: 200, payloadBytes: 300 }),
    buildBatch({ lastOffsetDelta: 2, maxTimestamp: 150, payloadBytes: 0 }),
  ];

  it('assigns offsets and stamps the leader epoch, keeping the CRC valid', () => {
    const batches = three();
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), ...batches, Buffer.alloc(5, 0xee)]);
    const out = new Float64Array(16);
    const end = buf.length - 5;
    expect(validate(buf, 7, end, 1000, 42, -1, MAX_BATCH_BYTES, out)).toBe(3);
    expect(Array.from(out.subarray(0, 12))).toEqual([0, 1000, 100, 71, 71, 1005, 200, 361, 432, 1008, 150, 61]);
    let at = 7;
    for (const [i, base] of [1000, 1001, 1006].entries()) {
      const batch = buf.subarray(at, at + batches[i].length);
      expect(Number(batch.readBigInt64BE(0))).toBe(base);
      expect(batch.readInt32BE(12)).toBe(42);
      expect(batch.readInt16BE(21)).toBe(0);
      expect(crcIsValid(batch)).toBe(true);
      at += batch.length;
    }
    expect(buf.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(buf.subarray(end).every((b) => b === 0xee)).toBe(true);
  });

  it('stamps LogAppendTime and recomputes the CRC', () => {
    const buf = Buffer.concat(three());
    const before = Buffer.from(buf);
    const out = new Float64Array(12);
    expect(validate(buf, 0, buf.length, 0, 3, 1_700_000_000_123, MAX_BATCH_BYTES, out)).toBe(3);
    for (let i = 0; i < 3; i++) {
      const batch = buf.subarray(out[4 * i], out[4 * i] + out[4 * i + 3]);
      const original = before.subarray(out[4 * i], out[4 * i] + out[4 * i + 3]);
      expect(batch.readInt16BE(21)).toBe(0x08);
      expect(Number(batch.readBigInt64BE(35))).toBe(1_700_000_000_123);
      expect(out[4 * i + 2]).toBe(1_700_000_000_123);
      // baseTimestamp and the records stay as the producer sent them.
      expect(batch.readBigInt64BE(27)).toBe(original.readBigInt64BE(27));
      expect(batch.subarray(61).equals(original.subarray(61))).toBe(true);
      expect(batch.readUInt32BE(17)).not.toBe(original.readUInt32BE(17));
      expect(crcIsValid(batch)).toBe(true);
    }
  });

  it('keeps compression and transactional attribute bits when stamping LogAppendTime', () => {
    const buf = buildBatch({ lastOffsetDelta: 1, maxTimestamp: 5, payloadBytes: 20, attributes: 0x13 });
    expect(validate(buf, 0, buf.length, 0, 0, 9, MAX_BATCH_BYTES, new Float64Array(4))).toBe(1);
    expect(buf.readInt16BE(21)).toBe(0x1b);
    expect(crcIsValid(buf)).toBe(true);
  });

  function expectStatus(buf: Buffer, status: number, offendingIndex: number, outLength = 40, maxBatchBytes = MAX_BATCH_BYTES, nextOffset = 0) {
    const before = Buffer.from(buf);
    const out = new Float64Array(outLength);
    expect(validate(buf, 0, buf.length, nextOffset, 7, 123, maxBatchBytes, out)).toBe(status);
    expect(out[0]).toBe(offendingIndex);
    expect(buf.equals(before)).toBe(true);
  }

  it('reports Truncated for an empty range, a short header and a batch running past the end', () => {
    expectStatus(Buffer.alloc(0), BatchStatus.Truncated, 0);
    const batches = three();
    expectStatus(Buffer.concat([...batches, batches[0].subarray(0, 60)]), BatchStatus.Truncated, 3);
    expectStatus(Buffer.concat(batches).subarray(0, batches[0].length + 100), BatchStatus.Truncated, 1);
  });

  it('reports BadLength below the v2 minimum and above maxBatchBytes', () => {
    for (const length of [0, 48, -5]) {
      const batches = three();
      batches[1].writeInt32BE(length, 8);
      expectStatus(Buffer.concat(batches), BatchStatus.BadLength, 1);
    }
    // maxBatchBytes bounds the whole batch: 361 bytes pass at 361 and fail at 360.
    const buf = Buffer.concat(three());
    expect(validate(Buffer.from(buf), 0, buf.length, 0, 0, -1, 361, new Float64Array(12))).toBe(3);
    expectStatus(buf, BatchStatus.BadLength, 1, 40, 360);
  });

  it('reports BadMagic', () => {
    const batches = three();
    batches[2][16] = 1;
    expectStatus(Buffer.concat(batches), BatchStatus.BadMagic, 2);
  });

  it('reports BadCrc for a flipped bit in the CRC-covered bytes', () => {
    for (const at of [21, 30, 60, 100]) {
      const batches = three();
      batches[1][at] ^= 0x04;
      expectStatus(Buffer.concat(batches), BatchStatus.BadCrc, 1);
    }
  });

  it('reports TooManyBatches when out cannot describe them all', () => {
    expectStatus(Buffer.concat(three()), BatchStatus.TooManyBatches, 2, 8);
    expectStatus(Buffer.concat(three()), BatchStatus.TooManyBatches, 2, 11);
  });

  it('reports BadOffsetDelta for a negative delta and for offsets past 2^53', () => {
    const negative = buildBatch({ lastOffsetDelta: -1, maxTimestamp: 1, payloadBytes: 5 });
    expectStatus(Buffer.concat([...three(), negative]), BatchStatus.BadOffsetDelta, 3);
    expectStatus(Buffer.concat(three()), BatchStatus.BadOffsetDelta, 1, 40, MAX_BATCH_BYTES, Number.MAX_SAFE_INTEGER - 3);
  });

  it('rejects arguments outside their ranges with RangeError', () => {
    const buf = Buffer.concat(three());
    const out = new Float64Array(12);
    expect(() => validate(buf, 10, 5, 0, 0, -1, MAX_BATCH_BYTES, out)).toThrow(RangeError);
    expect(() => validate(buf, 0, buf.length + 1, 0, 0, -1, MAX_BATCH_BYTES, out)).toThrow(RangeError);
    expect(() => validate(buf, 0, buf.length, -1, 0, -1, MAX_BATCH_BYTES, out)).toThrow(RangeError);
    expect(() => validate(buf, 0, buf.length, 0.5, 0, -1, MAX_BATCH_BYTES, out)).toThrow(RangeError);
    expect(() => validate(buf, 0, buf.length, 0, 2 ** 31, -1, MAX_BATCH_BYTES, out)).toThrow(RangeError);
    expect(() => validate(buf, 0, buf.length, 0, 0, -1, MAX_BATCH_BYTES, new Float64Array(3))).toThrow(RangeError);
  });
});

// Independent judge of a byte range: the expected count, or null when some
// byte is not part of a valid batch. Written from the format, not the code.
function expectedBatchCount(buf: Buffer, maxBatchBytes: number, batchCountMax: number): number | null {
  let position = 0;
  let count = 0;
  while (position < buf.length) {
    if (buf.length - position < 61) return null;
    const batchBytes = buf.readInt32BE(position + 8) + 12;
    if (batchBytes < 61 || batchBytes > maxBatchBytes || position + batchBytes > buf.length) return null;
    const batch = buf.subarray(position, position + batchBytes);
    if (batch[16] !== 2 || batch.readInt32BE(23) < 0 || !crcIsValid(batch)) return null;
    count++;
    position += batchBytes;
  }
  return count === 0 || count > batchCountMax ? null : count;
}

describe('validateBatches on hostile input', () => {
  const damaged = fc
    .tuple(
      fc.array(
        fc.record({
          lastOffsetDelta: fc.integer({ min: 0, max: 50 }),
          maxTimestamp: fc.integer({ min: 0, max: 1e12 }),
          payloadBytes: fc.integer({ min: 0, max: 200 }),
        }),
        { maxLength: 6 },
      ),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 100 }),
    )
    .map(([specs, edits, cut, tail]) => {
      const buf = Buffer.concat([...specs.map(buildBatch), Buffer.from(tail.length % 3 === 0 ? tail : [])]);
      for (const [at, value] of edits) if (buf.length > 0) buf[at % buf.length] = value;
      return buf.subarray(0, buf.length - (buf.length === 0 ? 0 : cut % Math.min(buf.length, 40)));
    });
  const garbage = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));

  for (const { name, validate } of impls) {
    it(`never crashes and only counts bytes that are valid batches (${name})`, () => {
      fc.assert(
        fc.property(fc.oneof(damaged, garbage), fc.integer({ min: 61, max: 400 }), fc.integer({ min: 1, max: 6 }), (buf, maxBatchBytes, batchCountMax) => {
          const before = Buffer.from(buf);
          const out = new Float64Array(4 * batchCountMax);
          const result = validate(buf, 0, buf.length, 5, 1, -1, maxBatchBytes, out);
          const expected = expectedBatchCount(before, maxBatchBytes, batchCountMax);
          if (expected === null) {
            expect(result).toBeLessThan(0);
            expect(buf.equals(before)).toBe(true);
          } else {
            expect(result).toBe(expected);
          }
        }),
        { numRuns: 2000, seed: 11 },
      );
    });
  }

  it.skipIf(!addon)('native and js agree on status, out and rewritten bytes', () => {
    fc.assert(
      fc.property(damaged, fc.integer({ min: 61, max: 400 }), fc.boolean(), (buf, maxBatchBytes, logAppendTime) => {
        const a = Buffer.from(buf);
        const b = Buffer.from(buf);
        const outA = new Float64Array(24);
        const outB = new Float64Array(24);
        const time = logAppendTime ? 77 : -1;
        const statusA = addon!.validateBatches(a, 0, a.length, 9, 4, time, maxBatchBytes, outA);
        const statusB = validateBatchesJs(b, 0, b.length, 9, 4, time, maxBatchBytes, outB);
        expect(statusA).toBe(statusB);
        const used = statusA > 0 ? 4 * statusA : 1;
        expect(Array.from(outA.subarray(0, used))).toEqual(Array.from(outB.subarray(0, used)));
        expect(a.equals(b)).toBe(true);
      }),
      { numRuns: 1000, seed: 5 },
    );
  });
});

describe.skipIf(!nativeAddon())('validateBatches argument safety', () => {
  it('refuses an out array that shares memory with the batch buffer', () => {
    const backing = new ArrayBuffer(4096);
    const buf = new Uint8Array(backing, 0, 2048);
    const out = new Float64Array(backing, 1024, 64);
    expect(() => nativeAddon()!.validateBatches(buf, 0, 0, 0, 0, -1, 1_000_000, out)).toThrow(/share memory/);
  });
});

