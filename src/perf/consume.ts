// The engine of `samsa perf consume` (Kafka's kafka-consumer-perf-test), for
// any Kafka-protocol broker. Importable: runConsumeLoad(options).
//
// Records are counted, never decoded: each fetched batch contributes its
// header's recordsCount and its size in bytes (src/client/consumer.ts,
// onBatch). So "MB" here is batch bytes as fetched (record framing and
// batch headers included, compressed size for compressed batches), where
// Kafka's tool sums key and value lengths after decompression.
//
// Without a group, the partitions are read directly from the earliest (or,
// with fromLatest, the latest) offset by `connections` fetchers, each with
// its own connection and its share of the partitions, fetching in
// parallel. With a group, one member of that classic consumer group
// (src/client/group-consumer.ts) reads what it is assigned from the group's
// committed offsets and commits what it counted; rebalance time is the time
// until it first had an assignment (Kafka's tool adds later rebalances too).
import { KafkaClient } from '../client/client.js';
import type { CountedBatch } from '../client/consumer.js';
import { TopicConsumer } from '../client/consumer.js';
import { GroupConsumer } from '../client/group-consumer.js';

export interface ConsumeLoadOptions {
  bootstrapServers: string;
  topic: string;
  /** Stop once this many records were counted (Infinity: until timeout or duration). */
  messages: number;
  /** Stop when no record arrived for this long (Kafka's --timeout, default 10000). */
  timeoutMs: number;
  durationMs?: number;
  group: string | null;
  fromLatest: boolean;
  /** max.partition.fetch.bytes (Kafka's --fetch-size). */
  fetchSize: number;
  /** fetch.max.bytes. */
  fetchMaxBytes: number;
  connections: number;
  clientId: string;
  connectTimeoutMs?: number;
  reportIntervalMs: number;
  onProgress?: (window: ConsumeWindow) => void;
  warn?: (line: string) => void;
  /** Group session timeout (session.timeout.ms, default 45000). */
  sessionTimeoutMs?: number;
}

export interface ConsumeWindow {
  endMs: number;
  /** Totals so far. */
  records: number;
  bytes: number;
  /** Rates over the window. */
  mbPerSec: number;
  recordsPerSec: number;
  rebalanceTimeMs: number;
  fetchTimeMs: number;
  fetchMbPerSec: number;
  fetchRecordsPerSec: number;
}

export interface ConsumeResult {
  startMs: number;
  endMs: number;
  records: number;
  bytes: number;
  batches: number;
  mb: number;
  mbPerSec: number;
  recordsPerSec: number;
  rebalanceTimeMs: number;
  fetchTimeMs: number;
  fetchMbPerSec: number;
  fetchRecordsPerSec: number;
  /** True when the run ended because no record came within timeoutMs before `messages` were read. */
  timedOut: boolean;
  cpuUserMs: number;
  cpuSystemMs: number;
  cpuMsPerGiB: number;
}

const MIB = 1024 * 1024;
const POLL_WAIT_MS = 100;

