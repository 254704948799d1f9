// Reusable buffers for request frames that arrive split across socket reads
// (every Produce request larger than one 64 KiB read).
//
// Why: a fresh Buffer per large frame is a fresh malloc above glibc's mmap
// threshold, so every produce request paid for mmap, page faults on every 4 KiB
// page, munmap, and V8 external-memory GC pressure: about a third of the broker's
// CPU per GiB produced (bench:e2e, docs/perf.md). Reused buffers keep their pages.
//
// Lifetime: a frame is released by its connection after the response to it has
// been sent (or dropped for acks=0), never when the connection closes with the
// handler possibly still running. Handlers may keep views of the request only
// until their response: the decoded record bytes of a Produce request are views
// of the frame (see Reader.bytesView), so anything kept longer must be copied.

/** Smaller frames come from malloc's heap, which reuses memory cheaply. */
export const POOLED_FRAME_BYTES_MIN = 64 * 1024;
/** Larger frames are rare (socket.request.max.bytes allows 100 MiB): allocated each time. */
export const POOLED_FRAME_BYTES_MAX = 16 * 1024 * 1024;
/** Idle buffers kept, over all connections and size classes. */
export const POOL_IDLE_BYTES_MAX = 16 * 1024 * 1024;

const idle = new Map<number, ArrayBuffer[]>();
const owned = new WeakSet<ArrayBuffer>();
const inPool = new WeakSet<ArrayBuffer>();
let idleBytes = 0;

function capacityFor(bytes: number): number {
  let c = POOLED_FRAME_BYTES_MIN;
  while (c < bytes) c *= 2;
  return c;
}

/** A Buffer of exactly `bytes` bytes (uninitialised), pooled when the size is in range. */
export function acquireFrame(bytes: number): Buffer {
  if (bytes < POOLED_FRAME_BYTES_MIN || bytes > POOLED_FRAME_BYTES_MAX) return Buffer.allocUnsafe(bytes);
  const capacity = capacityFor(bytes);
  const list = idle.get(capacity);
  let backing = list?.pop();
  if (backing !== undefined) {
    inPool.delete(backing);
    idleBytes -= capacity;
  } else {
    backing = new ArrayBuffer(capacity);
    owned.add(backing);
  }
  return Buffer.from(backing, 0, bytes);
}

/** Returns a frame from acquireFrame for reuse; other Buffers are ignored. Idempotent. */
export function releaseFrame(frame: Uint8Array): void {
  const backing = frame.buffer;
  if (!(backing instanceof ArrayBuffer) || !owned.has(backing) || inPool.has(backing)) return;
  if (idleBytes + backing.byteLength > POOL_IDLE_BYTES_MAX) return;
  let list = idle.get(backing.byteLength);
  if (list === undefined) idle.set(backing.byteLength, (list = []));
  list.push(backing);
  inPool.add(backing);
  idleBytes += backing.byteLength;
}

/** Bytes held idle by the pool (for tests). */
export function idleFrameBytes(): number {
  return idleBytes;
}
