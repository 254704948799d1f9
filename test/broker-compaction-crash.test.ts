// A broker process compacting a topic while a client keeps updating its keys,
// SIGKILLed at arbitrary moments (the cleaner runs all the time: tiny
// segments, a low min.cleanable.dirty.ratio, a dedupe buffer that needs
// several passes) and restarted on the same data, several times. After each
// restart: every batch served passes its CRC, offsets only grow, and every
// key's last record is its last acknowledged write or a later one. The
// deterministic kill at each step of the swap is log-cleaner-crash.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeBatchRecords, iterateBatchHeaders, verifyBatchCrc } from '../src/record/record-batch.js';
import { readOffsetCheckpoint } from '../src/storage/checkpoint.js';
import { BrokerProcess } from './support/broker-process.js';
import { WireClient, createTopic, fetchPartition, produce } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const CYCLES = 3;
const KEYS = 40;
const PROPERTIES = {
  'log.segment.bytes': '2048',
  'log.cleaner.backoff.ms': '5',
  'log.cleaner.min.cleanable.ratio': '0.01',
  'log.cleaner.dedupe.buffer.size': '4096',
  'log.segment.delete.delay.ms': '0',
};

const dataDir = tempDir('samsa-compaction-crash-');
let broker: BrokerProcess | null = null;

afterAll(async () => {
  await broker?.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** key -> the sequence number of its last acknowledged write (values are `s<seq>`). */
const acknowledged = new Map<string, number>();
let seq = 0;

async function produceUntilKilled(client: WireClient): Promise<number> {
  let acked = 0;
  while (!client.closed) {
    const s = seq++;
    const keys = Array.from({ length: 10 }, (_, i) => `key-${(s * 7 + i * 3) % KEYS}`);
    const batch = buildRecordBatch(keys.map((key) => ({ key, value: `s${s}-${'v'.repeat(30)}` })));
    let r;
    try {
      r = await produce(client, 'cc', 0, batch, -1);
    } catch {
      return acked; // killed with this request in flight: not acknowledged
    }
    expect(r!.errorCode).toBe(0);
    for (const key of keys) acknowledged.set(key, s);
    acked++;
  }
  return acked;
}

/** Reads the whole partition like a client: CRC per batch, past gaps and empty batches by each batch's last offset. */
async function readAll(client: WireClient): Promise<Array<{ offset: number; key: string; seq: number }>> {
  const out: Array<{ offset: number; key: string; seq: number }> = [];
  let offset = 0;
  for (;;) {
    const r = await fetchPartition(client, 'cc', 0, offset);
    expect(r.errorCode).toBe(0);
    if (offset >= r.highWatermark) return out;
    expect(r.records?.length ?? 0, `no data at ${offset} below the high watermark ${r.highWatermark}`).toBeGreaterThan(0);
    for (const { position, header } of iterateBatchHeaders(r.records!)) {
      expect(verifyBatchCrc(r.records!, position)).toBe(true);
      for (const rec of decodeBatchRecords(r.records!, position)) {
        if (rec.offset < offset) continue;
        out.push({ offset: rec.offset, key: rec.key!.toString(), seq: Number(/^s(\d+)-/.exec(rec.value!.toString())![1]) });
      }
      offset = header.lastOffset + 1;
    }
  }
}

async function verify(client: WireClient): Promise<void> {
  const records = await readAll(client);
  for (let i = 1; i < records.length; i++) expect(records[i].offset).toBeGreaterThan(records[i - 1].offset);
  const last = new Map<string, number>();
  for (const r of records) last.set(r.key, r.seq);
  const stale: string[] = [];
  for (const [key, s] of acknowledged) if ((last.get(key) ?? -1) < s) stale.push(`${key}: read s${last.get(key)}, acknowledged s${s}`);
  expect(stale).toEqual([]);
}

describe('SIGKILL while the cleaner compacts', () => {
  it(`keeps every key's latest acknowledged value across ${CYCLES} kills`, { timeout: 300_000 }, async () => {
    broker = await BrokerProcess.start(dataDir, { properties: PROPERTIES });
    const setup = await WireClient.connect(broker.port);
    await createTopic(setup, 'cc', 1, { 'cleanup.policy': 'compact' });
    setup.close();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const client = await WireClient.connect(broker.port);
      const producing = produceUntilKilled(client);
      // Let the log grow and the cleaner get going, then kill at a moment that varies per cycle.
      const until = seq + 80 + cycle * 37;
      const deadline = Date.now() + 60_000;
      while (seq < until && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await broker.kill('SIGKILL');
      expect(await producing).toBeGreaterThan(0);

      broker = await BrokerProcess.start(dataDir, { properties: PROPERTIES });
      const reader = await WireClient.connect(broker.port);
      try {
        await verify(reader);
      } finally {
        reader.close();
      }
    }
    // The cleaner did run (and checkpointed) during all this.
    const checkpoint = readOffsetCheckpoint(path.join(dataDir, 'cleaner-offset-checkpoint'));
    expect(checkpoint.get('cc-0') ?? 0).toBeGreaterThan(0);
  });
});
