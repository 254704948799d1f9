// Run in a child process by test/sender-lifecycle.test.ts (needs --expose-gc):
// exercises the native Sender's lifetime paths that could crash or leak the
// process — finalization without close(), a pending send whose JS object is
// dropped, and a worker torn down mid-send — and prints one JSON line of
// observations. A crash shows up as a non-zero exit in the test.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { requireNative } from '../../src/native/addon.js';
import { makeTempDir, readSlowly, socketPair } from './sender-fixtures.js';

const MiB = 1024 * 1024;
const addon = requireNative();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

// Open fds naming the same socket as `fd` (its dups), so fds that the runtime
// opens or closes meanwhile do not move the count.
function dupCount(fd: number): number {
  const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  let count = 0;
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${name}`) === target) count++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return count;
}

async function collect(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function socketFdOf(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

// The worker runs plain JS: it loads the addon binary the main thread loaded.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const addon = require(workerData.addonPath);
const server = net.createServer((socket) => {
  const sender = new addon.Sender(socket._handle.fd);
  sender.send(new Uint8Array([1]), [], new Float64Array([workerData.fileFd, 0, workerData.bytes]), () => {});
  parentPort.postMessage('sending');
});
server.listen(0, '127.0.0.1', () => {
  const reader = net.connect(server.address().port, '127.0.0.1');
  reader.pause();
});
`;

function addonPath(): string {
  return process.env.SAMSA_NATIVE_PATH
    ? path.resolve(process.env.SAMSA_NATIVE_PATH)
    : path.resolve('build', 'Release', 'samsa_native.node');
}

const dir = makeTempDir();
const filePath = path.join(dir, 'lifecycle.log');
fs.writeFileSync(filePath, Buffer.alloc(0));
fs.truncateSync(filePath, 64 * MiB);
const result: Record<string, number | string | null> = {};

// 1. Senders dropped without close(): the finalizer closes each dup.
{
  const pair = await socketPair();
  const before = dupCount(socketFdOf(pair.writer));
  ((fd: number) => {
    for (let i = 0; i < 100; i++) new addon.Sender(fd);
  })(socketFdOf(pair.writer));
  result.finalizerWithSenders = dupCount(socketFdOf(pair.writer)) - before;
  await collect();
  result.finalizerAfterGc = dupCount(socketFdOf(pair.writer)) - before;
  await pair.close();
}

// 2. A pending send keeps its Sender alive although JS dropped it.
{
  const pair = await socketPair();
  const fd = fs.openSync(filePath, 'r');
  const done = new Promise<string>((resolve) => {
    new addon.Sender(socketFdOf(pair.writer)).send(new Uint8Array([1]), [], new Float64Array([fd, 0, 16 * MiB]), (err) =>
      resolve(err ? String((err as { code?: string }).code) : 'ok'),
    );
  });
  await collect();
  const received = await readSlowly(pair.reader, 16 * MiB);
  result.droppedSenderCallback = await done;
  result.droppedSenderBytes = received.bytes;
  fs.closeSync(fd);
  await pair.close();
}

// 3. A worker terminated mid-send: no abort, every fd released.
{
  // The file fd is the main thread's: fds are per process, a worker's exit does not close them.
  const fileFd = fs.openSync(filePath, 'r');
  const before = fdCount();
  const workerData = { addonPath: addonPath(), fileFd, bytes: 64 * MiB };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
  await new Promise((resolve) => worker.once('message', resolve));
  result.workerFdsWhileSending = fdCount() - before;
  await worker.terminate();
  await new Promise((resolve) => setTimeout(resolve, 50));
  result.workerFdsAfterTerminate = fdCount() - before;
  fs.closeSync(fileFd);
}

fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify(result) + '\n');
