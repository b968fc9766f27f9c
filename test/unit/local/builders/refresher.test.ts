import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  RefreshOptions,
  RefreshSummary,
  TokenVendor,
} from '../../../../functions/core/token-vendor-api.js';
import { startRefresher } from '../../../../local/builders/refresher.js';

const SUMMARY: RefreshSummary = {
  clients: 2,
  fetched: 1,
  waited: 0,
  valid: 1,
  deferred: 0,
  failed: 0,
  failures: [],
  pools: [],
};

/** A vendor whose sweeps are recorded; each sweep ends once `gate` (if given) resolves. */
const sweepingVendor = (gate?: Promise<void>) => {
  const sweeps: RefreshOptions[] = [];
  const vendor = {
    refreshAll: async (options: RefreshOptions = {}) => {
      sweeps.push(options);
      await gate;
      return SUMMARY;
    },
  } as Pick<TokenVendor, 'refreshAll'> as TokenVendor;
  return { vendor, sweeps };
};

/** A gate a sweep waits at, and whether `refresher.stop()` had resolved before the gate opened. */
async function stopWhileGated(
  refresher: { stop(): Promise<void> },
  release: () => void,
): Promise<{ readonly stoppedWhileRunning: boolean; readonly stopping: Promise<void> }> {
  let stopped = false;
  const stopping = refresher.stop().then(() => {
    stopped = true;
  });
  await vi.advanceTimersByTimeAsync(0);
  const stoppedWhileRunning = stopped;
  release();
  return { stoppedWhileRunning, stopping };
}

describe('startRefresher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps once per interval, with the interval as horizon, and reports each sweep', async () => {
    const { vendor, sweeps } = sweepingVendor();
    const events: string[] = [];
    const refresher = startRefresher({
      vendor,
      intervalMs: 60_000,
      shutdown: new AbortController().signal,
      onEvent: (message) => events.push(message),
    });

    await vi.advanceTimersByTimeAsync(120_000);

    expect(sweeps).toEqual([
      { horizonMs: 60_000, concurrency: 8 },
      { horizonMs: 60_000, concurrency: 8 },
    ]);
    expect(events).toEqual([
      'refresher: 2 client(s), 1 fetched, 0 rotated at expiry, 1 valid, 0 failed',
      'refresher: 2 client(s), 1 fetched, 0 rotated at expiry, 1 valid, 0 failed',
    ]);
    await refresher.stop();
  });

  it('never sweeps on its own with interval 0, while sweep() still runs one', async () => {
    const { vendor, sweeps } = sweepingVendor();
    const refresher = startRefresher({
      vendor,
      intervalMs: 0,
      shutdown: new AbortController().signal,
      onEvent: () => undefined,
    });

    await vi.advanceTimersByTimeAsync(600_000);
    const summary = await refresher.sweep();

    expect(summary).toEqual(SUMMARY);
    expect(sweeps).toEqual([{ horizonMs: 60_000, concurrency: 8 }]);
  });

  it('stop() waits for the running sweep and schedules no other', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { vendor, sweeps } = sweepingVendor(gate);
    const refresher = startRefresher({
      vendor,
      intervalMs: 60_000,
      shutdown: new AbortController().signal,
      onEvent: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(60_000);

    const { stoppedWhileRunning, stopping } = await stopWhileGated(refresher, release);
    await stopping;
    await vi.advanceTimersByTimeAsync(600_000);

    expect(stoppedWhileRunning).toBe(false);
    expect(sweeps).toHaveLength(1);
  });

  it('stop() also waits for a sweep asked for with sweep(), so its outcome is written before the store closes', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { vendor } = sweepingVendor(gate);
    const refresher = startRefresher({
      vendor,
      intervalMs: 0,
      shutdown: new AbortController().signal,
      onEvent: () => undefined,
    });
    const asked = refresher.sweep();

    const { stoppedWhileRunning, stopping } = await stopWhileGated(refresher, release);
    await Promise.all([asked, stopping]);

    expect(stoppedWhileRunning).toBe(false);
  });

  it('does not report a sweep that fails after shutdown began', async () => {
    const shutdown = new AbortController();
    const events: string[] = [];
    const vendor = {
      refreshAll: async () => {
        shutdown.abort();
        throw new Error('store closed');
      },
    } as Pick<TokenVendor, 'refreshAll'> as TokenVendor;
    const refresher = startRefresher({
      vendor,
      intervalMs: 60_000,
      shutdown: shutdown.signal,
      onEvent: (message) => events.push(message),
    });

    await vi.advanceTimersByTimeAsync(60_000);
    await refresher.stop();

    expect(events).toEqual([]);
  });
});
