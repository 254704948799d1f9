// Every generated message round-trips at every version: values built from the
// schemas (seeded PRNG, every field present at the version set to a
// non-default sample, nulls where nullable, tagged fields set, nested arrays
// and structs) encode, decode to the same value, and re-encode to the same bytes.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMAS_DIR, intersect, isEmpty, loadSchemas } from '../scripts/generate-protocol.js';
import { SampleBuilder, mulberry32 } from './support/protocol-samples.js';
import { Reader, Writer } from '../src/protocol/codec.js';
import * as generated from '../src/protocol/generated/index.js';
import type { MessageCodec } from '../src/protocol/generated/index.js';

const HAVE_SCHEMAS = existsSync(DEFAULT_SCHEMAS_DIR);
const SAMPLES_PER_VERSION = 4;

function codecOf(name: string): MessageCodec<unknown> {
  const codec = (generated as Record<string, unknown>)[`${name}Codec`];
  if (!codec) throw new Error(`no codec for ${name}`);
  return codec as MessageCodec<unknown>;
}

export function encode(codec: MessageCodec<unknown>, version: number, value: unknown): Buffer {
  const w = new Writer();
  codec.encode(w, version, value);
  return w.toBuffer();
}

const messages = HAVE_SCHEMAS ? loadSchemas(DEFAULT_SCHEMAS_DIR) : [];

describe.skipIf(!HAVE_SCHEMAS)('generated codecs', () => {
  it('cover every schema', () => {
    expect(messages.length).toBe(157);
    for (const m of messages) expect(codecOf(m.raw.name).maxVersion).toBe(m.valid.max);
  });

  for (const m of messages) {
    it(`${m.raw.name} round-trips at every version`, () => {
      const codec = codecOf(m.raw.name);
      for (let version = m.valid.min; version <= m.valid.max; version++) {
        for (let sample = 0; sample < SAMPLES_PER_VERSION; sample++) {
          const rand = mulberry32(version * 1000 + sample + m.raw.name.length * 7919);
          const value = new SampleBuilder(rand, m, version).struct(m.top.fields);
          const bytes = encode(codec, version, value);
          const r = new Reader(bytes);
          const decoded = codec.decode(r, version);
          const where = `${m.raw.name} v${version} sample ${sample}`;
          expect(r.error, where).toBeNull();
          expect(r.ok, where).toBe(true);
          expect(r.remaining, where).toBe(0);
          expect(decoded, where).toMatchObject(value);
          expect(encode(codec, version, decoded).equals(bytes), where).toBe(true);
        }
      }
    });
  }

  it('fills fields absent at the version with their defaults', () => {
    const m = messages.find((x) => x.raw.name === 'ApiVersionsResponse');
    const decoded = generated.decodeApiVersionsResponse(new Reader(Buffer.from('0000' + '00000000', 'hex')), 0);
    expect(m).toBeDefined();
    expect(decoded.throttleTimeMs).toBe(0);
    expect(decoded.finalizedFeaturesEpoch).toBe(-1n);
    expect(decoded.supportedFeatures).toEqual([]);
    expect(isEmpty(intersect({ min: 0, max: 0 }, { min: 1, max: 2 }))).toBe(true);
  });
});
