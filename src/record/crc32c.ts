// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka
// RecordBatch v2. `crc32c` uses the native addon (SSE4.2) when loaded and the
// table-driven TypeScript version otherwise; both are exported for contract tests.
//
// The addon also exports `crc32cSoftware` (its portable slicing-by-8 path),
// which src/native/types.ts does not declare yet; it is reached through
// NativeCrc32cExtras below so tests and benchmarks can check the path a CPU
// without SSE4.2 would take.
import { nativeAddon } from '../native/addon.js';
import type { NativeAddon } from '../native/types.js';

type Crc32cFunction = (buf: Uint8Array, start: number, end: number, crc: number) => number;

/** Exports of native/crc32c.cc beyond the NativeAddon contract. */
interface NativeCrc32cExtras {
  crc32cSoftware?: Crc32cFunction;
}

const POLY = 0x82f63b78;

// Slicing-by-8 tables: 8 x 256 entries, table k maps a byte k positions back.
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/** CRC32C of buf[start, end) in TypeScript, continuing from `crc` (0 to start). */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc >>> 0;
  let i = start;
  const t = TABLES;
  for (; i + 8 <= end; i += 8) {
    const lo = (c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0;
    c =
      t[7 * 256 + (lo & 0xff)] ^
      t[6 * 256 + ((lo >>> 8) & 0xff)] ^
      t[5 * 256 + ((lo >>> 16) & 0xff)] ^
      t[4 * 256 + (lo >>> 24)] ^
      t[3 * 256 + buf[i + 4]] ^
      t[2 * 256 + buf[i + 5]] ^
      t[1 * 256 + buf[i + 6]] ^
      t[buf[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32C through the addon; throws if it is not loaded. */
export function crc32cNative(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const addon = nativeAddon();
  if (!addon) throw new Error('samsa native addon not loaded');
  return addon.crc32c(buf, start, end, crc);
}

/** CRC32C through the addon's software (slicing-by-8) path; throws if it is not loaded. */
export function crc32cNativeSoftware(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const addon: (NativeAddon & NativeCrc32cExtras) | null = nativeAddon();
  if (!addon?.crc32cSoftware) throw new Error('samsa native addon not loaded or without crc32cSoftware');
  return addon.crc32cSoftware(buf, start, end, crc);
}

/** Which implementation `crc32c` runs: the addon's ('sse4.2' | 'software') or 'typescript'. */
export function crc32cImplementation(): 'sse4.2' | 'software' | 'typescript' {
  const addon = nativeAddon();
  return addon ? addon.crc32cImplementation() : 'typescript';
}

const addon = nativeAddon();

/** CRC32C of buf[start, end): native when available, TypeScript otherwise. */
export const crc32c: (buf: Uint8Array, start?: number, end?: number, crc?: number) => number = addon
  ? (buf, start = 0, end = buf.length, crc = 0) => addon.crc32c(buf, start, end, crc)
  : crc32cJs;
