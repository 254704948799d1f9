// Offset index lookup latency, native (mmap) vs TypeScript (Buffer), on a
// full-size index: 10 MiB = 1,310,720 entries of 8 bytes.
//
// Expected: a lookup is ~21 binary-search steps (cold) or ~11 (warm section of
// 1024 entries), each a dependent load plus a byte swap: ~1-3 ns per step when
// the pages are cached, so ~20-60 ns of search, more when cold steps miss the
// cache and TLB. Both "native" and "js" search with the same TypeScript code
// (native reads the mmapped file through an ArrayBuffer, js a Buffer copy),
// so they should be within noise of each other; the wrapper allocates the
// {offset, position} result. "native-raw" still pays one N-API call per lookup
// (~150-250 ns here). The target is <= 300 ns per lookup.
//
// Cases: "warm" targets fall in the last 8 KiB of entries (tailing consumers
// and followers, the common case); "cold" targets are uniform over the whole
// index. Targets are precomputed; each timed call does BATCH lookups so one
// sample is far above the timer's resolution; ns/op = sample / BATCH.
// "raw" calls the NativeIndexFile directly (no wrapper object), to show the cost
// of the boundary apart from the wrapper.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { nativeAddon } from '../../src/native/addon.js';
import { INDEX_BYTES_DEFAULT, OFFSET_INDEX_ENTRY_BYTES, OffsetIndex, type IndexImpl } from '../../src/storage/index-file.js';
import { defaultOptions, formatResult, summarize, type BenchOptions, type BenchResult } from './harness.js';

const BASE_OFFSET = 1_000_000;
/** Offsets advance by 1..7 per entry: a sparse index over batches of a few records. */
const OFFSET_STEP_MAX = 7;
const TARGET_COUNT = 8192;
const BATCH = 1024;
const WARM_ENTRIES = 8192 / OFFSET_INDEX_ENTRY_BYTES;

/** Writes a Kafka-format offset index of `entryCount` entries; returns the absolute offsets. */
function writeIndexFile(filePath: string, entryCount: number): Float64Array {
  const bytes = Buffer.alloc(entryCount * OFFSET_INDEX_ENTRY_BYTES);
  const offsets = new Float64Array(entryCount);
  let relative = 0;
  let seed = 12345;
  for (let i = 0; i < entryCount; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    relative += 1 + (seed % OFFSET_STEP_MAX);
    offsets[i] = BASE_OFFSET + relative;
    bytes.writeInt32BE(relative, i * OFFSET_INDEX_ENTRY_BYTES);
    // 1 KiB apart: 1,310,720 entries then cover 1.25 GiB, within int32 positions.
    bytes.writeInt32BE(i * 1024, i * OFFSET_INDEX_ENTRY_BYTES + 4);
  }
  fs.writeFileSync(filePath, bytes);
  return offsets;
}

/** Targets between entries `fromSlot` and the last one, uniformly (Math.random is fine: not timed). */
function targetsIn(offsets: Float64Array, fromSlot: number): Float64Array {
  const low = offsets[fromSlot];
  const high = offsets[offsets.length - 1];
  const targets = new Float64Array(TARGET_COUNT);
  for (let i = 0; i < TARGET_COUNT; i++) targets[i] = low + Math.floor(Math.random() * (high - low + 1));
  return targets;
}

/**
 * BENCH_INDEX_IMPLS (comma-separated, default "native,js"): which
 * implementations to time; native is dropped when the addon is not loaded.
 * Both share the search code, so in one process the JIT's inlining and type
 * feedback for it depend on which ran first; one implementation per process
 * gives the steadier number.
 */
function benchImpls(): IndexImpl[] {
  const names = (process.env.BENCH_INDEX_IMPLS ?? 'native,js').split(',').map((name) => name.trim());
  for (const name of names) {
    if (name !== 'native' && name !== 'js') throw new Error(`BENCH_INDEX_IMPLS: unknown implementation ${name}`);
  }
  return (names as IndexImpl[]).filter((impl) => impl === 'js' || nativeAddon() !== null);
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const entryCount = (options.quick ? INDEX_BYTES_DEFAULT / 8 : INDEX_BYTES_DEFAULT) / OFFSET_INDEX_ENTRY_BYTES;
  fs.mkdirSync(options.scratchDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(options.scratchDir, 'index-lookup-'));
  const filePath = path.join(dir, '00000000000001000000.index');
  const impls = benchImpls();
  const indexes: OffsetIndex[] = [];
  try {
    const offsets = writeIndexFile(filePath, entryCount);
    const targets = {
      warm: targetsIn(offsets, offsets.length - WARM_ENTRIES),
      cold: targetsIn(offsets, 0),
    };
    const samples = new Map<string, number[]>();
    let sink = 0;
    for (let runIndex = 0; runIndex < options.runs; runIndex++) {
      const bench = new Bench({ time: options.quick ? 100 : 400, warmupTime: 100 });
      let cursor = 0;
      for (const impl of impls) {
        const index = new OffsetIndex(filePath, BASE_OFFSET, { maxIndexBytes: INDEX_BYTES_DEFAULT, writable: false, impl });
        indexes.push(index);
        if (index.entryCount !== entryCount) throw new Error(`${impl} index has ${index.entryCount} entries`);
        for (const [kind, list] of Object.entries(targets)) {
          bench.add(`index.lookup.${impl}.${kind}`, () => {
            for (let i = 0; i < BATCH; i++) {
              sink += index.lookup(list[cursor]).position;
              cursor = (cursor + 1) & (TARGET_COUNT - 1);
            }
          });
        }
      }
      const addon = nativeAddon();
      const raw =
        addon && impls.includes('native')
          ? new addon.IndexFile(filePath, 'offset', BASE_OFFSET, INDEX_BYTES_DEFAULT, false)
          : null;
      if (raw) {
        const out = new Float64Array(2);
        for (const [kind, list] of Object.entries(targets)) {
          bench.add(`index.lookup.native-raw.${kind}`, () => {
            for (let i = 0; i < BATCH; i++) {
              sink += raw.lookup(list[cursor], out);
              cursor = (cursor + 1) & (TARGET_COUNT - 1);
            }
          });
        }
      }
      await bench.run();
      raw?.close();
      for (const task of bench.tasks) {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
        const nsPerOp = (result.latency.p50 * 1e6) / BATCH;
        samples.set(task.name, [...(samples.get(task.name) ?? []), nsPerOp]);
      }
      for (const index of indexes.splice(0)) index.close();
    }
    if (sink === 0.5) console.log(sink); // keeps the lookups observable
    const params = { entries: entryCount, targets: TARGET_COUNT, batch: BATCH, impls: impls.join(',') };
    return [...samples].map(([name, values]) => summarize(name, 'ns/op', values, params));
  } finally {
    for (const index of indexes) index.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await run(defaultOptions());
  for (const r of results) console.log(formatResult(r));
}
