// The Prometheus endpoint (`GET /metrics` on metrics.port). prom-client is
// loaded only when the endpoint is turned on, so an idle broker without it
// does not carry the library.
//
// Request metrics are updated from the dispatcher's observer, once per
// request (never per record); gauges (connections, partitions, log sizes) are
// read from the broker when Prometheus scrapes, so they cost nothing between
// scrapes. Each broker has its own registry: several brokers can share a process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode } from '../protocol/error-codes.js';
import { API_REGISTRY } from '../protocol/generated/index.js';
import type { RequestObserver, RequestOutcome } from '../net/dispatcher.js';
import type { LogLogger } from '../storage/log.js';
import type { CleanerStats } from '../storage/log-cleaner.js';

/** What the gauges read at scrape time. */
export interface MetricsSources {
  openConnections(): number;
  partitionLogs(): Iterable<{ readonly topic: string; readonly partition: number; readonly size: number }>;
  /** The fetch session cache (Kafka's NumIncrementalFetchSessions, ...PartitionsCached, ...EvictionsPerSec). */
  fetchSessions?(): { readonly size: number; readonly partitionCount: number; readonly evictionCount: number };
  /** The log cleaner's gauges (Kafka's LogCleaner / LogCleanerManager metrics); null when log.cleaner.enable is false. */
  logCleaner?(): CleanerStats | null;
}

export interface MetricsOptions {
  host: string;
  port: number;
  sources: MetricsSources;
  logger: LogLogger;
}

// Seconds; from sub-millisecond Metadata answers up to long-polled Fetches (max_wait_ms).
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Error codes sit at most a few levels down (response > topics > partitions); the bound keeps a walk cheap.
const ERROR_WALK_DEPTH_MAX = 4;
const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

export class BrokerMetrics implements RequestObserver {
  private constructor(
    readonly registry: Registry,
    private readonly server: http.Server,
    private readonly requests: Counter<'api'>,
    private readonly errors: Counter<'api' | 'error'>,
    private readonly bytesIn: Counter<'api'>,
    private readonly bytesOut: Counter<'api'>,
    private readonly latency: Histogram<'api'>,
  ) {}

