// Lifetime of the native Sender outside the happy path, in a child process (it
// needs --expose-gc, and an abort must fail this test rather than the runner).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';

describe.skipIf(nativeAddon() === null)('native Sender lifetime', () => {
  it('releases its dup when finalized, outlives a dropped JS object while sending, and survives worker teardown', () => {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/support/sender-lifecycle-child.ts'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.stderr).not.toMatch(/FATAL|Abort/);
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(result).toMatchObject({
      finalizerWithSenders: 100,
      finalizerAfterGc: 0,
      droppedSenderCallback: 'ok',
      droppedSenderBytes: 16 * 1024 * 1024,
      workerFdsAfterTerminate: 0,
    });
    // At least the worker's listening server, reader, accepted socket and dup
    // (plus its own loop's fds), all gone after terminate.
    expect(result.workerFdsWhileSending).toBeGreaterThanOrEqual(4);
  });
});
