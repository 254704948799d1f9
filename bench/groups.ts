// `npm run bench:groups`: consumer groups and compaction, as clients see
// them. Method and results: docs/perf.md ("Consumer groups and compaction");
// JSON with every sample: docs/perf/groups.json.
//
// Every scenario starts a fresh broker as `samsa server-start` in its own
// process (bench/e2e/broker-process.ts: CPU time from /proc/<pid>), runs one
// unrecorded warm-up pass, then --runs measured passes:
//
// - rebalance: 10 classic members (bench/groups/classic-member.ts: raw
//   JoinGroup/SyncGroup/Heartbeat on Samsa's client connection, range
//   assignor) over a 100-partition topic with group.initial.rebalance.delay.ms=0;
//   then an 11th member joins; then one member leaves. KIP-848 groups through
//   ConsumerGroupHeartbeat when the broker advertises it.
// - commit: OffsetCommit v8 of 1 or 100 partitions (one group per connection,
//   generation -1, one request in flight per connection, like commitSync),
//   sent by bench/e2e/c/loadgen.c in its `exact` mode, which checks every
//   answer against a reference answer. Beside it, Produce (acks=-1) of the same
//   records (the very key/value bytes the store writes) as one batch each.
// - compaction: a keyed log (1 KiB values, a tenth as many distinct keys as
//   records: 100k for 1 GiB) is produced with cleaning held off by
//   min.compaction.lag.ms, which is then set to 0 (IncrementalAlterConfigs):
//   the broker's cleaner cleans it while a probe connection times ApiVersions
//   round trips every 10 ms.
//
// Options: --quick (small sizes, smoke run), --runs N (default 3),
// --only rebalance,commit,compaction, --gib N (compaction log size),
// --cpu-prof DIR (profile every broker: node --cpu-prof; see docs/profiling.md),
// --no-write (do not touch docs/), --keep (keep the scratch dir and broker logs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeCoordinatorRecord } from '../src/coordinator/offsets-topic-records.js';
import { ApiKey, type IncrementalAlterConfigsResponse, type OffsetCommitRequest } from '../src/protocol/generated/index.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { BrokerProcess } from './e2e/broker-process.js';
import { createTopic, produceFrame, requestFrame, SimpleClient } from './e2e/protocol.js';
import { ClassicMember, RebalanceWatch, type MemberOptions } from './groups/classic-member.js';
import { runConsumerGroupRebalance } from './groups/consumer-member.js';
import { groupsReport, type GroupsReport } from './groups/report.js';
import { machineInfo, writeReportFiles } from './report-files.js';
import { pipelinedProduce, rawRequest } from './groups/wire.js';
import { formatResult, summarize, type BenchResult } from './storage/harness.js';
import { compileWriter, rawWriteOnce } from './storage/machine-limits.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = flag('--quick');
const runs = Number(option('--runs') ?? (quick ? 1 : 3));
const only = option('--only') ? new Set(option('--only')!.split(',')) : null;
const wants = (suite: string) => only === null || only.has(suite);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const compactionBytes = option('--gib') ? Number(option('--gib')) * GiB : quick ? 64 * MiB : GiB;
const cpuProfDir = option('--cpu-prof');
const writeDocs = !quick && !only && !flag('--no-write') && option('--gib') === undefined && cpuProfDir === undefined;

const scratch = path.join(process.env.BENCH_DIR ?? path.join(root, 'bench', 'results', 'scratch'), 'groups');
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });

// ---- helpers ----

const samples = new Map<string, { unit: string; values: number[]; params?: BenchResult['params'] }>();
function record(name: string, unit: string, value: number, params?: BenchResult['params']): void {
  let s = samples.get(name);
  if (!s) samples.set(name, (s = { unit, values: [], params }));
  s.values.push(value);
}
const notes: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.now();

