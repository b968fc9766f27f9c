import { FakeClock } from './fake-clock.js';

const flushMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * Virtual time for worlds with real I/O (loopback sockets, dynalite). Time never moves while a tracked
 * port call is in flight: it jumps to the next timer only once every tracked call has settled and the
 * continuations have run. So a test sees the same order of events on an idle laptop and on a CI
 * machine ten times slower: the machine's speed changes how long a run takes, never what it sees.
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
  async quiescent(): Promise<void> {
    for (;;) {
      await flushMicrotasks();
      if (this.inFlight === 0) return;
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
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

  /** Runs the world until `promise` settles, jumping to the next timer only when no I/O is in flight. */
  async run<T>(promise: Promise<T>, maxJumps = 100_000): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    for (let jumps = 0; jumps < maxJumps; jumps += 1) {
      await flushMicrotasks();
      while (!done && this.inFlight > 0) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        await flushMicrotasks();
      }
      if (done) return tracked;
      if (!this.fireNext())
        throw new Error('VirtualClock.run: nothing left to run but the promise is pending');
    }
    throw new Error('VirtualClock.run: too many timer jumps');
  }

  private callSettled(): void {
    this.inFlight -= 1;
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const wake of waiters) wake();
  }
}
