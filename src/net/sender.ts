// Response sender: writes an ordered list of parts (Buffers and file ranges) to
// one connection, in order, one response after the other.
//
// Two implementations behind one interface:
// - zero-copy (native/sender.cc): sendfile for file ranges and sendmsg for
//   Buffers, on a dup of the socket's fd, polled for writability on the event
//   loop. File bytes never enter the JS heap. Plaintext TCP (or Unix) sockets only.
// - copy: reads file ranges into pooled 64 KiB Buffers with fs.read and writes
//   them with socket.write, waiting for 'drain'. For TLS sockets, platforms
//   without the addon, and as the benchmark baseline.
//
// Ownership rules (the broker's connection follows them):
// - The sender is the only writer of its socket. Callers must not call
//   socket.write, socket.cork or socket.end while a send is queued or in
//   flight: in zero-copy mode bytes written by Node would interleave with the
//   kernel writes of the sender. Bytes Node still buffers when a send starts
//   (written before the sender existed) are flushed first.
// - Parts belong to the sender from send() until its promise settles: Buffers
//   must not be changed or transferred, file fds must stay open.
// - Sends run in the order send() was called; at most one is in flight.
// - A send rejects with an Error carrying `code`: 'ECONNRESET'/'EPIPE' (peer
//   gone), 'ESHORTFILE' (a file range ends early: the file was truncated),
//   'ECANCELED' (close()), 'ESENDQUEUEFULL', 'ERR_INVALID_ARG_VALUE', or the
//   errno code of a failed read. After a rejection the response stream is
//   broken mid-frame: the caller closes the connection.
import fs from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { nativeAddon } from '../native/addon.js';
import type { NativeSender } from '../native/types.js';

export interface FileRange {
  fd: number;
  position: number;
  length: number;
}
export type SendPart = Uint8Array | FileRange;
export type SenderMode = 'zero-copy' | 'copy';

export interface ResponseSender {
  readonly mode: SenderMode;
  /**
   * Queues parts behind earlier sends; resolves when all bytes are in the kernel
   * (zero-copy) or accepted by socket.write and drained below the high-water mark
   * (copy). Rejects with an Error carrying `code`.
   */
  send(parts: readonly SendPart[]): Promise<void>;
  /**
   * Cancels queued and in-flight sends (they reject with code 'ECANCELED'),
   * releases native resources. Idempotent. Also called automatically on socket
   * 'close' (then sends reject with the socket's error when it had one).
   */
  close(): void;
}

/** An Error with a code, as sends reject with. */
export type SendError = Error & { code: string };

// Size of one copy-path read. 64 KiB is large enough that the per-chunk cost
// (a threadpool round trip for fs.read, one socket write) is small next to the
// copy itself, and small enough that a chunk in flight costs little memory.
export const COPY_CHUNK_BYTES = 64 * 1024;
// Chunks kept for reuse, process-wide: 64 x 64 KiB = 4 MiB. A busy copy path
// uses two chunks per connection (one being read, one being written); beyond the
// pool, chunks are allocated and left to the GC.
const COPY_POOL_CHUNKS_MAX = 64;
// Parts per send; the same bound as the native side (kPartsMax in sender.cc).
export const SEND_PARTS_MAX = 262_144;
// Sends queued per connection. The connection bounds in-flight requests far
// below this; reaching it means a caller stopped awaiting its sends.
export const SEND_QUEUE_MAX = 4096;
// Positions and lengths cross to native code as doubles.
const FILE_POSITION_MAX = Number.MAX_SAFE_INTEGER;
const FD_MAX = 0x7fffffff;

const EMPTY = new Uint8Array(0);

function sendError(code: string, message: string): SendError {
  return Object.assign(new Error(message), { code });
}

interface HandleWithFd {
  readonly fd?: unknown;
}
interface SocketWithHandle {
  readonly _handle?: HandleWithFd | null;
}

/**
 * The OS fd of a connected socket (Node's TCP/Pipe handle exposes it as `fd` on
 * Unix), or -1 when there is none: not connected yet, destroyed, a TLS socket
 * (its handle is a TLSWrap), or a platform without fds.
 */
