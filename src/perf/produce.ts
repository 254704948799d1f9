// The engine of `samsa perf produce` (Kafka's kafka-producer-perf-test), for
// any Kafka-protocol broker. Importable: runProduceLoad(options).
//
// How it keeps the generator out of the way:
// - Records are never objects on the hot path. A template RecordBatch of R
//   records (R = what fits in batch.size uncompressed; values are random
//   A-Z bytes like Kafka's tool, different per record so compression sees
//   realistic data) is built and compressed once; each connection owns
//   max-in-flight request frames laid out once with K such batches
//   (K partitions per request, up to max.request.size). A send patches the
//   correlation id, partition indexes, batch timestamps and CRCs (native
//   CRC32C) in place and writes the frame; several frames go out between
//   cork() and uncork(). A frame is reused only after its response (or, with
//   acks=0, its write) completed, so bytes the socket still holds never change.
// - Batches carry producer id -1 (not idempotent), so a batch may be resent
//   unchanged; the broker assigns offsets.
//
// Latency, as Kafka's tool reports it per record (callback time minus the
// time send() was called): without a throughput cap a record's latency is
// its request's send->acknowledgement time (acks=0: send->written to the
// socket). With --throughput T, record k is due at start + k/T; a batch of
// R' = min(R, T * linger.ms) records leaves when its last record is due (a
// batch is full, or linger expired), and each record's latency is measured
// from its own due time, so linger waits count, and so does any lag of the
// generator behind the schedule (no coordinated omission).
import net from 'node:net';
import { KafkaClient } from '../client/client.js';
import { ConnectionError } from '../client/errors.js';
import { Reader } from '../protocol/codec.js';
import { API_REGISTRY, decodeResponseHeader, responseHeaderVersion, type ProduceResponse } from '../protocol/generated/index.js';
import { buildRecordBatch, type CompressionName, type RecordInput } from '../record/record-batch.js';
import { LatencyHistogram } from './histogram.js';
import { PRODUCE_VERSION_MAX, PRODUCE_VERSION_MIN, buildProduceFrame, setCorrelationId, stampBatch, type ProduceFrame } from './produce-frame.js';
import { ensureTopic } from './topic.js';

export interface ProduceLoadOptions {
  bootstrapServers: string;
  topic: string;
  /** Records to send; Infinity with durationMs. */
  numRecords: number;
  /** Stop sending after this long (with numRecords, whichever comes first). */
  durationMs?: number;
  /** Value bytes per record (keys are null). */
  recordSize: number;
  /** Records per second; -1 (or any value <= 0) for no cap. */
  throughput: number;
  acks: -1 | 0 | 1;
  /** batch.size: bytes of records per partition batch (uncompressed). */
  batchSize: number;
  /** linger.ms: only shapes batches under a throughput cap. */
  lingerMs: number;
  compression: CompressionName;
  /** Partitions to create the topic with when it is missing (null: broker default). */
  partitions: number | null;
  replicationFactor: number | null;
  connections: number;
  maxInFlight: number;
  /** max.request.size: bounds the batches in one Produce request. */
  maxRequestSize: number;
  requestTimeoutMs: number;
  clientId: string;
  connectTimeoutMs?: number;
  /** Progress window length (Kafka's tool: 5000 ms). */
  reportIntervalMs: number;
  onProgress?: (window: ProduceWindow) => void;
  /** A partition or request error (records are counted as failed, not retried). */
  onError?: (message: string) => void;
}

