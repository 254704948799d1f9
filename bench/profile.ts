// `npm run profile -- <scenario> [options]`: the broker under load, profiled
// with clinic (https://clinicjs.org). Recipes and what the profiles said:
// docs/profiling.md; the profiles themselves: docs/perf.md ("Profiles").
//
// The broker runs as `samsa server-start` (the compiled dist/, as after
// `npm ci`) under `clinic <tool> --on-port`: once it listens, clinic runs this
// file again in driver mode (`--drive`), which sends the load with the C load
// generator (bench/e2e/c/loadgen.c), so the client costs the broker nothing.
// When the driver exits, clinic stops the broker and writes its report. This
// file then prints a text summary (flame: top frames by self time, JS and
// native; doctor: its diagnosis and the load's CPU, event-loop delay and
// utilisation) into the report directory.
//
// Scenarios:
//   produce       1 KiB records, 1 partition, 256 KiB batches, acks=1,
//                 2 connections x 8 requests in flight (bench:e2e's produce.1KiB.1p)
//   produce-16k   the same with 16 KiB batches (Kafka's default batch.size)
//   fetch         reads of cached data in 1 MiB responses, 2 connections x 4 in
//                 flight (bench:e2e's fetch.zero-copy.1KiB.1p); the data is
//                 produced first by an unprofiled broker
// Options: --tool flame,doctor (default; also bubbleprof, which records every
//   async operation: give it a small --mib), --mib N (MiB per pass, default
//   2048; fetch reads them --passes times, default 4), --out DIR (default
//   bench/results/profile), --property k=v (broker property, repeatable, e.g.
//   socket.sender.mode=copy), --top N (frames in the summary, default 25).
// Reports: <out>/<scenario>-<tool>/ (the .html opens in a browser; summary.txt
// is the text summary).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, freePort } from './e2e/broker-process.js';
import { compileLoadgen, runLoad, type LoadResult } from './e2e/loadgen.js';
import { createTopic, fetchFrame, produceFrame, recordBatch, SimpleClient } from './e2e/protocol.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const options = (name: string) => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Scenario {
  valueBytes: number;
  batchBytes: number;
  fetch: boolean;
}
const SCENARIOS: Record<string, Scenario> = {
  produce: { valueBytes: 1024, batchBytes: 256 * 1024, fetch: false },
  'produce-16k': { valueBytes: 1024, batchBytes: 16 * 1024, fetch: false },
  fetch: { valueBytes: 1024, batchBytes: 256 * 1024, fetch: true },
};
const TOOLS = ['flame', 'doctor', 'bubbleprof'];
const PRODUCE_CONNS = 2;
const PRODUCE_WINDOW = 8;
const FETCH_CONNS = 2;
const FETCH_WINDOW = 4;
const FETCH_RESPONSE_BYTES = 1 * MiB;
const WARMUP_BYTES = 96 * MiB;

/** What the orchestrator hands the driver (a JSON file in the scratch dir). */
interface DriveState {
  scenario: string;
  loadgen: string;
  scratch: string;
  bytes: number;
  passes: number;
  /** fetch: the topic produced before the profiled broker started. */
  topic?: string;
  batchesPerPartition?: number;
}

// Per-record overhead in a v2 batch with null keys and no headers: ~8 bytes (as bench:e2e).
const recordsPerBatch = (s: Scenario) => Math.max(1, Math.floor((s.batchBytes - 61) / (s.valueBytes + 8)));

async function produce(state: DriveState, port: number, topic: string, bytes: number): Promise<{ result: LoadResult; batchesPerPartition: number; bytes: number }> {
  const s = SCENARIOS[state.scenario];
  const client = await SimpleClient.connect(port);
  try {
    await createTopic(client, topic, 1);
  } finally {
    client.close();
  }
  const batch = recordBatch(recordsPerBatch(s), s.valueBytes, s.valueBytes);
  const file = path.join(state.scratch, `produce-${topic}.bin`);
  fs.writeFileSync(file, produceFrame(topic, [0], batch));
  const requests = Math.max(PRODUCE_CONNS, Math.round(bytes / batch.length));
  const result = await runLoad(state.loadgen, 'produce', { port, template: file, conns: PRODUCE_CONNS, window: PRODUCE_WINDOW, requests });
  return { result, batchesPerPartition: result.requests, bytes: result.requests * batch.length };
}

