import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CLEAN_SHUTDOWN_FILE,
  CheckpointError,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from '../src/storage/checkpoint.js';
import { LogManager } from '../src/storage/log-manager.js';
import { ConfigError, logConfigFromBrokerProperties, withTopicOverrides } from '../src/storage/log-config.js';
import { batch, smallConfig, storageVariants, tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dirs(n: number): string[] {
  const root = tempDir();
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  return Array.from({ length: n }, (_, i) => path.join(root, `data${i}`));
}

const silent = { info: () => {}, warn: () => {} };

describe('offset checkpoint files', () => {
  it('round-trip in Kafka\'s format', () => {
    const [dir] = dirs(1);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'recovery-point-offset-checkpoint');
    writeOffsetCheckpoint(file, [
      ['orders', 0, 1234],
      ['my-topic.v2', 11, 0],
    ]);
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n2\norders 0 1234\nmy-topic.v2 11 0\n');
    expect(readOffsetCheckpoint(file)).toEqual(new Map([['orders-0', 1234], ['my-topic.v2-11', 0]]));
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('refuses a malformed checkpoint instead of guessing', () => {
    const [dir] = dirs(1);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'cp');
    fs.writeFileSync(file, '0\n3\na 0 1\n');
    expect(() => readOffsetCheckpoint(file)).toThrow(CheckpointError);
    fs.writeFileSync(file, '0\n1\na x 1\n');
    expect(() => readOffsetCheckpoint(file)).toThrow(CheckpointError);
    expect(readOffsetCheckpoint(path.join(dir, 'missing')).size).toBe(0);
  });
});

describe('log config', () => {
  it('reads Kafka broker property names and topic overrides', () => {
    const broker = logConfigFromBrokerProperties({
      'log.segment.bytes': '1048576',
      'log.retention.hours': '1',
      'log.retention.minutes': '5',
      'log.segment.append.mode': 'write',
    });
    expect(broker.segmentBytes).toBe(1048576);
    expect(broker.retentionMs).toBe(5 * 60_000);
    expect(broker.appendMode).toBe('write');
    const topic = withTopicOverrides(broker, { 'retention.ms': '-1', 'cleanup.policy': 'delete', 'max.message.bytes': '2000' });
    expect([topic.retentionMs, topic.maxMessageBytes, topic.segmentBytes]).toEqual([-1, 2000, 1048576]);
    expect(() => withTopicOverrides(broker, { 'segment.bytes': '3000000000' })).toThrow(ConfigError);
    expect(() => withTopicOverrides(broker, { 'retention.ms': 'soon' })).toThrow(ConfigError);
  });
});

describe.each(storageVariants())('LogManager ($name)', (variant) => {
  const config = smallConfig(variant);

  it('spreads partitions over log dirs and reloads them after a clean shutdown', async () => {
    const logDirs = dirs(2);
    const manager = await LogManager.open({ logDirs, config, logger: silent, impl: variant.impl, schedule: false });
    for (let p = 0; p < 4; p++) {
      const log = manager.getOrCreateLog('orders', p);
      for (let i = 0; i <= p; i++) log.append(batch(`p${p}-${i}`, 2));
    }
    expect(fs.readdirSync(logDirs[0]).filter((d) => d.startsWith('orders-'))).toHaveLength(2);
    expect(fs.readdirSync(logDirs[1]).filter((d) => d.startsWith('orders-'))).toHaveLength(2);
    await manager.close();
    for (const d of logDirs) {
      expect(fs.existsSync(path.join(d, CLEAN_SHUTDOWN_FILE))).toBe(true);
      const cp = readOffsetCheckpoint(path.join(d, 'recovery-point-offset-checkpoint'));
      expect(cp.size).toBe(2);
    }
    const info: string[] = [];
    const reopened = await LogManager.open({ logDirs, config, logger: { info: (m) => info.push(m), warn: () => {} }, impl: variant.impl, schedule: false });
    cleanups.push(() => reopened.close());
    for (let p = 0; p < 4; p++) expect(reopened.getLog('orders', p)!.logEndOffset).toBe(2 * (p + 1));
    expect(info.join('\n')).toMatch(/clean shutdown/);
    // The marker is consumed at start-up: a crash now must trigger recovery.
    for (const d of logDirs) expect(fs.existsSync(path.join(d, CLEAN_SHUTDOWN_FILE))).toBe(false);
  });

  it('recovers logs of a dir without the clean-shutdown marker and ignores foreign directories', async () => {
    const logDirs = dirs(1);
    const manager = await LogManager.open({ logDirs, config, logger: silent, impl: variant.impl, schedule: false });
    const log = manager.getOrCreateLog('events', 0);
    for (let i = 0; i < 5; i++) log.append(batch(`e${i}`, 1));
    await manager.close();
    fs.rmSync(path.join(logDirs[0], CLEAN_SHUTDOWN_FILE));
    const segment = path.join(logDirs[0], 'events-0', '00000000000000000000.log');
    fs.appendFileSync(segment, Buffer.from('torn'));
    fs.mkdirSync(path.join(logDirs[0], 'lost+found'));
    const warnings: string[] = [];
    const reopened = await LogManager.open({ logDirs, config, logger: { info: () => {}, warn: (m) => warnings.push(m) }, impl: variant.impl, schedule: false });
    cleanups.push(() => reopened.close());
    expect(reopened.getLog('events', 0)!.logEndOffset).toBe(5);
    expect(warnings.join('\n')).toMatch(/lost\+found/);
    expect(warnings.join('\n')).toMatch(/truncated 4 bytes/);
  });

  it('deletes a log by renaming its directory to Kafka\'s -delete name, then removing it after file.delete.delay.ms', async () => {
    const logDirs = dirs(1);
    const manager = await LogManager.open({ logDirs, config: { ...config, fileDeleteDelayMs: 200 }, logger: silent, impl: variant.impl, schedule: false });
    cleanups.push(() => manager.close());
    manager.getOrCreateLog('gone', 0).append(batch('x', 1));
    const deleting = manager.deleteLog('gone', 0);
    // The rename happens before deleteLog returns: the name is free at once.
    expect(manager.getLog('gone', 0)).toBeUndefined();
    const renamed = fs.readdirSync(logDirs[0]).filter((d) => d.startsWith('gone'));
    expect(renamed).toHaveLength(1);
    expect(renamed[0]).toMatch(/^gone-0\.[0-9a-f]{32}-delete$/);
    const fresh = manager.getOrCreateLog('gone', 0);
    expect(fresh.logEndOffset).toBe(0);
    expect(await deleting).toBe(true);
    expect(await manager.deleteLog('gone', 7)).toBe(false);
    await vi.waitFor(() => expect(fs.existsSync(path.join(logDirs[0], renamed[0]))).toBe(false), { timeout: 10_000, interval: 50 });
  });

  it('removes -delete directories left by a stop before their delay passed, and forgets their checkpoint entries', async () => {
    const logDirs = dirs(1);
    const manager = await LogManager.open({ logDirs, config: { ...config, fileDeleteDelayMs: 3_600_000 }, logger: silent, impl: variant.impl, schedule: false });
    const log = manager.getOrCreateLog('gone', 0);
    log.append(batch('x', 10));
    log.maybeIncrementLogStartOffset(5);
    manager.checkpointLogStartOffsets();
    expect(readOffsetCheckpoint(path.join(logDirs[0], 'log-start-offset-checkpoint')).get('gone-0')).toBe(5);
    await manager.deleteLog('gone', 0);
    expect(readOffsetCheckpoint(path.join(logDirs[0], 'log-start-offset-checkpoint')).has('gone-0')).toBe(false);
    expect(manager.pendingDirRemovals()).toHaveLength(1);
    await manager.close();
    expect(fs.readdirSync(logDirs[0]).filter((d) => d.endsWith('-delete'))).toHaveLength(1);
    const reopened = await LogManager.open({ logDirs, config, logger: silent, impl: variant.impl, schedule: false });
    cleanups.push(() => reopened.close());
    expect(reopened.getLog('gone', 0)).toBeUndefined();
    await vi.waitFor(() => expect(fs.readdirSync(logDirs[0]).filter((d) => d.endsWith('-delete'))).toEqual([]), { timeout: 10_000, interval: 50 });
  });
});
