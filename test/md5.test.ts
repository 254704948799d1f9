// The offset map's own MD5 against node:crypto, at every length around the
// block and padding boundaries and past the short-key limit.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5Words, SHORT_KEY_BYTES } from '../src/storage/md5.js';

describe('md5Words', () => {
  it('matches node:crypto for keys of every length up to past the short-key limit', () => {
    const out = new Int32Array(4);
    let seed = 12345;
    for (let n = 0; n <= SHORT_KEY_BYTES + 40; n++) {
      for (let r = 0; r < 8; r++) {
        const key = Buffer.alloc(n);
        for (let i = 0; i < n; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          key[i] = seed >>> 24;
        }
        // A view into a larger buffer, as the cleaner passes keys.
        const view = Buffer.concat([Buffer.from([1, 2, 3]), key, Buffer.from([4])]).subarray(3, 3 + n);
        md5Words(view, out);
        const digest = createHash('md5').update(key).digest();
        expect([...out], `length ${n}`).toEqual([0, 1, 2, 3].map((i) => digest.readInt32BE(i * 4)));
      }
    }
  });

  it('gives the RFC 1321 test digests', () => {
    const out = new Int32Array(4);
    const hex = (s: string) => {
      md5Words(Buffer.from(s), out);
      const b = Buffer.alloc(16);
      out.forEach((w, i) => b.writeInt32BE(w, i * 4));
      return b.toString('hex');
    };
    expect(hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });
});
