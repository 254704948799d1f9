// Shared helpers for the storage benchmarks: repeated runs, medians, results.
// Each bench/storage/<topic>.ts exports `run(options)` returning BenchResult[]
// and can also be run alone with `npx tsx bench/storage/<topic>.ts`.

export interface BenchOptions {
  /** Repetitions per measurement; the median is reported (at least 5 for docs/perf.md). */
  runs: number;
  /** Smaller sizes, for smoke runs in CI. */
  quick: boolean;
  /** Scratch directory on the same filesystem as a real data dir. */
  scratchDir: string;
}

export interface BenchResult {
  /** Stable identifier, e.g. "append.mmap.16KiB". */
  name: string;
  /** Unit of median/min/max, e.g. "MB/s", "ns/op", "GB/s", "cpu-s/GiB". */
  unit: string;
  median: number;
  min: number;
  max: number;
  samples: number[];
  /** Parameters worth printing beside the number. */
  params?: Record<string, string | number | boolean>;
}

export function summarize(
  name: string,
  unit: string,
  samples: number[],
  params?: BenchResult['params'],
): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { name, unit, median, min: sorted[0], max: sorted[sorted.length - 1], samples, params };
}

/** Runs `fn` `runs` times and summarizes the numbers it returns. */
export async function repeat(
  name: string,
  unit: string,
  runs: number,
  fn: (runIndex: number) => number | Promise<number>,
  params?: BenchResult['params'],
): Promise<BenchResult> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await fn(i));
  return summarize(name, unit, samples, params);
}

export function formatResult(r: BenchResult): string {
  const f = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
  const params = r.params ? ' ' + JSON.stringify(r.params) : '';
  return `${r.name.padEnd(40)} ${f(r.median).padStart(10)} ${r.unit.padEnd(10)} (min ${f(r.min)}, max ${f(r.max)}, n=${r.samples.length})${params}`;
}

export function defaultOptions(): BenchOptions {
  return {
    runs: Number(process.env.BENCH_RUNS ?? 5),
    quick: process.env.BENCH_QUICK === '1',
    scratchDir: process.env.BENCH_DIR ?? `${process.cwd()}/bench/results/scratch`,
  };
}

/** CPU seconds (user + system) of this process spent in `fn`. */
export async function cpuSeconds(fn: () => Promise<void> | void): Promise<{ cpuS: number; wallS: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const c = process.cpuUsage(c0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { cpuS: (c.user + c.system) / 1e6, wallS };
}
