// Scenario 9: peers on the same machine, when installed (never required; CI
// does not install them). Redis Streams: `redis-server` loaded by Redis's own C
// benchmark tool (`redis-benchmark`, pipelined), XADD of 1 KiB entries and
// XRANGE of 100 entries, with the AOF written without fsync (appendfsync no:
// the page cache, like Samsa's default) and with fsync on every write
// (appendfsync always, like log.flush.interval.messages=1). NATS JetStream: the
// server is detected but the harness has no JetStream load generator yet.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../e2e/broker-process.js';
import type { Context } from './context.js';

const VALUE_BYTES = 1024;

function installed(cmd: string, arg = '--version'): boolean {
  return spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
}

async function startRedis(ctx: Context, fsync: 'no' | 'always'): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const dir = ctx.dir('s9-redis');
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--protected-mode', 'no'], {
    stdio: ['ignore', fs.openSync(path.join(dir, 'redis.log'), 'a'), 'ignore'],
  });
  for (let i = 0; i < 200; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING');
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

/** One redis-benchmark run of a single command: requests/s and p99 ms. */
function redisBenchmark(port: number, requests: number, command: string[]): { rps: number; p99: number } {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '2', '-P', '16', '-n', String(requests), '--csv', ...command], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const header = lines[0].split(',').map((h) => h.replace(/"/g, ''));
  const row = lines[lines.length - 1].split('","').map((c) => c.replace(/"/g, ''));
  // The command itself is the first column and may contain commas: read the numbers from the end.
  const num = (col: string) => Number(row[row.length - (header.length - header.indexOf(col))]);
  return { rps: num('rps'), p99: num('p99_latency_ms') };
}

async function redisStreams(ctx: Context): Promise<void> {
  const value = 'x'.repeat(VALUE_BYTES);
  const records = Math.max(2000, Math.round(ctx.sizes.produceBytes / 4 / VALUE_BYTES));
  for (const fsync of ['no', 'always'] as const) {
    const { child, port } = await startRedis(ctx, fsync);
    try {
      const params = { client: 'redis-benchmark -c 2 -P 16', entry: '1 KiB value, one field', aof: `appendonly yes, appendfsync ${fsync}`, rdb: 'off' };
      const durability = fsync === 'no' ? 'peer: Redis AOF written per command, no fsync (appendfsync no)' : 'peer: Redis AOF fsynced before each reply batch (appendfsync always)';
      // Warm-up, then the measured run.
      redisBenchmark(port, Math.min(records, 20_000), ['XADD', 'warm', '*', 'v', value]);
      // fsync per write is ~10x slower: fewer records keep the run short.
      const add = redisBenchmark(port, fsync === 'no' ? records : Math.max(1000, Math.round(records / 8)), ['XADD', 's', '*', 'v', value]);
      ctx.record(9, `peers.redis.xadd.aof-fsync-${fsync}.throughput`, 'MB/s', (add.rps * VALUE_BYTES) / 1e6, params, durability);
      ctx.record(9, `peers.redis.xadd.aof-fsync-${fsync}.records`, 'rec/s', add.rps, params, durability);
      ctx.record(9, `peers.redis.xadd.aof-fsync-${fsync}.p99`, 'ms', add.p99, params, durability);
      if (fsync === 'no') {
        const range = redisBenchmark(port, Math.max(200, Math.round(records / 100)), ['XRANGE', 's', '-', '+', 'COUNT', '100']);
        ctx.record(9, 'peers.redis.xrange.throughput', 'MB/s', (range.rps * 100 * VALUE_BYTES) / 1e6, { ...params, read: 'XRANGE - + COUNT 100' }, 'read path: no writes');
      }
    } finally {
      await stop(child);
    }
  }
}

export async function peers(ctx: Context, round: number): Promise<void> {
  if (ctx.smoke) {
    ctx.note('scenario 9: peers skipped in smoke mode (never required by tests)');
    return;
  }
  if (installed('redis-server') && installed('redis-benchmark')) {
    await redisStreams(ctx);
  } else if (round === 0) {
    ctx.note('scenario 9: Redis Streams skipped: `redis-server` (and its `redis-benchmark`) is not installed');
  }
  if (round === 0) {
    ctx.note(
      installed('nats-server')
        ? 'scenario 9: NATS JetStream skipped: `nats-server` is installed but the harness has no JetStream load generator yet'
        : 'scenario 9: NATS JetStream skipped: `nats-server` is not installed',
    );
  }
}
