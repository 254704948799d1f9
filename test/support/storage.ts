// Helpers shared by storage tests: temp dirs, configs per implementation, batches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nativeAddon } from '../../src/native/addon.js';
import { buildRecordBatch, type BatchOptions } from '../../src/record/record-batch.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/storage/log-config.js';
import type { IndexImpl } from '../../src/storage/index-file.js';

export function tempDir(prefix = 'samsa-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface StorageVariant {
  name: string;
  impl: IndexImpl;
  appendMode: 'mmap' | 'write';
}

/** Every storage implementation this machine can run: native mmap, native write, TypeScript. */
export function storageVariants(): StorageVariant[] {
  const variants: StorageVariant[] = [];
  if (nativeAddon()) {
    variants.push({ name: 'native mmap', impl: 'native', appendMode: 'mmap' });
    variants.push({ name: 'native write', impl: 'native', appendMode: 'write' });
  }
  variants.push({ name: 'typescript', impl: 'js', appendMode: 'write' });
  return variants;
}

export function smallConfig(variant: StorageVariant, overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    ...DEFAULT_LOG_CONFIG,
    segmentBytes: 64 * 1024,
    segmentIndexBytes: 4096,
    indexIntervalBytes: 512,
    fileDeleteDelayMs: 0,
    appendMode: variant.appendMode,
    ...overrides,
  };
}

/** A batch of `count` records whose values say which batch and record they are. */
export function batch(tag: string, count = 3, options: BatchOptions & { valueBytes?: number } = {}): Buffer {
  const pad = options.valueBytes ? 'x'.repeat(options.valueBytes) : '';
  const records = Array.from({ length: count }, (_, i) => ({
    key: `k${i}`,
    value: `${tag}/${i}${pad}`,
    timestamp: options.baseTimestamp !== undefined ? options.baseTimestamp + i : undefined,
  }));
  return buildRecordBatch(records, options);
}
