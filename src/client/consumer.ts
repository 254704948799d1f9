// A group-less consumer of one topic for the console consumer: the chosen
// partitions (default all) are assigned directly, starting offsets come from
// ListOffsets (earliest/latest) or the caller, and each poll sends one Fetch
// per partition leader (sessionless: session id 0, epoch -1) and decodes the
// RecordBatches with src/record/. No offsets are committed anywhere.
//
// Kafka's fetch semantics kept here: a batch may begin before the fetch
// offset (compressed batches are returned whole), so earlier records are
// skipped; control batches advance the position but yield no records; a
// partition whose next batch is larger than partitionMaxBytes has that limit
// doubled (up to fetchMaxBytes) so the consumer never stalls on it;
// OFFSET_OUT_OF_RANGE resets to the earliest or latest offset as
// auto.offset.reset would.
import {
  ApiKey,
  type FetchRequest,
  type FetchResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type MetadataResponse,
} from '../protocol/generated/index.js';
import { decodeBatchRecords, iterateBatchHeaders } from '../record/record-batch.js';
import type { KafkaClient } from './client.js';
import { ConnectionError, KafkaResponseError, errorMessage } from './errors.js';

export type OffsetSpec = 'earliest' | 'latest' | number;

export interface ConsumerOptions {
  topic: string;
  /** Partitions to read; null for all of them. */
  partitions: number[] | null;
  start: OffsetSpec;
  /** Per-partition starts (a group member's committed offsets), overriding `start`. */
  starts?: ReadonlyMap<number, OffsetSpec>;
  /** Where to go after OFFSET_OUT_OF_RANGE (auto.offset.reset). */
  resetTo: 'earliest' | 'latest';
  isolationLevel: 0 | 1;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  requestTimeoutMs: number;
  /**
   * Count batches instead of decoding records (the perf consumer): poll then
   * returns no records and calls this once per data batch at or past the
   * position. `records` assumes contiguous offsets inside a batch when the
   * batch starts before the position (true except on compacted topics).
   */
  onBatch?: (batch: CountedBatch) => void;
}

export interface CountedBatch {
  partition: number;
  records: number;
  /** The whole batch, header included. */
  bytes: number;
  /** The offset after the batch: the position to commit. */
  nextOffset: number;
}

export interface FetchedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'create' | 'log-append';
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
}

interface PartitionState {
  partition: number;
  leader: number;
  /** Next offset to fetch; -1 until resolved. */
  position: number;
  pendingStart: OffsetSpec;
  maxBytes: number;
}

