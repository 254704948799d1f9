// The scenarios of `npm run bench` (issue 5), one function each. Every
// scenario starts its own broker processes on fresh data directories, records
// one sample per metric per round into the Context, and stops its brokers.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../e2e/broker-process.js';
import { iperf3MBps, loopback, runLoad } from '../e2e/loadgen.js';
import { fetchFrame, produceFrame } from '../e2e/protocol.js';
import { batchOf, type Context, fetchAll, FSYNC, GiB, KiB, MiB, produce, recordsPerBatch, segmentFiles, topic, type Workload } from './context.js';
import { peers } from './peers.js';

const ONE_KIB_RECORDS: Workload = { valueBytes: 1024, batchBytes: 256 * KiB };
const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const cpuPerGiB = (cpuS: number, bytes: number) => cpuS / (bytes / GiB);

export interface Scenario {
  id: number;
  name: string;
  title: string;
  run(ctx: Context, round: number): Promise<void>;
}

// ---- 1: fetch, zero-copy vs copy ----

async function fetchPaths(ctx: Context, round: number): Promise<void> {
  const dir = ctx.dir('s1-fetch');
  let broker = await ctx.broker(dir);
  await topic(broker, 'f', 1);
  const produced = await produce(ctx, broker, 'f', ONE_KIB_RECORDS, ctx.sizes.fetchBytes);
  await broker.stop();
  // The same log read by a fresh broker per sender: zero-copy (sendfile) and the copy path (read + write).
  for (const mode of ['zero-copy', 'copy'] as const) {
    broker = await ctx.broker(dir, mode === 'copy' ? { 'socket.sender.mode': 'copy' } : {});
    try {
      await fetchAll(ctx, broker, 'f', produced, Math.min(produced.bytes, 64 * MiB)); // warm-up: V8 compiles the fetch path
      const f = await fetchAll(ctx, broker, 'f', produced);
      const params = { records: '1 KiB', batch: '256 KiB', response: '1 MiB', conns: 2, window: 4, sender: mode, 'page cache': 'warm' };
      ctx.record(1, `fetch.${mode}.throughput`, 'MB/s', mbps(f.bytes, f.result.seconds), params, FSYNC.read);
      ctx.record(1, `fetch.${mode}.cpu`, 'cpu-s/GiB', cpuPerGiB(f.cpuS, f.bytes), params, FSYNC.read);
    } finally {
      await broker.stop();
    }
  }
  void round;
}

// ---- 2: page cache warm vs cold ----

async function scrapeLoopDelayMaxMs(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(text);
  if (!m) throw new Error('no nodejs_eventloop_lag_max_seconds in /metrics');
  return Number(m[1]) * 1000;
}

function residentFraction(ctx: Context, files: string[]): number {
  const r = JSON.parse(execFileSync(ctx.pagecache, ['resident', ...files], { encoding: 'utf8' })) as { resident: number; bytes: number };
  return r.bytes > 0 ? r.resident / r.bytes : NaN;
}

function dropCaches(ctx: Context): boolean {
  if (!ctx.dropCaches) {
    ctx.note(ctx.smoke ? 'scenario 2: drop_caches skipped in smoke mode (it empties the whole machine\'s page cache)' : 'scenario 2: drop_caches skipped (--no-drop-caches)');
    return false;
  }
  if (process.getuid?.() !== 0) {
    ctx.note('scenario 2: drop_caches skipped: not root');
    return false;
  }
  spawnSync('sync');
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch (err) {
    ctx.note(`scenario 2: drop_caches skipped: ${(err as Error).message}`);
    return false;
  }
}

