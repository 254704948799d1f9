// Running bench/e2e/c/loadgen.c and the loopback references from TypeScript;
// shared by bench:e2e and `npm run bench` (bench/run.ts).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Compiles the load generator into `dir`; returns the binary's path. */
export function compileLoadgen(dir: string): string {
  const binary = path.join(dir, 'loadgen');
  execFileSync('cc', ['-O2', '-pthread', '-o', binary, path.join(root, 'bench', 'e2e', 'c', 'loadgen.c')], { stdio: 'inherit' });
  return binary;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  responseBytes: number;
  recordBytes: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  error: string;
}

/** One loadgen run; rejects when it reports an error (a failed request is never a data point). */
export function runLoad(loadgen: string, mode: string, opts: Record<string, string | number>): Promise<LoadResult> {
  const argv = [mode, ...Object.entries(opts).flatMap(([k, v]) => [`--${k}`, String(v)])];
  return new Promise((resolve, reject) => {
    const child = spawn(loadgen, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', () => {
      try {
        const result = JSON.parse(out) as LoadResult;
        if (result.errors > 0) reject(new Error(`loadgen ${mode}: ${result.errors} errors: ${result.error}`));
        else resolve(result);
      } catch {
        reject(new Error(`loadgen ${argv.join(' ')} failed: ${err || out}`));
      }
    });
  });
}

export interface Loopback {
  mbPerS: number;
  readerCpuS: number;
  bytes: number;
}

/** The C loopback TCP reference (optionally with the reader appending to `writeFile`). */
export function loopback(loadgen: string, bytes: number, writeFile?: string): Loopback {
  const argv = ['loopback', '--bytes', String(bytes), ...(writeFile ? ['--write-file', writeFile] : [])];
  const result = JSON.parse(execFileSync(loadgen, argv, { encoding: 'utf8' })) as Loopback;
  if (writeFile) fs.rmSync(writeFile, { force: true });
  return result;
}

/** iperf3 over loopback in MB/s, or null when iperf3 is not installed. */
export function iperf3MBps(seconds: number): number | null {
  if (spawnSync('iperf3', ['--version']).status !== 0) return null;
  const port = String(5201 + Math.floor(Math.random() * 500));
  const server = spawn('iperf3', ['-s', '-1', '-p', port], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      const r = spawnSync('iperf3', ['-c', '127.0.0.1', '-p', port, '-t', String(seconds), '-J'], { encoding: 'utf8' });
      if (r.status === 0) {
        const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
        return j.end.sum_received.bits_per_second / 8e6;
      }
      spawnSync('sleep', ['0.1']);
    }
    return null;
  } finally {
    server.kill();
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
