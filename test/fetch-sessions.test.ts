// Fetch sessions (KIP-227): the cache's slot and eviction rules with a manual
// clock, then the wire behaviour at several Fetch versions over real sockets:
// full and incremental fetches, adds/updates/forgets, only changed partitions
// answered, epoch and session errors, eviction, a session across a long-poll.
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { FetchSessionCache, nextEpoch, type CachedPartition } from '../src/broker/fetch-sessions.js';
import { kafkaUuidToCanonical } from '../src/cluster/local-metadata.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, type FetchRequest, type FetchResponse, type ProduceResponse } from '../src/protocol/generated/index.js';
import { buildRecordBatch, iterateBatchHeaders } from '../src/record/record-batch.js';
import { ManualClock } from '../src/storage/clock.js';
import { silentLogger } from '../src/storage/log.js';
import { WireClient } from './support/kafka-wire.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const EVICTION_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
const UNKNOWN_TOPIC_ID = '0b0b0b0b-0000-4000-8000-000000000001';

describe('FetchSessionCache', () => {
  const parts = (n: number, prefix = 'p'): Array<[string, CachedPartition<string>]> =>
    Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { params: `${prefix}${i}`, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n }]);

  it('hands out positive ids, epoch 1, until the slots are taken', () => {
    const clock = new ManualClock();
    const cache = new FetchSessionCache<string>({ slotsMax: 2, clock });
    const a = cache.create(false, parts(1), 1)!;
    const b = cache.create(false, parts(1), 1)!;
    expect(a.id).toBeGreaterThan(0);
    expect(b.id).not.toBe(a.id);
    expect(a.epoch).toBe(1);
    // Both young and recently used: a third session gets no slot, even a larger one.
    expect(cache.create(false, parts(5), 5)).toBeNull();
    expect(cache.size).toBe(2);
    expect(cache.partitionCount).toBe(2);
  });

  it('evicts the least recently used session once it has been idle longer than the eviction time', () => {
    const clock = new ManualClock();
    const cache = new FetchSessionCache<string>({ slotsMax: 2, clock });
    const a = cache.create(false, parts(3), 3)!;
    clock.advance(10);
    const b = cache.create(false, parts(3), 3)!;
    clock.advance(EVICTION_MS);
    // a: idle EVICTION_MS + 10 (stale); b: idle exactly EVICTION_MS (not yet).
    cache.touch(b);
    const c = cache.create(false, parts(1), 1)!;
    expect(c).not.toBeNull();
    expect(cache.get(a.id)).toBeUndefined();
    expect(cache.get(b.id)).toBe(b);
    expect(cache.evictionCount).toBe(1);
  });

  it('lets a larger newcomer evict the smallest session that was old at its last use, never an equal one', () => {
    const clock = new ManualClock();
    const cache = new FetchSessionCache<string>({ slotsMax: 2, clock });
    const small = cache.create(false, parts(2), 2)!;
    const large = cache.create(false, parts(4), 4)!;
    clock.advance(EVICTION_MS + 1);
    // Both in use (not stale) but older than the eviction time at their last touch.
    cache.touch(small);
    cache.touch(large);
    expect(cache.create(false, parts(2), 2)).toBeNull();
    const newcomer = cache.create(false, parts(3), 3)!;
    expect(newcomer).not.toBeNull();
    expect(cache.get(small.id)).toBeUndefined();
    expect(cache.get(large.id)).toBe(large);
  });

  it('judges age as of the last use, as Kafka does', () => {
    const clock = new ManualClock();
    const cache = new FetchSessionCache<string>({ slotsMax: 1, clock });
    const a = cache.create(false, parts(1), 1)!;
    clock.advance(EVICTION_MS - 1);
    cache.touch(a);
    clock.advance(10);
    // a is older than the eviction time now, but was not at its last touch, and is not idle long enough.
    expect(cache.create(false, parts(9), 9)).toBeNull();
    cache.touch(a);
    expect(cache.create(false, parts(9), 9)).not.toBeNull();
    expect(cache.get(a.id)).toBeUndefined();
  });

  it('refuses sessions past its bound on cached partitions, and 0 slots disables sessions', () => {
    const cache = new FetchSessionCache<string>({ slotsMax: 10, cachedPartitionsMax: 5 });
    expect(cache.create(false, parts(4), 4)).not.toBeNull();
    expect(cache.hasRoomFor(1)).toBe(true);
    expect(cache.hasRoomFor(2)).toBe(false);
    expect(cache.create(false, parts(2), 2)).toBeNull();
    expect(new FetchSessionCache<string>({ slotsMax: 0 }).create(false, parts(1), 1)).toBeNull();
  });

  it('keeps its partition count right through updates and removal', () => {
    const cache = new FetchSessionCache<string>({ slotsMax: 10 });
    const s = cache.create(false, parts(3), 3)!;
    s.update([['x', 'x'], ['p0', 'p0-new']], ['p1', 'absent']);
    cache.touch(s);
    expect([...s.partitions.keys()]).toEqual(['p0', 'p2', 'x']);
    expect(s.partitions.get('p0')!.params).toBe('p0-new');
    expect(cache.partitionCount).toBe(3);
    s.moveToEnd('p0');
    expect([...s.partitions.keys()]).toEqual(['p2', 'x', 'p0']);
    expect(cache.remove(s.id)).toBe(true);
    expect(cache.remove(s.id)).toBe(false);
    expect(cache.partitionCount).toBe(0);
  });

  it('counts epochs 1..2^31-1 and wraps to 1', () => {
    expect(nextEpoch(0)).toBe(1);
    expect(nextEpoch(41)).toBe(42);
    expect(nextEpoch(2 ** 31 - 1)).toBe(1);
    expect(nextEpoch(-1)).toBe(-1);
  });
});

