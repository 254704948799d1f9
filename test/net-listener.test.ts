// The connection layer against real sockets, including hostile peers that
// write oversized, negative and truncated frames by hand.
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import type { SendPart } from '../src/net/sender.js';
import { Listener } from '../src/net/listener.js';
import type { RequestHandler } from '../src/net/connection.js';
import { acquireFrame, idleFrameBytes, POOL_IDLE_BYTES_MAX, POOLED_FRAME_BYTES_MIN, releaseFrame } from '../src/net/frame-pool.js';
import { crc32c } from '../src/record/crc32c.js';

const listeners: Listener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close(1000);
});

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Echo handler: answers each request with its own bytes, after `delayMs(frame)`. */
function echo(delayMs: (frame: Buffer) => number = () => 0): RequestHandler {
  return async (f) => {
    const d = delayMs(f);
    if (d > 0) await new Promise((r) => setTimeout(r, d));
    return [frame(Buffer.from(f))] as SendPart[];
  };
}

// Every test runs with both ways of reading sockets (direct reads need the addon).
let readMode: 'auto' | 'stream' = 'auto';

async function start(handler: RequestHandler, extra: Partial<Parameters<typeof Listener.start>[0]> = {}, warnings: string[] = []) {
  const l = await Listener.start({
    host: '127.0.0.1',
    port: 0,
    handler,
    logger: { warn: (m) => warnings.push(m) },
    ...extra,
    connection: { readMode, ...extra.connection },
  });
  listeners.push(l);
  return l;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads `count` response frames from a socket. */
function readFrames(socket: net.Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const frames: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const n = pending.readInt32BE(0);
        frames.push(pending.subarray(4, 4 + n));
        pending = pending.subarray(4 + n);
      }
      if (frames.length >= count) {
        socket.off('data', onData);
        resolve(frames);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => (frames.length >= count ? resolve(frames) : reject(new Error(`closed after ${frames.length} frames`))));
  });
}

