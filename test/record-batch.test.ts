import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decompress as fzstdDecompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { compress, decompress } from '../src/record/compression.js';
import { crc32cJs } from '../src/record/crc32c.js';
import type { CompressionName, RecordInput } from '../src/record/record-batch.js';
import {
  RecordBatchError,
  buildRecordBatch,
  decodeBatchRecords,
  iterateBatchHeaders,
  readBatchHeader,
  verifyBatchCrc,
} from '../src/record/record-batch.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Hex bytes, one group per line; each line's comment starts at its first token that is not a hex byte. */
function hex(s: string): Buffer {
  const lines = s.split('\n').map((line) => {
    const bytes: string[] = [];
    for (const token of line.trim().split(/\s+/)) {
      if (!/^[0-9a-f]{2}$/i.test(token)) break;
      bytes.push(token);
    }
    return bytes.join('');
  });
  return Buffer.from(lines.join(''), 'hex');
}

/** Byte equality without vitest's element-by-element diff, which is slow on large buffers. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

function run(tool: string, args: string[], input: Uint8Array): Buffer {
  return execFileSync(tool, args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Records with null keys and values, headers (one with a null value) and a timestamp before the first. */
function sampleRecords(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : `key-${i}`,
    value: i % 5 === 4 ? null : Buffer.from(`value ${i} `.repeat(1 + (i % 40))),
    headers: i % 2 ? [{ key: 'trace', value: Buffer.from([i & 0xff]) }, { key: 'ünïcode', value: null }] : [],
    timestamp: 1_700_000_000_000 + (i === 1 ? -5_000 : i * 10),
  }));
}

function expectDecodedMatches(batch: Buffer, input: RecordInput[], baseOffset: number): void {
  const decoded = decodeBatchRecords(batch);
  expect(decoded.length).toBe(input.length);
  decoded.forEach((record, i) => {
    const want = input[i];
    expect(record.offset).toBe(baseOffset + i);
    expect(record.timestamp).toBe(want.timestamp);
    expect(record.key).toEqual(want.key == null ? null : Buffer.from(want.key));
    expect(record.value).toEqual(want.value === null ? null : Buffer.from(want.value));
    expect(record.headers).toEqual(want.headers ?? []);
    expect(record.attributes).toBe(0);
  });
}

/** Calls fn; the only acceptable failure is a RecordBatchError. */
function expectOnlyRecordBatchError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RecordBatchError);
  }
}