// ---- over the wire ----

interface Setup {
  broker: Broker;
  client: WireClient;
  clock: ManualClock;
  topicIds: Map<string, string>;
}

async function setup(properties: Record<string, string> = {}): Promise<Setup> {
  const dataDir = tempDir();
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const clock = new ManualClock();
  const broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties, clock });
  cleanups.push(() => broker.close());
  const topicIds = new Map<string, string>();
  for (const [name, partitions] of [['alpha', 3], ['beta', 2]] as const) {
    const created = await broker.metadata.createTopic(name, partitions, 1, {});
    if (!created.ok) throw new Error(created.message);
    broker.materializeTopic(created.value);
    topicIds.set(name, kafkaUuidToCanonical(created.value.topicId));
  }
  const client = await WireClient.connect(broker.port);
  cleanups.push(() => client.close());
  return { broker, client, clock, topicIds };
}

async function produce(client: WireClient, topic: string, partition: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${topic}-${partition}-${i}` }));
  const res = await client.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch(records) }] }],
  });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
}

type Want = [topic: string, partition: number, fetchOffset: number];

class Fetcher {
  constructor(
    private readonly s: Setup,
    readonly version: number,
  ) {}

  private topicEntry(topic: string) {
    // A topic this broker does not have gets an id nobody has.
    return this.version >= 13 ? { topicId: this.s.topicIds.get(topic) ?? UNKNOWN_TOPIC_ID } : { topic };
  }

  fetch(sessionId: number, sessionEpoch: number, wants: Want[], forgotten: Array<[string, number]> = [], wait = { maxWaitMs: 0, minBytes: 0 }): Promise<FetchResponse> {
    const topics: FetchRequest.FetchTopic[] = [];
    for (const [topic, partition, fetchOffset] of wants) {
      let entry = topics.at(-1);
      const name = this.topicEntry(topic);
      if (!entry || JSON.stringify({ topic: entry.topic, topicId: entry.topicId }) !== JSON.stringify({ topic: name.topic, topicId: name.topicId })) {
        entry = { ...name, partitions: [] };
        topics.push(entry);
      }
      entry.partitions.push({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 });
    }
    const forgottenTopicsData = forgotten.map(([topic, partition]) => ({ ...this.topicEntry(topic), partitions: [partition] }));
    const request: FetchRequest = { replicaId: -1, ...wait, maxBytes: 1 << 24, isolationLevel: 0, sessionId, sessionEpoch, topics, forgottenTopicsData, rackId: '' };
    return this.s.client.request<FetchResponse>(ApiKey.Fetch, this.version, request);
  }

  /** "topic:partition" for every partition in an answer, with its record offsets. */
  summary(res: FetchResponse): Record<string, { error: number; hw: number; offsets: number[] }> {
    const names = new Map([...this.s.topicIds].map(([name, id]) => [id, name]));
    const out: Record<string, { error: number; hw: number; offsets: number[] }> = {};
    for (const t of res.responses) {
      const topic = this.version >= 13 ? (names.get(t.topicId!) ?? t.topicId!) : t.topic!;
      for (const p of t.partitions) {
        const offsets: number[] = [];
        for (const { header } of iterateBatchHeaders(p.records ?? Buffer.alloc(0))) {
          for (let o = header.baseOffset; o <= header.lastOffset; o++) offsets.push(o);
        }
        out[`${topic}:${p.partitionIndex}`] = { error: p.errorCode, hw: Number(p.highWatermark), offsets };
      }
    }
    return out;
  }
}

describe.each([7, 11, 12, 13, 16])('Fetch v%i sessions', (version) => {
  it('opens a session on a full fetch and answers incremental fetches with changed partitions only', async () => {
    const s = await setup();
    const f = new Fetcher(s, version);
    await produce(s.client, 'alpha', 0, 3);
    const full = await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 1, 0], ['beta', 0, 0]]);
    expect(full.errorCode).toBe(0);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(f.summary(full)).toEqual({
      'alpha:0': { error: 0, hw: 3, offsets: [0, 1, 2] },
      'alpha:1': { error: 0, hw: 0, offsets: [] },
      'beta:0': { error: 0, hw: 0, offsets: [] },
    });
    const id = full.sessionId!;

    // The client moves alpha-0 to offset 3: nothing new anywhere, so nothing is answered.
    const quiet = await f.fetch(id, 1, [['alpha', 0, 3]]);
    expect(quiet).toMatchObject({ errorCode: 0, sessionId: id, responses: [] });

    // New records in alpha-1 and beta-0: only those two come back, with records and high watermarks.
    await produce(s.client, 'alpha', 1, 2);
    await produce(s.client, 'beta', 0, 4);
    const changed = await f.fetch(id, 2, []);
    expect(f.summary(changed)).toEqual({
      'alpha:1': { error: 0, hw: 2, offsets: [0, 1] },
      'beta:0': { error: 0, hw: 4, offsets: [0, 1, 2, 3] },
    });

    // Add beta-1 (new to the session: answered), forget beta-0, move alpha-1 on.
    const added = await f.fetch(id, 3, [['alpha', 1, 2], ['beta', 1, 0]], [['beta', 0]]);
    expect(f.summary(added)).toEqual({ 'beta:1': { error: 0, hw: 0, offsets: [] } });

    // beta-0 is forgotten: its new records are not fetched; alpha-0's are.
    await produce(s.client, 'beta', 0, 1);
    await produce(s.client, 'alpha', 0, 2);
    const afterForget = await f.fetch(id, 4, []);
    expect(f.summary(afterForget)).toEqual({ 'alpha:0': { error: 0, hw: 5, offsets: [3, 4] } });
  });

  it('answers session errors: unknown id, wrong epoch, and closes sessions on epoch -1', async () => {
    const s = await setup();
    const f = new Fetcher(s, version);
    const full = await f.fetch(0, 0, [['alpha', 0, 0]]);
    const id = full.sessionId!;
    expect(await f.fetch(id === 1 ? 2 : id - 1, 1, [])).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
    expect(await f.fetch(id, 2, [])).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, responses: [] });
    // The failed requests did not move the epoch on.
    expect(await f.fetch(id, 1, [])).toMatchObject({ errorCode: 0, sessionId: id });
    // A replayed epoch is refused.
    expect((await f.fetch(id, 1, [])).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    // Epoch -1 closes the session and answers sessionless, with every partition named.
    const closing = await f.fetch(id, -1, [['alpha', 0, 0], ['alpha', 2, 0]]);
    expect(closing.sessionId).toBe(0);
    expect(Object.keys(f.summary(closing))).toEqual(['alpha:0', 'alpha:2']);
    expect((await f.fetch(id, 2, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expect(s.broker.fetchSessions.size).toBe(0);
  });

  it('replaces the session a full fetch names, and ends a session whose partitions are all forgotten', async () => {
    const s = await setup();
    const f = new Fetcher(s, version);
    const first = (await f.fetch(0, 0, [['alpha', 0, 0]])).sessionId!;
    const second = (await f.fetch(first, 0, [['alpha', 1, 0]])).sessionId!;
    expect(second).toBeGreaterThan(0);
    expect(second).not.toBe(first);
    expect((await f.fetch(first, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const emptied = await f.fetch(second, 1, [], [['alpha', 1]]);
    expect(emptied).toMatchObject({ errorCode: 0, sessionId: 0, responses: [] });
    expect(s.broker.fetchSessions.size).toBe(0);
  });

  it('keeps answering partitions in error, and re-sends one when its error clears', async () => {
    const s = await setup();
    const f = new Fetcher(s, version);
    await produce(s.client, 'alpha', 0, 2);
    const unknown = version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const full = await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 7, 0], ['gamma', 0, 0]]);
    const id = full.sessionId!;
    expect(f.summary(full)['alpha:7'].error).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(Object.values(f.summary(full)).map((p) => p.error)).toContain(unknown);
    // Fetching past the end: OFFSET_OUT_OF_RANGE, then fixed by the client.
    const outOfRange = await f.fetch(id, 1, [['alpha', 0, 99]]);
    const errors = f.summary(outOfRange);
    expect(errors['alpha:0'].error).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(Object.keys(errors)).toHaveLength(3);
    const recovered = await f.fetch(id, 2, [['alpha', 0, 2]]);
    expect(f.summary(recovered)['alpha:0']).toEqual({ error: 0, hw: 2, offsets: [] });
  });

  it('keeps a session across a long-poll woken by a produce on another connection', async () => {
    const s = await setup();
    const f = new Fetcher(s, version);
    const id = (await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 1, 0]])).sessionId!;
    const waiting = f.fetch(id, 1, [], [], { maxWaitMs: 30_000, minBytes: 1 });
    const producer = await WireClient.connect(s.broker.port);
    cleanups.push(() => producer.close());
    await produce(producer, 'alpha', 1, 3);
    const woken = await waiting;
    expect(woken.sessionId).toBe(id);
    expect(f.summary(woken)).toEqual({ 'alpha:1': { error: 0, hw: 3, offsets: [0, 1, 2] } });
    // The session carries on at the next epoch, and remembers the high watermark it sent.
    const next = await f.fetch(id, 2, [['alpha', 1, 3]]);
    expect(next).toMatchObject({ errorCode: 0, sessionId: id, responses: [] });
  });
});

describe('Fetch sessions across versions and limits', () => {
  it('refuses to continue a v12 (topic name) session with a v13 (topic id) request, and the reverse', async () => {
    const s = await setup();
    const byName = (await new Fetcher(s, 12).fetch(0, 0, [['alpha', 0, 0]])).sessionId!;
    expect((await new Fetcher(s, 13).fetch(byName, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    const byId = (await new Fetcher(s, 16).fetch(0, 0, [['alpha', 0, 0]])).sessionId!;
    expect((await new Fetcher(s, 7).fetch(byId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // Neither error moved the epochs on.
    expect((await new Fetcher(s, 12).fetch(byName, 1, [])).errorCode).toBe(0);
    expect((await new Fetcher(s, 13).fetch(byId, 1, [])).errorCode).toBe(0);
  });

  it('answers a long-poll with INVALID_FETCH_SESSION_EPOCH when a later request of its session was accepted meanwhile', async () => {
    const s = await setup();
    const f = new Fetcher(s, 12);
    const id = (await f.fetch(0, 0, [['alpha', 0, 0]])).sessionId!;
    const waiting = f.fetch(id, 1, [], [], { maxWaitMs: 30_000, minBytes: 1 });
    const other = await WireClient.connect(s.broker.port);
    cleanups.push(() => other.close());
    // Epoch 1 was accepted when the wait began, so epoch 2 is next.
    const later = await new Fetcher({ ...s, client: other }, 12).fetch(id, 2, []);
    expect(later).toMatchObject({ errorCode: 0, sessionId: id });
    await produce(other, 'alpha', 0, 1);
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: id, responses: [] });
  });

  it('puts partitions that returned records last in the next incremental fetch', async () => {
    const s = await setup();
    const f = new Fetcher(s, 13);
    const id = (await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 1, 0], ['alpha', 2, 0]])).sessionId!;
    await produce(s.client, 'alpha', 0, 1);
    await f.fetch(id, 1, []);
    await produce(s.client, 'alpha', 0, 1);
    await produce(s.client, 'alpha', 2, 1);
    const res = await f.fetch(id, 2, [['alpha', 0, 1]]);
    // alpha-0 went last after returning records, so alpha-2 now comes first.
    expect(res.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex))).toEqual([2, 0]);
  });

  it('answers without a session when every slot is taken, and evicts an idle session once the eviction time passes', async () => {
    const s = await setup({ 'max.incremental.fetch.session.cache.slots': '1' });
    const f = new Fetcher(s, 12);
    const a = (await f.fetch(0, 0, [['alpha', 0, 0]])).sessionId!;
    expect(a).toBeGreaterThan(0);
    const refused = await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 1, 0], ['beta', 0, 0]]);
    expect(refused.sessionId).toBe(0);
    expect(Object.keys(f.summary(refused))).toHaveLength(3);
    expect((await f.fetch(a, 1, [])).errorCode).toBe(0);
    s.clock.advance(EVICTION_MS + 1);
    const b = (await f.fetch(0, 0, [['beta', 1, 0]])).sessionId!;
    expect(b).toBeGreaterThan(0);
    expect((await f.fetch(a, 2, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expect((await f.fetch(b, 1, [])).errorCode).toBe(0);
  });

  it('answers sessionless with max.incremental.fetch.session.cache.slots=0, and ignores session fields below v7', async () => {
    const s = await setup({ 'max.incremental.fetch.session.cache.slots': '0' });
    expect((await new Fetcher(s, 12).fetch(0, 0, [['alpha', 0, 0]])).sessionId).toBe(0);
    const old = await new Fetcher(s, 6).fetch(0, 0, [['alpha', 0, 0]]);
    expect(old.responses[0].partitions[0].errorCode).toBe(0);
  });

  it('reports sessions, cached partitions and evictions on /metrics', async () => {
    const metricsPort = await freePort();
    const s = await setup({ 'max.incremental.fetch.session.cache.slots': '1', 'metrics.port': String(metricsPort), 'metrics.host': '127.0.0.1' });
    const f = new Fetcher(s, 12);
    await f.fetch(0, 0, [['alpha', 0, 0], ['alpha', 1, 0]]);
    s.clock.advance(EVICTION_MS + 1);
    await f.fetch(0, 0, [['beta', 0, 0], ['beta', 1, 0], ['alpha', 2, 0]]);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/^samsa_fetch_sessions 1$/m);
    expect(text).toMatch(/^samsa_fetch_session_partitions 3$/m);
    expect(text).toMatch(/^samsa_fetch_session_evictions_total 1$/m);
  });

  it('rejects a malformed slot count at start-up', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    await expect(Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger, properties: { 'max.incremental.fetch.session.cache.slots': '-1' } })).rejects.toThrow(
      /max.incremental.fetch.session.cache.slots/,
    );
  });
});
