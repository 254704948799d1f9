// Renders the e2e section of docs/perf.md: the issue's targets (as ratios within
// one round where the target is a ratio), then every measurement.

import type { BenchResult } from '../storage/harness.js';
import { fmt, measurementTables } from '../report-files.js';

/** One e2e measurement: the same record the storage bench writes. */
export type Metric = BenchResult;

export interface E2eReport {
  machine: Record<string, string | number>;
  runs: number;
  quick: boolean;
  produceMiBPerRun: number;
  metrics: Metric[];
}


interface Target {
  what: string;
  metric: string;
  target: number;
  atMost: boolean;
  unit: string;
  /** Apache Kafka 4.0 on the same machine (from the issue), for scale. */
  kafka?: string;
}

const TARGETS: Target[] = [
  { what: 'fetch of cached data, 1 KiB records, 1 partition, zero-copy, vs loopback TCP', metric: 'fetch.zero-copy.1KiB.1p.vs-loopback', target: 0.6, atMost: false, unit: 'x' },
  { what: 'produce, 1 KiB records, 1 partition, acks=1, vs loopback TCP', metric: 'produce.1KiB.1p.vs-loopback', target: 0.4, atMost: false, unit: 'x' },
  { what: 'produce, 100 B records, 1 partition, 256 KiB batches', metric: 'produce.100B.1p.records', target: 2e6, atMost: false, unit: 'rec/s' },
  { what: 'broker CPU per GiB produced (1 KiB records, acks=1)', metric: 'produce.1KiB.1p.cpu', target: 1.0, atMost: true, unit: 'cpu-s/GiB', kafka: '4.7 (kcat)' },
  { what: 'broker CPU per GiB fetched (1 KiB records, zero-copy)', metric: 'fetch.zero-copy.1KiB.1p.cpu', target: 0.3, atMost: true, unit: 'cpu-s/GiB', kafka: '0.39 (kcat)' },
  { what: 'idle RSS', metric: 'rss.idle', target: 80, atMost: true, unit: 'MB', kafka: '393 at ready' },
  { what: 'RSS after moving >= 2 GB', metric: 'rss.after-load', target: 200, atMost: true, unit: 'MB' },
  { what: 'CLI start to ready', metric: 'startup.cli.ready', target: 300, atMost: true, unit: 'ms', kafka: '2900' },
  { what: 'in-process Broker.start to first acknowledged produce', metric: 'startup.in-process.first-produce', target: 100, atMost: true, unit: 'ms' },
];

export function targetRows(report: E2eReport): Array<{ what: string; measured: number | undefined; target: string; met: boolean | undefined; kafka?: string }> {
  const byName = new Map(report.metrics.map((m) => [m.name, m]));
  return TARGETS.map((t) => {
    const m = byName.get(t.metric);
    const met = m === undefined ? undefined : t.atMost ? m.median <= t.target : m.median >= t.target;
    return { what: t.what, measured: m?.median, target: `${t.atMost ? '<=' : '>='} ${fmt(t.target)} ${t.unit}`, met, kafka: t.kafka };
  });
}

export function e2eReport(report: E2eReport): string {
  const m = report.machine;
  const byName = new Map(report.metrics.map((x) => [x.name, x]));
  const lines: string[] = [];
  lines.push('## End to end (`npm run bench:e2e`)');
  lines.push('');
  lines.push(
    `Measured ${m.date} at commit ${m.commit}, Node ${m.node}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Linux ${m.kernel}. ` +
      `Median of ${report.runs} rounds; min and max beside it. Load average ${m.loadAverageStart} at the start and ${m.loadAverageEnd} at the end: ` +
      'the machine is shared with other work, so throughput targets are ratios to the loopback TCP throughput measured in the same round.',
  );
  lines.push('');
  lines.push('### Targets');
  lines.push('');
  lines.push('| what | measured (median) | target | met | Kafka 4.0, same machine |');
  lines.push('|---|---:|---|---|---|');
  for (const row of targetRows(report)) {
    const t = TARGETS.find((x) => x.what === row.what)!;
    const unit = t.unit === 'x' ? 'x' : ` ${t.unit}`;
    lines.push(
      `| ${row.what} | ${row.measured === undefined ? 'not run' : fmt(row.measured) + unit} | ${row.target} | ${row.met === undefined ? '-' : row.met ? 'yes' : '**no**'} | ${row.kafka ?? ''} |`,
    );
  }
  const loop = byName.get('loopback.c-socket-pair');
  if (loop) lines.push('', `Loopback TCP in the same rounds: ${fmt(loop.median)} MB/s (C socket pair, 1 MiB writes)${byName.has('loopback.iperf3') ? `; iperf3 ${fmt(byName.get('loopback.iperf3')!.median)} MB/s` : ''}.`);
  lines.push(...measurementTables(report.metrics));
  return lines.join('\n');
}
