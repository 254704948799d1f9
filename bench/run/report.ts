// The report of `npm run bench`: summaries (median, min, max of every
// metric), the targets of issue 5 as ratios measured in the same run, SVG
// charts (bench/svg.ts) and the generated section of docs/perf.md.
import { fmt } from '../report-files.js';
import { barChart, type BarGroup, lineChart, type Series } from '../svg.js';
import { median } from '../e2e/loadgen.js';
import type { Sample } from './context.js';

export interface Metric {
  scenario: number;
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  samples: number[];
  params: Record<string, string | number>;
  fsync: string;
}

export function summarize(samples: Iterable<Sample>): Metric[] {
  return [...samples].map((s) => ({
    scenario: s.scenario,
    name: s.name,
    unit: s.unit,
    median: median(s.values),
    min: Math.min(...s.values),
    max: Math.max(...s.values),
    samples: s.values,
    params: s.params,
    fsync: s.fsync,
  }));
}

export interface Target {
  what: string;
  measured: number | null;
  op: '>=' | '<=';
  target: number;
  unit: string;
  met: boolean | null;
  how: string;
}

/** Side-by-side rows of scenario 9: [what, Samsa metric, peer metric]. */
export const PEER_ROWS: [string, string, string][] = [
  ['produce 1 KiB records, no fsync (16 KiB batches vs 16-deep pipeline)', 'acks.1.16KiB.max-throughput', 'peers.redis.xadd.aof-fsync-no.throughput'],
  ['produce 1 KiB records, fsync every write', 'append.write.flush-1.throughput', 'peers.redis.xadd.aof-fsync-always.throughput'],
  ['read cached 1 KiB records', 'fetch.zero-copy.throughput', 'peers.redis.xrange.throughput'],
];

export function targets(metrics: Metric[]): Target[] {
  const m = (name: string) => metrics.find((x) => x.name === name)?.median ?? null;
  const ratio = (a: string, b: string) => {
    const x = m(a);
    const y = m(b);
    return x !== null && y !== null && y > 0 ? x / y : null;
  };
  const t = (what: string, measured: number | null, op: '>=' | '<=', target: number, unit: string, how: string): Target => ({
    what,
    measured,
    op,
    target,
    unit,
    met: measured === null ? null : op === '>=' ? measured >= target : measured <= target,
    how,
  });
  return [
    t('fetch of cached 1 KiB records vs loopback TCP', ratio('fetch.zero-copy.throughput', 'limits.loopback-tcp'), '>=', 0.6, 'x', 'fetch.zero-copy.throughput / limits.loopback-tcp'),
    t('zero-copy fetch broker CPU per GiB vs the copy path', ratio('fetch.zero-copy.cpu', 'fetch.copy.cpu'), '<=', 0.3, 'x', 'fetch.zero-copy.cpu / fetch.copy.cpu'),
    t('produce of 1 KiB records vs loopback TCP', ratio('append.write.flush-default.throughput', 'limits.loopback-tcp'), '>=', 0.4, 'x', 'append.write.flush-default.throughput (256 KiB batches, acks=1) / limits.loopback-tcp'),
    t('produce p99 at half the max rate, acks=1', m('acks.1.half-max.p99'), '<=', 5, 'ms', 'acks.1.half-max.p99 (16 KiB batches, one connection, open loop)'),
    ...PEER_ROWS.filter(([, , peer]) => m(peer) !== null).map(([what, samsa, peer]) => t(`Samsa vs Redis Streams: ${what}`, ratio(samsa, peer), '>=', 1, 'x', `${samsa} / ${peer}`)),
  ];
}

export interface Chart {
  file: string;
  scenario: number;
  title: string;
  svg: string;
  /** Two sentences: what it shows and why. */
  text: string;
}

const x = (n: number | null | undefined, digits = 2) => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : fmt(n));

