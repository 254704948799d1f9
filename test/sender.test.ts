// Contract tests of the response sender: the zero-copy (native) and the copy
// path pass the same tests, over real loopback sockets and real files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { createSender, socketFd } from '../src/net/sender.js';
import type { FileRange, ResponseSender, SendPart, SenderMode } from '../src/net/sender.js';
import {
  closeServer,
  expectedStream,
  listen,
  makeTempDir,
  openFdCount,
  partBytes,
  patternBytes,
  readSlowly,
  serverPort,
  settle,
  sha256Of,
  socketPair,
  writeTestFile,
} from './support/sender-fixtures.js';
import type { TestFile } from './support/sender-fixtures.js';
import { TLS_TEST_CERT, TLS_TEST_KEY } from './support/sender-tls-fixture.js';

const MiB = 1024 * 1024;
const addon = nativeAddon();
const MODES: SenderMode[] = ['zero-copy', 'copy'];

/** Small seeded PRNG (mulberry32) so part layouts are reproducible. */
function rng(seed: number): (limit: number) => number {
  let a = seed >>> 0;
  return (limit: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * limit);
  };
}

/** Header buffers and file ranges, interleaved, with odd positions and lengths and some empty parts. */
function mixedParts(files: readonly TestFile[], totalBytes: number, seed: number): SendPart[] {
  const next = rng(seed);
  const parts: SendPart[] = [];
  let bytes = 0;
  while (bytes < totalBytes) {
    const headerCount = 1 + next(3);
    for (let i = 0; i < headerCount; i++) {
      const header = next(8) === 0 ? Buffer.alloc(0) : patternBytes(1 + next(300), next(1 << 30) + 1);
      parts.push(header);
      bytes += header.length;
    }
    const rangeCount = 1 + next(2);
    for (let i = 0; i < rangeCount; i++) {
      const file = files[next(files.length)];
      const size = file.contents.length;
      const shape = next(10);
      const lengthMax = shape === 0 ? 0 : shape < 4 ? 5000 : shape < 8 ? 256 * 1024 : 4 * MiB;
      const length = Math.min(size, lengthMax === 0 ? 0 : 1 + next(lengthMax));
      const position = next(size - length + 1);
      parts.push({ fd: file.fd, position, length });
      bytes += length;
    }
  }
  return parts;
}

