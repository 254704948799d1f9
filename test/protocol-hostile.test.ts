// Hostile input: truncations of valid encodings and random garbage never throw
// out of a decoder (the reader marks itself bad), claimed lengths larger than
// the input are refused before allocating, and unknown tagged fields are
// skipped and kept for lossless re-encoding.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMAS_DIR, loadSchemas } from '../scripts/generate-protocol.js';
import { Reader, Writer } from '../src/protocol/codec.js';
import * as generated from '../src/protocol/generated/index.js';
import type { MessageCodec } from '../src/protocol/generated/index.js';
import { SampleBuilder } from './support/protocol-samples.js';

const HAVE_SCHEMAS = existsSync(DEFAULT_SCHEMAS_DIR);
const messages = HAVE_SCHEMAS ? loadSchemas(DEFAULT_SCHEMAS_DIR) : [];

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
}
const codecOf = (name: string): MessageCodec<unknown> => (generated as Record<string, unknown>)[`${name}Codec`] as MessageCodec<unknown>;

describe.skipIf(!HAVE_SCHEMAS)('decoders on hostile input', () => {
  it('never throw on truncations of valid encodings, and mark the reader bad', () => {
    for (const m of messages) {
      const codec = codecOf(m.raw.name);
      const rand = prng(m.raw.name.length);
      for (let version = m.valid.min; version <= m.valid.max; version++) {
        const value = new SampleBuilder(rand, m, version).struct(m.top.fields);
        const w = new Writer();
        codec.encode(w, version, value);
        const bytes = w.toBuffer();
        for (let k = 0; k < 8 && bytes.length > 0; k++) {
          const cut = Math.floor(rand() * bytes.length);
          const r = new Reader(bytes.subarray(0, cut));
          expect(() => codec.decode(r, version)).not.toThrow();
          expect(r.ok, `${m.raw.name} v${version} cut at ${cut} of ${bytes.length}`).toBe(false);
        }
      }
    }
  });

  it('never throw on random garbage', () => {
    const rand = prng(42);
    for (const m of messages) {
      const codec = codecOf(m.raw.name);
      for (let version = m.valid.min; version <= m.valid.max; version++) {
        for (let k = 0; k < 6; k++) {
          const garbage = Buffer.alloc(Math.floor(rand() * 200));
          for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rand() * 256);
          const r = new Reader(garbage);
          expect(() => codec.decode(r, version)).not.toThrow();
          expect(r.pos).toBeLessThanOrEqual(r.end);
        }
      }
    }
  });

  it('refuses an array count of 2^31-1 with 10 bytes of input, quickly', () => {
    const frame = Buffer.from('7fffffff' + '000000000000', 'hex'); // Metadata v1 topics count
    const started = performance.now();
    const r = new Reader(frame);
    generated.decodeMetadataRequest(r, 1);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/array count beyond input/);
    expect(performance.now() - started).toBeLessThan(50);
    // The same through a compact count (uvarint 2^31) in a flexible version.
    const compact = new Reader(Buffer.from('8080808008' + '0000000000', 'hex'));
    generated.decodeMetadataRequest(compact, 12);
    expect(compact.ok).toBe(false);
  });

  it('refuses string, bytes and records lengths beyond the input', () => {
    const r1 = new Reader(Buffer.from('7fff6162', 'hex'));
    expect(r1.string()).toBe('');
    expect(r1.ok).toBe(false);
    const r2 = new Reader(Buffer.from('7fffffff00', 'hex'));
    expect(r2.nullableBytesView()).toBeNull();
    expect(r2.ok).toBe(false);
    const r3 = new Reader(Buffer.from('ffffffff0f', 'hex')); // uvarint 2^32 - 1: over the remaining bytes
    expect(r3.compactBytes().length).toBe(0);
    expect(r3.ok).toBe(false);
    const r4 = new Reader(Buffer.from('ffffffff7f', 'hex')); // more than 32 bits
    r4.uvarint();
    expect(r4.error).toMatch(/over 32 bits/);
  });

  it('skips unknown tagged fields and keeps them for re-encoding', () => {
    // ApiVersions request v3 with an unknown tag 7 (3 bytes) after the known fields.
    const frame = Buffer.from('02' + '61' + '02' + '62' + '01' + '07' + '03' + 'aabbcc', 'hex');
    const r = new Reader(frame);
    const body = generated.decodeApiVersionsRequest(r, 3);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(body).toMatchObject({ clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
    expect(body._unknownTaggedFields).toEqual([{ tag: 7, data: Buffer.from('aabbcc', 'hex') }]);
    const w = new Writer();
    generated.encodeApiVersionsRequest(w, 3, body);
    expect(w.toBuffer().equals(frame)).toBe(true);
  });

  it('merges unknown tags with known ones in ascending order on write', () => {
    const w = new Writer();
    generated.encodeApiVersionsResponse(w, 3, {
      errorCode: 0,
      apiKeys: [],
      finalizedFeaturesEpoch: 9n,
      _unknownTaggedFields: [{ tag: 0, data: Buffer.from('00', 'hex') }, { tag: 9, data: Buffer.alloc(0) }],
    });
    // header-less body: errorCode, empty compact array, throttle, then 3 tags: 0, 1 (known), 9
    expect(w.toBuffer().toString('hex')).toBe('0000' + '01' + '00000000' + '03' + '000100' + '01080000000000000009' + '0900');
  });

  it('marks a known tagged field whose size disagrees with its value as bad', () => {
    // ApiVersions response v3, tag 1 (int64) declared as 4 bytes.
    const frame = Buffer.from('0000' + '01' + '00000000' + '01' + '0104' + '0000000000000005', 'hex');
    const r = new Reader(frame);
    expect(() => generated.decodeApiVersionsResponse(r, 3)).not.toThrow();
    expect(r.ok).toBe(false);
  });
});

describe('encoders', () => {
  it('throw on a non-default value for a field the version lacks, unless ignorable', () => {
    // MetadataRequest.AllowAutoTopicCreation (v4+) is not ignorable; false is not its default (true).
    expect(() => generated.encodeMetadataRequest(new Writer(), 3, { topics: null, allowAutoTopicCreation: false })).toThrow(/allowAutoTopicCreation/);
    expect(() => generated.encodeMetadataRequest(new Writer(), 3, { topics: null, allowAutoTopicCreation: true })).not.toThrow();
    // ApiVersionsResponse.ThrottleTimeMs (v1+) is ignorable: dropped silently at v0.
    const w = new Writer();
    generated.encodeApiVersionsResponse(w, 0, { errorCode: 0, apiKeys: [], throttleTimeMs: 100 });
    expect(w.toBuffer().toString('hex')).toBe('0000' + '00000000');
  });

  it('throw on null where the version does not allow it', () => {
    expect(() => generated.encodeMetadataRequest(new Writer(), 0, { topics: null })).toThrow(/not nullable/);
  });
});
