/** Local mode's refresher: the Lambda refresher's sweep, run in-process on a timer. */
import type { RefreshSummary, TokenVendor } from '../../functions/core/token-vendor-api.js';

/** Sweep horizon when the schedule is off (a sweep asked for by `refreshNow`). */
const DEFAULT_HORIZON_MS = 60_000;
/** Clients refreshed at once in a sweep. */
const SWEEP_CONCURRENCY = 8;

/** A running refresher. */
export interface LocalRefresher {
  /** One sweep now (also what the schedule runs). */
  sweep(): Promise<RefreshSummary>;
  /** Schedules no further sweep; resolves when every sweep running (scheduled or asked for) has ended. */
  stop(): Promise<void>;
}

/** Starts sweeping every `intervalMs` (0: never on its own; `sweep()` still works). */
export function startRefresher(options: {
  readonly vendor: TokenVendor;
  readonly intervalMs: number;
  /** Aborted when local mode stops: a sweep ending then is neither reported as failed nor rescheduled. */
  readonly shutdown: AbortSignal;
  readonly onEvent: (message: string) => void;
}): LocalRefresher {
  const { vendor, intervalMs, shutdown, onEvent } = options;
  let timer: NodeJS.Timeout | undefined;
  /** Sweeps under way, scheduled or asked for: `stop()` waits for all of them to write their outcomes. */
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  const runSweep = async (): Promise<RefreshSummary> => {
    const summary = await vendor.refreshAll({
      horizonMs: intervalMs > 0 ? intervalMs : DEFAULT_HORIZON_MS,
      concurrency: SWEEP_CONCURRENCY,
    });
    onEvent(
      `refresher: ${summary.clients} client(s), ${summary.fetched} fetched, ${summary.waited} rotated at expiry, ${summary.valid} valid, ${summary.failed} failed`,
    );
    return summary;
  };
  const sweep = (): Promise<RefreshSummary> => {
    const swept = runSweep();
    const settled = swept.catch(() => undefined).finally(() => running.delete(settled));
    running.add(settled);
    return swept;
  };
  const schedule = (): void => {
    timer = setTimeout(() => {
      void sweep()
        .catch((error: unknown) => {
          if (!shutdown.aborted) onEvent(`refresher failed: ${(error as Error).name}`);
        })
        .finally(() => {
          if (!shutdown.aborted && !stopped) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  if (intervalMs > 0) schedule();

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(running);
    },
  };
}
