import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import type { NativeIndexFile } from '../src/native/types.js';
import {
  CorruptIndexError,
  IndexFullError,
  IndexOffsetOverflowError,
  IndexOrderError,
  JsIndexFile,
  NO_TIMESTAMP,
  OffsetIndex,
  TimeIndex,
  type IndexImpl,
  type IndexOptions,
} from '../src/storage/index-file.js';

const addon = nativeAddon();
const IMPLS: readonly IndexImpl[] = ['native', 'js'];

/** describe.each over both implementations, skipping native when the addon is not loaded. */
function forEachImpl(name: string, body: (impl: IndexImpl) => void): void {
  for (const impl of IMPLS) describe.skipIf(impl === 'native' && !addon)(`${name} (${impl})`, () => body(impl));
}

let dir = '';
const opened: { close(): void }[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
});

afterEach(() => {
  for (const index of opened.splice(0)) index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string): string {
  return path.join(dir, name);
}

function track<T extends { close(): void }>(index: T): T {
  opened.push(index);
  return index;
}

function offsetIndex(name: string, baseOffset: number, options: IndexOptions): OffsetIndex {
  return track(new OffsetIndex(file(name), baseOffset, options));
}

function timeIndex(name: string, baseOffset: number, options: IndexOptions): TimeIndex {
  return track(new TimeIndex(file(name), baseOffset, options));
}

function hex(name: string): string {
  return fs.readFileSync(file(name)).toString('hex');
}

// Deterministic gaps from a fast-check seed, so big indexes cost no shrinking time.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function increasing(count: number, start: number, maxGap: number, random: () => number): number[] {
  const out: number[] = [];
  let value = start;
  for (let i = 0; i < count; i++) {
    value += 1 + Math.floor(random() * maxGap);
    out.push(value);
  }
  return out;
}

// Targets that hit every case: below the base, each exact key, just after
// keys, spread over the range (both the cold part and the warm last 8 KiB), above the last.
function targetsFor(keys: number[], low: number, fractions: number[], slots: number[]): number[] {
  const high = keys.length ? keys[keys.length - 1] : low;
  const targets = [low - 1, low, high, high + 1, high + 1000];
  for (const f of fractions) targets.push(Math.floor(low - 2 + f * (high - low + 4)));
  for (const s of slots) {
    if (keys.length === 0) break;
    const key = keys[s % keys.length];
    targets.push(key, key - 1, key + 1);
  }
  return targets;
}

