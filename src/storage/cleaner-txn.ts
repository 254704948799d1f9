// Transactions as the log cleaner sees them, after Kafka's
// CleanedTransactionMetadata (LogCleaner.scala) and
// Log.collectAbortedTransactions.
//
// Kafka reads aborted transactions from each segment's `.txnindex`; this
// broker keeps no transaction index, so the cleaner finds them by walking the
// batch headers of the log (only control batches are decoded, for their
// marker type): a transaction of a producer runs from its first transactional
// data batch to its next control batch, and is aborted when that marker is an
// ABORT. A segment's walk is remembered (segments are immutable once
// inactive), so a log is walked once, not at every clean.
//
// While cleaning, batches are met in offset order and:
// - a data batch of an aborted transaction is discarded (its records go; the
//   batch stays empty only when it is its producer's last);
// - an ABORT marker is kept while any batch of its transaction was still seen
//   in this pass; once none is, it may be discarded;
// - a COMMIT marker may be discarded once no batch of its transaction was seen;
// - a marker that may be discarded is first stamped with a delete horizon
//   (now + delete.retention.ms, KIP-534) and removed by a clean after it, so a
//   consumer reading within delete.retention.ms still sees the end of the
//   transaction.
// The offset map skips the records of aborted transactions, so an aborted
// value never shadows an earlier committed one.
import { decodeBatchRecords, type BatchHeader } from '../record/record-batch.js';

/** Kafka's AbortedTxn: the producer, the transaction's first offset, and its ABORT marker's offset. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
}

/** Kafka's ControlRecordType: the int16 at bytes 2-3 of a control record's key. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;

const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** The marker type of a control batch (its first record's key), or -1 when it has none readable. */
export function controlRecordType(batch: Uint8Array, at: number): number {
  try {
    const records = decodeBatchRecords(batch, at);
    const key = records[0]?.key;
    if (!key || key.length < 4) return -1;
    return (key[2] << 8) | key[3];
  } catch {
    return -1;
  }
}

/** What one segment holds of transactions, in offset order: enough to fold the log's transactions without reading it again. */
export type TxnEvent = { kind: 'data'; producerId: number; offset: number } | { kind: 'marker'; producerId: number; offset: number; type: number };

/** Folds batches (by header) into transaction events; a run of data batches of one producer is one event. */
export class TxnEventCollector {
  readonly events: TxnEvent[] = [];
  private readonly lastKind = new Map<number, 'data' | 'marker'>();

  /** Call for every batch in offset order; `batch[at..]` is the whole batch (read only for control batches). */
  onBatch(batch: Uint8Array, at: number, attributes: number, producerId: number, baseOffset: number): void {
    if (producerId < 0) return;
    if ((attributes & ATTR_CONTROL) !== 0) {
      this.events.push({ kind: 'marker', producerId, offset: baseOffset, type: controlRecordType(batch, at) });
      this.lastKind.set(producerId, 'marker');
    } else if ((attributes & ATTR_TRANSACTIONAL) !== 0 && this.lastKind.get(producerId) !== 'data') {
      this.events.push({ kind: 'data', producerId, offset: baseOffset });
      this.lastKind.set(producerId, 'data');
    }
  }
}

/**
 * The aborted transactions among events in offset order (all segments of a
 * log from its start), sorted by first offset; transactions still open at the
 * end are not aborted (not yet decided).
 */
export function abortedTransactions(events: Iterable<TxnEvent>): AbortedTxn[] {
  const open = new Map<number, number>();
  const aborted: AbortedTxn[] = [];
  for (const e of events) {
    if (e.kind === 'data') {
      if (!open.has(e.producerId)) open.set(e.producerId, e.offset);
      continue;
    }
    const first = open.get(e.producerId);
    open.delete(e.producerId);
    if (e.type === ControlRecordType.ABORT) aborted.push({ producerId: e.producerId, firstOffset: first ?? e.offset, lastOffset: e.offset });
  }
  return aborted.sort((a, b) => a.firstOffset - b.firstOffset);
}

/** Kafka's CleanedTransactionMetadata: the transaction state of one pass over the log, in offset order. */
export class CleanedTransactionMetadata {
  private next = 0;
  /** producer id -> the aborted transaction being passed, and whether a batch of it was seen. */
  private readonly ongoingAborted = new Map<number, { txn: AbortedTxn; batchSeen: boolean }>();
  /** Producers with a transaction being passed that is not aborted (committed, or not decided yet). */
  private readonly ongoingCommitted = new Set<number>();

  constructor(private readonly aborted: readonly AbortedTxn[]) {}

  private consumeAbortedUpTo(offset: number): void {
    while (this.next < this.aborted.length && this.aborted[this.next].firstOffset <= offset) {
      const txn = this.aborted[this.next++];
      this.ongoingAborted.set(txn.producerId, { txn, batchSeen: false });
    }
  }

  /** A data batch: true when it belongs to an aborted transaction (its records are discarded). */
  onBatchRead(header: BatchHeader): boolean {
    this.consumeAbortedUpTo(header.lastOffset);
    if (!header.isTransactional) return false;
    const aborted = this.ongoingAborted.get(header.producerId);
    if (aborted) {
      aborted.batchSeen = true;
      return true;
    }
    this.ongoingCommitted.add(header.producerId);
    return false;
  }

  /** A control batch: true when the marker may be discarded (no batch of its transaction is left before it). */
  onControlBatchRead(header: BatchHeader, type: number): boolean {
    this.consumeAbortedUpTo(header.lastOffset);
    const producerId = header.producerId;
    if (type === ControlRecordType.ABORT) {
      const aborted = this.ongoingAborted.get(producerId);
      this.ongoingAborted.delete(producerId);
      // Kept until every batch of the transaction is gone.
      return !(aborted && aborted.batchSeen);
    }
    if (type === ControlRecordType.COMMIT) return !this.ongoingCommitted.delete(producerId);
    return false;
  }
}
