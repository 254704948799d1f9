// The broker as a child process, SIGKILLed while clients produce with acks=1
// and acks=-1 (several requests in flight per connection), then restarted on
// the same data directory, several times over. After each restart: every
// acknowledged record is there at its acknowledged offset with its bytes,
// every batch served passes its CRC, offsets are contiguous, and new appends
// continue from the log end.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { BrokerProcess } from './support/broker-process.js';
import { WireClient, createTopic, fetchAll, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const CYCLES = 3;
const IN_FLIGHT = 4;
const PARTITIONS = [
  { partition: 0, acks: 1 },
  { partition: 1, acks: -1 },
];

const dataDir = tempDir();
let broker: BrokerProcess | null = null;

afterAll(async () => {
  await broker?.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Acknowledged records per partition: offset -> value. */
const acknowledged = PARTITIONS.map(() => new Map<number, string>());

function batchFor(partition: number, cycle: number, seq: number): { batch: Buffer; values: string[] } {
  const count = 1 + (seq % 9);
  const values = Array.from({ length: count }, (_, i) => `p${partition}-c${cycle}-s${seq}-r${i}-${'x'.repeat((seq * 31 + i) % 300)}`);
  return { batch: buildRecordBatch(values.map((value, i) => ({ key: `k${i}`, value, headers: [{ key: 'cycle', value: Buffer.from(String(cycle)) }] }))), values };
}

/** Produces on one partition with IN_FLIGHT requests outstanding until the connection dies. */
async function produceUntilKilled(client: WireClient, partition: number, acks: number, cycle: number): Promise<number> {
  let seq = 0;
  let acked = 0;
  const one = async (): Promise<void> => {
    while (!client.closed) {
      const { batch, values } = batchFor(partition, cycle, seq++);
      let r;
      try {
        r = await produce(client, 'crash', partition, batch, acks);
      } catch {
        return; // The broker died with this request in flight: not acknowledged.
      }
      expect(r!.errorCode).toBe(0);
      const base = Number(r!.baseOffset);
      values.forEach((v, i) => acknowledged[partition].set(base + i, v));
      acked++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one));
  return acked;
}

async function verify(client: WireClient): Promise<number[]> {
  const ends: number[] = [];
  for (const { partition } of PARTITIONS) {
    // fetchAll checks every batch's CRC and decodes every record.
    const records = await fetchAll(client, 'crash', partition);
    records.forEach((r, i) => expect(r.offset, `crash-${partition}: contiguous offsets`).toBe(i));
    const byOffset = new Map(records.map((r) => [r.offset, r.value?.toString()]));
    const missing: string[] = [];
    for (const [offset, value] of acknowledged[partition]) {
      if (byOffset.get(offset) !== value) missing.push(`${offset}: ${byOffset.get(offset)?.slice(0, 30)} != ${value.slice(0, 30)}`);
    }
    expect(missing.slice(0, 10), `crash-${partition}: acknowledged records lost or changed`).toEqual([]);
    ends.push(records.length);
  }
  return ends;
}

describe('SIGKILL mid-stream and restart', () => {
  it(`keeps every acknowledged record across ${CYCLES} kills, serves no corrupt bytes, and continues the offsets`, { timeout: 300_000 }, async () => {
    broker = await BrokerProcess.start(dataDir);
    const setup = await WireClient.connect(broker.port);
    await createTopic(setup, 'crash', PARTITIONS.length);
    setup.close();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const clients = await Promise.all(PARTITIONS.map(() => WireClient.connect(broker!.port)));
      const producing = PARTITIONS.map(({ partition, acks }, i) => produceUntilKilled(clients[i], partition, acks, cycle));
      // Kill once each partition has some acknowledged appends this cycle.
      const target = PARTITIONS.map((_, p) => acknowledged[p].size + 200);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && PARTITIONS.some((_, p) => acknowledged[p].size < target[p])) await new Promise((r) => setTimeout(r, 20));
      await broker.kill('SIGKILL');
      const acks = await Promise.all(producing);
      expect(acks.every((n) => n > 0)).toBe(true);

      broker = await BrokerProcess.start(dataDir);
      const reader = await WireClient.connect(broker.port);
      try {
        const ends = await verify(reader);
        // New appends go right after what survived, acknowledged or not.
        for (const [p, { partition }] of PARTITIONS.entries()) {
          const { batch, values } = batchFor(partition, cycle, -1 - p + 1000);
          const r = await produce(reader, 'crash', partition, batch, -1);
          expect(r!.errorCode).toBe(0);
          expect(Number(r!.baseOffset)).toBe(ends[p]);
          values.forEach((v, i) => acknowledged[partition].set(ends[p] + i, v));
        }
        await verify(reader);
      } finally {
        reader.close();
      }
    }
    // A clean stop after all that leaves a log that opens and reads the same.
    await broker.kill('SIGTERM');
    broker = await BrokerProcess.start(dataDir);
    const last = await WireClient.connect(broker.port);
    try {
      await verify(last);
    } finally {
      last.close();
    }
  });
});
