// Sender benchmark: one cached file sent over loopback TCP to a reader in a
// child process (so the reader's CPU is not counted) by
//   (a) the zero-copy sender (sendfile),
//   (b) the copy path (fs.read into pooled 64 KiB Buffers + socket.write),
//   (c) fs.createReadStream().pipe(socket), Node's idiomatic baseline.
// Reports MB/s (from the start of the send until the reader acknowledges the
// last byte) and the sending process's CPU-seconds per GiB over the same span.
// Methods are interleaved (a, b, c, a, b, c, ...) so they share the noise of a
// machine that also runs other work.
//
// Expectation: loopback moves several GB/s; the copy paths pay a page-cache ->
// user copy and a user -> socket copy per byte plus per-chunk JS work, while
// sendfile hands page references to the socket: zero-copy should need well
// under a third of the copy path's CPU per GiB (the target is <= 0.3x).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nativeAddon } from '../../src/native/addon.js';
import { createSender } from '../../src/net/sender.js';
import type { BenchOptions, BenchResult } from './harness.js';
import { cpuSeconds, defaultOptions, formatResult, summarize } from './harness.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const FILE_BYTES_FULL = GiB;
const FILE_BYTES_QUICK = 128 * MiB;
// The file is written and warmed in 8 MiB steps: few syscalls, modest memory.
const FILL_CHUNK_BYTES = 8 * MiB;

type Method = 'zero-copy' | 'copy' | 'pipe';

// The reader: connects, discards everything, and writes one byte back once it
// has received the expected count, so the sender can stop its clock.
const READER_SCRIPT = `
const net = require('node:net');
const [port, expected] = process.argv.slice(1).map(Number);
let received = 0;
const socket = net.connect(port, '127.0.0.1');
socket.on('data', (chunk) => {
  received += chunk.length;
  if (received >= expected) { socket.end('k'); }
});
socket.on('close', () => { process.stdout.write(JSON.stringify({ received })); });
socket.on('error', (err) => { process.stderr.write(String(err)); process.exitCode = 1; });
`;

function ensureFile(filePath: string, bytes: number): void {
  if (fs.existsSync(filePath) && fs.statSync(filePath).size === bytes) return;
  const chunk = Buffer.allocUnsafe(FILL_CHUNK_BYTES);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = fs.openSync(filePath, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(chunk.length, bytes - written);
      written += fs.writeSync(fd, chunk, 0, n, written);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function warm(filePath: string, bytes: number): void {
  const chunk = Buffer.allocUnsafe(FILL_CHUNK_BYTES);
  const fd = fs.openSync(filePath, 'r');
  try {
    for (let position = 0; position < bytes; ) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) break;
      position += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

interface Sample {
  mbPerS: number;
  cpuSPerGiB: number;
}

async function sendOnce(method: Method, filePath: string, fd: number, bytes: number): Promise<Sample> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const child = spawn(process.execPath, ['-e', READER_SCRIPT, String(address.port), String(bytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let childOutput = '';
  child.stdout.on('data', (d: Buffer) => (childOutput += d.toString()));
  const childExit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const socket = await accepted;
  socket.on('error', () => undefined);
  const acked = new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('close', () => reject(new Error(`${method}: reader closed before acknowledging`)));
  });
  const { cpuS, wallS } = await cpuSeconds(async () => {
    if (method === 'pipe') {
      fs.createReadStream(filePath, { start: 0, end: bytes - 1 }).pipe(socket, { end: false });
    } else {
      const sender = createSender(socket, method);
      await sender.send([{ fd, position: 0, length: bytes }]);
      sender.close();
    }
    await acked;
  });
  socket.destroy();
  server.close();
  const exitCode = await childExit;
  const received = (JSON.parse(childOutput || '{"received":0}') as { received: number }).received;
  if (exitCode !== 0 || received !== bytes) throw new Error(`${method}: reader got ${received} of ${bytes} bytes`);
  return { mbPerS: bytes / 1e6 / wallS, cpuSPerGiB: cpuS / (bytes / GiB) };
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const bytes = options.quick ? FILE_BYTES_QUICK : FILE_BYTES_FULL;
  fs.mkdirSync(options.scratchDir, { recursive: true });
  const filePath = path.join(options.scratchDir, `sender-${bytes / MiB}MiB.dat`);
  ensureFile(filePath, bytes);
  warm(filePath, bytes);
  const methods: Method[] = nativeAddon() === null ? ['copy', 'pipe'] : ['zero-copy', 'copy', 'pipe'];
  const samples = new Map<Method, Sample[]>(methods.map((m) => [m, []]));
  const fd = fs.openSync(filePath, 'r');
  try {
    for (let i = 0; i < options.runs; i++) {
      for (const method of methods) samples.get(method)!.push(await sendOnce(method, filePath, fd, bytes));
    }
  } finally {
    fs.closeSync(fd);
  }
  const params = { fileMiB: bytes / MiB, transport: 'tcp-loopback', reader: 'child process' };
  const results: BenchResult[] = [];
  for (const method of methods) {
    const s = samples.get(method)!;
    results.push(summarize(`sender.${method}.throughput`, 'MB/s', s.map((x) => x.mbPerS), params));
    results.push(summarize(`sender.${method}.cpu`, 'cpu-s/GiB', s.map((x) => x.cpuSPerGiB), params));
  }
  if (samples.has('zero-copy')) {
    const cpuOf = (m: Method) => results.find((r) => r.name === `sender.${m}.cpu`)!.median;
    const ratio = cpuOf('zero-copy') / cpuOf('copy');
    results.push(summarize('sender.zero-copy.cpu-vs-copy', 'ratio', [ratio], { target: '<= 0.3' }));
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = defaultOptions();
  console.log(`sender benchmark: runs=${options.runs} quick=${options.quick} scratchDir=${options.scratchDir}`);
  for (const result of await run(options)) console.log(formatResult(result));
}
