// Renders the storage section of docs/perf.md from a bench:storage report:
// the targets as ratios measured in the same run, then every number.
import type { BenchResult } from './harness.js';

export interface StorageReport {
  machine: Record<string, string | number>;
  runs: number;
  quick: boolean;
  results: Record<string, BenchResult[]>;
}

function find(report: StorageReport, name: string): BenchResult | undefined {
  for (const list of Object.values(report.results)) {
    const hit = list.find((r) => r.name === name);
    if (hit) return hit;
  }
  return undefined;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/**
 * The default append mode: the faster one with the other core busy (a broker
 * serves clients while it appends), falling back to the idle-machine sum over
 * batch sizes when the busy runs are missing.
 */
export function fasterAppendMode(report: StorageReport): 'mmap' | 'write' | null {
  const busyMmap = find(report, 'append.mmap.16KiB.busy')?.median;
  const busyWrite = find(report, 'append.write.16KiB.busy')?.median;
  if (busyMmap !== undefined && busyWrite !== undefined) return busyMmap > busyWrite ? 'mmap' : 'write';
  let mmap = 0;
  let write = 0;
  for (const size of ['1KiB', '16KiB', '256KiB']) {
    mmap += find(report, `append.mmap.${size}`)?.median ?? 0;
    write += find(report, `append.write.${size}`)?.median ?? 0;
  }
  if (mmap === 0 || write === 0) return null;
  return mmap > write ? 'mmap' : 'write';
}

interface TargetRow {
  what: string;
  measured: string;
  target: string;
  met: boolean | null;
}

function targets(report: StorageReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const ratio = find(report, 'sender.zero-copy.cpu-vs-copy');
  const zc = find(report, 'sender.zero-copy.cpu');
  const copy = find(report, 'sender.copy.cpu');
  if (ratio && zc && copy) {
    rows.push({
      what: 'zero-copy sender CPU-s/GiB vs copy path',
      measured: `${fmt(ratio.median)}x (${fmt(zc.median)} vs ${fmt(copy.median)} cpu-s/GiB)`,
      target: '<= 0.3x',
      met: ratio.median <= 0.3,
    });
  }
  const mode = fasterAppendMode(report);
  if (mode) {
    for (const size of ['1KiB', '16KiB', '256KiB']) {
      const ratio = find(report, `append.${mode}.${size}.vs-raw`);
      const r = find(report, `append.${mode}.${size}`);
      if (!ratio || !r) continue;
      rows.push({
        what: `append (${mode}, ${size} batches) vs raw 64 KiB page-cache writes in the same round`,
        measured: `${fmt(ratio.median)}x (append ${fmt(r.median)} MB/s)`,
        target: '>= 0.8x',
        met: ratio.median >= 0.8,
      });
    }
  }
  const crc = find(report, 'crc32c.native.sse4.2.1MiB');
  if (crc) rows.push({ what: 'CRC32C, native, 1 MiB buffers', measured: `${fmt(crc.median)} GB/s`, target: '>= 5 GB/s', met: crc.median >= 5 });
  for (const kind of ['warm', 'cold']) {
    const r = find(report, `index.lookup.native.${kind}`);
    if (r) {
      rows.push({
        what: `offset index lookup, native, ${kind} (${kind === 'warm' ? 'recent offsets' : 'random offsets over 10 MiB'})`,
        measured: `${fmt(r.median)} ns`,
        target: '<= 300 ns',
        met: r.median <= 300,
      });
    }
  }
  return rows;
}

export function storageReport(report: StorageReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push('## Storage engine (`npm run bench:storage`)');
  lines.push('');
  lines.push(
    `Measured ${m.date} at commit ${m.commit}, Node ${m.node}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ` +
      `Linux ${m.kernel}, ${m.filesystem}. Median of ${report.runs} runs; min and max beside it. ` +
      'The machine is shared, so the ratios below compare numbers taken in the same run.',
  );
  lines.push('');
  lines.push(
    'Durability of these numbers: appends go to the page cache with no fsync (Kafka\'s default, where durability ' +
      'comes from replication); the `flush*MiB` rows fdatasync every that many MiB. Each run starts after `sync`, so it does not pay for the writeback left by the previous run. Sends read a file already in the page cache.',
  );
  lines.push('');
  lines.push('### Targets');
  lines.push('');
  lines.push('| what | measured | target | met |');
  lines.push('|---|---|---|---|');
  for (const row of targets(report)) {
    lines.push(`| ${row.what} | ${row.measured} | ${row.target} | ${row.met === null ? '' : row.met ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  const mode = fasterAppendMode(report);
  if (mode) {
    lines.push(
      `Default append mode chosen by this run: **${mode}** (faster with the other core busy, ` +
        '`append.*.16KiB.busy`; the idle-machine rows are shown for comparison).',
    );
    lines.push('');
  }
  for (const [suite, results] of Object.entries(report.results)) {
    lines.push(`### ${suite}`);
    lines.push('');
    lines.push('| measurement | median | min | max | unit | parameters |');
    lines.push('|---|---:|---:|---:|---|---|');
    for (const r of results) {
      const params = r.params ? Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(', ') : '';
      lines.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.unit} | ${params} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