async function fetchAll(state: DriveState, port: number, topic: string, batchesPerPartition: number): Promise<LoadResult> {
  const s = SCENARIOS[state.scenario];
  const batchBytes = recordBatch(recordsPerBatch(s), s.valueBytes, s.valueBytes).length;
  const batchesPerFetch = Math.max(1, Math.floor(FETCH_RESPONSE_BYTES / batchBytes));
  const { frame, offsetPositions } = fetchFrame(topic, [0], batchesPerFetch * batchBytes);
  const file = path.join(state.scratch, `fetch-${topic}.bin`);
  fs.writeFileSync(file, frame);
  return runLoad(state.loadgen, 'fetch', {
    port,
    template: file,
    conns: FETCH_CONNS,
    window: FETCH_WINDOW,
    requests: Math.floor(batchesPerPartition / batchesPerFetch),
    'offset-at': offsetPositions.join(','),
    'offset-step': batchesPerFetch * recordsPerBatch(s),
    'expect-records-bytes': batchesPerFetch * batchBytes,
  });
}

const line = (what: string, r: LoadResult, bytes: number) =>
  `${what}: ${(bytes / GiB).toFixed(2)} GiB in ${r.seconds.toFixed(2)} s, ${(bytes / 1e6 / r.seconds).toFixed(0)} MB/s, p99 ${(r.latencyUs.p99 / 1000).toFixed(2)} ms`;

/** Driver mode: runs inside `clinic --on-port`, against the profiled broker. */
async function drive(port: number, state: DriveState): Promise<void> {
  const s = SCENARIOS[state.scenario];
  const out: string[] = [];
  if (!s.fetch) {
    // Warm-up first, so most samples are of optimised code (the profile includes it).
    await produce(state, port, 'warmup', WARMUP_BYTES);
    const { result, bytes } = await produce(state, port, 'profiled', state.bytes);
    out.push(line('produce under the profiler', result, bytes));
  } else {
    for (let pass = 0; pass < state.passes; pass++) {
      const result = await fetchAll(state, port, state.topic!, state.batchesPerPartition!);
      out.push(line(`fetch pass ${pass + 1}/${state.passes} under the profiler`, result, result.recordBytes));
    }
  }
  fs.writeFileSync(path.join(state.scratch, 'load.txt'), out.join('\n') + '\n');
}

// ---- summaries ----

interface FlameFrame {
  name: string;
  type: string;
  kind?: string;
}

const START_UP = /node:internal\/(modules\/|bootstrap\/)/;

/** Top frames by self time from clinic flame's samples (0x ticks: one stack per sample, root first). */
function flameSummary(samplesFile: string, top: number): string {
  const stacks = JSON.parse(fs.readFileSync(samplesFile, 'utf8')) as FlameFrame[][];
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byType = new Map<string, number>();
  let sampled = 0;
  let startUp = 0;
  const label = (f: FlameFrame) => {
    // JS names are "fn file:line:col"; keep the function and the file's last two path parts.
    if (f.type !== 'JS') return `${f.name} [${f.type === 'SHARED_LIB' ? 'lib' : 'native'}]`;
    const m = /^(.*?) (\S+):(\d+):\d+$/.exec(f.name);
    const fn = m ? m[1].trim() || '(anonymous)' : f.name;
    const file = m ? m[2].replace(/^file:\/\//, '').split('/').slice(-2).join('/') : '';
    return `${fn} ${file}${m ? ':' + m[3] : ''}`;
  };
  for (const stack of stacks) {
    if (stack.length === 0) continue; // no stack: outside V8's view (idle, or in a thread it does not sample)
    // The samples carry no time, so start-up (compiling modules) is told apart by its frames.
    if (stack.some((f) => f.type === 'JS' && START_UP.test(f.name))) {
      startUp++;
      continue;
    }
    sampled++;
    const leaf = stack[stack.length - 1];
    const l = label(leaf);
    self.set(l, (self.get(l) ?? 0) + 1);
    const t = leaf.type === 'JS' ? `JS (${leaf.kind ?? '?'})` : leaf.type === 'SHARED_LIB' ? 'shared library' : 'native (C/C++)';
    byType.set(t, (byType.get(t) ?? 0) + 1);
    for (const x of new Set(stack.filter((f) => f.type === 'JS').map(label))) inclusive.set(x, (inclusive.get(x) ?? 0) + 1);
  }
  const pct = (n: number) => `${((100 * n) / Math.max(1, sampled)).toFixed(1).padStart(5)} %`;
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, n]) => `  ${pct(n)}  ${k}`);
  return [
    `${sampled} samples with a stack (not counted: ${startUp} in start-up module loading, ${stacks.length - sampled - startUp} without a stack)`,
    '',
    'self time by kind of frame:',
    ...rows(byType),
    '',
    'top frames by self time:',
    ...rows(self),
    '',
    'top JavaScript functions by inclusive time:',
    ...rows(inclusive),
  ].join('\n');
}

