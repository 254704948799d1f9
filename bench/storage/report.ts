// Renders the storage section of docs/perf.md from a bench:storage report.
import type { BenchResult } from './harness.js';

export interface StorageReport {
  machine: Record<string, string | number>;
  runs: number;
  quick: boolean;
  results: Record<string, BenchResult[]>;
}

export function storageReport(report: StorageReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push('## Storage engine (`npm run bench:storage`)');
  lines.push('');
  lines.push(`Measured ${m.date} at commit ${m.commit}, Node ${m.node}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Linux ${m.kernel}, ${m.filesystem}. Median of ${report.runs} runs (min-max in brackets).`);
  lines.push('');
  for (const [suite, results] of Object.entries(report.results)) {
    lines.push(`### ${suite}`);
    lines.push('');
    lines.push('| measurement | median | min | max | unit |');
    lines.push('|---|---:|---:|---:|---|');
    for (const r of results) lines.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.unit} |`);
    lines.push('');
  }
  return lines.join('\n');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 1 ? n.toFixed(2) : n.toPrecision(3);
}
