// Fixtures for the sender tests: loopback socket pairs, slow readers that hash
// what they receive, temp files, and the expected byte stream of a list of parts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FileRange, SendPart } from '../../src/net/sender.js';

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-'));
}

/** A listening server on 127.0.0.1 whose accepted sockets are handed to `onSocket`. */
export async function listen(onSocket: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
    // A broker connection always handles errors; without a listener a peer
    // reset would throw from the 'error' event.
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export function serverPort(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}

export async function closeServer(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface SocketPair {
  /** The accepted socket: the side that sends. */
  writer: net.Socket;
  /** The connecting socket: the side that reads. */
  reader: net.Socket;
  close(): Promise<void>;
}

/** A connected loopback pair; the reader starts paused so nothing is consumed until asked. */
export async function socketPair(): Promise<SocketPair> {
  let accept: (socket: net.Socket) => void = () => undefined;
  const accepted = new Promise<net.Socket>((resolve) => (accept = resolve));
  const server = await listen((socket) => accept(socket));
  const reader = net.connect(serverPort(server), '127.0.0.1');
  reader.on('error', () => undefined);
  reader.pause();
  await new Promise<void>((resolve) => reader.once('connect', () => resolve()));
  const writer = await accepted;
  return {
    writer,
    reader,
    async close() {
      reader.destroy();
      writer.destroy();
      await closeServer(server);
    },
  };
}

export interface SlowReadOptions {
  /** Pause the reader after this many bytes since the last pause (0: never pause). */
  pauseEveryBytes?: number;
  /** How long each pause lasts. */
  pauseMs?: number;
  /** Keep the received bytes (small streams only). */
  keep?: boolean;
}

export interface ReadResult {
  bytes: number;
  sha256: string;
  pauseCount: number;
  data: Buffer;
}

/**
 * Reads until `expectedBytes` arrived (or the stream ends), pausing now and then
 * so the sender fills the socket buffers and has to wait for writability.
 */
export function readSlowly(socket: net.Socket, expectedBytes: number, options: SlowReadOptions = {}): Promise<ReadResult> {
  const pauseEveryBytes = options.pauseEveryBytes ?? 0;
  const pauseMs = options.pauseMs ?? 0;
  const hash = crypto.createHash('sha256');
  const kept: Buffer[] = [];
  let bytes = 0;
  let sincePauseBytes = 0;
  let pauseCount = 0;
  return new Promise<ReadResult>((resolve) => {
    const finish = () => {
      socket.removeListener('data', onData);
      socket.removeListener('end', finish);
      socket.removeListener('close', finish);
      socket.pause();
      resolve({ bytes, sha256: hash.digest('hex'), pauseCount, data: Buffer.concat(kept) });
    };
    const onData = (chunk: Buffer) => {
      hash.update(chunk);
      if (options.keep) kept.push(chunk);
      bytes += chunk.length;
      sincePauseBytes += chunk.length;
      if (bytes >= expectedBytes) return finish();
      if (pauseEveryBytes > 0 && sincePauseBytes >= pauseEveryBytes) {
        sincePauseBytes = 0;
        pauseCount++;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
    socket.resume();
  });
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure reproduces. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A file with known contents, opened read-only. */
export interface TestFile {
  path: string;
  fd: number;
  contents: Buffer;
}

export function writeTestFile(dir: string, name: string, contents: Buffer): TestFile {
  const filePath = path.join(dir, name);
  fs.writeFileSync(filePath, contents);
  return { path: filePath, fd: fs.openSync(filePath, 'r'), contents };
}

/** The bytes `parts` stand for, given the contents of the files by fd. */
export function expectedStream(parts: readonly SendPart[], filesByFd: ReadonlyMap<number, Buffer>): Buffer[] {
  return parts.map((part) => {
    if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    const contents = filesByFd.get(part.fd);
    if (!contents) throw new Error(`no contents for fd ${part.fd}`);
    return contents.subarray(part.position, part.position + part.length);
  });
}

export function sha256Of(chunks: readonly Uint8Array[]): { sha256: string; bytes: number } {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function partBytes(parts: readonly SendPart[]): number {
  let bytes = 0;
  for (const part of parts) bytes += part instanceof Uint8Array ? part.length : (part as FileRange).length;
  return bytes;
}

/** Open fds of this process (Linux). */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Lets close callbacks (uv_close of the poll, socket closes) run. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setTimeout(resolve, 5));
}
