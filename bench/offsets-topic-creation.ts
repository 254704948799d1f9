// How long the first FindCoordinator (which creates `__consumer_offsets`, 50
// partitions by default) blocks the event loop: the max event-loop delay
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution) while a broker in this
// process creates the topic, the longest round trip of ApiVersions requests
// sent back to back on a second connection meanwhile (what other clients
// see), and how long until FindCoordinator is answered.
//
//   npx tsx bench/offsets-topic-creation.ts [runs=5] [partitions=50]
//
// Each run uses a fresh data dir under $TMPDIR (so the disk's fsync cost is
// what it measures) and a fresh broker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Broker } from '../src/broker/broker.js';
import { BrokerConnection } from '../src/client/connection.js';
import { ApiKey, type ApiVersionsResponse, type FindCoordinatorResponse } from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';

const runs = Number(process.argv[2] ?? 5);
const partitions = process.argv[3] ?? '50';

async function once(): Promise<{ maxDelayMs: number; p99DelayMs: number; maxPingMs: number; answerMs: number; createdMs: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-offsets-create-'));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { 'offsets.topic.num.partitions': partitions } });
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'bench' });
  const other = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'bench-other' });
  let pinging = true;
  let maxPingMs = 0;
  const pings = (async () => {
    while (pinging) {
      const sent = performance.now();
      await other.request<ApiVersionsResponse>(ApiKey.ApiVersions, () => ({ clientSoftwareName: 'bench', clientSoftwareVersion: '1' }));
      maxPingMs = Math.max(maxPingMs, performance.now() - sent);
    }
  })();
  try {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    await new Promise((r) => setTimeout(r, 100));
    histogram.enable();
    const started = performance.now();
    const response = await conn.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, () => ({ keyType: 0, coordinatorKeys: ['bench-group'] }));
    const answerMs = performance.now() - started;
    const errorCode = response.coordinators![0].errorCode;
    // Wait until every partition exists on disk, so the whole creation is inside the window.
    let createdMs = answerMs;
    for (;;) {
      const dirs = fs.readdirSync(dataDir).filter((d) => d.startsWith('__consumer_offsets-'));
      if (dirs.length === Number(partitions) && dirs.every((d) => fs.existsSync(path.join(dataDir, d, 'partition.metadata')))) break;
      await new Promise((r) => setTimeout(r, 5));
      createdMs = performance.now() - started;
    }
    await new Promise((r) => setTimeout(r, 100));
    histogram.disable();
    pinging = false;
    await pings;
    if (errorCode !== 0) throw new Error(`FindCoordinator answered ${errorCode}`);
    return { maxDelayMs: histogram.max / 1e6, p99DelayMs: histogram.percentile(99) / 1e6, maxPingMs, answerMs, createdMs };
  } finally {
    pinging = false;
    other.close();
    conn.close();
    await broker.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const fmt = (n: number) => n.toFixed(1).padStart(7);
console.log(`__consumer_offsets creation, ${partitions} partitions, ${runs} runs (node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg()[0].toFixed(1)})`);
console.log('  max loop delay ms   p99 ms   max ApiVersions RTT ms   FindCoordinator answered ms   all partitions on disk ms');
for (const r of results) console.log(`  ${fmt(r.maxDelayMs)}          ${fmt(r.p99DelayMs)}   ${fmt(r.maxPingMs)}                ${fmt(r.answerMs)}                       ${fmt(r.createdMs)}`);
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
console.log(`  median: max delay ${median(results.map((r) => r.maxDelayMs))} ms, max RTT ${median(results.map((r) => r.maxPingMs))} ms`);
