// The shape of the samsa_native addon: what crosses the N-API boundary.
//
// Rules that keep the boundary narrow and coarse:
// - Whole batches and whole buffers cross, never single records.
// - Numbers are JS doubles: offsets, positions and timestamps stay below 2^53.
// - Results with several numbers are written into caller-owned Float64Arrays
//   (reused across calls on hot paths) instead of allocating objects.
// - Failures of system calls throw an Error with `code` (errno name, e.g.
//   "ENOSPC"), `errno`, `syscall` and `path`. Invariant violations by the caller
//   (bad arguments) throw a TypeError/RangeError. Nothing aborts the process.

/** Kind of index file: Kafka's `.index` (8-byte entries) or `.timeindex` (12-byte entries). */
export type IndexKind = 'offset' | 'time';

/**
 * A Kafka-format index file, mmapped.
 * offset index entry: relativeOffset int32 BE, position int32 BE.
 * time index entry:   timestamp int64 BE, relativeOffset int32 BE.
 * Keys/values cross the boundary as absolute numbers; the native side converts
 * to and from the relative form and range-checks.
 *
 * Reads need not cross the boundary at all: mappedBuffer() exposes the mapping
 * as an ArrayBuffer that JS searches itself (src/storage/index-file.ts does),
 * bounded by the entry count it tracks. lookup and entryAt stay for callers
 * without a mapping and as the reference the JS search is tested against.
 */
export interface NativeIndexFile {
  /** Number of valid entries. */
  entryCount(): number;
  /** Maximum entries the current mapping can hold. */
  entryCapacity(): number;
  /**
   * Appends one entry. offset index: (absoluteOffset, position); time index:
   * (timestamp, absoluteOffset). Returns 0 on success, 1 when the index is full,
   * 2 when the relative offset would not fit an int32 or the position is outside
   * [0, 2^31-1]. Order is the caller's duty (JS enforces Kafka's monotonic rules).
   */
  append(key: number, value: number): number;
  /**
   * Largest entry whose key is <= target (offset index: key = absolute offset;
   * time index: key = timestamp). Writes [key, value] (absolute) into out[0..1]
   * and returns the slot, or -1 when every entry is greater (or there are none).
   * Binary search that looks at the most recent 8 KiB of entries first.
   */
  lookup(target: number, out: Float64Array): number;
  /** Writes entry `slot` (absolute numbers) into out[0..1]. */
  entryAt(slot: number, out: Float64Array): void;
  /** Keeps the first `entryCount` entries. */
  truncateToEntries(entryCount: number): void;
  /** Re-maps the file at `maxBytes` (rounded down to whole entries), preallocating with fallocate. */
  resize(maxBytes: number): void;
  /** msync of the mapping; durable on return. */
  flush(): void;
  /** Truncates the file to entryCount * entryBytes, unmaps and closes. Idempotent. */
  close(): void;
  /**
   * The whole mapping (entryCapacity() entries, on-disk format, big-endian) as
   * an external ArrayBuffer, or null when there is nothing to read that way:
   * an empty read-only file, a file resized to 0 bytes, a runtime that allows
   * no external buffers (V8 sandbox), and always for the JS implementation.
   * Callers then use lookup/entryAt. Only the first entryCount()
   * entries are valid. The same buffer comes back until the mapping changes.
   * Valid only while mapped: resize (when the size changes) and close detach
   * it (byteLength 0; a DataView over it throws TypeError), as does the
   * object's finalizer, so call again after those. Read only: a read-only file
   * is mapped PROT_READ, where a store would kill the process, and a store into
   * a writable one would skip every append check.
   */
  mappedBuffer(): ArrayBuffer | null;
}

export interface NativeIndexFileConstructor {
  /**
   * Opens or creates `path`. A new (empty) file is preallocated to `maxBytes`
   * (rounded down to whole entries) with fallocate, entryCount = 0. An existing
   * file has entryCount = floor(size / entryBytes); when `writable` it is then
   * extended to `maxBytes`. Read-only files are mapped PROT_READ and never extended.
   */
  new (path: string, kind: IndexKind, baseOffset: number, maxBytes: number, writable: boolean): NativeIndexFile;
}

