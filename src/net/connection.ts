// One client connection: Kafka framing (int32 size, then size bytes), requests
// handled concurrently but answered strictly in arrival order, bounded queues
// with backpressure, and every response written through one ResponseSender
// (zero-copy when possible), which is the only writer on the socket.
//
// Frame bytes: a frame that arrives inside one socket read is a subarray of it
// (no copy); one split across reads is assembled once into a buffer of exactly
// its size, from the frame pool (frame-pool.ts), and given back once its
// response is sent. Nothing is allocated from a size read off the wire before
// that size has been checked against socket.request.max.bytes.
//
// Direct reads (readMode 'auto' with the addon): the accepted socket is
// re-wrapped, on a dup of its fd, in a net.Socket with Node's `onread` option,
// so the kernel copies bytes straight into buffers chosen here: small reads
// into a 64 KiB slab, and the rest of a large frame (a Produce request) into
// its pooled frame buffer, with no copy in JavaScript and no Buffer per read.
// After a large frame, the next read is speculative: straight into a pooled
// buffer sized for a frame as large as the last one (size prefix included), as
// producers send frames of similar sizes. When the guess holds, no byte of the
// frame is copied and no slab is allocated for it (a fresh 64 KiB slab per
// request cost page faults in the kernel's copy to it, and the copy of the
// frame's first 64 KiB out of it was the top JavaScript frame under produce
// load: docs/perf.md, "Profiles"); when it does not, the bytes read are copied
// to the ordinary path, as they would have been from the slab.
import fs from 'node:fs';
import net from 'node:net';
import { nativeAddon } from '../native/addon.js';
import { acquireFrame, POOLED_FRAME_BYTES_MAX, POOLED_FRAME_BYTES_MIN, releaseFrame } from './frame-pool.js';
import { createSender, SEND_PARTS_MAX, socketFd, type ResponseSender, type SendPart, type SenderMode } from './sender.js';

/** socket.request.max.bytes default: 100 MiB. */
export const REQUEST_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;
/** Requests read but not yet answered, per connection, before reads pause (clients pipeline ~5). */
export const QUEUED_REQUESTS_MAX_DEFAULT = 32;
/** Bytes of such requests before reads pause. */
export const QUEUED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** connections.max.idle.ms default: 10 minutes. */
export const CONNECTION_IDLE_MS_MAX_DEFAULT = 600_000;
const FRAME_SIZE_BYTES = 4;
// Direct reads: small reads share a slab (frames inside one read are views of
// it); a slab with less than READ_SLAB_FREE_MIN left is replaced.
const READ_SLAB_BYTES = 64 * 1024;
const READ_SLAB_FREE_MIN = 8 * 1024;

export interface ConnectionOptions {
  requestBytesMax: number;
  queuedRequestsMax: number;
  queuedBytesMax: number;
  idleMsMax: number;
  senderMode: 'auto' | SenderMode;
  /** auto: direct reads when the addon is loaded (see above); stream: Node's 'data' events. */
  readMode: 'auto' | 'stream';
}

export const DEFAULT_CONNECTION_OPTIONS: Readonly<ConnectionOptions> = Object.freeze({
  requestBytesMax: REQUEST_BYTES_MAX_DEFAULT,
  queuedRequestsMax: QUEUED_REQUESTS_MAX_DEFAULT,
  queuedBytesMax: QUEUED_BYTES_MAX_DEFAULT,
  idleMsMax: CONNECTION_IDLE_MS_MAX_DEFAULT,
  senderMode: 'auto',
  readMode: 'auto',
});

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/**
 * Handles one request frame (header + body, without the size prefix) and
 * returns the response frame's parts including its size prefix, or null when
 * no response is due (Produce with acks=0). A thrown error or rejection is a
 * broker bug or an unparseable request: the connection is closed with a log line.
 * The frame may be reused once the response is sent: keep no view of it longer.
 */