const EARLIEST_TIMESTAMP = -2n;
const LATEST_TIMESTAMP = -1n;
const OFFSET_OUT_OF_RANGE = 1;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export class TopicConsumer {
  private readonly states = new Map<number, PartitionState>();
  /** Where each partition's position was last set from a start spec or a reset; a group member commits these before it has consumed anything. */
  readonly resolvedStarts = new Map<number, number>();
  private topicId = ZERO_UUID;
  private metadataStale = true;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: ConsumerOptions,
  ) {}

  /** True once the topic exists and every requested partition is known. Throws for a partition the topic lacks. */
  async refreshMetadata(): Promise<boolean> {
    const metadata = await this.client.metadata([this.options.topic], true);
    const topic = metadata.topics.find((t) => t.name === this.options.topic);
    if (!topic || topic.errorCode !== 0 || topic.partitions.length === 0) return false;
    this.topicId = topic.topicId ?? ZERO_UUID;
    const wanted = this.options.partitions ?? topic.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
    const byIndex = new Map<number, MetadataResponse.MetadataResponsePartition>(topic.partitions.map((p) => [p.partitionIndex, p]));
    for (const index of wanted) {
      const p = byIndex.get(index);
      if (!p) throw new KafkaResponseError(3, `Partition ${index} of topic ${this.options.topic} does not exist (the topic has ${topic.partitions.length}).`);
      const state = this.states.get(index);
      if (state) state.leader = p.leaderId;
      else {
        this.states.set(index, {
          partition: index,
          leader: p.leaderId,
          position: -1,
          pendingStart: this.options.starts?.get(index) ?? this.options.start,
          maxBytes: this.options.partitionMaxBytes,
        });
      }
    }
    this.metadataStale = false;
    return true;
  }

  /** One round of fetches (each waiting up to maxWaitMs for data); returns the records in partition order per leader. */
  async poll(maxWaitMs: number): Promise<FetchedRecord[]> {
    if (this.metadataStale && !(await this.refreshMetadata())) {
      // The topic does not exist (yet): ask again after a pause rather than spin.
      await sleep(Math.min(maxWaitMs, 500));
      return [];
    }
    await this.resolvePositions();
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of this.states.values()) {
      if (s.position < 0) continue;
      if (s.leader < 0) {
        this.metadataStale = true;
        continue;
      }
      const list = byLeader.get(s.leader);
      if (list) list.push(s);
      else byLeader.set(s.leader, [s]);
    }
    if (byLeader.size === 0) {
      await sleep(Math.min(maxWaitMs, 500));
      return [];
    }
    const results = await Promise.all([...byLeader].map(([leader, states]) => this.fetchFrom(leader, states, maxWaitMs)));
    return results.flat();
  }

  private async fetchFrom(leader: number, states: PartitionState[], maxWaitMs: number): Promise<FetchedRecord[]> {
    let response: FetchResponse;
    try {
      const conn = await this.client.connection(leader);
      response = await conn.request<FetchResponse>(
        ApiKey.Fetch,
        (): FetchRequest => ({
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1n },
          maxWaitMs,
          minBytes: 1,
          maxBytes: this.options.fetchMaxBytes,
          isolationLevel: this.options.isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: this.options.topic,
              topicId: this.topicId,
              partitions: states.map((s) => ({
                partition: s.partition,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(s.position),
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: s.maxBytes,
              })),
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        }),
        this.options.requestTimeoutMs + maxWaitMs,
      );
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      // The leader went away: find the new one on the next poll, after a pause.
      this.metadataStale = true;
      await sleep(Math.min(maxWaitMs, 500));
      return [];
    }
    if (response.errorCode !== undefined && response.errorCode !== 0) throw new KafkaResponseError(response.errorCode);
    const out: FetchedRecord[] = [];
    const byPartition = new Map(states.map((s) => [s.partition, s]));
    for (const topic of response.responses) {
      for (const data of topic.partitions) {
        const state = byPartition.get(data.partitionIndex);
        if (state) this.absorb(state, data, out);
      }
    }
    return out;
  }

  private absorb(state: PartitionState, data: FetchResponse.PartitionData, out: FetchedRecord[]): void {
    if (data.errorCode === OFFSET_OUT_OF_RANGE) {
      state.position = -1;
      state.pendingStart = this.options.resetTo;
      return;
    }
    if (data.errorCode !== 0) {
      // Leadership moved, the topic is being created or deleted: re-read metadata and retry.
      this.metadataStale = true;
      return;
    }
    const records = data.records;
    if (records === null || records.length === 0) return;
    let complete = 0;
    for (const { position, header } of iterateBatchHeaders(records)) {
      complete++;
      if (header.lastOffset < state.position) continue;
      if (this.options.onBatch) {
        if (!header.isControl) {
          const records = header.baseOffset >= state.position ? header.recordsCount : header.lastOffset - state.position + 1;
          this.options.onBatch({ partition: state.partition, records, bytes: header.sizeInBytes, nextOffset: header.lastOffset + 1 });
        }
      } else if (!header.isControl) {
        for (const r of decodeBatchRecords(records, position)) {
          if (r.offset < state.position) continue;
          out.push({
            partition: state.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            timestampType: header.timestampType,
            key: r.key,
            value: r.value,
            headers: r.headers,
          });
        }
      }
      state.position = header.lastOffset + 1;
    }
    // Bytes but no whole batch: the next batch is larger than we allowed.
    if (complete === 0) state.maxBytes = Math.min(state.maxBytes * 2, this.options.fetchMaxBytes);
  }

  /** ListOffsets for partitions whose position is still a spec (start, or reset after OFFSET_OUT_OF_RANGE). */
  private async resolvePositions(): Promise<void> {
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of this.states.values()) {
      if (s.position >= 0) continue;
      if (typeof s.pendingStart === 'number') {
        s.position = s.pendingStart;
        this.resolvedStarts.set(s.partition, s.position);
        continue;
      }
      const list = byLeader.get(s.leader);
      if (list) list.push(s);
      else byLeader.set(s.leader, [s]);
    }
    for (const [leader, states] of byLeader) {
      if (leader < 0) continue;
      const conn = await this.client.connection(leader);
      const response = await conn.request<ListOffsetsResponse>(ApiKey.ListOffsets, (): ListOffsetsRequest => ({
        replicaId: -1,
        isolationLevel: this.options.isolationLevel,
        topics: [
          {
            name: this.options.topic,
            partitions: states.map((s) => ({
              partitionIndex: s.partition,
              currentLeaderEpoch: -1,
              timestamp: s.pendingStart === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP,
              maxNumOffsets: 1,
            })),
          },
        ],
      }));
      for (const t of response.topics) {
        for (const p of t.partitions) {
          const state = this.states.get(p.partitionIndex);
          if (!state || t.name !== this.options.topic) continue;
          if (p.errorCode !== 0) {
            this.metadataStale = true;
            continue;
          }
          const offset = p.offset !== undefined && p.offset >= 0n ? p.offset : (p.oldStyleOffsets?.[0] ?? -1n);
          if (offset < 0n) throw new KafkaResponseError(p.errorCode, `no ${String(state.pendingStart)} offset for partition ${p.partitionIndex}: ${errorMessage(p.errorCode)}`);
          state.position = Number(offset);
          this.resolvedStarts.set(state.partition, state.position);
        }
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
