// Idempotent-producer state of one partition (Kafka's ProducerStateManager):
// for each producer id, its epoch and the sequence and offset ranges of its
// last five batches, so a retried batch is answered with the offsets it got
// the first time instead of being appended twice.
//
// Snapshot files sit beside the segments as `<20-digit offset>.snapshot`, in
// Kafka's format (version 1, big-endian), so Kafka's tools can read ours:
//   version int16 = 1 | crc uint32 (CRC32C of everything after it) | count int32
//   count x { producerId int64, epoch int16, lastSequence int32, lastOffset int64,
//             offsetDelta int32, timestamp int64, coordinatorEpoch int32,
//             currentTxnFirstOffset int64 }
// A snapshot named N holds the state produced by every batch below offset N;
// state at a later offset is the snapshot plus the batches from N on. As in
// Kafka, a snapshot keeps only each producer's last batch.
//
// Ownership: one instance per Log, used only by that Log (event loop).
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '../record/crc32c.js';
import { BatchField } from '../record/record-batch.js';
import { StorageError, StorageErrorCode } from './errors.js';

export const PRODUCER_SNAPSHOT_SUFFIX = '.snapshot';
/** Kafka keeps five batches per producer: the most max.in.flight.requests.per.connection allows with idempotence. */
export const PRODUCER_BATCHES_CACHED_MAX = 5;
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
const INT32_MAX = 0x7fffffff;
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 10;
/** Bytes after the version and CRC: the CRC covers these. */
const SNAPSHOT_CRC_START = 6;
const SNAPSHOT_ENTRY_BYTES = 46;
/** Bounds what a (possibly corrupt) snapshot may make us read: ~1.4 M producers per partition. */
export const PRODUCER_SNAPSHOT_BYTES_MAX = 64 * 1024 * 1024;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** The batch's maxTimestamp (after LogAppendTime stamping). */
  timestamp: number;
}

export interface ProducerEntry {
  producerId: bigint;
  producerEpoch: number;
  /** Oldest first; at most PRODUCER_BATCHES_CACHED_MAX. */
  batches: BatchMetadata[];
  coordinatorEpoch: number;
  currentTxnFirstOffset: number;
  /** maxTimestamp of the producer's last batch; expiry counts from it. */
  lastTimestamp: number;
}

/** One row of a snapshot file, as stored. */
export interface ProducerSnapshotEntry {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastOffset: number;
  offsetDelta: number;
  timestamp: number;
  coordinatorEpoch: number;
  currentTxnFirstOffset: number;
}

/** The header fields of one batch that producer state needs. */
export interface ProducerBatch {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  attributes: number;
}

/** What an accepted append changes: one producer's new batch (the usual case), or copied entries. */
export interface PendingAppend {
  kind: 'append';
  /** Set when the append has several batches: updated copies of each producer's entry. */
  updates: Map<bigint, ProducerEntry> | null;
  /** Set when one idempotent batch was judged against the live entry (no copy). */
  producerId: bigint;
  producerEpoch: number;
  batch: BatchMetadata | null;
}

export type AppendCheck = PendingAppend | { kind: 'duplicate'; batch: BatchMetadata };

// An append without idempotent batches changes nothing; shared to keep the plain produce path allocation-free.
const NOTHING_PENDING: PendingAppend = Object.freeze({ kind: 'append', updates: null, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH, batch: null });

