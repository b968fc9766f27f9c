/**
 * The clocks of the tests and the benchmarks: {@link FakeClock} (virtual time, in-memory worlds),
 * {@link VirtualClock} (virtual time over real I/O) and {@link SkewableClock} (real time, moved or sped up).
 */
import { systemClock } from '../functions/core/clock.js';
import type { Clock } from '../functions/core/ports.js';

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

  /** Runs the world (jumping to the next timer whenever everything is {@link idle}) until `promise` settles. */
  async settle<T>(promise: Promise<T>, maxJumps = 100_000): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    for (let jumps = 0; jumps < maxJumps; jumps += 1) {
      await this.idle(() => done);
      if (done) return tracked;
      if (!this.fireNext())
        throw new Error(
          `${this.constructor.name}.settle: nothing left to run but the promise is still pending`,
        );
    }
    throw new Error(`${this.constructor.name}.settle: too many timer jumps`);
  }

  /** Resolves when nothing but a timer can move the world on (or `isDone`): here, once continuations ran. */
  protected async idle(_isDone: () => boolean): Promise<void> {
    await flushMicrotasks();
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

/**
 * Virtual time for worlds with real I/O (loopback sockets, dynalite). Time never moves while a tracked
 * port call is in flight: `settle(promise)` and `advance(ms)` jump to the next timer only once every
 * tracked call has settled and the continuations have run. So a test sees the same order of events on an
 * idle laptop and on a CI machine ten times slower: the machine's speed changes how long a run takes, never what it sees.
 *
 * Wrap each port the code under test awaits (`track(store)`, `track(identity)`, …); I/O that is not
 * tracked could still be running when time jumps.
 */
export class VirtualClock extends FakeClock {
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(startMs?: number) {
    super(startMs);
    // Bound, so `now: clock.now` can be handed to adapters and the simulator.
    this.now = this.now.bind(this);
    this.sleep = this.sleep.bind(this);
  }

  /** Port calls (promises returned by `track`ed objects) still running. */
  get callsInFlight(): number {
    return this.inFlight;
  }

  /** `port`, with every promise its methods return counted as I/O in flight until it settles. */
  track<T extends object>(port: T): T {
    return new Proxy(port, {
      get: (target, key, receiver) => {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          const result: unknown = value.apply(target, args);
          if (result instanceof Promise) {
            this.inFlight += 1;
            const done = (): void => this.callSettled();
            result.then(done, done);
          }
          return result;
        };
      },
    });
  }

  /** Resolves once no tracked call is in flight and the continuations have run. */
  quiescent(): Promise<void> {
    return this.idle(() => false);
  }

  /** Moves time forward by `ms`, one timer at a time, letting the I/O each timer starts finish first. */
  override async advance(ms: number): Promise<void> {
    const target = this.now() + ms;
    await this.quiescent();
    for (;;) {
      const at = this.nextTimerAt();
      if (at === undefined || at > target) break;
      this.fireNext();
      await this.quiescent();
    }
    await super.advance(target - this.now());
  }

  /** Idle only once no tracked call is in flight (or `isDone`) and the continuations have run. */
  protected override async idle(isDone: () => boolean): Promise<void> {
    await flushMicrotasks();
    while (!isDone() && this.inFlight > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await flushMicrotasks();
    }
  }

  private callSettled(): void {
    this.inFlight -= 1;
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const wake of waiters) wake();
  }
}

/**
 * Real time that can be moved forward (`offsetMs`) and can run faster than real time (`speed`), so several
 * token lifespans pass in seconds. What it measures depends on the machine's speed: prefer a
 * {@link VirtualClock} in a test.
 */
export class SkewableClock implements Clock {
  offsetMs = 0;
  private readonly startedAt = Date.now();
  constructor(private readonly speed = 1) {}
  now = (): number => this.startedAt + (Date.now() - this.startedAt) * this.speed + this.offsetMs;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => systemClock.sleep(ms / this.speed, signal);
}