async function pageCache(ctx: Context, round: number): Promise<void> {
  const dir = ctx.dir('s2-pagecache');
  const metricsPort = await freePort();
  // The metrics endpoint carries prom-client's event-loop delay histogram
  // (monitorEventLoopDelay, 10 ms resolution), reset at every scrape.
  const broker = await ctx.broker(dir, { 'metrics.port': String(metricsPort), 'metrics.host': '127.0.0.1' });
  try {
    await topic(broker, 'pc', 1);
    const produced = await produce(ctx, broker, 'pc', ONE_KIB_RECORDS, ctx.sizes.fetchBytes);
    const files = segmentFiles(dir, 'pc');
    await fetchAll(ctx, broker, 'pc', produced, Math.min(produced.bytes, 64 * MiB)); // warm-up
    const states: { state: string; prepare: () => boolean }[] = [
      { state: 'warm', prepare: () => true },
      {
        state: 'cold-fadvise',
        prepare: () => {
          execFileSync(ctx.pagecache, ['evict', ...files]);
          return true;
        },
      },
      { state: 'cold-drop-caches', prepare: () => dropCaches(ctx) },
    ];
    for (const { state, prepare } of states) {
      if (!prepare()) continue;
      const resident = residentFraction(ctx, files);
      await scrapeLoopDelayMaxMs(metricsPort); // resets the histogram
      const f = await fetchAll(ctx, broker, 'pc', produced);
      const delay = await scrapeLoopDelayMaxMs(metricsPort);
      const params = { records: '1 KiB', batch: '256 KiB', response: '1 MiB', sender: 'zero-copy', state, 'resident before': `${(resident * 100).toFixed(0)}%` };
      ctx.record(2, `pagecache.${state}.throughput`, 'MB/s', mbps(f.bytes, f.result.seconds), params, FSYNC.read);
      ctx.record(2, `pagecache.${state}.cpu`, 'cpu-s/GiB', cpuPerGiB(f.cpuS, f.bytes), params, FSYNC.read);
      ctx.record(2, `pagecache.${state}.loop-delay-max`, 'ms', delay, params, FSYNC.read);
      ctx.record(2, `pagecache.${state}.fetch-p99`, 'ms', f.result.latencyUs.p99 / 1000, params, FSYNC.read);
      ctx.record(2, `pagecache.${state}.resident-before`, 'ratio', resident, params, FSYNC.read);
    }
  } finally {
    await broker.stop();
  }
  void round;
}

// ---- 3: append mode and flush policy ----

async function appendFlush(ctx: Context, round: number): Promise<void> {
  for (const mode of ['write', 'mmap']) {
    for (const flush of ['default', '1']) {
      const dir = ctx.dir('s3-append');
      const properties: Record<string, string> = { 'log.segment.append.mode': mode };
      if (flush === '1') properties['log.flush.interval.messages'] = '1';
      const broker = await ctx.broker(dir, properties);
      try {
        await topic(broker, 'warm', 1);
        await produce(ctx, broker, 'warm', ONE_KIB_RECORDS, Math.min(ctx.sizes.produceBytes, 32 * MiB));
        await topic(broker, 'a', 1);
        const bytes = flush === '1' ? ctx.sizes.produceBytes / 2 : ctx.sizes.produceBytes;
        const p = await produce(ctx, broker, 'a', ONE_KIB_RECORDS, bytes);
        const params = { records: '1 KiB', batch: '256 KiB', conns: 2, window: 8, acks: 1, 'append mode': mode, 'flush.messages': flush === '1' ? 1 : 'default (never)' };
        const fsync = flush === '1' ? FSYNC.each : FSYNC.none;
        ctx.record(3, `append.${mode}.flush-${flush}.throughput`, 'MB/s', mbps(p.bytes, p.result.seconds), params, fsync);
        ctx.record(3, `append.${mode}.flush-${flush}.p99`, 'ms', p.result.latencyUs.p99 / 1000, params, fsync);
        ctx.record(3, `append.${mode}.flush-${flush}.cpu`, 'cpu-s/GiB', cpuPerGiB(p.cpuS, p.bytes), params, fsync);
      } finally {
        await broker.stop();
      }
    }
  }
  void round;
}

// ---- 4: batching and linger ----

