// The Prometheus endpoint of a running broker: scraped over HTTP before and
// after kafkajs traffic, the request, byte, error, latency, connection,
// partition and log-size series move as the traffic says they should.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A port that was free a moment ago (metrics.port 0 means "off", so the test picks one). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function get(port: number, urlPath: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

/** The value of one sample, e.g. sample(text, 'samsa_requests_total', { api: 'Produce' }); 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return 0;
}

async function startBroker(properties: Record<string, string> = {}): Promise<Broker> {
  const dataDir = tempDir('samsa-metrics-');
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  // Another process may take the port between freePort() and the bind; try a few.
  for (let attempt = 0; ; attempt++) {
    try {
      const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { ...properties, 'metrics.port': String(await freePort()) } });
      cleanups.push(() => broker.close());
      return broker;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

describe('Prometheus /metrics', () => {
  it('counts requests, bytes, errors and latency per API, and reports connections, partitions and log sizes', async () => {
    const broker = await startBroker();
    const metricsPort = broker.metricsPort!;
    expect(metricsPort).toBeGreaterThan(0);

    const before = await get(metricsPort, '/metrics');
    expect(before.status).toBe(200);
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(before.body, 'samsa_requests_total', { api: 'Produce' })).toBe(0);
    expect(sample(before.body, 'samsa_partitions')).toBe(0);
    expect(before.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect((await get(metricsPort, '/other')).status).toBe(404);

    const kafka = new Kafka({ clientId: 'metrics-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    const admin = kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'metered', numPartitions: 2 }] })).toBe(true);
    // An existing topic: CreateTopics answers TOPIC_ALREADY_EXISTS, counted as an error of that API.
    expect(await admin.createTopics({ topics: [{ topic: 'metered' }] })).toBe(false);
    const producer = kafka.producer();
    cleanups.push(() => producer.disconnect());
    await producer.connect();
    const value = 'x'.repeat(1000);
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic: 'metered', acks: 1, messages: [{ partition: 0, value }, { partition: 1, value }] });
    }

    const during = (await get(metricsPort, '/metrics')).body;
    // kafkajs sends one Produce per send() here (both partitions live on this broker).
    expect(sample(during, 'samsa_requests_total', { api: 'Produce' })).toBe(5);
    expect(sample(during, 'samsa_requests_total', { api: 'CreateTopics' })).toBe(2);
    expect(sample(during, 'samsa_requests_total', { api: 'ApiVersions' })).toBeGreaterThanOrEqual(1);
    expect(sample(during, 'samsa_request_errors_total', { api: 'CreateTopics', error: 'TOPIC_ALREADY_EXISTS' })).toBe(1);
    expect(sample(during, 'samsa_request_errors_total', { api: 'Produce' })).toBe(0);
    // Ten 1000-byte values went in; the request bytes include them plus framing.
    expect(sample(during, 'samsa_network_received_bytes_total', { api: 'Produce' })).toBeGreaterThan(10 * 1000);
    expect(sample(during, 'samsa_network_sent_bytes_total', { api: 'Produce' })).toBeGreaterThan(0);
    expect(sample(during, 'samsa_request_duration_seconds_count', { api: 'Produce' })).toBe(5);
    expect(sample(during, 'samsa_request_duration_seconds_bucket', { api: 'Produce', le: '+Inf' })).toBe(5);
    expect(sample(during, 'samsa_request_duration_seconds_sum', { api: 'Produce' })).toBeGreaterThan(0);
    // kafkajs keeps its connections open: at least the producer's and the admin's.
    expect(sample(during, 'samsa_connections_open')).toBeGreaterThanOrEqual(2);
    expect(sample(during, 'samsa_partitions')).toBe(2);
    for (const partition of ['0', '1']) {
      expect(sample(during, 'samsa_log_size_bytes', { topic: 'metered', partition })).toBeGreaterThan(5 * 1000);
    }

    // Connections closed by the clients disappear from the gauge.
    await producer.disconnect();
    await admin.disconnect();
    const closedDeadline = Date.now() + 30_000;
    let open = Infinity;
    while (Date.now() < closedDeadline) {
      open = sample((await get(metricsPort, '/metrics')).body, 'samsa_connections_open');
      if (open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(open).toBe(0);

    // close() also stops the endpoint.
    await broker.close();
    await expect(get(metricsPort, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });

  it("reports the log cleaner's gauges (Kafka's LogCleaner metrics) after a clean", async () => {
    const broker = await startBroker({ 'log.cleaner.backoff.ms': '3600000' });
    const metricsPort = broker.metricsPort!;
    const idle = (await get(metricsPort, '/metrics')).body;
    expect(idle).toMatch(/^samsa_log_cleaner_max_clean_time_secs 0$/m);
    expect(sample(idle, 'samsa_log_cleaner_cleans_total')).toBe(0);

    const kafka = new Kafka({ clientId: 'metrics-cleaner', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'compacted', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    // 10 keys written 20 times over: most of what is read is not copied. The roll makes it cleanable.
    for (let round = 0; round < 20; round++) {
      await producer.send({ topic: 'compacted', messages: Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `round-${round}-${'x'.repeat(100)}` })) });
    }
    broker.logs.getLog('compacted', 0)!.roll();
    const result = await broker.logs.cleaner!.cleanOnce();
    expect(result).not.toBeNull();

    const text = (await get(metricsPort, '/metrics')).body;
    expect(sample(text, 'samsa_log_cleaner_cleans_total')).toBe(1);
    expect(sample(text, 'samsa_log_cleaner_read_bytes_total')).toBe(result!.bytesRead);
    expect(sample(text, 'samsa_log_cleaner_written_bytes_total')).toBe(result!.bytesWritten);
    const recopy = sample(text, 'samsa_log_cleaner_cleaner_recopy_percent');
    expect(recopy).toBeCloseTo((result!.bytesWritten / result!.bytesRead) * 100, 6);
    expect(recopy).toBeGreaterThan(0);
    expect(recopy).toBeLessThan(50);
    expect(sample(text, 'samsa_log_cleaner_max_buffer_utilization_percent')).toBeGreaterThan(0);
    expect(sample(text, 'samsa_log_cleaner_max_clean_time_secs')).toBeGreaterThan(0);
    expect(sample(text, 'samsa_log_cleaner_max_dirty_percent')).toBeGreaterThan(50);
    expect(sample(text, 'samsa_log_cleaner_uncleanable_partitions_count', { log_dir: broker.config.logDirs[0] })).toBe(0);
    expect(text).toMatch(/^samsa_log_cleaner_uncleanable_partitions_count\{log_dir="[^"]+"\} 0$/m);
  });

  it('is off unless metrics.port is set', async () => {
    const dataDir = tempDir('samsa-metrics-');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
    cleanups.push(() => broker.close());
    expect(broker.metricsPort).toBeNull();
  });
});