let brokerCount = 0;
async function startBroker(properties: Record<string, string>): Promise<{ broker: BrokerProcess; dataDir: string }> {
  const dir = path.join(scratch, `broker-${brokerCount++}`);
  const dataDir = path.join(dir, 'data');
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfDir)}`] : [];
  const broker = await BrokerProcess.start({ dataDir, properties, logFile: path.join(dir, 'broker.log'), nodeArgs });
  return { broker, dataDir };
}

function compileLoadgen(): string {
  const binary = path.join(scratch, 'loadgen');
  execFileSync('cc', ['-O2', '-pthread', '-o', binary, path.join(root, 'bench', 'e2e', 'c', 'loadgen.c')], { stdio: 'inherit' });
  return binary;
}

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  error: string;
}

function runLoad(loadgen: string, mode: string, opts: Record<string, string | number>): LoadResult {
  const argv = [mode, ...Object.entries(opts).flatMap(([k, v]) => [`--${k}`, String(v)])];
  let out: string;
  try {
    out = execFileSync(loadgen, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`loadgen ${argv.join(' ')} failed: ${e.stdout ?? ''} ${e.stderr ?? ''}`);
  }
  const result = JSON.parse(out) as LoadResult;
  if (result.errors > 0) throw new Error(`loadgen ${mode}: ${result.errors} errors: ${result.error}`);
  return result;
}

/** Size of every file under `dir` whose path matches. */
function bytesUnder(dir: string, match: (p: string) => boolean): number {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(p, match);
    else if (match(p)) total += fs.statSync(p).size;
  }
  return total;
}

// ---- rebalance ----

const REBALANCE_MEMBERS = 10;
const REBALANCE_PARTITIONS = 100;
const HEARTBEAT_MS = 100;

async function classicRebalanceRun(port: number, groupId: string, topic: string, recordIt: boolean): Promise<void> {
  const options: MemberOptions = {
    port,
    groupId,
    topic,
    partitions: REBALANCE_PARTITIONS,
    heartbeatIntervalMs: HEARTBEAT_MS,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
  };
  const watch = new RebalanceWatch(REBALANCE_PARTITIONS);
  const members = await Promise.all(Array.from({ length: REBALANCE_MEMBERS + 1 }, (_, i) => ClassicMember.connect(options, watch, `bench-member-${i}`)));
  const first = members.slice(0, REBALANCE_MEMBERS);
  const extra = members[REBALANCE_MEMBERS];
  const params = { members: REBALANCE_MEMBERS, partitions: REBALANCE_PARTITIONS, heartbeatMs: HEARTBEAT_MS, assignor: 'range (leader)', 'group.initial.rebalance.delay.ms': 0 };
  try {
    // 1. Ten members join an empty group at once.
    let t0 = nowMs();
    const joined = first.map((m) => m.join());
    let generation = await watch.until(first, 0);
    await Promise.all(joined);
    const initialMs = nowMs() - t0;
    const joins = first.reduce((n, m) => n + m.joins, 0);
    // 2. An eleventh joins; the others hear of it on their next heartbeat and rejoin.
    t0 = nowMs();
    void extra.join();
    const before = generation;
    generation = await watch.until(members, before + 1);
    const joinMs = nowMs() - t0;
    const joinTail = nowMs() - Math.max(...members.map((m) => watch.lastJoinSentAt.get(m) ?? 0));
    // 3. One leaves (LeaveGroup); the other ten rejoin.
    const leaving = members[0];
    const staying = members.slice(1);
    t0 = nowMs();
    await leaving.leave();
    const leaveGeneration = generation;
    generation = await watch.until(staying, leaveGeneration + 1);
    const leaveMs = nowMs() - t0;
    const leaveTail = nowMs() - Math.max(...staying.map((m) => watch.lastJoinSentAt.get(m) ?? 0));
    if (recordIt) {
      record('rebalance.classic.initial', 'ms', initialMs, { ...params, from: 'first JoinGroup sent', to: 'all 10 SyncGroup answers of one generation' });
      record('rebalance.classic.initial.generations', 'count', before, params);
      record('rebalance.classic.initial.join-requests', 'count', joins, { ...params, note: 'MEMBER_ID_REQUIRED round trips included' });
      record('rebalance.classic.member-join', 'ms', joinMs, { ...params, from: "the 11th member's JoinGroup", to: 'all 11 re-assigned' });
      record('rebalance.classic.member-join.after-last-join', 'ms', joinTail, { ...params, from: 'the last JoinGroup of the final generation', to: 'all 11 re-assigned' });
      record('rebalance.classic.member-leave', 'ms', leaveMs, { ...params, from: 'LeaveGroup sent', to: 'the other 10 re-assigned' });
      record('rebalance.classic.member-leave.after-last-join', 'ms', leaveTail, { ...params, from: 'the last JoinGroup of the final generation', to: 'the other 10 re-assigned' });
    }
  } finally {
    for (const m of members) m.close();
  }
}

async function rebalanceSuite(): Promise<void> {
  const { broker } = await startBroker({ 'group.initial.rebalance.delay.ms': '0' });
  try {
    const client = await SimpleClient.connect(broker.port);
    const topic = 'rebalance-topic';
    try {
      await createTopic(client, topic, REBALANCE_PARTITIONS);
    } finally {
      client.close();
    }
    for (let run = -1; run < runs; run++) {
      await classicRebalanceRun(broker.port, `classic-${run + 1}`, topic, run >= 0);
      console.log(`rebalance classic run ${run < 0 ? 'warm-up' : `${run + 1}/${runs}`} done`);
    }
    const consumer = await runConsumerGroupRebalance(broker.port, topic, REBALANCE_MEMBERS, REBALANCE_PARTITIONS, runs, record);
    if (consumer !== null) notes.push(consumer);
  } finally {
    await broker.stop();
  }
}

// ---- commit ----

const COMMIT_TOPIC = 'commit-topic';
const COMMIT_TOPIC_PARTITIONS = 100;

function commitFrame(groupId: string, partitions: number): Buffer {
  const request: OffsetCommitRequest = {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: COMMIT_TOPIC,
        partitions: Array.from({ length: partitions }, (_, p) => ({
          partitionIndex: p,
          committedOffset: 1_000_000n + BigInt(p),
          committedLeaderEpoch: 0,
          commitTimestamp: -1n,
          committedMetadata: '',
        })),
      },
    ],
  };
  return requestFrame(ApiKey.OffsetCommit, 8, request);
}

/** The batch the store appends for such a commit: the same keys and values, one record per partition. */
function commitRecordsBatch(groupId: string, partitions: number): Buffer {
  const ts = Date.now();
  const records = Array.from({ length: partitions }, (_, p) => {
    const { key, value } = encodeCoordinatorRecord({
      type: 'offset',
      groupId,
      topic: COMMIT_TOPIC,
      partition: p,
      value: { offset: 1_000_000n + BigInt(p), leaderEpoch: 0, metadata: '', commitTimestampMs: ts, expireTimestampMs: null },
    });
    return { key, value, timestamp: ts };
  });
  return buildRecordBatch(records, { baseTimestamp: ts });
}

async function commitSuite(loadgen: string): Promise<void> {
  const { broker, dataDir } = await startBroker({});
  const configs = [
    { partitions: 1, conns: 1 },
    { partitions: 1, conns: 16 },
    { partitions: 100, conns: 1 },
    { partitions: 100, conns: 16 },
  ];
  const requestsFor = (partitions: number) => (partitions === 1 ? (quick ? 2000 : 20_000) : quick ? 200 : 2000);
  try {
    const client = await SimpleClient.connect(broker.port);
    try {
      await createTopic(client, COMMIT_TOPIC, COMMIT_TOPIC_PARTITIONS);
      await createTopic(client, 'commit-compare', 16);
    } finally {
      client.close();
    }
    for (const c of configs) {
      const tag = `${c.partitions}p.${c.conns}c`;
      const groups = Array.from({ length: c.conns }, (_, i) => `bench-commit-${tag}-${i}`);
      const commitFile = path.join(scratch, `commit-${tag}.bin`);
      fs.writeFileSync(commitFile, Buffer.concat(groups.map((g) => commitFrame(g, c.partitions))));
      const expectFile = path.join(scratch, `commit-${tag}.expect`);
      const expected = await rawRequest(broker.port, commitFrame(groups[0], c.partitions));
      fs.writeFileSync(expectFile, expected);
      const produceFile = path.join(scratch, `produce-${tag}.bin`);
      fs.writeFileSync(produceFile, Buffer.concat(groups.map((g, i) => produceFrame('commit-compare', [i], commitRecordsBatch(g, c.partitions), -1))));
      const batchBytes = commitRecordsBatch(groups[0], c.partitions).length;
      const params = { partitionsPerCommit: c.partitions, conns: c.conns, window: 1, version: 8, groups: c.conns };
      const requests = requestsFor(c.partitions);
      for (let run = -1; run < runs; run++) {
        const n = run < 0 ? Math.max(c.conns, Math.round(requests / 4)) : requests;
        let cpu0 = broker.cpuSeconds();
        const commit = runLoad(loadgen, 'exact', { port: broker.port, template: commitFile, expect: expectFile, conns: c.conns, window: 1, requests: n });
        const commitCpu = broker.cpuSeconds() - cpu0;
        cpu0 = broker.cpuSeconds();
        const produce = runLoad(loadgen, 'produce', { port: broker.port, template: produceFile, conns: c.conns, window: 1, requests: n });
        const produceCpu = broker.cpuSeconds() - cpu0;
        if (run < 0) continue;
        const rate = commit.requests / commit.seconds;
        record(`commit.${tag}.commits`, 'commits/s', rate, params);
        record(`commit.${tag}.partitions`, 'partitions/s', rate * c.partitions, params);
        record(`commit.${tag}.p50`, 'ms', commit.latencyUs.p50 / 1000, params);
        record(`commit.${tag}.p99`, 'ms', commit.latencyUs.p99 / 1000, params);
        record(`commit.${tag}.cpu`, 'cpu-s/1000 commits', (commitCpu / commit.requests) * 1000, params);
        const pParams = { recordsPerBatch: c.partitions, batchBytes, conns: c.conns, window: 1, acks: -1, version: 7 };
        record(`commit.${tag}.produce-same-records`, 'req/s', produce.requests / produce.seconds, pParams);
        record(`commit.${tag}.produce-same-records.p99`, 'ms', produce.latencyUs.p99 / 1000, pParams);
        record(`commit.${tag}.produce-same-records.cpu`, 'cpu-s/1000 req', (produceCpu / produce.requests) * 1000, pParams);
        record(`commit.${tag}.vs-produce`, 'ratio', rate / (produce.requests / produce.seconds), params);
      }
      console.log(`commit ${tag} done`);
    }
    const storeBytes = bytesUnder(dataDir, (p) => p.includes(`${path.sep}__consumer_offsets-`) && p.endsWith('.log'));
    notes.push(
      storeBytes > 0
        ? `Commits went through the \`__consumer_offsets\` store: ${(storeBytes / MiB).toFixed(1)} MiB of offset records were appended to its logs during the commit scenario.`
        : 'Commits did **not** reach `__consumer_offsets` in this run (no bytes in its logs): the coordinator answered from its in-memory store, so the commit figures leave out the log append.',
    );
  } finally {
    await broker.stop();
  }
}

