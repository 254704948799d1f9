// A kafkajs group member in its own process, for tests that SIGKILL it:
//   node --import tsx test/support/kafkajs-group-child.ts <bootstrap> <groupId> <topic> <sessionTimeoutMs> <heartbeatIntervalMs>
// Prints one JSON object a line: {joined: [partitions]}, {committing: partition,
// records: [...]} before a commit and {consumed: [partition, first, last]} after
// it (see kafkajs-group.ts; the second line is short, so a SIGKILL cannot cut
// it in half), and {ready: true} once it runs.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkajsMember } from './kafkajs-group.js';

const [bootstrap, groupId, topic, sessionTimeoutMs, heartbeatIntervalMs] = process.argv.slice(2);
// Written synchronously: process.stdout queues a write when the pipe is full
// (the test process reads slowly on a loaded machine), and a queued
// {committing} line would die with the process after its commit was sent.
const pause = new Int32Array(new SharedArrayBuffer(4));
const say = (line: unknown) => {
  const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += fs.writeSync(1, bytes, written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};

const kafka = new Kafka({ clientId: 'group-child', brokers: [bootstrap], logLevel: logLevel.NOTHING });
await startKafkajsMember(
  kafka,
  { groupId, topic, sessionTimeoutMs: Number(sessionTimeoutMs), heartbeatIntervalMs: Number(heartbeatIntervalMs) },
  {
    joined: (partitions, memberId) => say({ joined: partitions, memberId }),
    committing: (partition, records) => say({ committing: partition, records }),
    consumed: (partition, records) => say({ consumed: [partition, records[0].offset, records[records.length - 1].offset] }),
  },
);
say({ ready: true });
