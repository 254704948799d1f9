// Hostile peers written by hand against a real broker over real sockets:
// truncated frames, oversized and negative length prefixes, random bytes, huge
// array lengths inside well-formed frames, slowloris writers, and a client that
// pipelines requests but never reads its responses. Each time the broker must
// close (or pause) only that connection and keep serving a well-behaved client,
// and its memory must stay bounded.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { silentLogger } from '../src/storage/log.js';
import { BrokerProcess } from './support/broker-process.js';
import { WireClient, createTopic, fetchAll, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const REQUEST_BYTES_MAX = 1024 * 1024;
let broker: Broker;
let dataDir: string;
let steady: WireClient;
const warnings: string[] = [];

beforeAll(async () => {
  dataDir = tempDir();
  broker = await Broker.start({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    properties: { 'socket.request.max.bytes': String(REQUEST_BYTES_MAX) },
    logger: { info: () => {}, warn: (m) => warnings.push(m) },
  });
  steady = await WireClient.connect(broker.port);
  await createTopic(steady, 'h', 1);
  await produce(steady, 'h', 0, buildRecordBatch(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))));
});

afterAll(async () => {
  steady?.close();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The long-lived client and a fresh one are both answered. */
async function expectOthersServed(): Promise<void> {
  const fresh = await WireClient.connect(broker.port);
  try {
    const versions = await fresh.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    const records = await fetchAll(steady, 'h', 0);
    expect(records.map((r) => r.value?.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    const metadata = await fresh.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(metadata.topics.map((t: { name: string }) => t.name)).toContain('h');
  } finally {
    fresh.close();
  }
}

function rawConnect(port = broker.port): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', (err) => {
      // Resets after the broker closes a hostile connection are expected.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET' && (err as NodeJS.ErrnoException).code !== 'EPIPE') reject(err);
    });
  });
}