/** clinic doctor's own diagnosis, plus what its samples say about the load. */
async function doctorSummary(dataDir: string): Promise<string> {
  const req = createRequire(import.meta.url);
  const doctorDir = path.dirname(req.resolve('@clinic/doctor/package.json'));
  const dreq = createRequire(path.join(doctorDir, 'index.js'));
  const pumpify = dreq('pumpify');
  const Analysis = dreq('./analysis/index.js');
  const SystemInfoDecoder = dreq('./format/system-info-decoder.js');
  const TraceEventDecoder = dreq('./format/trace-event-decoder.js');
  const ProcessStatDecoder = dreq('./format/process-stat-decoder.js');
  const base = path.join(dataDir, path.basename(dataDir));
  const systemInfo = pumpify.obj(fs.createReadStream(`${base}-systeminfo`), new SystemInfoDecoder());
  const traceEvent = pumpify.obj(fs.createReadStream(`${base}-traceevent`), new TraceEventDecoder(systemInfo));
  const stats: { timestamp: number; delay: number; cpu: number; loopUtilization?: number; memory: { rss: number; heapUsed: number } }[] = [];
  const processStat = pumpify.obj(fs.createReadStream(`${base}-processstat`), new ProcessStatDecoder());
  processStat.on('data', (x: (typeof stats)[number]) => stats.push(x));
  const result = await new Promise<{ interval: number[]; issues: Record<string, unknown>; issueCategory: string }>((resolve, reject) => {
    const a = new Analysis(systemInfo, traceEvent, processStat);
    a.on('data', resolve);
    a.on('error', reject);
  });
  const inLoad = stats.filter((x) => x.timestamp >= result.interval[0] && x.timestamp <= result.interval[1]);
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
  };
  const col = (f: (x: (typeof stats)[number]) => number) => inLoad.map(f);
  const desc = (name: string, xs: number[], unit: string, digits = 1) =>
    `  ${name.padEnd(24)} median ${q(xs, 0.5).toFixed(digits)} ${unit}, p90 ${q(xs, 0.9).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)}`;
  return [
    `diagnosis: ${result.issueCategory} (none = no issue detected; the categories are clinic doctor's: io, event-loop, gc, data)`,
    `issues per metric: ${JSON.stringify(result.issues)}`,
    `${inLoad.length} samples in the interval clinic takes as the load (${((result.interval[1] - result.interval[0]) / 1000).toFixed(1)} s):`,
    desc('CPU (% of one core)', col((x) => x.cpu * 100), '%', 0),
    desc('event-loop delay', col((x) => x.delay), 'ms'),
    desc('event-loop utilisation', col((x) => x.loopUtilization ?? NaN), '%', 0),
    desc('RSS', col((x) => x.memory.rss / 1e6), 'MB', 0),
    desc('heap used', col((x) => x.memory.heapUsed / 1e6), 'MB', 0),
  ].join('\n');
}

// ---- orchestration ----

