// Keyed one-shot timers for the group coordinator (Kafka's CoordinatorTimer):
// scheduling a key replaces the task already under it, so a heartbeat simply
// moves its member's expiry. The broker uses SystemTimer; unit tests use
// ManualTimer, which runs due tasks as a ManualClock is advanced.
import type { ManualClock } from '../storage/clock.js';

export interface CoordinatorTimer {
  /** Runs `task` after `delayMs`, replacing any task scheduled under `key`. */
  schedule(key: string, delayMs: number, task: () => void): void;
  cancel(key: string): void;
  /** Drops every task (the broker is stopping). */
  cancelAll(): void;
}

export class SystemTimer implements CoordinatorTimer {
  private readonly handles = new Map<string, NodeJS.Timeout>();

  schedule(key: string, delayMs: number, task: () => void): void {
    this.cancel(key);
    const handle = setTimeout(() => {
      if (this.handles.get(key) === handle) this.handles.delete(key);
      task();
    }, Math.max(0, delayMs));
    // Group timers never keep an embedding process alive on their own.
    handle.unref();
    this.handles.set(key, handle);
  }

  cancel(key: string): void {
    const handle = this.handles.get(key);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.handles.delete(key);
  }

  cancelAll(): void {
    for (const handle of this.handles.values()) clearTimeout(handle);
    this.handles.clear();
  }
}

interface ManualTask {
  deadlineMs: number;
  sequence: number;
  task: () => void;
}

/** Timers driven by a ManualClock: `advance` runs due tasks in deadline order, moving the clock to each. */
export class ManualTimer implements CoordinatorTimer {
  private readonly tasks = new Map<string, ManualTask>();
  private sequence = 0;

  constructor(readonly clock: ManualClock) {}

  schedule(key: string, delayMs: number, task: () => void): void {
    this.tasks.set(key, { deadlineMs: this.clock.nowMs() + Math.max(0, delayMs), sequence: this.sequence++, task });
  }

  cancel(key: string): void {
    this.tasks.delete(key);
  }

  cancelAll(): void {
    this.tasks.clear();
  }

  has(key: string): boolean {
    return this.tasks.has(key);
  }

  /** Advances the clock by `ms`, running every task that falls due on the way (including ones they schedule). */
  advance(ms: number): void {
    const targetMs = this.clock.nowMs() + ms;
    for (;;) {
      let nextKey: string | null = null;
      let next: ManualTask | null = null;
      for (const [key, t] of this.tasks) {
        if (t.deadlineMs > targetMs) continue;
        if (next === null || t.deadlineMs < next.deadlineMs || (t.deadlineMs === next.deadlineMs && t.sequence < next.sequence)) {
          next = t;
          nextKey = key;
        }
      }
      if (next === null || nextKey === null) break;
      this.tasks.delete(nextKey);
      if (next.deadlineMs > this.clock.nowMs()) this.clock.set(next.deadlineMs);
      next.task();
    }
    this.clock.set(targetMs);
  }
}
