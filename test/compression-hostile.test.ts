// Inputs found by fuzzing: with snappyjs' decoder each kept a core busy for
// 2-10 s (it trusts literal lengths). Our decoder refuses them by length checks.
import { describe, expect, it } from 'vitest';
import { decompress, RecordBatchError } from '../src/record/compression.js';
import { compress } from '../src/record/compression.js';

const SLOW_SNAPPY_BLOCKS = [
  '64fcb12c63ea8f242b92a0434c9a00de032e0796b90330a5b752',
  'e55dfcbcb79ae93c8a49cb8eca417426ce7263935533',
  '4dfc49e219b745858d155b9e83f50c3556667cc93023c6e73fb022316517c219d3a174f12c26e425951569bc6f9f50bb68e7410d9e',
  '77fc899c859c185eacd277e5e96df501352a97c128cab6',
];

describe('snappy decoding of hostile blocks', () => {
  it.each(SLOW_SNAPPY_BLOCKS)('refuses %s by a length check', (hex) => {
    let error: unknown = null;
    try {
      decompress('snappy', Buffer.from(hex, 'hex'), 1 << 20);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RecordBatchError);
    expect((error as Error).message).toMatch(/^snappy: (literal|copy|block|truncated)/);
  });

  it('still decodes what the encoder writes, including overlapping copies', () => {
    const input = Buffer.concat([Buffer.from('abcabcabcabcabcabcabcabc'.repeat(200)), Buffer.alloc(70_000, 7), Buffer.from('tail')]);
    expect(decompress('snappy', compress('snappy', input), 1 << 20).equals(input)).toBe(true);
  });
});
