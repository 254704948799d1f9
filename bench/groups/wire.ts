// Raw request helpers for bench/groups.ts: one request and its undecoded
// answer (the reference answer loadgen's `exact` mode compares against), and a
// pipelined Produce sender for filling a log quickly from TypeScript.
import net from 'node:net';
import { Reader } from '../../src/protocol/codec.js';
import { API_REGISTRY, ApiKey, responseHeaderVersion, type ProduceResponse } from '../../src/protocol/generated/index.js';
import { decodeResponseHeader } from '../../src/protocol/generated/response-header.js';
import { PRODUCE_VERSION } from '../e2e/protocol.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Calls onFrame for each size-prefixed frame read from the socket (the frame without its size). */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) break;
      onFrame(buffered.subarray(4, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  });
}

/** Sends one size-prefixed request frame and returns the size-prefixed answer, undecoded. */
export async function rawRequest(port: number, frame: Buffer): Promise<Buffer> {
  const socket = await connect(port);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      frames(socket, (f) => {
        const out = Buffer.allocUnsafe(4 + f.length);
        out.writeInt32BE(f.length, 0);
        f.copy(out, 4);
        resolve(out);
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed before the answer')));
      socket.write(frame);
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Sends Produce v7 frames (correlation id 0, answered in order) with up to
 * `window` in flight on one connection; fails on any partition error.
 */
export async function pipelinedProduce(port: number, next: () => Buffer | null, window: number): Promise<number> {
  const socket = await connect(port);
  const info = API_REGISTRY.get(ApiKey.Produce)!;
  let inFlight = 0;
  let sent = 0;
  let done = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (!done && inFlight < window) {
          const frame = next();
          if (frame === null) {
            done = true;
            break;
          }
          inFlight++;
          sent++;
          socket.write(frame);
        }
        if (done && inFlight === 0) resolve();
      };
      frames(socket, (f) => {
        const r = new Reader(f);
        decodeResponseHeader(r, responseHeaderVersion(ApiKey.Produce, PRODUCE_VERSION));
        const answer = info.response.decode(r, PRODUCE_VERSION) as ProduceResponse;
        for (const t of answer.responses) {
          for (const p of t.partitionResponses) {
            if (p.errorCode !== 0) {
              reject(new Error(`produce to ${t.name}-${p.index}: error ${p.errorCode}`));
              return;
            }
          }
        }
        inFlight--;
        pump();
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed while producing')));
      pump();
    });
  } finally {
    socket.destroy();
  }
  return sent;
}
