// Segment files holding transactions, as a broker with a transaction
// coordinator leaves them (this broker's Produce refuses transactional
// batches): RecordBatch v2 bytes with their offsets already assigned.
import { buildRecordBatch, type RecordInput } from '../../src/record/record-batch.js';

export const TXN_T0 = 1_700_000_000_000;
export const P1 = 1000;
export const P2 = 2000;

/** A transactional data batch of `producerId` at `baseOffset`. */
export function txnData(baseOffset: number, producerId: number, records: Array<[string, string]>, timestamp = TXN_T0): Buffer {
  const inputs: RecordInput[] = records.map(([key, value]) => ({ key, value, timestamp }));
  return buildRecordBatch(inputs, { baseOffset, baseTimestamp: timestamp, producerId, producerEpoch: 0, baseSequence: baseOffset, transactional: true });
}

/** A transaction marker: key = version 0, type (0 ABORT, 1 COMMIT); value = version 0, coordinator epoch 0. */
export function txnMarker(offset: number, producerId: number, type: 0 | 1, timestamp = TXN_T0): Buffer {
  return buildRecordBatch([{ key: Buffer.from([0, 0, 0, type]), value: Buffer.alloc(6), timestamp }], {
    baseOffset: offset,
    baseTimestamp: timestamp,
    producerId,
    producerEpoch: 0,
    transactional: true,
    control: true,
  });
}

/** A plain (non-transactional, non-idempotent) batch. */
export function plainBatch(baseOffset: number, records: Array<[string, string]>, timestamp = TXN_T0): Buffer {
  return buildRecordBatch(
    records.map(([key, value]) => ({ key, value, timestamp })),
    { baseOffset, baseTimestamp: timestamp },
  );
}

/**
 * Offsets 0-10: P1 commits k1, k2; P2 aborts k1, k3; a plain k4; P1 aborts k2
 * (its last data batch); P2 commits k3. The latest committed value per key:
 * k1=committed-1, k2=committed-2, k3=committed-3, k4=plain-4.
 */
export function mixedTransactionsSegment(timestamp = TXN_T0): Buffer {
  return Buffer.concat([
    txnData(0, P1, [['k1', 'committed-1'], ['k2', 'committed-2']], timestamp),
    txnMarker(2, P1, 1, timestamp),
    txnData(3, P2, [['k1', 'aborted-1'], ['k3', 'aborted-3']], timestamp),
    txnMarker(5, P2, 0, timestamp),
    plainBatch(6, [['k4', 'plain-4']], timestamp),
    txnData(7, P1, [['k2', 'aborted-2']], timestamp),
    txnMarker(8, P1, 0, timestamp),
    txnData(9, P2, [['k3', 'committed-3']], timestamp),
    txnMarker(10, P2, 1, timestamp),
  ]);
}
