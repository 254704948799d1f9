// The log cleaner and transactions, on real files: a compacted log holding
// committed and aborted transactions of two producers, their COMMIT/ABORT
// markers and plain records (written as segment files, the way a broker with
// a transaction coordinator leaves them; this broker's Produce refuses
// transactional batches). After cleaning, a consumer sees exactly the latest
// committed value per key, with or without read_committed filtering: aborted
// records are gone and never shadow a committed value; markers stay while
// their transaction has batches, then get a delete horizon and go after
// delete.retention.ms; the last batch of a producer stays (empty).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders, type BatchHeader } from '../src/record/record-batch.js';
import { ATTR_DELETE_HORIZON } from '../src/storage/cleaner-batch.js';
import { ManualClock } from '../src/storage/clock.js';
import { LogManager } from '../src/storage/log-manager.js';
import { silentLogger, type Log } from '../src/storage/log.js';
import { smallConfig, storageVariants, tempDir } from './support/storage.js';
import { mixedTransactionsSegment, P1, P2, plainBatch, TXN_T0, txnData, txnMarker } from './support/txn-segments.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const variant = storageVariants()[0];
const T0 = TXN_T0;
const DELETE_RETENTION_MS = 60_000;
const data = txnData;
const marker = txnMarker;
const plain = plainBatch;

interface Batch {
  header: BatchHeader;
  records: Array<{ offset: number; key: string | null; value: string | null }>;
}

function readBatches(log: Log): Batch[] {
  const out: Batch[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1024 * 1024);
    if (!result.records) break;
    const bytes = Buffer.alloc(result.records.length);
    fs.readSync(result.records.fd, bytes, 0, bytes.length, result.records.position);
    for (const { position, header } of iterateBatchHeaders(bytes)) {
      if (header.lastOffset < offset) continue;
      out.push({ header, records: decodeBatchRecords(bytes, position).map((r) => ({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })) });
      offset = header.lastOffset + 1;
    }
  }
  return out;
}

/** What a consumer gets: data records of non-control batches, latest per key (read_uncommitted and read_committed alike once aborted data is gone). */
function visible(log: Log): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of readBatches(log)) if (!b.header.isControl) for (const r of b.records) out.set(r.key!, r.value!);
  return out;
}

function markers(log: Log): Array<{ offset: number; type: number; horizon: boolean }> {
  return readBatches(log)
    .filter((b) => b.header.isControl)
    .map((b) => ({ offset: b.header.baseOffset, type: Buffer.from(b.records[0].key!, 'latin1')[3], horizon: (b.header.attributes & ATTR_DELETE_HORIZON) !== 0 }));
}

