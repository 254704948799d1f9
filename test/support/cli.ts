// Runs `node bin/samsa.js ...` as a real child process and collects its output.
// Each run starts a Node process (through tsx when dist/ is stale): seconds
// on a loaded machine, hence the generous timeouts of the CLI tests.
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/samsa.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`samsa ${args.join(' ')} did not exit within ${options.timeoutMs ?? 180_000} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, options.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export interface RunningCli {
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (default SIGINT, Ctrl-C) and resolves with the result once the process exits. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  readonly exited: Promise<CliResult>;
}

/** How long stop() waits for the process to exit after its signal. */
const STOP_MS_MAX = 30_000;

/** Starts `node bin/samsa.js ...` and leaves it running (a console consumer in a group, say). */
export function startCli(args: string[], options: { env?: Record<string, string> } = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const stdout = () => Buffer.concat(out).toString('utf8');
  const stderr = () => Buffer.concat(err).toString('utf8');
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout(), stderr: stderr() }));
  });
  return {
    stdout,
    stderr,
    exited,
    stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A process that ignores the signal fails the test with its output, instead of hanging it until the test timeout.
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${args[0]} did not exit within ${STOP_MS_MAX} ms of ${signal}; stderr:\n${stderr().slice(-2000)}`));
        }, STOP_MS_MAX);
      });
      return Promise.race([exited, stuck]).finally(() => clearTimeout(timer));
    },
  };
}