const closed = (s: net.Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe.each(['auto', 'stream'] as const)('Listener and Connection (readMode %s)', (mode) => {
  beforeAll(() => {
    readMode = mode;
  });
  it.runIf(mode === 'auto' && nativeAddon() !== null)('reads through a dup of the accepted fd when the addon is loaded', () => {
    expect(typeof nativeAddon()!.dupSocketFd).toBe('function');
  });

  it('answers pipelined requests in request order even when handlers finish out of order', async () => {
    const l = await start(echo((f) => (f[0] % 5) * 7));
    const s = await connect(l.port);
    const requests = Array.from({ length: 60 }, (_, i) => Buffer.from([i, ...Buffer.from(`request-${i}`)]));
    // One write holding all frames, then split writes that cut frames in the middle.
    const wire = Buffer.concat(requests.map(frame));
    s.write(wire.subarray(0, 101));
    s.write(wire.subarray(101, 102));
    s.write(wire.subarray(102));
    const frames = await readFrames(s, 60);
    expect(frames.map((f) => f.toString('latin1'))).toEqual(requests.map((r) => r.toString('latin1')));
    s.destroy();
  });

  it('closes a connection whose frame size exceeds socket.request.max.bytes, and keeps serving others', async () => {
    const warnings: string[] = [];
    const l = await start(echo(), { connection: { requestBytesMax: 1024 } }, warnings);
    const bad = await connect(l.port);
    const good = await connect(l.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(1025);
    bad.write(header);
    await closed(bad);
    const neg = await connect(l.port);
    header.writeInt32BE(-5);
    neg.write(header);
    await closed(neg);
    expect(warnings.filter((w) => /socket\.request\.max\.bytes/.test(w))).toHaveLength(2);
    good.write(frame(Buffer.from('still here')));
    expect((await readFrames(good, 1))[0].toString()).toBe('still here');
    good.destroy();
  });

  it('survives a peer that sends half a frame and disconnects', async () => {
    let calls = 0;
    const l = await start(async (f) => {
      calls++;
      return [frame(f)];
    });
    const s = await connect(l.port);
    const full = frame(Buffer.alloc(5000, 7));
    s.write(full.subarray(0, 2500));
    await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    await closed(s);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(0);
    const s2 = await connect(l.port);
    s2.write(frame(Buffer.from('ok')));
    expect((await readFrames(s2, 1))[0].toString()).toBe('ok');
    s2.destroy();
  });

  it('stops reading when too many requests wait, and resumes as they are answered', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const l = await start(
      async (f) => {
        started++;
        await gate;
        return [frame(f)];
      },
      { connection: { queuedRequestsMax: 4 } },
    );
    const s = await connect(l.port);
    s.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => frame(Buffer.from(`r${i}`)))));
    await new Promise((r) => setTimeout(r, 100));
    // Exactly the cap is being handled; the rest waits, read or unread.
    expect(started).toBe(4);
    release();
    const frames = await readFrames(s, 40);
    expect(frames.map((f) => f.toString())).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
    s.destroy();
  });

  it('sends no response for requests the handler answers with null (acks=0)', async () => {
    const l = await start(async (f) => (f.toString() === 'quiet' ? null : [frame(f)]));
    const s = await connect(l.port);
    s.write(Buffer.concat([frame(Buffer.from('quiet')), frame(Buffer.from('loud'))]));
    expect((await readFrames(s, 1))[0].toString()).toBe('loud');
    s.destroy();
  });

  it('closes the connection when the handler throws, with a log line', async () => {
    const warnings: string[] = [];
    const l = await start(() => {
      throw new Error('cannot parse');
    }, {}, warnings);
    const s = await connect(l.port);
    s.write(frame(Buffer.from('x')));
    await closed(s);
    expect(warnings.join('\n')).toMatch(/cannot parse/);
  });

  it('refuses connections beyond max.connections and closes idle ones after connections.max.idle.ms', async () => {
    const warnings: string[] = [];
    const l = await start(echo(), { maxConnections: 2, connection: { idleMsMax: 150 } }, warnings);
    const a = await connect(l.port);
    const b = await connect(l.port);
    await new Promise((r) => setTimeout(r, 20));
    const c = await connect(l.port);
    await closed(c);
    expect(warnings.join('\n')).toMatch(/max\.connections/);
    await Promise.all([closed(a), closed(b)]);
    expect(warnings.join('\n')).toMatch(/idle/);
  });

  it('graceful close answers requests already read before closing', async () => {
    const l = await start(echo(() => 100));
    listeners.pop();
    const s = await connect(l.port);
    s.write(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]));
    await new Promise((r) => setTimeout(r, 20));
    const reading = readFrames(s, 2);
    await l.close(5000);
    expect((await reading).map((f) => f.toString())).toEqual(['one', 'two']);
    await closed(s);
  });

  it('reuses the buffers of large split frames only after their responses: pipelined handlers see their own bytes to the end', async () => {
    // Each handler checksums its frame on arrival and again after a delay that
    // lets later frames arrive; a buffer recycled too early would change it.
    const handler: RequestHandler = async (f) => {
      const before = crc32c(f, 0, f.length, 0);
      await new Promise((r) => setTimeout(r, (f[0] % 4) * 5));
      const after = crc32c(f, 0, f.length, 0);
      return [frame(Buffer.from(`${f[0]} ${f.length} ${before === after ? 'same' : 'changed'}`))] as SendPart[];
    };
    const l = await start(handler);
    const sockets = await Promise.all([connect(l.port), connect(l.port)]);
    const sizes = Array.from({ length: 24 }, (_, i) => POOLED_FRAME_BYTES_MIN + 1 + ((i * 7919 * 97) % (600 * 1024)));
    const results = await Promise.all(
      sockets.map(async (s, k) => {
        const requests = sizes.map((n, i) => {
          const b = Buffer.alloc(n, (i * 31 + k) & 0xff);
          b[0] = i;
          return b;
        });
        const reading = readFrames(s, requests.length);
        s.write(Buffer.concat(requests.map(frame)));
        return (await reading).map((f) => f.toString());
      }),
    );
    for (const answers of results) expect(answers).toEqual(sizes.map((n, i) => `${i} ${n} same`));
    // Split frames of these sizes went through the pool, which keeps a bounded amount.
    expect(idleFrameBytes()).toBeGreaterThan(0);
    expect(idleFrameBytes()).toBeLessThanOrEqual(POOL_IDLE_BYTES_MAX);
    for (const s of sockets) s.destroy();
  });

  it('frames of changing sizes after large ones (the speculative read guesses the last size): each handler gets its own bytes, whole', async () => {
    const handler: RequestHandler = (f) => [frame(Buffer.from(`${f[0]} ${f.length} ${crc32c(f, 0, f.length, 0)}`))] as SendPart[];
    const l = await start(handler);
    const K = 1024;
    // Same size; smaller (the next frame's start lands in the guessed buffer);
    // small after large; larger than the guessed buffer holds; exactly the pooling threshold.
    const sizes = [200 * K, 200 * K, 150 * K, 70 * K, 100, 300 * K, 300 * K, 1536 * K, 1536 * K, POOLED_FRAME_BYTES_MIN, 10, 90 * K, 3];
    const requests = sizes.map((n, i) => {
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j += 997) b[j] = (j * 13 + i) & 0xff;
      b[0] = i;
      return b;
    });
    const expected = requests.map((b, i) => `${i} ${b.length} ${crc32c(b, 0, b.length, 0)}`);
    // All at once, and frame by frame with the size prefix split across writes.
    const all = await connect(l.port);
    const split = await connect(l.port);
    const readingAll = readFrames(all, requests.length);
    const readingSplit = readFrames(split, requests.length);
    all.write(Buffer.concat(requests.map(frame)));
    for (const r of requests) {
      const f = frame(r);
      split.write(f.subarray(0, 2));
      await new Promise((resolve) => setTimeout(resolve, 5));
      split.write(f.subarray(2));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await readingAll).map((f) => f.toString())).toEqual(expected);
    expect((await readingSplit).map((f) => f.toString())).toEqual(expected);
    all.destroy();
    split.destroy();
  });

  it('a bad size prefix right after a large frame still closes the connection with a warning', async () => {
    const warnings: string[] = [];
    const l = await start(echo(), { connection: { readMode, requestBytesMax: 1024 * 1024 } }, warnings);
    const s = await connect(l.port);
    const reading = readFrames(s, 1);
    s.write(frame(Buffer.alloc(200 * 1024, 7)));
    expect((await reading)[0].length).toBe(200 * 1024);
    const bad = Buffer.alloc(8);
    bad.writeInt32BE(2 * 1024 * 1024);
    s.write(bad);
    await closed(s);
    expect(warnings.some((w) => w.includes('socket.request.max.bytes'))).toBe(true);
  });

  it('frame pool: exact sizes, pooled only in range, foreign and repeated releases ignored', () => {
    const small = acquireFrame(100);
    expect(small.length).toBe(100);
    const big = acquireFrame(POOLED_FRAME_BYTES_MIN * 3);
    expect(big.length).toBe(POOLED_FRAME_BYTES_MIN * 3);
    const idle0 = idleFrameBytes();
    releaseFrame(small);
    releaseFrame(Buffer.alloc(POOLED_FRAME_BYTES_MIN * 4));
    expect(idleFrameBytes()).toBe(idle0);
    releaseFrame(big);
    releaseFrame(big);
    expect(idleFrameBytes()).toBe(idle0 + POOLED_FRAME_BYTES_MIN * 4);
    const again = acquireFrame(POOLED_FRAME_BYTES_MIN * 3 + 5);
    expect(again.buffer).toBe(big.buffer);
    expect(idleFrameBytes()).toBe(idle0);
  });
});
