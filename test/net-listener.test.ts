// The connection layer against real sockets, including hostile peers that
// write oversized, negative and truncated frames by hand.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendPart } from '../src/net/sender.js';
import { Listener } from '../src/net/listener.js';
import type { RequestHandler } from '../src/net/connection.js';

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

async function start(handler: RequestHandler, extra: Partial<Parameters<typeof Listener.start>[0]> = {}, warnings: string[] = []) {
  const l = await Listener.start({ host: '127.0.0.1', port: 0, handler, logger: { warn: (m) => warnings.push(m) }, ...extra });
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

describe('Listener and Connection', () => {
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
});