// ---- compaction ----

const VALUE_BYTES = 1024;
const RECORDS_PER_BATCH = 16; // ~16 KiB batches: Kafka's default batch.size

function randomPool(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Produce frames holding every key once, in order, RECORDS_PER_BATCH records of VALUE_BYTES pseudo-random bytes each. */
function roundFrames(topic: string, keys: number): Buffer[] {
  const pool = randomPool(256 * 1024);
  const frames: Buffer[] = [];
  for (let first = 0; first < keys; first += RECORDS_PER_BATCH) {
    const n = Math.min(RECORDS_PER_BATCH, keys - first);
    const batch = buildRecordBatch(
      Array.from({ length: n }, (_, i) => {
        const at = ((first + i) * 4099) % (pool.length - VALUE_BYTES);
        return { key: Buffer.from(`key-${String(first + i).padStart(8, '0')}`), value: pool.subarray(at, at + VALUE_BYTES) };
      }),
    );
    frames.push(produceFrame(topic, [0], batch, 1));
  }
  return frames;
}

interface CleanLine {
  bytesRead: number;
  bytesWritten: number;
  recordsKept: number;
  recordsRead: number;
  segments: number;
}

function findCleanLine(logFile: string, topic: string): CleanLine | null {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  const re = new RegExp(`${topic}-0: cleaned offsets \\[\\d+, \\d+\\) \\(dirty ratio [\\d.]+\\): (\\d+) segment\\(s\\), (\\d+) -> (\\d+) bytes, (\\d+) of (\\d+) records kept`);
  const m = re.exec(text);
  return m ? { segments: Number(m[1]), bytesRead: Number(m[2]), bytesWritten: Number(m[3]), recordsKept: Number(m[4]), recordsRead: Number(m[5]) } : null;
}

/** Reads every file once in 1 MiB reads (page cache): the raw read rate of the bytes the cleaner reads. */
function rawReadMBps(files: string[]): number {
  const buf = Buffer.allocUnsafe(MiB);
  let bytes = 0;
  const t0 = nowMs();
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) bytes += n;
    } finally {
      fs.closeSync(fd);
    }
  }
  return bytes / 1e6 / ((nowMs() - t0) / 1000);
}

