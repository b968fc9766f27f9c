import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './ports.js';

/**
 * The reason a process stopping aborts its shutdown signal with. Work it interrupts (a refresh waiting out
 * a backoff) failed because the process stops, not because of the client: no `lastError` is written for it
 * and a sweep does not count it as failed.
 */
export class ShutdownInterruption extends Error {
  override readonly name = 'ShutdownInterruption';
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(Math.max(0, ms), undefined, { signal }),
};

/**
 * The real clock, whose pending sleeps all end (rejecting with the shutdown's reason) when `shutdown`
 * aborts, so a refresher sweep waiting out an expiry does not hold a process's shutdown hostage.
 *
 * One listener on `shutdown` serves every pending sleep. `shutdown` lives as long as the process, and
 * every caller waiting on a shared refresh has a deadline sleep: one listener per sleep piled 200 of them
 * on that one signal (Node's MaxListenersExceededWarning, issue 13).
 */
export function shutdownAwareClock(shutdown: AbortSignal): Clock {
  const pending = new Set<(reason: unknown) => void>();
  shutdown.addEventListener(
    'abort',
    () => {
      for (const stop of [...pending]) stop(shutdown.reason);
    },
    { once: true },
  );
  return {
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (shutdown.aborted) return reject(shutdown.reason);
        if (signal?.aborted) return reject(signal.reason);
        const settle = (outcome: { readonly error: unknown } | undefined): void => {
          clearTimeout(timer);
          pending.delete(stop);
          signal?.removeEventListener('abort', onCallerAbort);
          if (outcome === undefined) resolve();
          else reject(outcome.error);
        };
        const stop = (reason: unknown): void => settle({ error: reason ?? new Error('aborted') });
        const onCallerAbort = (): void => stop(signal?.reason);
        const timer = setTimeout(() => settle(undefined), Math.max(0, ms));
        pending.add(stop);
        signal?.addEventListener('abort', onCallerAbort, { once: true });
      }),
  };
}