  static async start(options: MetricsOptions): Promise<BrokerMetrics> {
    const prom = await import('prom-client');
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    const { sources } = options;
    const requests = new prom.Counter({ name: 'samsa_requests_total', help: 'Requests handled, per API', labelNames: ['api'], registers: [registry] });
    const errors = new prom.Counter({
      name: 'samsa_request_errors_total',
      help: 'Error codes in responses (top-level and per topic/partition), per API and Kafka error name; failed requests count as INVALID_REQUEST or UNKNOWN_SERVER_ERROR',
      labelNames: ['api', 'error'],
      registers: [registry],
    });
    const bytesIn = new prom.Counter({ name: 'samsa_network_received_bytes_total', help: 'Request bytes received (frames with their size prefix), per API', labelNames: ['api'], registers: [registry] });
    const bytesOut = new prom.Counter({ name: 'samsa_network_sent_bytes_total', help: 'Response bytes sent (frames with their size prefix, records included), per API', labelNames: ['api'], registers: [registry] });
    const latency = new prom.Histogram({
      name: 'samsa_request_duration_seconds',
      help: 'Time from a request frame reaching the dispatcher to its response being ready to send (Fetch includes its long-poll wait), per API',
      labelNames: ['api'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    });
    new prom.Gauge({
      name: 'samsa_connections_open',
      help: 'Client connections currently open',
      registers: [registry],
      collect(this: Gauge) {
        this.set(sources.openConnections());
      },
    });
    new prom.Gauge({
      name: 'samsa_partitions',
      help: 'Partition logs hosted by this broker',
      registers: [registry],
      collect(this: Gauge) {
        let count = 0;
        for (const _ of sources.partitionLogs()) count++;
        this.set(count);
      },
    });
    new prom.Gauge({
      name: 'samsa_log_size_bytes',
      help: 'Bytes of all segments of a partition log',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect(this: Gauge<'topic' | 'partition'>) {
        // Deleted partitions must disappear, not keep their last value.
        this.reset();
        for (const log of sources.partitionLogs()) this.set({ topic: log.topic, partition: String(log.partition) }, log.size);
      },
    });
    const fetchSessions = sources.fetchSessions?.bind(sources);
    if (fetchSessions) {
      new prom.Gauge({
        name: 'samsa_fetch_sessions',
        help: 'Incremental fetch sessions (KIP-227) in the cache',
        registers: [registry],
        collect(this: Gauge) {
          this.set(fetchSessions().size);
        },
      });
      new prom.Gauge({
        name: 'samsa_fetch_session_partitions',
        help: 'Partitions remembered across all fetch sessions',
        registers: [registry],
        collect(this: Gauge) {
          this.set(fetchSessions().partitionCount);
        },
      });
      new prom.Counter({
        name: 'samsa_fetch_session_evictions_total',
        help: 'Fetch sessions evicted to make room for a new one',
        registers: [registry],
        collect(this: Counter) {
          // A counter read from the cache at scrape time: move it up to the cache's count.
          const now = fetchSessions().evictionCount;
          this.reset();
          this.inc(now);
        },
      });
    }
    const logCleaner = sources.logCleaner?.bind(sources);
    if (logCleaner) {
      // Kafka's names (kafka.log:type=LogCleaner,name=max-clean-time-secs, ...) with underscores.
      const gauge = (name: string, help: string, read: (s: CleanerStats) => number) =>
        new prom.Gauge({
          name: `samsa_log_cleaner_${name}`,
          help,
          registers: [registry],
          collect(this: Gauge) {
            const stats = logCleaner();
            if (stats !== null) this.set(read(stats));
          },
        });
      gauge('max_clean_time_secs', 'Longest of the last clean of each cleaner thread, in seconds', (s) => s.maxCleanTimeSecs);
      gauge('cleaner_recopy_percent', 'Bytes written over bytes read by the last cleans, averaged over the threads, in percent', (s) => s.cleanerRecopyPercent);
      gauge('max_buffer_utilization_percent', 'Fullest key -> offset map of the last cleans, in percent', (s) => s.maxBufferUtilizationPercent);
      gauge('max_compaction_delay_secs', 'How far past max.compaction.lag.ms the most delayed log of the last cleans was, in seconds', (s) => s.maxCompactionDelaySecs);
      gauge('max_dirty_percent', 'Highest dirty ratio among compacted logs when the cleaner last looked, in percent', (s) => s.maxDirtyPercent);
      gauge('time_since_last_run_ms', 'Milliseconds since a clean last finished', (s) => s.timeSinceLastRunMs);
      const perDir = (name: string, help: string, read: (s: CleanerStats) => Map<string, number>) =>
        new prom.Gauge({
          name: `samsa_log_cleaner_${name}`,
          help,
          labelNames: ['log_dir'],
          registers: [registry],
          collect(this: Gauge<'log_dir'>) {
            const stats = logCleaner();
            this.reset();
            if (stats !== null) for (const [dir, value] of read(stats)) this.set({ log_dir: dir }, value);
          },
        });
      perDir('uncleanable_partitions_count', 'Partitions the cleaner gave up on (until restart), per log dir', (s) => s.uncleanablePartitionsCount);
      perDir('uncleanable_bytes', 'Bytes of the partitions the cleaner gave up on, per log dir', (s) => s.uncleanableBytes);
      const counter = (name: string, help: string, read: (s: CleanerStats) => number) =>
        new prom.Counter({
          name: `samsa_log_cleaner_${name}`,
          help,
          registers: [registry],
          collect(this: Counter) {
            const stats = logCleaner();
            this.reset();
            if (stats !== null) this.inc(read(stats));
          },
        });
      counter('cleans_total', 'Cleans completed', (s) => s.cleansTotal);
      counter('read_bytes_total', 'Bytes the cleaner read while cleaning', (s) => s.bytesReadTotal);
      counter('written_bytes_total', 'Bytes the cleaner wrote (cleaned segments)', (s) => s.bytesWrittenTotal);
      counter('throttled_seconds_total', 'Time the cleaner slept for log.cleaner.io.max.bytes.per.second', (s) => s.throttledMsTotal / 1000);
    }
    const server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (req.method !== 'GET' || (url !== '/metrics' && !url.startsWith('/metrics?'))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Samsa serves Prometheus metrics at /metrics\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => {
          options.logger.warn(`metrics: collecting failed: ${err.message}`);
          res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host === '' ? '0.0.0.0' : options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // A Prometheus scraper should not keep the process alive on its own.
    server.unref();
    return new BrokerMetrics(registry, server, requests, errors, bytesIn, bytesOut, latency);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  observeRequest(outcome: RequestOutcome): void {
    // Unknown API keys share one label: a client cannot create unbounded series.
    const api = API_REGISTRY.get(outcome.apiKey)?.name ?? 'unknown';
    this.requests.inc({ api });
    this.bytesIn.inc({ api }, outcome.requestBytes);
    if (outcome.responseBytes > 0) this.bytesOut.inc({ api }, outcome.responseBytes);
    this.latency.observe({ api }, outcome.durationMs / 1000);
    if (outcome.error !== null) {
      const name = (outcome.error as Error)?.name === 'RequestError' ? 'INVALID_REQUEST' : 'UNKNOWN_SERVER_ERROR';
      this.errors.inc({ api, error: name });
    } else if (outcome.body !== null && typeof outcome.body === 'object') {
      countErrorCodes(outcome.body, 0, (code) => this.errors.inc({ api, error: ERROR_NAMES.get(code) ?? `code_${code}` }));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Calls `found` for each non-zero `errorCode` in a response body (records and other bytes are skipped). */
export function countErrorCodes(node: object, depth: number, found: (code: number) => void): void {
  if (ArrayBuffer.isView(node)) return;
  if (Array.isArray(node)) {
    if (depth >= ERROR_WALK_DEPTH_MAX) return;
    for (const item of node) if (item !== null && typeof item === 'object') countErrorCodes(item as object, depth + 1, found);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'errorCode') {
      if (typeof value === 'number' && value !== 0) found(value);
    } else if (value !== null && typeof value === 'object' && depth < ERROR_WALK_DEPTH_MAX) {
      countErrorCodes(value as object, depth + 1, found);
    }
  }
}
