import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Log, silentLogger } from '../src/storage/log.js';
import { batch, smallConfig, storageVariants, tempDir } from './support/storage.js';

const bin = fileURLToPath(new URL('../bin/samsa.js', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('samsa dump-log', () => {
  it('prints batches, records and index entries in kafka-dump-log format', async () => {
    const root = tempDir();
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const dir = path.join(root, 'orders-0');
    const variant = storageVariants()[0];
    const log = Log.open({ dir, topic: 'orders', partition: 0, config: smallConfig(variant, { indexIntervalBytes: 100 }), logger: silentLogger, impl: variant.impl });
    log.append(batch('a', 2, { baseTimestamp: 1_700_000_000_000 }));
    log.append(batch('b', 1, { baseTimestamp: 1_700_000_000_500, compression: 'gzip' }));
    log.append(batch('c', 1, { baseTimestamp: 1_700_000_000_900 }));
    await log.close();
    const segment = path.join(dir, '00000000000000000000.log');
    const out = execFileSync(process.execPath, [bin, 'dump-log', '--files', `${segment},${segment.replace('.log', '.index')},${segment.replace('.log', '.timeindex')}`, '--print-data-log'], {
      encoding: 'utf8',
    });
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(`Dumping ${segment}`);
    expect(lines[1]).toBe('Log starting offset: 0');
    expect(lines[2]).toMatch(
      /^baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000001 size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$/,
    );
    expect(lines[3]).toBe('| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 3 sequence: -1 headerKeys: [] key: k0 payload: a/0');
    expect(lines[4]).toBe('| offset: 1 CreateTime: 1700000000001 keySize: 2 valueSize: 3 sequence: -1 headerKeys: [] key: k1 payload: a/1');
    expect(lines[5]).toMatch(/^baseOffset: 2 lastOffset: 2 count: 1 .* compresscodec: gzip crc: \d+ isvalid: true$/);
    expect(lines).toContain(`Dumping ${segment.replace('.log', '.index')}`);
    expect(lines.some((l) => /^offset: \d+ position: \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^timestamp: 1700000000\d{3} offset: \d+$/.test(l))).toBe(true);
  });

  it('reports a corrupt batch as invalid and a torn tail as invalid bytes, with a non-zero exit for unknown files', () => {
    const root = tempDir();
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const file = path.join(root, '00000000000000000000.log');
    const a = batch('a', 1);
    const b = batch('b', 1);
    b.writeBigInt64BE(1n, 0);
    b[b.length - 1] ^= 1;
    fs.writeFileSync(file, Buffer.concat([a, b, Buffer.from('torn')]));
    const r = spawnSync(process.execPath, [bin, 'dump-log', '--files', `${file},${path.join(root, 'x.txt')}`], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/baseOffset: 0 .*isvalid: true/);
    expect(r.stdout).toMatch(/baseOffset: 1 .*isvalid: false/);
    expect(r.stdout).toMatch(/Found 4 invalid bytes/);
    expect(r.stdout).toMatch(/Ignoring unknown file/);
    expect(r.status).toBe(1);
  });
});
