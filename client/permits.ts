/**
 * The consumer side of the vendor's shared Marketo API budget: ask for a permit before each Marketo call,
 * release it after, back off with jitter when Marketo still answers 606/615 (other integrations share the
 * instance) and report it, fail fast with a typed error on 607. Used by `marketoFetch`, `withToken` and
 * `withInstanceToken` without being asked.
 */
import { isRouteUnavailable, TokenVendorClientError } from './errors.js';
import type { ClientClock, SignedCaller } from './signed-call.js';

/** Marketo's limit errors (HTTP 200 with `success:false`). */
export type MarketoLimitCode = '606' | '607' | '615';
const LIMIT_CODES: ReadonlySet<string> = new Set(['606', '607', '615']);

/** Budget options of the client. */
export interface BudgetOptions {
  /** Ask the vendor for permits. @default true */
  readonly enabled?: boolean;
  /** Longest wait for a permit per Marketo call before throwing `PermitUnavailable`. @default 60_000 */
  readonly maxWaitMs?: number;
  /** The concurrency slot comes back by itself after this if this process dies mid-call. @default 15_000 */
  readonly leaseMs?: number;
  /** Retries of a call Marketo answered with 606/615 anyway. @default 4 */
  readonly limitRetries?: number;
  /** Called for every budget event (waits, Marketo limit errors, fail-open), e.g. to log or count them. */
  readonly onEvent?: (event: BudgetEvent) => void;
}

export type BudgetEvent =
  | { readonly kind: 'waited'; readonly ms: number }
  | { readonly kind: 'marketo-limit'; readonly code: MarketoLimitCode; readonly retryInMs?: number }
  | { readonly kind: 'unmetered'; readonly reason: string };

/** Where permits are taken: a client's instance, or a pool's. */
export type PermitTarget = { readonly clientId: string } | { readonly instance: string };

interface HeldPermit {
  readonly permitId: string;
  readonly basePath: string;
  readonly unmetered: boolean;
  /** This machine's epoch ms by which the call must be sent (the vendor counts the slot from the grant). */
  readonly useBy: number;
}

/** Counters of what the budget did for this client (for reports and tests). */
export interface BudgetStats {
  permits: number;
  waits: number;
  waitedMs: number;
  vendorCalls: number;
  marketo606: number;
  marketo615: number;
  marketo607: number;
  unmetered: number;
  /** Permits that arrived too late to use (their slot was spent; a new one was asked for). */
  expired: number;
}

/** Longest wait asked of the vendor per request (it holds the request while a slot frees). */
const SERVER_WAIT_MS = 10_000;
/** A released permit waits this long for the caller's next acquire to carry its release (one request less). */
const RELEASE_LINGER_MS = 25;
/** Permits given back because preparing the call (fetching the token) outlasted them, before going on anyway. */
const LATE_PREPARE_LIMIT = 2;

/** The Marketo limit code carried by a value: an error with `code`, or a body `{success:false, errors:[…]}`. */
export function marketoLimitCode(value: unknown): MarketoLimitCode | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  if ((typeof code === 'string' || typeof code === 'number') && LIMIT_CODES.has(String(code))) {
    return String(code) as MarketoLimitCode;
  }
  const errors = (value as { errors?: unknown }).errors;
  if ((value as { success?: unknown }).success === false && Array.isArray(errors)) {
    for (const entry of errors as Array<{ code?: unknown }>) {
      if (LIMIT_CODES.has(String(entry?.code))) return String(entry?.code) as MarketoLimitCode;
    }
  }
  return undefined;
}

/** The limit code of a Marketo HTTP response (read from a clone; the caller's body stays unread). */
export async function responseLimitCode(response: Response): Promise<MarketoLimitCode | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    return marketoLimitCode(await response.clone().json());
  } catch {
    return undefined;
  }
}

const dailyQuotaError = (message: string): TokenVendorClientError =>
  new TokenVendorClientError('DailyQuotaExhausted', message, { status: 429 });

