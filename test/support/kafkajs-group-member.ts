// A kafkajs consumer group member in its own process, so a test can SIGKILL it
// (no LeaveGroup, no goodbye): prints "assigned <partitions>" on every join.
// argv: bootstrap, group id, topic, session timeout ms.
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, groupId, topic, sessionTimeoutMs] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'killed-member', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: Number(sessionTimeoutMs), rebalanceTimeout: 10_000, heartbeatInterval: 100, maxWaitTimeInMs: 100 });
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const partitions = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
  process.stdout.write(`assigned ${partitions.join(',')}\n`);
});
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ eachMessage: async () => {} });
