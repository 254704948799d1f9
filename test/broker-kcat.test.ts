// Interop through librdkafka with Debian's kcat (skipped when it is missing;
// .ci/run installs it): metadata (-L -J), produce (-P) by partition with keys,
// headers, every compression codec and acks 0/1/all, consume (-C -e) by
// partition, and offsets by timestamp (-Q). The batches kcat wrote are also
// read with raw Fetch to check their codec and CRCs.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { iterateBatchHeaders } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient, createTopic, fetchAll, fetchPartition } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const run = promisify(execFile);
const KCAT = ['/usr/bin/kcat', '/usr/bin/kafkacat'].find((p) => fs.existsSync(p)) ?? null;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const ACKS = ['all', '1', '0'] as const;

let broker: Broker;
let dataDir: string;
let bootstrap: string;

beforeAll(async () => {
  dataDir = tempDir();
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
  bootstrap = `127.0.0.1:${broker.port}`;
  const c = await WireClient.connect(broker.port);
  await createTopic(c, 'kcat', CODECS.length);
  c.close();
});

afterAll(async () => {
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Runs kcat with `input` on stdin; rejects on a non-zero exit with its stderr. */
function kcat(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT!, ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input);
  });
}

function lines(partition: number, count: number): string[] {
  // Repetitive values so every codec actually shrinks them (librdkafka sends a batch uncompressed otherwise).
  return Array.from({ length: count }, (_, i) => `key-${partition}-${i}:value-${partition}-${i}-${'abc'.repeat(40)}`);
}

describe.skipIf(!KCAT)('kcat (librdkafka) interop', () => {
  it('lists metadata (-L -J): broker, topic, partitions, leader', async () => {
    const metadata = JSON.parse(await kcat(['-L', '-J', '-t', 'kcat']));
    expect(metadata.brokers).toEqual([{ id: 1, name: `${bootstrap}` }]);
    expect(metadata.topics).toHaveLength(1);
    expect(metadata.topics[0]).toMatchObject({ topic: 'kcat' });
    expect(metadata.topics[0].partitions.map((p: { partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }) => [p.partition, p.leader, p.replicas, p.isrs])).toEqual(
      CODECS.map((_, i) => [i, 1, [{ id: 1 }], [{ id: 1 }]]),
    );
  });

  it('produces (-P) by partition with every codec, keys, headers and acks, and consumes it back (-C -e)', { timeout: 300_000 }, async () => {
    for (const [partition, codec] of CODECS.entries()) {
      for (const acks of ACKS) {
        const input = lines(partition, 300).map((l) => l.replace('value-', `${acks}-value-`)).join('\n') + '\n';
        const args = ['-P', '-t', 'kcat', '-p', String(partition), '-K', ':', '-H', `codec=${codec}`, '-H', `acks=${acks}`, '-X', `acks=${acks}`, '-X', 'linger.ms=50'];
        if (codec !== 'none') args.push('-z', codec);
        await kcat(args, input);
      }
    }
    const client = await WireClient.connect(broker.port);
    try {
      const versions = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      for (const [partition, codec] of CODECS.entries()) {
        const expected = ACKS.flatMap((acks) => lines(partition, 300).map((l) => l.replace('value-', `${acks}-value-`)));
        const out = await kcat(['-C', '-t', 'kcat', '-p', String(partition), '-o', 'beginning', '-e', '-q', '-J']);
        const consumed = out.trim().split('\n').map((l) => JSON.parse(l));
        expect(consumed.map((m: { key: string; payload: string }) => `${m.key}:${m.payload}`), `partition ${partition} (${codec})`).toEqual(expected);
        expect(consumed.map((m: { offset: number }) => m.offset)).toEqual(expected.map((_, i) => i));
        expect(consumed[0].headers).toEqual(['codec', codec, 'acks', 'all']);
        // The batches on disk are as librdkafka compressed them, and intact.
        const r = await fetchPartition(client, 'kcat', partition, 0, { partitionMaxBytes: 8 << 20 });
        const codecs = new Set([...iterateBatchHeaders(r.records!)].map((b) => b.header.compression));
        // librdkafka before 2.10 enables lz4 only when the broker lists FindCoordinator v0 (its marker of
        // Kafka 0.8.2); Kafka 4.0 serves FindCoordinator from v1 (KIP-896), so those clients send lz4 batches uncompressed.
        const lz4Usable =
          codec !== 'lz4' || versions.apiKeys.some((k: { apiKey: number; minVersion: number }) => k.apiKey === ApiKey.FindCoordinator && k.minVersion === 0);
        expect([...codecs]).toEqual([lz4Usable ? codec : 'none']);
        expect(await fetchAll(client, 'kcat', partition)).toHaveLength(expected.length);
      }
    } finally {
      client.close();
    }
  });

  it('consumes from an offset and from the end (-o N, -o -N)', async () => {
    const out = await kcat(['-C', '-t', 'kcat', '-p', '0', '-o', '895', '-e', '-q', '-f', '%o %k\\n']);
    expect(out.trim().split('\n')).toEqual(['895 key-0-295', '896 key-0-296', '897 key-0-297', '898 key-0-298', '899 key-0-299']);
    const tail = await kcat(['-C', '-t', 'kcat', '-p', '1', '-o', '-2', '-e', '-q', '-f', '%o\\n']);
    expect(tail.trim().split('\n')).toEqual(['898', '899']);
  });

  it('queries offsets by timestamp (-Q), through ListOffsets', async () => {
    // One partition per query: librdkafka keeps one timestamp per partition in a request.
    const past = await kcat(['-Q', '-t', `kcat:0:${Date.now() - 3_600_000}`]);
    const future = await kcat(['-Q', '-t', `kcat:0:${Date.now() + 3_600_000}`]);
    // "kcat [0] offset N": the past finds the first record, the future finds nothing (-1).
    expect(past.trim()).toMatch(/^kcat \[0\]\s+offset 0$/);
    expect(future.trim()).toMatch(/^kcat \[0\]\s+offset -1$/);
  });

  it('formats key, value and headers of a zstd-compressed record (-f)', async () => {
    const { stdout } = await run(KCAT!, ['-b', bootstrap, '-C', '-t', 'kcat', '-p', '4', '-o', '0', '-c', '1', '-e', '-q', '-f', '%k|%s|%h'], { timeout: 60_000 });
    expect(stdout).toBe(`key-4-0|all-value-4-0-${'abc'.repeat(40)}|codec=zstd,acks=all`);
  });
});
