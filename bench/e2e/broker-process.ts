// A broker started the way a user starts it (`samsa server-start` in its own
// node process), with its CPU time and RSS read from /proc/<pid>.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { SimpleClient } from './protocol.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

/** A free loopback port (bound and released; the broker binds it right after). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** utime + stime of a process in seconds (all its threads: event loop, libuv pool, workers). */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** Resident set size in MB (VmRSS; 10^6 bytes, as the targets are stated). */
export function rssMBOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN;
}

export interface BrokerProcessOptions {
  dataDir: string;
  properties?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=...']. */
  nodeArgs?: string[];
  /** Where the broker's stdout/stderr go (default: a file in dataDir). */
  logFile?: string;
}

export class BrokerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** From spawn to the first answered ApiVersions request. */
    readonly startToReadyMs: number,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  rssMB(): number {
    return rssMBOf(this.pid);
  }

  static async start(options: BrokerProcessOptions): Promise<BrokerProcess> {
    const port = await freePort();
    const properties: Record<string, string> = {
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      'log.dirs': options.dataDir,
      ...options.properties,
    };
    const overrides = Object.entries(properties).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
    fs.mkdirSync(options.dataDir, { recursive: true });
    const log = fs.openSync(options.logFile ?? path.join(options.dataDir, '..', `broker-${port}.log`), 'a');
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(root, 'bin', 'samsa.js'), 'server-start', ...overrides], {
      cwd: root,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    let exited: string | null = null;
    child.once('exit', (code, signal) => (exited = `broker exited (${code ?? signal}) before it was ready`));
    // Ready = answers ApiVersions; poll the port.
    for (;;) {
      if (exited) throw new Error(exited);
      try {
        const client = await SimpleClient.connect(port);
        try {
          await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'samsa-bench', clientSoftwareVersion: '1' });
        } finally {
          client.close();
        }
        break;
      } catch {
        if (Number(process.hrtime.bigint() - t0) > 60e9) throw new Error('broker not ready after 60 s');
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const startToReadyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return new BrokerProcess(child, port, startToReadyMs);
  }

  /** SIGTERM (graceful: flush, checkpoint) and wait for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
}
