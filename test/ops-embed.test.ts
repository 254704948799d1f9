// Embedding by package name: `import { Broker } from 'samsa'` resolves through
// package.json `exports` to the built dist/ (rebuilt here first when src/ is
// newer), in this process and in a plain Node process outside vitest.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/server-process.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => {
  // Tests must exercise the package as built from the current sources.
  const build = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.mjs'), '--if-stale'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
}, 300_000);

describe("import { Broker } from 'samsa'", () => {
  it('starts on port 0, takes a kafkajs produce, and closes twice', async () => {
    const samsa = await import('samsa');
    // The package build, not the sources vitest would otherwise load.
    const { Broker: SourceBroker } = await import('../src/broker/broker.js');
    expect(samsa.Broker).not.toBe(SourceBroker);
    const dataDir = tempDir('samsa-embed-');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await samsa.Broker.start({ port: 0, dataDir, logger: samsa.silentLogger });
    cleanups.push(() => broker.close());
    expect(broker.bootstrap).toBe(`127.0.0.1:${broker.port}`);
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.metricsPort).toBeNull();

    const kafka = new Kafka({ clientId: 'embed-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    cleanups.push(() => producer.disconnect());
    await producer.connect();
    const [result] = await producer.send({ topic: 'embedded', acks: -1, messages: [{ key: 'k', value: 'hello' }, { value: 'world' }] });
    expect(result).toMatchObject({ topicName: 'embedded', partition: 0, errorCode: 0, baseOffset: '0' });
    await producer.disconnect();

    const first = broker.close();
    const second = broker.close();
    await Promise.all([first, second]);
    await broker.close();
    // Closed means closed: the port no longer accepts connections.
    const admin = new Kafka({ clientId: 'embed-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
    await expect(admin.connect()).rejects.toThrow();
    // The records are on disk in Kafka's layout.
    expect(fs.statSync(path.join(dataDir, 'embedded-0', '00000000000000000000.log')).size).toBeGreaterThan(0);
  });

  it('resolves in a plain Node process, without loading prom-client while metrics are off', () => {
    const dataDir = tempDir('samsa-embed-');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const script = `
      import { createRequire } from 'node:module';
      import { Broker, silentLogger } from 'samsa';
      const broker = await Broker.start({ port: 0, dataDir: ${JSON.stringify(dataDir)}, logger: silentLogger });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/prom-client/'));
      console.log(JSON.stringify({ bootstrap: broker.bootstrap, promClientFiles: loaded.length }));
      await broker.close();
      await broker.close();
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const out = JSON.parse(child.stdout.trim()) as { bootstrap: string; promClientFiles: number };
    expect(out.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(out.promClientFiles).toBe(0);
  });
});
