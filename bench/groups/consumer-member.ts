// KIP-848 group members for the rebalance benchmark, at the protocol level:
// ConsumerGroupHeartbeat on Samsa's client connection. A member joins with
// epoch 0 and its subscription, adopts each assignment the coordinator sends
// (it holds no real partitions, so revoking is instant) and acknowledges it
// with an immediate heartbeat carrying what it now owns, as Kafka's consumer
// does when reconciliation completes; otherwise it heartbeats every
// HEARTBEAT_MS (the same interval as the classic members, not the server's
// group.consumer.heartbeat.interval.ms, so both protocols are timed alike).
// A member leaves with epoch -1.
//
// Runs only when the broker advertises ConsumerGroupHeartbeat.
import { BrokerConnection } from '../../src/client/connection.js';
import { ApiKey, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type MetadataResponse } from '../../src/protocol/generated/index.js';
import type { BenchResult } from '../storage/harness.js';

const HEARTBEAT_MS = 100;

type Record = (name: string, unit: string, value: number, params?: BenchResult['params']) => void;

class Tracker {
  private waiter: { members: ConsumerMember[]; minEpoch: number; resolve: (epoch: number) => void } | null = null;
  constructor(private readonly partitions: number) {}

  until(members: ConsumerMember[], minEpoch: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiter = { members, minEpoch, resolve };
      this.check();
    });
  }

  check(): void {
    const w = this.waiter;
    if (!w) return;
    let epoch = -1;
    const seen = new Set<number>();
    for (const m of w.members) {
      if (m.epoch < w.minEpoch || (epoch !== -1 && m.epoch !== epoch)) return;
      epoch = m.epoch;
      for (const p of m.owned) {
        if (seen.has(p)) return;
        seen.add(p);
      }
    }
    if (seen.size !== this.partitions) return;
    this.waiter = null;
    w.resolve(epoch);
  }
}

class ConsumerMember {
  memberId = '';
  epoch = 0;
  owned: number[] = [];
  private sentOwned = true;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight = false;
  private first = true;

  constructor(
    private readonly conn: BrokerConnection,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly topicId: string,
    private readonly tracker: Tracker,
  ) {}

  start(): void {
    void this.beat();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.beat(), ms);
  }

  private async beat(): Promise<void> {
    this.timer = null;
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    const request: ConsumerGroupHeartbeatRequest = {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: this.first ? 30_000 : -1,
      subscribedTopicNames: this.first ? [this.topic] : null,
      serverAssignor: null,
      // Joining carries an empty list (Kafka refuses owned partitions at epoch 0); afterwards only changes are sent.
      topicPartitions: this.first ? [] : !this.sentOwned ? (this.owned.length > 0 ? [{ topicId: this.topicId, partitions: this.owned }] : []) : null,
    };
    this.sentOwned = true;
    let response: ConsumerGroupHeartbeatResponse;
    try {
      response = await this.conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => request);
    } catch (err) {
      if (!this.stopped) console.error(`KIP-848 member: ${(err as Error).message}`);
      this.stopped = true;
      return;
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    if (response.errorCode !== 0) {
      console.error(`KIP-848 member ${this.memberId}: ConsumerGroupHeartbeat error ${response.errorCode} ${response.errorMessage ?? ''}`);
      this.stopped = true;
      return;
    }
    this.first = false;
    if (response.memberId) this.memberId = response.memberId;
    this.epoch = response.memberEpoch;
    if (response.assignment) {
      this.owned = response.assignment.topicPartitions.filter((t) => t.topicId === this.topicId).flatMap((t) => t.partitions).sort((a, b) => a - b);
      this.sentOwned = false;
      this.tracker.check();
      this.schedule(0);
      return;
    }
    this.tracker.check();
    this.schedule(HEARTBEAT_MS);
  }

  async leave(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.inFlight) await new Promise((r) => setTimeout(r, 1));
    const response = await this.conn.request<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, () => ({
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: -1,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      serverAssignor: null,
      topicPartitions: null,
    }));
    if (response.errorCode !== 0) throw new Error(`leaving: error ${response.errorCode}`);
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn.close();
  }
}

/** Runs the KIP-848 rebalance passes; returns a note for the report (why it did not run, or null). */
export async function runConsumerGroupRebalance(port: number, topic: string, count: number, partitions: number, runs: number, record: Record): Promise<string | null> {
  const probe = await BrokerConnection.connect({ host: '127.0.0.1', port, clientId: 'bench-probe' });
  let topicId: string;
  try {
    if (!probe.supports(ApiKey.ConsumerGroupHeartbeat)) {
      return 'KIP-848 groups were not measured: the broker at this commit does not advertise ConsumerGroupHeartbeat.';
    }
    const md = await probe.request<MetadataResponse>(ApiKey.Metadata, () => ({ topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    topicId = String(md.topics[0].topicId);
  } finally {
    probe.close();
  }
  const params = { members: count, partitions, heartbeatMs: HEARTBEAT_MS, assignor: 'server default (uniform)' };
  for (let run = -1; run < runs; run++) {
    const tracker = new Tracker(partitions);
    const groupId = `consumer-${run + 1}`;
    const conns = await Promise.all(Array.from({ length: count + 1 }, (_, i) => BrokerConnection.connect({ host: '127.0.0.1', port, clientId: `bench-848-${i}`, requestTimeoutMs: 60_000 })));
    const members = conns.map((c) => new ConsumerMember(c, groupId, topic, topicId, tracker));
    try {
      const first = members.slice(0, count);
      let t0 = performance.now();
      for (const m of first) m.start();
      let epoch = await tracker.until(first, 1);
      const initialMs = performance.now() - t0;
      t0 = performance.now();
      members[count].start();
      epoch = await tracker.until(members, epoch + 1);
      const joinMs = performance.now() - t0;
      t0 = performance.now();
      await members[0].leave();
      const staying = members.slice(1);
      await tracker.until(staying, epoch + 1);
      const leaveMs = performance.now() - t0;
      if (run >= 0) {
        record('rebalance.consumer.initial', 'ms', initialMs, { ...params, from: 'first ConsumerGroupHeartbeat', to: 'all 10 reconciled at one epoch' });
        record('rebalance.consumer.member-join', 'ms', joinMs, { ...params, from: "the 11th member's first heartbeat", to: 'all 11 reconciled' });
        record('rebalance.consumer.member-leave', 'ms', leaveMs, { ...params, from: 'leave heartbeat (epoch -1)', to: 'the other 10 reconciled' });
      }
      console.log(`rebalance KIP-848 run ${run < 0 ? 'warm-up' : `${run + 1}/${runs}`} done`);
    } finally {
      for (const m of members) m.close();
    }
  }
  return null;
}