function filesByFd(files: readonly TestFile[]): Map<number, Buffer> {
  return new Map(files.map((f) => [f.fd, f.contents]));
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe.each(MODES)('ResponseSender (%s)', (mode) => {
  const test = it.skipIf(mode === 'zero-copy' && addon === null);
  let dir: string;
  let files: TestFile[];

  beforeEach(() => {
    dir = makeTempDir();
    files = [];
  });

  afterEach(() => {
    for (const f of files) fs.closeSync(f.fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function randomFile(name: string, bytes: number): TestFile {
    const file = writeTestFile(dir, name, crypto.randomBytes(bytes));
    files.push(file);
    return file;
  }

  test('uses the requested mode', async () => {
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    expect(sender.mode).toBe(mode);
    sender.close();
    await pair.close();
  });

  test(
    'delivers 100 MiB of interleaved buffers and file ranges intact to a slow reader',
    async () => {
      randomFile('a.log', 12 * MiB + 1);
      randomFile('b.log', 9 * MiB + 333);
      randomFile('c.log', 7 * MiB + 77);
      const parts = mixedParts(files, 100 * MiB, 42);
      const expected = sha256Of(expectedStream(parts, filesByFd(files)));
      expect(expected.bytes).toBeGreaterThanOrEqual(100 * MiB);

      const pair = await socketPair();
      const sender = createSender(pair.writer, mode);
      // Four sends, queued at once, so queueing and the socket's write state
      // carry over between sends.
      const sendCount = 4;
      const perSend = Math.ceil(parts.length / sendCount);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < sendCount; i++) sends.push(sender.send(parts.slice(i * perSend, (i + 1) * perSend)));
      const received = await readSlowly(pair.reader, expected.bytes, { pauseEveryBytes: 4 * MiB, pauseMs: 3 });
      await Promise.all(sends);

      expect(received.pauseCount).toBeGreaterThan(10);
      expect(received.bytes).toBe(expected.bytes);
      expect(received.sha256).toBe(expected.sha256);
      sender.close();
      await pair.close();
    },
    180_000,
  );

  test('delivers sends queued back to back in the order they were queued', async () => {
    const file = randomFile('order.log', 3 * MiB + 5);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const allParts: SendPart[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      const parts: SendPart[] = [
        patternBytes(17 + i, i + 1),
        { fd: file.fd, position: i * 99_991, length: 1 + ((i * 37_337) % 300_000) },
        patternBytes(i % 3, i + 100),
      ];
      allParts.push(...parts);
      sends.push(sender.send(parts));
    }
    const expected = Buffer.concat(expectedStream(allParts, filesByFd(files)));
    const received = await readSlowly(pair.reader, expected.length, { keep: true, pauseEveryBytes: 512 * 1024, pauseMs: 1 });
    await Promise.all(sends);
    expect(received.data.equals(expected)).toBe(true);
    sender.close();
    await pair.close();
  });

  test('gathers thousands of consecutive small buffers in one send', async () => {
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    // More than IOV_MAX (1024) buffers in a row, so sendmsg is called repeatedly
    // and partial writes land inside the gathered run.
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) parts.push(patternBytes(i % 700, i + 7));
    const expected = Buffer.concat(parts);
    const reading = readSlowly(pair.reader, expected.length, { keep: true, pauseEveryBytes: 256 * 1024, pauseMs: 1 });
    await sender.send(parts);
    const received = await reading;
    expect(received.data.equals(expected)).toBe(true);
    sender.close();
    await pair.close();
  });

  test('resolves a send of only empty parts and sends nothing', async () => {
    const file = randomFile('empty.log', 10);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    await sender.send([]);
    await sender.send([Buffer.alloc(0), { fd: file.fd, position: 10, length: 0 }]);
    await sender.send([Buffer.from('end')]);
    const received = await readSlowly(pair.reader, 3, { keep: true });
    expect(received.data.toString()).toBe('end');
    sender.close();
    await pair.close();
  });

  test('flushes bytes Node still buffers before the first send', async () => {
    const pair = await socketPair();
    const early = patternBytes(8 * MiB, 3);
    // The reader is paused, so most of this stays in Node's write queue.
    pair.writer.write(early);
    expect(pair.writer.writableLength).toBeGreaterThan(0);
    const sender = createSender(pair.writer, mode);
    const late = patternBytes(MiB + 1, 4);
    const sending = sender.send([late]);
    const received = await readSlowly(pair.reader, early.length + late.length, { keep: true });
    await sending;
    expect(received.data.equals(Buffer.concat([early, late]))).toBe(true);
    sender.close();
    await pair.close();
  });

  test('rejects with ECONNRESET or EPIPE when the reader resets mid-send, and releases its fds', async () => {
    await settle(); // earlier tests' sockets finish closing
    const fdCountBefore = openFdCount();
    const file = writeTestFile(dir, 'reset.log', Buffer.alloc(0));
    fs.truncateSync(file.path, 64 * MiB);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const sending = sender.send([Buffer.from('header'), { fd: file.fd, position: 0, length: 64 * MiB }]);
    // The reader never reads: the send fills the socket buffers and waits.
    await settle();
    pair.reader.resetAndDestroy();
    const err = await rejectionOf(sending);
    expect(['ECONNRESET', 'EPIPE']).toContain(codeOf(err));
    sender.close();
    await pair.close();
    fs.closeSync(file.fd);
    await settle();
    expect(openFdCount()).toBe(fdCountBefore);
  });

  test('rejects with ESHORTFILE when the file is truncated under a pending send', async () => {
    const file = writeTestFile(dir, 'short.log', Buffer.alloc(0));
    fs.truncateSync(file.path, 64 * MiB);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const sending = sender.send([{ fd: file.fd, position: 0, length: 64 * MiB }]);
    await settle();
    const writable = fs.openSync(file.path, 'r+');
    fs.ftruncateSync(writable, MiB);
    fs.closeSync(writable);
    const reading = readSlowly(pair.reader, 64 * MiB);
    const err = await rejectionOf(sending);
    expect(codeOf(err)).toBe('ESHORTFILE');
    sender.close();
    await pair.close();
    await reading;
    fs.closeSync(file.fd);
  });

  test('rejects with ESHORTFILE when a range starts past the end of the file', async () => {
    const file = randomFile('past.log', 1000);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const err = await rejectionOf(sender.send([{ fd: file.fd, position: 990, length: 20 }]));
    expect(codeOf(err)).toBe('ESHORTFILE');
    sender.close();
    await pair.close();
  });

  test('rejects invalid file ranges before sending anything', async () => {
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const bad: FileRange[] = [
      { fd: -1, position: 0, length: 1 },
      { fd: 3, position: -1, length: 1 },
      { fd: 3, position: 0, length: 1.5 },
      { fd: 3, position: Number.MAX_SAFE_INTEGER, length: 1 },
    ];
    for (const range of bad) {
      const err = await rejectionOf(sender.send([Buffer.from('x'), range]));
      expect(codeOf(err)).toBe('ERR_INVALID_ARG_VALUE');
    }
    // The sender still works afterwards and nothing of the bad sends went out.
    const sending = sender.send([Buffer.from('ok')]);
    const received = await readSlowly(pair.reader, 2, { keep: true });
    await sending;
    expect(received.data.toString()).toBe('ok');
    sender.close();
    await pair.close();
  });

  test('serves 200 concurrent connections, each its own mix of buffers and file ranges', async () => {
    randomFile('shared-a.log', 2 * MiB + 11);
    randomFile('shared-b.log', MiB + 3);
    const byFd = filesByFd(files);
    const connectionCount = 200;
    const layouts = Array.from({ length: connectionCount }, (_, i) => {
      const parts = mixedParts(files, 64 * 1024 + i * 512, 1000 + i);
      return { parts, expected: sha256Of(expectedStream(parts, byFd)) };
    });
    const senders: ResponseSender[] = [];
    const sendResults: Promise<void>[] = [];
    const server = await listen((socket) => {
      // The client says which layout it expects in its first 4 bytes.
      socket.once('data', (chunk: Buffer) => {
        const { parts } = layouts[chunk.readUInt32BE(0)];
        const sender = createSender(socket, mode);
        senders.push(sender);
        const half = parts.length >> 1;
        sendResults.push(sender.send(parts.slice(0, half)), sender.send(parts.slice(half)));
      });
    });
    const port = serverPort(server);
    const results = await Promise.all(
      layouts.map(async (layout, i) => {
        const client = net.connect(port, '127.0.0.1');
        client.on('error', () => undefined);
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
        const id = Buffer.alloc(4);
        id.writeUInt32BE(i);
        client.write(id);
        const received = await readSlowly(client, layout.expected.bytes, { pauseEveryBytes: 32 * 1024, pauseMs: 1 });
        client.destroy();
        return received.sha256 === layout.expected.sha256 && received.bytes === layout.expected.bytes;
      }),
    );
    await Promise.all(sendResults);
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(senders).toHaveLength(connectionCount);
    for (const sender of senders) sender.close();
    await closeServer(server);
  }, 120_000);

  test('keeps the event loop responsive during a large send to a slow reader', async () => {
    const file = randomFile('big.log', 48 * MiB);
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    let ticks = 0;
    let sendDone = false;
    const timer = setInterval(() => {
      if (!sendDone) ticks++;
    }, 1);
    const sending = sender.send([{ fd: file.fd, position: 0, length: file.contents.length }]).finally(() => {
      sendDone = true;
    });
    const received = await readSlowly(pair.reader, file.contents.length, { pauseEveryBytes: 4 * MiB, pauseMs: 2 });
    await sending;
    clearInterval(timer);
    expect(received.bytes).toBe(file.contents.length);
    // The timers ran while the send was in progress (no blocking send).
    expect(ticks).toBeGreaterThanOrEqual(3);
    sender.close();
    await pair.close();
  });

  test('close() rejects the in-flight and queued sends with ECANCELED, once each', async () => {
    const file = writeTestFile(dir, 'cancel.log', Buffer.alloc(0));
    fs.truncateSync(file.path, 64 * MiB);
    files.push({ ...file, contents: Buffer.alloc(0) });
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    const inFlight = sender.send([{ fd: file.fd, position: 0, length: 64 * MiB }]);
    const queued = sender.send([Buffer.from('never')]);
    let settledCount = 0;
    const counted = [inFlight, queued].map((p) => p.finally(() => settledCount++).catch((err: unknown) => err));
    await settle();
    sender.close();
    sender.close();
    const [inFlightError, queuedError] = await Promise.all(counted);
    expect(codeOf(inFlightError)).toBe('ECANCELED');
    expect(codeOf(queuedError)).toBe('ECANCELED');
    expect(codeOf(await rejectionOf(sender.send([Buffer.from('late')])))).toBe('ECANCELED');
    await settle();
    expect(settledCount).toBe(2);
    await pair.close();
  });

  test('rejects sends once the socket has closed', async () => {
    const pair = await socketPair();
    const sender = createSender(pair.writer, mode);
    pair.writer.destroy();
    await new Promise<void>((resolve) => pair.writer.once('close', () => resolve()));
    expect(codeOf(await rejectionOf(sender.send([Buffer.from('x')])))).toBe('ECANCELED');
    await pair.close();
  });
});

describe('createSender', () => {
  it('picks zero-copy for a plaintext TCP socket when the addon is loaded, else copy', async () => {
    const pair = await socketPair();
    const sender = createSender(pair.writer);
    expect(sender.mode).toBe(addon === null ? 'copy' : 'zero-copy');
    sender.close();
    await pair.close();
  });

  it('finds no usable fd on a TLS socket or an unconnected socket', () => {
    const plain = new net.Socket();
    const secure = new tls.TLSSocket(new net.Socket());
    expect(socketFd(plain)).toBe(-1);
    expect(socketFd(secure)).toBe(-1);
    expect(createSender(secure).mode).toBe('copy');
    expect(() => createSender(secure, 'zero-copy')).toThrow(/zero-copy sender unavailable/);
    secure.destroy();
    plain.destroy();
  });
});

describe('ResponseSender over TLS', () => {
  it('falls back to the copy path and delivers buffers and file ranges intact', async () => {
    const dir = makeTempDir();
    const file = writeTestFile(dir, 'tls.log', crypto.randomBytes(3 * MiB + 7));
    const parts = mixedParts([file], 8 * MiB, 7);
    const expected = sha256Of(expectedStream(parts, filesByFd([file])));
    let sending: Promise<void> = Promise.resolve();
    let mode = '';
    const server = tls.createServer({ key: TLS_TEST_KEY, cert: TLS_TEST_CERT }, (socket) => {
      socket.on('error', () => undefined);
      const sender = createSender(socket);
      mode = sender.mode;
      sending = sender.send(parts).finally(() => sender.close());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = tls.connect({ port: serverPort(server), host: '127.0.0.1', ca: TLS_TEST_CERT });
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('secureConnect', () => resolve()));
    const received = await readSlowly(client, expected.bytes, { pauseEveryBytes: MiB, pauseMs: 1 });
    await sending;
    expect(mode).toBe('copy');
    expect(received.sha256).toBe(expected.sha256);
    client.destroy();
    await closeServer(server);
    fs.closeSync(file.fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.skipIf(addon === null)('native Sender', () => {
  it('calls back exactly once when closed during a send, and releases the dup', async () => {
    const native = addon!;
    const dir = makeTempDir();
    const file = writeTestFile(dir, 'native.log', Buffer.alloc(0));
    fs.truncateSync(file.path, 64 * MiB);
    const pair = await socketPair();
    const fdCountWithPair = openFdCount();
    const sender = new native.Sender(socketFd(pair.writer));
    expect(openFdCount()).toBe(fdCountWithPair + 1);
    const calls: (Error | null)[] = [];
    sender.send(new Uint8Array([1]), [], new Float64Array([file.fd, 0, 64 * MiB]), (err) => calls.push(err));
    await settle();
    expect(calls).toHaveLength(0);
    sender.close();
    sender.close();
    await settle();
    expect(calls).toHaveLength(1);
    expect(codeOf(calls[0])).toBe('ECANCELED');
    expect(openFdCount()).toBe(fdCountWithPair);
    await pair.close();
    fs.closeSync(file.fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second send while one is pending', async () => {
    const native = addon!;
    const dir = makeTempDir();
    const file = writeTestFile(dir, 'busy.log', Buffer.alloc(0));
    fs.truncateSync(file.path, 64 * MiB);
    const pair = await socketPair();
    const sender = new native.Sender(socketFd(pair.writer));
    const calls: (Error | null)[] = [];
    sender.send(new Uint8Array([1]), [], new Float64Array([file.fd, 0, 64 * MiB]), (err) => calls.push(err));
    expect(() => sender.send(new Uint8Array([0]), [Buffer.from('x')], new Float64Array(0), () => undefined)).toThrow(
      /already pending/,
    );
    sender.close();
    expect(calls).toHaveLength(1);
    await pair.close();
    fs.closeSync(file.fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('throws on malformed arguments instead of touching memory', async () => {
    const native = addon!;
    const pair = await socketPair();
    const sender = new native.Sender(socketFd(pair.writer));
    const noop = () => undefined;
    const cases: [Uint8Array, Uint8Array[], Float64Array][] = [
      [new Uint8Array([0]), [], new Float64Array(0)], // a buffer kind without a buffer
      [new Uint8Array([1]), [], new Float64Array(2)], // a range kind with 2 of 3 numbers
      [new Uint8Array([2]), [], new Float64Array(0)], // unknown kind
      [new Uint8Array([]), [Buffer.from('x')], new Float64Array(0)], // buffer not named by kinds
      [new Uint8Array([1]), [], new Float64Array([0, -1, 1])], // negative position
      [new Uint8Array([1]), [], new Float64Array([0, 0, 2 ** 53])], // length past 2^53
      [new Uint8Array([1]), [], new Float64Array([Number.NaN, 0, 1])], // NaN fd
    ];
    for (const [kinds, buffers, ranges] of cases) {
      expect(() => sender.send(kinds, buffers, ranges, noop)).toThrow();
    }
    expect(() => sender.send(new Uint8Array([0]), ['x' as unknown as Uint8Array], new Float64Array(0), noop)).toThrow(
      TypeError,
    );
    // Still usable after the refused calls.
    const calls: (Error | null)[] = [];
    sender.send(new Uint8Array([0]), [Buffer.from('fine')], new Float64Array(0), (err) => calls.push(err));
    const received = await readSlowly(pair.reader, 4, { keep: true });
    expect(received.data.toString()).toBe('fine');
    expect(calls).toEqual([null]);
    sender.close();
    await pair.close();
  });

  it('rejects an fd that is not a socket', () => {
    const native = addon!;
    const dir = makeTempDir();
    const file = writeTestFile(dir, 'not-a-socket.log', Buffer.from('x'));
    expect(() => new native.Sender(file.fd)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    expect(() => new native.Sender(-1)).toThrow(RangeError);
    fs.closeSync(file.fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
