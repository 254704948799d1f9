// Fetch sessions (KIP-227): the broker remembers, per session, which partitions a
// consumer fetches with which parameters, and what the last answer said about each
// (high watermark, last stable offset, log start offset). An incremental fetch then
// names only the partitions whose parameters changed, and its answer carries only
// the partitions with something new to say.
//
// Ids and epochs: a session id is a random int32 in [1, 2^31 - 1] (0 means "no
// session"). Requests with epoch 0 (open) or -1 (close) are full requests; a
// session is created with epoch 1 and every accepted incremental request moves
// it on by one, wrapping from 2^31 - 1 back to 1.
//
// Eviction (Kafka's FetchSessionCache, one shard): when all `slotsMax` slots are
// taken, a new session may take the slot of
//   1. the least recently used session, if unused for more than evictionMs; else
//   2. the smallest session (fewest partitions, then lowest id) among those that
//      were older than evictionMs when last used, if the new one has more
//      partitions (an equal count never evicts: ids are positive, the newcomer's 0).
// Otherwise the full fetch is answered without a session. Kafka's privileged
// (follower) sessions do not arise on a single node.
//
// Single-threaded: every method runs on the event loop, so no locking; a request
// that long-polls keeps its session object and re-checks the epoch afterwards.
import { randomInt } from 'node:crypto';
import { systemClock, type Clock } from '../storage/clock.js';

/** The session id of "no session". */
export const INVALID_SESSION_ID = 0;
/** A full request that opens a session. */
export const INITIAL_EPOCH = 0;
/** A full request that closes its session and opens none. */
export const FINAL_EPOCH = -1;
const INT32_MAX = 2 ** 31 - 1;

/** max.incremental.fetch.session.cache.slots default. */
export const FETCH_SESSION_CACHE_SLOTS_DEFAULT = 1000;
/** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS (a constant there, not a config). */
export const FETCH_SESSION_EVICTION_MS = 120_000;
/**
 * Partitions remembered across all sessions. Each costs a few hundred bytes, so
 * this caps the cache near 100 MB even against clients naming millions of
 * partitions; a real consumer fleet (1000 sessions of 500 partitions) fits.
 */
export const FETCH_SESSION_CACHED_PARTITIONS_MAX = 500_000;

/** The epoch that follows `epoch` in a session. */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  if (epoch === INT32_MAX) return 1;
  return epoch + 1;
}

/** One partition of a session: the request parameters and what the client was last told. */
export interface CachedPartition<Params> {
  params: Params;
  /** -1 after an error, so the partition is sent again once the error clears. */
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

export class FetchSession<Params> {
  /** Keyed by topic (id or name) and partition; iteration order is fetch order. */
  readonly partitions = new Map<string, CachedPartition<Params>>();
  epoch = nextEpoch(INITIAL_EPOCH);
  lastUsedMs: number;
  /** Size recorded at the last touch (what the cache accounts), -1 while not cached. */
  cachedSize = -1;
  /** Whether, at the last touch, the session was old enough for a newcomer to evict. */
  evictable = false;

  constructor(
    readonly id: number,
    readonly usesTopicIds: boolean,
    readonly createdMs: number,
  ) {
    this.lastUsedMs = createdMs;
  }

  get size(): number {
    return this.partitions.size;
  }

  /**
   * Applies an incremental request: named partitions are added or get their new
   * parameters, then forgotten ones are dropped (Kafka's order, so a partition
   * both named and forgotten ends up gone).
   */
  update(named: Iterable<[string, Params]>, forgotten: Iterable<string>): { added: number; updated: number; removed: number } {
    let added = 0;
    let updated = 0;
    let removed = 0;
    for (const [key, params] of named) {
      const cached = this.partitions.get(key);
      if (cached) {
        cached.params = params;
        updated++;
      } else {
        this.partitions.set(key, { params, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n });
        added++;
      }
    }
    for (const key of forgotten) if (this.partitions.delete(key)) removed++;
    return { added, updated, removed };
  }

