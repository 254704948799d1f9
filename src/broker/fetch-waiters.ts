// Fetch long-polling (Kafka's DelayedFetch purgatory): a fetch that found fewer
// than min_bytes waits until appends to its partitions make enough data
// available, or max_wait_ms passes. Appends wake waiters directly through
// Log.onAppend; no timer polls the logs.
//
// Bounds: at most `waitsMax` fetches wait at once (a further one is answered at
// once with what it has), and a waiter re-checks at most once per event-loop
// turn however many appends land in it.

export type WaitOutcome = 'satisfied' | 'timeout' | 'closed' | 'overloaded';

/** What a waiter needs from a log: a way to hear about appends. */
export interface AppendSource {
  onAppend(listener: () => void): () => void;
}

/** fetch.purgatory bound: waiting fetches across all connections. */
export const FETCH_WAITS_MAX_DEFAULT = 10_000;

interface Waiter {
  finish(outcome: WaitOutcome): void;
}

export class FetchWaiters {
  private readonly waiting = new Set<Waiter>();
  private closed = false;

  constructor(private readonly waitsMax = FETCH_WAITS_MAX_DEFAULT) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Waits until `availableBytes()` reaches minBytes after an append to one of
   * `sources`, or maxWaitMs passes. `availableBytes` is the caller's measure of
   * readable bytes for its fetch positions (capped at the high watermark).
   */
  wait(sources: readonly AppendSource[], minBytes: number, maxWaitMs: number, availableBytes: () => number): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (maxWaitMs <= 0 || availableBytes() >= Math.max(minBytes, 1)) return Promise.resolve('satisfied');
    if (this.waiting.size >= this.waitsMax) return Promise.resolve('overloaded');
    return new Promise<WaitOutcome>((resolve) => {
      const unsubscribes: Array<() => void> = [];
      let checkScheduled = false;
      let done = false;
      const waiter: Waiter = {
        finish: (outcome) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          for (const u of unsubscribes) u();
          this.waiting.delete(waiter);
          resolve(outcome);
        },
      };
      const check = () => {
        checkScheduled = false;
        if (done) return;
        let bytes: number;
        try {
          bytes = availableBytes();
        } catch {
          // A log that went away (deleted topic, closed) answers the fetch now.
          waiter.finish('satisfied');
          return;
        }
        if (bytes >= Math.max(minBytes, 1)) waiter.finish('satisfied');
      };
      const onAppend = () => {
        if (checkScheduled || done) return;
        checkScheduled = true;
        setImmediate(check);
      };
      const timer = setTimeout(() => waiter.finish('timeout'), maxWaitMs);
      for (const source of sources) unsubscribes.push(source.onAppend(onAppend));
      this.waiting.add(waiter);
    });
  }

  /** Answers every waiting fetch (broker shutdown). */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiting]) w.finish('closed');
  }
}
