// CRC32C throughput: native hardware path (SSE4.2, 3-way interleave), native
// software path (slicing-by-8) and the TypeScript fallback, on 1 MiB buffers
// (a large produce request) and 16 KiB (a typical single batch).
//
// Expected numbers: the crc32 instruction retires 8 bytes per cycle when three
// chains run in parallel, so ~3 GHz gives a ceiling near 24 GB/s; the issue's
// target is >= 5 GB/s. Slicing-by-8 costs about 8 table loads per 8 bytes:
// ~1-2 GB/s native, less in JS. Each sample hashes ~64 MiB (16 MiB quick) so a
// sample lasts milliseconds, well above timer resolution.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { nativeAddon } from '../../src/native/addon.js';
import { crc32cJs, crc32cNative, crc32cNativeSoftware } from '../../src/record/crc32c.js';
import type { BenchOptions, BenchResult } from './harness.js';
import { defaultOptions, formatResult, repeat } from './harness.js';

type Crc = (buf: Uint8Array, start: number, end: number, crc: number) => number;

const SIZES: [string, number][] = [
  ['1MiB', 1 << 20],
  ['16KiB', 16 << 10],
];

function measureGBps(fn: Crc, buf: Uint8Array, bytesPerSample: number): number {
  const iterations = Math.max(1, Math.round(bytesPerSample / buf.length));
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= fn(buf, 0, buf.length, 0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Keeps the result observable so the loop cannot be optimised away.
  if (sink === 0.5) console.log(sink);
  return (iterations * buf.length) / seconds / 1e9;
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const addon = nativeAddon();
  const nativeBytes = options.quick ? 16 << 20 : 64 << 20;
  // The TypeScript path is ~10x slower; a smaller sample keeps the run short.
  const jsBytes = nativeBytes / 8;
  const candidates: [string, Crc, number][] = [['typescript', crc32cJs, jsBytes]];
  if (addon) {
    candidates.unshift(
      [`native.${addon.crc32cImplementation()}`, crc32cNative, nativeBytes],
      ['native.software', crc32cNativeSoftware, jsBytes],
    );
  }
  const results: BenchResult[] = [];
  for (const [sizeName, size] of SIZES) {
    const buf = randomBytes(size);
    for (const [implName, fn, bytes] of candidates) {
      measureGBps(fn, buf, bytes / 4); // warm-up: JIT and page faults
      results.push(
        await repeat(`crc32c.${implName}.${sizeName}`, 'GB/s', options.runs, () => measureGBps(fn, buf, bytes), {
          bufferBytes: size,
        }),
      );
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await run(defaultOptions());
  for (const r of results) console.log(formatResult(r));
}