export interface ProduceWindow {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

export interface ProduceResult {
  records: number;
  failed: number;
  /** Value bytes acknowledged (records x record size), as Kafka's MB/sec counts. */
  bytes: number;
  /** Produce request bytes written (frames, headers included). */
  wireBytes: number;
  requests: number;
  elapsedMs: number;
  recordsPerSec: number;
  /** MiB per second of value bytes, Kafka's "MB/sec". */
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  recordsPerBatch: number;
  batchesPerRequest: number;
  produceVersion: number;
  partitions: number;
  connections: number;
  /** CPU time of this process during the run. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** (user + system) CPU ms per GiB of value bytes. */
  cpuMsPerGiB: number;
}

/** Per-record framing in a v2 batch for a null key and no headers (length, attributes, deltas, lengths), at most. */
const RECORD_OVERHEAD_BYTES = 12;
const BATCH_HEADER_BYTES = 61;
const REQUEST_OVERHEAD_BYTES = 256;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

interface Slot {
  frame: ProduceFrame;
  /** A one-off frame for the tail of the run, not reused. */
  oneOff: boolean;
}

interface InFlight {
  slot: Slot;
  correlationId: number;
  sentAt: number;
  /** Due time of the slot's first record, and the gap between records (capped mode); NaN without a cap. */
  firstDueAt: number;
  partitions: number[];
}

/** Random A-Z bytes (Kafka's tool draws each payload byte from 65 + nextInt(26)); deterministic per seed. */
function payloadBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = 65 + ((x >>> 0) % 26);
  }
  return out;
}

/** Records of `recordSize` value bytes that fit in one batch of `batchSize` bytes (uncompressed), at least 1. */
export function recordsPerBatch(batchSize: number, recordSize: number): number {
  return Math.max(1, Math.floor((batchSize - BATCH_HEADER_BYTES) / (recordSize + RECORD_OVERHEAD_BYTES)));
}

/** A batch of `count` records as the generator sends them (random A-Z values, null keys), for other load generators to reuse. */
export function templateBatch(recordSize: number, count: number, compression: CompressionName): Buffer {
  return new BatchTemplates(recordSize, compression).get(count);
}

/** Template batches by record count, built (and compressed) once. */
class BatchTemplates {
  private readonly byCount = new Map<number, Buffer>();
  private seed = 1;

  constructor(
    private readonly recordSize: number,
    private readonly compression: CompressionName,
  ) {}

  get(count: number): Buffer {
    let batch = this.byCount.get(count);
    if (!batch) {
      const records: RecordInput[] = [];
      for (let i = 0; i < count; i++) records.push({ key: null, value: payloadBytes(this.recordSize, this.seed++ * 2654435761) });
      batch = buildRecordBatch(records, { compression: this.compression, baseTimestamp: Date.now() });
      this.byCount.set(count, batch);
    }
    return batch;
  }
}

class ProduceConnection {
  readonly free: Slot[] = [];
  readonly inFlight: InFlight[] = [];
  private nextCorrelationId = 1;
  private nextPartition = 0;
  private inbound: Buffer[] = [];
  private inboundBytes = 0;
  failure: Error | null = null;