export function charts(metrics: Metric[]): Chart[] {
  const get = (name: string) => metrics.find((m) => m.name === name);
  const bar = (name: string, label: string) => {
    const v = get(name);
    return v ? { name: label, value: v.median, min: v.min, max: v.max } : null;
  };
  const groups = (list: { label: string; bars: ({ name: string; value: number; min: number; max: number } | null)[] }[]): BarGroup[] =>
    list.map((g) => ({ label: g.label, bars: g.bars.filter((b): b is NonNullable<typeof b> => b !== null) })).filter((g) => g.bars.length > 0);
  const series = (name: string, prefix: string, suffix: string, parse: (key: string) => number): Series => ({
    name,
    points: metrics
      .filter((m) => m.name.startsWith(prefix) && m.name.endsWith(suffix))
      .map((m) => ({ x: parse(m.name.slice(prefix.length, m.name.length - suffix.length)), y: m.median, min: m.min, max: m.max })),
  });
  const out: Chart[] = [];
  const add = (file: string, scenario: number, title: string, svg: string | null, text: string) => {
    if (svg !== null) out.push({ file, scenario, title, svg, text });
  };
  const loop = get('limits.loopback-tcp')?.median;
  const sendfile = get('limits.sendfile')?.median;
  const bytes = (k: number) => (k >= 1024 ? `${k / 1024} MiB` : `${k} KiB`);

  // 8: every result as a ratio to its limit.
  const ratioBars: { label: string; bars: ({ name: string; value: number; min: number; max: number } | null)[] }[] = [];
  const ratioTo = (name: string, limit: string, label: string) => {
    const a = get(name);
    const b = get(limit)?.median;
    return a && b ? { name: label, value: a.median / b, min: a.min / b, max: a.max / b } : null;
  };
  ratioBars.push({ label: 'fetch zero-copy', bars: [ratioTo('fetch.zero-copy.throughput', 'limits.loopback-tcp', 'vs loopback TCP'), ratioTo('fetch.zero-copy.throughput', 'limits.sendfile', 'vs its own limit')] });
  ratioBars.push({ label: 'fetch copy', bars: [ratioTo('fetch.copy.throughput', 'limits.loopback-tcp', 'vs loopback TCP'), ratioTo('fetch.copy.throughput', 'limits.memcpy', 'vs its own limit')] });
  ratioBars.push({ label: 'produce write', bars: [ratioTo('append.write.flush-default.throughput', 'limits.loopback-tcp', 'vs loopback TCP'), ratioTo('append.write.flush-default.throughput', 'limits.write-64KiB-pagecache', 'vs its own limit')] });
  ratioBars.push({ label: 'produce mmap', bars: [ratioTo('append.mmap.flush-default.throughput', 'limits.loopback-tcp', 'vs loopback TCP'), ratioTo('append.mmap.flush-default.throughput', 'limits.memcpy', 'vs its own limit')] });
  const rg = groups(ratioBars);
  add(
    'limits.svg',
    8,
    'Results as ratios to the machine limits',
    rg.length ? barChart({ title: 'Samsa as a fraction of the machine (1.0 = the limit)', yLabel: 'ratio', groups: rg, reference: { value: 1, label: 'limit' } }) : null,
    `Each bar divides a Samsa throughput by a limit measured by C programs in the same run: loopback TCP (${x(loop)} MB/s), C sendfile (${x(sendfile)} MB/s) for zero-copy fetch, memcpy for the copy and mmap paths, 64 KiB page-cache writes for the write append. ` +
      'The gap to "its own limit" is what the broker adds on top of the unavoidable kernel work (syscalls, copies, TCP): request parsing, CRC checks, index and event-loop work in Node.',
  );

  // 1
  const fg = groups([
    { label: 'throughput (MB/s)', bars: [bar('fetch.zero-copy.throughput', 'zero-copy'), bar('fetch.copy.throughput', 'copy')] },
  ]);
  add(
    'fetch-throughput.svg',
    1,
    'Fetch throughput, zero-copy vs copy',
    fg.length ? barChart({ title: 'Fetch of cached 1 KiB records (MB/s)', yLabel: 'MB/s', groups: fg, reference: loop ? { value: loop, label: `loopback TCP ${fmt(loop)} MB/s` } : undefined }) : null,
    `Zero-copy fetch moved ${x(get('fetch.zero-copy.throughput')?.median)} MB/s against ${x(get('fetch.copy.throughput')?.median)} MB/s for the copy path, from the same cached segment to the same C consumer. ` +
      'sendfile hands page-cache pages to the socket inside the kernel; the copy path reads them into a user-space Buffer and writes them back, two copies and more syscalls per MiB.',
  );
  const fc = groups([{ label: 'broker CPU (cpu-s/GiB)', bars: [bar('fetch.zero-copy.cpu', 'zero-copy'), bar('fetch.copy.cpu', 'copy')] }]);
  add(
    'fetch-cpu.svg',
    1,
    'Fetch broker CPU per GiB',
    fc.length ? barChart({ title: 'Broker CPU-seconds per GiB fetched', yLabel: 'cpu-s/GiB', groups: fc }) : null,
    'The broker process\'s CPU time (user + system, from /proc) per GiB served; the consumer is a separate C process and is not counted. ' +
      'What remains with zero-copy is the Fetch request handling, the index lookups and the sendfile syscalls themselves, while the copy path also pays memcpy bandwidth and Buffer allocation.',
  );

  // 2
  const states = [
    ['warm', 'warm'],
    ['cold-fadvise', 'cold (fadvise)'],
    ['cold-drop-caches', 'cold (drop_caches)'],
  ];
  const pg = groups(states.map(([s, label]) => ({ label, bars: [bar(`pagecache.${s}.throughput`, 'MB/s')] })));
  add(
    'pagecache-throughput.svg',
    2,
    'Fetch, page cache warm vs cold',
    pg.length ? barChart({ title: 'Fetch throughput, warm vs cold page cache (MB/s)', yLabel: 'MB/s', groups: pg }) : null,
    'The same zero-copy fetch of the same log, with its segments in the page cache, after posix_fadvise(DONTNEED) on the segment files, and after dropping the whole page cache (as root). ' +
      'Cold, every sendfile waits for the disk to fill the pages it sends (the kernel reads ahead sequentially), so throughput falls to what the storage device delivers.',
  );
  const pd = groups(states.map(([s, label]) => ({ label, bars: [bar(`pagecache.${s}.loop-delay-max`, 'max event-loop delay'), bar(`pagecache.${s}.fetch-p99`, 'fetch p99')] })));
  add(
    'pagecache-loop-delay.svg',
    2,
    'Event-loop delay, warm vs cold',
    pd.length ? barChart({ title: 'Max event-loop delay and fetch p99 (ms)', yLabel: 'ms', groups: pd }) : null,
    'The broker\'s maximum event-loop delay during each fetch run (monitorEventLoopDelay through the /metrics endpoint, 10 ms resolution) and the fetch requests\' p99. ' +
      'sendfile runs on the event-loop thread and blocks in the kernel while a non-resident page is read from disk; Samsa has no residency check (mincore) or prefetch on a worker yet, so a cold read stalls every other connection for that time. ' +
      `On a shared machine the warm figure (${x(get('pagecache.warm.loop-delay-max')?.median)} ms here) is the floor set by CPU contention, the broker being descheduled; what cold reads add is the difference (fadvise: ${x(get('pagecache.cold-fadvise.loop-delay-max')?.median)} ms, drop_caches: ${x(get('pagecache.cold-drop-caches.loop-delay-max')?.median)} ms).`,
  );

  // 3
  const ag = groups(
    ['write', 'mmap'].map((mode) => ({ label: `append.mode=${mode}`, bars: [bar(`append.${mode}.flush-default.throughput`, 'no fsync (default)'), bar(`append.${mode}.flush-1.throughput`, 'fsync every append')] })),
  );
  add(
    'append-throughput.svg',
    3,
    'Produce by append mode and flush policy',
    ag.length ? barChart({ title: 'Produce MB/s: append mode x flush policy (1 KiB records, 256 KiB batches)', yLabel: 'MB/s', groups: ag }) : null,
    'Produce throughput with the active segment written by pwritev (write) or memcpy into a mapping (mmap), with Kafka\'s default of no fsync and with log.flush.interval.messages=1 (an fdatasync after every append). ' +
      'Without fsync an append costs one copy into the page cache; with it every request waits for the device to make the batch durable, which the device\'s flush latency bounds.',
  );
  const ap = groups(
    ['write', 'mmap'].map((mode) => ({ label: `append.mode=${mode}`, bars: [bar(`append.${mode}.flush-default.p99`, 'no fsync (default)'), bar(`append.${mode}.flush-1.p99`, 'fsync every append')] })),
  );
  add(
    'append-p99.svg',
    3,
    'Produce p99 by append mode and flush policy',
    ap.length ? barChart({ title: 'Produce p99 latency (ms), closed loop, 2 x 8 requests in flight', yLabel: 'ms', groups: ap }) : null,
    'The p99 of the same runs, measured closed loop (16 requests in flight), so it includes queueing behind the other requests. ' +
      'An fsync per append shows up here first: each append holds the partition while the device flushes.',
  );

  // 4
  const kib = (s: string) => Number(s.replace('KiB', ''));
  const bt = series('MB/s', 'batch.', 'KiB.throughput', kib);
  if (bt.points.length)
    add(
      'batching-throughput.svg',
      4,
      'Produce throughput vs batch size',
      lineChart({ title: 'Produce throughput vs batch size (acks=1)', xLabel: 'batch size', yLabel: 'MB/s', series: [bt], logX: true, xFormat: bytes }),
      `Throughput rises from ${x(get(`batch.1KiB.throughput`)?.median)} MB/s with one-record 1 KiB batches to ${x(get(`batch.1024KiB.throughput`)?.median ?? get('batch.256KiB.throughput')?.median)} MB/s with the largest batches. ` +
        'The broker\'s cost is mostly per request and per batch (parsing, CRC call, index entry, syscalls, event-loop turns), so bigger batches spread it over more bytes until copying the bytes dominates.',
    );
  const bl = [series('p50', 'batch.', 'KiB.p50', kib), series('p99', 'batch.', 'KiB.p99', kib)];
  if (bl[0].points.length)
    add(
      'batching-latency.svg',
      4,
      'Produce latency vs batch size',
      lineChart({ title: 'Produce latency vs batch size (closed loop, 16 in flight)', xLabel: 'batch size', yLabel: 'ms', series: bl, logX: true, logY: true, xFormat: bytes }),
      'Latency of the same closed-loop runs: with 16 requests in flight, a request waits for the ones ahead of it, so latency grows with batch size once the broker is saturated. ' +
        'Small batches are latency-cheap per request but cap throughput; the producer\'s batch.size trades one for the other.',
    );
  const ll = [series('p50', 'linger.', 'ms.p50', Number), series('p99', 'linger.', 'ms.p99', Number)];
  if (ll[0].points.length)
    add(
      'linger-latency.svg',
      4,
      'Record latency vs linger',
      lineChart({ title: 'Record latency vs linger.ms at a fixed record rate', xLabel: 'linger.ms', yLabel: 'ms (request latency + time in the batch)', series: ll }),
      'At a fixed rate of 1 KiB records, a producer lingering L ms sends batches of rate x L records; a record\'s latency is its wait in the batch (up to L, half on average) plus the request\'s latency measured open loop. ' +
        'Linger adds its own time to latency directly, and pays back in CPU (next chart); with linger 0 (one record per request) the offered request rate is above what the broker answers on this machine, so requests queue and latency grows for as long as the run lasts.',
    );
  const lc = series('broker cpu-s/GiB', 'linger.', 'ms.cpu', Number);
  if (lc.points.length)
    add(
      'linger-cpu.svg',
      4,
      'Broker CPU vs linger',
      lineChart({ title: 'Broker CPU per GiB vs linger.ms at a fixed record rate', xLabel: 'linger.ms', yLabel: 'cpu-s/GiB', series: [lc] }),
      'The same bytes per second cost the broker less CPU when they arrive in fewer, larger requests. ' +
        'This is why Kafka producers linger under load: per-request work (a syscall or two, parsing, an event-loop turn) is paid once per batch.',
    );

  // 5
  const kg = groups([{ label: 'throughput (MB/s)', bars: [bar('acks.0.throughput', 'acks=0'), bar('acks.1.throughput', 'acks=1'), bar('acks.all.throughput', 'acks=all')] }]);
  add(
    'acks.svg',
    5,
    'Produce by acks',
    kg.length ? barChart({ title: 'Produce MB/s by acks (64 KiB batches, single broker)', yLabel: 'MB/s', groups: kg }) : null,
    `acks=1 and acks=all answer after the local append; with one broker (replication factor 1) they wait for the same replica, so their difference is noise (the runs go 0, 1, all on one broker, on a shared machine), and acks=0 removes the answers altogether. ` +
      'acks=0 was not faster here: without answers the client has no window, so it is limited by how fast the broker drains its socket, and it measures the same append path. ' +
      `At half the maximum rate with 16 KiB batches the acks=1 p99 is ${x(get('acks.1.half-max.p99')?.median)} ms (open loop: latency counts from the scheduled send time).`,
  );

  // 6
  const pc = series('MB/s', 'partitions.', '.throughput', Number);
  if (pc.points.length)
    add(
      'partitions-throughput.svg',
      6,
      'Produce throughput vs partition count',
      lineChart({ title: 'Produce throughput vs partitions (16 KiB per partition per request)', xLabel: 'partitions', yLabel: 'MB/s', series: [pc], logX: true }),
      'Requests carry up to 64 partitions of one 16 KiB batch each, rotating over all partitions, so with more partitions each append goes to a different file and index. ' +
        'More partitions mean more open segments and index mappings touched per request and less sequential locality in the page cache. ' +
      `Here 1000 partitions ran at ${x(get('partitions.1000.throughput')?.median)} MB/s against ${x(get('partitions.1.throughput')?.median)} MB/s for one: a per-partition cost far above the bytes, worth a profile.`,
    );
  const ps = [series('start-up (ms)', 'partitions.', '.startup', Number), series('idle RSS (MB)', 'partitions.', '.rss-idle', Number), series('RSS after load (MB)', 'partitions.', '.rss-loaded', Number)];
  if (ps[0].points.length)
    add(
      'partitions-startup.svg',
      6,
      'Start-up time and RSS vs partition count',
      lineChart({ title: 'Start-up (ms) and RSS (MB) vs partitions', xLabel: 'partitions', yLabel: 'ms / MB', series: ps, logX: true, logY: true }),
      'Start-up is from spawning `samsa server-start` to the first answered ApiVersions, with the partitions already on disk after a clean shutdown; RSS is from /proc. ' +
        'Both grow with the partition count because each partition opens its segment, offset index and time index and keeps their state in memory. ' +
          `Creating 1000 partitions took ${x(get('partitions.1000.create')?.median)} ms and starting with them on disk ${x(get('partitions.1000.startup')?.median)} ms, ~10-20 ms per partition: per-partition file work (create, fsync, open, recover) done one after another, the first thing to parallelise for many partitions.`,
    );

  // 7
  const mb = (s: string) => Number(s.replace('MBps', ''));
  const el = ['p50', 'p99', 'p999', 'max'].map((p) => series(p, 'e2e.', `MBps.${p}`, mb));
  if (el[0].points.length)
    add(
      'e2e-latency.svg',
      7,
      'End-to-end latency at fixed rates',
      lineChart({ title: 'Produce-to-consume latency vs rate (16 KiB batches of 1 KiB records)', xLabel: 'MB/s produced', yLabel: 'ms', series: el, logX: true, logY: true }),
      'From the scheduled send of a produce request to the fetch answer carrying its batch, with a consumer long-polling Fetch on a second connection. ' +
        'The path is one append plus one long-poll wake-up and a sendfile, which the sub-millisecond p50 shows; the p99 of tens of milliseconds and more comes from the broker being descheduled on a 2-core machine shared with other work (load average ~11) rather than from the path itself.',
    );
  // 9
  const peerGroups = groups(
    PEER_ROWS.map(([what, samsa, peer]) => ({ label: what.split(' (')[0].replace('produce 1 KiB records, ', 'produce, ').replace('read cached 1 KiB records', 'read (cached)'), bars: get(peer) ? [bar(samsa, 'Samsa'), bar(peer, 'Redis Streams')] : [] })),
  );
  add(
    'peers.svg',
    9,
    'Samsa beside Redis Streams',
    peerGroups.length ? barChart({ title: 'Samsa and Redis Streams, 1 KiB records (MB/s)', yLabel: 'MB/s', groups: peerGroups }) : null,
    'Redis is loaded by its own C tool (redis-benchmark, 2 connections, 16 commands pipelined: XADD of one 1 KiB entry, XRANGE of 100 entries) and Samsa by the C loadgen with the same record size; "no fsync" is Redis\'s AOF with appendfsync no against Samsa\'s default, "fsync every write" is appendfsync always against log.flush.interval.messages=1 (Samsa with 256 KiB batches there, so fewer fsyncs per byte). ' +
      'Redis handles each entry as a command on one thread and copies it into its in-memory stream and the AOF, while Samsa appends a whole batch with one write and serves reads with sendfile.',
  );
  return out;
}

