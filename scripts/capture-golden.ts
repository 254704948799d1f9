// Records real request frames from kafkajs and kcat (librdkafka) into
// test/fixtures/golden/: a broker advertises a recording TCP proxy, so every
// connection the clients open goes through it, and each client-to-broker frame
// is split off by its size prefix. The first three frames of each (client, API,
// version) are kept as `<client>-<api>-v<version>-<n>.bin` (the frame without its
// size prefix). Run: npx tsx scripts/capture-golden.ts
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { Broker } from '../src/broker/broker.js';
import { API_REGISTRY } from '../src/protocol/generated/index.js';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'golden');
const KCAT = ['/usr/bin/kcat', '/usr/bin/kafkacat'].find((p) => fs.existsSync(p));

const FRAMES_PER_KIND = 3;
let client = 'none';
const captured = new Map<string, Buffer>();

function record(frame: Buffer): void {
  const apiKey = frame.readInt16BE(0);
  const version = frame.readInt16BE(2);
  const name = API_REGISTRY.get(apiKey)?.name ?? `key${apiKey}`;
  // Up to FRAMES_PER_KIND frames per (client, API, version): e.g. plain and gzip Produce.
  for (let n = 1; n <= FRAMES_PER_KIND; n++) {
    const file = `${client}-${name}-v${version}-${n}.bin`;
    if (!captured.has(file)) {
      captured.set(file, Buffer.from(frame));
      return;
    }
  }
}

/** A proxy to `target` that records every client frame. */
async function startProxy(target: () => number): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target(), '127.0.0.1');
    let pending = Buffer.alloc(0);
    inbound.on('data', (chunk: Buffer) => {
      outbound.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        record(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
    });
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end);
    outbound.on('close', end);
    inbound.on('error', end);
    outbound.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-golden-'));
  let brokerPort = 0;
  const proxy = await startProxy(() => brokerPort);
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  const broker = await Broker.start({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger: { info: () => {}, warn: (m) => console.warn(`broker: ${m}`) },
    properties: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` },
  });
  brokerPort = broker.boundPort;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  try {
    client = 'kafkajs';
    const kafka = new Kafka({ clientId: 'golden', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'golden', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'golden', messages: [{ key: 'k', value: 'v', headers: { h: 'x' }, partition: 0 }], acks: -1 });
    await producer.send({ topic: 'golden', compression: CompressionTypes.GZIP, messages: [{ key: 'k2', value: 'v2'.repeat(50), partition: 1 }], acks: 1 });
    await admin.fetchTopicOffsets('golden');
    await admin.fetchTopicOffsetsByTimestamp('golden', Date.now() - 60_000);
    await admin.fetchTopicMetadata({ topics: ['golden'] });
    await producer.disconnect();
    await admin.disconnect();

    if (KCAT) {
      client = 'kcat';
      // Asynchronous: the broker and the proxy run on this event loop.
      const kcat = (args: string[], input = '') =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(KCAT, ['-b', bootstrap, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
          child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat ${args.join(' ')}: exit ${code}`))));
          child.stdin.end(input);
        });
      await kcat(['-L', '-t', 'golden']);
      await kcat(['-P', '-t', 'golden', '-p', '0', '-K', ':', '-H', 'h=1', '-z', 'zstd'], 'key:value\n');
      await kcat(['-P', '-t', 'golden', '-p', '1', '-z', 'gzip', '-X', 'acks=1'], `${'gzip me '.repeat(20)}\n`);
      await kcat(['-C', '-t', 'golden', '-p', '0', '-o', 'beginning', '-e', '-q']);
      await kcat(['-Q', '-t', `golden:0:${Date.now() - 60_000}`]);
    } else {
      console.warn('kcat not found: only kafkajs frames captured');
    }
  } finally {
    await broker.close();
    proxy.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  fs.mkdirSync(OUT, { recursive: true });
  for (const [file, frame] of [...captured].sort()) {
    fs.writeFileSync(path.join(OUT, file), frame);
    console.log(`${file} (${frame.length} bytes)`);
  }
}

await main();
