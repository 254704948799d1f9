// A real etcd server for cluster tests: its own data dir and free loopback
// ports, started and checked healthy, stopped with SIGTERM (or SIGKILL for
// crash tests) and restarted on the same ports and data; and N Samsa brokers
// as child processes (broker-process.ts) registered in it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BrokerProcess } from './broker-process.js';

const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';

/** Null when etcd can run here; else why not (cluster tests then skip, saying so). */
export function etcdUnavailableReason(): string | null {
  try {
    execFileSync(ETCD_BIN, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return null;
  } catch (err) {
    return `no etcd binary (${ETCD_BIN}: ${(err as Error).message.split('\n')[0]}); install Debian's etcd-server to run the cluster tests`;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export class EtcdProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  output = '';

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  static async start(): Promise<EtcdProcess> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-etcd-'));
    const etcd = new EtcdProcess(dataDir, await freePort(), await freePort());
    await etcd.spawn();
    return etcd;
  }

  private async spawn(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      ETCD_BIN,
      [
        '--name', 'samsa-test',
        '--data-dir', path.join(this.dataDir, 'etcd'),
        '--listen-client-urls', this.endpoint,
        '--advertise-client-urls', this.endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `samsa-test=${peer}`,
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.waitHealthy(30_000);
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child?.exitCode !== null) throw new Error(`etcd exited: ${this.output}`);
      try {
        const response = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await response.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) throw new Error(`etcd not healthy within ${timeoutMs} ms: ${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await this.exited;
    this.child = null;
  }

  /** Starts again on the same ports and data (after stop). */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface ClusterBroker {
  nodeId: number;
  dataDir: string;
  process: BrokerProcess;
  properties: Record<string, string>;
}

/** Properties of broker `nodeId` in a test cluster on `etcd` (short session timeout: failures show within seconds). */
export function clusterProperties(etcd: EtcdProcess, nodeId: number, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'node.id': String(nodeId),
    'metadata.etcd.endpoints': etcd.endpoint,
    'metadata.etcd.prefix': prefix,
    'broker.session.timeout.ms': '2000',
    'group.initial.rebalance.delay.ms': '0',
    'offsets.topic.num.partitions': '3',
    ...extra,
  };
}

/** Starts brokers 1..count as child processes, each with its own data dir, all in the cluster under `prefix`. */
export async function startClusterBrokers(
  etcd: EtcdProcess,
  count: number,
  options: { prefix?: string; properties?: (nodeId: number) => Record<string, string> } = {},
): Promise<ClusterBroker[]> {
  const prefix = options.prefix ?? `/samsa-test-${process.pid}-${Date.now()}`;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const nodeId = i + 1;
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `samsa-cluster-${nodeId}-`));
      const properties = clusterProperties(etcd, nodeId, prefix, options.properties?.(nodeId));
      return { nodeId, dataDir, properties, process: await BrokerProcess.start(dataDir, { properties }) };
    }),
  );
}

/** Starts a stopped (killed) cluster broker again on its port and data. */
export async function restartClusterBroker(broker: ClusterBroker): Promise<void> {
  broker.process = await BrokerProcess.start(broker.dataDir, { port: broker.process.port, properties: broker.properties });
}

export async function stopClusterBrokers(brokers: readonly ClusterBroker[]): Promise<void> {
  await Promise.all(brokers.map((b) => b.process.kill('SIGKILL')));
  for (const b of brokers) fs.rmSync(b.dataDir, { recursive: true, force: true });
}
