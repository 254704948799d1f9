// confluent-kafka for Python (Debian's python3-confluent-kafka, librdkafka
// underneath) against a broker on a real socket: a Python process produces
// keyed records with headers in every codec its librdkafka has, then consumes
// every partition by assignment, without a consumer group. Skipped when
// /usr/bin/python3 cannot import confluent_kafka.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/storage/log.js';
import { hasPythonModule, PYTHON, runPython as run } from './support/confluent.js';
import { tempDir } from './support/storage.js';

const SCRIPT = path.join(import.meta.dirname, 'support', 'confluent-interop.py');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Report {
  delivered: number;
  errors: string[];
  codecs: string[];
  partitions: Record<string, Array<[number, string, string, Record<string, string>]>>;
}

describe.skipIf(!hasPythonModule('confluent_kafka'))('confluent-kafka (Python, librdkafka)', () => {
  it('produces in every codec and consumes by assigned partition, without a group', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
    cleanups.push(() => broker.close());
    const partitions = 3;
    const perCodec = 20;
    const created = await broker.metadata.createTopic('confluent', partitions, 1, {});
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);

    const { stdout } = await run(PYTHON, [SCRIPT, `127.0.0.1:${broker.port}`, 'confluent', String(partitions), String(perCodec)], { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(stdout) as Report;
    expect(report.errors).toEqual([]);
    // librdkafka always has gzip, snappy and lz4 built in.
    expect(report.codecs).toEqual(expect.arrayContaining(['none', 'gzip', 'snappy', 'lz4']));
    const perPartition = report.codecs.length * perCodec;
    expect(report.delivered).toBe(perPartition * partitions);
    for (let p = 0; p < partitions; p++) {
      const seen = report.partitions[String(p)];
      expect(seen.map(([offset]) => offset)).toEqual(Array.from({ length: perPartition }, (_, i) => i));
      const expected = report.codecs.flatMap((codec) =>
        Array.from({ length: perCodec }, (_, i) => [`${codec}-k${i}`, `${codec}/${p}/${i}`, { codec, index: String(i) }]),
      );
      expect(seen.map(([, key, value, headers]) => [key, value, headers])).toEqual(expected);
      expect(broker.logs.getLog('confluent', p)!.highWatermark).toBe(perPartition);
    }
  });
});
