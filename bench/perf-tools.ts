// Is `samsa perf produce` the bottleneck? `npm run bench:perf-tools` runs it
// as a real process against the discard sink (`samsa perf sink`, which
// acknowledges and stores nothing) and against a Samsa broker, and runs the
// C load generator (bench/e2e/c/loadgen.c) with byte-identical requests (the
// same template batches, the same partitions per request, connections and
// window) against both. Each pairing runs 3 times; medians with min/max.
// Results: docs/perf/perf-tools.json and the perf-tools section of
// docs/perf.md (`--no-write`: bench/results/ only).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, cpuSecondsOf } from './e2e/broker-process.js';
import { compileLoadgen, median } from './e2e/loadgen.js';
import { fmt, machineInfo, writeReportFiles } from './report-files.js';
import { buildProduceFrame } from '../src/perf/produce-frame.js';
import { recordsPerBatch, templateBatch } from '../src/perf/produce.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'samsa.js');
const REPEATS = 3;
const RECORD_SIZE = 1024;
const BATCH_SIZE = 16384;
const PARTITIONS = 4;
const CONNECTIONS = 2;
const IN_FLIGHT = 5;
const RECORDS = Number(process.env.PERF_TOOLS_RECORDS ?? 500_000);
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

interface Run {
  recordsPerSec: number;
  mbPerSec: number;
  /** CPU of the load generator itself, ms per GiB of value bytes. */
  toolCpuMsPerGiB: number;
  /** CPU of the server (sink or broker) during the run, ms per GiB. */
  serverCpuMsPerGiB: number;
  p99Ms: number;
}