async function batching(ctx: Context, round: number): Promise<void> {
  const dir = ctx.dir('s4-batching');
  const broker = await ctx.broker(dir);
  try {
    await topic(broker, 'warm', 1);
    await produce(ctx, broker, 'warm', ONE_KIB_RECORDS, Math.min(ctx.sizes.produceBytes, 32 * MiB));
    for (const size of ctx.sizes.batchSizes) {
      const name = `b${size}`;
      // A 1 MiB batch is over Kafka's default max.message.bytes (1 MiB + 12): raised for these topics, as a producer with batch.size=1 MiB needs.
      await topic(broker, name, 1, { 'max.message.bytes': String(4 * MiB) });
      const w: Workload = { valueBytes: size < 2 * KiB ? size - 80 : 1024, batchBytes: size };
      // Small batches: fewer bytes, so a run lasts seconds, not minutes, at tens of thousands of requests per second.
      const bytes = Math.min(ctx.sizes.produceBytes, size * (ctx.smoke ? 2000 : 60_000));
      const p = await produce(ctx, broker, name, w, bytes);
      const params = { batch: `${size / KiB} KiB`, records: recordsPerBatch(w), 'record bytes': w.valueBytes, conns: 2, window: 8, acks: 1 };
      ctx.record(4, `batch.${size / KiB}KiB.throughput`, 'MB/s', mbps(p.bytes, p.result.seconds), params, FSYNC.none);
      ctx.record(4, `batch.${size / KiB}KiB.records`, 'rec/s', p.records / p.result.seconds, params, FSYNC.none);
      ctx.record(4, `batch.${size / KiB}KiB.p50`, 'ms', p.result.latencyUs.p50 / 1000, params, FSYNC.none);
      ctx.record(4, `batch.${size / KiB}KiB.p99`, 'ms', p.result.latencyUs.p99 / 1000, params, FSYNC.none);
      ctx.record(4, `batch.${size / KiB}KiB.cpu`, 'cpu-s/GiB', cpuPerGiB(p.cpuS, p.bytes), params, FSYNC.none);
    }
    // Linger, as a producer does it: at a fixed record rate, a batch closes after
    // `linger` ms, so it holds rate x linger records; a record waits up to
    // `linger` for its batch, then the request's latency.
    const rate = ctx.sizes.lingerRecordRate;
    for (const linger of ctx.sizes.lingersMs) {
      const perBatch = Math.max(1, Math.round((rate * linger) / 1000));
      const w: Workload = { valueBytes: 1024, batchBytes: 61 + perBatch * 1032 };
      const name = `l${linger}`;
      await topic(broker, name, 1);
      const requestRate = rate / perBatch;
      const requests = Math.max(20, Math.round(requestRate * ctx.sizes.rateSeconds));
      const p = await produce(ctx, broker, name, w, 0, { rate: requestRate, requests, conns: 1, window: 64 });
      const params = { 'linger.ms': linger, 'record rate': `${rate} rec/s of 1 KiB`, 'records per batch': perBatch, acks: 1 };
      ctx.record(4, `linger.${linger}ms.p50`, 'ms', p.result.latencyUs.p50 / 1000 + linger / 2, params, FSYNC.none);
      ctx.record(4, `linger.${linger}ms.p99`, 'ms', p.result.latencyUs.p99 / 1000 + linger, params, FSYNC.none);
      ctx.record(4, `linger.${linger}ms.cpu`, 'cpu-s/GiB', cpuPerGiB(p.cpuS, p.bytes), params, FSYNC.none);
    }
  } finally {
    await broker.stop();
  }
  void round;
}

// ---- 5: acks ----

async function acks(ctx: Context, round: number): Promise<void> {
  const dir = ctx.dir('s5-acks');
  const broker = await ctx.broker(dir);
  try {
    await topic(broker, 'warm', 1);
    await produce(ctx, broker, 'warm', ONE_KIB_RECORDS, Math.min(ctx.sizes.produceBytes, 32 * MiB));
    const w: Workload = { valueBytes: 1024, batchBytes: 64 * KiB };
    for (const a of [0, 1, -1]) {
      const name = a === -1 ? 'all' : String(a);
      await topic(broker, `acks-${name}`, 1);
      const p = await produce(ctx, broker, `acks-${name}`, w, ctx.sizes.produceBytes, { acks: a });
      const params = { acks: name, records: '1 KiB', batch: '64 KiB', conns: 2, window: a === 0 ? 'unbounded' : 8, replicas: 1 };
      ctx.record(5, `acks.${name}.throughput`, 'MB/s', mbps(p.bytes, p.result.seconds), params, FSYNC.none);
      if (a !== 0) ctx.record(5, `acks.${name}.p99`, 'ms', p.result.latencyUs.p99 / 1000, params, FSYNC.none);
    }
    // The latency target: p99 at half the maximum rate, acks=1, 16 KiB batches of 1 KiB records, one connection.
    const w16: Workload = { valueBytes: 1024, batchBytes: 16 * KiB };
    await topic(broker, 'max16', 1);
    const max = await produce(ctx, broker, 'max16', w16, ctx.sizes.produceBytes / 2);
    const maxRate = max.result.requests / max.result.seconds;
    await topic(broker, 'half16', 1);
    const rate = maxRate / 2;
    const half = await produce(ctx, broker, 'half16', w16, 0, { rate, requests: Math.max(100, Math.round(rate * ctx.sizes.rateSeconds)), conns: 1, window: 64 });
    const params = { acks: 1, rate: `${rate.toFixed(0)} req/s (half the max, ${mbps(rate * max.batch.length, 1).toFixed(0)} MB/s)`, batch: '16 KiB of 1 KiB records', conns: 1 };
    ctx.record(5, 'acks.1.half-max.p50', 'ms', half.result.latencyUs.p50 / 1000, params, FSYNC.none);
    ctx.record(5, 'acks.1.half-max.p99', 'ms', half.result.latencyUs.p99 / 1000, params, FSYNC.none);
    ctx.record(5, 'acks.1.16KiB.max-throughput', 'MB/s', mbps(max.bytes, max.result.seconds), { ...params, rate: 'closed loop, 2 conns x 8 in flight' }, FSYNC.none);
  } finally {
    await broker.stop();
  }
  if (round === 0) ctx.note('scenario 5: acks=all runs with replication factor 1 (single broker), so it waits for the same one replica as acks=1; RF=3 rows come with the cluster');
}