export function socketFd(socket: net.Socket): number {
  if (socket instanceof tls.TLSSocket) return -1;
  const handle = (socket as unknown as SocketWithHandle)._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

/**
 * A sender for `socket`. auto: zero-copy when the addon is loaded and the
 * socket has a usable fd, else copy. 'zero-copy' throws when that is not possible.
 * Create it once the socket is connected (server sockets always are).
 */
export function createSender(socket: net.Socket, mode: 'auto' | SenderMode = 'auto'): ResponseSender {
  if (mode === 'copy') return new CopySender(socket);
  const addon = nativeAddon();
  const fd = socketFd(socket);
  if (addon === null || fd < 0) {
    if (mode === 'zero-copy') {
      const why = addon === null ? 'the native addon is not loaded' : 'the socket has no usable fd (TLS, not connected, or destroyed)';
      throw sendError('ERR_ZERO_COPY_UNAVAILABLE', `zero-copy sender unavailable: ${why}`);
    }
    return new CopySender(socket);
  }
  let native: NativeSender;
  try {
    native = new addon.Sender(fd);
  } catch (err) {
    // dup or poll setup failed (EMFILE...): the copy path still works.
    if (mode === 'zero-copy') throw err;
    return new CopySender(socket);
  }
  return new ZeroCopySender(socket, native);
}

/** Null when the parts are valid, else the error the send rejects with. */
function validateParts(parts: readonly SendPart[]): SendError | null {
  if (parts.length > SEND_PARTS_MAX) {
    return sendError('ERR_INVALID_ARG_VALUE', `send: ${parts.length} parts, more than ${SEND_PARTS_MAX}`);
  }
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part instanceof Uint8Array) continue;
    const { fd, position, length } = part;
    const valid =
      Number.isInteger(fd) &&
      fd >= 0 &&
      fd <= FD_MAX &&
      Number.isSafeInteger(position) &&
      position >= 0 &&
      Number.isSafeInteger(length) &&
      length >= 0 &&
      position + length <= FILE_POSITION_MAX;
    if (!valid) {
      return sendError(
        'ERR_INVALID_ARG_VALUE',
        `send: part ${i} {fd: ${fd}, position: ${position}, length: ${length}} is not a valid file range`,
      );
    }
  }
  return null;
}

function socketClosedError(socket: net.Socket): SendError {
  const err: unknown = socket.errored;
  if (err instanceof Error && typeof (err as Partial<SendError>).code === 'string') return err as SendError;
  return sendError('ECANCELED', 'send canceled: the socket was closed');
}

interface SendEntry {
  readonly parts: readonly SendPart[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** The queue, ordering and cancellation shared by both modes. */
abstract class QueuedSender implements ResponseSender {
  abstract readonly mode: SenderMode;
  protected current: SendEntry | null = null;
  protected closed = false;
  private readonly queue: SendEntry[] = [];
  private queueHead = 0;
  private pumping = false;
  private readonly onSocketClose = (): void => this.closeWith(socketClosedError(this.socket));

  constructor(protected readonly socket: net.Socket) {
    if (socket.destroyed) this.closed = true;
    else socket.once('close', this.onSocketClose);
  }

  send(parts: readonly SendPart[]): Promise<void> {
    if (this.closed) return Promise.reject(socketClosedOrCanceled(this.socket));
    const invalid = validateParts(parts);
    if (invalid) return Promise.reject(invalid);
    if (this.queue.length - this.queueHead >= SEND_QUEUE_MAX) {
      return Promise.reject(sendError('ESENDQUEUEFULL', `send: ${SEND_QUEUE_MAX} sends already queued`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ parts, resolve, reject });
      this.pump();
    });
  }

  close(): void {
    this.closeWith(sendError('ECANCELED', 'send canceled: the sender was closed'));
  }

  /** Starts the send of `entry` (this.current); ends it with complete(entry, ...). */
  protected abstract begin(entry: SendEntry): void;
  /** Releases mode-specific resources; called once, after `closed` is set. */
  protected abstract release(err: SendError): void;

  /** Settles `entry` if it is still the send in flight, then starts the next. */
  protected complete(entry: SendEntry, err: Error | null): void {
    if (this.current !== entry) return;
    this.current = null;
    if (err) entry.reject(err);
    else entry.resolve();
    this.pump();
  }

  // A loop rather than recursion: begin() may complete synchronously (the
  // native side calls back at once when everything fit in the socket buffer).
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.current === null && !this.closed && this.queueHead < this.queue.length) {
        const entry = this.queue[this.queueHead++];
        if (this.queueHead === this.queue.length) {
          this.queue.length = 0;
          this.queueHead = 0;
        }
        this.current = entry;
        this.begin(entry);
      }
    } finally {
      this.pumping = false;
    }
  }

  private closeWith(err: SendError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.removeListener('close', this.onSocketClose);
    const inFlight = this.current;
    this.current = null;
    const queued = this.queue.slice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    this.release(err);
    inFlight?.reject(err);
    for (const entry of queued) entry.reject(err);
  }
}

function socketClosedOrCanceled(socket: net.Socket): SendError {
  if (socket.destroyed) return socketClosedError(socket);
  return sendError('ECANCELED', 'send canceled: the sender was closed');
}

class ZeroCopySender extends QueuedSender {
  readonly mode = 'zero-copy' as const;
  // Bound once: the native callback of the one send in flight.
  private readonly onNativeDone = (err: Error | null): void => {
    if (this.current !== null) this.complete(this.current, err);
  };

  constructor(
    socket: net.Socket,
    private readonly native: NativeSender,
  ) {
    super(socket);
    if (this.closed) native.close();
  }