async function setMinCompactionLag(client: SimpleClient, topic: string, ms: number): Promise<void> {
  const answer = await client.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 2, resourceName: topic, configs: [{ name: 'min.compaction.lag.ms', configOperation: 0, value: String(ms) }] }],
    validateOnly: false,
  });
  const r = answer.responses[0];
  if (r.errorCode !== 0) throw new Error(`IncrementalAlterConfigs: error ${r.errorCode} ${r.errorMessage ?? ''}`);
}

async function compactionRun(run: number, writer: string | null): Promise<void> {
  const { broker, dataDir } = await startBroker({ 'log.cleaner.backoff.ms': '10' });
  const logFile = path.join(dataDir, '..', 'broker.log');
  const topic = `compact-${run + 1}`;
  const records = Math.floor(compactionBytes / (VALUE_BYTES + 30));
  const keys = Math.min(100_000, Math.max(1, Math.round(records / 10)));
  const segmentBytes = Math.max(MiB, Math.floor(compactionBytes / 16));
  const params = { logMiB: compactionBytes / MiB, valueBytes: VALUE_BYTES, keys, recordsPerBatch: RECORDS_PER_BATCH, segmentMiB: (segmentBytes / MiB).toFixed(0), pageCache: 'warm' };
  const setup = await SimpleClient.connect(broker.port);
  try {
    await createTopic(setup, topic, 1, { 'cleanup.policy': 'compact', 'segment.bytes': String(segmentBytes), 'min.compaction.lag.ms': String(24 * 3600_000) });
    // Fill: keys in order, round after round, so every round supersedes the last.
    // One round's frames are built once and sent again each round (TypeScript
    // builds batches far slower than the broker appends them).
    const frames = roundFrames(topic, keys);
    const total = Math.ceil(records / RECORDS_PER_BATCH);
    let sent = 0;
    const t0 = nowMs();
    await pipelinedProduce(broker.port, () => (sent < total ? frames[sent++ % frames.length] : null), 16);
    const fillS = (nowMs() - t0) / 1000;
    const partitionDir = path.join(dataDir, `${topic}-0`);
    const logBytes = bytesUnder(partitionDir, (p) => p.endsWith('.log'));
    record('compaction.fill', 'MB/s', logBytes / 1e6 / fillS, { ...params, path: 'Produce acks=1 from TypeScript, 16 in flight' });
    const segmentFiles = fs.readdirSync(partitionDir).filter((f) => f.endsWith('.log')).sort().map((f) => path.join(partitionDir, f));
    const readMBps = rawReadMBps(segmentFiles.slice(0, -1));
    const write = writer ? rawWriteOnce(writer, { runs: 1, quick, scratchDir: scratch }, quick ? 32 * MiB : 256 * MiB) : null;

    // The probe: one ApiVersions at a time, every 10 ms, on its own connection.
    const probe = await SimpleClient.connect(broker.port);
    const rtts: number[] = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const s = nowMs();
        await probe.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'samsa-bench', clientSoftwareVersion: '1' });
        rtts.push(nowMs() - s);
        await sleep(10);
      }
    })();
    await sleep(1000);
    const idle = [...rtts];
    rtts.length = 0;
    const cpu0 = broker.cpuSeconds();
    const c0 = nowMs();
    await setMinCompactionLag(setup, topic, 0);
    let line: CleanLine | null = null;
    while ((line = findCleanLine(logFile, topic)) === null) {
      if (nowMs() - c0 > 600_000) throw new Error('no clean after 10 minutes');
      await sleep(20);
    }
    const cleanS = (nowMs() - c0) / 1000;
    const cleanCpu = broker.cpuSeconds() - cpu0;
    probing = false;
    await probeLoop;
    probe.close();
    const during = [...rtts].sort((a, b) => a - b);
    idle.sort((a, b) => a - b);
    const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]);
    // The cleaner reads the dirty section twice (offset map, then rewrite): dirty bytes are bytesRead of the rewrite.
    const dirty = line.bytesRead;
    record('compaction.throughput', 'MB/s', dirty / 1e6 / cleanS, { ...params, what: 'dirty bytes / wall time from the config change to the cleaner log line' });
    record('compaction.seconds', 's', cleanS, params);
    record('compaction.bytes-before', 'MB', line.bytesRead / 1e6, params);
    record('compaction.bytes-after', 'MB', line.bytesWritten / 1e6, params);
    record('compaction.records-kept', 'ratio', line.recordsKept / line.recordsRead, params);
    record('compaction.cpu', 'cpu-s/GiB', cleanCpu / (dirty / GiB), { ...params, what: 'broker CPU while cleaning (probes included) per GiB of dirty log' });
    record('compaction.raw-read', 'MB/s', readMBps, { reads: '1 MiB', from: 'the same segment files, page cache' });
    if (write) {
      record('compaction.raw-write', 'MB/s', write.mbps, { writes: '64 KiB', tool: 'bench/storage/c/write-pagecache.c' });
      // What reading the dirty log twice and writing the survivors costs at those raw rates.
      const rawS = (2 * dirty) / 1e6 / readMBps + line.bytesWritten / 1e6 / write.mbps;
      record('compaction.vs-raw-io', 'ratio', rawS / cleanS, { what: 'raw time (2 x read + write of the same bytes) / clean time' });
    }
    record('compaction.probe.idle.p99', 'ms', pct(idle, 0.99), { probe: 'ApiVersions every 10 ms', when: '1 s before cleaning' });
    record('compaction.probe.p50', 'ms', pct(during, 0.5), { probe: 'ApiVersions every 10 ms', when: 'while cleaning', samples: during.length });
    record('compaction.probe.p99', 'ms', pct(during, 0.99), { probe: 'ApiVersions every 10 ms', when: 'while cleaning' });
    record('compaction.probe.max', 'ms', during.length > 0 ? during[during.length - 1] : NaN, { probe: 'ApiVersions every 10 ms', when: 'while cleaning' });
  } finally {
    setup.close();
    await broker.stop();
    if (!flag('--keep')) fs.rmSync(path.join(dataDir, '..'), { recursive: true, force: true });
  }
}

