// A full disk must give a typed error, keep the log readable, and let appends
// resume once space returns. Runs on a tiny tmpfs; skipped where mounting is not allowed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogIoError } from '../src/storage/errors.js';
import { Log, silentLogger } from '../src/storage/log.js';
import { batch, smallConfig, storageVariants, tempDir } from './support/storage.js';

const FS_BYTES = 4 * 1024 * 1024;
let mountPoint = '';
let mounted = false;

beforeAll(() => {
  mountPoint = tempDir('samsa-enospc-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_BYTES}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    console.warn(`log ENOSPC tests skipped: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]})`);
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  fs.rmSync(mountPoint, { recursive: true, force: true });
});

describe.each(storageVariants())('Log on a full disk ($name)', (variant) => {
  it('fails appends with KAFKA_STORAGE_ERROR, stays readable, and resumes when space returns', async (ctx) => {
    if (!mounted) ctx.skip();
    const dir = path.join(mountPoint, `${variant.impl}-${variant.appendMode}`, 't-0');
    const filler = path.join(mountPoint, `filler-${variant.impl}-${variant.appendMode}`);
    const log = Log.open({
      dir,
      topic: 't',
      partition: 0,
      // Segments of 256 KiB so rolls (with their preallocation) happen while filling.
      config: smallConfig(variant, { segmentBytes: 256 * 1024, segmentIndexBytes: 4096 }),
      logger: silentLogger,
      impl: variant.impl,
    });
    try {
      // Leave about 1 MiB free, then append until the disk is full.
      const free = fs.statfsSync(mountPoint).bavail * fs.statfsSync(mountPoint).bsize;
      fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 1024 * 1024)));
      let appended = 0;
      let failure: unknown = null;
      for (let i = 0; i < 10_000 && failure === null; i++) {
        try {
          log.append(batch(`e${i}`, 4, { valueBytes: 1000 }));
          appended += 4;
        } catch (err) {
          failure = err;
        }
      }
      expect(failure).toBeInstanceOf(LogIoError);
      expect((failure as LogIoError).syscallCode).toBe('ENOSPC');
      expect((failure as LogIoError).kafkaCode).toBe(56);
      expect(log.logEndOffset).toBe(appended);
      // Everything acknowledged reads back.
      let offset = 0;
      let records = 0;
      while (offset < log.logEndOffset) {
        const r = log.read(offset, 1 << 20);
        const bytes = Buffer.alloc(r.records!.length);
        fs.readSync(r.records!.fd, bytes, 0, bytes.length, r.records!.position);
        let pos = 0;
        while (pos < bytes.length) {
          const base = Number(bytes.readBigInt64BE(pos));
          const size = bytes.readInt32BE(pos + 8) + 12;
          const delta = bytes.readInt32BE(pos + 23);
          records += delta + 1;
          offset = base + delta + 1;
          pos += size;
        }
      }
      expect(records).toBe(appended);
      fs.rmSync(filler);
      const after = log.append(batch('after', 2));
      expect(after.firstOffset).toBe(appended);
    } finally {
      await log.close({ flush: false }).catch(() => {});
      fs.rmSync(filler, { force: true });
    }
  });
});
