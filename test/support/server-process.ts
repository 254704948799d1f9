// Runs `node bin/samsa.js server-start ...` as a real child process and reads
// its structured (JSON) log lines from stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAMSA_BIN = path.join(REPO_ROOT, 'bin', 'samsa.js');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export class ServerProcess {
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: Array<() => void> = [];
  private closed = false;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      let newline: number;
      while ((newline = this.stdout.indexOf('\n')) >= 0) {
        const text = this.stdout.slice(0, newline);
        this.stdout = this.stdout.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(text) as LogLine);
        } catch {
          this.lines.push({ level: -1, msg: text });
        }
      }
      this.wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    // 'close' comes after the last stdout/stderr bytes, unlike 'exit'.
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.closed = true;
        resolve({ code, signal });
        this.wake();
      }),
    );
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): ServerProcess {
    const child = spawn(process.execPath, [SAMSA_BIN, 'server-start', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SAMSA_LOG_LEVEL: 'info', SAMSA_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServerProcess(child);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first log line matching `predicate`; rejects if the process exits first. */
  async waitForLine(predicate: (line: LogLine) => boolean, what: string): Promise<LogLine> {
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (this.closed) {
        throw new Error(`broker exited (code ${this.child.exitCode}) before ${what}; stdout lines: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The ready line's listener port. */
  async ready(): Promise<{ port: number; line: LogLine }> {
    const line = await this.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('ready in '), 'the ready line');
    return { port: Number(String(line.listener).split(':').pop()), line };
  }

  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** SIGTERM (graceful stop) and the exit status. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.closed) this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (!this.closed) this.child.kill('SIGKILL');
  }
}