export type RequestHandler = (frame: Buffer, connection: ConnectionInfo) => Promise<readonly SendPart[] | null> | readonly SendPart[] | null;

export interface ConnectionLogger {
  /** `fields` carries the peer and the reason for structured logs. */
  warn(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

interface Pending {
  bytes: number;
  response: Promise<readonly SendPart[] | null>;
  /** The frame, when it came from the frame pool (released after the response). */
  pooled: Buffer | null;
  /** The response's parts once it resolved (null: no response due); undefined until then or when it failed. */
  parts?: readonly SendPart[] | null;
}

let nextConnectionId = 1;

export class Connection implements ConnectionInfo {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly sender: ResponseSender;
  private readonly pending: Pending[] = [];
  private queuedBytes = 0;
  private draining = false;
  private closed = false;
  // Frame assembly state.
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private frameBytes = -1;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivityMs = Date.now();
  private readonly closeWaiters: Array<() => void> = [];
  private stopReading = false;
  private readonly socket: net.Socket;
  // Direct reads: the slab small reads land in, and the large frame being filled.
  private slab: Buffer | null = null;
  private slabUsed = 0;
  private direct: Buffer | null = null;
  private directFilled = 0;
  private directRegion: Buffer | null = null;
  // Speculative reads: the size of the last large frame (0: the last frame was
  // small), and the pooled buffer being read into (size prefix at 0, frame at 4).
  private expectedFrameBytes = 0;
  private spec: Buffer | null = null;
  private specFilled = 0;
  private specRegion: Buffer | null = null;

  /** `accepted` should be paused (pauseOnConnect), so no byte is read before the mode is chosen. */
  constructor(
    accepted: net.Socket,
    private readonly handler: RequestHandler,
    private readonly options: ConnectionOptions,
    private readonly logger: ConnectionLogger,
  ) {
    this.remoteAddress = accepted.remoteAddress ?? '?';
    this.remotePort = accepted.remotePort ?? 0;
    const adopted =
      options.readMode === 'auto'
        ? adoptWithDirectReads(accepted, { buffer: () => this.nextReadBuffer(), callback: (n: number, into: Uint8Array) => this.onRead(n, into) })
        : null;
    const socket = adopted ?? accepted;
    this.socket = socket;
    socket.setNoDelay(true);
    this.sender = createSender(socket, options.senderMode);
    if (adopted === null) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.resume();
    }
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Resets and aborts end in 'close'; peers hanging up are routine, so only debug.
      this.logger.debug?.(`${this.description}: socket error: ${err.message}`, { peer: this.peer, reason: err.code ?? err.message });
    });
    socket.on('close', () => this.onClose());
    this.scheduleIdleCheck();
  }

  get peer(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  get description(): string {
    return `connection ${this.id} from ${this.remoteAddress}:${this.remotePort}`;
  }

  /** Requests read and not yet fully answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Where the next direct read lands: the rest of the frame being filled, else the slab. */
  private nextReadBuffer(): Buffer {
    if (this.direct !== null) {
      this.directRegion = this.direct.subarray(this.directFilled);
      return this.directRegion;
    }
    this.directRegion = null;
    if (this.spec === null && this.expectedFrameBytes > 0 && this.chunkBytes === 0 && this.frameBytes < 0 && !this.stopReading && !this.overQueueLimits()) {
      this.spec = acquireFrame(FRAME_SIZE_BYTES + this.expectedFrameBytes);
      this.specFilled = 0;
    }
    if (this.spec !== null) {
      this.specRegion = this.spec.subarray(this.specFilled);
      return this.specRegion;
    }
    this.specRegion = null;
    if (this.slab === null || this.slab.length - this.slabUsed < READ_SLAB_FREE_MIN) {
      this.slab = Buffer.allocUnsafeSlow(READ_SLAB_BYTES);
      this.slabUsed = 0;
    }
    return this.slab.subarray(this.slabUsed);
  }

  private onRead(bytes: number, into: Uint8Array): void {
    if (this.closed) return;
    if (into === this.directRegion && this.direct !== null) {
      this.lastActivityMs = Date.now();
      this.directFilled += bytes;
      if (this.directFilled === this.direct.length) this.finishDirect();
      this.processBuffered();
      return;
    }
    if (into === this.specRegion && this.spec !== null) {
      this.lastActivityMs = Date.now();
      this.specFilled += bytes;
      if (this.specFilled >= FRAME_SIZE_BYTES) this.finishSpeculativeRead();
      this.processBuffered();
      return;
    }
    // A slab read (possibly handed out before a direct frame started: onData copes).
    const chunk = this.slab!.subarray(this.slabUsed, this.slabUsed + bytes);
    this.slabUsed += bytes;
    this.onData(chunk);
  }

  /** The size prefix of a speculative read is in: keep the frame where it is when it fits, else hand the bytes to the ordinary path. */
  private finishSpeculativeRead(): void {
    const spec = this.spec!;
    const filled = this.specFilled;
    this.spec = null;
    this.specRegion = null;
    const size = spec.readInt32BE(0);
    const capacity = spec.buffer.byteLength - spec.byteOffset - FRAME_SIZE_BYTES;
    if (size < POOLED_FRAME_BYTES_MIN || size > capacity || size > this.options.requestBytesMax) {
      // Small, larger than the guess, or invalid (processBuffered rejects it): as if read into the slab.
      this.chunks.push(Buffer.from(spec.subarray(0, filled)));
      this.chunkBytes += filled;
      releaseFrame(spec);
      return;
    }
    const frame = Buffer.from(spec.buffer, spec.byteOffset + FRAME_SIZE_BYTES, size);
    const got = filled - FRAME_SIZE_BYTES;
    if (got < size) {
      this.direct = frame;
      this.directFilled = got;
      return;
    }
    // A frame smaller than the guess, and the start of the next one after it.
    if (got > size) {
      const rest = Buffer.from(spec.subarray(FRAME_SIZE_BYTES + size, filled));
      this.chunks.push(rest);
      this.chunkBytes += rest.length;
    }
    this.dispatch(frame, true);
  }

  private finishDirect(): void {
    const frame = this.direct!;
    this.direct = null;
    this.directRegion = null;
    this.frameBytes = -1;
    this.dispatch(frame, true);
  }

  private onData(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    if (this.closed) return;
    if (this.direct !== null) {
      const n = Math.min(chunk.length, this.direct.length - this.directFilled);
      chunk.copy(this.direct, this.directFilled, 0, n);
      this.directFilled += n;
      if (this.directFilled === this.direct.length) this.finishDirect();
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return this.processBuffered();
    }
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    this.processBuffered();
  }

  private overQueueLimits(): boolean {
    return this.pending.length >= this.options.queuedRequestsMax || this.queuedBytes >= this.options.queuedBytesMax;
  }

  /** Dispatches the complete frames already read, stopping at the queue limits. */
  private processBuffered(): void {
    while (!this.closed && !this.stopReading && this.direct === null && !this.overQueueLimits()) {
      if (this.frameBytes < 0) {
        if (this.chunkBytes < FRAME_SIZE_BYTES) break;
        const size = this.peekInt32();
        if (size < 0 || size > this.options.requestBytesMax) {
          this.fail(`request size ${size} outside [0, ${this.options.requestBytesMax}] (socket.request.max.bytes)`);
          return;
        }
        this.consume(FRAME_SIZE_BYTES);
        this.frameBytes = size;
      }
      if (this.chunkBytes < this.frameBytes) {
        if (this.slab !== null && this.frameBytes >= POOLED_FRAME_BYTES_MIN) this.startDirect();
        break;
      }
      const pooled = this.chunks[0].length < this.frameBytes;
      const frame = this.take(this.frameBytes);
      this.frameBytes = -1;
      this.dispatch(frame, pooled);
    }
  }

  /** Moves the buffered start of a large frame into its pooled buffer; later reads land there. */
  private startDirect(): void {
    const frame = acquireFrame(this.frameBytes);
    let at = 0;
    for (const c of this.chunks) {
      c.copy(frame, at);
      at += c.length;
    }
    this.chunks = [];
    this.chunkBytes = 0;
    this.direct = frame;
    this.directFilled = at;
  }

  private peekInt32(): number {
    const first = this.chunks[0];
    if (first.length >= FRAME_SIZE_BYTES) return first.readInt32BE(0);
    const head = Buffer.alloc(FRAME_SIZE_BYTES);
    let at = 0;
    for (const c of this.chunks) {
      const n = Math.min(c.length, FRAME_SIZE_BYTES - at);
      c.copy(head, at, 0, n);
      at += n;
      if (at === FRAME_SIZE_BYTES) break;
    }
    return head.readInt32BE(0);
  }

  private consume(bytes: number): void {
    this.take(bytes);
  }

  /** Removes `bytes` from the front of the chunk list: a subarray when one chunk holds them, else one copy. */
  private take(bytes: number): Buffer {
    this.chunkBytes -= bytes;
    const first = this.chunks[0];
    if (first.length >= bytes) {
      const out = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return out;
    }
    const out = acquireFrame(bytes);
    let at = 0;
    while (at < bytes) {
      const c = this.chunks[0];
      const n = Math.min(c.length, bytes - at);
      c.copy(out, at, 0, n);
      at += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    return out;
  }

  private dispatch(frame: Buffer, pooled: boolean): void {
    this.expectedFrameBytes = frame.length >= POOLED_FRAME_BYTES_MIN && frame.length + FRAME_SIZE_BYTES <= POOLED_FRAME_BYTES_MAX ? frame.length : 0;
    let response: Promise<readonly SendPart[] | null>;
    try {
      response = Promise.resolve(this.handler(frame, this));
    } catch (err) {
      response = Promise.reject(err);
    }
    const entry: Pending = { bytes: frame.length, response, pooled: pooled ? frame : null };
    // Keeps an unhandled rejection from escaping before the drain loop reaches it.
    response.then(
      (parts) => (entry.parts = parts),
      () => {},
    );
    this.pending.push(entry);
    this.queuedBytes += frame.length;
    this.applyBackpressure();
    void this.drain();
  }

  private applyBackpressure(): void {
    const over = this.overQueueLimits();
    if (over && !this.socket.isPaused()) this.socket.pause();
    else if (!over && this.socket.isPaused() && !this.stopReading) this.socket.resume();
  }

  /** Sends responses in request order as they become ready; one drain loop at a time. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length > 0 && !this.closed) {
        const head = this.pending[0];
        let parts: readonly SendPart[] | null;
        try {
          parts = await head.response;
        } catch (err) {
          this.fail(`request handling failed: ${(err as Error).message ?? String(err)}`);
          return;
        }
        if (this.closed) return;
        // Answers of pipelined requests that are ready too go out with this one,
        // in one send (one sendmsg): small Produce answers cost a syscall each,
        // and the kernel work of delivering each to the client, otherwise.
        let answered = 1;
        if (this.pending.length > 1) {
          if (this.pending[1].parts === undefined) await null; // lets answers resolved in this turn settle
          const ready: SendPart[] = parts === null ? [] : [...parts];
          while (answered < this.pending.length) {
            const next = this.pending[answered].parts;
            if (next === undefined || ready.length + (next?.length ?? 0) > SEND_PARTS_MAX) break;
            if (next !== null) for (const part of next) ready.push(part);
            answered++;
          }
          parts = ready;
        }
        if (this.closed) return;
        if (parts !== null && parts.length > 0) {
          try {
            await this.sender.send(parts);
          } catch (err) {
            const code = (err as { code?: string }).code ?? '';
            if (code !== 'ECANCELED' && code !== 'ECONNRESET' && code !== 'EPIPE') {
              this.logger.warn(`${this.description}: sending a response failed: ${(err as Error).message}`, { peer: this.peer, reason: (err as Error).message });
            }
            this.close();
            return;
          }
          this.lastActivityMs = Date.now();
        }
        for (const done of this.pending.splice(0, answered)) {
          // Answered (the handler is done with the request), so the frame can be reused.
          if (done.pooled !== null) releaseFrame(done.pooled);
          this.queuedBytes -= done.bytes;
        }
        this.applyBackpressure();
        // Frames that arrived while over the limits wait in the chunk list.
        this.processBuffered();
      }
    } finally {
      this.draining = false;
      if (this.pending.length === 0) this.notifyIdleWaiters();
    }
  }

  private fail(reason: string): void {
    this.logger.warn(`${this.description}: closing: ${reason}`, { peer: this.peer, reason });
    this.close();
  }

  /** Closes at once; queued responses are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.close();
    this.socket.destroy();
  }

  /** Stops reading new requests, answers those already read, then ends the socket. */
  async closeGracefully(timeoutMs: number): Promise<void> {
    this.stopReading = true;
    this.socket.pause();
    if (this.pending.length > 0 && !this.closed) {
      await Promise.race([
        new Promise<void>((resolve) => this.closeWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    if (!this.closed) {
      this.closed = true;
      this.sender.close();
      this.socket.end();
      this.socket.destroySoon();
    }
  }

  private notifyIdleWaiters(): void {
    for (const w of this.closeWaiters.splice(0)) w();
  }

  private scheduleIdleCheck(): void {
    if (this.options.idleMsMax <= 0) return;
    const check = () => {
      if (this.closed) return;
      const idleMs = Date.now() - this.lastActivityMs;
      if (idleMs >= this.options.idleMsMax && this.pending.length === 0) {
        this.logger.warn(`${this.description}: closing after ${idleMs} ms idle (connections.max.idle.ms)`, { peer: this.peer, reason: 'idle' });
        this.close();
        return;
      }
      this.idleTimer = setTimeout(check, Math.max(10, this.options.idleMsMax - idleMs));
      this.idleTimer.unref();
    };
    this.idleTimer = setTimeout(check, this.options.idleMsMax);
    this.idleTimer.unref();
  }

  private onClose(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.sender.close();
    this.chunks = [];
    // Never dispatched, so no handler holds it.
    if (this.direct !== null) releaseFrame(this.direct);
    this.direct = null;
    this.directRegion = null;
    if (this.spec !== null) releaseFrame(this.spec);
    this.spec = null;
    this.specRegion = null;
    this.notifyIdleWaiters();
  }

  onClosed(listener: () => void): void {
    this.socket.once('close', listener);
  }
}

interface DirectReads {
  buffer: () => Uint8Array;
  callback: (bytes: number, into: Uint8Array) => void;
}

/**
 * The accepted socket's connection in a new net.Socket (on a dup of the fd)
 * that reads through `onread`, which Node offers on sockets it creates but not
 * on accepted ones; the accepted Socket is destroyed (closing only its fd).
 * null when that is not possible (no addon, TLS, no fd): use `accepted`.
 */
function adoptWithDirectReads(accepted: net.Socket, onread: DirectReads): net.Socket | null {
  const addon = nativeAddon();
  const fd = socketFd(accepted);
  if (addon === null || typeof addon.dupSocketFd !== 'function' || fd < 0) return null;
  let dup: number;
  try {
    dup = addon.dupSocketFd(fd);
  } catch {
    return null;
  }
  let adopted: net.Socket;
  try {
    // `onread` is accepted by the Socket constructor (net.connect documents it).
    adopted = new net.Socket({ fd: dup, readable: true, writable: true, onread } as net.SocketConstructorOpts);
  } catch {
    fs.closeSync(dup);
    return null;
  }
  accepted.destroy();
  return adopted;
}
