import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchWaiters } from '../src/broker/fetch-waiters.js';
import { Log, silentLogger } from '../src/storage/log.js';
import { batch, smallConfig, storageVariants, tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function openLog(name: string): Log {
  const root = tempDir();
  const variant = storageVariants()[0];
  const log = Log.open({ dir: path.join(root, name), topic: name.split('-')[0], partition: 0, config: smallConfig(variant), logger: silentLogger, impl: variant.impl });
  cleanups.push(async () => {
    await log.close({ flush: false });
    fs.rmSync(root, { recursive: true, force: true });
  });
  return log;
}

/** Bytes readable from `offset` to the log end. */
const bytesFrom = (log: Log, offset: number) => () => {
  const r = log.read(offset, 1 << 30);
  return r.records ? r.records.length : 0;
};

describe('FetchWaiters', () => {
  it('answers at once when enough data is there or max_wait_ms is 0', async () => {
    const waiters = new FetchWaiters();
    const log = openLog('a-0');
    log.append(batch('x', 1));
    expect(await waiters.wait([log], 1, 10_000, bytesFrom(log, 0))).toBe('satisfied');
    expect(await waiters.wait([log], 1_000_000, 0, bytesFrom(log, 0))).toBe('satisfied');
  });

  it('is woken by an append to any of its partitions once min_bytes is reached', async () => {
    const waiters = new FetchWaiters();
    const a = openLog('a-0');
    const b = openLog('b-0');
    const started = Date.now();
    const waiting = waiters.wait([a, b], 200, 30_000, () => bytesFrom(a, 0)() + bytesFrom(b, 0)());
    expect(waiters.size).toBe(1);
    b.append(batch('small', 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(waiters.size).toBe(1);
    a.append(batch('big', 3, { valueBytes: 100 }));
    expect(await waiting).toBe('satisfied');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(waiters.size).toBe(0);
  });

  it('times out after max_wait_ms without data and unsubscribes from the logs', async () => {
    const waiters = new FetchWaiters();
    const log = openLog('c-0');
    let checks = 0;
    const outcome = await waiters.wait([log], 1, 50, () => {
      checks++;
      return 0;
    });
    expect(outcome).toBe('timeout');
    const before = checks;
    log.append(batch('late', 1));
    await new Promise((r) => setTimeout(r, 10));
    expect(checks).toBe(before);
  });

  it('checks once per event-loop turn however many appends arrive', async () => {
    const waiters = new FetchWaiters();
    const log = openLog('d-0');
    let checks = 0;
    const waiting = waiters.wait([log], 1_000_000, 200, () => {
      checks++;
      return 0;
    });
    for (let i = 0; i < 50; i++) log.append(batch(`m${i}`, 1));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // One check at registration, one after the burst.
    expect(checks).toBe(2);
    expect(await waiting).toBe('timeout');
  });

  it('bounds the number of waiting fetches and releases all on close', async () => {
    const waiters = new FetchWaiters(2);
    const log = openLog('e-0');
    const w1 = waiters.wait([log], 1, 60_000, () => 0);
    const w2 = waiters.wait([log], 1, 60_000, () => 0);
    expect(await waiters.wait([log], 1, 60_000, () => 0)).toBe('overloaded');
    waiters.close();
    expect(await w1).toBe('closed');
    expect(await w2).toBe('closed');
  });
});
