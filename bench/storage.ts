// `npm run bench:storage`: runs every storage benchmark side by side in one
// process tree, prints medians with min/max, writes docs/perf/storage.json and
// regenerates the storage section of docs/perf.md.
//
// Options: --quick (small sizes, for smoke runs), --runs N (default 5),
// --only name[,name] (append, machine-limits, index-lookup, crc32c, sender).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatResult, type BenchOptions, type BenchResult } from './storage/harness.js';
import { storageReport } from './storage/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : Number(process.env.BENCH_RUNS ?? (quick ? 3 : 5));
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null;

const suites = ['machine-limits', 'append', 'crc32c', 'index-lookup', 'sender'] as const;

const scratchDir = process.env.BENCH_DIR ?? path.join(root, 'bench', 'results', 'scratch');
fs.mkdirSync(scratchDir, { recursive: true });
const options: BenchOptions = { runs, quick, scratchDir };

function machine() {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  } catch {}
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    filesystem: filesystemOf(scratchDir),
  };
}

function filesystemOf(dir: string): string {
  try {
    return execSync(`df -T ${JSON.stringify(dir)} | tail -1 | awk '{print $2}'`).toString().trim();
  } catch {
    return 'unknown';
  }
}

const results: Record<string, BenchResult[]> = {};
for (const suite of suites) {
  if (only && !only.has(suite)) continue;
  const mod = (await import(`./storage/${suite}.ts`)) as { run: (o: BenchOptions) => Promise<BenchResult[]> };
  console.log(`\n# ${suite} (runs=${runs}${quick ? ', quick' : ''})`);
  const started = Date.now();
  results[suite] = await mod.run(options);
  for (const r of results[suite]) console.log(formatResult(r));
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const report = { machine: machine(), runs, quick, results };
if (!quick && !only) {
  fs.mkdirSync(path.join(root, 'docs', 'perf'), { recursive: true });
  fs.writeFileSync(path.join(root, 'docs', 'perf', 'storage.json'), JSON.stringify(report, null, 2) + '\n');
  const perfMd = path.join(root, 'docs', 'perf.md');
  const section = storageReport(report);
  const existing = fs.existsSync(perfMd) ? fs.readFileSync(perfMd, 'utf8') : '# Samsa performance\n';
  const begin = '<!-- storage:begin -->';
  const end = '<!-- storage:end -->';
  const block = `${begin}\n${section}\n${end}`;
  const next = existing.includes(begin)
    ? existing.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block)
    : `${existing.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(perfMd, next);
  console.log(`\nwrote docs/perf/storage.json and the storage section of docs/perf.md`);
} else {
  const out = path.join(root, 'bench', 'results', `storage-${quick ? 'quick' : 'partial'}.json`);
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(root, out)} (quick/partial runs do not touch docs/perf.md)`);
}
fs.rmSync(scratchDir, { recursive: true, force: true });
