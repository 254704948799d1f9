// Append throughput of the segment file: mmap vs write mode (and the js
// fallback), for 1 KiB, 16 KiB and 256 KiB batches, appended ~1 MiB per call
// (one produce request's worth of batches for a partition) with one event-loop
// turn between calls, as in the broker. No fsync: like Kafka, durability comes
// from replication and the page cache is flushed by the kernel. One variant
// flushes every quarter of its (smaller) total to show the cost of forced durability.
//
// Expectation before measuring: with pages pre-faulted, an mmap append is a
// memcpy out of a 1 MiB (cache-resident) buffer, bounded by memcpy bandwidth
// (limits.memcpy); a write append copies the same bytes in the kernel plus
// page-cache allocation per 4 KiB page, bounded by the C 64 KiB write loop
// (limits.write64KiB.pagecache). The target is >= 0.8x of that C loop.
//
// Run alone: npx tsx bench/storage/append.ts (BENCH_RUNS, BENCH_QUICK, BENCH_DIR);
// alone it also measures machine-limits.ts and prints the ratios.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32cJs } from '../../src/record/crc32c.js';
import { openSegmentFile } from '../../src/storage/segment-file.js';
import type { SegmentFile } from '../../src/storage/segment-file.js';
import { nativeAddon } from '../../src/native/addon.js';
import { cpuSeconds, defaultOptions, formatResult, summarize } from './harness.js';
import type { BenchOptions, BenchResult } from './harness.js';
import { appendTotalBytes, compileWriter, rawWriteOnce, run as runMachineLimits, settlePageCache } from './machine-limits.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
/** Bytes per append call: a produce request's worth of batches for one partition. */
const APPEND_CALL_BYTES = 1 * MIB;
const BATCH_SIZES_BYTES = [1 * KIB, 16 * KIB, 256 * KIB];

type Variant = { label: string; impl: 'native' | 'js'; mode: 'mmap' | 'write' };

/** APPEND_CALL_BYTES of valid v2 batches of `batchBytes` each (CRC computed once, outside timing). */
function buildAppendBuffer(batchBytes: number): Buffer {
  const buf = Buffer.alloc(APPEND_CALL_BYTES);
  for (let at = 0, offset = 0; at + batchBytes <= buf.length; at += batchBytes, offset += 10) {
    buf.writeBigInt64BE(BigInt(offset), at);
    buf.writeInt32BE(batchBytes - 12, at + 8);
    buf.writeInt8(2, at + 16);
    buf.writeInt32BE(9, at + 23);
    buf.writeBigInt64BE(1_700_000_000_000n, at + 27);
    buf.writeBigInt64BE(1_700_000_000_000n, at + 35);
    buf.writeInt32BE(10, at + 57);
    for (let i = at + 61; i < at + batchBytes; i++) buf[i] = i & 0xff;
    buf.writeUInt32BE(crc32cJs(buf, at + 21, at + batchBytes), at + 17);
  }
  return buf;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface RunNumbers {
  mbps: number;
  cpuPerGiB: number;
  createMs: number;
}

async function appendRun(
  file: string,
  variant: Variant,
  source: Buffer,
  totalBytes: number,
  flushEveryBytes: number,
): Promise<RunNumbers> {
  fs.rmSync(file, { force: true });
  settlePageCache();
  const t0 = process.hrtime.bigint();
  let segment: SegmentFile | null = openSegmentFile(file, {
    mode: variant.mode,
    capacityBytes: totalBytes,
    impl: variant.impl,
  });
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const s = segment;
    const { cpuS, wallS } = await cpuSeconds(async () => {
      let sinceFlush = 0;
      for (let appended = 0; appended < totalBytes; appended += source.length) {
        s.append(source);
        sinceFlush += source.length;
        if (flushEveryBytes > 0 && sinceFlush >= flushEveryBytes) {
          await s.flush();
          sinceFlush = 0;
        } else {
          await nextTurn();
        }
      }
    });
    return { mbps: totalBytes / wallS / 1e6, cpuPerGiB: (cpuS * GIB) / totalBytes, createMs };
  } finally {
    segment.close();
    segment = null;
    fs.rmSync(file, { force: true });
  }
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  fs.mkdirSync(options.scratchDir, { recursive: true });
  const variants: Variant[] = [
    ...(nativeAddon()
      ? [
          { label: 'mmap', impl: 'native', mode: 'mmap' } as const,
          { label: 'write', impl: 'native', mode: 'write' } as const,
        ]
      : []),
    { label: 'js-write', impl: 'js', mode: 'write' },
  ];
  const totalBytes = appendTotalBytes(options);
  const file = path.join(options.scratchDir, `append-${process.pid}.log`);
  const results: BenchResult[] = [];
  // The C writer runs once per round, beside the appends, so each ratio compares
  // numbers taken under the same page-cache and writeback conditions.
  const writer = compileWriter(options);
  for (const batchBytes of BATCH_SIZES_BYTES) {
    const source = buildAppendBuffer(batchBytes);
    const sizeLabel = `${batchBytes / KIB}KiB`;
    const runs = new Map<string, RunNumbers[]>(variants.map((v) => [v.label, []]));
    const ratios = new Map<string, number[]>(variants.map((v) => [v.label, []]));
    for (let i = 0; i < options.runs; i++) {
      const raw = writer ? rawWriteOnce(writer, options, totalBytes).mbps : 0;
      for (const variant of variants) {
        const r = await appendRun(file, variant, source, totalBytes, 0);
        runs.get(variant.label)!.push(r);
        if (raw > 0) ratios.get(variant.label)!.push(r.mbps / raw);
      }
    }
    const params = { totalMiB: totalBytes / MIB, callMiB: APPEND_CALL_BYTES / MIB, batchBytes };
    for (const variant of variants) {
      const vr = runs.get(variant.label)!;
      results.push(summarize(`append.${variant.label}.${sizeLabel}`, 'MB/s', vr.map((r) => r.mbps), params));
      results.push(summarize(`append.${variant.label}.${sizeLabel}.cpu`, 'cpu-s/GiB', vr.map((r) => r.cpuPerGiB), params));
      if (ratios.get(variant.label)!.length > 0) {
        results.push(summarize(`append.${variant.label}.${sizeLabel}.vs-raw`, 'ratio', ratios.get(variant.label)!, params));
      }
      if (batchBytes === BATCH_SIZES_BYTES[0]) {
        results.push(summarize(`append.create.${variant.label}`, 'ms', vr.map((r) => r.createMs), { capacityMiB: totalBytes / MIB }));
      }
    }
  }
  // Forced durability: 16 KiB batches, a quarter of the total (these reach the
  // disk), fdatasync after every quarter of that: every 16 MiB, 2 MiB when quick.
  const flushTotalBytes = totalBytes / 4;
  const flushEveryBytes = flushTotalBytes / 4;
  const source = buildAppendBuffer(16 * KIB);
  for (const variant of variants.filter((v) => v.impl === 'native')) {
    const runs: RunNumbers[] = [];
    for (let i = 0; i < options.runs; i++) runs.push(await appendRun(file, variant, source, flushTotalBytes, flushEveryBytes));
    results.push(
      summarize(`append.${variant.label}.16KiB.flush${flushEveryBytes / MIB}MiB`, 'MB/s', runs.map((r) => r.mbps), {
        totalMiB: flushTotalBytes / MIB,
        flushEveryMiB: flushEveryBytes / MIB,
      }),
    );
  }
  results.push(...(await busyCoreRuns(variants, file, totalBytes, options)));
  results.push(...recoveryRuns(variants, file, totalBytes, options));
  return results;
}

