// A discard sink: the smallest Kafka-protocol server a producer load test
// needs (ApiVersions, Metadata, CreateTopics, Produce), answering every
// Produce with success and storing nothing. Running `samsa perf produce`
// against it measures the generator alone: what the tool can push through
// loopback when the broker costs (almost) nothing. One node (id 0) leads
// every partition; topics exist once created, or on first Metadata with
// `defaultPartitions` partitions. Offsets are counted per partition from the
// batches' recordsCount so acknowledgements look real.
import net from 'node:net';
import { Reader, Writer } from '../protocol/codec.js';
import {
  API_REGISTRY,
  ApiKey,
  decodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type ApiVersionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type MetadataRequest,
  type MetadataResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../protocol/generated/index.js';
import { BatchField } from '../record/record-batch.js';

const UNSUPPORTED_VERSION = 35;
const REQUEST_BYTES_MAX = 128 * 1024 * 1024;
const BATCH_OVERHEAD_BYTES = 12;
/** The APIs the sink answers, at the versions of the generated codecs (Produce from v3: record batch v2). */
const SUPPORTED: ReadonlyArray<readonly [number, number]> = [
  [ApiKey.Produce, 3],
  [ApiKey.Metadata, 0],
  [ApiKey.ApiVersions, 0],
  [ApiKey.CreateTopics, 2],
];

export interface SinkOptions {
  host?: string;
  port: number;
  /** Partitions of a topic first seen in Metadata (default 1). */
  defaultPartitions?: number;
}

export interface SinkStats {
  requests: number;
  produceRequests: number;
  records: number;
  bytes: number;
}

export interface Sink {
  readonly port: number;
  readonly stats: SinkStats;
  close(): Promise<void>;
}

function versionRange(apiKey: number, min: number): { minVersion: number; maxVersion: number } {
  const info = API_REGISTRY.get(apiKey)!;
  return { minVersion: Math.max(min, info.minVersion), maxVersion: info.latestVersionUnstable ? info.maxVersion - 1 : info.maxVersion };
}

export async function startSink(options: SinkOptions): Promise<Sink> {
  const topics = new Map<string, { id: string; nextOffsets: number[] }>();
  const stats: SinkStats = { requests: 0, produceRequests: 0, records: 0, bytes: 0 };
  const sockets = new Set<net.Socket>();
  const host = options.host ?? '127.0.0.1';
  let advertisedPort = options.port;

  const topicState = (name: string, partitions = options.defaultPartitions ?? 1) => {
    let t = topics.get(name);
    if (!t) {
      const hex = Buffer.from(name.padEnd(16, '\0').slice(0, 16), 'latin1').toString('hex');
      t = { id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`, nextOffsets: new Array<number>(partitions).fill(0) };
      topics.set(name, t);
    }
    return t;
  };

  const answer = (apiKey: number, version: number, request: unknown): unknown => {
    switch (apiKey) {
      case ApiKey.ApiVersions:
        return {
          errorCode: 0,
          apiKeys: SUPPORTED.map(([key, min]) => ({ apiKey: key, ...versionRange(key, min) })),
          throttleTimeMs: 0,
        } satisfies ApiVersionsResponse;
      case ApiKey.Metadata: {
        const req = request as MetadataRequest;
        const names = req.topics === null || (version === 0 && req.topics.length === 0) ? [...topics.keys()] : req.topics.map((t) => t.name ?? '');
        return {
          throttleTimeMs: 0,
          brokers: [{ nodeId: 0, host, port: advertisedPort, rack: null }],
          clusterId: 'samsa-perf-sink',
          controllerId: 0,
          topics: names.map((name) => {
            // Like a broker: a missing topic is created only when the request allows it (v0-3 always do).
            if (!topics.has(name) && version >= 4 && !req.allowAutoTopicCreation) {
              return { errorCode: 3, name, topicId: '00000000-0000-0000-0000-000000000000', isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 };
            }
            const t = topicState(name);
            return {
              errorCode: 0,
              name,
              topicId: t.id,
              isInternal: false,
              partitions: t.nextOffsets.map((_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] })),
              topicAuthorizedOperations: -2147483648,
            };
          }),
          clusterAuthorizedOperations: -2147483648,
        } satisfies MetadataResponse;
      }
      case ApiKey.CreateTopics: {
        const req = request as CreateTopicsRequest;
        return {
          throttleTimeMs: 0,
          topics: req.topics.map((t) => {
            const exists = topics.has(t.name);
            const partitions = t.numPartitions > 0 ? t.numPartitions : (options.defaultPartitions ?? 1);
            if (!exists) topicState(t.name, partitions);
            return { name: t.name, topicId: topics.get(t.name)!.id, errorCode: exists ? 36 : 0, errorMessage: exists ? `Topic '${t.name}' already exists.` : null, numPartitions: partitions, replicationFactor: 1, configs: [] };
          }),
        } satisfies CreateTopicsResponse;
      }
      case ApiKey.Produce: {
        const req = request as ProduceRequest;
        stats.produceRequests++;
        return {
          throttleTimeMs: 0,
          responses: req.topicData.map((t) => {
            const state = topicState(t.name);
            return {
              name: t.name,
              partitionResponses: t.partitionData.map((p) => {
                const records = p.records ?? Buffer.alloc(0);
                let count = 0;
                // Walk the batches' headers only: the sink never reads a record.
                for (let at = 0; at + BatchField.recordsCount + 4 <= records.length; ) {
                  count += records.readInt32BE(at + BatchField.recordsCount);
                  at += records.readInt32BE(at + BatchField.batchLength) + BATCH_OVERHEAD_BYTES;
                }
                stats.records += count;
                stats.bytes += records.length;
                const known = p.index >= 0 && p.index < state.nextOffsets.length;
                const baseOffset = known ? state.nextOffsets[p.index] : -1;
                if (known) state.nextOffsets[p.index] += count;
                return { index: p.index, errorCode: known ? 0 : 3, baseOffset: BigInt(baseOffset), logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null };
              }),
            };
          }),
        } satisfies ProduceResponse;
      }
      default:
        return null;
    }
  };

  const onFrame = (socket: net.Socket, frame: Buffer) => {
    stats.requests++;
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const info = API_REGISTRY.get(apiKey);
    const supported = SUPPORTED.find(([key]) => key === apiKey);
    const range = supported ? versionRange(apiKey, supported[1]) : null;
    const r = new Reader(frame);
    if (!info || !range) return socket.destroy();
    let body: unknown;
    let responseVersion = version;
    if (version < range.minVersion || version > range.maxVersion) {
      // An ApiVersions version we do not know is answered at v0 with our range (KIP-511); anything else ends the connection.
      if (apiKey !== ApiKey.ApiVersions) return socket.destroy();
      const header = decodeRequestHeader(r, 1);
      body = { ...(answer(apiKey, 0, null) as ApiVersionsResponse), errorCode: UNSUPPORTED_VERSION };
      responseVersion = 0;
      return write(socket, header.correlationId, apiKey, responseVersion, body);
    }
    const header = decodeRequestHeader(r, requestHeaderVersion(apiKey, version));
    const request = info.request.decode(r, version);
    if (!r.ok) return socket.destroy();
    if (apiKey === ApiKey.Produce && (request as ProduceRequest).acks === 0) {
      answer(apiKey, version, request);
      return;
    }
    write(socket, header.correlationId, apiKey, responseVersion, answer(apiKey, version, request));
  };

  const write = (socket: net.Socket, correlationId: number, apiKey: number, version: number, body: unknown) => {
    const w = new Writer();
    w.int32(0);
    encodeResponseHeader(w, responseHeaderVersion(apiKey, version), { correlationId });
    API_REGISTRY.get(apiKey)!.response.encode(w, version, body);
    const out = w.toBuffer();
    out.writeInt32BE(out.length - 4, 0);
    socket.write(out);
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let inbound: Buffer[] = [];
    let inboundBytes = 0;
    socket.on('data', (chunk: Buffer) => {
      inbound.push(chunk);
      inboundBytes += chunk.length;
      socket.cork();
      while (inboundBytes >= 4) {
        if (inbound[0].length < 4) inbound = [Buffer.concat(inbound, inboundBytes)];
        const size = inbound[0].readInt32BE(0);
        if (size < 8 || size > REQUEST_BYTES_MAX) {
          socket.destroy();
          return;
        }
        if (inboundBytes < size + 4) break;
        const all = inbound.length > 1 ? Buffer.concat(inbound, inboundBytes) : inbound[0];
        const rest = all.subarray(size + 4);
        inbound = rest.length > 0 ? [rest] : [];
        inboundBytes = rest.length;
        onFrame(socket, all.subarray(4, size + 4));
      }
      process.nextTick(() => socket.uncork());
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  advertisedPort = (server.address() as net.AddressInfo).port;
  return {
    port: advertisedPort,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