export async function runConsumeLoad(options: ConsumeLoadOptions): Promise<ConsumeResult> {
  const clients: KafkaClient[] = [];
  const groupMembers: GroupConsumer[] = [];
  let records = 0;
  let bytes = 0;
  let batches = 0;
  const onBatch = (b: CountedBatch) => {
    records += b.records;
    bytes += b.bytes;
    batches++;
  };
  const cpuStart = process.cpuUsage();
  const startMs = Date.now();
  let lastConsumedMs = startMs;
  let rebalanceTimeMs = 0;
  let timedOut = false;
  const done = () => {
    const now = Date.now();
    if (records >= options.messages) return true;
    if (options.durationMs !== undefined && now - startMs >= options.durationMs) return true;
    if (now - lastConsumedMs > options.timeoutMs) {
      timedOut = true;
      return true;
    }
    return false;
  };
  const window = { startMs, records: 0, bytes: 0, rebalanceMs: 0 };
  // As Kafka's tool: a row once the interval has passed, checked when a poll brought records (no rows while idle).
  const maybeReport = () => {
    const now = Date.now();
    if (now - window.startMs < options.reportIntervalMs) return;
    const elapsed = now - window.startMs;
    const fetchTimeMs = elapsed - window.rebalanceMs;
    const mb = (bytes - window.bytes) / MIB;
    const n = records - window.records;
    options.onProgress?.({
      endMs: now,
      records,
      bytes,
      mbPerSec: (1000 * mb) / elapsed,
      recordsPerSec: (1000 * n) / elapsed,
      rebalanceTimeMs: window.rebalanceMs,
      fetchTimeMs,
      fetchMbPerSec: fetchTimeMs <= 0 ? 0 : (1000 * mb) / fetchTimeMs,
      fetchRecordsPerSec: fetchTimeMs <= 0 ? 0 : (1000 * n) / fetchTimeMs,
    });
    window.startMs = now;
    window.records = records;
    window.bytes = bytes;
    window.rebalanceMs = 0;
  };
  const connect = async () => {
    const client = await KafkaClient.connect({ bootstrapServers: options.bootstrapServers, clientId: options.clientId, connectTimeoutMs: options.connectTimeoutMs });
    clients.push(client);
    return client;
  };
  try {
    if (options.group !== null) {
      const member = new GroupConsumer(await connect(), {
        groupId: options.group,
        topic: options.topic,
        clientId: options.clientId,
        groupInstanceId: null,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 45_000,
        rebalanceTimeoutMs: 300_000,
        heartbeatIntervalMs: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 45_000) / 3)),
        autoOffsetReset: options.fromLatest ? 'latest' : 'earliest',
        autoCommit: true,
        autoCommitIntervalMs: 5000,
        isolationLevel: 0,
        fetchMaxBytes: options.fetchMaxBytes,
        partitionMaxBytes: options.fetchSize,
        requestTimeoutMs: 30_000,
        warn: options.warn,
        onBatch,
      });
      groupMembers.push(member);
      let joined = false;
      while (!done()) {
        const before = records;
        await member.poll(POLL_WAIT_MS);
        if (!joined && member.generation >= 0) {
          joined = true;
          rebalanceTimeMs = Date.now() - startMs;
          window.rebalanceMs += rebalanceTimeMs;
        }
        if (records > before) {
          lastConsumedMs = Date.now();
          maybeReport();
        }
      }
    } else {
      const first = await connect();
      let shares: Array<number[] | null> = [null];
      if (options.connections > 1) {
        const metadata = await first.metadata([options.topic], false);
        const count = metadata.topics.find((t) => t.name === options.topic && t.errorCode === 0)?.partitions.length ?? 0;
        if (count > 1) {
          const n = Math.min(options.connections, count);
          shares = Array.from({ length: n }, (_, c) => Array.from({ length: count }, (_, p) => p).filter((p) => p % n === c));
        }
      }
      const fetchers: TopicConsumer[] = [];
      for (let i = 0; i < shares.length; i++) {
        fetchers.push(
          new TopicConsumer(i === 0 ? first : await connect(), {
            topic: options.topic,
            partitions: shares[i],
            start: options.fromLatest ? 'latest' : 'earliest',
            resetTo: options.fromLatest ? 'latest' : 'earliest',
            isolationLevel: 0,
            fetchMaxBytes: options.fetchMaxBytes,
            partitionMaxBytes: options.fetchSize,
            requestTimeoutMs: 30_000,
            onBatch,
          }),
        );
      }
      await Promise.all(
        fetchers.map(async (f) => {
          while (!done()) {
            const before = records;
            await f.poll(POLL_WAIT_MS);
            if (records > before) {
              lastConsumedMs = Date.now();
              maybeReport();
            }
          }
        }),
      );
    }
  } finally {
    for (const m of groupMembers) await m.close().catch(() => undefined);
    for (const c of clients) c.close();
  }
  const endMs = Date.now();
  const cpu = process.cpuUsage(cpuStart);
  const elapsedSec = (endMs - startMs) / 1000;
  const fetchTimeMs = endMs - startMs - rebalanceTimeMs;
  const mb = bytes / MIB;
  return {
    startMs,
    endMs,
    records,
    bytes,
    batches,
    mb,
    mbPerSec: mb / elapsedSec,
    recordsPerSec: records / elapsedSec,
    rebalanceTimeMs,
    fetchTimeMs,
    fetchMbPerSec: fetchTimeMs > 0 ? mb / (fetchTimeMs / 1000) : 0,
    fetchRecordsPerSec: fetchTimeMs > 0 ? records / (fetchTimeMs / 1000) : 0,
    timedOut,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    cpuMsPerGiB: bytes > 0 ? (cpu.user + cpu.system) / 1000 / (bytes / (1024 * MIB)) : 0,
  };
}