describe('LogCleaner with transactions', () => {
  it('removes aborted transactions, keeps the latest committed value per key, and drops markers only after their data and delete.retention.ms', async () => {
    const dir = tempDir('samsa-cleaner-txn-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    // The segments as a broker with transactions would have left them.
    const partitionDir = path.join(dir, 'c-0');
    fs.mkdirSync(partitionDir);
    const first = mixedTransactionsSegment();
    fs.writeFileSync(path.join(partitionDir, '00000000000000000000.log'), first);
    fs.writeFileSync(path.join(partitionDir, '00000000000000000011.log'), plain(11, [['k5', 'plain-5']]));

    const clock = new ManualClock(T0);
    const config = smallConfig(variant, { segmentBytes: 64 * 1024, compact: true, delete: false, minCleanableDirtyRatio: 0.01, deleteRetentionMs: DELETE_RETENTION_MS });
    const manager = await LogManager.open({
      logDirs: [dir],
      config,
      clock,
      logger: silentLogger,
      impl: variant.impl,
      schedule: false,
      cleaner: { enable: true, threads: 1, backoffMs: 10, dedupeBufferSize: 1024 * 1024, ioBufferSize: 8192, ioBufferLoadFactor: 0.9 },
    });
    cleanups.push(() => manager.close());
    const log = manager.getLog('c', 0)!;
    expect(log.logEndOffset).toBe(12);
    expect(log.firstUnstableOffset).toBeNull();

    expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    const committed = new Map([
      ['k1', 'committed-1'],
      ['k2', 'committed-2'],
      ['k3', 'committed-3'],
      ['k4', 'plain-4'],
      ['k5', 'plain-5'],
    ]);
    expect(visible(log)).toEqual(committed);
    const batches = readBatches(log);
    // No aborted value is left anywhere.
    expect(batches.flatMap((b) => b.records.map((r) => r.value)).filter((v) => v?.startsWith('aborted'))).toEqual([]);
    // P1's aborted batch was its last: it stays, empty, so its sequence and epoch survive.
    expect(batches.find((b) => b.header.baseOffset === 7)).toMatchObject({ header: { producerId: P1, recordsCount: 0 }, records: [] });
    // P2's aborted batch is gone. Markers whose transactions had batches in this pass stay as they were.
    expect(batches.some((b) => b.header.baseOffset === 3)).toBe(false);
    expect(markers(log)).toEqual([
      { offset: 2, type: 1, horizon: false },
      { offset: 5, type: 0, horizon: false },
      { offset: 8, type: 0, horizon: false },
      { offset: 10, type: 1, horizon: false },
    ]);

    // Later rounds: new values for k1 and k3 (their committed batches go), each cleaned in turn.
    const round = async (offsetRecords: Array<[string, string]>) => {
      log.append(buildRecordBatch(offsetRecords.map(([key, value]) => ({ key, value, timestamp: clock.nowMs() }))));
      log.roll();
      log.append(buildRecordBatch([{ key: 'pad', value: String(clock.nowMs()), timestamp: clock.nowMs() }]));
      expect(await manager.cleaner!.cleanOnce()).not.toBeNull();
    };
    await round([
      ['k1', 'new-1'],
      ['k2', 'new-2'],
      ['k3', 'new-3'],
    ]);
    // P2's ABORT (no batch of its transaction left) has a delete horizon now; P1's COMMIT at 2 saw its
    // batch in this pass (superseded only now), P1's ABORT still has its empty batch, P2's COMMIT saw its batch.
    expect(markers(log)).toEqual([
      { offset: 2, type: 1, horizon: false },
      { offset: 5, type: 0, horizon: true },
      { offset: 8, type: 0, horizon: false },
      { offset: 10, type: 1, horizon: false },
    ]);
    await round([['k6', 'v6']]);
    // A committed transaction with no batch left gets its horizon too. The markers after each producer's
    // last batch (kept empty: 7 for P1, 9 for P2) stay, since their transactions still have a batch.
    expect(markers(log)).toEqual([
      { offset: 2, type: 1, horizon: true },
      { offset: 5, type: 0, horizon: true },
      { offset: 8, type: 0, horizon: false },
      { offset: 10, type: 1, horizon: false },
    ]);
    expect(readBatches(log).find((b) => b.header.baseOffset === 9)).toMatchObject({ header: { producerId: P2, recordsCount: 0 } });
    // Past delete.retention.ms the stamped ones go.
    clock.advance(DELETE_RETENTION_MS + 1);
    await round([['k7', 'v7']]);
    expect(markers(log)).toEqual([
      { offset: 8, type: 0, horizon: false },
      { offset: 10, type: 1, horizon: false },
    ]);
    expect(visible(log)).toEqual(
      new Map([
        ['k1', 'new-1'],
        ['k2', 'new-2'],
        ['k3', 'new-3'],
        ['k4', 'plain-4'],
        ['k5', 'plain-5'],
        ['k6', 'v6'],
        ['k7', 'v7'],
        ['pad', expect.any(String)],
      ]),
    );
  });

  it('does not clean from the first unstable offset on (a transaction without its marker yet)', async () => {
    const dir = tempDir('samsa-cleaner-txn-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const partitionDir = path.join(dir, 'c-0');
    fs.mkdirSync(partitionDir);
    fs.writeFileSync(path.join(partitionDir, '00000000000000000000.log'), Buffer.concat([plain(0, [['k1', 'a']]), plain(1, [['k1', 'b']]), plain(2, [['k1', 'c']])]));
    fs.writeFileSync(path.join(partitionDir, '00000000000000000003.log'), Buffer.concat([data(3, P1, [['k2', 'open']]), plain(4, [['k1', 'd']])]));
    fs.writeFileSync(path.join(partitionDir, '00000000000000000005.log'), plain(5, [['k3', 'x']]));
    const clock = new ManualClock(T0);
    const config = smallConfig(variant, { segmentBytes: 64 * 1024, compact: true, delete: false, minCleanableDirtyRatio: 0.01 });
    const manager = await LogManager.open({
      logDirs: [dir],
      config,
      clock,
      logger: silentLogger,
      impl: variant.impl,
      schedule: false,
      cleaner: { enable: true, threads: 1, backoffMs: 10, dedupeBufferSize: 1024 * 1024, ioBufferSize: 8192, ioBufferLoadFactor: 0.9 },
    });
    cleanups.push(() => manager.close());
    const log = manager.getLog('c', 0)!;
    expect(log.firstUnstableOffset).toBe(3);
    const result = await manager.cleaner!.cleanOnce();
    // Only the segment below the open transaction is cleaned: k1's value at 4 is beyond it, so 2 is the latest there.
    expect(result?.endOffset).toBe(3);
    const offsets = readBatches(log).flatMap((b) => b.records.map((r) => `${r.offset}:${r.key}=${r.value}`));
    expect(offsets).toEqual(['2:k1=c', '3:k2=open', '4:k1=d', '5:k3=x']);
  });
});
