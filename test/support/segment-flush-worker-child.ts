// Run in a child process by test/segment-file-faults.test.ts: a worker thread
// opens an mmap segment, appends, asks for a flush and exits at once, so the
// flush completes while the worker's environment is being torn down (its
// callback can no longer run). The libuv pool is kept busy first so the flush
// is still queued when the worker exits. A crash (NAPI_FATAL, abort) shows up
// as a non-zero exit status in the test; success prints one JSON line.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const poolThreads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
// Long enough that the worker has exited before the pool frees up.
const PBKDF2_ITERATIONS = 300_000;

function addonPath(): string {
  return process.env.SAMSA_NATIVE_PATH
    ? path.resolve(process.env.SAMSA_NATIVE_PATH)
    : path.resolve('build/Release/samsa_native.node');
}

// Plain JS: the worker loads the addon binary directly.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { SegmentFile } = require(workerData.addonPath);
const segment = new SegmentFile(workerData.segmentPath, 'mmap', 1 << 20, -1);
segment.append(new Uint8Array(100).fill(7), 0, 100);
segment.flush(() => {});
process.exit(0);
`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-flush-worker-'));
  try {
    const pool = Array.from(
      { length: poolThreads },
      () => new Promise<void>((resolve) => crypto.pbkdf2('p', 's', PBKDF2_ITERATIONS, 64, 'sha512', () => resolve())),
    );
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { addonPath: addonPath(), segmentPath: path.join(dir, 'w.log') },
    });
    const exitCode = await new Promise<number>((resolve) => worker.on('exit', resolve));
    await Promise.all(pool);
    // Let any completion that was still owed to the dead worker arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(JSON.stringify({ workerExitCode: exitCode }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
