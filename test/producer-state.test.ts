// Producer state of a partition on real files: duplicates answered with the
// original offsets, sequence and epoch errors with Kafka's codes, snapshots in
// Kafka's format beside the segments, reload after clean and unclean stops,
// rebuild from the log, truncation and expiry.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpFiles } from '../src/cli/dump-log.js';
import { crc32c } from '../src/record/crc32c.js';
import { ManualClock } from '../src/storage/clock.js';
import { StorageError, StorageErrorCode } from '../src/storage/errors.js';
import { Log } from '../src/storage/log.js';
import type { LogConfig } from '../src/storage/log-config.js';
import {
  decodeProducerSnapshot,
  incrementSequence,
  ProducerStateManager,
  readProducerSnapshot,
  snapshotFileName,
} from '../src/storage/producer-state.js';
import { batch, smallConfig, storageVariants, tempDir } from './support/storage.js';

const variant = storageVariants()[0];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDir(): string {
  const dir = tempDir('samsa-pstate-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 't-0');
}

interface OpenOptions {
  clean?: boolean;
  clock?: ManualClock;
  config?: Partial<LogConfig>;
  expirationMs?: number;
  warnings?: string[];
}

function open(dir: string, o: OpenOptions = {}): Log {
  const log = Log.open({
    dir,
    topic: 't',
    partition: 0,
    config: smallConfig(variant, o.config),
    impl: variant.impl,
    clock: o.clock,
    logger: { info: () => {}, warn: (m) => o.warnings?.push(m) },
    hadCleanShutdown: o.clean ?? true,
    producerIdExpirationMs: o.expirationMs,
  });
  cleanups.push(() => log.close({ flush: false, snapshot: false }));
  return log;
}

const PID = 4242;
/** An idempotent batch of `count` records starting at sequence `seq`. */
function idem(seq: number, count = 3, options: { epoch?: number; pid?: number; tag?: string; transactional?: boolean; control?: boolean; ts?: number } = {}) {
  return batch(options.tag ?? `s${seq}`, count, {
    producerId: options.pid ?? PID,
    producerEpoch: options.epoch ?? 0,
    baseSequence: seq,
    transactional: options.transactional,
    control: options.control,
    baseTimestamp: options.ts,
  });
}

function kafkaCode(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof StorageError) return err.kafkaCode;
    throw err;
  }
  throw new Error('expected a StorageError');
}

