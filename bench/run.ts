// `npm run bench`: the scenario harness of issue 5. Runs the scenarios of
// bench/run/scenarios.ts (fetch zero-copy vs copy, page cache warm vs cold,
// append mode and flush policy, batching and linger, acks, partition count,
// end-to-end latency, machine limits, peers), each on fresh broker processes,
// --runs rounds, and writes docs/perf/bench.json (every sample), the SVG charts
// docs/perf/*.svg and the `bench` section of docs/perf.md.
//
// Options:
//   --smoke        every scenario for a second or two; checks the results are
//                  produced and well-formed (finite numbers, charts parse); no docs/
//   --only 1,3,... scenario numbers or names (fetch, pagecache, append, batching,
//                  acks, partitions, e2e, limits, peers)
//   --runs N       rounds (default 3; smoke 1)
//   --no-write     leave docs/ alone (results go to --out, default bench/results/bench)
//   --out DIR      where JSON and charts go when not writing docs/
//   --no-drop-caches  skip `echo 1 > /proc/sys/vm/drop_caches` (scenario 2) even as root
//   --keep         keep the scratch directory (brokers' logs)
//   --report-only  redraw the charts and the docs/perf.md section from the
//                  existing docs/perf/bench.json, without measuring
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from './report-files.js';
import { checkSvg } from './svg.js';
import { Context, KiB, MiB, root, type Sizes } from './run/context.js';
import { charts, markdown, summarize, targets, type ReportData } from './run/report.js';
import { SCENARIOS } from './run/scenarios.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const smoke = flag('--smoke');
const runs = Number(option('--runs') ?? (smoke ? 1 : 3));
const onlyArg = option('--only');
const selected = SCENARIOS.filter((s) => !onlyArg || onlyArg.split(',').some((o) => o === String(s.id) || o === s.name));
const writeDocs = !smoke && !onlyArg && !flag('--no-write');
const outDir = writeDocs ? path.join(root, 'docs', 'perf') : path.resolve(option('--out') ?? path.join(root, 'bench', 'results', 'bench'));
const scratch = path.join(option('--scratch') ?? process.env.BENCH_DIR ?? path.join(root, 'bench', 'results', 'scratch'), `bench-${process.pid}`);

const SIZES: Sizes = smoke
  ? {
      produceBytes: 8 * MiB,
      fetchBytes: 8 * MiB,
      rateSeconds: 0.5,
      partitionCounts: [1, 10],
      batchSizes: [1 * KiB, 1024 * KiB],
      lingersMs: [0, 5],
      lingerRecordRate: 2000,
      e2eRatesMBps: [1, 8],
      loopbackBytes: 128 * MiB,
      iperfSeconds: 1,
    }
  : {
      produceBytes: 256 * MiB,
      fetchBytes: 256 * MiB,
      rateSeconds: 5,
      partitionCounts: [1, 10, 100, 1000, 10000],
      batchSizes: [1, 4, 16, 64, 256, 1024].map((k) => k * KiB),
      lingersMs: [0, 1, 5, 10, 20],
      lingerRecordRate: 20_000,
      e2eRatesMBps: [1, 10, 50, 100],
      loopbackBytes: 2048 * MiB,
      iperfSeconds: 3,
    };

/** Problems that make the results unusable (smoke mode fails on any). */
function validate(data: ReportData, chartList: { file: string; svg: string }[]): string[] {
  const problems: string[] = [];
  for (const m of data.metrics) {
    if (m.samples.length === 0) problems.push(`${m.name}: no samples`);
    for (const v of [m.median, m.min, m.max, ...m.samples]) if (!Number.isFinite(v)) problems.push(`${m.name}: ${v} is not a finite number`);
    if (!m.fsync) problems.push(`${m.name}: no fsync semantics`);
  }
  for (const s of data.scenarios) {
    if (s.id === 9) continue; // peers: only when installed
    if (!data.metrics.some((m) => m.scenario === s.id)) problems.push(`scenario ${s.id} (${s.name}) produced no results`);
  }
  for (const c of chartList) {
    const err = checkSvg(c.svg);
    if (err) problems.push(`${c.file}: ${err}`);
  }
  return problems;
}