  constructor(
    readonly socket: net.Socket,
    readonly partitions: number[],
    private readonly version: number,
    private readonly onResponse: (conn: ProduceConnection, done: InFlight, response: ProduceResponse | null, now: number) => void,
    private readonly onFailure: (err: Error) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(`connection to ${socket.remoteAddress}:${socket.remotePort} failed (${err.code ?? err.message})`)));
    socket.on('close', () => this.fail(new ConnectionError('the broker closed a produce connection')));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${host}:${port} (timed out after ${timeoutMs} ms)`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${host}:${port} (${err.code ?? err.message})`));
      });
    });
  }

  /** Patches and writes one frame; the caller corks. acks=0: the slot returns once the socket has written it. */
  send(slot: Slot, sentAt: number, firstDueAt: number, expectResponse: boolean): number {
    const { frame, entries } = slot.frame;
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    setCorrelationId(frame, correlationId);
    const timestamp = Date.now();
    const partitions: number[] = [];
    for (const entry of entries) {
      const partition = this.partitions[this.nextPartition];
      this.nextPartition = (this.nextPartition + 1) % this.partitions.length;
      frame.writeInt32BE(partition, entry.partitionAt);
      partitions.push(partition);
      stampBatch(frame, entry, timestamp);
    }
    const flight: InFlight = { slot, correlationId, sentAt, firstDueAt, partitions };
    if (expectResponse) {
      this.inFlight.push(flight);
      this.socket.write(frame);
    } else {
      this.inFlight.push(flight);
      this.socket.write(frame, (err) => {
        if (err || this.failure) return;
        const done = this.inFlight.shift()!;
        this.onResponse(this, done, null, performance.now());
      });
    }
    return frame.length;
  }

  private onData(chunk: Buffer): void {
    this.inbound.push(chunk);
    this.inboundBytes += chunk.length;
    while (this.inboundBytes >= 4) {
      if (this.inbound[0].length < 4) this.coalesce();
      const size = this.inbound[0].readInt32BE(0);
      if (size < 4 || size > 64 * MIB) return this.fail(new ConnectionError(`the broker sent a response frame of ${size} bytes`));
      if (this.inboundBytes < 4 + size) return;
      const all = this.coalesce();
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.inbound = rest.length > 0 ? [rest] : [];
      this.inboundBytes = rest.length;
      this.onFrame(frame);
      if (this.failure) return;
    }
  }

  private coalesce(): Buffer {
    if (this.inbound.length > 1) this.inbound = [Buffer.concat(this.inbound, this.inboundBytes)];
    return this.inbound[0];
  }

  private onFrame(frame: Buffer): void {
    const head = this.inFlight.shift();
    // Kafka answers the requests of one connection in order.
    if (!head || frame.readInt32BE(0) !== head.correlationId) {
      return this.fail(new ConnectionError(`the broker answered correlation id ${frame.readInt32BE(0)}, expected ${head?.correlationId ?? 'none'}`));
    }
    const r = new Reader(frame);
    decodeResponseHeader(r, responseHeaderVersion(0, this.version));
    const response = API_REGISTRY.get(0)!.response.decode(r, this.version) as ProduceResponse;
    if (!r.ok) return this.fail(new ConnectionError(`cannot parse a Produce v${this.version} response: ${r.error}`));
    this.onResponse(this, head, response, performance.now());
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    this.onFailure(err);
  }

  close(): void {
    if (this.failure) return;
    this.failure = new ConnectionError('closed');
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

/** Spreads the partitions over `count` connections, each bound to one leader (at least one per leader). */
function assignConnections(leaders: number[], count: number): Array<{ leader: number; partitions: number[] }> {
  const byLeader = new Map<number, number[]>();
  leaders.forEach((leader, partition) => {
    const list = byLeader.get(leader);
    if (list) list.push(partition);
    else byLeader.set(leader, [partition]);
  });
  const groups = [...byLeader].map(([leader, partitions]) => ({ leader, partitions, connections: 1 }));
  // Extra connections go to the leader with the most partitions per connection.
  for (let extra = count - groups.length; extra > 0; extra--) {
    groups.reduce((a, b) => (b.partitions.length / b.connections > a.partitions.length / a.connections ? b : a)).connections++;
  }
  const out: Array<{ leader: number; partitions: number[] }> = [];
  for (const { leader, partitions, connections } of groups) {
    for (let c = 0; c < connections; c++) {
      // More connections than partitions: connections share a partition (batches are not idempotent, so order across them does not matter).
      const own = partitions.length >= connections ? partitions.filter((_, j) => j % connections === c) : [partitions[c % partitions.length]];
      out.push({ leader, partitions: own });
    }
  }
  return out;
}

export async function runProduceLoad(options: ProduceLoadOptions): Promise<ProduceResult> {
  const client = await KafkaClient.connect({ bootstrapServers: options.bootstrapServers, clientId: options.clientId, connectTimeoutMs: options.connectTimeoutMs });
  const connections: ProduceConnection[] = [];
  try {
    const { leaders } = await ensureTopic(client, options.topic, options.partitions, options.replicationFactor);
    const plan = assignConnections(leaders, options.connections);
    const capped = options.throughput > 0;
    const fullBatch = recordsPerBatch(options.batchSize, options.recordSize);
    const perBatch = capped ? Math.min(fullBatch, Math.max(1, Math.floor((options.throughput * options.lingerMs) / 1000))) : fullBatch;
    const templates = new BatchTemplates(options.recordSize, options.compression);
    const template = templates.get(perBatch);
    let versionUsed = 0;

    // Frames per connection, laid out once.
    const stats = new LatencyHistogram();
    let failed = 0;
    let acked = 0;
    let requests = 0;
    let wireBytes = 0;
    let failure: Error | null = null;
    const window = { records: 0, latencySumUs: 0, maxUs: 0, startedAt: performance.now() };
    const frameSpec = (version: number, counts: number[]) => ({
      version,
      clientId: options.clientId,
      acks: options.acks,
      timeoutMs: options.requestTimeoutMs,
      topic: options.topic,
      batches: counts.map((c) => templates.get(c)),
      recordCounts: counts,
    });

    let finish: (() => void) | null = null;
    let fail: ((err: Error) => void) | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const onFailure = (err: Error) => {
      if (failure) return;
      failure = err;
      fail!(err);
    };

    const intervalUs = capped ? 1e6 / options.throughput : 0;
    const onResponse = (conn: ProduceConnection, done: InFlight, response: ProduceResponse | null, now: number) => {
      if (!done.slot.oneOff) conn.free.push(done.slot);
      const latencyUs = (now - done.sentAt) * 1000;
      done.slot.frame.entries.forEach((entry, i) => {
        const partition = done.partitions[i];
        let errorCode = 0;
        let message = '';
        if (response) {
          const p = response.responses.find((t) => t.name === options.topic)?.partitionResponses.find((x) => x.index === partition);
          errorCode = p ? p.errorCode : -1;
          message = p ? (p.errorMessage ?? p.recordErrors?.[0]?.batchIndexErrorMessage ?? '') : `no response for partition ${partition}`;
        }
        if (errorCode !== 0) {
          failed += entry.records;
          options.onError?.(`Produce to ${options.topic}-${partition} failed with error code ${errorCode}${message ? `: ${message}` : ''}`);
          return;
        }
        acked += entry.records;
        window.records += entry.records;
        if (!capped) {
          stats.record(latencyUs, entry.records);
          window.latencySumUs += latencyUs * entry.records;
          if (latencyUs > window.maxUs) window.maxUs = latencyUs;
        }
      });
      if (capped) {
        // Each record from its own due time: the first of the slot was due earliest.
        const records = done.slot.frame.records;
        for (let i = 0; i < records; i++) {
          const us = Math.max(0, (now - done.firstDueAt) * 1000 - i * intervalUs);
          stats.record(us);
          window.latencySumUs += us;
          if (us > window.maxUs) window.maxUs = us;
        }
      }
      schedulePump();
    };
    // Responses that arrive together (one socket read) free their slots first; one pump then writes the next frames under one cork.
    let pumpQueued = false;
    const schedulePump = () => {
      if (pumpQueued) return;
      pumpQueued = true;
      queueMicrotask(() => {
        pumpQueued = false;
        pump();
      });
    };

    for (const { leader, partitions } of plan) {
      const meta = await client.connection(leader);
      const version = Math.min(meta.versionFor(0), PRODUCE_VERSION_MAX);
      if (version < PRODUCE_VERSION_MIN) throw new ConnectionError(`${meta.address} does not accept Produce v3+ (record batch v2)`);
      versionUsed = version;
      const socket = await ProduceConnection.open(meta.host, meta.port, options.connectTimeoutMs ?? 10_000);
      const conn = new ProduceConnection(socket, partitions, version, onResponse, onFailure);
      connections.push(conn);
      const perRequest = Math.max(1, Math.min(capped ? 1 : partitions.length, Math.floor((options.maxRequestSize - REQUEST_OVERHEAD_BYTES) / template.length)));
      for (let s = 0; s < options.maxInFlight; s++) {
        conn.free.push({ frame: buildProduceFrame(frameSpec(version, new Array<number>(perRequest).fill(perBatch))), oneOff: false });
      }
    }
    const slotRecords = connections[0].free[0].frame.records;
    const batchesPerRequest = connections[0].free[0].frame.entries.length;

    const cpuStart = process.cpuUsage();
    const startedAt = performance.now();
    window.startedAt = startedAt;
    let remaining = options.numRecords;
    let scheduled = 0;
    let sentBatches = 0;
    let nextConn = 0;
    let timer: NodeJS.Timeout | null = null;
    const expectResponse = options.acks !== 0;

    const stopIfOver = (now: number) => {
      if (options.durationMs !== undefined && now - startedAt >= options.durationMs) remaining = 0;
    };
    const outstanding = () => connections.reduce((n, c) => n + c.inFlight.length, 0);

    function pump(): void {
      if (failure) return;
      const now = performance.now();
      stopIfOver(now);
      const touched = new Set<ProduceConnection>();
      // Under a cap: batches whose last record is due by now.
      let budget = capped ? Math.floor(((now - startedAt) / 1000) * (options.throughput / perBatch)) - sentBatches : Infinity;
      while (remaining > 0 && budget > 0) {
        let conn: ProduceConnection | null = null;
        for (let i = 0; i < connections.length; i++) {
          const c = connections[(nextConn + i) % connections.length];
          if (c.free.length > 0) {
            conn = c;
            nextConn = (nextConn + i + 1) % connections.length;
            break;
          }
        }
        if (!conn) break;
        let slot: Slot;
        if (remaining >= slotRecords) slot = conn.free.pop()!;
        else {
          // The tail: a frame with exactly the records left, built once.
          const counts: number[] = [];
          for (let left = remaining; left > 0; left -= perBatch) counts.push(Math.min(perBatch, left));
          slot = { frame: buildProduceFrame(frameSpec(versionUsed, counts)), oneOff: true };
        }
        if (!touched.has(conn)) {
          conn.socket.cork();
          touched.add(conn);
        }
        // Record k (from 0) is due at start + (k + 1) / T.
        const firstDueAt = capped ? startedAt + ((scheduled + 1) * intervalUs) / 1000 : NaN;
        wireBytes += conn.send(slot, now, firstDueAt, expectResponse);
        requests++;
        scheduled += slot.frame.records;
        remaining -= slot.frame.records;
        sentBatches += slot.frame.entries.length;
        budget -= slot.frame.entries.length;
      }
      for (const c of touched) c.socket.uncork();
      if (capped && remaining > 0 && timer === null) {
        const nextDue = startedAt + ((sentBatches + 1) * perBatch * 1000) / options.throughput;
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, Math.max(0, nextDue - performance.now()));
      }
      if (remaining <= 0 && outstanding() === 0) finish!();
    }

    const report = setInterval(() => {
      const now = performance.now();
      stopIfOver(now);
      for (const c of connections) {
        const head = c.inFlight[0];
        if (head && expectResponse && now - head.sentAt > options.requestTimeoutMs + 5000) {
          c.fail(new ConnectionError(`a Produce request got no response within ${options.requestTimeoutMs + 5000} ms`));
        }
      }
      const elapsed = now - window.startedAt;
      if (elapsed >= options.reportIntervalMs && options.onProgress && window.records > 0) {
        options.onProgress({
          records: window.records,
          recordsPerSec: (1000 * window.records) / elapsed,
          mbPerSec: (1000 * window.records * options.recordSize) / elapsed / MIB,
          avgLatencyMs: window.latencySumUs / window.records / 1000,
          maxLatencyMs: window.maxUs / 1000,
        });
      }
      if (elapsed >= options.reportIntervalMs) {
        window.records = 0;
        window.latencySumUs = 0;
        window.maxUs = 0;
        window.startedAt = now;
      }
      if (remaining <= 0 && outstanding() === 0) finish!();
    }, Math.min(options.reportIntervalMs, 250));
    // Duration runs end by the interval above even when nothing is acknowledged.
    try {
      pump();
      await finished;
    } finally {
      clearInterval(report);
      if (timer !== null) clearTimeout(timer);
    }
    const elapsedMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuStart);
    const bytes = acked * options.recordSize;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
      records: acked,
      failed,
      bytes,
      wireBytes,
      requests,
      elapsedMs,
      recordsPerSec: (1000 * acked) / elapsedMs,
      mbPerSec: (1000 * bytes) / elapsedMs / MIB,
      avgLatencyMs: stats.meanUs / 1000,
      maxLatencyMs: stats.maxUs / 1000,
      p50Ms: stats.percentileUs(50) / 1000,
      p95Ms: stats.percentileUs(95) / 1000,
      p99Ms: stats.percentileUs(99) / 1000,
      p999Ms: stats.percentileUs(99.9) / 1000,
      recordsPerBatch: perBatch,
      batchesPerRequest,
      produceVersion: versionUsed,
      partitions: leaders.length,
      connections: connections.length,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      cpuMsPerGiB: bytes > 0 ? cpuMs / (bytes / GIB) : 0,
    };
  } finally {
    for (const c of connections) c.close();
    client.close();
  }
}