export interface ProducerStateLogger {
  warn(message: string): void;
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from Int32 max to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

export function decrementSequence(sequence: number, decrement: number): number {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1;
  return sequence - decrement;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}${PRODUCER_SNAPSHOT_SUFFIX}`;
}

/** Offset named by a snapshot file, or null when the name is not `<20 digits>.snapshot`. */
export function snapshotOffsetOf(name: string): number | null {
  const match = /^(\d{20})\.snapshot$/.exec(name);
  if (!match) return null;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? offset : null;
}

/** Reads the producer fields of the batch header at buf[at..] (the caller checked it is a whole v2 header). */
export function readProducerBatch(view: DataView, at: number, lastOffset: number, maxTimestamp: number, out: ProducerBatch): ProducerBatch {
  out.producerId = view.getBigInt64(at + BatchField.producerId);
  out.producerEpoch = view.getInt16(at + BatchField.producerEpoch);
  out.baseSequence = view.getInt32(at + BatchField.baseSequence);
  out.lastOffset = lastOffset;
  out.firstOffset = lastOffset - view.getInt32(at + BatchField.lastOffsetDelta);
  out.maxTimestamp = maxTimestamp;
  out.attributes = view.getInt16(at + BatchField.attributes);
  return out;
}

export function newProducerBatch(): ProducerBatch {
  return { producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH, baseSequence: NO_SEQUENCE, firstOffset: 0, lastOffset: 0, maxTimestamp: 0, attributes: 0 };
}

function lastSequenceOf(batch: ProducerBatch): number {
  return incrementSequence(batch.baseSequence, batch.lastOffset - batch.firstOffset);
}

function copyEntry(entry: ProducerEntry): ProducerEntry {
  return { ...entry, batches: entry.batches.slice() };
}

function emptyEntry(producerId: bigint): ProducerEntry {
  return {
    producerId,
    producerEpoch: NO_PRODUCER_EPOCH,
    batches: [],
    coordinatorEpoch: -1,
    currentTxnFirstOffset: -1,
    lastTimestamp: -1,
  };
}

/** What a producer without state looks like to the checks (never mutated). */
const UNKNOWN_PRODUCER: ProducerEntry = Object.freeze({
  producerId: NO_PRODUCER_ID,
  producerEpoch: NO_PRODUCER_EPOCH,
  batches: Object.freeze([]) as unknown as BatchMetadata[],
  coordinatorEpoch: -1,
  currentTxnFirstOffset: -1,
  lastTimestamp: -1,
});

function addBatch(entry: ProducerEntry, epoch: number, batch: BatchMetadata): void {
  // A new epoch starts a new sequence space: older batches can no longer be duplicates.
  if (entry.producerEpoch !== epoch) {
    entry.batches = [];
    entry.producerEpoch = epoch;
  }
  entry.batches.push(batch);
  if (entry.batches.length > PRODUCER_BATCHES_CACHED_MAX) entry.batches.shift();
  entry.lastTimestamp = batch.timestamp;
}

export class ProducerStateManager {
  private producers = new Map<bigint, ProducerEntry>();
  /** Snapshot offsets present on disk, ascending. */
  private snapshots: number[] = [];

  constructor(
    readonly dir: string,
    private readonly name: string,
    private producerIdExpirationMs: number,
    private readonly logger: ProducerStateLogger,
  ) {}

  get producerCount(): number {
    return this.producers.size;
  }

  entry(producerId: bigint): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  activeProducers(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  setProducerIdExpirationMs(ms: number): void {
    this.producerIdExpirationMs = ms;
  }

  /**
   * Judges a client append batch by batch, as Kafka's LogValidator and
   * analyzeAndValidateProducerState do: control batches and idempotent batches
   * without a sequence are invalid; a batch matching one of the producer's
   * cached five is a duplicate (nothing is appended, the caller answers with its
   * offsets); transactional batches are refused (no transaction coordinator);
   * then epoch and sequence checks. Throws a StorageError carrying Kafka's code.
   * State changes only when the caller commits the returned updates.
   */
  checkClientAppend(batches: ProducerBatch[]): AppendCheck {
    for (const batch of batches) {
      if ((batch.attributes & ATTR_CONTROL) !== 0) {
        throw new StorageError(StorageErrorCode.INVALID_RECORD, `Clients are not allowed to write control records in topic partition ${this.name}.`);
      }
      if (batch.producerId >= 0n && batch.baseSequence < 0) {
        throw new StorageError(
          StorageErrorCode.INVALID_RECORD,
          `Invalid sequence number ${batch.baseSequence} in record batch with producerId ${batch.producerId} in topic partition ${this.name}.`,
        );
      }
    }
    if (batches.length === 1) return this.checkSingle(batches[0]);
    const updates = new Map<bigint, ProducerEntry>();
    for (const batch of batches) {
      if (batch.producerId < 0n) continue;
      const current = this.producers.get(batch.producerId);
      const duplicate = current ? this.findDuplicate(current, batch) : undefined;
      if (duplicate) return { kind: 'duplicate', batch: duplicate };
      if ((batch.attributes & ATTR_TRANSACTIONAL) !== 0) {
        // Kafka answers this when a transactional batch was not verified by a
        // transaction coordinator; this broker has none, so none ever is.
        throw new StorageError(StorageErrorCode.INVALID_TXN_STATE, 'Record was not part of an ongoing transaction');
      }
      let updated = updates.get(batch.producerId);
      if (!updated) {
        updated = current ? copyEntry(current) : emptyEntry(batch.producerId);
        updates.set(batch.producerId, updated);
      }
      this.checkEpoch(updated, batch);
      this.checkSequence(current, updated, batch);
      addBatch(updated, batch.producerEpoch, this.metadataOf(batch));
    }
    return { kind: 'append', updates, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH, batch: null };
  }

  /**
   * The Produce path's case (Kafka allows one batch per partition per request):
   * the same checks against the live entry, which stays untouched until commit.
   */
  private checkSingle(batch: ProducerBatch): AppendCheck {
    if (batch.producerId < 0n) return NOTHING_PENDING;
    const current = this.producers.get(batch.producerId);
    const duplicate = current ? this.findDuplicate(current, batch) : undefined;
    if (duplicate) return { kind: 'duplicate', batch: duplicate };
    if ((batch.attributes & ATTR_TRANSACTIONAL) !== 0) {
      throw new StorageError(StorageErrorCode.INVALID_TXN_STATE, 'Record was not part of an ongoing transaction');
    }
    const view = current ?? UNKNOWN_PRODUCER;
    this.checkEpoch(view, batch);
    this.checkSequence(current, view, batch);
    return { kind: 'append', updates: null, producerId: batch.producerId, producerEpoch: batch.producerEpoch, batch: this.metadataOf(batch) };
  }

  /** Applies an accepted append once its bytes are in the log. */
  commit(pending: PendingAppend): void {
    if (pending.updates) {
      for (const [producerId, entry] of pending.updates) this.producers.set(producerId, entry);
      return;
    }
    if (pending.batch === null) return;
    let entry = this.producers.get(pending.producerId);
    if (!entry) {
      entry = emptyEntry(pending.producerId);
      this.producers.set(pending.producerId, entry);
    }
    addBatch(entry, pending.producerEpoch, pending.batch);
  }

  private metadataOf(batch: ProducerBatch): BatchMetadata {
    return {
      firstSeq: batch.baseSequence,
      lastSeq: lastSequenceOf(batch),
      firstOffset: batch.firstOffset,
      lastOffset: batch.lastOffset,
      timestamp: batch.maxTimestamp,
    };
  }

  private findDuplicate(entry: ProducerEntry, batch: ProducerBatch): BatchMetadata | undefined {
    if (entry.producerEpoch !== batch.producerEpoch) return undefined;
    const lastSeq = lastSequenceOf(batch);
    for (const cached of entry.batches) {
      if (cached.firstSeq === batch.baseSequence && cached.lastSeq === lastSeq) return cached;
    }
    return undefined;
  }

  private checkEpoch(updated: ProducerEntry, batch: ProducerBatch): void {
    if (batch.producerEpoch >= updated.producerEpoch) return;
    throw new StorageError(
      StorageErrorCode.INVALID_PRODUCER_EPOCH,
      `Epoch of producer ${batch.producerId} at offset ${batch.firstOffset} in ${this.name} is ${batch.producerEpoch}, ` +
        `which is smaller than the last seen epoch ${updated.producerEpoch}`,
    );
  }

  /**
   * Kafka's ProducerAppendInfo.checkSequence. A new epoch must start at 0 unless
   * the producer was unknown; within an epoch the batch must follow the last one.
   * A producer this partition has no state for (new, or expired) may start at
   * any sequence: since KIP-360 Kafka accepts rather than answer UNKNOWN_PRODUCER_ID.
   */
  private checkSequence(current: ProducerEntry | undefined, updated: ProducerEntry, batch: ProducerBatch): void {
    const firstSeq = batch.baseSequence;
    if (batch.producerEpoch !== updated.producerEpoch) {
      if (firstSeq !== 0 && updated.producerEpoch !== NO_PRODUCER_EPOCH) {
        throw new StorageError(
          StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number for new epoch of producer ${batch.producerId} at offset ${batch.firstOffset} in partition ${this.name}: ` +
            `${batch.producerEpoch} (request epoch), ${firstSeq} (seq. number), ${updated.producerEpoch} (current producer epoch)`,
        );
      }
      return;
    }
    const lastSeq = updated.batches.length > 0 ? updated.batches[updated.batches.length - 1].lastSeq : NO_SEQUENCE;
    const currentEpoch = current ? current.producerEpoch : NO_PRODUCER_EPOCH;
    if (currentEpoch === NO_PRODUCER_EPOCH || inSequence(lastSeq, firstSeq)) return;
    throw new StorageError(
      StorageErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      `Out of order sequence number for producer ${batch.producerId} at offset ${batch.firstOffset} in partition ${this.name}: ` +
        `${firstSeq} (incoming seq. number), ${lastSeq} (current end sequence number)`,
    );
  }

  /**
   * Replays a batch already in the log (loading after a restart): no checks,
   * as Kafka replays with origin REPLICATION. Control batches end a transaction.
   */
  replay(batch: ProducerBatch): void {
    if (batch.producerId < 0n) return;
    let entry = this.producers.get(batch.producerId);
    if (!entry) {
      entry = emptyEntry(batch.producerId);
      this.producers.set(batch.producerId, entry);
    }
    if (batch.producerEpoch < entry.producerEpoch) {
      this.logger.warn(`${this.name}: producer ${batch.producerId} at offset ${batch.firstOffset} has epoch ${batch.producerEpoch} below ${entry.producerEpoch}`);
    }
    if ((batch.attributes & ATTR_CONTROL) !== 0) {
      if (entry.producerEpoch !== batch.producerEpoch) {
        entry.batches = [];
        entry.producerEpoch = batch.producerEpoch;
      }
      entry.currentTxnFirstOffset = -1;
      entry.lastTimestamp = batch.maxTimestamp;
      return;
    }
    if ((batch.attributes & ATTR_TRANSACTIONAL) !== 0 && entry.currentTxnFirstOffset < 0) entry.currentTxnFirstOffset = batch.firstOffset;
    addBatch(entry, batch.producerEpoch, this.metadataOf(batch));
  }

  /** producer.id.expiration.ms: forgets producers idle that long (never one with an open transaction). */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (this.isExpired(entry, nowMs)) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  private isExpired(entry: ProducerEntry, nowMs: number): boolean {
    return entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestamp >= this.producerIdExpirationMs;
  }

  // ---- snapshots ----

  /** Lists snapshot files; deletes those outside [logStartOffset, logEndOffset] (stale after truncation or retention). */
  private scanSnapshots(logStartOffset: number, logEndOffset: number): void {
    const offsets: number[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const offset = snapshotOffsetOf(name);
      if (offset === null) continue;
      if (offset < logStartOffset || offset > logEndOffset) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      offsets.push(offset);
    }
    this.snapshots = offsets.sort((a, b) => a - b);
  }

  get snapshotOffsets(): readonly number[] {
    return this.snapshots;
  }

  /**
   * Loads the newest readable snapshot within [logStartOffset, logEndOffset],
   * dropping expired producers; a corrupt snapshot is deleted and the next older
   * one tried. Returns the offset from which the log must be replayed.
   */
  load(logStartOffset: number, logEndOffset: number, nowMs: number): number {
    this.producers.clear();
    this.scanSnapshots(logStartOffset, logEndOffset);
    while (this.snapshots.length > 0) {
      const offset = this.snapshots[this.snapshots.length - 1];
      const file = path.join(this.dir, snapshotFileName(offset));
      try {
        for (const row of readProducerSnapshot(file)) {
          const entry = entryFromSnapshot(row);
          if (!this.isExpired(entry, nowMs)) this.producers.set(entry.producerId, entry);
        }
        return offset;
      } catch (err) {
        this.logger.warn(`${this.name}: deleting unreadable producer snapshot ${file}: ${(err as Error).message}`);
        this.producers.clear();
        fs.rmSync(file, { force: true });
        this.snapshots.pop();
      }
    }
    return logStartOffset;
  }

  /**
   * Writes the current state as the snapshot at `offset` (the log end it
   * reflects). With `sync` the file is fsynced before returning (clean
   * shutdown); otherwise the returned promise fsyncs it off the event loop (roll).
   */
  takeSnapshot(offset: number, sync: boolean): Promise<void> {
    const file = path.join(this.dir, snapshotFileName(offset));
    const bytes = encodeProducerSnapshot(this.snapshotRows());
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, bytes);
      if (sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (!this.snapshots.includes(offset)) {
      this.snapshots.push(offset);
      this.snapshots.sort((a, b) => a - b);
    }
    if (sync) return Promise.resolve();
    return fs.promises.open(file, 'r').then(async (handle) => {
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Deletes snapshots other than those at `keep` (segment base offsets) and the newest. */
  retainSnapshots(keep: ReadonlySet<number>): void {
    const newest = this.snapshots[this.snapshots.length - 1];
    this.snapshots = this.snapshots.filter((offset) => {
      if (offset === newest || keep.has(offset)) return true;
      fs.rmSync(path.join(this.dir, snapshotFileName(offset)), { force: true });
      return false;
    });
  }

  /** Log truncation: drops snapshots past `offset`; the caller reloads and replays. */
  deleteSnapshotsAfter(offset: number): void {
    this.snapshots = this.snapshots.filter((o) => {
      if (o <= offset) return true;
      fs.rmSync(path.join(this.dir, snapshotFileName(o)), { force: true });
      return false;
    });
  }

  /** The log was emptied (truncateFullyAndStartAt): no producer state survives. */
  clear(): void {
    this.deleteSnapshotsAfter(-1);
    this.producers.clear();
  }

  private snapshotRows(): ProducerSnapshotEntry[] {
    const rows: ProducerSnapshotEntry[] = [];
    for (const entry of this.producers.values()) {
      const last = entry.batches[entry.batches.length - 1];
      rows.push({
        producerId: entry.producerId,
        producerEpoch: entry.producerEpoch,
        lastSequence: last ? last.lastSeq : NO_SEQUENCE,
        lastOffset: last ? last.lastOffset : -1,
        offsetDelta: last ? last.lastOffset - last.firstOffset : 0,
        timestamp: entry.lastTimestamp,
        coordinatorEpoch: entry.coordinatorEpoch,
        currentTxnFirstOffset: entry.currentTxnFirstOffset,
      });
    }
    return rows;
  }
}

function entryFromSnapshot(row: ProducerSnapshotEntry): ProducerEntry {
  const entry = emptyEntry(row.producerId);
  entry.producerEpoch = row.producerEpoch;
  entry.coordinatorEpoch = row.coordinatorEpoch;
  entry.currentTxnFirstOffset = row.currentTxnFirstOffset;
  entry.lastTimestamp = row.timestamp;
  if (row.lastOffset >= 0 && row.lastSequence >= 0) {
    entry.batches.push({
      firstSeq: decrementSequence(row.lastSequence, row.offsetDelta),
      lastSeq: row.lastSequence,
      firstOffset: row.lastOffset - row.offsetDelta,
      lastOffset: row.lastOffset,
      timestamp: row.timestamp,
    });
  }
  return entry;
}

export function encodeProducerSnapshot(rows: readonly ProducerSnapshotEntry[]): Buffer {
  const bytes = Buffer.alloc(SNAPSHOT_HEADER_BYTES + rows.length * SNAPSHOT_ENTRY_BYTES);
  bytes.writeInt16BE(SNAPSHOT_VERSION, 0);
  bytes.writeInt32BE(rows.length, 6);
  let at = SNAPSHOT_HEADER_BYTES;
  for (const row of rows) {
    bytes.writeBigInt64BE(row.producerId, at);
    bytes.writeInt16BE(row.producerEpoch, at + 8);
    bytes.writeInt32BE(row.lastSequence, at + 10);
    bytes.writeBigInt64BE(BigInt(row.lastOffset), at + 14);
    bytes.writeInt32BE(row.offsetDelta, at + 22);
    bytes.writeBigInt64BE(BigInt(row.timestamp), at + 26);
    bytes.writeInt32BE(row.coordinatorEpoch, at + 34);
    bytes.writeBigInt64BE(BigInt(row.currentTxnFirstOffset), at + 38);
    at += SNAPSHOT_ENTRY_BYTES;
  }
  bytes.writeUInt32BE(crc32c(bytes, SNAPSHOT_CRC_START, bytes.length, 0), 2);
  return bytes;
}

export class CorruptSnapshotError extends Error {}

/** Reads and checks a snapshot file (size bound, version, CRC, exact length). */
export function readProducerSnapshot(file: string): ProducerSnapshotEntry[] {
  const size = fs.statSync(file).size;
  if (size > PRODUCER_SNAPSHOT_BYTES_MAX) throw new CorruptSnapshotError(`${size} bytes is more than ${PRODUCER_SNAPSHOT_BYTES_MAX}`);
  return decodeProducerSnapshot(fs.readFileSync(file));
}

export function decodeProducerSnapshot(bytes: Buffer): ProducerSnapshotEntry[] {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw new CorruptSnapshotError(`${bytes.length} bytes is shorter than the header`);
  const version = bytes.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new CorruptSnapshotError(`snapshot version ${version} (expected ${SNAPSHOT_VERSION})`);
  const crc = bytes.readUInt32BE(2);
  const computed = crc32c(bytes, SNAPSHOT_CRC_START, bytes.length, 0);
  if (crc !== computed) throw new CorruptSnapshotError(`CRC ${crc} does not match the computed ${computed}`);
  const count = bytes.readInt32BE(6);
  if (count < 0 || SNAPSHOT_HEADER_BYTES + count * SNAPSHOT_ENTRY_BYTES !== bytes.length) {
    throw new CorruptSnapshotError(`${count} entries do not fill ${bytes.length} bytes`);
  }
  const rows: ProducerSnapshotEntry[] = [];
  for (let i = 0, at = SNAPSHOT_HEADER_BYTES; i < count; i++, at += SNAPSHOT_ENTRY_BYTES) {
    rows.push({
      producerId: bytes.readBigInt64BE(at),
      producerEpoch: bytes.readInt16BE(at + 8),
      lastSequence: bytes.readInt32BE(at + 10),
      lastOffset: Number(bytes.readBigInt64BE(at + 14)),
      offsetDelta: bytes.readInt32BE(at + 22),
      timestamp: Number(bytes.readBigInt64BE(at + 26)),
      coordinatorEpoch: bytes.readInt32BE(at + 34),
      currentTxnFirstOffset: Number(bytes.readBigInt64BE(at + 38)),
    });
  }
  return rows;
}
