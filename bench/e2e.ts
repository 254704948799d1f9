// `npm run bench:e2e`: the broker end to end, over loopback TCP, as a client
// sees it. Method and results: docs/perf.md ("End to end"); JSON with every
// sample: docs/perf/e2e.json.
//
// The broker runs as `samsa server-start` in its own process (its CPU time and
// RSS come from /proc/<pid>); the load comes from bench/e2e/c/loadgen.c, which
// sends pre-built request frames with several requests in flight per
// connection. Each round measures the machine's loopback TCP throughput (a C
// socket pair, and iperf3 when installed) beside the broker, so targets are
// ratios within one round. Rounds repeat --runs times; medians are reported.
//
// Options: --quick (small sizes, smoke run), --runs N (default 5),
// --only a,b (startup, produce, latency, fetch, kcat), --configs 1KiB.1p,...
// (produce workloads by name), --mib N (MiB per
// produce run, default 512), --cpu-prof DIR (profile the round-0 broker:
// node --cpu-prof; see docs/profiling.md), --node-args "..." (more node flags
// for the benchmarked brokers, e.g. --perf-basic-prof), --no-write (do not
// touch docs/), --keep (keep the scratch dir with the brokers' logs).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './e2e/broker-process.js';
import { createTopic, fetchFrame, metadata, produceFrame, produceOne, recordBatch, SimpleClient } from './e2e/protocol.js';
import { e2eReport, type E2eReport, type Metric } from './e2e/report.js';
import { compileLoadgen as compileLoadgen_, iperf3MBps as iperf3MBps_, loopback, median, runLoad, type LoadResult } from './e2e/loadgen.js';
import { machineInfo, writeReportFiles } from './report-files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = flag('--quick');
const runs = Number(option('--runs') ?? (quick ? 2 : 5));
const only = option('--only') ? new Set(option('--only')!.split(',')) : null;
const wants = (suite: string) => only === null || only.has(suite);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const produceBytes = Number(option('--mib') ?? (quick ? 32 : 512)) * MiB;
const cpuProfDir = option('--cpu-prof');
const extraNodeArgs = option('--node-args')?.split(' ').filter((a) => a.length > 0) ?? [];
const writeDocs = !quick && !only && !flag('--no-write') && option('--mib') === undefined && option('--configs') === undefined && option('--node-args') === undefined;
const KCAT_LINES = quick ? 50_000 : 1_000_000;
const KCAT_VALUE_BYTES = 1024;

const scratch = path.join(process.env.BENCH_DIR ?? path.join(root, 'bench', 'results', 'scratch'), 'e2e');
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });

// ---- helpers ----

const samples = new Map<string, { unit: string; values: number[]; params?: Metric['params'] }>();
function record(name: string, unit: string, value: number, params?: Metric['params']): void {
  let s = samples.get(name);
  if (!s) samples.set(name, (s = { unit, values: [], params }));
  s.values.push(value);
}

const compileLoadgen = () => compileLoadgen_(scratch);
const iperf3MBps = () => iperf3MBps_(quick ? 1 : 3);

// ---- workloads ----

interface ProduceConfig {
  name: string;
  valueBytes: number;
  partitions: number;
  batchBytes: number;
}

// 256 KiB batches are "large batches" (Kafka's batch.size default is 16 KiB;
// high-throughput producers raise it); the 16 KiB one is the latency workload.
const ALL_PRODUCE_CONFIGS: ProduceConfig[] = [
  { name: '100B.1p', valueBytes: 100, partitions: 1, batchBytes: 256 * 1024 },
  { name: '100B.4p', valueBytes: 100, partitions: 4, batchBytes: 256 * 1024 },
  { name: '1KiB.1p', valueBytes: 1024, partitions: 1, batchBytes: 256 * 1024 },
  { name: '1KiB.4p', valueBytes: 1024, partitions: 4, batchBytes: 256 * 1024 },
  { name: '1KiB.1p.16KiB', valueBytes: 1024, partitions: 1, batchBytes: 16 * 1024 },
];
const configFilter = option('--configs')?.split(',');
const PRODUCE_CONFIGS = ALL_PRODUCE_CONFIGS.filter((c) => !configFilter || configFilter.includes(c.name));
// Per-record overhead in a v2 batch with null keys and no headers: ~8 bytes.
const recordsPerBatch = (c: ProduceConfig) => Math.max(1, Math.floor((c.batchBytes - 61) / (c.valueBytes + 8)));
const PRODUCE_CONNS = 2;
const PRODUCE_WINDOW = 8;
const FETCH_CONNS = 2;
const FETCH_WINDOW = 4;
const FETCH_RESPONSE_BYTES = 1 * MiB;
const WARMUP_BYTES = (quick ? 16 : 96) * MiB;