function writeOutputs(data: ReportData, chartList: ReturnType<typeof charts>): void {
  fs.mkdirSync(outDir, { recursive: true });
  const json = { ...data, fsyncSemantics: 'every metric carries `fsync`: what its number promises about durability', charts: chartList.map((c) => ({ file: c.file, scenario: c.scenario, title: c.title, text: c.text })) };
  fs.writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify(json, null, 2) + '\n');
  for (const c of chartList) fs.writeFileSync(path.join(outDir, c.file), c.svg);
  const text = markdown(data, chartList);
  if (writeDocs) {
    const perfMd = path.join(root, 'docs', 'perf.md');
    const begin = '<!-- bench:begin -->';
    const end = '<!-- bench:end -->';
    const existing = fs.readFileSync(perfMd, 'utf8');
    const block = `${begin}\n${text}\n${end}`;
    fs.writeFileSync(perfMd, existing.includes(begin) ? existing.replace(new RegExp(`${begin}[\\s\\S]*${end}`), () => block) : `${existing.trimEnd()}\n\n${block}\n`);
    console.log(`wrote docs/perf/bench.json, ${chartList.length} charts in docs/perf/ and the bench section of docs/perf.md`);
  } else {
    fs.writeFileSync(path.join(outDir, 'perf-section.md'), text + '\n');
    console.log(`wrote ${path.relative(process.cwd(), outDir) || '.'}/bench.json, ${chartList.length} charts and perf-section.md (docs/ untouched)`);
  }
}

async function main(): Promise<void> {
  if (flag('--report-only')) {
    const data = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'perf', 'bench.json'), 'utf8')) as ReportData;
    data.targets = targets(data.metrics);
    writeOutputs(data, charts(data.metrics));
    return;
  }
  if (!flag('--no-build')) execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const load0 = os.loadavg();
  const ctx = Context.create(scratch, SIZES, smoke, !smoke && !flag('--no-drop-caches'));
  console.log(`bench: scenarios ${selected.map((s) => s.id).join(',')}, runs=${runs}${smoke ? ' smoke' : ''}, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const failures: string[] = [];
  for (let round = 0; round < runs; round++) {
    for (const s of selected) {
      const t0 = Date.now();
      try {
        await s.run(ctx, round);
        console.log(`round ${round + 1}/${runs} scenario ${s.id} (${s.name}) done in ${((Date.now() - t0) / 1000).toFixed(1)} s, load average ${os.loadavg()[0].toFixed(2)}`);
      } catch (err) {
        const text = `round ${round + 1} scenario ${s.id} (${s.name}) failed: ${(err as Error).stack ?? err}`;
        console.error(text);
        failures.push(text);
        ctx.note(`scenario ${s.id} failed in round ${round + 1}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  const metrics = summarize(ctx.samples.values());
  const data: ReportData = {
    machine: machineInfo(root, load0),
    runs,
    smoke,
    scenarios: selected.map((s) => ({ id: s.id, name: s.name, title: s.title })),
    notes: ctx.notes,
    metrics,
    targets: targets(metrics),
  };
  const chartList = charts(metrics);
  const problems = [...failures, ...validate(data, chartList)];

  writeOutputs(data, chartList);
  console.log('\n' + data.targets.map((t) => `${t.what}: ${t.measured === null ? 'n/a' : t.measured.toPrecision(3)} ${t.unit} (${t.op} ${t.target}) ${t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED'}`).join('\n'));
  if (!flag('--keep')) fs.rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch}`);
  if (problems.length > 0) {
    console.error(`\nbench: ${problems.length} problem(s):\n${problems.join('\n')}`);
    process.exitCode = 1;
  } else if (smoke) {
    console.log(`\nbench smoke: ${metrics.length} metrics from ${selected.length} scenarios, all finite; ${chartList.length} charts well-formed`);
  }
}

await main();
