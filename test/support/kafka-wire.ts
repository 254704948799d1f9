// A minimal Kafka client over a raw socket for integration tests: requests are
// encoded with the generated codecs, pipelined, and matched to responses in
// order (Kafka answers in request order per connection). Also sends raw bytes,
// for hostile-peer tests.
import net from 'node:net';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { API_REGISTRY, ApiKey, decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/index.js';
import { decodeBatchRecords, iterateBatchHeaders, verifyBatchCrc, type DecodedRecord } from '../../src/record/record-batch.js';

interface Waiting {
  apiKey: number;
  version: number;
  correlationId: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class WireClient {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiting: Waiting[] = [];
  private nextCorrelationId = 1;
  private closedError: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** The request frame (size prefix included) as the client would send it. */
  static frame(apiKey: number, version: number, body: unknown, correlationId: number, clientId: string | null = 'wire-test'): Buffer {
    const info = API_REGISTRY.get(apiKey);
    if (!info) throw new Error(`no API ${apiKey}`);
    const w = new Writer();
    encodeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId });
    info.request.encode(w, version, body);
    const payload = w.toBuffer();
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeInt32BE(payload.length);
    payload.copy(frame, 4);
    return frame;
  }

  /** Sends a request; resolves with the decoded response body, or null when none is due (Produce acks=0). */
  request<Res = any>(apiKey: number, version: number, body: unknown, options: { noResponse?: boolean } = {}): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    this.socket.write(WireClient.frame(apiKey, version, body, correlationId));
    if (options.noResponse) return Promise.resolve(null as Res);
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ apiKey, version, correlationId, resolve: resolve as (b: unknown) => void, reject });
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when the broker closes the connection (or rejects after timeoutMs). */
  waitClosed(timeoutMs = 20_000): Promise<void> {
    if (this.closedError) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const head = this.waiting.shift();
      if (!head) {
        this.fail(new Error('response without a request'));
        return;
      }
      const info = API_REGISTRY.get(head.apiKey)!;
      const r = new Reader(frame);
      const header = decodeResponseHeader(r, responseHeaderVersion(head.apiKey, head.version));
      const body = info.response.decode(r, head.version);
      if (!r.ok || r.remaining !== 0) head.reject(new Error(`${info.name} v${head.version}: undecodable response (${r.error ?? `${r.remaining} bytes left`})`));
      else if (header.correlationId !== head.correlationId) head.reject(new Error(`correlation id ${header.correlationId}, expected ${head.correlationId}`));
      else head.resolve(body);
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}

/** Records of a fetched records field: every whole batch CRC-checked and decoded. */
export function recordsOf(records: Buffer | null): DecodedRecord[] {
  if (!records || records.length === 0) return [];
  const out: DecodedRecord[] = [];
  for (const { position } of iterateBatchHeaders(records)) {
    if (!verifyBatchCrc(records, position)) throw new Error(`CRC mismatch in the batch at byte ${position}`);
    out.push(...decodeBatchRecords(records, position));
  }
  return out;
}

export interface FetchOptions {
  maxWaitMs?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  version?: number;
}

/** One Fetch (v11: names, not ids) of one partition from `offset`. */
export async function fetchPartition(client: WireClient, topic: string, partition: number, offset: number, options: FetchOptions = {}) {
  const version = options.version ?? 11;
  const response = await client.request(ApiKey.Fetch, version, {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: 1,
    maxBytes: options.maxBytes ?? 8 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: options.partitionMaxBytes ?? 4 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = response.responses[0].partitions[0];
  return { errorCode: p.errorCode as number, highWatermark: Number(p.highWatermark), logStartOffset: Number(p.logStartOffset), records: p.records as Buffer | null };
}

/** Every record of a partition from `from` up to the high watermark, fetched in a loop. */
export async function fetchAll(client: WireClient, topic: string, partition: number, from = 0, options: FetchOptions = {}): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = [];
  let offset = from;
  for (;;) {
    const r = await fetchPartition(client, topic, partition, offset, options);
    if (r.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${r.errorCode}`);
    // A batch may start before the fetch offset: skip the records below it.
    const records = recordsOf(r.records).filter((rec) => rec.offset >= offset);
    out.push(...records);
    if (records.length > 0) offset = records[records.length - 1].offset + 1;
    if (offset >= r.highWatermark) return out;
    if (records.length === 0) throw new Error(`fetch ${topic}-${partition}@${offset}: no progress below high watermark ${r.highWatermark}`);
  }
}

/** Produce v9 of ready-made batches to one partition; returns the partition response. */
export async function produce(client: WireClient, topic: string, partition: number, records: Buffer, acks = -1, version = 9) {
  const body = { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
  const response = await client.request(ApiKey.Produce, version, body, { noResponse: acks === 0 });
  return response === null ? null : (response.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint; errorMessage: string | null; logAppendTimeMs: bigint; logStartOffset: bigint });
}

export async function createTopic(client: WireClient, name: string, numPartitions: number, configs: Record<string, string> = {}) {
  const response = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  const result = response.topics[0];
  if (result.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${result.errorCode} ${result.errorMessage}`);
}
