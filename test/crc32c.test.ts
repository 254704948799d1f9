import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative, crc32cNativeSoftware } from '../src/record/crc32c.js';

type Crc = (buf: Uint8Array, start?: number, end?: number, crc?: number) => number;

const native = nativeAddon();
const implementations: [string, Crc][] = [
  ['typescript', crc32cJs],
  ['dispatching crc32c', crc32c],
  ...(native
    ? ([
        ['native (selected path)', crc32cNative],
        ['native software path', crc32cNativeSoftware],
      ] as [string, Crc][])
    : []),
];

// RFC 3720 (iSCSI) appendix B.4 test vectors, plus the classic check value.
const VECTORS: [string, Uint8Array, number][] = [
  ['"123456789"', Buffer.from('123456789', 'ascii'), 0xe3069283],
  ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
  ['32 0xFF bytes', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['ascending 0..31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ['descending 31..0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ['empty', new Uint8Array(0), 0],
];

describe('crc32c', () => {
  it('selects SSE4.2 natively on this x86-64 machine, or TypeScript without the addon', () => {
    if (!native) {
      expect(crc32cImplementation()).toBe('typescript');
      return;
    }
    // The test machine has SSE4.2; on other CPUs 'software' is correct too.
    expect(['sse4.2', 'software']).toContain(crc32cImplementation());
    if (process.arch === 'x64') expect(crc32cImplementation()).toBe('sse4.2');
  });

  for (const [implName, fn] of implementations) {
    describe(implName, () => {
      for (const [name, input, expected] of VECTORS) {
        it(`matches the known vector for ${name}`, () => {
          expect(fn(input)).toBe(expected);
        });
      }

      it('continues a CRC: crc(a + b) equals crc(b) started from crc(a)', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
            const whole = Buffer.concat([a, b]);
            expect(fn(b, 0, b.length, fn(a))).toBe(fn(whole));
          }),
          { numRuns: 200 },
        );
      });

      it('covers only [start, end) of the buffer', () => {
        const buf = Buffer.from('xx123456789yyy', 'ascii');
        expect(fn(buf, 2, 11)).toBe(0xe3069283);
      });
    });
  }

  describe.runIf(native !== null)('native agreement with TypeScript', () => {
    it('agrees on random buffers, lengths and unaligned starts', () => {
      fc.assert(
        fc.property(
          // Up to 3 * 2 KiB * 3 + extra so every tier of the interleave (long
          // blocks, short blocks, 8-byte words, tail bytes) is exercised.
          fc.uint8Array({ minLength: 0, maxLength: 20_000 }),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: 0, max: 0xffffffff }),
          (bytes, a, b, seed) => {
            const start = bytes.length ? a % (bytes.length + 1) : 0;
            const end = start + (bytes.length - start ? b % (bytes.length - start + 1) : 0);
            const expected = crc32cJs(bytes, start, end, seed);
            expect(crc32cNative(bytes, start, end, seed)).toBe(expected);
            expect(crc32cNativeSoftware(bytes, start, end, seed)).toBe(expected);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('agrees on a 1 MiB buffer at every start alignment', () => {
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      for (let start = 0; start < 8; start++) {
        expect(crc32cNative(big, start)).toBe(crc32cJs(big, start));
      }
    });

    it('reads a Uint8Array view at its own offset, not the start of its ArrayBuffer', () => {
      const backing = Buffer.from('zzzz123456789', 'ascii');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 9);
      expect(crc32cNative(view)).toBe(0xe3069283);
    });

    it('accepts a negative crc like the TypeScript version (same 32 bits)', () => {
      const buf = Buffer.from('abc');
      expect(crc32cNative(buf, 0, 3, -1)).toBe(crc32cJs(buf, 0, 3, -1));
      expect(crc32cNative(buf, 0, 3, -1)).toBe(crc32cNative(buf, 0, 3, 0xffffffff));
    });

    it('rejects bad arguments with TypeError or RangeError instead of crashing', () => {
      const addon = native!;
      const buf = new Uint8Array(16);
      const call = (...args: unknown[]) => () => (addon.crc32c as (...a: unknown[]) => number)(...args);
      expect(call('not a buffer', 0, 1, 0)).toThrow(TypeError);
      expect(call(new Uint16Array(4), 0, 4, 0)).toThrow(TypeError);
      expect(call(new ArrayBuffer(8), 0, 4, 0)).toThrow(TypeError);
      expect(call(buf, '0', 4, 0)).toThrow(TypeError);
      expect(call(buf, 0, 17, 0)).toThrow(RangeError);
      expect(call(buf, 5, 4, 0)).toThrow(RangeError);
      expect(call(buf, -1, 4, 0)).toThrow(RangeError);
      expect(call(buf, 0.5, 4, 0)).toThrow(RangeError);
      expect(call(buf, Number.NaN, 4, 0)).toThrow(RangeError);
      expect(call(buf, 0, Infinity, 0)).toThrow(RangeError);
      expect(call(buf, 0, 4, 2 ** 32)).toThrow(RangeError);
      expect(call()).toThrow(TypeError);
      // The process is still alive and the function still works.
      expect(addon.crc32c(buf, 0, 16, 0)).toBe(crc32cJs(buf));
    });
  });
});