  protected begin(entry: SendEntry): void {
    if (this.socket.writableLength > 0) {
      // Node still holds bytes (written before the sender took over); they must
      // reach the kernel before ours. An empty write calls back after them.
      this.socket.write(EMPTY, (err) => {
        if (this.current !== entry) return;
        if (err) this.complete(entry, err);
        else this.sendNative(entry);
      });
      return;
    }
    this.sendNative(entry);
  }

  private sendNative(entry: SendEntry): void {
    const parts = entry.parts;
    let rangeCount = 0;
    for (let i = 0; i < parts.length; i++) if (!(parts[i] instanceof Uint8Array)) rangeCount++;
    const kinds = new Uint8Array(parts.length);
    const buffers: Uint8Array[] = [];
    const ranges = new Float64Array(rangeCount * 3);
    let r = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part instanceof Uint8Array) {
        buffers.push(part);
      } else {
        kinds[i] = 1;
        ranges[r++] = part.fd;
        ranges[r++] = part.position;
        ranges[r++] = part.length;
      }
    }
    try {
      this.native.send(kinds, buffers, ranges, this.onNativeDone);
    } catch (err) {
      // Argument errors only (validated above), or EBUSY: a bug of ours.
      this.complete(entry, err as Error);
    }
  }

  protected release(): void {
    // Calls back ECANCELED for a pending send; complete() ignores it because
    // closeWith already took the entry out.
    this.native.close();
  }
}

// Chunks for the copy path. A chunk goes back to the pool only in the callback
// of the socket.write that carried it: Node keeps a reference to written
// Buffers until they are flushed (to the kernel, or into TLS), so reusing a
// chunk earlier would overwrite bytes not yet sent. This avoids an allocation
// per chunk in steady state at the price of a closure per 64 KiB write.
const chunkPool: Buffer[] = [];

function takeChunk(): Buffer {
  return chunkPool.pop() ?? Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES);
}

function releaseChunk(chunk: Buffer): void {
  if (chunkPool.length < COPY_POOL_CHUNKS_MAX) chunkPool.push(chunk);
}

interface ReadChunk {
  readonly chunk: Buffer;
  readonly bytes: number;
}

function readChunk(fd: number, position: number, length: number): Promise<ReadChunk> {
  const chunk = takeChunk();
  return new Promise<ReadChunk>((resolve, reject) => {
    fs.read(fd, chunk, 0, length, position, (err, bytes) => {
      if (err) {
        releaseChunk(chunk);
        reject(err);
      } else {
        resolve({ chunk, bytes });
      }
    });
  });
}

class CopySender extends QueuedSender {
  readonly mode = 'copy' as const;
  private drainWaiter: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private readonly onDrain = (): void => {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.resolve();
  };

  constructor(socket: net.Socket) {
    super(socket);
    if (!this.closed) socket.on('drain', this.onDrain);
  }

  protected begin(entry: SendEntry): void {
    this.copyParts(entry).then(
      () => this.complete(entry, null),
      (err: Error) => this.complete(entry, err),
    );
  }

  protected release(err: SendError): void {
    this.socket.removeListener('drain', this.onDrain);
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.reject(err);
  }

  private async copyParts(entry: SendEntry): Promise<void> {
    for (const part of entry.parts) {
      if (this.current !== entry) return;
      if (part instanceof Uint8Array) {
        if (part.length > 0 && !this.socket.write(part)) await this.drained();
      } else if (part.length > 0) {
        await this.copyRange(entry, part);
      }
    }
  }

  // Reads the next chunk while the current one is being written, so the disk
  // (or page cache copy) and the socket work overlap.
  private async copyRange(entry: SendEntry, range: FileRange): Promise<void> {
    let position = range.position;
    let leftBytes = range.length;
    let next: Promise<ReadChunk> | null = readChunk(range.fd, position, Math.min(leftBytes, COPY_CHUNK_BYTES));
    try {
      while (next !== null) {
        const { chunk, bytes } = await next;
        next = null;
        if (this.current !== entry || bytes === 0) {
          releaseChunk(chunk);
          if (this.current !== entry) return;
          throw sendError(
            'ESHORTFILE',
            `read fd ${range.fd}: file ended at position ${position}, inside the range ` +
              `[${range.position}, ${range.position + range.length})`,
          );
        }
        position += bytes;
        leftBytes -= bytes;
        if (leftBytes > 0) next = readChunk(range.fd, position, Math.min(leftBytes, COPY_CHUNK_BYTES));
        const view = bytes === chunk.length ? chunk : chunk.subarray(0, bytes);
        if (!this.socket.write(view, () => releaseChunk(chunk))) await this.drained();
      }
    } finally {
      // Leaving early (error, cancel): the read in flight still owns a chunk.
      if (next !== null) next.then((read) => releaseChunk(read.chunk), () => undefined);
    }
  }

  private drained(): Promise<void> {
    if (this.closed) return Promise.reject(socketClosedOrCanceled(this.socket));
    return new Promise<void>((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
    });
  }
}
