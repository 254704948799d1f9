// The cleaner's in-place path for uncompressed batches (walk the records, copy
// kept records' bytes) against the decoding path it replaced: the same bytes
// out, the same counts, the same errors, over random batches that include
// headers, null keys and values, log-append time, delete horizons, non-zero
// record attributes and non-minimal varints.
import { describe, expect, it } from 'vitest';
import { BatchField, buildRecordBatch, BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, decodeBatchRecords, type RecordInput } from '../src/record/record-batch.js';
import { crc32c } from '../src/record/crc32c.js';
import { writeVarlong } from '../src/record/varint.js';
import { ATTR_DELETE_HORIZON, filterBatch, filterBatchByDecoding, type BatchFilterContext } from '../src/storage/cleaner-batch.js';
import { SkimpyOffsetMap } from '../src/storage/offset-map.js';

const T0 = 1_700_000_000_000;

// A small deterministic generator, so a failure reproduces.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface RawRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
  /** Write the offset delta and key length with a redundant continuation byte. */
  padded: boolean;
}

function varint(value: number, padded = false): number[] {
  const tmp = Buffer.alloc(12);
  const n = writeVarlong(tmp, 0, value);
  const out = [...tmp.subarray(0, n)];
  if (padded) {
    out[out.length - 1] |= 0x80;
    out.push(0);
  }
  return out;
}

function bytesField(b: Buffer | null, padded = false): number[] {
  return b === null ? varint(-1) : [...varint(b.length, padded), ...b];
}

function encodeRecord(r: RawRecord): number[] {
  const body = [r.attributes, ...varint(r.timestampDelta), ...varint(r.offsetDelta, r.padded), ...bytesField(r.key, r.padded), ...bytesField(r.value), ...varint(r.headers.length)];
  for (const h of r.headers) body.push(...bytesField(h.key), ...bytesField(h.value));
  return [...varint(body.length), ...body];
}

/** A batch with these raw records under the header buildRecordBatch writes for the options. */
function rawBatch(records: RawRecord[], options: { baseOffset: number; baseTimestamp: number; logAppend: boolean; horizon: boolean; producerId: number }): Buffer {
  const template = buildRecordBatch([{ value: 'x' }], {
    baseOffset: options.baseOffset,
    baseTimestamp: options.baseTimestamp,
    timestampType: options.logAppend ? 'log-append' : 'create',
    producerId: options.producerId,
    producerEpoch: options.producerId >= 0 ? 0 : -1,
    baseSequence: options.producerId >= 0 ? 0 : -1,
  });
  const section = Buffer.from(records.flatMap(encodeRecord));
  const out = Buffer.concat([template.subarray(0, BATCH_HEADER_BYTES), section]);
  out.writeInt32BE(out.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  out.writeInt32BE(Math.max(...records.map((r) => r.offsetDelta)), BatchField.lastOffsetDelta);
  out.writeInt32BE(records.length, BatchField.recordsCount);
  out.writeBigInt64BE(BigInt(options.baseTimestamp + Math.max(...records.map((r) => r.timestampDelta))), BatchField.maxTimestamp);
  if (options.horizon) out.writeInt16BE(out.readInt16BE(BatchField.attributes) | ATTR_DELETE_HORIZON, BatchField.attributes);
  out.writeUInt32BE(crc32c(out, BatchField.attributes, out.length, 0), BatchField.crc);
  return out;
}

function randomCase(seed: number): { batch: Buffer; context: BatchFilterContext } {
  const next = rng(seed);
  const pick = (p: number) => next() < p;
  const keys = 1 + Math.floor(next() * 6);
  const count = 1 + Math.floor(next() * 12);
  const baseOffset = Math.floor(next() * 1000);
  const baseTimestamp = T0 + Math.floor(next() * 10_000);
  const records: RawRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      attributes: pick(0.1) ? 3 : 0,
      timestampDelta: Math.floor(next() * 5000) - (pick(0.2) ? 2000 : 0),
      // Gaps in offsets, as a cleaned batch has.
      offsetDelta: i * 2 + (pick(0.5) ? 1 : 0),
      key: pick(0.1) ? null : Buffer.from(`key-${Math.floor(next() * keys)}`),
      value: pick(0.25) ? null : Buffer.alloc(Math.floor(next() * 200), 0x61 + i),
      // Header keys are strings once decoded: an invalid UTF-8 key does not survive a rebuild byte for byte (nor in Kafka).
      headers: pick(0.15) ? [{ key: pick(0.5) ? Buffer.from('h\u00e9') : Buffer.from([0x68, 0xff]), value: pick(0.5) ? null : Buffer.from('v') }] : [],
      padded: pick(0.08),
    });
  }
  const horizon = pick(0.2);
  const batch = rawBatch(records, { baseOffset, baseTimestamp, logAppend: pick(0.2), horizon, producerId: pick(0.5) ? 7 : -1 });
  const lastOffset = baseOffset + records[records.length - 1].offsetDelta;
  const map = new SkimpyOffsetMap(24 * 64);
  // The map holds, for some keys, an offset inside, before or after the batch.
  for (let k = 0; k < keys; k++) {
    if (pick(0.8)) map.put(Buffer.from(`key-${k}`), baseOffset + Math.floor(next() * (lastOffset - baseOffset + 40)) - 20);
  }
  map.updateLatestOffset(pick(0.8) ? lastOffset + 10 : baseOffset + Math.floor(next() * (lastOffset - baseOffset + 1)));
  const context: BatchFilterContext = {
    map,
    nowMs: horizon ? baseTimestamp + (pick(0.5) ? -1 : 1) : T0 + 50_000,
    deleteRetentionMs: 86_400_000,
    lastOffsetOfProducer: new Map(pick(0.5) ? [[7n, lastOffset]] : []),
  };
  return { batch, context };
}