function runProcess(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function perfProduce(port: number, serverPid: number, topic: string, compression: string): Promise<Run> {
  const cpu0 = cpuSecondsOf(serverPid);
  const r = await runProcess(process.execPath, [
    BIN, 'perf', 'produce', '--bootstrap-server', `127.0.0.1:${port}`, '--topic', topic, '--num-records', String(RECORDS),
    '--record-size', String(RECORD_SIZE), '--throughput', '-1', '--partitions', String(PARTITIONS), '--connections', String(CONNECTIONS),
    '--max-in-flight', String(IN_FLIGHT), '--json', '--producer-props', 'acks=1', `batch.size=${BATCH_SIZE}`, `compression.type=${compression}`,
  ]);
  const serverCpuS = cpuSecondsOf(serverPid) - cpu0;
  if (r.code !== 0) throw new Error(`perf produce failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { recordsPerSec: number; mbPerSec: number; cpuMsPerGiB: number; bytes: number; p99Ms: number };
  return { recordsPerSec: j.recordsPerSec, mbPerSec: j.mbPerSec, toolCpuMsPerGiB: j.cpuMsPerGiB, serverCpuMsPerGiB: (serverCpuS * 1000) / (j.bytes / GIB), p99Ms: j.p99Ms };
}

/** The C loadgen with the frames perf produce would send: 2 connections, each with its half of the partitions. */
async function loadgenProduce(loadgen: string, scratch: string, port: number, serverPid: number, topic: string): Promise<Run> {
  const perBatch = recordsPerBatch(BATCH_SIZE, RECORD_SIZE);
  const batch = templateBatch(RECORD_SIZE, perBatch, 'none');
  const frames: Buffer[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % CONNECTIONS === c);
    // Produce v7: the loadgen's template version.
    const { frame, entries } = buildProduceFrame({ version: 7, clientId: 'loadgen', acks: 1, timeoutMs: 30000, topic, batches: partitions.map(() => batch), recordCounts: partitions.map(() => perBatch) });
    entries.forEach((e, i) => frame.writeInt32BE(partitions[i], e.partitionAt));
    frames.push(frame);
  }
  const file = path.join(scratch, `produce-${topic}.bin`);
  fs.writeFileSync(file, Buffer.concat(frames));
  const recordsPerRequest = perBatch * (PARTITIONS / CONNECTIONS);
  const requests = Math.round(RECORDS / recordsPerRequest);
  const cpu0 = cpuSecondsOf(serverPid);
  const r = await runProcess('/usr/bin/time', ['-f', 'cpu %U %S', loadgen, 'produce', '--port', String(port), '--template', file, '--conns', String(CONNECTIONS), '--window', String(IN_FLIGHT), '--requests', String(requests)]);
  const serverCpuS = cpuSecondsOf(serverPid) - cpu0;
  const j = JSON.parse(r.stdout) as { requests: number; errors: number; seconds: number; latencyUs: { p99: number }; error: string };
  if (j.errors > 0) throw new Error(`loadgen: ${j.errors} errors: ${j.error}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  const records = j.requests * recordsPerRequest;
  const bytes = records * RECORD_SIZE;
  return {
    recordsPerSec: records / j.seconds,
    mbPerSec: bytes / MIB / j.seconds,
    toolCpuMsPerGiB: cpu ? ((Number(cpu[1]) + Number(cpu[2])) * 1000) / (bytes / GIB) : NaN,
    serverCpuMsPerGiB: (serverCpuS * 1000) / (bytes / GIB),
    p99Ms: j.latencyUs.p99 / 1000,
  };
}

async function startSink(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'perf', 'sink', '--port', '0', '--partitions', String(PARTITIONS)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`sink exited (${code}): ${out}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

type Pairing = { name: string; target: 'sink' | 'samsa'; tool: 'perf' | 'loadgen'; compression: string };
const PAIRINGS: Pairing[] = [
  { name: 'perf produce -> sink', target: 'sink', tool: 'perf', compression: 'none' },
  { name: 'C loadgen -> sink', target: 'sink', tool: 'loadgen', compression: 'none' },
  { name: 'perf produce (lz4) -> sink', target: 'sink', tool: 'perf', compression: 'lz4' },
  { name: 'perf produce -> samsa', target: 'samsa', tool: 'perf', compression: 'none' },
  { name: 'C loadgen -> samsa', target: 'samsa', tool: 'loadgen', compression: 'none' },
];

async function main(): Promise<void> {
  const writeDocs = !process.argv.includes('--no-write');
  const load0 = os.loadavg();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-perf-tools-'));
  const loadgen = compileLoadgen(scratch);
  const sink = await startSink();
  const broker = await BrokerProcess.start({ dataDir: path.join(scratch, 'data'), properties: { 'num.partitions': String(PARTITIONS) } });
  const runs = new Map<string, Run[]>(PAIRINGS.map((p) => [p.name, []]));
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      // Interleaved, so a burst of load from other processes hits every pairing alike.
      for (const p of PAIRINGS) {
        const server = p.target === 'sink' ? { port: sink.port, pid: sink.pid } : { port: broker.port, pid: broker.pid };
        const topic = `load-${p.tool}-${p.compression}`;
        // The loadgen needs the topic to exist: perf produce creates it (one record) first.
        if (p.tool === 'loadgen' && rep === 0) {
          execFileSync(process.execPath, [BIN, 'perf', 'produce', '--bootstrap-server', `127.0.0.1:${server.port}`, '--topic', topic, '--num-records', '1', '--record-size', '1', '--partitions', String(PARTITIONS), '--producer-props', 'acks=1'], { cwd: root, stdio: 'ignore' });
        }
        const run = p.tool === 'perf' ? await perfProduce(server.port, server.pid, topic, p.compression) : await loadgenProduce(loadgen, scratch, server.port, server.pid, topic);
        runs.get(p.name)!.push(run);
        console.log(`${p.name}: ${fmt(run.recordsPerSec)} records/s, ${fmt(run.mbPerSec)} MB/s, tool ${fmt(run.toolCpuMsPerGiB)} CPU ms/GiB`);
      }
    }
  } finally {
    await sink.stop();
    await broker.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const summary = PAIRINGS.map((p) => {
    const list = runs.get(p.name)!;
    const stat = (f: (r: Run) => number) => ({ median: median(list.map(f)), min: Math.min(...list.map(f)), max: Math.max(...list.map(f)) });
    return { ...p, recordsPerSec: stat((r) => r.recordsPerSec), mbPerSec: stat((r) => r.mbPerSec), toolCpuMsPerGiB: stat((r) => r.toolCpuMsPerGiB), serverCpuMsPerGiB: stat((r) => r.serverCpuMsPerGiB), p99Ms: stat((r) => r.p99Ms) };
  });
  const by = (name: string) => summary.find((s) => s.name === name)!;
  const ratios = {
    perfOverLoadgenOnSink: by('perf produce -> sink').recordsPerSec.median / by('C loadgen -> sink').recordsPerSec.median,
    perfOnSinkOverPerfOnSamsa: by('perf produce -> sink').recordsPerSec.median / by('perf produce -> samsa').recordsPerSec.median,
    perfOverLoadgenOnSamsa: by('perf produce -> samsa').recordsPerSec.median / by('C loadgen -> samsa').recordsPerSec.median,
  };
  const machine = machineInfo(root, load0);
  const text = [
    `Measured ${machine.date} on ${machine.cpu} (${machine.cores} cores, shared; load average ${machine.loadAverageStart} at start), Node ${machine.node}, commit ${machine.commit}.`,
    `${RECORDS} records of ${RECORD_SIZE} bytes per run, batch.size ${BATCH_SIZE} (${recordsPerBatch(BATCH_SIZE, RECORD_SIZE)} records per batch), ${PARTITIONS} partitions, ${CONNECTIONS} connections, ${IN_FLIGHT} requests in flight each, acks=1; medians of ${REPEATS} (min-max). CPU per GiB counts value bytes.`,
    '',
    '| run | records/s | MB/s | load tool CPU ms/GiB | server CPU ms/GiB | p99 ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...summary.map((s) => `| ${s.name} | ${fmt(s.recordsPerSec.median)} (${fmt(s.recordsPerSec.min)}-${fmt(s.recordsPerSec.max)}) | ${fmt(s.mbPerSec.median)} | ${fmt(s.toolCpuMsPerGiB.median)} | ${fmt(s.serverCpuMsPerGiB.median)} | ${fmt(s.p99Ms.median)} |`),
    '',
    `Ratios (records/s, medians): perf produce / C loadgen against the sink **${ratios.perfOverLoadgenOnSink.toFixed(2)}**; perf produce against the sink / against Samsa **${ratios.perfOnSinkOverPerfOnSamsa.toFixed(2)}**; perf produce / C loadgen against Samsa **${ratios.perfOverLoadgenOnSamsa.toFixed(2)}**.`,
  ].join('\n');
  console.log(text);
  writeReportFiles(root, 'perf-tools', { machine, records: RECORDS, recordSize: RECORD_SIZE, batchSize: BATCH_SIZE, partitions: PARTITIONS, connections: CONNECTIONS, inFlight: IN_FLIGHT, summary, ratios }, text, writeDocs);
}

await main();