export type SegmentMode = 'mmap' | 'write' | 'readonly';

/**
 * One `.log` segment data file.
 * - mmap: preallocated with fallocate to capacityBytes (never sparse), mapped
 *   MAP_SHARED, appends are memcpy; pages ahead of the write position are
 *   pre-faulted on a worker thread (MADV_POPULATE_WRITE) so appends do not fault.
 *   An append beyond capacity grows the file (fallocate) and remaps.
 * - write: pwritev at the logical end in chunks of at most 64 KiB.
 * - readonly: no writes; reads and scans use pread.
 */
export interface NativeSegmentFile {
  /** The file descriptor (for sendfile). Valid until close(). */
  fd(): number;
  /** Logical size in bytes: the end of the last appended batch. */
  size(): number;
  /**
   * Appends bytes [start, end) of `buf` at the logical end; returns the position
   * where they start. Throws an errno Error (ENOSPC...) leaving the logical size
   * unchanged, so the segment stays appendable once space returns.
   */
  append(buf: Uint8Array, start: number, end: number): number;
  /** Copies up to `length` bytes at `position` into target[targetStart..]; returns bytes copied (short at the logical end). */
  readInto(position: number, target: Uint8Array, targetStart: number, length: number): number;
  /** fdatasync on a worker thread (for a MAP_SHARED mapping it writes back the same dirty pages msync would). */
  flush(callback: (err: Error | null) => void): void;
  /** Sets the logical size to `position` (<= size()); bytes after it are zeroed (mmap) or cut (write). */
  truncate(position: number): void;
  /**
   * Header walk from `startPosition` to the logical end, no CRC check.
   * kind 0: first batch whose lastOffset >= target; kind 1: first batch whose maxTimestamp >= target.
   * Writes [position, baseOffset, lastOffset, maxTimestamp, batchBytes] into out[0..4]
   * and returns the position, or -1 when no such batch exists. A corrupt header
   * on the way throws an Error with code 'ESEGMENTCORRUPT' and its `position`.
   */
  findBatch(startPosition: number, kind: 0 | 1, target: number, out: Float64Array): number;
  /**
   * The end of a read starting at `startPosition` (a batch boundary): the boundary
   * after as many whole batches as fit in maxBytes, but at least one batch, and
   * never including a batch whose lastOffset >= maxOffsetExclusive (then it can
   * return startPosition: nothing readable).
   */
  sliceEnd(startPosition: number, maxBytes: number, maxOffsetExclusive: number): number;
  /**
   * Validates every batch from `startPosition` to the logical end (lengths, magic 2,
   * CRC32C, offsets increasing) and stops at the first invalid one. maxBatchBytes
   * bounds a whole batch (12 + batchLength), as max.message.bytes does. Returns what the log needs to
   * rebuild its indexes and truncate the torn tail.
   */
  recover(startPosition: number, indexIntervalBytes: number, maxBatchBytes: number): SegmentRecovery;
  /** Unmaps, trims the file to its logical size (mmap mode), closes the fd. Idempotent. */
  close(): void;
}

export interface SegmentRecovery {
  /** Position after the last valid batch; the log truncates here. */
  validBytes: number;
  batchCount: number;
  /** -1 when no valid batch. */
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  /** Why the scan stopped before the logical end ('' when it reached it). */
  error: string;
  /** Offset index entries to rebuild: pairs [lastOffset, position] (Kafka's rule: one entry per indexIntervalBytes). */
  offsetEntries: Float64Array;
  /** Time index entries: pairs [maxTimestampSoFar, offsetOfMaxTimestampSoFar], appended only when the timestamp grows. */
  timeEntries: Float64Array;
}

export interface NativeSegmentFileConstructor {
  /**
   * Opens or creates `path`. knownSize >= 0 is the logical size (a cleanly closed
   * segment's file size); -1 asks the native side to find it: the file size in
   * write/readonly mode, a structural header walk (stops at a zero or impossible
   * length) in mmap mode, where the file is preallocated.
   */
  new (path: string, mode: SegmentMode, capacityBytes: number, knownSize: number): NativeSegmentFile;
}

