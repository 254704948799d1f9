// The machine's own reference limits for the storage benchmarks, measured in
// the same run and directory: how fast C writes 64 KiB chunks into the page
// cache (the ceiling an append path can approach without fsync) and how fast
// memcpy moves bytes between 64 MiB buffers (the ceiling of an mmap append).
// The C programs in bench/storage/c/ are compiled with `cc -O2` into the
// scratch directory at run time; without a compiler the limits are skipped.
//
// Run alone: npx tsx bench/storage/machine-limits.ts (BENCH_RUNS, BENCH_QUICK, BENCH_DIR).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultOptions, formatResult, summarize } from './harness.js';
import type { BenchOptions, BenchResult } from './harness.js';

const SOURCE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'c');
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** The write size of the write append mode: 64 KiB. */
export const WRITE_CHUNK_BYTES = 64 * 1024;
/** Same total as the append benchmark so page-cache effects match. */
export function appendTotalBytes(options: BenchOptions): number {
  return options.quick ? 32 * MIB : 256 * MIB;
}
/** Buffers well past the last-level cache, so memcpy measures DRAM. */
const MEMCPY_BUFFER_BYTES = 64 * MIB;
const MEMCPY_ROUNDS = 16;

/** Compiles bench/storage/c/<name>.c into the scratch dir; null (with a note) when there is no compiler. */
function compile(options: BenchOptions, name: string): string | null {
  fs.mkdirSync(options.scratchDir, { recursive: true });
  const binary = path.join(options.scratchDir, `${name}.bin`);
  const result = spawnSync('cc', ['-O2', '-o', binary, path.join(SOURCE_DIR, `${name}.c`)], { encoding: 'utf8' });
  if (result.status !== 0) {
    console.warn(`machine-limits: skipping ${name}: cc failed: ${result.error?.message ?? result.stderr}`);
    return null;
  }
  return binary;
}

/**
 * Writes dirty pages back before a measurement, so every run starts from the
 * same page-cache state instead of paying for the previous run's writeback.
 */
export function settlePageCache(): void {
  spawnSync('sync');
}

/** The C 64 KiB page-cache writer, compiled once; null without a compiler. */
export function compileWriter(options: BenchOptions): string | null {
  return compile(options, 'write-pagecache');
}

/** One run of the C writer: MB/s and CPU-seconds, after settling the page cache. */
export function rawWriteOnce(writer: string, options: BenchOptions, totalBytes: number): { mbps: number; cpuS: number } {
  const file = path.join(options.scratchDir, `limits-${process.pid}.bin`);
  settlePageCache();
  try {
    const [mbps, cpuS] = runNumbers(writer, [file, String(totalBytes), String(WRITE_CHUNK_BYTES)]);
    return { mbps, cpuS };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function runNumbers(binary: string, args: string[]): number[] {
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim().split(/\s+/).map(Number);
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const totalBytes = appendTotalBytes(options);
  const writer = compileWriter(options);
  if (writer) {
    const mbps: number[] = [];
    const cpuPerGiB: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const r = rawWriteOnce(writer, options, totalBytes);
      mbps.push(r.mbps);
      cpuPerGiB.push((r.cpuS * GIB) / totalBytes);
    }
    const params = { totalMiB: totalBytes / MIB, chunkKiB: WRITE_CHUNK_BYTES / 1024 };
    results.push(summarize('limits.write64KiB.pagecache', 'MB/s', mbps, params));
    results.push(summarize('limits.write64KiB.pagecache.cpu', 'cpu-s/GiB', cpuPerGiB, params));
  }
  const copier = compile(options, 'memcpy-bandwidth');
  if (copier) {
    const mbps: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      mbps.push(runNumbers(copier, [String(MEMCPY_BUFFER_BYTES), String(options.quick ? 4 : MEMCPY_ROUNDS)])[0]);
    }
    results.push(summarize('limits.memcpy', 'MB/s', mbps, { bufferMiB: MEMCPY_BUFFER_BYTES / MIB }));
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = defaultOptions();
  console.log(`machine-limits ${JSON.stringify(options)} node ${process.version}`);
  for (const r of await run(options)) console.log(formatResult(r));
}