describe('cleaner batch filter: in place vs decoding', () => {
  it('gives the same bytes, counts and timestamps over random batches', () => {
    const outcomes = { copied: 0, whole: 0, dropped: 0, empty: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const { batch, context } = randomCase(seed);
      // A prefix and suffix around the batch: the filter takes a window of a read buffer.
      const buf = Buffer.concat([Buffer.alloc(5, 9), batch, Buffer.alloc(3, 9)]);
      const fast = filterBatch(buf, 5, batch.length, context);
      const slow = filterBatchByDecoding(buf, 5, batch.length, context);
      const label = `seed ${seed}`;
      expect({ ...fast, bytes: null }, label).toEqual({ ...slow, bytes: null });
      expect(fast.bytes === null ? null : Buffer.from(fast.bytes).toString('hex'), label).toBe(slow.bytes === null ? null : Buffer.from(slow.bytes).toString('hex'));
      if (fast.bytes === null) outcomes.dropped++;
      else if (fast.recordsKept === 0) outcomes.empty++;
      else if (Buffer.from(fast.bytes).equals(batch)) outcomes.whole++;
      else {
        outcomes.copied++;
        // A rebuilt batch decodes, and keeps each kept record's key, value and headers.
        expect(decodeBatchRecords(fast.bytes).length, label).toBe(fast.recordsKept);
      }
    }
    // Every outcome is exercised, so the comparison covers the copy path.
    for (const [outcome, n] of Object.entries(outcomes)) expect(n, outcome).toBeGreaterThan(50);
  });

  it('refuses a damaged batch as decoding does', () => {
    const records: RecordInput[] = [
      { key: 'a', value: 'one', timestamp: T0 },
      { key: 'b', value: 'two', timestamp: T0 + 1 },
    ];
    const good = buildRecordBatch(records, { baseTimestamp: T0 });
    const map = new SkimpyOffsetMap(24 * 8);
    map.put(Buffer.from('a'), 5);
    map.updateLatestOffset(5);
    const context: BatchFilterContext = { map, nowMs: T0, deleteRetentionMs: 1000, lastOffsetOfProducer: new Map() };
    let refused = 0;
    // Every single-byte change inside the records section, to a few values.
    for (let at = BATCH_HEADER_BYTES; at < good.length; at++) {
      for (const value of [0x00, 0x7f, 0x80, 0xff, 0x01]) {
        const bad = Buffer.from(good);
        bad[at] = value;
        const outcome = (f: typeof filterBatch) => {
          try {
            const r = f(bad, 0, bad.length, context);
            return { ok: r.bytes === null ? null : Buffer.from(r.bytes).toString('hex'), kept: r.recordsKept };
          } catch (err) {
            return { error: (err as Error).name, message: (err as Error).message };
          }
        };
        const fast = outcome(filterBatch);
        expect(fast, `byte ${at} = ${value}`).toEqual(outcome(filterBatchByDecoding));
        if ('error' in fast) refused++;
      }
    }
    expect(refused).toBeGreaterThan(10);
  });
});
