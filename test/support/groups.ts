// Shared pieces of the consumer-group interop tests (test/groups-*.test.ts):
// a broker whose group timeouts suit tests, the records they produce, and a
// ledger of what each member consumed that checks it against Kafka's
// delivery guarantees.
import fs from 'node:fs';
import { Broker } from '../../src/broker/broker.js';
import { iterateBatchHeaders, type CompressionName } from '../../src/record/record-batch.js';
import { silentLogger } from '../../src/storage/log.js';
import { tempDir } from './storage.js';

/**
 * Kafka's defaults would slow every test by seconds: the 6 s floor on session
 * timeouts keeps a killed member's partitions waiting that long, and the 3 s
 * delay before an empty group's first rebalance waits for members the tests
 * start themselves.
 */
export const GROUP_TEST_PROPERTIES: Readonly<Record<string, string>> = {
  'group.min.session.timeout.ms': '500',
  'group.initial.rebalance.delay.ms': '0',
};

export type Cleanups = Array<() => Promise<void> | void>;

export async function startGroupBroker(cleanups: Cleanups, properties: Record<string, string> = {}): Promise<Broker> {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { ...GROUP_TEST_PROPERTIES, ...properties } });
  cleanups.push(() => broker.close());
  return broker;
}

/** Polls `predicate` until it holds; throws naming `what` (and the last `detail`) after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000, detail: () => unknown = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${JSON.stringify(detail())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The codecs of the batches in one partition's log, as stored. */
export function codecsInLog(broker: Broker, topic: string, partition: number): Set<CompressionName> {
  const log = broker.logs.getLog(topic, partition)!;
  const slice = log.read(0, 1 << 30, { maxOffset: log.highWatermark }).records!;
  const bytes = Buffer.alloc(slice.length);
  fs.readSync(slice.fd, bytes, 0, slice.length, slice.position);
  return new Set([...iterateBatchHeaders(bytes)].map((b) => b.header.compression));
}

export interface SentMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Record `seq` of a test: it goes to partition seq % partitions, so each partition's records are in seq order. */
export function groupMessage(seq: number): SentMessage {
  // Values vary in size and content so compressed batches differ.
  return { key: `key-${seq}`, value: `value-${seq}-${'abcdefghij'.repeat(seq % 17)}`, headers: { seq: String(seq), kind: seq % 2 === 0 ? 'even' : 'odd' } };
}

export interface ConsumedRecord {
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * What the members of one group consumed, per partition, in the order each
 * member saw it. Tests add records only once their offsets are committed,
 * so "exactly once" holds across rebalances that members go through alive.
 */
export class GroupLedger {
  private readonly seen = new Map<string, ConsumedRecord[]>();
  total = 0;

  add(member: string, partition: number, records: readonly ConsumedRecord[]): void {
    const key = `${member}/${partition}`;
    let list = this.seen.get(key);
    if (!list) this.seen.set(key, (list = []));
    list.push(...records);
    this.total += records.length;
  }

  /** Records consumed, counting a partition's offset once however often it was delivered. */
  distinct(): number {
    const seen = new Set<string>();
    for (const [key, list] of this.seen) for (const r of list) seen.add(`${key.slice(key.lastIndexOf('/') + 1)}@${r.offset}`);
    return seen.size;
  }

  /** Per member and partition: first..last offset (count), for failure messages. */
  summary(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, list] of [...this.seen].sort()) out[key] = `${list[0]?.offset}..${list.at(-1)?.offset} (${list.length})`;
    return out;
  }

  /** The first offset `member` consumed of `partition`, or undefined. */
  firstOffsetOf(member: string, partition: number): number | undefined {
    return this.seen.get(`${member}/${partition}`)?.[0]?.offset;
  }

  countOf(member: string): number {
    let n = 0;
    for (const [key, list] of this.seen) if (key.startsWith(`${member}/`)) n += list.length;
    return n;
  }

  /**
   * Everything wrong with the consumption of `records` records spread over
   * `partitions` partitions by seq (see groupMessage): per member and
   * partition offsets only go up (unless repeats are allowed there); every offset below each partition's end
   * consumed, with its key, value and headers intact, in seq order; and no
   * offset twice unless `mayRepeat(partition, offset)` (what a killed member
   * consumed but had not committed).
   */
  problems(partitions: number, records: number, mayRepeat: (partition: number, offset: number) => boolean = () => false): string[] {
    const problems: string[] = [];
    const byPartition = Array.from({ length: partitions }, () => new Map<number, ConsumedRecord>());
    for (const [key, list] of this.seen) {
      const partition = Number(key.slice(key.lastIndexOf('/') + 1));
      let previous = -1;
      for (const r of list) {
        // A member that reads a partition again from its committed offset goes back: only where repeats are allowed.
        if (r.offset <= previous && !mayRepeat(partition, r.offset)) problems.push(`${key}: offset ${r.offset} after ${previous}`);
        previous = r.offset;
        const earlier = byPartition[partition].get(r.offset);
        if (earlier && !mayRepeat(partition, r.offset)) problems.push(`${partition}@${r.offset} consumed twice`);
        if (earlier && JSON.stringify(earlier) !== JSON.stringify(r)) problems.push(`${partition}@${r.offset} differs between deliveries`);
        byPartition[partition].set(r.offset, r);
      }
    }
    let total = 0;
    for (let p = 0; p < partitions; p++) {
      const expected = Math.floor(records / partitions) + (p < records % partitions ? 1 : 0);
      const seen = byPartition[p];
      total += seen.size;
      for (let offset = 0; offset < expected; offset++) {
        const r = seen.get(offset);
        if (!r) {
          problems.push(`${p}@${offset} never consumed`);
          continue;
        }
        const seq = offset * partitions + p;
        const sent = groupMessage(seq);
        if (r.key !== sent.key || r.value !== sent.value || JSON.stringify(r.headers) !== JSON.stringify(sent.headers)) {
          problems.push(`${p}@${offset}: got ${r.key} ${JSON.stringify(r.headers)}, expected seq ${seq}`);
        }
      }
      for (const offset of seen.keys()) if (offset >= expected) problems.push(`${p}@${offset} beyond the ${expected} produced`);
    }
    if (total !== records) problems.push(`${total} distinct records consumed, ${records} produced`);
    return problems.slice(0, 20);
  }
}