const SHORT_FSYNC: [string, string][] = [
  ['no fsync per write', 'none'],
  ['fsync after every append', 'every append'],
  ['read path', 'read'],
  ['machine limit', 'limit'],
  ['peer', 'peer'],
];

function fsyncShort(f: string): string {
  if (f.startsWith('peer: ')) return f.slice('peer: '.length);
  return SHORT_FSYNC.find(([k]) => f.startsWith(k))?.[1] ?? f;
}

export interface ReportData {
  machine: Record<string, string | number>;
  runs: number;
  smoke: boolean;
  scenarios: { id: number; name: string; title: string }[];
  notes: string[];
  metrics: Metric[];
  targets: Target[];
}

export function markdown(r: ReportData, list: Chart[]): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push('## Scenario harness (`npm run bench`)', '');
  lines.push(
    `Measured ${m.date} at commit ${m.commit}, Node ${m.node}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Linux ${m.kernel}. ` +
      `Median of ${r.runs} round${r.runs === 1 ? '' : 's'} with min and max; every sample is in \`docs/perf/bench.json\`. ` +
      `Load average ${m.loadAverageStart} at the start and ${m.loadAverageEnd} at the end: the machine is shared, so the targets are ratios of numbers measured in the same run.`,
    '',
  );
  lines.push(
    'Method: every scenario starts fresh `samsa server-start` processes (children of the harness) on new data directories; the load is `bench/e2e/c/loadgen.c` (pre-built request frames, several requests in flight, open-loop scheduling for fixed rates so stalls are not hidden); broker CPU and RSS come from `/proc/<pid>`. ' +
      'Durability: unless a row says otherwise, produce numbers are Kafka-style, **no fsync per write** (the page cache; durability would come from replication), and the `flush` column of each table says which numbers fsync every append (`log.flush.interval.messages=1`).',
    '',
  );
  lines.push('### Targets (issue 5)', '', '| target | measured | goal | met | from |', '|---|---:|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.what} | ${t.measured === null ? 'n/a' : fmt(t.measured)} ${t.unit} | ${t.op} ${t.target} ${t.unit} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} | ${t.how} |`);
  if (!r.targets.some((t) => t.what.startsWith('Samsa vs Redis'))) lines.push('| Samsa ahead of Redis Streams and NATS JetStream | n/a | every row | not measured | scenario 9: peers not installed on this machine |');
  lines.push('| Samsa ahead of NATS JetStream | n/a | every row | not measured | scenario 9 has no JetStream load generator yet |');
  if (r.notes.length) lines.push('', 'Notes from this run:', '', ...r.notes.map((n) => `- ${n}`));
  for (const s of r.scenarios) {
    const ms = r.metrics.filter((x) => x.scenario === s.id);
    const cs = list.filter((c) => c.scenario === s.id);
    lines.push('', `### ${s.id}. ${s.title}`, '');
    for (const c of cs) lines.push(`![${c.title}](perf/${c.file})`, '', c.text, '');
    if (ms.length === 0) {
      lines.push('No rows in this run (see the notes above).');
      continue;
    }
    lines.push('| measurement | median | min | max | unit | flush | parameters |', '|---|---:|---:|---:|---|---|---|');
    for (const x of ms) {
      const params = Object.entries(x.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      lines.push(`| ${x.name} | ${fmt(x.median)} | ${fmt(x.min)} | ${fmt(x.max)} | ${x.unit} | ${fsyncShort(x.fsync)} | ${params} |`);
    }
  }
  return lines.join('\n');
}
