// Request frames for the end-to-end benchmark, built with the project's own
// codecs, and a minimal one-request-at-a-time client for setup steps (topic
// creation, start-up probes). The load itself is sent by bench/e2e/c/loadgen.c.
import net from 'node:net';
import { Writer } from '../../src/protocol/codec.js';
import { API_REGISTRY, ApiKey, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/index.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { Reader } from '../../src/protocol/codec.js';
import { decodeResponseHeader } from '../../src/protocol/generated/response-header.js';
import type { CreateTopicsResponse, FetchRequest, MetadataResponse, ProduceRequest, ProduceResponse } from '../../src/protocol/generated/index.js';
import { buildRecordBatch } from '../../src/record/record-batch.js';

const CLIENT_ID = 'samsa-bench';
/** The versions the load generator parses (fixed layouts, no tagged fields). */
export const PRODUCE_VERSION = 7;
export const FETCH_VERSION = 4;

/** A size-prefixed request frame. */
export function requestFrame(apiKey: number, apiVersion: number, body: unknown, correlationId = 0): Buffer {
  const info = API_REGISTRY.get(apiKey);
  if (!info) throw new Error(`no API ${apiKey}`);
  const w = new Writer();
  encodeRequestHeader(w, requestHeaderVersion(apiKey, apiVersion), { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: CLIENT_ID });
  info.request.encode(w, apiVersion, body);
  const payload = Buffer.concat(w.finish());
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/**
 * One v2 batch of `count` records with `valueBytes`-byte values and no key.
 * Values are pseudo-random so nothing along the way can shortcut them.
 */
export function recordBatch(count: number, valueBytes: number, seed = 1): Buffer {
  let x = seed >>> 0 || 1;
  const values = Array.from({ length: count }, () => {
    const v = Buffer.allocUnsafe(valueBytes);
    for (let i = 0; i < valueBytes; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      v[i] = x & 0xff;
    }
    return { value: v };
  });
  return buildRecordBatch(values, { baseTimestamp: Date.now() });
}

/** A Produce v7 frame (acks=1 unless given) carrying one copy of `batch` per partition. */
export function produceFrame(topic: string, partitions: number[], batch: Buffer, acks = 1): Buffer {
  const request: ProduceRequest = {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: batch })) }],
  };
  return requestFrame(ApiKey.Produce, PRODUCE_VERSION, request);
}

// A fetch offset no real log reaches, so its bytes can be found in the frame.
const OFFSET_MARK = 0x5a5a_0000_0000_0000n;

/**
 * A Fetch v4 frame for `partitions` of `topic`, and the byte positions of each
 * partition's fetch_offset field (for the load generator to patch).
 */
export function fetchFrame(topic: string, partitions: number[], partitionMaxBytes: number): { frame: Buffer; offsetPositions: number[] } {
  const request: FetchRequest = {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: partitionMaxBytes * partitions.length,
    isolationLevel: 0,
    topics: [{ topic, partitions: partitions.map((partition, i) => ({ partition, fetchOffset: OFFSET_MARK + BigInt(i), partitionMaxBytes })) }],
  };
  const frame = requestFrame(ApiKey.Fetch, FETCH_VERSION, request);
  const offsetPositions = partitions.map((_, i) => {
    const mark = Buffer.allocUnsafe(8);
    mark.writeBigInt64BE(OFFSET_MARK + BigInt(i));
    const at = frame.indexOf(mark);
    if (at < 0 || frame.indexOf(mark, at + 1) >= 0) throw new Error('fetch template: offset field not found exactly once');
    return at;
  });
  return { frame, offsetPositions };
}

/** A connection that sends one request at a time and decodes the answer. */
export class SimpleClient {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  private waitingFailed: ((err: Error) => void) | null = null;
  private failure: Error | null = null;
  private correlationId = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length < 4) return;
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const w = this.waiting;
      this.waiting = null;
      this.waitingFailed = null;
      w?.(frame);
    });
    socket.on('error', (err) => (this.failure = err));
    // One close listener for the connection's life, not one per request.
    socket.on('close', () => this.waitingFailed?.(this.failure ?? new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<SimpleClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new SimpleClient(socket));
      });
      socket.once('error', reject);
    });
  }

  async request<T>(apiKey: number, apiVersion: number, body: unknown): Promise<T> {
    if (this.failure) throw this.failure;
    const correlationId = this.correlationId++;
    const answer = new Promise<Buffer>((resolve, reject) => {
      this.waiting = resolve;
      this.waitingFailed = reject;
    });
    this.socket.write(requestFrame(apiKey, apiVersion, body, correlationId));
    const frame = await answer;
    const r = new Reader(frame);
    const header = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
    if (header.correlationId !== correlationId) throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
    const decoded = API_REGISTRY.get(apiKey)!.response.decode(r, apiVersion) as T;
    if (!r.ok) throw new Error(`malformed answer: ${r.error}`);
    return decoded;
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function createTopic(client: SimpleClient, name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const answer = await client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const t = answer.topics[0];
  if (t.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
}

/** Metadata with auto-creation, as a client does before its first produce. */
export async function metadata(client: SimpleClient, topic: string): Promise<MetadataResponse> {
  return client.request<MetadataResponse>(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: true });
}

export async function produceOne(client: SimpleClient, topic: string, partition: number, batch: Buffer): Promise<ProduceResponse> {
  return client.request<ProduceResponse>(ApiKey.Produce, PRODUCE_VERSION, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
}