  /** Puts a partition last in fetch order, so partitions that returned data yield to the others next time. */
  moveToEnd(key: string): void {
    const cached = this.partitions.get(key);
    if (!cached) return;
    this.partitions.delete(key);
    this.partitions.set(key, cached);
  }
}

export interface FetchSessionCacheOptions {
  /** max.incremental.fetch.session.cache.slots; 0 disables sessions. */
  slotsMax?: number;
  evictionMs?: number;
  cachedPartitionsMax?: number;
  clock?: Clock;
}

export class FetchSessionCache<Params> {
  // Map order is least recently used first: touch() re-inserts.
  private readonly sessions = new Map<number, FetchSession<Params>>();
  private cachedPartitions = 0;
  private readonly slotsMax: number;
  private readonly evictionMs: number;
  private readonly cachedPartitionsMax: number;
  private readonly clock: Clock;
  /** Sessions that lost their slot to a newcomer (Kafka's IncrementalFetchSessionEvictionsPerSec). */
  evictionCount = 0;

  constructor(options: FetchSessionCacheOptions = {}) {
    this.slotsMax = options.slotsMax ?? FETCH_SESSION_CACHE_SLOTS_DEFAULT;
    this.evictionMs = options.evictionMs ?? FETCH_SESSION_EVICTION_MS;
    this.cachedPartitionsMax = options.cachedPartitionsMax ?? FETCH_SESSION_CACHED_PARTITIONS_MAX;
    this.clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Partitions held across all sessions, as of each session's last use. */
  get partitionCount(): number {
    return this.cachedPartitions;
  }

  get(id: number): FetchSession<Params> | undefined {
    return this.sessions.get(id);
  }

  /** Whether `extra` more cached partitions stay within the cache's bound. */
  hasRoomFor(extra: number): boolean {
    return this.cachedPartitions + extra <= this.cachedPartitionsMax;
  }

  /**
   * Opens a session holding `partitions` (in fetch order) if a slot is free or
   * can be taken; null when the fetch must go on without one.
   */
  create(usesTopicIds: boolean, partitions: Iterable<[string, CachedPartition<Params>]>, size: number): FetchSession<Params> | null {
    if (!this.hasRoomFor(size)) return null;
    const now = this.clock.nowMs();
    if (this.sessions.size >= this.slotsMax && !this.tryEvict(size, now)) return null;
    const session = new FetchSession<Params>(this.newSessionId(), usesTopicIds, now);
    for (const [key, cached] of partitions) session.partitions.set(key, cached);
    this.sessions.set(session.id, session);
    this.touch(session);
    return session;
  }

  /** Records a use: last-used time, accounted size, and whether a newcomer could evict it. */
  touch(session: FetchSession<Params>): void {
    const now = this.clock.nowMs();
    if (session.cachedSize >= 0) this.cachedPartitions -= session.cachedSize;
    session.cachedSize = session.size;
    this.cachedPartitions += session.cachedSize;
    session.lastUsedMs = now;
    session.evictable = now - session.createdMs > this.evictionMs;
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
  }

  remove(sessionOrId: FetchSession<Params> | number): boolean {
    const session = typeof sessionOrId === 'number' ? this.sessions.get(sessionOrId) : sessionOrId;
    if (!session || this.sessions.get(session.id) !== session) return false;
    this.sessions.delete(session.id);
    this.cachedPartitions -= session.cachedSize;
    session.cachedSize = -1;
    return true;
  }

  private tryEvict(newSize: number, now: number): boolean {
    const leastRecent = this.sessions.values().next();
    if (leastRecent.done) return false;
    if (now - leastRecent.value.lastUsedMs > this.evictionMs) return this.evict(leastRecent.value);
    let smallest: FetchSession<Params> | null = null;
    for (const s of this.sessions.values()) {
      if (!s.evictable) continue;
      if (smallest === null || s.cachedSize < smallest.cachedSize || (s.cachedSize === smallest.cachedSize && s.id < smallest.id)) smallest = s;
    }
    // The newcomer's key is (size, id 0): it wins only with strictly more partitions.
    if (smallest === null || newSize <= smallest.cachedSize) return false;
    return this.evict(smallest);
  }

  private evict(session: FetchSession<Params>): boolean {
    this.remove(session);
    this.evictionCount++;
    return true;
  }

  private newSessionId(): number {
    for (;;) {
      const id = randomInt(1, INT32_MAX);
      if (!this.sessions.has(id)) return id;
    }
  }
}
