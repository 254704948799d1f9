// Renders the "Consumer groups and compaction" section of docs/perf.md from a
// bench:groups report: the headline figures, then every measurement.
import type { BenchResult } from '../storage/harness.js';
import { fmt, measurementTables } from '../report-files.js';

export interface GroupsReport {
  machine: Record<string, string | number>;
  runs: number;
  quick: boolean;
  /** Facts about the run worth printing (which store answered commits, KIP-848 availability, ...). */
  notes: string[];
  metrics: BenchResult[];
}


interface Headline {
  what: string;
  metric: string;
}

const HEADLINES: Headline[] = [
  { what: 'classic group, 10 members, 100 partitions: first JoinGroup to all 10 assigned', metric: 'rebalance.classic.initial' },
  { what: 'classic group: an 11th member joins, to all 11 re-assigned', metric: 'rebalance.classic.member-join' },
  { what: 'classic group: a member leaves, to the other 10 re-assigned', metric: 'rebalance.classic.member-leave' },
  { what: 'KIP-848 group, 10 members: first heartbeat to all 10 reconciled', metric: 'rebalance.consumer.initial' },
  { what: 'KIP-848 group: an 11th member joins, to all 11 reconciled', metric: 'rebalance.consumer.member-join' },
  { what: 'KIP-848 group: a member leaves, to the other 10 reconciled', metric: 'rebalance.consumer.member-leave' },
  { what: 'OffsetCommit of 1 partition, 1 connection', metric: 'commit.1p.1c.commits' },
  { what: 'OffsetCommit of 1 partition, 1 connection: p99 latency', metric: 'commit.1p.1c.p99' },
  { what: 'OffsetCommit of 1 partition, 16 connections', metric: 'commit.1p.16c.commits' },
  { what: 'OffsetCommit of 100 partitions, 16 connections (partitions/s)', metric: 'commit.100p.16c.partitions' },
  { what: 'broker CPU per 1000 commits of 1 partition (16 connections)', metric: 'commit.1p.16c.cpu' },
  { what: 'broker CPU per 1000 commits of 100 partitions (16 connections)', metric: 'commit.100p.16c.cpu' },
  { what: 'OffsetCommit of 1 partition vs Produce acks=-1 of the same record (16 connections)', metric: 'commit.1p.16c.vs-produce' },
  { what: 'compaction of a keyed log: dirty MB/s cleaned', metric: 'compaction.throughput' },
  { what: 'compaction vs the raw read+write time of the same bytes', metric: 'compaction.vs-raw-io' },
  { what: 'broker CPU per GiB of dirty log cleaned', metric: 'compaction.cpu' },
  { what: 'broker request round trip while cleaning: p99', metric: 'compaction.probe.p99' },
  { what: 'broker request round trip while cleaning: max', metric: 'compaction.probe.max' },
];

export function groupsReport(report: GroupsReport): string {
  const m = report.machine;
  const byName = new Map(report.metrics.map((x) => [x.name, x]));
  const lines: string[] = [];
  lines.push('## Consumer groups and compaction (`npm run bench:groups`)');
  lines.push('');
  lines.push(
    `Measured ${m.date} at commit ${m.commit}, Node ${m.node}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Linux ${m.kernel}. ` +
      `Median of ${report.runs} runs; min and max beside it. Load average ${m.loadAverageStart} at the start and ${m.loadAverageEnd} at the end.`,
  );
  if (report.notes.length > 0) {
    lines.push('');
    for (const n of report.notes) lines.push(`- ${n}`);
  }
  lines.push('');
  lines.push('### Headline');
  lines.push('');
  lines.push('| what | median | min | max | unit |');
  lines.push('|---|---:|---:|---:|---|');
  for (const h of HEADLINES) {
    const x = byName.get(h.metric);
    lines.push(x ? `| ${h.what} | ${fmt(x.median)} | ${fmt(x.min)} | ${fmt(x.max)} | ${x.unit} |` : `| ${h.what} | not run | | | |`);
  }
  lines.push(...measurementTables(report.metrics));
  return lines.join('\n');
}