/** Options of validateBatches, as a Float64Array for a cheap call: see BATCH_VALIDATE_*. */
export interface NativeBatchScan {
  /**
   * Produce path, one call per partition per request. Walks the RecordBatch v2
   * batches in buf[start, end), validates each (complete, batchLength within
   * [49, maxBatchBytes], magic 2, CRC32C; lastOffsetDelta >= 0; recordsCount
   * consistent with lastOffsetDelta for uncompressed non-control batches is not
   * checked: that is per record), then rewrites baseOffset (nextOffset onward)
   * and partitionLeaderEpoch in place. With logAppendTimeMs >= 0 it also sets the
   * timestamp-type attribute bit and maxTimestamp and recomputes the CRC.
   *
   * Returns the number of batches (>= 1) or a negative status (BatchStatus) and
   * writes per-batch info into `out` (length >= 4 * maxBatches):
   *   out[4*i + 0] = position of batch i relative to `start`
   *   out[4*i + 1] = lastOffset (absolute, after assignment)
   *   out[4*i + 2] = maxTimestamp
   *   out[4*i + 3] = batch bytes
   * On failure out[0] = index of the offending batch. Nothing is rewritten
   * unless every batch is valid.
   */
  validateBatches(
    buf: Uint8Array,
    start: number,
    end: number,
    nextOffset: number,
    leaderEpoch: number,
    logAppendTimeMs: number,
    maxBatchBytes: number,
    out: Float64Array,
  ): number;
}

export interface NativeSender {
  /**
   * Sends parts in order on the socket whose fd was given to the constructor:
   * Buffers with writev/sendmsg, file ranges with sendfile. `ranges` holds
   * [fd, position, length] triples for the file parts; `kinds[i]` is 0 for
   * buffers[next buffer] and 1 for ranges[next range]. Sends until EAGAIN or a
   * per-turn byte budget, then waits for writability on a dup of the fd. Calls
   * back once: null when every byte is in the kernel, or an Error (code
   * 'ECONNRESET', 'EPIPE', 'ESHORTFILE' for a range that ends early, 'ECANCELED'
   * after close()). The callback may run synchronously: inside send() when
   * everything fit in the socket buffer, inside close() with ECANCELED.
   * send() while a send is pending throws (code 'EBUSY'); the TS wrapper queues.
   * The constructor throws ENOTSOCK for an fd that is not a socket. Range fds
   * are dup'ed for the duration of the send, so the caller may close them.
   */
  send(kinds: Uint8Array, buffers: Uint8Array[], ranges: Float64Array, callback: (err: Error | null) => void): void;
  /** Cancels a pending send (its callback gets ECANCELED) and releases the dup. Idempotent. */
  close(): void;
}

export interface NativeAddon extends NativeBatchScan {
  crc32c(buf: Uint8Array, start: number, end: number, crc: number): number;
  crc32cImplementation(): 'sse4.2' | 'software';
  /** The portable slicing-by-8 path, whatever the CPU (tests and benchmarks). */
  crc32cSoftware(buf: Uint8Array, start: number, end: number, crc: number): number;
  IndexFile: NativeIndexFileConstructor;
  SegmentFile: NativeSegmentFileConstructor;
  Sender: new (socketFd: number) => NativeSender;
  /** A close-on-exec dup of a socket fd (ENOTSOCK for anything else); the caller owns it. */
  dupSocketFd?(fd: number): number;
}

/** Negative return codes of validateBatches. */
export const BatchStatus = {
  /** Fewer bytes than a header, or batchLength runs past the end of the buffer. */
  Truncated: -1,
  /** batchLength below the v2 minimum or above maxBatchBytes. */
  BadLength: -2,
  /** magic is not 2. */
  BadMagic: -3,
  /** CRC32C mismatch. */
  BadCrc: -4,
  /** More batches than out can describe. */
  TooManyBatches: -5,
  /** lastOffsetDelta negative or the assigned offsets would pass 2^53. */
  BadOffsetDelta: -6,
} as const;