/** Resolves with the bytes the broker sent once it closes the connection. */
function closedBy(socket: net.Socket, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => reject(new Error(`broker kept the connection open for ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

function sizePrefix(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(size);
  return b;
}

describe('hostile framing', () => {
  it('closes a connection whose peer ends in the middle of a frame', async () => {
    const s = await rawConnect();
    const closed = closedBy(s);
    const frame = WireClient.frame(ApiKey.Metadata, 1, { topics: null }, 1);
    s.end(frame.subarray(0, frame.length - 3));
    expect((await closed).length).toBe(0);
    await expectOthersServed();
  });

  it('closes a connection whose frame body is cut short inside a field', async () => {
    const s = await rawConnect();
    const closed = closedBy(s);
    // The size prefix matches the bytes sent, but the body stops inside the topics array.
    const whole = WireClient.frame(ApiKey.Metadata, 1, { topics: [{ name: 'a-long-topic-name' }] }, 1);
    const body = whole.subarray(4, whole.length - 5);
    s.write(Buffer.concat([sizePrefix(body.length), body]));
    expect((await closed).length).toBe(0);
    expect(warnings.some((w) => /malformed Metadata v1 request/.test(w))).toBe(true);
    await expectOthersServed();
  });

  it('closes at once on a length prefix above socket.request.max.bytes, before the bytes arrive', async () => {
    const s = await rawConnect();
    const closed = closedBy(s);
    s.write(sizePrefix(REQUEST_BYTES_MAX + 1));
    // Nothing else is sent: the broker must not wait for (or allocate) the declared bytes.
    await closed;
    expect(warnings.some((w) => w.includes(`request size ${REQUEST_BYTES_MAX + 1}`))).toBe(true);
    await expectOthersServed();
  });

  it('closes on a negative length prefix and on the largest int32', async () => {
    for (const size of [-1, -2147483648, 2147483647]) {
      const s = await rawConnect();
      const closed = closedBy(s);
      s.write(sizePrefix(size));
      await closed;
    }
    await expectOthersServed();
  });

  it('accepts a frame of exactly socket.request.max.bytes (the bound is inclusive)', async () => {
    const c = await WireClient.connect(broker.port);
    try {
      // A Produce whose records fill the frame to the byte: the limit is on the frame, the answer is per partition.
      const overhead = WireClient.frame(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'h', partitionData: [{ index: 0, records: Buffer.alloc(100_000) }] }] }, 1).length - 100_000 - 4;
      const recordsBytes = REQUEST_BYTES_MAX - overhead; // the compact length takes 3 bytes for both sizes
      const records = Buffer.alloc(recordsBytes);
      const frame = WireClient.frame(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'h', partitionData: [{ index: 0, records }] }] }, 1);
      expect(frame.length - 4).toBe(REQUEST_BYTES_MAX);
      const r = await produce(c, 'h', 0, records, 1);
      // Zeros are not a record batch: CORRUPT_MESSAGE for the partition, the connection lives.
      expect(r!.errorCode).toBe(2);
      expect((await c.request(ApiKey.ApiVersions, 0, {})).errorCode).toBe(0);
    } finally {
      c.close();
    }
  });

  it('survives random bytes from many peers', async () => {
    for (let seed = 0; seed < 40; seed++) {
      const s = await rawConnect();
      const closed = closedBy(s);
      const noise = crypto.randomBytes(8 + ((seed * 7919) % 8192));
      // Half of them look like a frame of plausible size with garbage inside.
      if (seed % 2 === 0) noise.writeInt32BE(noise.length - 4, 0);
      s.end(noise);
      await closed;
    }
    await expectOthersServed();
  });

  it('survives a random frame body for every API key it serves, at every version', async () => {
    for (const apiKey of [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.CreateTopics]) {
      for (let version = 0; version <= 16; version++) {
        const s = await rawConnect();
        const closed = closedBy(s);
        const body = crypto.randomBytes(64);
        body.writeInt16BE(apiKey, 0);
        body.writeInt16BE(version, 2);
        s.end(Buffer.concat([sizePrefix(body.length), body]));
        await closed;
      }
    }
    await expectOthersServed();
  });
});

describe('huge lengths inside a well-formed frame', () => {
  // Each body is a valid header followed by a length that claims far more than the frame holds.
  const cases: Array<[string, number, number, Buffer]> = [
    ['Metadata v1 topics array of 2^31-1', ApiKey.Metadata, 1, sizePrefix(0x7fffffff)],
    ['Metadata v1 topic name of 32767 bytes', ApiKey.Metadata, 1, Buffer.concat([sizePrefix(1), Buffer.from([0x7f, 0xff, 0x61])])],
    ['Metadata v12 compact topics array of 2^31', ApiKey.Metadata, 12, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])],
    ['Metadata v12 varint that never ends', ApiKey.Metadata, 12, Buffer.alloc(16, 0xff)],
    [
      'Produce v8 records of 2^31-1 bytes',
      ApiKey.Produce,
      8,
      Buffer.concat([Buffer.from([0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8]), sizePrefix(1), Buffer.from([0x00, 0x01, 0x68]), sizePrefix(1), sizePrefix(0), sizePrefix(0x7fffffff)]),
    ],
    [
      'Fetch v11 partitions array of 2^30',
      ApiKey.Fetch,
      11,
      Buffer.concat([sizePrefix(-1), sizePrefix(500), sizePrefix(1), sizePrefix(1 << 20), Buffer.from([0]), sizePrefix(0), sizePrefix(-1), sizePrefix(1), Buffer.from([0x00, 0x01, 0x68]), sizePrefix(1 << 30)]),
    ],
    ['CreateTopics v7 compact configs array of 2^31', ApiKey.CreateTopics, 7, Buffer.from([0x02, 0x02, 0x68, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0x80, 0x80, 0x80, 0x80, 0x08])],
  ];

  it.each(cases)('%s: the connection is closed, nothing large is allocated', async (_name, apiKey, version, tail) => {
    const header = headerBytes(apiKey, version);
    const body = Buffer.concat([header, tail]);
    const heapBefore = process.memoryUsage().arrayBuffers;
    const s = await rawConnect();
    const closed = closedBy(s);
    s.write(Buffer.concat([sizePrefix(body.length), body]));
    expect((await closed).length).toBe(0);
    // An allocation sized from the claimed length would show here (the broker runs in this process).
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(64 * 1024 * 1024);
    await expectOthersServed();
  });
});

/** The request header for (apiKey, version) with correlation id 9 and client id "x". */
function headerBytes(apiKey: number, version: number): Buffer {
  const flexible = (apiKey === ApiKey.Metadata && version >= 9) || (apiKey === ApiKey.Produce && version >= 9) || (apiKey === ApiKey.Fetch && version >= 12) || (apiKey === ApiKey.CreateTopics && version >= 5);
  const fixed = Buffer.alloc(8);
  fixed.writeInt16BE(apiKey, 0);
  fixed.writeInt16BE(version, 2);
  fixed.writeInt32BE(9, 4);
  return Buffer.concat([fixed, Buffer.from([0x00, 0x01, 0x78]), flexible ? Buffer.from([0x00]) : Buffer.alloc(0)]);
}

describe('slow and silent peers', () => {
  it('answers a request written one byte at a time while serving others', async () => {
    const c = await WireClient.connect(broker.port);
    try {
      const frame = WireClient.frame(ApiKey.ApiVersions, 0, {}, 1);
      // The client decodes the answer as correlation id 1 (its first request).
      const answered = new Promise<Buffer>((resolve) => c.socket.once('data', resolve));
      for (let i = 0; i < frame.length; i++) {
        c.socket.write(frame.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 20));
        if (i % 8 === 0) await expectOthersServed();
      }
      const response = await answered;
      expect(response.readInt32BE(4)).toBe(1);
    } finally {
      c.close();
    }
  });

  it('closes a connection that goes silent mid-frame after connections.max.idle.ms', async () => {
    const idleDir = tempDir();
    const idle = await Broker.start({ port: 0, host: '127.0.0.1', dataDir: idleDir, properties: { 'connections.max.idle.ms': '500' }, logger: silentLogger });
    try {
      const s = await rawConnect(idle.port);
      const closed = closedBy(s, 30_000);
      s.write(sizePrefix(1000));
      s.write(Buffer.alloc(10));
      await closed;
    } finally {
      await idle.close();
      fs.rmSync(idleDir, { recursive: true, force: true });
    }
  });
});

describe('memory stays bounded (broker in a child process)', () => {
  let child: BrokerProcess;
  let childDir: string;

  beforeAll(async () => {
    childDir = tempDir();
    child = await BrokerProcess.start(childDir);
    const c = await WireClient.connect(child.port);
    await createTopic(c, 'm', 1);
    // 2 MiB of small batches: fetches below 4 KiB are copied into the response, above go zero-copy.
    for (let b = 0; b < 64; b++) {
      const r = await produce(c, 'm', 0, buildRecordBatch(Array.from({ length: 32 }, (_, i) => ({ key: `k${i}`, value: crypto.randomBytes(1000) }))), 1);
      expect(r!.errorCode).toBe(0);
    }
    c.close();
  });

  afterAll(async () => {
    await child?.kill('SIGTERM');
    fs.rmSync(childDir, { recursive: true, force: true });
  });

  async function expectChildServes(): Promise<void> {
    const c = await WireClient.connect(child.port);
    try {
      const records = await fetchAll(c, 'm', 0, 2000);
      expect(records).toHaveLength(64 * 32 - 2000);
    } finally {
      c.close();
    }
  }

  it('pauses reading from a client that never reads its responses', { timeout: 180_000 }, async () => {
    const before = await child.memory();
    const hogs: net.Socket[] = [];
    let written = 0;
    for (let h = 0; h < 4; h++) {
      const s = await rawConnect(child.port);
      // Never read: the socket is paused on our side too, so the kernel buffers fill.
      s.pause();
      hogs.push(s);
    }
    // Each hog pipelines fetches of 2 MiB responses (copy path for small slices, zero-copy for large) and produces.
    const fetchBody = (partitionMaxBytes: number) => ({
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 8 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'm', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const small = WireClient.frame(ApiKey.Fetch, 11, fetchBody(3000), 1);
    const large = WireClient.frame(ApiKey.Fetch, 11, fetchBody(4 << 20), 2);
    // Metadata requests are small: send them 256 at a time.
    const metadata = Buffer.concat(Array.from({ length: 256 }, () => WireClient.frame(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 3)));
    const backedUp = (s: net.Socket) => s.writableLength > 1 << 20;
    // Write until every hog's own send buffer backs up (the broker stopped reading it), or give up.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !hogs.every(backedUp)) {
      for (const [i, s] of hogs.entries()) {
        if (backedUp(s)) continue;
        const frame = i % 3 === 0 ? small : i % 3 === 1 ? large : metadata;
        s.write(frame);
        written += frame.length;
      }
      await new Promise((r) => setImmediate(r));
    }
    const blocked = hogs.filter(backedUp).length;
    await expectChildServes();
    const during = await child.memory();
    console.log(`never-reading clients: ${written} request bytes written; broker RSS ${before.rss} -> ${during.rss}, heap ${before.heapUsed} -> ${during.heapUsed}`);
    for (const s of hogs) s.destroy();
    // Every hog was throttled: its requests backed up on its side instead of in the broker.
    expect(blocked).toBe(hogs.length);
    expect(written).toBeGreaterThan(1 << 20);
    // Per connection the broker holds at most 32 queued requests and their responses.
    expect(during.rss - before.rss).toBeLessThan(256 * 1024 * 1024);
    expect(during.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
    await expectChildServes();
  });

  it('holds no memory for frames that are announced large and arrive slowly', async () => {
    const before = await child.memory();
    const slow: net.Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = await rawConnect(child.port);
      // Each one claims a 100 MiB frame (the default socket.request.max.bytes) and trickles bytes.
      s.write(sizePrefix(100 * 1024 * 1024 - 1));
      slow.push(s);
    }
    for (let round = 0; round < 10; round++) {
      for (const s of slow) s.write(Buffer.alloc(100, round));
      await new Promise((r) => setTimeout(r, 50));
    }
    await expectChildServes();
    const during = await child.memory();
    console.log(`slow 100 MiB frames: broker RSS ${before.rss} -> ${during.rss}`);
    for (const s of slow) s.destroy();
    expect(during.rss - before.rss).toBeLessThan(64 * 1024 * 1024);
  });
});
