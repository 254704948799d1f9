// What the scenarios of `npm run bench` share: the compiled C helpers, the
// sample store (every sample with its unit, parameters and fsync semantics),
// and produce/fetch runs of bench/e2e/c/loadgen.c against a broker process.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../e2e/broker-process.js';
import { compileLoadgen, runLoad, type LoadResult } from '../e2e/loadgen.js';
import { createTopic, fetchFrame, produceFrame, recordBatch, SimpleClient } from '../e2e/protocol.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** What a number promises about durability (the report states it beside every number). */
export const FSYNC = {
  none: 'no fsync per write: page cache only (Kafka default flush.messages=Long.MAX; durability from replication)',
  each: 'fsync after every append (log.flush.interval.messages=1)',
  read: 'read path: no writes',
  limit: 'machine limit: no fsync',
  peer: 'peer: see its durability note',
} as const;

export type Params = Record<string, string | number>;

export interface Sample {
  scenario: number;
  name: string;
  unit: string;
  values: number[];
  params: Params;
  fsync: string;
}

export interface Sizes {
  /** Bytes produced per throughput run. */
  produceBytes: number;
  /** Bytes produced once, then fetched (scenarios 1 and 2). */
  fetchBytes: number;
  /** Seconds of a fixed-rate run. */
  rateSeconds: number;
  partitionCounts: number[];
  batchSizes: number[];
  lingersMs: number[];
  /** Record rate of the linger runs (1 KiB records per second). */
  lingerRecordRate: number;
  /** End-to-end runs: MB/s of 1 KiB records. */
  e2eRatesMBps: number[];
  loopbackBytes: number;
  iperfSeconds: number;
}

export class Context {
  readonly samples = new Map<string, Sample>();
  readonly notes: string[] = [];
  private seq = 0;

  constructor(
    readonly scratch: string,
    readonly loadgen: string,
    readonly pagecache: string,
    readonly sizes: Sizes,
    readonly smoke: boolean,
    readonly dropCaches: boolean,
  ) {}

  static create(scratch: string, sizes: Sizes, smoke: boolean, dropCaches: boolean): Context {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    const loadgen = compileLoadgen(scratch);
    const pagecache = path.join(scratch, 'pagecache');
    execFileSync('cc', ['-O2', '-o', pagecache, path.join(root, 'bench', 'run', 'c', 'pagecache.c')], { stdio: 'inherit' });
    return new Context(scratch, loadgen, pagecache, sizes, smoke, dropCaches);
  }

  record(scenario: number, name: string, unit: string, value: number, params: Params, fsync: string): void {
    let s = this.samples.get(name);
    if (!s) this.samples.set(name, (s = { scenario, name, unit, values: [], params, fsync }));
    s.values.push(value);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) {
      this.notes.push(text);
      console.log(`note: ${text}`);
    }
  }

  /** A fresh directory for one broker. */
  dir(tag: string): string {
    const d = path.join(this.scratch, `${tag}-${this.seq++}`);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  async broker(dir: string, properties: Record<string, string> = {}): Promise<BrokerProcess> {
    return BrokerProcess.start({ dataDir: path.join(dir, 'data'), properties, logFile: path.join(dir, 'broker.log') });
  }

  file(name: string, bytes: Buffer): string {
    const f = path.join(this.scratch, `${this.seq++}-${name}`);
    fs.writeFileSync(f, bytes);
    return f;
  }

  compileStorageLimit(name: string): string | null {
    const binary = path.join(this.scratch, name);
    const r = spawnSync('cc', ['-O2', '-o', binary, path.join(root, 'bench', 'storage', 'c', `${name}.c`)], { encoding: 'utf8' });
    return r.status === 0 ? binary : null;
  }
}

export interface Workload {
  valueBytes: number;
  /** Record batch size in bytes (approximate: whole records). */
  batchBytes: number;
}

// Per-record overhead in a v2 batch with null keys and no headers: ~8 bytes; 61 bytes of batch header.
export const recordsPerBatch = (w: Workload): number => Math.max(1, Math.floor((w.batchBytes - 61) / (w.valueBytes + 8)));

const batches = new Map<string, Buffer>();
export function batchOf(w: Workload): Buffer {
  const key = `${w.valueBytes}/${w.batchBytes}`;
  let b = batches.get(key);
  if (!b) batches.set(key, (b = recordBatch(recordsPerBatch(w), w.valueBytes, w.valueBytes)));
  return b;
}