describe('ProducerStateManager through Log.append', () => {
  it('answers a retry of any of the last five batches with its original offsets and appends nothing', () => {
    const log = open(newDir());
    log.append(batch('plain', 2));
    const firstOffsets: number[] = [];
    for (let i = 0; i < 6; i++) firstOffsets.push(log.append(idem(i * 3)).firstOffset);
    expect(firstOffsets).toEqual([2, 5, 8, 11, 14, 17]);
    const end = log.logEndOffset;
    for (let i = 1; i < 6; i++) {
      const again = log.append(idem(i * 3));
      expect(again.duplicate).toBe(true);
      expect(again.firstOffset).toBe(firstOffsets[i]);
      expect(again.lastOffset).toBe(firstOffsets[i] + 2);
      expect(log.logEndOffset).toBe(end);
    }
    // The oldest batch fell out of the cache of five: it is out of sequence now.
    expect(kafkaCode(() => log.append(idem(0)))).toBe(StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.logEndOffset).toBe(end);
  });

  it('refuses a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER and accepts the next batch in order afterwards', () => {
    const log = open(newDir());
    log.append(idem(0));
    expect(kafkaCode(() => log.append(idem(4)))).toBe(StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(kafkaCode(() => log.append(idem(1)))).toBe(StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.logEndOffset).toBe(3);
    expect(log.append(idem(3)).firstOffset).toBe(3);
  });

  it('refuses an older epoch with INVALID_PRODUCER_EPOCH; a new epoch must start at sequence 0', () => {
    const log = open(newDir());
    log.append(idem(0, 3, { epoch: 2 }));
    expect(kafkaCode(() => log.append(idem(3, 3, { epoch: 1 })))).toBe(StorageErrorCode.INVALID_PRODUCER_EPOCH);
    expect(kafkaCode(() => log.append(idem(3, 3, { epoch: 3 })))).toBe(StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.append(idem(0, 3, { epoch: 3 })).duplicate).toBe(false);
    // The bump cleared the old epoch's batches: a retry from epoch 2 is now stale, not a duplicate.
    expect(kafkaCode(() => log.append(idem(0, 3, { epoch: 2 })))).toBe(StorageErrorCode.INVALID_PRODUCER_EPOCH);
    expect(log.producerEntry(BigInt(PID))?.producerEpoch).toBe(3);
  });

  it('accepts an unknown producer at any sequence, as Kafka does since KIP-360', () => {
    const log = open(newDir());
    expect(log.append(idem(500)).firstOffset).toBe(0);
    expect(log.append(idem(503)).firstOffset).toBe(3);
  });

  it('wraps sequences from Int32 max to 0', () => {
    const log = open(newDir());
    const max = 0x7fffffff;
    log.append(idem(max - 1, 3)); // sequences max-1, max, 0
    expect(log.producerEntry(BigInt(PID))?.batches.at(-1)?.lastSeq).toBe(0);
    expect(log.append(idem(max - 1, 3)).duplicate).toBe(true);
    expect(log.append(idem(1, 2)).firstOffset).toBe(3);
    expect(incrementSequence(max, 1)).toBe(0);
  });

  it('refuses control batches, transactional batches and idempotent batches without a sequence without changing state', () => {
    const log = open(newDir());
    log.append(idem(0));
    expect(kafkaCode(() => log.append(idem(3, 1, { control: true })))).toBe(StorageErrorCode.INVALID_RECORD);
    expect(kafkaCode(() => log.append(idem(3, 3, { transactional: true })))).toBe(StorageErrorCode.INVALID_TXN_STATE);
    expect(kafkaCode(() => log.append(idem(-1)))).toBe(StorageErrorCode.INVALID_RECORD);
    expect(log.logEndOffset).toBe(3);
    expect(log.append(idem(3)).firstOffset).toBe(3);
  });

  it('judges every batch of a multi-batch append before appending any', () => {
    const log = open(newDir());
    log.append(idem(0));
    // Second batch leaves a gap: nothing of the append lands.
    expect(kafkaCode(() => log.append(Buffer.concat([idem(3), idem(9)])))).toBe(StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.logEndOffset).toBe(3);
    const both = log.append(Buffer.concat([idem(3), idem(6)]));
    expect([both.firstOffset, both.lastOffset]).toEqual([3, 8]);
  });

  it('tracks producers independently', () => {
    const log = open(newDir());
    log.append(idem(0, 3, { pid: 1 }));
    log.append(idem(0, 3, { pid: 2 }));
    expect(log.append(idem(0, 3, { pid: 1 })).firstOffset).toBe(0);
    expect(log.append(idem(0, 3, { pid: 2 })).firstOffset).toBe(3);
    expect(log.producerCount).toBe(2);
  });
});

describe('producer snapshots', () => {
  it('writes a Kafka-format snapshot at clean shutdown and reloads it', async () => {
    const dir = newDir();
    const log = open(dir);
    log.append(idem(0, 3, { ts: 1_700_000_000_000 }));
    log.append(idem(3, 4, { ts: 1_700_000_000_100 }));
    await log.close();
    const file = path.join(dir, snapshotFileName(7));
    expect(fs.existsSync(file)).toBe(true);
    expect(path.basename(file)).toBe('00000000000000000007.snapshot');
    // Kafka's layout: version 1, CRC32C of the rest, count, 46-byte entries.
    const bytes = fs.readFileSync(file);
    expect(bytes.readInt16BE(0)).toBe(1);
    expect(bytes.readUInt32BE(2)).toBe(crc32c(bytes, 6, bytes.length, 0));
    expect(bytes.readInt32BE(6)).toBe(1);
    expect(bytes.length).toBe(10 + 46);
    expect(bytes.readBigInt64BE(10)).toBe(BigInt(PID));
    expect(bytes.readInt32BE(10 + 10)).toBe(6); // last sequence
    expect(Number(bytes.readBigInt64BE(10 + 14))).toBe(6); // last offset
    expect(bytes.readInt32BE(10 + 22)).toBe(3); // offset delta
    expect(Number(bytes.readBigInt64BE(10 + 26))).toBe(1_700_000_000_103); // max timestamp of the last batch
    expect(Number(bytes.readBigInt64BE(10 + 38))).toBe(-1); // no open transaction

    const reopened = open(dir, { clock: new ManualClock(1_700_000_000_200) });
    expect(reopened.append(idem(3, 4)).firstOffset).toBe(3);
    expect(reopened.append(idem(3, 4)).duplicate).toBe(true);
    expect(reopened.logEndOffset).toBe(7);
    expect(reopened.append(idem(7, 1)).firstOffset).toBe(7);
  });

  it('writes a snapshot at each roll, named by the new segment base', async () => {
    const dir = newDir();
    const log = open(dir, { config: { segmentBytes: 2048 } });
    let seq = 0;
    while (log.segmentBaseOffsets().length < 3) {
      log.append(idem(seq, 3, { tag: 'x'.repeat(100) }));
      seq += 3;
    }
    const bases = log.segmentBaseOffsets();
    await new Promise((r) => setTimeout(r, 50));
    for (const base of bases.slice(1)) {
      const rows = readProducerSnapshot(path.join(dir, snapshotFileName(base)));
      expect(rows).toHaveLength(1);
      expect(rows[0].lastOffset).toBe(base - 1);
    }
  });

  it('rebuilds the state from the log when the snapshot is missing (all five batches)', async () => {
    const dir = newDir();
    const log = open(dir);
    for (let i = 0; i < 5; i++) log.append(idem(i * 3));
    await log.close();
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.snapshot')) fs.rmSync(path.join(dir, name));
    const reopened = open(dir);
    // From a snapshot only the last batch would be known; the log replay knows all five.
    for (let i = 0; i < 5; i++) expect(reopened.append(idem(i * 3)).firstOffset).toBe(i * 3);
    expect(reopened.logEndOffset).toBe(15);
  });

  it('replays batches after the snapshot and survives an unclean stop (no shutdown snapshot)', async () => {
    const dir = newDir();
    const log = open(dir, { config: { segmentBytes: 1024 } });
    let seq = 0;
    while (log.segmentBaseOffsets().length < 2) {
      log.append(idem(seq, 3, { tag: 'y'.repeat(100) }));
      seq += 3;
    }
    log.append(idem(seq));
    const lastFirstOffset = log.logEndOffset - 3;
    await log.close({ snapshot: false });
    const reopened = open(dir, { clean: false });
    const again = reopened.append(idem(seq));
    expect(again.duplicate).toBe(true);
    expect(again.firstOffset).toBe(lastFirstOffset);
  });

  it('skips a corrupt snapshot for an older one and replays from there', async () => {
    const dir = newDir();
    const log = open(dir, { config: { segmentBytes: 1024 } });
    let seq = 0;
    while (log.segmentBaseOffsets().length < 2) {
      log.append(idem(seq, 3, { tag: 'z'.repeat(100) }));
      seq += 3;
    }
    log.append(idem(seq));
    await log.close();
    const end = log.logEndOffset;
    const latest = path.join(dir, snapshotFileName(end));
    const bytes = fs.readFileSync(latest);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(latest, bytes);
    const warnings: string[] = [];
    const reopened = open(dir, { warnings });
    expect(warnings.some((w) => w.includes('unreadable producer snapshot'))).toBe(true);
    expect(fs.existsSync(latest)).toBe(false);
    expect(reopened.append(idem(seq)).firstOffset).toBe(end - 3);
    expect(reopened.append(idem(seq)).duplicate).toBe(true);
  });

  it('drops snapshots past the log end after recovery truncated the log', async () => {
    const dir = newDir();
    const log = open(dir);
    log.append(idem(0));
    log.append(idem(3));
    await log.close();
    // A snapshot claiming offsets the log does not have (the log lost its tail in a crash).
    fs.copyFileSync(path.join(dir, snapshotFileName(6)), path.join(dir, snapshotFileName(9)));
    const reopened = open(dir, { clean: false });
    expect(fs.existsSync(path.join(dir, snapshotFileName(9)))).toBe(false);
    expect(reopened.append(idem(6)).firstOffset).toBe(6);
  });

  it('forgets truncated batches: after truncateTo the same batch is appended again', () => {
    const log = open(newDir());
    log.append(idem(0));
    log.append(idem(3));
    log.truncateTo(3);
    const retry = log.append(idem(3));
    expect(retry.duplicate).toBe(false);
    expect(retry.firstOffset).toBe(3);
    expect(log.append(idem(0)).duplicate).toBe(true);
  });

  it('rejects snapshots with a bad CRC, version or length', () => {
    const rows = [{ producerId: 7n, producerEpoch: 1, lastSequence: 9, lastOffset: 20, offsetDelta: 2, timestamp: 5, coordinatorEpoch: -1, currentTxnFirstOffset: -1 }];
    const dir = newDir();
    fs.mkdirSync(dir, { recursive: true });
    const manager = new ProducerStateManager(dir, 't-0', 1000, { warn: () => {} });
    manager.replay({ producerId: 7n, producerEpoch: 1, baseSequence: 7, firstOffset: 18, lastOffset: 20, maxTimestamp: 5, attributes: 0 });
    void manager.takeSnapshot(21, true);
    const encoded = fs.readFileSync(path.join(dir, snapshotFileName(21)));
    expect(decodeProducerSnapshot(encoded)).toEqual(rows);
    const badCrc = Buffer.from(encoded);
    badCrc[12] ^= 1;
    expect(() => decodeProducerSnapshot(badCrc)).toThrow(/CRC/);
    const badVersion = Buffer.from(encoded);
    badVersion.writeInt16BE(2, 0);
    expect(() => decodeProducerSnapshot(badVersion)).toThrow(/version/);
    const badCount = Buffer.from(encoded);
    badCount.writeInt32BE(1_000_000, 6);
    badCount.writeUInt32BE(crc32c(badCount, 6, badCount.length, 0), 2);
    expect(() => decodeProducerSnapshot(badCount)).toThrow(/entries/);
    expect(() => decodeProducerSnapshot(Buffer.alloc(3))).toThrow(/shorter/);
  });

  it('kafka-dump-log style output for .snapshot files', async () => {
    const dir = newDir();
    const log = open(dir);
    log.append(idem(0, 3, { ts: 1_700_000_000_000 }));
    await log.close();
    const lines: string[] = [];
    expect(dumpFiles({ files: [path.join(dir, snapshotFileName(3))], printDataLog: false, out: (l) => lines.push(l) })).toBe(0);
    expect(lines[1]).toBe(
      `producerId: ${PID} producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty ` +
        'lastTimestamp: 1700000000002 firstSequence: 0 lastSequence: 2 lastOffset: 2 offsetDelta: 2 timestamp: 1700000000002',
    );
  });
});

describe('producer expiry', () => {
  it('forgets producers idle for producer.id.expiration.ms, also when loading a snapshot', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const dir = newDir();
    const log = open(dir, { clock, expirationMs: 60_000 });
    log.append(idem(0, 3, { pid: 1, ts: clock.nowMs() }));
    clock.advance(30_000);
    log.append(idem(0, 3, { pid: 2, ts: clock.nowMs() }));
    clock.advance(31_000);
    expect(log.removeExpiredProducers()).toBe(1);
    expect(log.producerEntry(1n)).toBeUndefined();
    expect(log.producerEntry(2n)).toBeDefined();
    // An expired producer is unknown again: any sequence is accepted.
    expect(log.append(idem(77, 3, { pid: 1, ts: clock.nowMs() })).duplicate).toBe(false);
    await log.close();
    clock.advance(60_000);
    const reopened = open(dir, { clock, expirationMs: 60_000 });
    expect(reopened.producerCount).toBe(1);
    expect(reopened.producerEntry(1n)).toBeDefined();
  });
});