/** The permit machinery of one token client. */
export function createPermits(options: {
  readonly call: SignedCaller;
  readonly clock: ClientClock;
  readonly budget?: BudgetOptions | false;
  readonly random?: () => number;
}) {
  const settings = options.budget === false ? { enabled: false } : (options.budget ?? {});
  const enabled = settings.enabled ?? true;
  const maxWaitMs = settings.maxWaitMs ?? 60_000;
  const limitRetries = settings.limitRetries ?? 4;
  const { clock, call } = options;
  const random = options.random ?? Math.random;
  const stats: BudgetStats = {
    permits: 0,
    waits: 0,
    waitedMs: 0,
    vendorCalls: 0,
    marketo606: 0,
    marketo615: 0,
    marketo607: 0,
    unmetered: 0,
    expired: 0,
  };
  /** Per target: until when (epoch ms) the daily quota is known to be used up; calls fail at once. */
  const exhaustedUntil = new Map<string, { readonly until: number; readonly message: string }>();
  const rememberExhausted = (basePath: string, error: TokenVendorClientError): void => {
    // Remembered for at most a minute, so an operator raising the quota is seen soon.
    const forMs = Math.min(60_000, (error.retryAfterSeconds ?? 60) * 1000);
    exhaustedUntil.set(basePath, { until: clock.now() + forMs, message: error.message });
  };
  const emit = (event: BudgetEvent): void => settings.onEvent?.(event);
  /** Releases waiting to ride on the next acquire of the same target. */
  const lingering = new Map<string, Array<{ permitId: string; timer: ReturnType<typeof setTimeout> }>>();
  /** After the vendor answered that permits do not exist for us (old deployment, no grant), stop asking. */
  let unavailable = false;

  const basePathOf = (target: PermitTarget): string =>
    'clientId' in target ? `/tokens/${target.clientId}/permits` : `/instances/${target.instance}/permits`;

  /** Releases on their way, for `close()` to wait for. */
  const sending = new Set<Promise<unknown>>();

  const sendRelease = (basePath: string, permitId: string, marketoError?: MarketoLimitCode): void => {
    stats.vendorCalls += 1;
    const sent = call({
      method: 'POST',
      path: `${basePath}/release`,
      query: {},
      body: { permitId, ...(marketoError === undefined ? {} : { marketoError }) },
      retryBudgetMs: 0,
    })
      .catch(() => {
        // The lease lapses by itself: a lost release only holds the slot until then.
      })
      .finally(() => sending.delete(sent));
    sending.add(sent);
  };

  /** Sends every release still lingering, now, and waits for those on their way: a finished job holds no slot. */
  const close = async (): Promise<void> => {
    for (const [basePath, queue] of lingering) {
      for (const entry of queue.splice(0)) {
        clearTimeout(entry.timer);
        sendRelease(basePath, entry.permitId);
      }
    }
    await Promise.all(sending);
  };

  const acquire = async (target: PermitTarget): Promise<HeldPermit> => {
    const basePath = basePathOf(target);
    const unmeteredPermit = {
      permitId: 'unmetered',
      basePath,
      unmetered: true,
      useBy: Number.POSITIVE_INFINITY,
    };
    if (!enabled || unavailable) return unmeteredPermit;
    const known = exhaustedUntil.get(basePath);
    if (known && clock.now() < known.until) throw dailyQuotaError(known.message);
    const started = clock.now();
    for (;;) {
      const riding = lingering.get(basePath)?.shift();
      if (riding) clearTimeout(riding.timer);
      const waitLeft = Math.max(0, maxWaitMs - (clock.now() - started));
      stats.vendorCalls += 1;
      try {
        const { body: answer, sentAt } = await call({
          method: 'POST',
          path: basePath,
          query: {},
          body: {
            maxWaitMs: Math.min(SERVER_WAIT_MS, waitLeft),
            ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
            ...(riding ? { release: riding.permitId } : {}),
          },
          retryBudgetMs: 0,
        });
        const body = answer as
          | { permitId?: unknown; unmetered?: unknown; waitedMs?: unknown; useByMs?: unknown }
          | undefined;
        if (typeof body?.permitId !== 'string') {
          // Not a permit API (a proxy, an old deployment answering something else): go on unmetered.
          unavailable = true;
          stats.unmetered += 1;
          emit({ kind: 'unmetered', reason: 'BadResponse' });
          return unmeteredPermit;
        }
        stats.permits += 1;
        const waited = clock.now() - started;
        if (waited > 0 && typeof body.waitedMs === 'number' && body.waitedMs > 0) {
          stats.waits += 1;
          stats.waitedMs += waited;
          emit({ kind: 'waited', ms: waited });
        }
        if (body.unmetered === true) stats.unmetered += 1;
        // Counted from when the request left plus the time the vendor says it waited before granting (both
        // before the grant), so a slow answer can only shorten it.
        const waitedMs = typeof body.waitedMs === 'number' && body.waitedMs > 0 ? body.waitedMs : 0;
        const useBy = sentAt + waitedMs + (typeof body.useByMs === 'number' ? body.useByMs : 500);
        return { permitId: body.permitId, basePath, unmetered: body.unmetered === true, useBy };
      } catch (error) {
        // The release this request carried may not have been written: send it on its own (idempotent).
        if (riding) sendRelease(basePath, riding.permitId);
        if (!(error instanceof TokenVendorClientError)) throw error;
        if (error.code === 'DailyQuotaExhausted') {
          rememberExhausted(basePath, error);
          throw error;
        }
        if (error.code === 'PermitUnavailable') {
          const pauseMs =
            (error.retryAfterMs ?? (error.retryAfterSeconds ?? 1) * 1000) + Math.floor(random() * 100);
          if (clock.now() + pauseMs - started > maxWaitMs) throw error;
          stats.waits += 1;
          stats.waitedMs += pauseMs;
          emit({ kind: 'waited', ms: pauseMs });
          await clock.sleep(pauseMs);
          continue;
        }
        // The vendor has no permit route for us (an older deployment, or no grant on it) or cannot be
        // reached: Marketo still enforces its limits, so go on unmetered rather than fail the call.
        if (isRouteUnavailable(error)) unavailable = true;
        stats.unmetered += 1;
        emit({ kind: 'unmetered', reason: error.code });
        return unmeteredPermit;
      }
    }
  };

  const release = (permit: HeldPermit, marketoError?: MarketoLimitCode): void => {
    if (permit.unmetered) return;
    if (marketoError !== undefined) {
      sendRelease(permit.basePath, permit.permitId, marketoError);
      return;
    }
    // Linger briefly: a sequential consumer's next acquire carries the release in the same request.
    const queue = lingering.get(permit.basePath) ?? [];
    lingering.set(permit.basePath, queue);
    const entry = {
      permitId: permit.permitId,
      timer: setTimeout(() => {
        const index = queue.indexOf(entry);
        if (index >= 0) queue.splice(index, 1);
        sendRelease(permit.basePath, permit.permitId);
      }, RELEASE_LINGER_MS),
    };
    entry.timer.unref?.();
    queue.push(entry);
  };

  /**
   * A permit that can still be used, and what `prepare` made under it (the token). The permit comes first,
   * so a token with a second left cannot go stale while the permit is waited for. A permit that is past its
   * use-by time (it arrived late, or `prepare` took long) would put the call outside the window the vendor
   * counted it in: it is given back (its slot is spent, the limit stays safe) and another is asked for.
   * After {@link LATE_PREPARE_LIMIT} late preparations the call goes on with the last one: Marketo still
   * enforces its limits, and a 606 is backed off from.
   */
  const acquireAndPrepare = async <P>(
    target: PermitTarget,
    prepare: () => Promise<P>,
  ): Promise<{ readonly permit: HeldPermit; readonly prepared: P }> => {
    for (let late = 0; ; late += 1) {
      let permit = await acquire(target);
      while (clock.now() > permit.useBy) {
        stats.expired += 1;
        release(permit);
        permit = await acquire(target);
      }
      let prepared: P;
      try {
        prepared = await prepare();
      } catch (error) {
        release(permit);
        throw error;
      }
      if (clock.now() <= permit.useBy || late >= LATE_PREPARE_LIMIT) return { permit, prepared };
      stats.expired += 1;
      release(permit);
    }
  };

  /**
   * Runs one Marketo call under a permit: permit, then `prepare` (the token), then `attempt`. `limitOf`
   * reads the call's outcome: 606/615 are backed off with jitter and retried (up to `limitRetries`, each
   * under a new permit and a new `prepare`) and reported; 607 throws `DailyQuotaExhausted` at once.
   */
  const run = async <P, T>(
    target: PermitTarget,
    prepare: () => Promise<P>,
    attempt: (prepared: P) => Promise<T>,
    limitOf: (outcome: {
      readonly value?: T;
      readonly error?: unknown;
    }) => Promise<MarketoLimitCode | undefined>,
  ): Promise<T> => {
    for (let retry = 0; ; retry += 1) {
      const { permit, prepared } = await acquireAndPrepare(target, prepare);
      let value: T | undefined;
      let failure: { error: unknown } | undefined;
      try {
        value = await attempt(prepared);
      } catch (error) {
        failure = { error };
      }
      const code = await limitOf(failure ? { error: failure.error } : { value: value as T });
      release(permit, code);
      if (code === undefined) {
        if (failure) throw failure.error;
        return value as T;
      }
      stats[`marketo${code}`] += 1;
      if (code === '607') {
        emit({ kind: 'marketo-limit', code });
        const error = dailyQuotaError("Marketo answered 607: the instance's daily API quota is used up");
        rememberExhausted(permit.basePath, error);
        throw error;
      }
      if (retry >= limitRetries) {
        emit({ kind: 'marketo-limit', code });
        if (failure) throw failure.error;
        return value as T;
      }
      // Exponential backoff with full jitter: 606 waits for the rolling window, 615 for a slot.
      const baseMs = code === '606' ? 2_000 : 250;
      const pauseMs = Math.floor(random() * baseMs * 2 ** retry) + 50;
      emit({ kind: 'marketo-limit', code, retryInMs: pauseMs });
      await clock.sleep(pauseMs);
    }
  };

  return { acquire, release, run, close, stats: (): Readonly<BudgetStats> => ({ ...stats }) };
}

export type Permits = ReturnType<typeof createPermits>;