describe('RecordBatch v2 builder', () => {
  it('encodes a small uncompressed batch byte for byte as the spec lays it out', () => {
    const batch = buildRecordBatch(
      [
        { key: 'k', value: 'v', timestamp: 1000, headers: [{ key: 'h', value: Buffer.from('x') }] },
        { key: null, value: null, timestamp: 999 },
      ],
      { baseOffset: 5, producerId: 7, producerEpoch: 1, baseSequence: 3, partitionLeaderEpoch: 2 },
    );
    const expected = hex(`
      00 00 00 00 00 00 00 05   baseOffset 5
      00 00 00 45               batchLength 69 = 49 header bytes after this field + 20 record bytes
      00 00 00 02               partitionLeaderEpoch 2
      02                        magic 2
      2e 1a 45 a0               crc: CRC32C of bytes 21..80 (checked below with the TS implementation)
      00 00                     attributes: no compression, create time, not transactional, not control
      00 00 00 01               lastOffsetDelta 1
      00 00 00 00 00 00 03 e8   baseTimestamp 1000 (the first record's)
      00 00 00 00 00 00 03 e8   maxTimestamp 1000
      00 00 00 00 00 00 00 07   producerId 7
      00 01                     producerEpoch 1
      00 00 00 03               baseSequence 3
      00 00 00 02               recordsCount 2
      18                        record 0: length 12 (zigzag 24)
      00                          attributes
      00                          timestampDelta 0
      00                          offsetDelta 0
      02 6b                       keyLength 1, "k"
      02 76                       valueLength 1, "v"
      02                          headers count 1
      02 68                         header key length 1, "h"
      02 78                         header value length 1, "x"
      0c                        record 1: length 6 (zigzag 12)
      00                          attributes
      01                          timestampDelta -1 (zigzag 1)
      02                          offsetDelta 1 (zigzag 2)
      01                          keyLength -1: null
      01                          valueLength -1: null
      00                          headers count 0
    `);
    expect(batch.toString('hex')).toBe(expected.toString('hex'));
    expect(crc32cJs(expected, 21, expected.length)).toBe(0x2e1a45a0);
  });

  it('sets the attribute bits for timestamp type, transactional and control', () => {
    const batch = buildRecordBatch([{ value: 'x', timestamp: 5 }], {
      compression: 'lz4',
      timestampType: 'log-append',
      transactional: true,
      control: true,
    });
    const header = readBatchHeader(batch);
    expect(header.attributes).toBe(0x3 | 0x8 | 0x10 | 0x20);
    expect(header.compression).toBe('lz4');
    expect(header.timestampType).toBe('log-append');
    expect(header.isTransactional).toBe(true);
    expect(header.isControl).toBe(true);
  });

  it('uses -1 for producer id, epoch, sequence and leader epoch by default', () => {
    const header = readBatchHeader(buildRecordBatch([{ value: 'x', timestamp: 5 }]));
    expect([header.producerId, header.producerEpoch, header.baseSequence, header.partitionLeaderEpoch]).toEqual([
      -1, -1, -1, -1,
    ]);
  });

  it('rejects input it cannot encode with RecordBatchError', () => {
    expect(() => buildRecordBatch([])).toThrow(RecordBatchError);
    expect(() => buildRecordBatch([{ value: 'x' }], { baseOffset: 1.5 })).toThrow(RecordBatchError);
    expect(() => buildRecordBatch([{ value: 'x' }], { baseOffset: -1 })).toThrow(RecordBatchError);
    expect(() => buildRecordBatch([{ value: 'x' }], { producerEpoch: 40_000 })).toThrow(RecordBatchError);
    expect(() => buildRecordBatch([{ value: 'x', timestamp: Number.NaN }])).toThrow(RecordBatchError);
  });
});

