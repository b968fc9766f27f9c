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
  /** Set when its sleep was aborted: the heap drops it when it comes up. */
  cancelled: boolean;
}

/** Whether timer `a` fires before `b`: earlier instant first, then the order they were set. */
const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A binary min-heap of timers, so a world with thousands of sleeps moves time in O(log n) per timer. */
class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(timer: Timer): void {
    const items = this.items;
    items.push(timer);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i] as Timer, items[parent] as Timer)) break;
      [items[i], items[parent]] = [items[parent] as Timer, items[i] as Timer];
      i = parent;
    }
  }

  pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < items.length && before(items[left] as Timer, items[least] as Timer)) least = left;
        if (right < items.length && before(items[right] as Timer, items[least] as Timer)) least = right;
        if (least === i) break;
        [items[i], items[least]] = [items[least] as Timer, items[i] as Timer];
        i = least;
      }
    }
    return top;
  }
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
  private readonly timers = new TimerHeap();
  private cancelledTimers = 0;

  constructor(startMs = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, resolve, cancelled: false };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          if (!timer.cancelled) {
            timer.cancelled = true;
            this.cancelledTimers += 1;
          }
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Timers still waiting. */
  get pendingTimers(): number {
    return this.timers.size - this.cancelledTimers;
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
    for (;;) {
      const next = this.timers.peek();
      if (!next?.cancelled) return next;
      this.timers.pop();
      this.cancelledTimers -= 1;
    }
  }

  /** Fires `timer`, which must be the earliest (as {@link nextTimer} returned it). */
  private fire(timer: Timer): void {
    this.timers.pop();
    this.current = Math.max(this.current, timer.at);
    timer.resolve();
  }
}

const isAsyncIterator = (value: unknown): value is AsyncIterator<unknown> & AsyncIterable<unknown> =>
  typeof value === 'object' &&
  value !== null &&
  Symbol.asyncIterator in value &&
  typeof (value as { next?: unknown }).next === 'function';

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
  private readonly simultaneousTogether: boolean;

  /**
   * `simultaneousTogether`: timers due at the same instant fire together and the I/O they start runs
   * concurrently, instead of one timer at a time. Much faster for simulations with many parallel calls
   * (a benchmark's thousands of clients); the order of same-instant continuations may then vary between
   * runs, so tests keep the default. @default false
   */
  constructor(startMs?: number, options: { readonly simultaneousTogether?: boolean } = {}) {
    super(startMs);
    this.simultaneousTogether = options.simultaneousTogether ?? false;
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
          if (result instanceof Promise) return this.tracked(result);
          // An async generator (a paged query): each page it awaits is I/O in flight.
          if (isAsyncIterator(result)) {
            const pages = result;
            return {
              next: (...next: []) => this.tracked(pages.next(...next)),
              return: (value: unknown) =>
                this.tracked(pages.return?.(value) ?? Promise.resolve({ done: true, value })),
              [Symbol.asyncIterator]() {
                return this;
              },
            };
          }
          return result;
        };
      },
    });
  }

  /** `promise`, counted as I/O in flight until it settles. */
  private tracked<T>(promise: Promise<T>): Promise<T> {
    this.inFlight += 1;
    const done = (): void => this.callSettled();
    promise.then(done, done);
    return promise;
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

  /** Fires the earliest timer, or with `simultaneousTogether` every timer due at that instant. */
  protected override fireNext(): boolean {
    const at = this.nextTimerAt();
    if (at === undefined) return false;
    do super.fireNext();
    while (this.simultaneousTogether && this.nextTimerAt() === at);
    return true;
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
