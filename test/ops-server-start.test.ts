// `samsa server-start` as a real process: a properties file plus --override,
// the one ready line, a raw ApiVersions round trip and kafkajs, structured
// logs (unknown keys, topic changes, connection errors), SIGTERM exiting 0,
// and malformed values refused with a message naming the key.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { createLogger } from '../src/observability/logger.js';
import { ServerProcess, type LogLine } from './support/server-process.js';
import { tempDir } from './support/storage.js';

const PINO_WARN = 40;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function workDir(): string {
  const dir = tempDir('samsa-ops-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): ServerProcess {
  const broker = ServerProcess.start(args, env);
  cleanups.push(() => broker.kill());
  return broker;
}

/** ApiVersions v0 by hand: size, api key 18, version 0, correlation id, client id. */
async function rawApiVersions(port: number): Promise<{ correlationId: number; errorCode: number; apiKeys: number[] }> {
  const clientId = Buffer.from('ops-test');
  const body = Buffer.alloc(10 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(4242, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  socket.write(Buffer.concat([size, body]));
  let received = Buffer.alloc(0);
  for await (const chunk of socket) {
    received = Buffer.concat([received, chunk as Buffer]);
    if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
  }
  socket.destroy();
  const count = received.readInt32BE(10);
  const apiKeys: number[] = [];
  for (let i = 0; i < count; i++) apiKeys.push(received.readInt16BE(14 + i * 6));
  return { correlationId: received.readInt32BE(4), errorCode: received.readInt16BE(8), apiKeys };
}

const isMsg = (prefix: string) => (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith(prefix);

describe('samsa server-start', () => {
  it('starts from server.properties with overrides, serves clients, logs what happens, and exits 0 on SIGTERM', async () => {
    const dir = workDir();
    const dataDir = path.join(dir, 'data');
    const propertiesFile = path.join(dir, 'server.properties');
    fs.writeFileSync(
      propertiesFile,
      ['# test broker', 'node.id=3', 'listeners=PLAINTEXT://127.0.0.1:0', `log.dirs=${dataDir}`, 'num.partitions=2', 'num.io.threads=8', 'no.such.property=1', ''].join('\n'),
    );
    const broker = start([propertiesFile, '--override', 'num.partitions=3']);
    const { port, line: ready } = await broker.ready();
    expect(port).toBeGreaterThan(0);
    expect(ready.msg).toMatch(new RegExp(`^ready in \\d+ ms: listening on 127\\.0\\.0\\.1:${port}, data in ${dataDir.replace(/[.]/g, '\\.')}, cluster \\S+, node 3$`));
    expect(ready).toMatchObject({ level: 30, nodeId: 3, dataDirs: [dataDir], advertised: `127.0.0.1:${port}` });
    expect(broker.lines.filter(isMsg('ready in'))).toHaveLength(1);
    // A typo is warned about; a Kafka property Samsa ignores only gets an info line.
    expect(broker.lines.filter((l) => l.level === PINO_WARN && l.property === 'no.such.property')).toHaveLength(1);
    expect(broker.lines.some((l) => l.level === PINO_WARN && String(l.msg).includes('num.io.threads'))).toBe(false);
    expect(broker.lines.find(isMsg('Kafka properties not used by Samsa'))?.properties).toEqual(['num.io.threads']);

    const versions = await rawApiVersions(port);
    expect(versions.correlationId).toBe(4242);
    expect(versions.errorCode).toBe(0);
    expect(versions.apiKeys).toEqual(expect.arrayContaining([0, 1, 3, 18, 19]));

    // kafkajs sends numPartitions -1, so the topic gets num.partitions (the override, 3).
    const kafka = new Kafka({ clientId: 'ops-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'ops-events' }] })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: ['ops-events'] });
    expect(meta.topics[0].partitions).toHaveLength(3);
    await admin.disconnect();
    const created = await broker.waitForLine(isMsg('topic ops-events created'), 'the topic-created line');
    expect(created).toMatchObject({ topic: 'ops-events', partitionCount: 3 });

    // A frame size over socket.request.max.bytes: that connection is closed with one line naming the peer.
    const hostile = net.connect(port, '127.0.0.1');
    cleanups.push(() => hostile.destroy());
    await new Promise<void>((resolve) => hostile.once('connect', () => resolve()));
    const peer = `127.0.0.1:${hostile.localPort}`;
    hostile.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await new Promise<void>((resolve) => hostile.once('close', () => resolve()).on('error', () => {}));
    const closed = await broker.waitForLine((l) => l.peer === peer, 'the connection error line');
    expect(closed.level).toBe(PINO_WARN);
    expect(String(closed.reason)).toMatch(/socket\.request\.max\.bytes/);
    expect(broker.lines.filter((l) => l.peer === peer)).toHaveLength(1);
    // The broker keeps serving others.
    expect((await rawApiVersions(port)).errorCode).toBe(0);

    expect(await broker.stop()).toEqual({ code: 0, signal: null });
    expect(broker.lines.some(isMsg('SIGTERM: shutting down'))).toBe(true);
    expect(broker.lines.some(isMsg('stopped in'))).toBe(true);
    expect(broker.stderr).toBe('');
    // The topic survives: metadata and partition directories are on disk.
    expect(fs.readdirSync(dataDir).filter((d) => d.startsWith('ops-events-')).sort()).toEqual(['ops-events-0', 'ops-events-1', 'ops-events-2']);
  });

  it('refuses malformed values with a message naming the property, and starts nothing', async () => {
    const dir = workDir();
    const file = path.join(dir, 'server.properties');
    fs.writeFileSync(file, `listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=${path.join(dir, 'data')}\nnum.partitions=abc\n`);
    const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; stderr: RegExp }> = [
      { args: [file], stderr: /num\.partitions: not an integer: "abc"/ },
      { args: [file, '--override', 'num.partitions=-1'], stderr: /num\.partitions: must be in \[1, \d+\], got -1/ },
      { args: [file, '--override', 'num.partitions=1', '--override', 'log.segment.bytes=1e9'], stderr: /log\.segment\.bytes: not an integer/ },
      { args: [file, '--override', 'num.partitions=1', '--override', 'auto.create.topics.enable=yes'], stderr: /auto\.create\.topics\.enable/ },
      { args: [file, '--override', 'num.partitions=1', '--override', 'listeners=localhost:9092'], stderr: /listeners: malformed listener/ },
      { args: [file, '--override', 'num.partitions=1', '--override', 'metrics.port=70000'], stderr: /metrics\.port: must be in \[0, 65535\]/ },
      { args: [path.join(dir, 'missing.properties')], stderr: /missing\.properties: ENOENT/ },
      { args: [file, '--override', 'num.partitions=1'], env: { SAMSA_LOG_LEVEL: 'loud' }, stderr: /SAMSA_LOG_LEVEL: must be one of/ },
    ];
    // A few at a time: each is a Node process, and the machine may be shared.
    const results: Array<{ exit: { code: number | null }; stderr: string; ready: boolean }> = [];
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3).map(async (c) => {
        const broker = start(c.args, c.env);
        const exit = await broker.exit();
        return { exit, stderr: broker.stderr, ready: broker.lines.some(isMsg('ready in')) };
      });
      results.push(...(await Promise.all(batch)));
    }
    for (const [i, r] of results.entries()) {
      expect(r.exit.code, `case ${i}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(cases[i].stderr);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.ready).toBe(false);
    }
    // Nothing was created for the refused configurations.
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('prints human-readable lines with SAMSA_LOG_FORMAT=text', async () => {
    const dir = workDir();
    const broker = start(['--override', 'listeners=PLAINTEXT://127.0.0.1:0', '--override', `log.dirs=${dir}`], { SAMSA_LOG_FORMAT: 'text' });
    const ready = await broker.waitForLine((l) => / INFO  ready in \d+ ms: listening on 127\.0\.0\.1:\d+, data in /.test(l.msg), 'the text ready line');
    expect(ready.msg).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  ready in/);
    expect(await broker.stop()).toEqual({ code: 0, signal: null });
    expect(broker.lines.some((l) => / INFO  stopped in \d+ ms/.test(l.msg))).toBe(true);
  });
});

describe('topic-change log lines', () => {
  it('logs creation, added partitions and deletion once each, with structured fields', async () => {
    const dir = workDir();
    const lines: LogLine[] = [];
    const logger = createLogger({ level: 'info', format: 'json', stream: { write: (json: string) => void lines.push(JSON.parse(json) as LogLine) } });
    const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir: dir, logger });
    cleanups.push(() => broker.close());
    const kafka = new Kafka({ clientId: 'ops-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = kafka.admin();
    cleanups.push(() => admin.disconnect());
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'grows', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grows', count: 4 }] });
    await admin.deleteTopics({ topics: ['grows'] });
    const about = lines.filter((l) => l.topic === 'grows');
    expect(about.map((l) => l.msg)).toEqual(['topic grows created with 1 partition(s)', 'topic grows: partitions 1 -> 4', 'topic grows deleted']);
    expect(about.map((l) => l.partitionCount)).toEqual([1, 4, 4]);
    expect(about.every((l) => l.level === 30 && typeof l.topicId === 'string')).toBe(true);
  });
});