describe('RecordBatch v2 reader', () => {
  for (const codec of CODECS) {
    it(`reads back what it built with ${codec} compression`, () => {
      const input = sampleRecords(300);
      const batch = buildRecordBatch(input, { baseOffset: 1234, compression: codec, producerId: 42, producerEpoch: 3 });
      const header = readBatchHeader(batch);
      expect(header.compression).toBe(codec);
      expect(header.magic).toBe(2);
      expect(header.baseOffset).toBe(1234);
      expect(header.lastOffsetDelta).toBe(299);
      expect(header.lastOffset).toBe(1533);
      expect(header.recordsCount).toBe(300);
      expect(header.baseTimestamp).toBe(1_700_000_000_000);
      expect(header.maxTimestamp).toBe(1_700_000_000_000 + 299 * 10);
      expect(header.producerId).toBe(42);
      expect(header.sizeInBytes).toBe(batch.length);
      expect(verifyBatchCrc(batch)).toBe(true);
      expectDecodedMatches(batch, input, 1234);
    });
  }

  it('round-trips arbitrary records with every codec', () => {
    const header = fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(fc.uint8Array({ maxLength: 8 })) });
    const record = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 40 })),
      value: fc.option(fc.uint8Array({ maxLength: 200 })),
      headers: fc.array(header, { maxLength: 3 }),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), fc.constantFrom(...CODECS), fc.nat(2 ** 40), (recs, codec, base) => {
        const input: RecordInput[] = recs.map((r) => ({
          key: r.key && Buffer.from(r.key),
          value: r.value && Buffer.from(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: h.value && Buffer.from(h.value) })),
          timestamp: r.timestamp,
        }));
        const batch = buildRecordBatch(input, { baseOffset: base, compression: codec });
        expect(verifyBatchCrc(batch)).toBe(true);
        expectDecodedMatches(batch, input, base);
      }),
      { numRuns: 150 },
    );
  });

  it("gives every record the batch's maxTimestamp under log-append time", () => {
    const batch = buildRecordBatch(
      [
        { value: 'a', timestamp: 10 },
        { value: 'b', timestamp: 30 },
      ],
      { timestampType: 'log-append' },
    );
    expect(decodeBatchRecords(batch).map((r) => r.timestamp)).toEqual([30, 30]);
  });

  it('reads a batch at a position inside a larger buffer', () => {
    const batch = buildRecordBatch(sampleRecords(3), { baseOffset: 9 });
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), batch, Buffer.alloc(5, 0xee)]);
    expect(readBatchHeader(buf, 7).baseOffset).toBe(9);
    expect(verifyBatchCrc(buf, 7)).toBe(true);
    expect(decodeBatchRecords(buf, 7).map((r) => r.offset)).toEqual([9, 10, 11]);
  });

  it('fails the CRC when any byte of the checksummed range flips, but not for baseOffset or leader epoch', () => {
    const batch = buildRecordBatch(sampleRecords(5), { compression: 'gzip' });
    for (const position of [21, 22, 40, 60, 61, batch.length - 1]) {
      const copy = Buffer.from(batch);
      copy[position] ^= 0x01;
      expect(verifyBatchCrc(copy), `byte ${position}`).toBe(false);
    }
    const stored = Buffer.from(batch);
    stored[17] ^= 0x80; // the stored CRC itself
    expect(verifyBatchCrc(stored)).toBe(false);
    // baseOffset and partitionLeaderEpoch sit before the CRC'd range: the broker rewrites them in place.
    const rewritten = Buffer.from(batch);
    rewritten.writeBigInt64BE(99n, 0);
    rewritten.writeInt32BE(7, 12);
    expect(verifyBatchCrc(rewritten)).toBe(true);
  });

  for (const codec of CODECS) {
    it(`throws RecordBatchError, never a RangeError, for every truncation of a ${codec} batch`, () => {
      const batch = buildRecordBatch(sampleRecords(4), { compression: codec });
      for (let length = 0; length < batch.length; length++) {
        const cut = batch.subarray(0, length);
        expect(() => decodeBatchRecords(cut), `length ${length}`).toThrow(RecordBatchError);
        expect(() => verifyBatchCrc(cut), `length ${length}`).toThrow(RecordBatchError);
      }
      expect(() => readBatchHeader(batch.subarray(0, 60))).toThrow(RecordBatchError);
    });
  }

  for (const codec of CODECS) {
    it(`survives corrupted ${codec} records sections with RecordBatchError or a result`, () => {
      const batch = buildRecordBatch(sampleRecords(20), { compression: codec });
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 57, max: batch.length - 1 }), fc.integer({ min: 1, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          (flips) => {
            const copy = Buffer.from(batch);
            for (const [position, mask] of flips) copy[position] ^= mask;
            expectOnlyRecordBatchError(() => decodeBatchRecords(copy, 0, 1 << 20));
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('refuses a recordsCount that the bytes cannot hold before doing per-record work', () => {
    const batch = buildRecordBatch(sampleRecords(2));
    batch.writeInt32BE(0x7fffffff, 57);
    expect(() => decodeBatchRecords(batch)).toThrow(/cannot fit/);
    batch.writeInt32BE(-1, 57);
    expect(() => decodeBatchRecords(batch)).toThrow(RecordBatchError);
  });

  it('rejects other magic values and lengths below the v2 header', () => {
    const batch = buildRecordBatch(sampleRecords(1));
    const magic1 = Buffer.from(batch);
    magic1[16] = 1;
    expect(() => readBatchHeader(magic1)).toThrow(/magic/);
    const short = Buffer.from(batch);
    short.writeInt32BE(48, 8);
    expect(() => readBatchHeader(short)).toThrow(RecordBatchError);
  });
});

describe('iterateBatchHeaders', () => {
  it('walks consecutive batches and stops at a trailing partial batch', () => {
    const a = buildRecordBatch(sampleRecords(2), { baseOffset: 0 });
    const b = buildRecordBatch(sampleRecords(3), { baseOffset: 2, compression: 'snappy' });
    const c = buildRecordBatch(sampleRecords(1), { baseOffset: 5 });
    const buf = Buffer.concat([a, b, c.subarray(0, c.length - 1)]);
    const seen = [...iterateBatchHeaders(buf)].map(({ position, header }) => [position, header.baseOffset]);
    expect(seen).toEqual([
      [0, 0],
      [a.length, 2],
    ]);
    // A tail shorter than the fields up to magic is also a partial batch.
    expect([...iterateBatchHeaders(Buffer.concat([a, c.subarray(0, 10)]))].length).toBe(1);
  });

  it('throws RecordBatchError on an impossible batch length', () => {
    const a = buildRecordBatch(sampleRecords(2));
    const bad = Buffer.from(a);
    bad.writeInt32BE(3, 8);
    expect(() => [...iterateBatchHeaders(Buffer.concat([a, bad]))]).toThrow(RecordBatchError);
  });
});

describe('compression codecs', () => {
  const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i} ${i % 7}\n`).join(''));
  const mixed = Buffer.concat([text, randomBytes(70_000), text]);

  for (const codec of CODECS) {
    it(`round-trips ${codec} across block boundaries and for empty input`, () => {
      expectSameBytes(decompress(codec, compress(codec, mixed)), mixed);
      expect(decompress(codec, compress(codec, Buffer.alloc(0))).length).toBe(0);
    });
  }

  it('decodes snappy in the xerial framing the Java client writes (hand-built bytes)', () => {
    const framed = hex(`
      82 53 4e 41 50 50 59 00   magic \\x82SNAPPY\\x00
      00 00 00 01               version 1
      00 00 00 01               compatible version 1
      00 00 00 07               chunk of 7 bytes
      05 10 68 65 6c 6c 6f         raw snappy: length 5, literal of 5 bytes, "hello"
      00 00 00 0a               chunk of 10 bytes
      0c 14 20 77 6f 72 6c 64 09 06   length 12; literal of 6 " world"; copy (tag 01, length 6) from offset 6
    `);
    expect(decompress('snappy', framed).toString()).toBe('hello world world');
  });

  it('decodes one raw snappy block too (librdkafka style)', () => {
    expect(decompress('snappy', hex('05 10 68 65 6c 6c 6f')).toString()).toBe('hello');
  });

  it('writes zstd frames that fzstd decodes on its own', () => {
    expectSameBytes(fzstdDecompress(compress('zstd', mixed)), mixed);
  });

  for (const codec of CODECS.filter((c) => c !== 'none')) {
    it(`refuses to produce more than maxBytes with ${codec}`, () => {
      const zeros = Buffer.alloc(1 << 20);
      const packed = compress(codec, zeros);
      expect(() => decompress(codec, packed, 64 * 1024)).toThrow(RecordBatchError);
      expect(() => decompress(codec, packed, 64 * 1024)).toThrow(/limit/);
      expect(decompress(codec, packed, 1 << 20).length).toBe(1 << 20);
    });
  }

  it('bounds decodeBatchRecords by its maxBytes argument', () => {
    const batch = buildRecordBatch([{ value: Buffer.alloc(200_000) }], { compression: 'gzip' });
    expect(() => decodeBatchRecords(batch, 0, 100_000)).toThrow(RecordBatchError);
    expect(decodeBatchRecords(batch, 0, 300_000)[0].value?.length).toBe(200_000);
  });

  it('stops a gzip bomb at the bound', () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20)); // ~64 KiB that inflates to 64 MiB
    expect(bomb.length).toBeLessThan(100_000);
    expect(() => decompress('gzip', bomb, 1 << 20)).toThrow(RecordBatchError);
  });

  it('refuses a zstd frame whose window would exceed the limit before allocating it', () => {
    // Frame header: FHD 0 (no content size, not single segment), window descriptor 0xf8 = 2^41 bytes.
    const frame = hex('28 b5 2f fd 00 f8 01 00 00');
    expect(() => decompress('zstd', frame)).toThrow(/window/);
  });

  it('checks lz4 frame header, block and content checksums', () => {
    const packed = compress('lz4', text);
    const badHeader = Buffer.from(packed);
    badHeader[6] ^= 1;
    expect(() => decompress('lz4', badHeader)).toThrow(/header checksum/);
    if (hasTool('lz4')) {
      const withSums = run('lz4', ['-c', '-BX'], text);
      const bad = Buffer.from(withSums);
      bad[bad.length - 2] ^= 1; // inside the content checksum
      expect(() => decompress('lz4', bad)).toThrow(RecordBatchError);
    }
  });

  it('writes lz4 blocks that keep the end-of-block rules strict decoders (lz4-java) enforce', () => {
    // lz4js alone ends some full 64 KiB blocks with a match starting < 12 bytes before the end.
    const input = Buffer.from(Array.from({ length: 30_000 }, (_, i) => `line ${i} ${i % 7}\n`).join(''));
    const frame = compress('lz4', input);
    let ip = 7; // magic 4, FLG, BD, header checksum
    let decodedBefore = 0;
    let compressedBlocks = 0;
    for (;;) {
      const word = frame.readUInt32LE(ip);
      ip += 4;
      if (word === 0) break;
      const blockBytes = word & 0x7fffffff;
      const outputBytes = Math.min(64 * 1024, input.length - decodedBefore);
      if ((word & 0x80000000) === 0) {
        compressedBlocks++;
        let p = ip;
        let op = 0;
        while (p < ip + blockBytes) {
          const token = frame[p++];
          let literals = token >>> 4;
          if (literals === 15) for (let b = 255; b === 255; literals += b) b = frame[p++];
          p += literals;
          op += literals;
          if (p === ip + blockBytes) break;
          expect(op, 'literals ending within 12 bytes of the block end must be last').toBeLessThanOrEqual(outputBytes - 12);
          p += 2;
          let match = token & 15;
          if (match === 15) for (let b = 255; b === 255; match += b) b = frame[p++];
          op += match + 4;
          expect(op, 'the last 5 bytes must be literals').toBeLessThanOrEqual(outputBytes - 5);
        }
        expect(op).toBe(outputBytes);
      }
      decodedBefore += outputBytes;
      ip += blockBytes;
    }
    expect(decodedBefore).toBe(input.length);
    expect(compressedBlocks).toBe(Math.ceil(input.length / (64 * 1024)));
  });

  it('rejects garbage for every codec with RecordBatchError', () => {
    for (const codec of CODECS.filter((c) => c !== 'none')) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          expectOnlyRecordBatchError(() => decompress(codec, bytes, 1 << 20));
        }),
        { numRuns: 200 },
      );
    }
  });

  describe.runIf(hasTool('lz4'))('lz4 interoperability with the reference lz4 CLI', () => {
    for (const args of [[], ['-BD'], ['--content-size'], ['-BX'], ['--no-frame-crc'], ['-B4', '-BD', '-BX', '--content-size']]) {
      it(`decodes frames written by lz4 ${args.join(' ') || '(defaults)'}`, () => {
        expectSameBytes(decompress('lz4', run('lz4', ['-c', ...args], mixed)), mixed);
      });
    }
    it('writes frames that lz4 -d decodes', () => {
      expectSameBytes(run('lz4', ['-d', '-c'], compress('lz4', mixed)), mixed);
    });
  });

  describe.runIf(hasTool('zstd'))('zstd interoperability with the reference zstd CLI', () => {
    for (const args of [['-1'], ['-19'], ['--no-check'], ['--no-content-size']]) {
      it(`decodes frames written by zstd ${args.join(' ')}`, () => {
        expectSameBytes(decompress('zstd', run('zstd', ['-c', ...args], mixed)), mixed);
      });
    }
    it('writes (stored) frames that zstd -d decodes', () => {
      expectSameBytes(run('zstd', ['-d', '-c'], compress('zstd', mixed)), mixed);
    });
  });
});
