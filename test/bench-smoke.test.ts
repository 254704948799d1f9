// `npm run bench -- --smoke`: every scenario of the harness for a second or
// two against real broker processes, into a temp dir (docs/ untouched). The
// harness itself fails on non-finite numbers, scenarios without results and
// malformed charts; this test checks its output files again from outside.
// No throughput threshold: the machine is shared.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSvg } from '../bench/svg.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-smoke-'));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface BenchJson {
  smoke: boolean;
  machine: Record<string, string | number>;
  scenarios: { id: number; name: string }[];
  metrics: { scenario: number; name: string; unit: string; median: number; min: number; max: number; samples: number[]; fsync: string }[];
  targets: { what: string; measured: number | null }[];
  charts: { file: string; text: string }[];
}

describe('npm run bench -- --smoke', () => {
  it('runs every scenario and writes finite results and well-formed charts', async () => {
    const out = path.join(tmp, 'out');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'run.ts'), '--smoke', '--no-write', '--no-build', '--out', out, '--scratch', path.join(tmp, 'scratch')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d));
    child.stderr.on('data', (d: Buffer) => (log += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, log.slice(-4000)).toBe(0);

    const json = JSON.parse(fs.readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchJson;
    expect(json.smoke).toBe(true);
    expect(json.machine.commit).toBeTruthy();
    expect(json.scenarios.map((s) => s.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const id of [1, 2, 3, 4, 5, 6, 7, 8]) expect(json.metrics.filter((m) => m.scenario === id).length, `scenario ${id}`).toBeGreaterThan(0);
    for (const m of json.metrics) {
      expect(m.samples.length, m.name).toBeGreaterThan(0);
      for (const v of [m.median, m.min, m.max, ...m.samples]) expect(Number.isFinite(v), `${m.name} = ${v}`).toBe(true);
      expect(m.min, m.name).toBeLessThanOrEqual(m.max);
      expect(m.fsync, m.name).toBeTruthy();
    }
    // The rows the targets are computed from exist.
    const names = new Set(json.metrics.map((m) => m.name));
    for (const n of ['fetch.zero-copy.throughput', 'fetch.copy.throughput', 'pagecache.cold-fadvise.loop-delay-max', 'append.mmap.flush-1.p99', 'acks.0.throughput', 'acks.1.half-max.p99', 'e2e.1MBps.p99', 'limits.loopback-tcp', 'limits.sendfile']) {
      expect(names.has(n), n).toBe(true);
    }
    // fadvise(DONTNEED) really emptied the page cache of the segments before the cold fetch.
    expect(json.metrics.find((m) => m.name === 'pagecache.cold-fadvise.resident-before')!.median).toBeLessThan(0.5);

    expect(json.charts.length).toBeGreaterThanOrEqual(10);
    for (const c of json.charts) {
      const svg = fs.readFileSync(path.join(out, c.file), 'utf8');
      expect(checkSvg(svg), c.file).toBeNull();
      expect(svg).toMatch(/<(rect|polyline)[^>]*(height|points)="/);
      expect(c.text.split('. ').length, c.file).toBeGreaterThanOrEqual(2);
    }
    const section = fs.readFileSync(path.join(out, 'perf-section.md'), 'utf8');
    for (const c of json.charts) expect(section).toContain(`(perf/${c.file})`);
    // docs/ untouched by --no-write.
    expect(log).toContain('docs/ untouched');
  }, 240_000);
});

describe('checkSvg', () => {
  it('rejects malformed markup', () => {
    const ok = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect x="0" y="0" width="1" height="1"/></svg>\n';
    expect(checkSvg(ok)).toBeNull();
    expect(checkSvg(ok.replace('</svg>', ''))).toMatch(/unclosed/);
    expect(checkSvg(ok.replace('y="0"', 'y="NaN"'))).toMatch(/finite/);
    expect(checkSvg(ok.replace('<rect', '<text>a & b</text><rect'))).toMatch(/unescaped/);
  });
});
