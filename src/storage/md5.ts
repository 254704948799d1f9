// MD5 of short keys (RFC 1321) straight into four words, for the cleaner's
// offset map: node:crypto costs about 0.75 µs a call for a 14-byte key, most of
// it crossing into C++ and allocating the result, twice per record per clean.
// Keys longer than SHORT_KEY_BYTES go to node:crypto, where the hashing itself
// dominates. The words are the digest read as four big-endian int32s.
import * as crypto from 'node:crypto';

/** Longest key hashed here: it and its padding fit the two-block scratch. */
export const SHORT_KEY_BYTES = 119;

// K[i] = floor(|sin(i + 1)| * 2^32), as the RFC defines them.
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;
const SHIFTS = new Int32Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);
const scratch = new Uint8Array(128);
const words = new Int32Array(16);

// crypto.hash (Node 20.12+) digests in one call, without a Hash object per key.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

function swap(x: number): number {
  return ((x & 0xff) << 24) | (((x >>> 8) & 0xff) << 16) | (((x >>> 16) & 0xff) << 8) | (x >>> 24);
}

/** Writes MD5(key) into out[0..3] as big-endian int32 words. */
export function md5Words(key: Uint8Array, out: Int32Array): void {
  const n = key.length;
  if (n > SHORT_KEY_BYTES) {
    const digest = oneShotHash ? oneShotHash('md5', key, 'buffer') : crypto.createHash('md5').update(key).digest();
    for (let i = 0; i < 4; i++) out[i] = digest.readInt32BE(i * 4);
    return;
  }
  const total = (((n + 8) >>> 6) + 1) << 6;
  scratch.set(key, 0);
  scratch[n] = 0x80;
  scratch.fill(0, n + 1, total - 8);
  const bits = n * 8;
  scratch[total - 8] = bits & 0xff;
  scratch[total - 7] = (bits >>> 8) & 0xff;
  scratch[total - 6] = (bits >>> 16) & 0xff;
  scratch[total - 5] = (bits >>> 24) & 0xff;
  scratch.fill(0, total - 4, total);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let block = 0; block < total; block += 64) {
    for (let j = 0; j < 16; j++) {
      const p = block + j * 4;
      words[j] = scratch[p] | (scratch[p + 1] << 8) | (scratch[p + 2] << 16) | (scratch[p + 3] << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      f = (f + a + K[i] + words[g]) | 0;
      a = d;
      d = c;
      c = b;
      const s = SHIFTS[((i >>> 4) << 2) | (i & 3)];
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  out[0] = swap(a0);
  out[1] = swap(b0);
  out[2] = swap(c0);
  out[3] = swap(d0);
}