/**
 * Crash recovery's cost: one `recover` scan (every header, every CRC32C, index
 * entries rebuilt) over a segment of 16 KiB batches already in the page cache.
 */
function recoveryRuns(variants: Variant[], file: string, totalBytes: number, options: BenchOptions): BenchResult[] {
  const source = buildAppendBuffer(16 * KIB);
  const results: BenchResult[] = [];
  for (const variant of variants.filter((v) => v.mode === 'write')) {
    fs.rmSync(file, { force: true });
    const writer = openSegmentFile(file, { mode: 'write', capacityBytes: totalBytes, impl: variant.impl });
    // Recovery checks that offsets increase, so each chunk gets fresh base offsets
    // (outside the CRC, like the broker's own assignment).
    let nextOffset = 0;
    for (let appended = 0; appended < totalBytes; appended += source.length) {
      for (let at = 0; at + 16 * KIB <= source.length; at += 16 * KIB, nextOffset += 10) {
        source.writeBigInt64BE(BigInt(nextOffset), at);
      }
      writer.append(source);
    }
    writer.close();
    const mbps: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const segment = openSegmentFile(file, { mode: 'readonly', capacityBytes: totalBytes, impl: variant.impl });
      const t0 = process.hrtime.bigint();
      const r = segment.recover(0, 4096, 2 ** 31 - 1);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      segment.close();
      if (r.validBytes !== totalBytes) throw new Error(`recovery bench: ${r.validBytes} of ${totalBytes} bytes valid: ${r.error}`);
      mbps.push(totalBytes / seconds / 1e6);
    }
    results.push(summarize(`recover.${variant.label}.16KiB`, 'MB/s', mbps, { totalMiB: totalBytes / MIB, pageCache: 'warm' }));
  }
  fs.rmSync(file, { force: true });
  return results;
}

/**
 * The same 16 KiB append with the other core kept busy by a spinning child
 * process, as it is on a broker serving clients. mmap's pre-fault worker needs
 * a core of its own, so this is the case that decides the default mode.
 * mmap and write alternate run by run so both see the same noise.
 */
async function busyCoreRuns(variants: Variant[], file: string, totalBytes: number, options: BenchOptions): Promise<BenchResult[]> {
  const natives = variants.filter((v) => v.impl === 'native');
  if (natives.length === 0) return [];
  const source = buildAppendBuffer(16 * KIB);
  const spinner = spawn(process.execPath, ['-e', 'const end = Date.now() + 600_000; while (Date.now() < end) {}'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const runs = new Map<string, RunNumbers[]>(natives.map((v) => [v.label, []]));
    for (let i = 0; i < options.runs; i++) {
      for (const variant of natives) runs.get(variant.label)!.push(await appendRun(file, variant, source, totalBytes, 0));
    }
    const params = { totalMiB: totalBytes / MIB, batchBytes: 16 * KIB, otherCore: 'busy' };
    return natives.flatMap((v) => [
      summarize(`append.${v.label}.16KiB.busy`, 'MB/s', runs.get(v.label)!.map((r) => r.mbps), params),
      summarize(`append.${v.label}.16KiB.busy.cpu`, 'cpu-s/GiB', runs.get(v.label)!.map((r) => r.cpuPerGiB), params),
    ]);
  } finally {
    spinner.kill('SIGKILL');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = defaultOptions();
  console.log(`append ${JSON.stringify(options)} node ${process.version}`);
  const limits = await runMachineLimits(options);
  const results = await run(options);
  for (const r of [...limits, ...results]) console.log(formatResult(r));
  const reference = limits.find((r) => r.name === 'limits.write64KiB.pagecache');
  if (reference) {
    for (const r of results.filter((x) => x.unit === 'MB/s')) {
      console.log(`${r.name.padEnd(40)} ${(r.median / reference.median).toFixed(2)}x of C 64 KiB page-cache writes`);
    }
  }
}
