// Building and running the C load generator (bench/e2e/c/loadgen.c; its modes
// and options are in its header comment). Shared by bench:e2e and
// `npm run profile`.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Compiles loadgen.c into `dir` (cc -O2: a few hundred milliseconds) and returns the binary's path. */
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

/** Runs one load; rejects when loadgen fails or reports an error in any answer. */
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
