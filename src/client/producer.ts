// A batching producer for one topic, enough for the console producer:
// records accumulate per partition into RecordBatch v2 (src/record/), a batch
// is sent when it reaches batchBytes or lingerMs passes, and each request
// goes to the partition's leader. Keyed records use Kafka's murmur2
// partitioner; keyless records stick to one partition until its batch is
// sent, then move to the next (the effect of Kafka's sticky partitioner).
// Retriable errors refresh metadata and resend, a bounded number of times.
// Idempotent when asked (Kafka's default with acks=all): InitProducerId gives
// a producer id and epoch, each partition's batches carry consecutive
// sequence numbers, and a batch is built once so a resend carries the same
// sequence and the broker drops the duplicate. Otherwise batches carry
// producerId -1 and a resend after a lost acknowledgement may duplicate.
import {
  ApiKey,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../protocol/generated/index.js';
import { buildRecordBatch, type CompressionName, type RecordInput } from '../record/record-batch.js';
import type { KafkaClient } from './client.js';
import { ConnectionError, KafkaResponseError, errorMessage, isRetriable } from './errors.js';
import { partitionForKey } from './partitioner.js';

export interface ProducerOptions {
  topic: string;
  /** 0, 1 or -1 (all). */
  acks: number;
  compression: CompressionName;
  /** A partition's batch is sent once its records reach this many bytes (Kafka's batch.size). */
  batchBytes: number;
  /** How long a non-full batch may wait for more records (linger.ms). */
  lingerMs: number;
  /** How long to wait for the topic to appear in metadata (max.block.ms). */
  maxBlockMs: number;
  retries: number;
  requestTimeoutMs: number;
  /** Use a producer id and sequence numbers so retries cannot duplicate (needs acks=-1 and InitProducerId). */
  idempotent: boolean;
  /** Called once per record that could not be delivered. */
  onError: (record: RecordInput, message: string) => void;
}

interface PartitionInfo {
  leader: number;
}

interface PendingBatch {
  records: RecordInput[];
  bytes: number;
}

/** A batch ready to send: built once, so every attempt carries the same bytes and sequence. */
interface ReadyBatch {
  partition: number;
  records: RecordInput[];
  batch: Buffer;
}

// Kafka's max.in.flight.requests.per.connection default.
const IN_FLIGHT_MAX = 5;
const RETRY_BACKOFF_MS = 100;
const RETRY_BACKOFF_MAX_MS = 1000;
// Per-record framing inside a batch (length, attributes, deltas, lengths): a
// generous estimate so batches do not exceed batchBytes by much.
const RECORD_OVERHEAD_BYTES = 21;
const DUPLICATE_SEQUENCE_NUMBER = 46;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
// Sequence numbers wrap at int32 max, as Kafka's DefaultRecordBatch.incrementSequence.
const SEQUENCE_MODULUS = 2 ** 31;

export class TopicProducer {
  private partitions: PartitionInfo[] = [];
  private readonly batches = new Map<number, PendingBatch>();
  private readonly inFlight = new Set<Promise<void>>();
  private stickyPartition = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private producerId = -1;
  private producerEpoch = -1;
  private readonly nextSequence = new Map<number, number>();
  /** Records acknowledged (or sent, with acks=0). */
  delivered = 0;
  failed = 0;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: ProducerOptions,
  ) {}

  /** Waits (up to maxBlockMs) for the topic's partitions and leaders; asks the broker to auto-create it. */
  async init(): Promise<void> {
    const deadline = Date.now() + this.options.maxBlockMs;
    for (;;) {
      if (await this.refreshMetadata()) break;
      if (Date.now() >= deadline) {
        throw new KafkaResponseError(3, `Topic ${this.options.topic} not present in metadata after ${this.options.maxBlockMs} ms.`);
      }
      await sleep(Math.min(RETRY_BACKOFF_MS * 2, Math.max(0, deadline - Date.now())));
    }
    this.stickyPartition = Math.floor(Math.random() * this.partitions.length);
    if (this.options.idempotent) await this.initProducerId();
  }

  /** Whether batches carry a producer id (false when the broker has no InitProducerId). */
  get idempotent(): boolean {
    return this.producerId >= 0;
  }

  private async initProducerId(): Promise<void> {
    const conn = await this.client.bootstrapConnection();
    if (!conn.supports(ApiKey.InitProducerId)) return;
    const response = await conn.request<InitProducerIdResponse>(ApiKey.InitProducerId, (): InitProducerIdRequest => ({
      transactionalId: null,
      transactionTimeoutMs: 2147483647,
      producerId: -1n,
      producerEpoch: -1,
    }));
    if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode);
    this.producerId = Number(response.producerId);
    this.producerEpoch = response.producerEpoch;
  }

  /** True when every partition has a leader. */
  private async refreshMetadata(): Promise<boolean> {
    const metadata = await this.client.metadata([this.options.topic], true);
    const t = metadata.topics.find((x) => x.name === this.options.topic);
    if (!t || t.errorCode !== 0 || t.partitions.length === 0) return false;
    const partitions: PartitionInfo[] = [];
    for (const p of t.partitions) partitions[p.partitionIndex] = { leader: p.leaderId };
    if (partitions.length !== t.partitions.length || partitions.some((p) => p.leader < 0)) return false;
    this.partitions = partitions;
    return true;
  }

  /** Adds one record; resolves once it is queued (waits when too many requests are in flight). */
  async send(record: RecordInput): Promise<void> {
    const partition = this.partitionFor(record);
    let batch = this.batches.get(partition);
    if (!batch) {
      batch = { records: [], bytes: 0 };
      this.batches.set(partition, batch);
    }
    batch.records.push(record);
    batch.bytes += recordBytes(record);
    if (batch.bytes >= this.options.batchBytes) {
      await this.flushPartitions([partition]);
    } else if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        void this.flushPartitions([...this.batches.keys()]);
      }, this.options.lingerMs);
    }
  }

  private partitionFor(record: RecordInput): number {
    const key = record.key;
    if (key !== undefined && key !== null) {
      return partitionForKey(typeof key === 'string' ? Buffer.from(key, 'utf8') : key, this.partitions.length);
    }
    return this.stickyPartition;
  }

  /** Sends every queued batch and waits for all acknowledgements. */
  async flush(): Promise<void> {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    await this.flushPartitions([...this.batches.keys()]);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async flushPartitions(partitions: number[]): Promise<void> {
    const ready: ReadyBatch[] = [];
    for (const p of partitions) {
      const pending = this.batches.get(p);
      if (!pending || pending.records.length === 0) continue;
      this.batches.delete(p);
      ready.push({ partition: p, records: pending.records, batch: this.build(p, pending.records) });
      if (p === this.stickyPartition) this.stickyPartition = (this.stickyPartition + 1) % this.partitions.length;
    }
    if (ready.length === 0) return;
    while (this.inFlight.size >= IN_FLIGHT_MAX) await Promise.race([...this.inFlight]);
    const task = this.deliver(ready, 0).finally(() => this.inFlight.delete(task));
    // flush() reports the failure; this only keeps a linger-time send from being an unhandled rejection.
    task.catch(() => undefined);
    this.inFlight.add(task);
  }

  private build(partition: number, records: RecordInput[]): Buffer {
    if (!this.idempotent) return buildRecordBatch(records, { compression: this.options.compression });
    const baseSequence = this.nextSequence.get(partition) ?? 0;
    this.nextSequence.set(partition, (baseSequence + records.length) % SEQUENCE_MODULUS);
    return buildRecordBatch(records, {
      compression: this.options.compression,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence,
    });
  }

  /** One Produce request per leader; failed partitions are retried after a metadata refresh. */
  private async deliver(ready: ReadyBatch[], attempt: number): Promise<void> {
    const byLeader = new Map<number, ReadyBatch[]>();
    for (const entry of ready) {
      const leader = this.partitions[entry.partition]?.leader ?? -1;
      const list = byLeader.get(leader);
      if (list) list.push(entry);
      else byLeader.set(leader, [entry]);
    }
    const retry: ReadyBatch[] = [];
    let lastError = '';
    await Promise.all(
      [...byLeader].map(async ([leader, entries]) => {
        try {
          const failures = await this.produceTo(leader, entries);
          for (const f of failures) {
            if (f.retriable) {
              retry.push(f.entry);
              lastError = f.message;
            } else this.fail(f.entry.records, f.message);
          }
          for (const e of entries) if (!failures.some((f) => f.entry === e)) this.delivered += e.records.length;
        } catch (err) {
          if (!(err instanceof ConnectionError) && !(err instanceof KafkaResponseError)) throw err;
          if (this.options.acks === 0) {
            for (const e of entries) this.fail(e.records, err.message);
            return;
          }
          retry.push(...entries);
          lastError = err.message;
        }
      }),
    );
    if (retry.length === 0) return;
    if (attempt >= this.options.retries) {
      for (const e of retry) this.fail(e.records, lastError);
      return;
    }
    await sleep(Math.min(RETRY_BACKOFF_MS * 2 ** attempt, RETRY_BACKOFF_MAX_MS));
    await this.refreshMetadata().catch(() => false);
    await this.deliver(retry, attempt + 1);
  }

  private async produceTo(
    leader: number,
    entries: ReadyBatch[],
  ): Promise<Array<{ entry: ReadyBatch; retriable: boolean; message: string }>> {
    const conn = await this.client.connection(leader);
    const version = conn.versionFor(ApiKey.Produce);
    // RecordBatch v2 (the only format src/record builds) needs Produce v3 or later.
    if (version < 3) throw new KafkaResponseError(35, `${conn.address} does not accept Produce v3+ (record batch v2)`);
    const request: ProduceRequest = {
      transactionalId: null,
      acks: this.options.acks,
      timeoutMs: this.options.requestTimeoutMs,
      topicData: [
        {
          name: this.options.topic,
          partitionData: entries.map((e) => ({ index: e.partition, records: e.batch })),
        },
      ],
    };
    const expectResponse = this.options.acks !== 0;
    const response = await conn.send<ProduceResponse>(ApiKey.Produce, version, request, this.options.requestTimeoutMs + 5000, expectResponse);
    if (!expectResponse) return [];
    const results = new Map<number, ProduceResponse.PartitionProduceResponse>();
    for (const t of response.responses) if (t.name === this.options.topic) for (const p of t.partitionResponses) results.set(p.index, p);
    const failures: Array<{ entry: ReadyBatch; retriable: boolean; message: string }> = [];
    for (const entry of entries) {
      const r = results.get(entry.partition);
      if (!r) failures.push({ entry, retriable: false, message: `no response for partition ${entry.partition}` });
      else if (r.errorCode === DUPLICATE_SEQUENCE_NUMBER) continue; // an earlier attempt was appended
      else if (r.errorCode !== 0) {
        const message = r.errorMessage ?? r.recordErrors?.[0]?.batchIndexErrorMessage ?? errorMessage(r.errorCode);
        // With several batches in flight, a retried earlier batch makes the later ones arrive out of order: resend them too.
        const retriable = isRetriable(r.errorCode) || (this.idempotent && r.errorCode === OUT_OF_ORDER_SEQUENCE_NUMBER);
        failures.push({ entry, retriable, message });
      }
    }
    return failures;
  }

  private fail(records: RecordInput[], message: string): void {
    this.failed += records.length;
    for (const r of records) this.options.onError(r, message);
  }
}

function recordBytes(r: RecordInput): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(r.key ?? null) + byteLength(r.value);
  for (const h of r.headers ?? []) bytes += Buffer.byteLength(h.key) + (h.value?.length ?? 0) + 2;
  return bytes;
}

export function byteLength(v: Buffer | string | null): number {
  if (v === null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