forEachImpl('OffsetIndex', (impl) => {
  const writable = (maxIndexBytes: number): IndexOptions => ({ maxIndexBytes, writable: true, impl });

  it('writes Kafka-format big-endian entries relative to the base offset and trims on close', () => {
    const index = offsetIndex('a.index', 1000, writable(1024));
    index.append(1000, 0);
    index.append(1005, 4096);
    index.append(1000 + 0x01020304, 0x7fffffff);
    index.close();
    expect(hex('a.index')).toBe(
      '00000000' + '00000000' + '00000005' + '00001000' + '01020304' + '7fffffff',
    );
  });

  it('does not touch the disk until first use, then preallocates to whole entries', () => {
    const index = offsetIndex('lazy.index', 0, writable(1001));
    expect(index.isLoaded).toBe(false);
    expect(fs.existsSync(file('lazy.index'))).toBe(false);
    expect(index.entryCount).toBe(0);
    expect(index.isLoaded).toBe(true);
    expect(index.maxEntries).toBe(125);
    expect(fs.statSync(file('lazy.index')).size).toBe(1000);
    index.close();
    expect(index.isLoaded).toBe(false);
    expect(fs.statSync(file('lazy.index')).size).toBe(0);
  });

  it('opens again lazily after close and keeps its entries', () => {
    const index = offsetIndex('reopen.index', 50, writable(80));
    index.append(51, 10);
    index.append(60, 20);
    index.close();
    expect(fs.statSync(file('reopen.index')).size).toBe(16);
    expect(index.lookup(59)).toEqual({ offset: 51, position: 10 });
    expect(index.isLoaded).toBe(true);
    // A writable reopen is extended to maxIndexBytes again, so appends continue.
    expect(index.maxEntries).toBe(10);
    expect(index.lastOffset).toBe(60);
    index.append(70, 30);
    const other = offsetIndex('reopen.index', 50, { maxIndexBytes: 80, writable: false, impl });
    index.close();
    expect(other.entryCount).toBe(3);
    expect(other.entry(2)).toEqual({ offset: 70, position: 30 });
  });

  it('returns (baseOffset, 0) from an empty index and for targets below the first entry', () => {
    const index = offsetIndex('empty.index', 100, writable(64));
    expect(index.lookup(500)).toEqual({ offset: 100, position: 0 });
    expect(index.lastOffset).toBe(100);
    index.append(110, 7);
    expect(index.lookup(109)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(-5)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(110)).toEqual({ offset: 110, position: 7 });
  });

  it('finds the largest entry at or below the target, like a linear scan (warm and cold sections)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (count, maxGap, seed, baseOffset, fractions, slots) => {
          const random = mulberry32(seed);
          const offsets = increasing(count, baseOffset - 1, maxGap, random);
          const positions = increasing(count, -1, 4096, random);
          const name = `p${seed}-${count}.index`;
          const index = new OffsetIndex(file(name), baseOffset, writable(Math.max(8, count * 8)));
          try {
            for (let i = 0; i < count; i++) index.append(offsets[i], positions[i]);
            for (const target of targetsFor(offsets, baseOffset, fractions, slots)) {
              let expected = { offset: baseOffset, position: 0 };
              for (let i = 0; i < count && offsets[i] <= target; i++) {
                expected = { offset: offsets[i], position: positions[i] };
              }
              expect(index.lookup(target)).toEqual(expected);
            }
          } finally {
            index.deleteFile();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects an offset that is not larger than the last one', () => {
    const index = offsetIndex('order.index', 0, writable(64));
    index.append(0, 0);
    index.append(5, 100);
    expect(() => index.append(5, 200)).toThrow(IndexOrderError);
    expect(() => index.append(4, 200)).toThrow(IndexOrderError);
    expect(index.entryCount).toBe(2);
    index.append(6, 200);
    expect(index.lastOffset).toBe(6);
  });

  it('throws IndexFullError when every slot is used', () => {
    const index = offsetIndex('full.index', 0, writable(24));
    index.append(1, 0);
    index.append(2, 0);
    expect(index.isFull).toBe(false);
    index.append(3, 0);
    expect(index.isFull).toBe(true);
    expect(() => index.append(4, 0)).toThrow(IndexFullError);
    expect(index.entryCount).toBe(3);
  });

  it('throws IndexOffsetOverflowError when the relative offset does not fit an int32', () => {
    const base = 2 ** 40;
    const index = offsetIndex('overflow.index', base, writable(64));
    expect(index.canAppendOffset(base + 2 ** 31 - 1)).toBe(true);
    expect(index.canAppendOffset(base + 2 ** 31)).toBe(false);
    expect(index.canAppendOffset(base - 1)).toBe(false);
    expect(() => index.append(base - 1, 0)).toThrow(IndexOffsetOverflowError);
    expect(() => index.append(base + 2 ** 31, 0)).toThrow(IndexOffsetOverflowError);
    index.append(base + 2 ** 31 - 1, 0);
    expect(index.lookup(base + 2 ** 32)).toEqual({ offset: base + 2 ** 31 - 1, position: 0 });
    expect(() => index.append(base + 2 ** 31 + 5, 0)).toThrow(IndexOffsetOverflowError);
  });

  it('rejects positions outside [0, 2^31-1]', () => {
    const index = offsetIndex('position.index', 0, writable(64));
    expect(() => index.append(1, -1)).toThrow(RangeError);
    expect(() => index.append(1, 2 ** 31)).toThrow(RangeError);
    expect(() => index.append(1, 1.5)).toThrow(RangeError);
    expect(index.entryCount).toBe(0);
  });

  it('truncateTo removes every entry at or above the offset', () => {
    const index = offsetIndex('trunc.index', 100, writable(800));
    for (const o of [100, 110, 120, 130, 140]) index.append(o, o * 10);
    index.truncateTo(150); // above the last: no effect
    expect(index.entryCount).toBe(5);
    index.truncateTo(130); // exact: the entry goes too
    expect(index.entryCount).toBe(3);
    expect(index.lastOffset).toBe(120);
    index.truncateTo(115); // between: keeps 110
    expect(index.entryCount).toBe(2);
    expect(index.lastOffset).toBe(110);
    index.append(111, 5); // appends continue after the cut
    expect(index.lookup(200)).toEqual({ offset: 111, position: 5 });
    index.truncateTo(50); // below the first
    expect(index.entryCount).toBe(0);
    expect(index.lastOffset).toBe(100);
    index.append(100, 1);
    index.close();
    expect(hex('trunc.index')).toBe('0000000000000001');
  });

  it('resizes, trims to the valid entries on roll, and refuses to cut valid entries', () => {
    const index = offsetIndex('resize.index', 0, writable(80));
    index.append(1, 1);
    index.append(2, 2);
    index.resize(163);
    expect(index.maxEntries).toBe(20);
    expect(fs.statSync(file('resize.index')).size).toBe(160);
    expect(() => index.resize(15)).toThrow(RangeError);
    index.trimToValidSize();
    expect(fs.statSync(file('resize.index')).size).toBe(16);
    expect(index.isFull).toBe(true);
    expect(index.lookup(5)).toEqual({ offset: 2, position: 2 });
    index.truncate();
    index.trimToValidSize();
    expect(fs.statSync(file('resize.index')).size).toBe(0);
    expect(index.lookup(5)).toEqual({ offset: 0, position: 0 });
    expect(() => index.append(3, 3)).toThrow(IndexFullError);
    index.reset();
    expect(index.maxEntries).toBe(10);
    index.append(3, 3);
    expect(index.entry(0)).toEqual({ offset: 3, position: 3 });
  });

  it('counts every slot of an untrimmed preallocated file as an entry, as Kafka does after a crash', () => {
    const index = offsetIndex('crash.index', 500, writable(80));
    index.append(501, 11);
    index.append(502, 22);
    // Copy while still open: the bytes an unclean shutdown would leave behind.
    fs.copyFileSync(file('crash.index'), file('copy.index'));
    const reopened = offsetIndex('copy.index', 500, writable(80));
    expect(reopened.entryCount).toBe(10);
    expect(reopened.entry(1)).toEqual({ offset: 502, position: 22 });
    expect(reopened.entry(9)).toEqual({ offset: 500, position: 0 });
    expect(reopened.lastOffset).toBe(500);
    expect(reopened.isFull).toBe(true);
    // Zero relative offsets are not below the base, so Kafka's check passes;
    // the log's recovery rebuilds the index of an uncleanly closed segment.
    expect(() => reopened.sanityCheck()).not.toThrow();
    reopened.reset();
    expect(reopened.entryCount).toBe(0);
  });

  it('sanityCheck reports a size that is not a multiple of 8', () => {
    fs.writeFileSync(file('odd.index'), Buffer.from('000000010000000200', 'hex'));
    const index = offsetIndex('odd.index', 0, { maxIndexBytes: 64, writable: false, impl });
    expect(index.entryCount).toBe(1);
    expect(index.entry(0)).toEqual({ offset: 1, position: 2 });
    expect(() => index.sanityCheck()).toThrow(CorruptIndexError);
    const writableIndex = offsetIndex('odd.index', 0, writable(64));
    expect(() => writableIndex.sanityCheck()).toThrow(/not a multiple of 8/);
  });

  it('sanityCheck reports a last offset below the base offset', () => {
    fs.writeFileSync(file('neg.index'), Buffer.from('00000001000000aa' + 'ffffffff000000bb', 'hex'));
    const index = offsetIndex('neg.index', 10, { maxIndexBytes: 64, writable: false, impl });
    expect(index.lastOffset).toBe(9);
    expect(() => index.sanityCheck()).toThrow(CorruptIndexError);
    try {
      index.sanityCheck();
    } catch (err) {
      expect((err as CorruptIndexError).path).toBe(file('neg.index'));
    }
  });

  it('opens read-only files without creating, extending or writing them', () => {
    const readOnly = { maxIndexBytes: 64, writable: false, impl };
    const missing = offsetIndex('missing.index', 0, readOnly);
    expect(() => missing.entryCount).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(fs.existsSync(file('missing.index'))).toBe(false);
    fs.writeFileSync(file('ro.index'), Buffer.from('0000000100000002' + '0000000300000004', 'hex'));
    const index = offsetIndex('ro.index', 0, readOnly);
    expect(index.maxEntries).toBe(2);
    expect(() => index.append(9, 9)).toThrow(/read-only/);
    index.truncateTo(3);
    expect(index.lookup(10)).toEqual({ offset: 1, position: 2 });
    index.close();
    expect(hex('ro.index')).toBe('0000000100000002' + '0000000300000004');
  });

  it('opens an empty read-only file without mapping it', () => {
    fs.writeFileSync(file('zero.index'), Buffer.alloc(0));
    const index = offsetIndex('zero.index', 7, { maxIndexBytes: 64, writable: false, impl });
    expect(index.entryCount).toBe(0);
    expect(index.maxEntries).toBe(0);
    expect(index.lookup(100)).toEqual({ offset: 7, position: 0 });
  });

  it('deleteFile closes and removes the file; renameTo moves it, open or not', () => {
    const index = offsetIndex('del.index', 0, writable(64));
    index.append(1, 1);
    index.renameTo(file('del.index.deleted'));
    expect(fs.existsSync(file('del.index'))).toBe(false);
    index.append(2, 2); // the open mapping survives the rename
    index.close();
    expect(hex('del.index.deleted')).toBe('0000000100000001' + '0000000200000002');
    expect(index.entryCount).toBe(2);
    index.deleteFile();
    expect(index.isLoaded).toBe(false);
    expect(fs.existsSync(file('del.index.deleted'))).toBe(false);
    const never = offsetIndex('never.index', 0, writable(64));
    never.renameTo(file('never.index.swap'));
    expect(never.path).toBe(file('never.index.swap'));
    expect(never.entryCount).toBe(0);
    expect(fs.existsSync(file('never.index.swap'))).toBe(true);
  });

  it('flush keeps the entries and the file size', () => {
    const index = offsetIndex('flush.index', 0, writable(64));
    index.flush(); // not loaded: nothing to do, nothing created
    expect(fs.existsSync(file('flush.index'))).toBe(false);
    index.append(3, 4);
    index.flush();
    expect(fs.statSync(file('flush.index')).size).toBe(64);
    expect(fs.readFileSync(file('flush.index')).subarray(0, 8).toString('hex')).toBe('0000000300000004');
  });

  it('rejects bad options at construction', () => {
    expect(() => new OffsetIndex(file('x.index'), -1, writable(64))).toThrow(RangeError);
    expect(() => new OffsetIndex(file('x.index'), 0, writable(7))).toThrow(RangeError);
    expect(() => new OffsetIndex(file('x.index'), 0, writable(2 ** 31))).toThrow(RangeError);
    expect(fs.existsSync(file('x.index'))).toBe(false);
  });
});

