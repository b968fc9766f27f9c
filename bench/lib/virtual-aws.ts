/**
 * AWS behaviour the virtual-clock benchmarks model in process: round-trip latencies of the ports, an SQS
 * queue (delays, visibility timeout, redrive, retention), Lambda's SQS event source mapping (at most
 * `maxConcurrency` invocations at once, up to `batchSize` messages each) and Lambda's billing. Time is
 * the {@link VirtualClock}'s: I/O on loopback takes no virtual time, so latencies are added as sleeps
 * before each call, outside the clock's tracking (a tracked call that sleeps would stop time).
 */
import type { Clock } from '../../functions/core/ports.js';
import type { SqsStubEntry } from '../../testing/sqs-stub.js';

/**
 * `port` with `latencyMs` of virtual time before every call of its methods (or only of `methods`), outside
 * any tracking.
 */
export function withLatency<T extends object>(
  clock: Clock,
  port: T,
  latencyMs: number,
  methods?: readonly string[],
): T {
  if (latencyMs <= 0) return port;
  return new Proxy(port, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || (methods && !methods.includes(String(key)))) return value;
      return async (...args: unknown[]): Promise<unknown> => {
        await clock.sleep(latencyMs);
        return value.apply(target, args);
      };
    },
  });
}

/** One message in the modelled queue. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
}

/** Settings of {@link VirtualQueue}, as the construct configures the queue. */
export interface VirtualQueueOptions {
  readonly visibilityTimeoutMs: number;
  readonly retentionMs: number;
  /** Receives after which a failed message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
}

/** A standard SQS queue on virtual time: messages become visible after their delay, in sending order. */
export class VirtualQueue {
  readonly #messages: QueuedMessage[] = [];
  #ingested = 0;
  #ids = 0;
  /** Messages moved to the dead-letter queue. */
  deadLettered = 0;
  /** Messages dropped at the end of the retention period, never processed. */
  expired = 0;

  constructor(
    private readonly clock: Clock,
    readonly options: VirtualQueueOptions,
  ) {}

  /** Takes in the entries the SQS stub received since the last call. */
  ingest(entries: readonly SqsStubEntry[]): void {
    for (; this.#ingested < entries.length; this.#ingested += 1) {
      const entry = entries[this.#ingested] as SqsStubEntry;
      this.#ids += 1;
      this.#messages.push({
        messageId: `m-${this.#ids}`,
        body: entry.body,
        sentAt: entry.sentAt,
        visibleAt: entry.sentAt + entry.delaySeconds * 1000,
        receiveCount: 0,
      });
    }
  }

  /** Messages not yet deleted (visible, delayed or in flight). */
  get depth(): number {
    return this.#messages.length;
  }

  /** Drops messages past their retention period. */
  #expire(now: number): void {
    for (let i = this.#messages.length - 1; i >= 0; i -= 1) {
      if (now - (this.#messages[i] as QueuedMessage).sentAt >= this.options.retentionMs) {
        this.#messages.splice(i, 1);
        this.expired += 1;
      }
    }
  }

  /** Up to `max` visible messages, oldest visibility first; they stay invisible for the visibility timeout. */
  receive(max: number): QueuedMessage[] {
    const now = this.clock.now();
    this.#expire(now);
    const visible = this.#messages
      .filter((m) => m.visibleAt <= now)
      .sort((a, b) => a.visibleAt - b.visibleAt)
      .slice(0, max);
    for (const m of visible) {
      m.receiveCount += 1;
      m.visibleAt = now + this.options.visibilityTimeoutMs;
    }
    return visible;
  }

  /** When the next message becomes visible, if any. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.#messages) if (next === undefined || m.visibleAt < next) next = m.visibleAt;
    return next;
  }

  /** A processed message: deleted. */
  delete(message: QueuedMessage): void {
    const index = this.#messages.indexOf(message);
    if (index >= 0) this.#messages.splice(index, 1);
  }

  /** A failed message: visible again after its visibility timeout, or dead-lettered after the last receive. */
  fail(message: QueuedMessage): void {
    if (message.receiveCount >= this.options.maxReceiveCount) {
      this.delete(message);
      this.deadLettered += 1;
    }
  }

