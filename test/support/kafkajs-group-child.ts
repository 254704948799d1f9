// A kafkajs group member in its own process, for tests that SIGKILL it:
//   node --import tsx test/support/kafkajs-group-child.ts <bootstrap> <groupId> <topic> <sessionTimeoutMs> <heartbeatIntervalMs>
// Prints one JSON object a line: {joined: [partitions]}, {committing: partition,
// records: [...]} before a commit and {consumed: [partition, first, last]} after
// it (see kafkajs-group.ts; the second line is short, so a SIGKILL cannot cut
// it in half), and {ready: true} once it runs.
import { Kafka, logLevel } from 'kafkajs';
import { startKafkajsMember } from './kafkajs-group.js';

const [bootstrap, groupId, topic, sessionTimeoutMs, heartbeatIntervalMs] = process.argv.slice(2);
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

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