forEachImpl('TimeIndex', (impl) => {
  const writable = (maxIndexBytes: number): IndexOptions => ({ maxIndexBytes, writable: true, impl });

  it('writes Kafka-format 12-byte entries: timestamp int64 and relative offset int32', () => {
    const index = timeIndex('a.timeindex', 1000, writable(1200));
    index.maybeAppend(1_700_000_000_123, 1000);
    index.maybeAppend(2 ** 41 + 5, 1003);
    index.close();
    expect(hex('a.timeindex')).toBe(
      '0000018bcfe5687b' + '00000000' + '0000020000000005' + '00000003',
    );
  });

  it('appends only growing timestamps, skips equal ones and NO_TIMESTAMP', () => {
    const index = timeIndex('rules.timeindex', 100, writable(1200));
    expect(index.lastEntry()).toEqual({ timestamp: NO_TIMESTAMP, offset: 100 });
    index.maybeAppend(NO_TIMESTAMP, 100);
    index.maybeAppend(-5, 100); // below NO_TIMESTAMP into an empty index: ignored like Kafka
    expect(index.entryCount).toBe(0);
    index.maybeAppend(1000, 105);
    index.maybeAppend(1000, 105); // the re-append on roll/close
    index.maybeAppend(1000, 107);
    expect(index.entryCount).toBe(1);
    index.maybeAppend(1001, 107); // same offset, larger timestamp: appended
    expect(index.entryCount).toBe(2);
    expect(() => index.maybeAppend(2000, 106)).toThrow(IndexOrderError);
    expect(() => index.maybeAppend(999, 110)).toThrow(IndexOrderError);
    expect(() => index.maybeAppend(5000, 100 + 2 ** 31)).toThrow(IndexOffsetOverflowError);
    expect(() => index.maybeAppend(1.5e3 + 0.5, 110)).toThrow(RangeError);
    expect(index.lastEntry()).toEqual({ timestamp: 1001, offset: 107 });
  });

  it('keeps the last slot for the roll: full at maxEntries - 1 unless skipFullCheck', () => {
    const index = timeIndex('full.timeindex', 0, writable(36));
    index.maybeAppend(10, 1);
    expect(index.isFull).toBe(false);
    index.maybeAppend(20, 2);
    expect(index.isFull).toBe(true);
    expect(() => index.maybeAppend(30, 3)).toThrow(IndexFullError);
    index.maybeAppend(30, 3, true);
    expect(index.entryCount).toBe(3);
    expect(() => index.maybeAppend(40, 4, true)).toThrow(IndexFullError);
  });

  it('finds the largest timestamp at or below the target, like a linear scan (warm and cold sections)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (count, maxGap, seed, baseOffset, fractions, slots) => {
          const random = mulberry32(seed);
          const timestamps = increasing(count, 1_600_000_000_000, maxGap, random);
          const offsets = increasing(count, baseOffset - 1, 100, random);
          const name = `p${seed}-${count}.timeindex`;
          const index = new TimeIndex(file(name), baseOffset, writable((count + 1) * 12));
          try {
            for (let i = 0; i < count; i++) index.maybeAppend(timestamps[i], offsets[i]);
            expect(index.entryCount).toBe(count);
            for (const target of targetsFor(timestamps, 1_600_000_000_000, fractions, slots)) {
              let expected = { timestamp: NO_TIMESTAMP, offset: baseOffset };
              for (let i = 0; i < count && timestamps[i] <= target; i++) {
                expected = { timestamp: timestamps[i], offset: offsets[i] };
              }
              expect(index.lookup(target)).toEqual(expected);
            }
          } finally {
            index.deleteFile();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('truncateTo removes entries whose offset is at or above the target', () => {
    const index = timeIndex('trunc.timeindex', 100, writable(1200));
    for (let i = 0; i < 5; i++) index.maybeAppend(1000 + i * 10, 100 + i * 10); // offsets 100..140
    index.truncateTo(1000);
    expect(index.entryCount).toBe(5);
    index.truncateTo(130);
    expect(index.lastEntry()).toEqual({ timestamp: 1020, offset: 120 });
    index.truncateTo(115);
    expect(index.lastEntry()).toEqual({ timestamp: 1010, offset: 110 });
    index.truncateTo(100);
    expect(index.entryCount).toBe(0);
    expect(index.lastEntry()).toEqual({ timestamp: NO_TIMESTAMP, offset: 100 });
    // The last timestamp resets, so an older timestamp is accepted again.
    index.maybeAppend(500, 100);
    expect(index.lookup(600)).toEqual({ timestamp: 500, offset: 100 });
  });

  it('truncateTo also removes earlier entries that repeat the offset', () => {
    const index = timeIndex('dups.timeindex', 0, writable(1200));
    index.maybeAppend(10, 5);
    index.maybeAppend(20, 7);
    index.maybeAppend(30, 7);
    index.maybeAppend(40, 7);
    index.maybeAppend(50, 9);
    index.truncateTo(7);
    expect(index.entryCount).toBe(1);
    expect(index.lastEntry()).toEqual({ timestamp: 10, offset: 5 });
  });

  it('truncateTo works across the warm and cold sections', () => {
    const count = 1500; // more than the 682 warm entries
    const index = timeIndex('big.timeindex', 0, writable((count + 1) * 12));
    for (let i = 0; i < count; i++) index.maybeAppend(10 * i + 10, 2 * i);
    index.truncateTo(2 * 1400 + 1); // warm section, between entries
    expect(index.entryCount).toBe(1401);
    index.truncateTo(2 * 100); // cold section, exact
    expect(index.entryCount).toBe(100);
    expect(index.lastEntry()).toEqual({ timestamp: 1000, offset: 198 });
  });

  it('reopens with its entries and last entry', () => {
    const index = timeIndex('reopen.timeindex', 10, writable(120));
    index.maybeAppend(100, 11);
    index.maybeAppend(200, 15);
    index.close();
    expect(fs.statSync(file('reopen.timeindex')).size).toBe(24);
    const again = timeIndex('reopen.timeindex', 10, { maxIndexBytes: 120, writable: false, impl });
    expect(again.lastEntry()).toEqual({ timestamp: 200, offset: 15 });
    expect(again.lookup(150)).toEqual({ timestamp: 100, offset: 11 });
    expect(() => again.sanityCheck()).not.toThrow();
  });

  it('after a crash takes the zero last slot as the last entry, which sanityCheck rejects', () => {
    const index = timeIndex('crash.timeindex', 300, writable(120));
    index.maybeAppend(1_700_000_000_000, 301);
    fs.copyFileSync(file('crash.timeindex'), file('copy.timeindex'));
    const reopened = timeIndex('copy.timeindex', 300, writable(120));
    expect(reopened.entryCount).toBe(10);
    expect(reopened.lastEntry()).toEqual({ timestamp: 0, offset: 300 });
    expect(() => reopened.sanityCheck()).toThrow(CorruptIndexError);
    // A preallocated file that never got an entry is all zeros: consistent to Kafka.
    const blank = timeIndex('blank.timeindex', 300, writable(120));
    expect(blank.entryCount).toBe(0);
    fs.copyFileSync(file('blank.timeindex'), file('blank-copy.timeindex'));
    const blankCopy = timeIndex('blank-copy.timeindex', 300, writable(120));
    expect(blankCopy.lastEntry()).toEqual({ timestamp: 0, offset: 300 });
    expect(() => blankCopy.sanityCheck()).not.toThrow();
  });

  it('sanityCheck reports a size that is not a multiple of 12 and offsets below the base', () => {
    fs.writeFileSync(file('odd.timeindex'), Buffer.alloc(13));
    const odd = timeIndex('odd.timeindex', 0, { maxIndexBytes: 120, writable: false, impl });
    expect(() => odd.sanityCheck()).toThrow(/not a multiple of 12/);
    fs.writeFileSync(file('neg.timeindex'), Buffer.from('0000000000000064' + 'fffffffe', 'hex'));
    const neg = timeIndex('neg.timeindex', 5, { maxIndexBytes: 120, writable: false, impl });
    expect(neg.lastEntry()).toEqual({ timestamp: 100, offset: 3 });
    expect(() => neg.sanityCheck()).toThrow(CorruptIndexError);
  });
});

describe('index files across implementations', () => {
  it.skipIf(!addon)('reads with one implementation what the other wrote, byte for byte', () => {
    for (const [writer, reader] of [
      ['native', 'js'],
      ['js', 'native'],
    ] as const) {
      const offsets = new OffsetIndex(file(`${writer}.index`), 7, { maxIndexBytes: 4096, writable: true, impl: writer });
      const times = new TimeIndex(file(`${writer}.timeindex`), 7, { maxIndexBytes: 4096, writable: true, impl: writer });
      for (let i = 0; i < 100; i++) {
        offsets.append(7 + i * 3, i * 4096);
        times.maybeAppend(1_700_000_000_000 + i * 17, 7 + i * 3);
      }
      offsets.truncateTo(7 + 90 * 3);
      times.truncateTo(7 + 95 * 3);
      offsets.close();
      times.close();
      const readOffsets = track(new OffsetIndex(file(`${writer}.index`), 7, { maxIndexBytes: 4096, writable: true, impl: reader }));
      const readTimes = track(new TimeIndex(file(`${writer}.timeindex`), 7, { maxIndexBytes: 4096, writable: true, impl: reader }));
      expect(readOffsets.entryCount).toBe(90);
      expect(readOffsets.lookup(7 + 50 * 3 + 1)).toEqual({ offset: 7 + 50 * 3, position: 50 * 4096 });
      expect(readTimes.lastEntry()).toEqual({ timestamp: 1_700_000_000_000 + 94 * 17, offset: 7 + 94 * 3 });
      readOffsets.append(1000, 1);
      readTimes.maybeAppend(1_800_000_000_000, 1000);
      readOffsets.close();
      readTimes.close();
    }
    expect(hex('native.index')).toBe(hex('js.index'));
    expect(hex('native.timeindex')).toBe(hex('js.timeindex'));
    expect(fs.statSync(file('js.index')).size).toBe(91 * 8);
    expect(fs.statSync(file('js.timeindex')).size).toBe(96 * 12);
  });

  it.skipIf(!addon)('agrees on lookups over an untrimmed crash file, where the search order matters', () => {
    const writer = track(new OffsetIndex(file('w.index'), 0, { maxIndexBytes: 80_000, writable: true, impl: 'native' }));
    for (let i = 0; i < 2000; i++) writer.append(i * 2 + 1, i);
    fs.copyFileSync(file('w.index'), file('crash.index'));
    const native = track(new OffsetIndex(file('crash.index'), 0, { maxIndexBytes: 80_000, writable: false, impl: 'native' }));
    const js = track(new OffsetIndex(file('crash.index'), 0, { maxIndexBytes: 80_000, writable: false, impl: 'js' }));
    expect(native.entryCount).toBe(10_000);
    for (let target = -1; target < 4100; target += 7) expect(js.lookup(target)).toEqual(native.lookup(target));
  });
});

// The raw contract of src/native/types.ts NativeIndexFile, for the addon and the TypeScript fallback.
describe('IndexFile contract', () => {
  type Ctor = new (p: string, kind: 'offset' | 'time', base: number, maxBytes: number, writable: boolean) => NativeIndexFile;
  const ctors: [IndexImpl, Ctor | undefined][] = [
    ['native', addon?.IndexFile],
    ['js', JsIndexFile],
  ];
  for (const [impl, Ctor] of ctors) {
    describe.skipIf(!Ctor)(impl, () => {
      const open = (name: string, kind: 'offset' | 'time', maxBytes = 96, writable = true): NativeIndexFile => {
        const f = new Ctor!(file(name), kind, 100, maxBytes, writable);
        opened.push(f);
        return f;
      };

      it('returns status 1 when full and 2 when the relative offset or position does not fit', () => {
        const f = open('s.index', 'offset', 16);
        expect(f.append(99, 0)).toBe(2);
        expect(f.append(100 + 2 ** 31, 0)).toBe(2);
        expect(f.append(100, -1)).toBe(2);
        expect(f.append(100, 2 ** 31)).toBe(2);
        expect(f.append(100, 0)).toBe(0);
        expect(f.append(101, 0)).toBe(0);
        expect(f.append(102, 0)).toBe(1);
        expect(f.entryCount()).toBe(2);
        const t = open('s.timeindex', 'time', 24);
        expect(t.append(5, 99)).toBe(2);
        expect(t.append(-(2 ** 53) + 1, 100)).toBe(0);
        const out = new Float64Array(2);
        t.entryAt(0, out);
        expect([...out]).toEqual([-(2 ** 53) + 1, 100]);
      });

      it('returns -1 from lookup on an empty index and range-checks entryAt', () => {
        const f = open('e.index', 'offset');
        const out = new Float64Array(2);
        expect(f.lookup(1e15, out)).toBe(-1);
        expect(() => f.entryAt(0, out)).toThrow(RangeError);
        f.append(100, 1);
        expect(f.lookup(Infinity, out)).toBe(0);
        expect(f.lookup(-Infinity, out)).toBe(-1);
        expect(() => f.lookup(NaN, out)).toThrow(RangeError);
        expect(() => f.entryAt(1, out)).toThrow(RangeError);
        expect(() => f.entryAt(-1, out)).toThrow(RangeError);
        expect(() => f.entryAt(0.5, out)).toThrow(RangeError);
        expect(() => f.entryAt(0, new Float64Array(1))).toThrow(TypeError);
        expect(() => f.truncateToEntries(2)).toThrow(RangeError);
      });

      it('throws on every method after close, and close is idempotent', () => {
        const f = open('c.index', 'offset');
        f.append(100, 1);
        f.close();
        f.close();
        const out = new Float64Array(2);
        expect(fs.statSync(file('c.index')).size).toBe(8);
        expect(() => f.entryCount()).toThrow(/closed/);
        expect(() => f.entryCapacity()).toThrow(/closed/);
        expect(() => f.append(101, 1)).toThrow(/closed/);
        expect(() => f.lookup(100, out)).toThrow(/closed/);
        expect(() => f.entryAt(0, out)).toThrow(/closed/);
        expect(() => f.truncateToEntries(0)).toThrow(/closed/);
        expect(() => f.resize(80)).toThrow(/closed/);
        expect(() => f.flush()).toThrow(/closed/);
        expect(() => f.mappedBuffer()).toThrow(/closed/);
      });

      it('extends an existing writable file to maxBytes but never shrinks it', () => {
        fs.writeFileSync(file('grow.index'), Buffer.from('0000000100000002', 'hex'));
        const f = open('grow.index', 'offset', 64);
        expect(f.entryCount()).toBe(1);
        expect(f.entryCapacity()).toBe(8);
        expect(fs.statSync(file('grow.index')).size).toBe(64);
        f.close();
        fs.writeFileSync(file('big.index'), Buffer.alloc(200));
        const g = open('big.index', 'offset', 64);
        expect(g.entryCount()).toBe(25);
        expect(g.entryCapacity()).toBe(25);
      });
    });
  }
});

describe.skipIf(!addon)('IndexFile preallocation', () => {
  it('reports a failed fallocate at creation with an errno error and leaves no file', () => {
    // RLIMIT_FSIZE makes the 1 MiB fallocate fail with EFBIG, the way a full
    // disk fails it with ENOSPC; SIGXFSZ is caught so the call returns the error.
    const addonPath = path.resolve('build/Release/samsa_native.node');
    const script = `
      process.on('SIGXFSZ', () => {});
      const { IndexFile } = require(${JSON.stringify(addonPath)});
      try { new IndexFile(${JSON.stringify(file('nospace.index'))}, 'offset', 0, 1048576, true); console.log('created'); }
      catch (err) { console.log(JSON.stringify({ code: err.code, syscall: err.syscall, path: err.path })); }`;
    const child = spawnSync('bash', ['-c', `ulimit -f 64 && exec "${process.execPath}" -e "$0"`, script], {
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ code: 'EFBIG', syscall: 'fallocate', path: file('nospace.index') });
    expect(fs.existsSync(file('nospace.index'))).toBe(false);
  });
});

// The native index classes read entries through an ArrayBuffer over the
// mapping (NativeIndexFile.mappedBuffer) instead of calling lookup/entryAt.
describe.skipIf(!addon)('native index reads through the mapped buffer', () => {
  type RawFile = NativeIndexFile;
  const rawFile = (name: string, kind: 'offset' | 'time', baseOffset: number, maxBytes: number, writable: boolean): RawFile =>
    track(new addon!.IndexFile(file(name), kind, baseOffset, maxBytes, writable));
  /** The wrapper's current view, or null: white-box, to see that reads go through the mapping. */
  const viewOf = (index: OffsetIndex | TimeIndex): DataView | null => (index as unknown as { view: DataView | null }).view;

  /** Entry bytes in Kafka's format; `zeroTail` zero entries model an untrimmed file after a crash. */
  function indexBytes(kind: 'offset' | 'time', keys: number[], values: number[], zeroTail: number): Buffer {
    const entryBytes = kind === 'time' ? 12 : 8;
    const bytes = Buffer.alloc((keys.length + zeroTail) * entryBytes);
    for (let i = 0; i < keys.length; i++) {
      if (kind === 'time') {
        bytes.writeBigInt64BE(BigInt(keys[i]), i * 12);
        bytes.writeInt32BE(values[i], i * 12 + 8);
      } else {
        bytes.writeInt32BE(keys[i], i * 8);
        bytes.writeInt32BE(values[i], i * 8 + 4);
      }
    }
    return bytes;
  }

  it('finds what the native lookup call and a linear scan find (both kinds, warm and cold, crash tails)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('offset' as const, 'time' as const),
        fc.integer({ min: 0, max: 2500 }),
        fc.integer({ min: 1, max: 500 }),
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1200 })),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (kind, count, maxGap, seed, baseOffset, firstTimestamp, zeroTail, fractions, slots) => {
          const random = mulberry32(seed);
          const isTime = kind === 'time';
          // Stored keys and values: relative offsets and positions, or timestamps and relative offsets.
          const storedKeys = isTime ? increasing(count, firstTimestamp, maxGap, random) : increasing(count, -1, maxGap, random);
          const storedValues = increasing(count, -1, isTime ? 3 : 4096, random);
          const name = `v${seed}-${count}.${isTime ? 'timeindex' : 'index'}`;
          fs.writeFileSync(file(name), indexBytes(kind, storedKeys, storedValues, zeroTail));
          const options = { maxIndexBytes: 1 << 20, writable: false, impl: 'native' as const };
          const index = isTime ? new TimeIndex(file(name), baseOffset, options) : new OffsetIndex(file(name), baseOffset, options);
          const raw = new addon!.IndexFile(file(name), kind, baseOffset, 1 << 20, false);
          try {
            const total = count + zeroTail;
            expect(index.entryCount).toBe(total);
            expect(viewOf(index)?.byteLength ?? 0).toBe(total * (isTime ? 12 : 8));
            // Absolute keys of the valid entries, for the linear scan.
            const keys = isTime ? storedKeys : storedKeys.map((k) => k + baseOffset);
            const low = isTime ? firstTimestamp : baseOffset;
            const out = new Float64Array(2);
            const none = isTime ? { timestamp: NO_TIMESTAMP, offset: baseOffset } : { offset: baseOffset, position: 0 };
            const shape = (a: number, b: number) => (isTime ? { timestamp: a, offset: b } : { offset: a, position: b });
            for (const target of targetsFor(keys, low, fractions, slots)) {
              const slot = raw.lookup(target, out);
              const expected = slot < 0 ? none : shape(out[0], out[1]);
              expect(index.lookup(target)).toEqual(expected);
              // A crash tail breaks the sort order, so only the search order defines the answer there.
              if (zeroTail !== 0) continue;
              let scanned = none;
              for (let i = 0; i < count && keys[i] <= target; i++) scanned = shape(keys[i], isTime ? storedValues[i] + baseOffset : storedValues[i]);
              expect(expected).toEqual(scanned);
            }
            for (const s of [0, total - 1, ...slots.map((n) => n % Math.max(1, total))]) {
              if (s < 0 || s >= total) continue;
              raw.entryAt(s, out);
              expect(index.entry(s)).toEqual(shape(out[0], out[1]));
            }
            if (total > 0) raw.entryAt(total - 1, out);
            const last = total > 0 ? shape(out[0], out[1]) : none;
            if (index instanceof TimeIndex) expect(index.lastEntry()).toEqual(last);
            else expect(index.lastOffset).toBe((last as { offset: number }).offset);
          } finally {
            raw.close();
            index.deleteFile();
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('detaches a fetched buffer on resize and close; the index fetches a new one and keeps working', () => {
    const f = rawFile('r.index', 'offset', 100, 80, true);
    f.append(101, 5);
    const first = f.mappedBuffer()!;
    expect(first.byteLength).toBe(80);
    expect(f.mappedBuffer()).toBe(first); // cached until the mapping changes
    f.resize(80); // same size: no remap, same buffer
    expect(f.mappedBuffer()).toBe(first);
    f.truncateToEntries(1); // no remap either
    expect(first.byteLength).toBe(80);
    f.resize(160);
    expect(first.byteLength).toBe(0);
    const second = f.mappedBuffer()!;
    expect(second.byteLength).toBe(160);
    expect(new DataView(second).getInt32(4)).toBe(5);
    f.resize(8); // shrink to the one entry
    expect(second.byteLength).toBe(0);
    expect(f.mappedBuffer()!.byteLength).toBe(8);
    f.truncateToEntries(0);
    f.resize(0); // nothing left to map
    expect(f.mappedBuffer()).toBeNull();
    f.resize(16);
    const third = f.mappedBuffer()!;
    f.close();
    expect(third.byteLength).toBe(0);
    expect(() => f.mappedBuffer()).toThrow(/closed/);

    // The same through OffsetIndex and TimeIndex: after each remap the old
    // buffer is dead and lookups read the new mapping.
    const index = offsetIndex('w.index', 0, { maxIndexBytes: 80, writable: true, impl: 'native' });
    index.append(3, 30);
    const before = viewOf(index)!.buffer;
    index.resize(800);
    expect(before.byteLength).toBe(0);
    expect(viewOf(index)!.byteLength).toBe(800);
    for (let o = 4; o < 90; o++) index.append(o, o * 10);
    expect(index.lookup(50)).toEqual({ offset: 50, position: 500 });
    const resized = viewOf(index)!.buffer;
    index.trimToValidSize();
    expect(resized.byteLength).toBe(0);
    expect(index.lookup(1000)).toEqual({ offset: 89, position: 890 });
    const trimmed = viewOf(index)!.buffer;
    index.close();
    expect(trimmed.byteLength).toBe(0);
    expect(viewOf(index)).toBeNull();
    expect(index.lookup(7)).toEqual({ offset: 7, position: 70 }); // reopens and maps again
    expect(index.entry(86)).toEqual({ offset: 89, position: 890 });
    expect(index.lastOffset).toBe(89);

    const times = timeIndex('w.timeindex', 0, { maxIndexBytes: 36, writable: true, impl: 'native' });
    times.maybeAppend(1000, 1);
    const timeBuffer = viewOf(times)!.buffer;
    times.reset(); // the size does not change: no remap, the buffer stays
    expect(viewOf(times)!.buffer).toBe(timeBuffer);
    times.trimToValidSize();
    expect(timeBuffer.byteLength).toBe(0);
    expect(viewOf(times)).toBeNull(); // no entries, nothing mapped
    expect(times.lookup(600)).toEqual({ timestamp: NO_TIMESTAMP, offset: 0 });
    times.reset();
    expect(viewOf(times)!.byteLength).toBe(36);
    times.maybeAppend(500, 2);
    expect(times.lookup(600)).toEqual({ timestamp: 500, offset: 2 });
    expect(times.lastEntry()).toEqual({ timestamp: 500, offset: 2 });
  });

  it('keeps the entry count in step with the file without asking it', () => {
    const index = offsetIndex('count.index', 0, { maxIndexBytes: 800, writable: true, impl: 'native' });
    for (let o = 0; o < 50; o++) index.append(o * 2, o);
    index.truncateTo(61);
    expect(index.entryCount).toBe(31);
    expect(index.lookup(1000)).toEqual({ offset: 60, position: 30 });
    index.append(62, 99);
    expect(index.lookup(1000)).toEqual({ offset: 62, position: 99 });
    // close() compares the mirror with the file's own count and throws on drift.
    expect(() => index.close()).not.toThrow();
    expect(fs.statSync(file('count.index')).size).toBe(32 * 8);
  });

  it('maps nothing for an empty read-only file and still answers', () => {
    fs.writeFileSync(file('empty.timeindex'), Buffer.alloc(0));
    const raw = rawFile('empty.timeindex', 'time', 5, 120, false);
    expect(raw.mappedBuffer()).toBeNull();
    const index = timeIndex('empty.timeindex', 5, { maxIndexBytes: 120, writable: false, impl: 'native' });
    expect(index.lookup(10)).toEqual({ timestamp: NO_TIMESTAMP, offset: 5 });
    expect(viewOf(index)).toBeNull();
    expect(() => index.entry(0)).toThrow(RangeError);
  });

  it('never lets a buffer kept after close read memory', () => {
    const f = rawFile('kept.index', 'offset', 0, 4096, true);
    f.append(1, 2);
    const kept = f.mappedBuffer()!;
    const keptView = new DataView(kept);
    const keptBytes = new Uint8Array(kept);
    expect(keptView.getInt32(4)).toBe(2);
    f.close();
    expect(kept.byteLength).toBe(0);
    expect(() => keptView.getInt32(4)).toThrow(TypeError);
    expect(() => keptView.getInt32(0)).toThrow(TypeError);
    expect(() => new DataView(kept)).toThrow(TypeError);
    expect(() => new Uint8Array(kept, 0, 8)).toThrow(TypeError);
    expect(keptBytes.length).toBe(0);
    expect(keptBytes[4]).toBeUndefined();
    expect(() => kept.slice(0, 8)).toThrow(TypeError);

    const index = offsetIndex('kept2.index', 0, { maxIndexBytes: 4096, writable: true, impl: 'native' });
    index.append(1, 2);
    const view = viewOf(index)!;
    index.deleteFile();
    expect(() => view.getInt32(0)).toThrow(TypeError);
  });

  it('detaches the buffer when the file object is collected or its worker exits, without crashing', () => {
    // A child process: it needs --expose-gc, and a crash must fail this test
    // rather than the runner. It loads the same binary (the ASan one under
    // scripts/test-asan.sh).
    const addonPath = path.resolve(process.env.SAMSA_NATIVE_PATH ?? 'build/Release/samsa_native.node');
    const script = `
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const addonPath = ${JSON.stringify(addonPath)};
      const dir = ${JSON.stringify(dir)};
      const { IndexFile } = require(addonPath);
      const fdsOn = (p) => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === p; } catch { return false; } }).length;
      (async () => {
        const result = {};
        let f = new IndexFile(dir + '/gc.index', 'offset', 0, 4096, true);
        f.append(1, 2);
        const kept = f.mappedBuffer();
        const view = new DataView(kept);
        result.beforeGc = view.getInt32(4);
        f = null;
        // Finalizers run from an immediate after the collection.
        for (let i = 0; i < 20 && kept.byteLength !== 0; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
        result.afterGcBytes = kept.byteLength;
        try { view.getInt32(4); result.afterGcRead = 'read'; } catch (err) { result.afterGcRead = err.constructor.name; }
        result.gcFds = fdsOn(dir + '/gc.index');
        // A worker that exits with the file open and its buffer and a view alive.
        const worker = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { IndexFile } = require(\${JSON.stringify(addonPath)});
          const f = new IndexFile(\${JSON.stringify(dir + '/worker.index')}, 'time', 0, 1200, true);
          f.append(5, 6);
          globalThis.kept = [f, f.mappedBuffer(), new DataView(f.mappedBuffer())];
          parentPort.postMessage(globalThis.kept[2].getInt32(8));
          // Stays alive until terminate(): a worker with nothing left to do exits (closing the file) before the parent counts fds.
          parentPort.on('message', () => undefined);
        \`, { eval: true });
        result.workerRead = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
        result.workerFdsOpen = fdsOn(dir + '/worker.index');
        await worker.terminate();
        result.workerFdsAfter = fdsOn(dir + '/worker.index');
        console.log(JSON.stringify(result));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({
      beforeGc: 2,
      afterGcBytes: 0,
      afterGcRead: 'TypeError',
      gcFds: 0,
      workerRead: 6,
      workerFdsOpen: 1,
      workerFdsAfter: 0,
    });
  });
});
