// Starts test/support/broker-child.ts as a child process and talks to it:
// waits for `READY <port>`, asks for memory figures, kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'broker-child.ts');

export class BrokerProcess {
  private lines: string[] = [];
  private lineWaiters: Array<() => void> = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    public port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)));
  }

  static async start(dataDir: string, options: { port?: number; properties?: Record<string, string> } = {}): Promise<BrokerProcess> {
    const args = ['--expose-gc', '--import', 'tsx', CHILD, dataDir, String(options.port ?? 0)];
    for (const [k, v] of Object.entries(options.properties ?? {})) args.push(`${k}=${v}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const bp = new BrokerProcess(child, 0);
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop()!;
      bp.lines.push(...parts);
      for (const w of bp.lineWaiters.splice(0)) w();
    });
    child.stderr!.on('data', (chunk: Buffer) => (bp.stderr += chunk.toString('utf8')));
    const ready = await bp.nextLine(/^READY (\d+)$/, 60_000);
    bp.port = Number(ready[1]);
    return bp;
  }

  /** The next stdout line matching `pattern` (lines before it are dropped). */
  async nextLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length > 0) {
        const m = pattern.exec(this.lines.shift()!);
        if (m) return m;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`broker child exited: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.lineWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** RSS and heap used (bytes) after a full GC in the child. */
  async memory(): Promise<{ rss: number; heapUsed: number }> {
    this.child.kill('SIGUSR2');
    const m = await this.nextLine(/^MEM (\d+) (\d+)$/);
    return { rss: Number(m[1]), heapUsed: Number(m[2]) };
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