interface Produced {
  topic: string;
  config: ProduceConfig;
  batchBytes: number;
  batchRecords: number;
  batchesPerPartition: number;
}

class Templates {
  readonly batches = new Map<string, Buffer>();
  batch(c: ProduceConfig): Buffer {
    let b = this.batches.get(c.name);
    if (!b) this.batches.set(c.name, (b = recordBatch(recordsPerBatch(c), c.valueBytes, c.valueBytes)));
    return b;
  }
}
const templates = new Templates();

async function produceRun(loadgen: string, broker: BrokerProcess, c: ProduceConfig, topic: string, opts: { rate?: number; requests?: number; conns?: number } = {}): Promise<{ result: LoadResult; produced: Produced; cpuS: number }> {
  const client = await SimpleClient.connect(broker.port);
  try {
    await createTopic(client, topic, c.partitions);
  } finally {
    client.close();
  }
  const batch = templates.batch(c);
  const partitions = Array.from({ length: c.partitions }, (_, i) => i);
  const frame = produceFrame(topic, partitions, batch);
  const file = path.join(scratch, `produce-${c.name}.bin`);
  fs.writeFileSync(file, frame);
  const requests = opts.requests ?? Math.max(PRODUCE_CONNS, Math.round(produceBytes / (batch.length * c.partitions)));
  const cpu0 = broker.cpuSeconds();
  const result = await runLoad(loadgen, 'produce', {
    port: broker.port,
    template: file,
    conns: opts.conns ?? PRODUCE_CONNS,
    window: PRODUCE_WINDOW,
    requests,
    ...(opts.rate ? { rate: opts.rate.toFixed(1) } : {}),
  });
  const cpuS = broker.cpuSeconds() - cpu0;
  const produced = { topic, config: c, batchBytes: batch.length, batchRecords: recordsPerBatch(c), batchesPerPartition: result.requests };
  return { result, produced, cpuS };
}

async function fetchRun(loadgen: string, broker: BrokerProcess, p: Produced): Promise<{ result: LoadResult; cpuS: number }> {
  const partitions = Array.from({ length: p.config.partitions }, (_, i) => i);
  const batchesPerFetch = Math.max(1, Math.floor(FETCH_RESPONSE_BYTES / p.config.partitions / p.batchBytes));
  const { frame, offsetPositions } = fetchFrame(p.topic, partitions, batchesPerFetch * p.batchBytes);
  const file = path.join(scratch, `fetch-${p.config.name}.bin`);
  fs.writeFileSync(file, frame);
  const requests = Math.floor(p.batchesPerPartition / batchesPerFetch);
  const cpu0 = broker.cpuSeconds();
  const result = await runLoad(loadgen, 'fetch', {
    port: broker.port,
    template: file,
    conns: FETCH_CONNS,
    window: FETCH_WINDOW,
    requests,
    'offset-at': offsetPositions.join(','),
    'offset-step': batchesPerFetch * p.batchRecords,
    'expect-records-bytes': batchesPerFetch * p.batchBytes * p.config.partitions,
  });
  return { result, cpuS: broker.cpuSeconds() - cpu0 };
}

function kcatFile(): string {
  const file = path.join(scratch, 'kcat-lines.txt');
  const line = Buffer.alloc(KCAT_VALUE_BYTES + 1, 'x');
  line[KCAT_VALUE_BYTES] = 0x0a;
  const block = Buffer.concat(Array.from({ length: 1000 }, () => line));
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < KCAT_LINES / 1000; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  return file;
}

function runTimed(cmd: string, argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) resolve(s);
      else reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.slice(-500)}`));
    });
  });
}

/**
 * Runs the produce and fetch paths once before measuring, so the numbers are
 * of steady state (optimized code) and not of V8 compiling the broker.
 */
async function warmUp(loadgen: string, broker: BrokerProcess, round: number, tag: string): Promise<void> {
  const c: ProduceConfig = { name: 'warmup', valueBytes: 1024, partitions: 1, batchBytes: 256 * 1024 };
  const { produced } = await produceRun(loadgen, broker, c, `warmup-${tag}-r${round}`, { requests: Math.round(WARMUP_BYTES / (256 * 1024)) });
  await fetchRun(loadgen, broker, produced);
}

// ---- start-up ----

async function inProcessStartMs(dataDir: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  const client = await SimpleClient.connect(broker.port);
  try {
    await metadata(client, 'first');
    const answer = await produceOne(client, 'first', 0, recordBatch(1, 100));
    const code = answer.responses[0].partitionResponses[0].errorCode;
    if (code !== 0) throw new Error(`first produce: error ${code}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    client.close();
    await broker.close();
  }
}

