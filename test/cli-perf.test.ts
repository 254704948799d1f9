// `samsa perf produce|consume|sink` as real processes against a broker
// started here: what the producer load test reports is checked against the
// segment files on disk (record counts, the codec really used), and the
// consumer load test must count exactly what was produced, with and without
// a group. Output shapes are Kafka's (ProducerPerformance /
// ConsumerPerformance); --json must carry the same figures.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { LatencyHistogram, bucketOf, highestValueOf } from '../src/perf/histogram.js';
import { buildProduceFrame } from '../src/perf/produce-frame.js';
import { Reader } from '../src/protocol/codec.js';
import { API_REGISTRY, decodeRequestHeader, requestHeaderVersion, type ProduceRequest } from '../src/protocol/generated/index.js';
import { buildRecordBatch, iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { runCli, startCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

const run = promisify(execFile);
const kcat = fs.existsSync('/usr/bin/kcat') ? '/usr/bin/kcat' : null;

let broker: Broker;
let dataDir: string;
let bootstrap: string;

beforeAll(async () => {
  dataDir = tempDir('samsa-cli-perf-');
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  bootstrap = `127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Batch headers of every segment of every partition of `topic`, from disk. */
function batchesOnDisk(topic: string) {
  const headers = [];
  for (const dir of fs.readdirSync(dataDir).filter((d) => d.startsWith(`${topic}-`) && /^\d+$/.test(d.slice(topic.length + 1)))) {
    for (const file of fs.readdirSync(path.join(dataDir, dir)).filter((f) => f.endsWith('.log'))) {
      for (const { header } of iterateBatchHeaders(fs.readFileSync(path.join(dataDir, dir, file)))) headers.push({ ...header, dir });
    }
  }
  return headers;
}

// Kafka's ProducerPerformance.printTotal format.
const SUMMARY = /^(\d+) records sent, (\d+\.\d{6}) records\/sec \((\d+\.\d{2}) MB\/sec\), (\d+\.\d{2}) ms avg latency, (\d+\.\d{2}) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;
// Kafka's printWindow format.
const PROGRESS = /^\d+ records sent, \d+\.\d records\/sec \(\d+\.\d{2} MB\/sec\), \d+\.\d ms avg latency, \d+\.\d ms max latency\.$/;
const DATE = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}:\\d{3}';
const CONSUME_LINE = new RegExp(`^${DATE}, ${DATE}, \\d+\\.\\d{4}, \\d+\\.\\d{4}, (\\d+), \\d+\\.\\d{4}, (\\d+), (\\d+), \\d+\\.\\d{4}, \\d+\\.\\d{4}$`);
const CONSUME_HEADER = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';

const perfProduce = (...args: string[]) => runCli(['perf', 'produce', '--bootstrap-server', bootstrap, ...args]);
const perfConsume = (...args: string[]) => runCli(['perf', 'consume', '--bootstrap-server', bootstrap, ...args]);

describe('samsa perf produce', { timeout: 300_000 }, () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    for (const acks of ['0', '1', 'all'] as const) {
      it(`writes exactly N records with ${codec} compression and acks=${acks}`, async () => {
        const topic = `perf-${codec}-${acks}`;
        // 1000 records of 100 bytes in 2 KiB batches: many batches, and a tail batch that is not full.
        const r = await perfProduce('--topic', topic, '--num-records', '1003', '--record-size', '100', '--throughput', '-1', '--partitions', '3', '--connections', '2', '--producer-props', `acks=${acks}`, 'batch.size=2048', `compression.type=${codec}`);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const lines = r.stdout.trimEnd().split('\n');
        const m = SUMMARY.exec(lines[lines.length - 1]);
        expect(m, r.stdout).not.toBeNull();
        expect(Number(m![1])).toBe(1003);
        // acks=0 has no acknowledgement to wait for: the log may fill a moment later.
        let batches = batchesOnDisk(topic);
        for (let i = 0; i < 100 && batches.reduce((n, b) => n + b.recordsCount, 0) < 1003; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          batches = batchesOnDisk(topic);
        }
        expect(batches.reduce((n, b) => n + b.recordsCount, 0)).toBe(1003);
        expect(new Set(batches.map((b) => b.compression))).toEqual(new Set([codec]));
        expect(new Set(batches.map((b) => b.dir)).size).toBe(3);
        // 2048-byte batches hold at most 17 records of 100 bytes.
        expect(Math.max(...batches.map((b) => b.recordsCount))).toBeLessThanOrEqual(17);
        // An independent client (librdkafka) decodes the batches: 100-byte values of A-Z.
        if (kcat && acks === '1') {
          const { stdout } = await run(kcat, ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-c', '3', '-e', '-q', '-f', '%s\n']);
          expect(stdout).toMatch(/^([A-Z]{100}\n){3}$/);
        }
      });
    }
  }

  it('prints --json with the summary figures, and the consumer counts the same records', async () => {
    const topic = 'perf-json';
    const r = await perfProduce('--topic', topic, '--num-records', '5000', '--record-size', '512', '--partitions', '4', '--json', '--max-in-flight', '3', '--producer-props', 'acks=1', 'linger.ms=0');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ records: 5000, failed: 0, bytes: 5000 * 512, partitions: 4, compression: 'none', acks: 1, recordSize: 512 });
    for (const key of ['recordsPerSec', 'mbPerSec', 'avgLatencyMs', 'maxLatencyMs', 'p50Ms', 'p95Ms', 'p99Ms', 'p999Ms', 'cpuUserMs', 'cpuSystemMs', 'cpuMsPerGiB', 'elapsedMs', 'wireBytes']) {
      expect(typeof result[key], key).toBe('number');
    }
    expect(result.p50Ms).toBeLessThanOrEqual(result.p99Ms);
    expect(result.p99Ms).toBeLessThanOrEqual(result.maxLatencyMs);
    expect(result.wireBytes).toBeGreaterThan(5000 * 512);

    const c = await perfConsume('--topic', topic, '--messages', '5000', '--json', '--timeout', '20000', '--connections', '2');
    expect(c.code).toBe(0);
    const consumed = JSON.parse(c.stdout);
    expect(consumed).toMatchObject({ records: 5000, timedOut: false, rebalanceTimeMs: 0 });
    // Batch bytes: the values plus record and batch framing.
    expect(consumed.bytes).toBeGreaterThan(5000 * 512);
    expect(consumed.bytes).toBe(batchesOnDisk(topic).reduce((n, b) => n + b.sizeInBytes, 0));
  });

  it('roughly honours --throughput, and prints progress lines in Kafka format', async () => {
    const topic = 'perf-capped';
    // 600 records at 300/s: about 2 s; progress every 500 ms.
    const r = await perfProduce('--topic', topic, '--num-records', '600', '--record-size', '64', '--throughput', '300', '--reporting-interval', '500', '--json', '--producer-props', 'acks=1', 'linger.ms=20');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.records).toBe(600);
    // Within a factor of 2 of the cap; no tighter timing claim on a shared machine.
    expect(result.recordsPerSec).toBeLessThan(600);
    expect(result.recordsPerSec).toBeGreaterThan(150);
    // linger.ms=20 at 300/s: 6 records per batch.
    expect(result.recordsPerBatch).toBe(6);
    const progress = r.stderr.trimEnd().split('\n').filter((l) => l !== '');
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) expect(line).toMatch(PROGRESS);
  });

  it('runs for --duration without --num-records', async () => {
    const r = await perfProduce('--topic', 'perf-duration', '--duration', '1', '--record-size', '100', '--throughput', '2000', '--json', '--producer-props', 'acks=1');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(result.records).toBeGreaterThan(0);
    expect(result.records).toBeLessThanOrEqual(2 * 2000);
    expect(batchesOnDisk('perf-duration').reduce((n, b) => n + b.recordsCount, 0)).toBe(result.records);
  });

  it('prints metrics with --print-metrics', async () => {
    const r = await perfProduce('--topic', 'perf-metrics', '--num-records', '100', '--record-size', '10', '--print-metrics', '--producer-props', 'acks=1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^producer-metrics:record-send-rate:\{client-id=perf-producer-client\} +: \d+\.\d{3}$/m);
    expect(r.stdout).toMatch(/^producer-metrics:request-total:\{client-id=perf-producer-client\} +: \d+\.\d{3}$/m);
  });

  it('fails with Kafka-like usage errors and exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--num-records', '10', '--record-size', '10'], /producer-performance: error: argument --topic is required/],
      [['--topic', 't', '--record-size', '10'], /argument --num-records is required/],
      [['--topic', 't', '--num-records', '10'], /argument --record-size is required/],
      [['--topic', 't', '--num-records', '0', '--record-size', '10'], /--num-records should be greater than zero/],
      [['--topic', 't', '--num-records', '10', '--record-size', '-1'], /--record-size should be greater than zero/],
      [['--topic', 't', '--num-records', 'x', '--record-size', '10'], /Cannot parse argument 'x' of option num-records/],
      [['--topic', 't', '--num-records', '10', '--record-size', '10', '--producer-props', 'acks=2'], /Invalid value 2 for configuration acks: String must be one of: all, -1, 0, 1/],
      [['--topic', 't', '--num-records', '10', '--record-size', '10', '--producer-props', 'compression.type=brotli'], /Invalid value brotli for configuration compression.type/],
      [['--topic', 't', '--num-records', '10', '--record-size', '10', '--producer-props', 'linger.ms'], /Invalid property: linger.ms/],
      [['--topic', 't', '--num-records', '10', '--record-size', '10', '--bogus'], /bogus is not a recognized option/],
    ];
    for (const [args, message] of cases) {
      const r = await perfProduce(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    const c = await perfConsume('--topic', 't');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^Missing required argument "\[messages\]"/);
    const unknown = await runCli(['perf', 'frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown subcommand "frobnicate"/);
  });

  it('ends with an error naming the broker when none is reachable', async () => {
    const r = await runCli(['perf', 'produce', '--bootstrap-server', '127.0.0.1:1', '--topic', 't', '--num-records', '1', '--record-size', '1'], { env: { SAMSA_CONNECT_TIMEOUT_MS: '2000' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: cannot connect to 127\.0\.0\.1:1/);
  });
});

describe('samsa perf consume', { timeout: 300_000 }, () => {
  it('counts exactly N records without a group and with one, in Kafka\'s columns', async () => {
    const topic = 'perf-consume';
    const p = await perfProduce('--topic', topic, '--num-records', '3000', '--record-size', '200', '--partitions', '3', '--producer-props', 'acks=all', 'compression.type=lz4');
    expect(p.code).toBe(0);

    const direct = await perfConsume('--topic', topic, '--messages', '3000', '--timeout', '20000');
    expect(direct.code).toBe(0);
    const [header, line] = direct.stdout.trimEnd().split('\n');
    expect(header).toBe(CONSUME_HEADER);
    const m = CONSUME_LINE.exec(line);
    expect(m, direct.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(3000);

    const grouped = await perfConsume('--topic', topic, '--messages', '3000', '--timeout', '20000', '--group', 'perf-group', '--json');
    expect(grouped.code).toBe(0);
    const result = JSON.parse(grouped.stdout);
    expect(result).toMatchObject({ records: 3000, timedOut: false });
    expect(result.rebalanceTimeMs).toBeGreaterThan(0);
    expect(result.fetchTimeMs + result.rebalanceTimeMs).toBe(result.endMs - result.startMs);

    // The group committed what it counted: a second run of the same group finds nothing left and times out.
    const again = await perfConsume('--topic', topic, '--messages', '1', '--timeout', '1500', '--group', 'perf-group', '--json');
    expect(again.code).toBe(0);
    const [warning, json] = again.stdout.trimEnd().split('\n');
    expect(warning).toBe('WARNING: Exiting before consuming the expected number of messages: timeout (1500 ms) exceeded. You can use the --timeout option to increase the timeout.');
    expect(JSON.parse(json)).toMatchObject({ records: 0, timedOut: true });
  });

  it('reads only new records with --from-latest and prints detailed stats', async () => {
    const topic = 'perf-latest';
    expect((await perfProduce('--topic', topic, '--num-records', '500', '--record-size', '50', '--producer-props', 'acks=1')).code).toBe(0);
    const consumer = startCli(['perf', 'consume', '--bootstrap-server', bootstrap, '--topic', topic, '--messages', '200', '--from-latest', '--timeout', '60000', '--show-detailed-stats', '--reporting-interval', '200', '--json']);
    let exited = false;
    void consumer.exited.then(() => (exited = true));
    // When the consumer looks up the latest offsets is its business: keep producing until it has its 200 records.
    for (let runs = 0; !exited && runs < 30; runs++) {
      expect((await perfProduce('--topic', topic, '--num-records', '100', '--record-size', '50', '--producer-props', 'acks=1')).code).toBe(0);
    }
    const r = await consumer.exited;
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    // From the latest offset: at least the 200 asked for, never the 500 written before it started.
    expect(result.records).toBeGreaterThanOrEqual(200);
    expect(result.records).toBeLessThan(500);
    expect(result.timedOut).toBe(false);
    // Kafka's detailed rows (to stderr with --json): time, threadId, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
    const rows = r.stderr.trimEnd().split('\n').map((l) => l.split(', '));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) {
      expect(row).toHaveLength(10);
      expect(row[0]).toMatch(new RegExp(`^${DATE}$`));
      expect(row[1]).toBe('0');
      expect(Number(row[4])).toBeGreaterThan(0);
    }
  });
});

describe('samsa perf sink', { timeout: 120_000 }, () => {
  it('acknowledges produce load and stores nothing', async () => {
    const sink = startCli(['perf', 'sink', '--port', '0', '--partitions', '2']);
    for (let i = 0; i < 600 && !/listening/.test(sink.stdout()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const port = /Sink listening on 127\.0\.0\.1:(\d+)/.exec(sink.stdout())?.[1];
    expect(port).toBeDefined();
    const r = await runCli(['perf', 'produce', '--bootstrap-server', `127.0.0.1:${port}`, '--topic', 'x', '--num-records', '20000', '--record-size', '100', '--partitions', '4', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 20000, failed: 0, partitions: 4 });
    const stopped = await sink.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/Sink stopped: \d+ produce requests, 20000 records/);
  });
});

describe('load generator internals', () => {
  it('lays out Produce frames that the generated decoder reads back', () => {
    const batch = buildRecordBatch([{ value: 'a' }, { value: 'bb' }]);
    for (const version of [3, 8, 9, 11]) {
      const { frame, entries } = buildProduceFrame({ version, clientId: 'c', acks: -1, timeoutMs: 1234, topic: 'topic-x', batches: [batch, batch], recordCounts: [2, 2] });
      frame.writeInt32BE(7, entries[1].partitionAt);
      expect(frame.readInt32BE(0)).toBe(frame.length - 4);
      const r = new Reader(frame, 4);
      decodeRequestHeader(r, requestHeaderVersion(0, version));
      const request = API_REGISTRY.get(0)!.request.decode(r, version) as ProduceRequest;
      expect(r.ok && r.pos === frame.length).toBe(true);
      expect(request).toMatchObject({ acks: -1, timeoutMs: 1234, transactionalId: null });
      expect(request.topicData[0].name).toBe('topic-x');
      expect(request.topicData[0].partitionData.map((p) => p.index)).toEqual([0, 7]);
      expect(request.topicData[0].partitionData.map((p) => Buffer.compare(p.records!, batch))).toEqual([0, 0]);
    }
  });

  it('keeps percentiles within 1/128 of the true value', () => {
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const v = Math.floor(Math.exp(Math.random() * 14));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 95, 99, 99.9]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1];
      const got = h.percentileUs(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * (1 + 1 / 128) + 1);
    }
    expect(h.maxUs).toBe(values[values.length - 1]);
    for (const v of [0, 255, 256, 1000, 123456, 2 ** 31 - 1]) expect(highestValueOf(bucketOf(v))).toBeGreaterThanOrEqual(v);
  });
});
