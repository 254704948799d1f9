// What the end-to-end benches (bench:e2e, bench:groups) share about their
// reports: number formatting, the per-measurement tables, and where a run's
// results go (docs/perf/NAME.json and NAME's section of docs/perf.md for a
// full run; bench/results/NAME.json otherwise).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './storage/harness.js';

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  return a >= 100 ? n.toFixed(0) : a >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** One table per metric-name prefix ("fetch.", "produce.", ...), in first-seen order. */
export function measurementTables(metrics: readonly BenchResult[]): string[] {
  const lines: string[] = [];
  const groups = new Map<string, BenchResult[]>();
  for (const x of metrics) {
    const g = x.name.split('.')[0];
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(x);
  }
  for (const [group, list] of groups) {
    lines.push('', `### ${group}`, '', '| measurement | median | min | max | unit | parameters |', '|---|---:|---:|---:|---|---|');
    for (const x of list) {
      const params = x.params ? Object.entries(x.params).map(([k, v]) => `${k}=${v}`).join(', ') : '';
      lines.push(`| ${x.name} | ${fmt(x.median)} | ${fmt(x.min)} | ${fmt(x.max)} | ${x.unit} | ${params} |`);
    }
  }
  return lines;
}

/** Writes the report JSON, and for a full run regenerates the `<!-- NAME:begin -->` section of docs/perf.md. */
export function writeReportFiles(root: string, name: string, report: unknown, text: string, writeDocs: boolean): void {
  if (writeDocs) {
    fs.mkdirSync(path.join(root, 'docs', 'perf'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'perf', `${name}.json`), JSON.stringify(report, null, 2) + '\n');
    const perfMd = path.join(root, 'docs', 'perf.md');
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    const existing = fs.readFileSync(perfMd, 'utf8');
    const block = `${begin}\n${text}\n${end}`;
    fs.writeFileSync(perfMd, existing.includes(begin) ? existing.replace(new RegExp(`${begin}[\\s\\S]*${end}`), () => block) : `${existing.trimEnd()}\n\n${block}\n`);
    console.log(`wrote docs/perf/${name}.json and the ${name} section of docs/perf.md`);
  } else {
    fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench', 'results', `${name}.json`), JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote bench/results/${name}.json (docs/ untouched: quick, partial or --no-write run)`);
  }
}

/** The machine and checkout a report was measured on; `loadAverageStart` is os.loadavg() taken before the run. */
export function machineInfo(root: string, loadAverageStart: readonly number[]): Record<string, string | number> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {}
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    loadAverageStart: loadAverageStart.map((l) => l.toFixed(2)).join(' '),
    loadAverageEnd: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}