async function compactionSuite(): Promise<void> {
  const writer = compileWriter({ runs: 1, quick, scratchDir: scratch });
  for (let run = 0; run < runs; run++) {
    await compactionRun(run, writer);
    console.log(`compaction run ${run + 1}/${runs} done`);
  }
}

// ---- main ----

async function main(): Promise<void> {
  const loadgen = compileLoadgen();
  // `samsa server-start` runs the compiled dist/ when it is fresh (bin/samsa.js): build it, as after `npm ci`.
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const load0 = os.loadavg();
  console.log(`bench:groups runs=${runs}${quick ? ' quick' : ''} compaction=${compactionBytes / MiB} MiB, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  if (wants('rebalance')) await rebalanceSuite();
  if (wants('commit')) await commitSuite(loadgen);
  if (wants('compaction')) await compactionSuite();

  const metrics = [...samples].map(([name, s]) => summarize(name, s.unit, s.values, s.params));
  for (const m of metrics) console.log(formatResult(m));
  const report: GroupsReport = {
    machine: machineInfo(root, load0),
    runs,
    quick,
    notes,
    metrics,
  };
  const text = groupsReport(report);
  console.log('\n' + text);
  writeReportFiles(root, 'groups', report, text, writeDocs);
  if (!flag('--keep')) fs.rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch} (broker logs: broker-N/broker.log)`);
}

await main();
