import type { Clock } from '../../functions/core/ports.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

const flushMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * A virtual clock. `sleep` registers a timer; time moves only when the test says so, or when
 * `settle(promise)` finds nothing left to do but jump to the next timer.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Timers still waiting. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextTimer();
      if (!next || next.at > target) break;
      this.fire(next);
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Runs the world (jumping to the next timer whenever everything is idle) until `promise` settles. */
  async settle<T>(promise: Promise<T>, maxJumps = 100_000): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    for (let jumps = 0; jumps < maxJumps; jumps += 1) {
      await flushMicrotasks();
      if (done) return tracked;
      const next = this.nextTimer();
      if (!next) throw new Error('FakeClock.settle: nothing left to run but the promise is still pending');
      this.fire(next);
    }
    throw new Error('FakeClock.settle: too many timer jumps');
  }

  /** Fires the earliest timer (moving time to it); false when none is waiting. */
  protected fireNext(): boolean {
    const next = this.nextTimer();
    if (!next) return false;
    this.fire(next);
    return true;
  }

  /** When the earliest timer is due, if any. */
  protected nextTimerAt(): number | undefined {
    return this.nextTimer()?.at;
  }

  private nextTimer(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.current = Math.max(this.current, timer.at);
    timer.resolve();
  }
}