export async function topic(broker: BrokerProcess, name: string, partitions: number, configs: Record<string, string> = {}): Promise<number> {
  const client = await SimpleClient.connect(broker.port);
  const t0 = process.hrtime.bigint();
  try {
    await createTopic(client, name, partitions, configs);
  } finally {
    client.close();
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export interface ProduceRun {
  result: LoadResult;
  cpuS: number;
  bytes: number;
  records: number;
  batch: Buffer;
  batchRecords: number;
}

export interface ProduceOptions {
  partitions?: number;
  conns?: number;
  window?: number;
  requests?: number;
  rate?: number;
  acks?: number;
  /** Partitions per request (frames take turns when the topic has more). */
  partitionsPerRequest?: number;
}

/** Produces `bytes` of workload `w` to `topicName` (already created) with loadgen. */
export async function produce(ctx: Context, broker: BrokerProcess, topicName: string, w: Workload, bytes: number, o: ProduceOptions = {}): Promise<ProduceRun> {
  const batch = batchOf(w);
  const partitions = o.partitions ?? 1;
  const perRequest = Math.min(partitions, o.partitionsPerRequest ?? partitions);
  const frames: Buffer[] = [];
  for (let first = 0; first < partitions; first += perRequest) {
    const ids = Array.from({ length: Math.min(perRequest, partitions - first) }, (_, i) => first + i);
    frames.push(produceFrame(topicName, ids, batch, o.acks === 0 ? 0 : (o.acks ?? 1)));
  }
  const conns = o.conns ?? 2;
  const requests = Math.max(conns, frames.length, o.requests ?? Math.round(bytes / (batch.length * perRequest)));
  const opts: Record<string, string | number> = {
    port: broker.port,
    template: ctx.file('produce.bin', Buffer.concat(frames)),
    conns,
    window: o.window ?? 8,
    requests,
  };
  if (frames.length > 1) opts.rotate = 1;
  if (o.rate) opts.rate = o.rate.toFixed(2);
  // acks=0 gets no answers: an acks=1 request behind them on each connection says when they are appended.
  if (o.acks === 0) opts.fence = ctx.file('fence.bin', produceFrame(topicName, [0], batch, 1));
  const cpu0 = broker.cpuSeconds();
  const result = await runLoad(ctx.loadgen, 'produce', opts);
  const cpuS = broker.cpuSeconds() - cpu0;
  // Average partitions per request (the last frame may be short).
  const perRequestAvg = partitions / frames.length;
  const sent = result.requests * perRequestAvg + (o.acks === 0 ? conns : 0);
  return { result, cpuS, bytes: sent * batch.length, records: sent * recordsPerBatch(w), batch, batchRecords: recordsPerBatch(w) };
}

export interface FetchRun {
  result: LoadResult;
  cpuS: number;
  bytes: number;
}

/** Fetches everything `p` produced to partition 0 of `topicName`, 1 MiB per answer. */
export async function fetchAll(ctx: Context, broker: BrokerProcess, topicName: string, p: { batch: Buffer; batchRecords: number; bytes: number }, limitBytes?: number): Promise<FetchRun> {
  const batchesPerFetch = Math.max(1, Math.floor(MiB / p.batch.length));
  const { frame, offsetPositions } = fetchFrame(topicName, [0], batchesPerFetch * p.batch.length);
  const totalBatches = Math.floor(Math.min(p.bytes, limitBytes ?? p.bytes) / p.batch.length);
  const requests = Math.max(2, Math.floor(totalBatches / batchesPerFetch));
  const cpu0 = broker.cpuSeconds();
  const result = await runLoad(ctx.loadgen, 'fetch', {
    port: broker.port,
    template: ctx.file('fetch.bin', frame),
    conns: 2,
    window: 4,
    requests,
    'offset-at': offsetPositions.join(','),
    'offset-step': batchesPerFetch * p.batchRecords,
    'expect-records-bytes': batchesPerFetch * p.batch.length,
  });
  return { result, cpuS: broker.cpuSeconds() - cpu0, bytes: result.recordBytes };
}

/** The segment files of a topic in a broker's data dir. */
export function segmentFiles(dir: string, topicName: string): string[] {
  const data = path.join(dir, 'data');
  return fs
    .readdirSync(data)
    .filter((d) => d.startsWith(`${topicName}-`))
    .flatMap((d) => fs.readdirSync(path.join(data, d)).filter((f) => f.endsWith('.log')).map((f) => path.join(data, d, f)));
}