  /** Age of the oldest message that is not delayed (SQS's `ApproximateAgeOfOldestMessage`, roughly). */
  oldestAgeMs(): number {
    const now = this.clock.now();
    let oldest = 0;
    for (const m of this.#messages) if (m.visibleAt <= now) oldest = Math.max(oldest, now - m.sentAt);
    return oldest;
  }
}

/** One Lambda invocation as billed. */
export interface Invocation {
  readonly fn: string;
  readonly startedAt: number;
  endedAt?: number;
}

/** Counts invocations and their billed duration (1 ms granularity) per function, on virtual time. */
export class LambdaMeter {
  readonly invocations: Invocation[] = [];

  constructor(private readonly clock: Clock) {}

  /** Runs `work` as one invocation of `fn`. */
  async invoke<T>(fn: string, work: () => Promise<T>): Promise<T> {
    const invocation: Invocation = { fn, startedAt: this.clock.now() };
    this.invocations.push(invocation);
    try {
      return await work();
    } finally {
      invocation.endedAt = this.clock.now();
    }
  }

  /**
   * Invocations of `fn` started in [from, to), their billed milliseconds (unfinished ones up to `to`) and
   * the longest one.
   */
  between(
    fn: string,
    from: number,
    to: number,
  ): { readonly count: number; readonly billedMs: number; readonly longestMs: number } {
    let count = 0;
    let billedMs = 0;
    let longestMs = 0;
    for (const i of this.invocations) {
      if (i.fn !== fn || i.startedAt < from || i.startedAt >= to) continue;
      const billed = Math.max(1, Math.ceil((i.endedAt ?? to) - i.startedAt));
      count += 1;
      billedMs += billed;
      longestMs = Math.max(longestMs, billed);
    }
    return { count, billedMs, longestMs };
  }
}

/** The event source mapping's settings, as the construct sets them. */
export interface MappingOptions {
  /** Invocations at once (`maxConcurrency`). */
  readonly maxConcurrency: number;
  /** Messages per invocation. */
  readonly batchSize: number;
  /** From a message becoming visible to its invocation starting (poll, invoke). @default 0 */
  readonly deliveryLatencyMs?: number;
}

/**
 * Lambda's SQS poller: whenever a slot is free and messages are visible, invokes `handle` (in a free
 * environment) with up to `batchSize` of them; deletes what succeeded and lets the failed ones come back.
 * `poke()` after sending messages (the poller then looks at once, as a long poll returns at once).
 */
export class EventSourceMapping {
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly queue: VirtualQueue,
    private readonly options: MappingOptions,
    /** Moves newly sent messages into the queue (from the SQS stub). */
    private readonly pull: () => void,
    private readonly handle: (
      environment: number,
      messages: readonly QueuedMessage[],
    ) => Promise<{ readonly failedIds: readonly string[] }>,
  ) {}

  /** New messages may be there: look now. */
  poke(): void {
    this.#wake?.();
  }

  /** Stops delivering; {@link run} returns once the invocations in flight are done. */
  stop(): void {
    this.#stopped = true;
    this.poke();
  }

  async run(): Promise<void> {
    const { clock, queue, options } = this;
    const free = Array.from({ length: options.maxConcurrency }, (_, i) => i);
    let running = 0;
    for (;;) {
      this.pull();
      while (free.length > 0 && !this.#stopped) {
        const messages = queue.receive(options.batchSize);
        if (messages.length === 0) break;
        const environment = free.shift() as number;
        running += 1;
        void (async () => {
          if (options.deliveryLatencyMs) await clock.sleep(options.deliveryLatencyMs);
          let failedIds: readonly string[] = messages.map((m) => m.messageId);
          try {
            ({ failedIds } = await this.handle(environment, messages));
          } catch {
            // The whole batch failed: every message comes back.
          }
          for (const m of messages) {
            if (failedIds.includes(m.messageId)) queue.fail(m);
            else queue.delete(m);
          }
          running -= 1;
          free.push(environment);
          this.poke();
        })();
      }
      if (this.#stopped && running === 0) return;
      const abort = new AbortController();
      // Woken by a finished invocation or a poke; with a free slot, also by the next message becoming visible.
      const next = free.length > 0 ? queue.nextVisibleAt() : undefined;
      const waitMs = next === undefined ? 60_000 : Math.max(1, next - clock.now());
      await Promise.race([
        clock.sleep(waitMs, abort.signal).catch(() => {}),
        new Promise<void>((resolve) => {
          this.#wake = resolve;
        }),
      ]);
      this.#wake = undefined;
      abort.abort();
    }
  }
}
