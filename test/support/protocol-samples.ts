// Seeded sample values for the generated protocol codecs, built from the schema
// model of scripts/generate-protocol.ts: every field present at the version gets
// a non-default value, nullable fields are null a quarter of the time, arrays
// hold 1-3 elements. Shared by test/protocol-roundtrip and test/protocol-hostile.
import type { Field, Message, Range } from '../../scripts/generate-protocol.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const inRange = (v: number, r: Range): boolean => v >= r.min && v <= r.max;

export class SampleBuilder {
  constructor(private readonly rand: () => number, private readonly m: Message, private readonly version: number) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  private nonZero(lo: number, hi: number): number {
    const n = this.int(lo, hi);
    return n === 0 ? 1 : n;
  }
  private bytes(max: number): Buffer {
    const b = Buffer.alloc(this.int(1, max));
    for (let i = 0; i < b.length; i++) b[i] = this.int(0, 255);
    return b;
  }
  private uuid(): string {
    let hex = '';
    for (let i = 0; i < 16; i++) hex += this.int(0, 255).toString(16).padStart(2, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  private string(): string {
    const alphabet = 'abcXYZ09-_. é漢😀';
    const chars = [...alphabet];
    let s = '';
    const n = this.int(1, 12);
    for (let i = 0; i < n; i++) s += chars[this.int(0, chars.length - 1)];
    return s;
  }

  private primitive(type: string, defaultText: string | null): unknown {
    switch (type) {
      case 'bool':
        return defaultText !== 'true';
      case 'int8':
        return this.nonZero(-128, 127);
      case 'int16':
        return this.nonZero(-32768, 32767);
      case 'uint16':
        return this.nonZero(0, 65535);
      case 'int32':
        return this.nonZero(-(2 ** 31), 2 ** 31 - 1);
      case 'uint32':
        return this.nonZero(0, 2 ** 32 - 1);
      case 'int64':
        return (BigInt(this.nonZero(-(2 ** 31), 2 ** 31 - 1)) << 32n) | BigInt(this.int(0, 2 ** 32 - 1));
      case 'float64':
        return (this.rand() - 0.5) * 1e9 + 0.25;
      case 'string':
        return this.string();
      case 'bytes':
        return this.bytes(16);
      case 'records':
        // Sometimes large enough for the writer to append it by reference.
        return this.bytes(this.rand() < 0.2 ? 9000 : 64);
      case 'uuid':
        return this.uuid();
      default:
        throw new Error(`not a primitive: ${type}`);
    }
  }

  private value(f: Field, depth: number): unknown {
    if (inRange(this.version, f.nullable) && this.rand() < 0.25) return null;
    if (f.isArray) {
      const n = depth > 3 ? 1 : this.int(1, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.elem(f, depth + 1));
      return out;
    }
    return this.elem(f, depth + 1);
  }
  private elem(f: Field, depth: number): unknown {
    const struct = this.m.structs.get(f.type);
    if (!struct) return this.primitive(f.type, f.isArray ? null : f.defaultText);
    return this.struct(struct.fields, depth);
  }

  struct(fields: Field[], depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (!inRange(this.version, f.versions)) continue;
      out[f.prop] = this.value(f, depth);
    }
    return out;
  }
}
