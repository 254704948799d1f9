// Debian's kcat (librdkafka) as a balanced consumer (-G): it joins a group,
// receives every record of every partition, and commits on exit, so a second
// run of the same group reads only what was produced since. Metadata (-L)
// still answers as before once the group exists. Skipped when kcat is
// missing (.ci/run installs it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startGroupBroker, type Cleanups } from './support/groups.js';

const KCAT = ['/usr/bin/kcat', '/usr/bin/kafkacat'].find((p) => fs.existsSync(p)) ?? null;
const PARTITIONS = 3;

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Runs kcat with `input` on stdin; rejects on a non-zero exit or after 60 s, with its stderr. */
function kcat(bootstrap: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT!, ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code ?? signal}: ${stderr}\nstdout: ${stdout.slice(0, 2000)}`));
    });
    child.stdin.end(input);
  });
}

/** -G consumes until every assigned partition reaches its end (-e); one line per record: partition offset key value. */
async function consumeGroup(bootstrap: string, groupId: string, topic: string): Promise<Array<[number, number, string, string]>> {
  const out = await kcat(bootstrap, ['-G', groupId, topic, '-e', '-q', '-f', '%p %o %k %s\\n', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=300']);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [p, o, k, v] = l.split(' ');
      return [Number(p), Number(o), k, v];
    });
}

describe.skipIf(!KCAT)('kcat balanced consumer (-G)', () => {
  it('receives every record through a group and commits, so the next run resumes; -L still answers', { timeout: 120_000 }, async () => {
    const broker = await startGroupBroker(cleanups);
    const bootstrap = broker.bootstrap;
    const topic = 'kcat-group';
    const groupId = 'kcat-group';
    const created = await broker.metadata.createTopic(topic, PARTITIONS, 1, {});
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);

    const produce = async (from: number, to: number) => {
      for (let p = 0; p < PARTITIONS; p++) {
        const lines = [];
        for (let i = from; i < to; i++) if (i % PARTITIONS === p) lines.push(`k${i}:v${i}`);
        await kcat(bootstrap, ['-P', '-t', topic, '-p', String(p), '-K', ':'], lines.join('\n') + '\n');
      }
    };
    const byPartition = (records: Array<[number, number, string, string]>) =>
      Array.from({ length: PARTITIONS }, (_, p) => records.filter((r) => r[0] === p).map(([, offset, key, value]) => [offset, key, value]));
    const expected = (from: number, to: number) =>
      Array.from({ length: PARTITIONS }, (_, p) => {
        const seqs = Array.from({ length: to - from }, (_, i) => from + i).filter((i) => i % PARTITIONS === p);
        const base = Math.ceil((from - p) / PARTITIONS);
        return seqs.map((i, n) => [Math.max(base, 0) + n, `k${i}`, `v${i}`]);
      });

    await produce(0, 300);
    expect(byPartition(await consumeGroup(bootstrap, groupId, topic))).toEqual(expected(0, 300));

    // kcat committed on exit: the group's offsets stand at the log end.
    const kafka = new Kafka({ clientId: 'kcat-check', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed.partitions.sort((x, y) => x.partition - y.partition).map((p) => Number(p.offset))).toEqual([100, 100, 100]);

    await produce(300, 360);
    expect(byPartition(await consumeGroup(bootstrap, groupId, topic))).toEqual(expected(300, 360));

    const metadata = JSON.parse(await kcat(bootstrap, ['-L', '-J']));
    expect(metadata.brokers).toEqual([{ id: 1, name: bootstrap }]);
    const listed = metadata.topics.find((t: { topic: string }) => t.topic === topic);
    expect(listed.partitions.map((p: { partition: number; leader: number }) => [p.partition, p.leader])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
    for (const t of metadata.topics as Array<{ topic: string; error?: string }>) expect(t.error, t.topic).toBeUndefined();
  });
});