// ---- main ----

async function main(): Promise<void> {
  const loadgen = compileLoadgen();
  // `samsa server-start` runs the compiled dist/ when it is fresh (bin/samsa.js): build it, as after `npm ci`.
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (pkg.scripts?.build) execFileSync('npm', ['run', '--silent', 'build', '--', '--if-stale'], { cwd: root, stdio: 'inherit' });
  const load0 = os.loadavg();
  console.log(`bench:e2e runs=${runs}${quick ? ' quick' : ''} produce=${produceBytes / MiB} MiB/run, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  if (wants('startup')) {
    for (let i = 0; i < runs; i++) {
      const dir = path.join(scratch, `startup-inproc-${i}`);
      record('startup.in-process.first-produce', 'ms', await inProcessStartMs(dir), { path: 'Broker.start -> Metadata (auto-create) -> first acks=1 produce answered' });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (let i = 0; i < runs; i++) {
      const dir = path.join(scratch, `startup-cli-${i}`, 'data');
      const b = await BrokerProcess.start({ dataDir: dir });
      record('startup.cli.ready', 'ms', b.startToReadyMs, { path: 'spawn `samsa server-start` -> first ApiVersions answered' });
      await new Promise((r) => setTimeout(r, 1000));
      record('rss.idle', 'MB', b.rssMB(), { when: '1 s after ready, no topics' });
      await b.stop();
    }
    console.log('startup done');
  }

  const dataDirRoot = path.join(scratch, 'broker');
  const dataDir = path.join(dataDirRoot, 'data');
  fs.mkdirSync(dataDirRoot, { recursive: true });
  let floorCpu = NaN;
  const kcat = spawnSync('kcat', ['-V']).status === 0 ? 'kcat' : null;
  const lines = wants('kcat') && kcat ? kcatFile() : null;
  for (let round = 0; round < runs; round++) {
    const pair = loopback(loadgen, quick ? 256 * MiB : 2 * GiB);
    const loop = pair.mbPerS;
    record('loopback.c-socket-pair', 'MB/s', loop, { writes: '1 MiB', reader: 'forked child' });
    record('loopback.c-socket-pair.reader-cpu', 'cpu-s/GiB', pair.readerCpuS / (pair.bytes / GiB), { reads: '1 MiB' });
    // The least CPU a broker can spend per GiB produced: read from TCP, pwrite to a file.
    const sink = loopback(loadgen, produceBytes, path.join(dataDirRoot, 'sink.dat'));
    record('loopback.c-receive-and-write.reader-cpu', 'cpu-s/GiB', sink.readerCpuS / (sink.bytes / GiB), { reads: '1 MiB', then: 'pwrite to a file, no fsync' });
    floorCpu = sink.readerCpuS / (sink.bytes / GiB);
    const iperf = round === 0 || !quick ? iperf3MBps() : null;
    if (iperf !== null) record('loopback.iperf3', 'MB/s', iperf);
    const nodeArgs = [...extraNodeArgs, ...(cpuProfDir && round === 0 ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfDir)}`] : [])];
    let broker = await BrokerProcess.start({ dataDir, nodeArgs });
    await warmUp(loadgen, broker, round, 'auto');
    let moved = 0;
    const produced = new Map<string, Produced>();
    const maxRate = new Map<string, number>();
    if (wants('produce') || wants('fetch') || wants('latency')) {
      for (const c of PRODUCE_CONFIGS) {
        if (!wants('produce') && !(wants('fetch') && !c.name.endsWith('16KiB')) && !(wants('latency') && c.name.endsWith('16KiB'))) continue;
        const { result, produced: p, cpuS } = await produceRun(loadgen, broker, c, `p-${c.name.replace(/\./g, '-')}-r${round}`);
        const bytes = result.requests * p.batchBytes * c.partitions;
        const records = result.requests * p.batchRecords * c.partitions;
        moved += bytes;
        produced.set(c.name, p);
        maxRate.set(c.name, result.requests / result.seconds);
        const params = { batch: `${(p.batchBytes / 1024).toFixed(0)} KiB`, records: p.batchRecords, partitions: c.partitions, conns: PRODUCE_CONNS, window: PRODUCE_WINDOW, acks: 1 };
        record(`produce.${c.name}.records`, 'rec/s', records / result.seconds, params);
        record(`produce.${c.name}.throughput`, 'MB/s', bytes / 1e6 / result.seconds, params);
        record(`produce.${c.name}.vs-loopback`, 'ratio', bytes / 1e6 / result.seconds / loop, params);
        record(`produce.${c.name}.cpu`, 'cpu-s/GiB', cpuS / (bytes / GiB), params);
        record(`produce.${c.name}.cpu-vs-floor`, 'ratio', cpuS / (bytes / GiB) / floorCpu, params);
      }
    }
    if (wants('latency')) {
      const c = PRODUCE_CONFIGS.find((x) => x.name === '1KiB.1p.16KiB')!;
      const rate = maxRate.get(c.name)! / 2;
      const requests = Math.max(200, Math.round(rate * (quick ? 2 : 5)));
      const { result } = await produceRun(loadgen, broker, c, `lat-r${round}`, { rate, requests, conns: 1 });
      moved += requests * templates.batch(c).length;
      const params = { rate: `${rate.toFixed(0)} req/s (half the max)`, batch: '16 KiB of 1 KiB records', conns: 1 };
      record('produce.latency.p50', 'ms', result.latencyUs.p50 / 1000, params);
      record('produce.latency.p99', 'ms', result.latencyUs.p99 / 1000, params);
    }
    const fetchConfigs = [...produced.values()].filter((p) => !p.config.name.endsWith('16KiB'));
    const fetchAll = async (mode: string) => {
      for (const p of fetchConfigs) {
        const { result, cpuS } = await fetchRun(loadgen, broker, p);
        moved += result.recordBytes;
        const params = { partitions: p.config.partitions, response: '1 MiB', conns: FETCH_CONNS, window: FETCH_WINDOW, sender: mode };
        const mbps = result.recordBytes / 1e6 / result.seconds;
        record(`fetch.${mode}.${p.config.name}.throughput`, 'MB/s', mbps, params);
        record(`fetch.${mode}.${p.config.name}.records`, 'rec/s', (result.recordBytes / p.batchBytes) * p.batchRecords / result.seconds, params);
        record(`fetch.${mode}.${p.config.name}.vs-loopback`, 'ratio', mbps / loop, params);
        record(`fetch.${mode}.${p.config.name}.cpu`, 'cpu-s/GiB', cpuS / (result.recordBytes / GiB), params);
      }
    };
    if (wants('fetch')) await fetchAll('zero-copy');
    if (round === 0 && moved > 0) record('rss.after-load', 'MB', broker.rssMB(), { moved: `${(moved / GiB).toFixed(2)} GiB produced + fetched` });
    if (lines && kcat) {
      const bootstrap = `127.0.0.1:${broker.port}`;
      const topic = `kcat-r${round}`;
      const fileBytes = fs.statSync(lines).size;
      let cpu0 = broker.cpuSeconds();
      const pS = await runTimed(kcat, ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-l', lines]);
      const pCpu = broker.cpuSeconds() - cpu0;
      cpu0 = broker.cpuSeconds();
      const cS = await runTimed(kcat, ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q']);
      const cCpu = broker.cpuSeconds() - cpu0;
      const params = { lines: KCAT_LINES, lineBytes: KCAT_VALUE_BYTES, client: 'kcat defaults (acks=all)' };
      record('kcat.produce.seconds', 's', pS, params);
      record('kcat.produce.throughput', 'MB/s', fileBytes / 1e6 / pS, params);
      record('kcat.produce.cpu', 'cpu-s/GiB', pCpu / (fileBytes / GiB), params);
      record('kcat.consume.seconds', 's', cS, params);
      record('kcat.consume.throughput', 'MB/s', fileBytes / 1e6 / cS, params);
      record('kcat.consume.cpu', 'cpu-s/GiB', cCpu / (fileBytes / GiB), params);
    }
    await broker.stop();
    if (wants('fetch') && fetchConfigs.length > 0) {
      broker = await BrokerProcess.start({ dataDir, properties: { 'socket.sender.mode': 'copy' } });
      await warmUp(loadgen, broker, round, 'copy');
      await fetchAll('copy');
      await broker.stop();
    }
    console.log(`round ${round + 1}/${runs} done (load average ${os.loadavg()[0].toFixed(2)})`);
  }

  const metrics: Metric[] = [...samples].map(([name, s]) => ({ name, unit: s.unit, median: median(s.values), min: Math.min(...s.values), max: Math.max(...s.values), samples: s.values, params: s.params }));
  const report: E2eReport = {
    machine: machineInfo(root, load0),
    runs,
    quick,
    produceMiBPerRun: produceBytes / MiB,
    metrics,
  };
  const text = e2eReport(report);
  console.log('\n' + text);
  writeReportFiles(root, 'e2e', report, text, writeDocs);
  if (!flag('--keep')) fs.rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch} (broker logs: broker-<port>.log)`);
}

await main();