// ---- 6: partition count ----

/** The soft open-files limit brokers inherit from this process. */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

async function partitionCount(ctx: Context, round: number): Promise<void> {
  const w: Workload = { valueBytes: 1024, batchBytes: 16 * KiB };
  const fdLimit = openFileLimit();
  for (const count of ctx.sizes.partitionCounts) {
    // Each partition holds its segment, offset index and time index open.
    if (count * 3 + 256 > fdLimit) {
      if (round === 0) ctx.note(`scenario 6: ${count} partitions skipped: they need ~${count * 3} open files, over this machine's RLIMIT_NOFILE of ${fdLimit}`);
      continue;
    }
    const dir = ctx.dir(`s6-p${count}`);
    let broker = await ctx.broker(dir);
    const params = { partitions: count, records: '1 KiB', batch: '16 KiB per partition', 'partitions per request': Math.min(count, 64), conns: 2, window: 8, acks: 1 };
    try {
      const createMs = await topic(broker, 'p', count);
      ctx.record(6, `partitions.${count}.create`, 'ms', createMs, params, FSYNC.none);
      // Every partition gets at least one batch.
      const bytes = Math.max(ctx.sizes.produceBytes / 2, count * batchOf(w).length);
      const p = await produce(ctx, broker, 'p', w, bytes, { partitions: count, partitionsPerRequest: 64 });
      ctx.record(6, `partitions.${count}.throughput`, 'MB/s', mbps(p.bytes, p.result.seconds), params, FSYNC.none);
      ctx.record(6, `partitions.${count}.rss-loaded`, 'MB', broker.rssMB(), params, FSYNC.none);
    } finally {
      await broker.stop();
    }
    // Start-up with the partitions on disk (after a clean shutdown), and the idle RSS.
    broker = await ctx.broker(dir);
    try {
      ctx.record(6, `partitions.${count}.startup`, 'ms', broker.startToReadyMs, params, FSYNC.none);
      await new Promise((r) => setTimeout(r, ctx.smoke ? 200 : 1000));
      ctx.record(6, `partitions.${count}.rss-idle`, 'MB', broker.rssMB(), params, FSYNC.none);
    } finally {
      await broker.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  void round;
}

// ---- 7: end-to-end latency at fixed rates ----

async function endToEnd(ctx: Context, round: number): Promise<void> {
  const dir = ctx.dir('s7-e2e');
  const broker = await ctx.broker(dir);
  const w: Workload = { valueBytes: 1024, batchBytes: 16 * KiB };
  const batch = batchOf(w);
  try {
    await topic(broker, 'warm', 1);
    await produce(ctx, broker, 'warm', ONE_KIB_RECORDS, Math.min(ctx.sizes.produceBytes, 32 * MiB));
    for (const rateMBps of ctx.sizes.e2eRatesMBps) {
      const name = `e2e-${rateMBps}`;
      await topic(broker, name, 1);
      const requestRate = (rateMBps * 1e6) / batch.length;
      const requests = Math.max(20, Math.round(requestRate * ctx.sizes.rateSeconds));
      const { frame, offsetPositions } = fetchFrame(name, [0], MiB);
      const r = await runLoad(ctx.loadgen, 'e2e', {
        port: broker.port,
        template: ctx.file('e2e-produce.bin', produceFrame(name, [0], batch, 1)),
        'fetch-template': ctx.file('e2e-fetch.bin', frame),
        'offset-at': offsetPositions[0],
        'records-per-request': recordsPerBatch(w),
        requests,
        rate: requestRate.toFixed(2),
        window: 64,
      });
      const params = { rate: `${rateMBps} MB/s`, 'requests/s': requestRate.toFixed(0), batch: '16 KiB of 1 KiB records', acks: 1, consumer: 'Fetch v4 long poll, max.wait 500 ms, min.bytes 1' };
      for (const [k, v] of Object.entries(r.latencyUs)) ctx.record(7, `e2e.${rateMBps}MBps.${k}`, 'ms', v / 1000, params, FSYNC.none);
    }
  } finally {
    await broker.stop();
  }
  void round;
}

// ---- 8: machine limits ----

async function machineLimits(ctx: Context, round: number): Promise<void> {
  const s = ctx.sizes;
  const pair = loopback(ctx.loadgen, s.loopbackBytes);
  ctx.record(8, 'limits.loopback-tcp', 'MB/s', pair.mbPerS, { program: 'C socket pair', writes: '1 MiB', reader: 'forked child' }, FSYNC.limit);
  const iperf = round === 0 || !ctx.smoke ? iperf3MBps(s.iperfSeconds) : null;
  if (iperf !== null) ctx.record(8, 'limits.loopback-iperf3', 'MB/s', iperf, { program: 'iperf3 -c 127.0.0.1' }, FSYNC.limit);
  else if (round === 0) ctx.note('scenario 8: iperf3 not installed (or not answering): the C socket pair is the loopback limit');
  const memcpy = ctx.compileStorageLimit('memcpy-bandwidth');
  if (memcpy) {
    const out = execFileSync(memcpy, [String(64 * MiB), ctx.smoke ? '4' : '16'], { encoding: 'utf8' });
    ctx.record(8, 'limits.memcpy', 'MB/s', Number(out.trim()), { buffers: '64 MiB' }, FSYNC.limit);
  }
  const writer = ctx.compileStorageLimit('write-pagecache');
  const file = path.join(ctx.scratch, 'limits-write.dat');
  if (writer) {
    spawnSync('sync');
    const [mb, cpu] = execFileSync(writer, [file, String(s.produceBytes), String(64 * KiB)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    ctx.record(8, 'limits.write-64KiB-pagecache', 'MB/s', mb, { writes: '64 KiB', total: `${s.produceBytes / MiB} MiB` }, FSYNC.limit);
    ctx.record(8, 'limits.write-64KiB-pagecache.cpu', 'cpu-s/GiB', cpuPerGiB(cpu, s.produceBytes), { writes: '64 KiB' }, FSYNC.limit);
  }
  // C sendfile from a cached file to a loopback reader: the ceiling of a zero-copy fetch.
  fs.writeFileSync(file, Buffer.alloc(Math.min(s.fetchBytes, 256 * MiB), 0x5a));
  const sf = JSON.parse(execFileSync(ctx.pagecache, ['sendfile', file, String(s.loopbackBytes)], { encoding: 'utf8' })) as { mbPerS: number; senderCpuS: number; bytes: number };
  fs.rmSync(file, { force: true });
  ctx.record(8, 'limits.sendfile', 'MB/s', sf.mbPerS, { calls: '1 MiB sendfile', reader: 'forked child' }, FSYNC.limit);
  ctx.record(8, 'limits.sendfile.cpu', 'cpu-s/GiB', cpuPerGiB(sf.senderCpuS, sf.bytes), { of: 'the sending process' }, FSYNC.limit);
}

export const SCENARIOS: Scenario[] = [
  { id: 8, name: 'limits', title: 'Machine limits', run: machineLimits },
  { id: 1, name: 'fetch', title: 'Fetch: zero-copy vs copy', run: fetchPaths },
  { id: 2, name: 'pagecache', title: 'Page cache: warm vs cold', run: pageCache },
  { id: 3, name: 'append', title: 'Append mode and flush policy', run: appendFlush },
  { id: 4, name: 'batching', title: 'Batching and linger', run: batching },
  { id: 5, name: 'acks', title: 'acks 0 / 1 / all', run: acks },
  { id: 6, name: 'partitions', title: 'Partition count', run: partitionCount },
  { id: 7, name: 'e2e', title: 'End-to-end latency', run: endToEnd },
  { id: 9, name: 'peers', title: 'Peers: Redis Streams and NATS JetStream', run: peers },
];
