// confluent-kafka for Python (Debian's python3-confluent-kafka, librdkafka
// underneath) describing and altering topic and broker configs on a broker
// started here. Skipped when /usr/bin/python3 cannot import confluent_kafka.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { hasPythonModule, PYTHON, runPython as run } from './support/confluent.js';
import { tempDir } from './support/storage.js';

const SCRIPT = path.join(import.meta.dirname, 'support', 'confluent-configs.py');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// librdkafka reports sources as numbers: 1 topic, 4 static broker config, 5 default.
type Entries = Record<string, [string | null, string, boolean]>;

describe.skipIf(!hasPythonModule('confluent_kafka.admin'))('confluent-kafka AdminClient configs', () => {
  it('describes topic and broker configs with sources, alters a topic, and gets INVALID_CONFIG for a bad value', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { 'log.retention.hours': '48' } });
    cleanups.push(() => broker.close());
    const created = await broker.metadata.createTopic('rdk', 1, 1, { 'segment.ms': '600000' });
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);

    const { stdout } = await run(PYTHON, [SCRIPT, `127.0.0.1:${broker.port}`, 'rdk', '1'], { timeout: 100_000 });
    const report = JSON.parse(stdout) as { before: Entries; after: Entries; altered: string | null; invalid: string | null; broker: Entries };
    expect(report.before['segment.ms']).toEqual(['600000', '1', false]);
    expect(report.before['retention.ms']).toEqual(['172800000', '4', false]);
    expect(report.before['max.message.bytes']).toEqual(['1048588', '5', false]);
    expect(report.altered).toBeNull();
    // AlterConfigs replaced the whole set: segment.ms is back to its default.
    expect(report.after['retention.ms']).toEqual(['123456', '1', false]);
    expect(report.after['cleanup.policy']).toEqual(['compact', '1', false]);
    expect(report.after['segment.ms']).toEqual(['604800000', '5', false]);
    expect(report.invalid).toMatch(/INVALID_CONFIG|Invalid value soon for configuration retention.ms/);
    expect(broker.metadata.topic('rdk')!.configs).toEqual({ 'retention.ms': '123456', 'cleanup.policy': 'compact' });
    expect(report.broker['log.retention.hours']).toEqual(['48', '4', true]);
    expect(report.broker['log.retention.ms'][2]).toBe(false);
  });
});