function runClinic(tool: string, dest: string, onPort: string, brokerArgs: string[]): Promise<void> {
  const clinic = path.join(root, 'node_modules', '.bin', 'clinic');
  const argv = [tool, '--open=false', '--dest', dest, '--on-port', onPort, '--', process.execPath, ...brokerArgs];
  // NO_INSIGHT: clinic otherwise asks (on a TTY) or silently exits (without one) about telemetry.
  const env = { ...process.env, NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1' };
  // The broker's JSON log lines (it inherits clinic's stdout) go to broker.log; clinic's own lines to the console.
  const log = fs.createWriteStream(path.join(dest, 'broker.log'));
  return new Promise((resolve, reject) => {
    const child = spawn(clinic, argv, { cwd: dest, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop()!;
      for (const l of lines) (l.startsWith('{') ? log : process.stdout).write(l + '\n');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      log.end(pending);
      if (code === 0) resolve();
      else reject(new Error(`clinic ${tool} exited ${code ?? signal}`));
    });
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function main(): Promise<void> {
  const driveAt = args.indexOf('--drive');
  if (driveAt >= 0) {
    const state = JSON.parse(fs.readFileSync(args[driveAt + 1], 'utf8')) as DriveState;
    await drive(Number(option('--port')), state);
    return;
  }
  const scenario = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
  if (!scenario || !SCENARIOS[scenario]) {
    console.error(`usage: npm run profile -- <${Object.keys(SCENARIOS).join('|')}> [--tool ${TOOLS.join(',')}] [--mib N] [--passes N] [--out DIR] [--property k=v] [--top N]`);
    process.exit(2);
  }
  const tools = (option('--tool') ?? 'flame,doctor').split(',');
  for (const t of tools) if (!TOOLS.includes(t)) throw new Error(`unknown tool ${t} (${TOOLS.join(', ')})`);
  const bytes = Number(option('--mib') ?? 2048) * MiB;
  const passes = Number(option('--passes') ?? 4);
  const top = Number(option('--top') ?? 25);
  const outRoot = path.resolve(option('--out') ?? path.join(root, 'bench', 'results', 'profile'));
  const properties = Object.fromEntries(options('--property').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

  // The broker runs the compiled dist/ (bin/samsa.js falls back to tsx, which would be profiled too).
  execFileSync('npm', ['run', '--silent', 'build', '--', '--if-stale'], { cwd: root, stdio: 'inherit' });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `samsa-profile-${scenario}-`));
  const loadgen = compileLoadgen(scratch);
  try {
    for (const tool of tools) {
      const dataDir = path.join(scratch, `data-${tool}`);
      const state: DriveState = { scenario, loadgen, scratch, bytes, passes };
      if (SCENARIOS[scenario].fetch) {
        // The data comes from an unprofiled broker, so the profile is of fetches only.
        const b = await BrokerProcess.start({ dataDir, properties });
        try {
          const { batchesPerPartition } = await produce(state, b.port, 'fetched', bytes);
          Object.assign(state, { topic: 'fetched', batchesPerPartition });
        } finally {
          await b.stop();
        }
      }
      const stateFile = path.join(scratch, `state-${tool}.json`);
      fs.writeFileSync(stateFile, JSON.stringify(state));
      const dest = path.join(outRoot, `${scenario}-${tool}`);
      fs.rmSync(dest, { recursive: true, force: true });
      fs.mkdirSync(dest, { recursive: true });
      const port = await freePort();
      const overrides = Object.entries({ listeners: `PLAINTEXT://127.0.0.1:${port}`, 'log.dirs': dataDir, ...properties }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
      const driver = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--drive', stateFile, '--port', '$PORT'].map((a) => (a === '$PORT' ? a : shellQuote(a))).join(' ');
      console.log(`profile ${scenario} with clinic ${tool}: broker on port ${port}, data in ${dataDir}`);
      await runClinic(tool, dest, `cd ${shellQuote(root)} && ${driver}`, [path.join(root, 'bin', 'samsa.js'), 'server-start', ...overrides]);
      const load = fs.readFileSync(path.join(scratch, 'load.txt'), 'utf8');
      const dataDirOut = fs.readdirSync(dest).find((f) => f.endsWith(`.clinic-${tool}`) && fs.statSync(path.join(dest, f)).isDirectory());
      const html = fs.readdirSync(dest).find((f) => f.endsWith(`.clinic-${tool}.html`));
      let summary = `clinic ${tool}, scenario ${scenario}, ${new Date().toISOString()}, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n${load}\n`;
      if (tool === 'flame' && dataDirOut) summary += flameSummary(path.join(dest, dataDirOut, `${dataDirOut}-samples`), top) + '\n';
      if (tool === 'doctor' && dataDirOut) summary += (await doctorSummary(path.join(dest, dataDirOut))) + '\n';
      fs.writeFileSync(path.join(dest, 'summary.txt'), summary);
      console.log(`\n${summary}\nreport: ${html ? path.join(dest, html) : '(no html)'}\nsummary: ${path.join(dest, 'summary.txt')}\n`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
