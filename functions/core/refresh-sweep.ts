/** The refresher's sweep: fetch missing tokens, wait out and replace expiring ones, keep pools staggered. */
import pLimit from 'p-limit';
import { ShutdownInterruption } from './clock.js';
import { rejectedCredentialsBackoff } from './credentials-backoff.js';
import { CredentialsRejectedError, TokenVendorError, UnknownClientError } from './errors.js';
import { groupByInstance, guaranteedRemainingMs, staggerDelayMs } from './pool.js';
import type { LastError, StoredToken } from './ports.js';
import type { SingleFlight } from './single-flight.js';
import { itemExpiryEpochSeconds, readRecord } from './store-access.js';
import { isUnexpired, successorDueAt } from './token-life.js';
import type { PoolStatus, RefreshOptions, RefreshSummary } from './token-vendor-api.js';
import type { VendorState } from './vendor-state.js';

export async function refreshAll(
  state: VendorState,
  singleFlight: SingleFlight,
  options?: RefreshOptions,
): Promise<RefreshSummary> {
  const { clock, config, logger, metrics } = state;
  const horizonMs = options?.horizonMs ?? 60_000;
  const limit = pLimit(options?.concurrency ?? 8);
  const sweepStart = clock.now();
  const lifespanMs = config.tokenLifespanSeconds * 1000;
  const clients = options?.clients ?? (await state.credentials.list());
  const pools = groupByInstance(clients);
  const counts = { fetched: 0, waited: 0, valid: 0, deferred: 0 };
  const failures: Array<{ clientId: string; code: string }> = [];
  const expiries = new Map<string, number>();
  /** Moves the client's refresh index entry (best effort: the next run finds a missed one overdue). */
  const schedule = async (clientId: string, refreshAt: number | undefined): Promise<void> => {
    try {
      await state.store.scheduleRefresh(clientId, refreshAt, itemExpiryEpochSeconds(state));
    } catch (error) {
      logger.warn('refresh index entry not updated', {
        clientId,
        reason: error instanceof Error ? error.name : 'unknown error',
      });
    }
  };
  const fail = async (clientId: string, error: unknown): Promise<void> => {
    // The process is stopping: not the client's failure.
    if (error instanceof ShutdownInterruption) return;
    const code = error instanceof TokenVendorError ? error.code : 'InternalError';
    failures.push({ clientId, code });
    // Rejected credentials are reported per client (its own alarm names it), not as a RefreshFailed.
    if (code === 'CredentialsRejected') metrics.record('ClientCredentialsRejected', 1, 'Count', { clientId });
    else metrics.record('RefreshFailed', 1, 'Count');
    logger.warn('refresh failed', { clientId, code });
    // No longer registered: out of the refresh index, or every run would queue it again.
    if (error instanceof UnknownClientError) await schedule(clientId, undefined);
  };

  // Phase 1: every client's current token (pool decisions need the other members' expiries).
  const tokens = new Map<string, StoredToken | undefined>();
  const indexed = new Set<string>();
  const lastErrors = new Map<string, LastError>();
  const changedAt = new Map(
    clients.flatMap((c) => (c.changedAt === undefined ? [] : [[c.clientId, c.changedAt]])),
  );
  await Promise.all(
    clients.map(({ clientId }) =>
      limit(async () => {
        try {
          const record = await readRecord(state, clientId);
          const token = record?.token;
          tokens.set(clientId, token);
          if (record?.lastError) lastErrors.set(clientId, record.lastError);
          if (token) expiries.set(clientId, token.expiresAt);
          if (record?.refreshAt !== undefined) indexed.add(clientId);
        } catch (error) {
          await fail(clientId, error);
        }
      }),
    ),
  );

  // Phase 2: each client waits for its own expiry outside the limiter, so waiting never blocks fetching.
  const refreshOne = async (clientId: string, pool?: readonly string[]): Promise<void> => {
    if (!tokens.has(clientId)) return;
    const token = tokens.get(clientId);
    const backoff = rejectedCredentialsBackoff({
      lastError: lastErrors.get(clientId),
      secretChangedAt: changedAt.get(clientId),
      now: clock.now(),
      cooldownMs: config.rejectedCredentialsCooldownMs,
    });
    if (backoff) {
      logger.info('refresh skipped: Identity rejected the credentials, retried when the secret changes', {
        clientId,
        retryAt: new Date(backoff.until).toISOString(),
      });
      await fail(clientId, new CredentialsRejectedError('Identity rejected the credentials; backing off'));
      return;
    }
    try {
      let outcome: 'fetched' | 'waited' = 'fetched';
      if (token && isUnexpired(state, token) && token.expiresAt >= sweepStart + horizonMs) {
        counts.valid += 1;
        // A token stored before the refresh index existed: index it, so runs find it when it is due.
        if (!indexed.has(clientId)) await schedule(clientId, successorDueAt(state, token));
        return;
      }
      // Expired by its conservative expiry but not yet due: Identity may still hold it, so wait for the due
      // instant (one round trip and the slack later), or the call would only bring it back.
      if (token && successorDueAt(state, token) > clock.now()) {
        await clock.sleep(successorDueAt(state, token) - clock.now());
        outcome = 'waited';
      }
      if (pool) {
        const others = pool.filter((id) => id !== clientId).flatMap((id) => expiries.get(id) ?? []);
        const delayMs = staggerDelayMs(clock.now(), lifespanMs, others, pool.length);
        if (delayMs > 0 && clock.now() + delayMs > sweepStart + horizonMs) {
          counts.deferred += 1;
          logger.info('pool member deferred to keep expiries staggered', { clientId, delayMs });
          // A later run fetches it: the index says when.
          await schedule(clientId, clock.now() + delayMs);
          return;
        }
        if (delayMs > 0) await clock.sleep(delayMs);
      }
      const refreshed = await limit(() =>
        singleFlight(clientId, token?.accessToken, clock.now() + state.refreshBudgetMs),
      );
      expiries.set(clientId, refreshed.token.expiresAt);
      counts[outcome] += 1;
      metrics.record(outcome === 'fetched' ? 'RefreshFetched' : 'RefreshWaited', 1, 'Count');
    } catch (error) {
      await fail(clientId, error);
    }
  };
  const byNeed = (a: string, b: string): number =>
    (tokens.get(a)?.expiresAt ?? 0) - (tokens.get(b)?.expiresAt ?? 0);
  await Promise.all([
    ...clients.filter((c) => c.instance === undefined).map((c) => refreshOne(c.clientId)),
    // Pool members decide one after another, soonest need first, each seeing the others' new expiries.
    ...[...pools.values()].map(async (members) => {
      for (const clientId of [...members].sort(byNeed)) await refreshOne(clientId, members);
    }),
  ]);

  const now = clock.now();
  const poolStatus: PoolStatus[] = [...pools.entries()].map(([instance, members]) => {
    const live = members.flatMap((id) => {
      const expiresAt = expiries.get(id);
      return expiresAt !== undefined && expiresAt > now ? [expiresAt] : [];
    });
    const guaranteedMinRemainingSeconds = Math.floor(guaranteedRemainingMs(live, lifespanMs) / 1000);
    metrics.record('PoolGuaranteedRemainingSeconds', guaranteedMinRemainingSeconds, 'Seconds');
    return { instance, members: members.length, liveMembers: live.length, guaranteedMinRemainingSeconds };
  });
  const summary: RefreshSummary = {
    clients: clients.length,
    ...counts,
    failed: failures.length,
    failures: failures.sort((a, b) => a.clientId.localeCompare(b.clientId)),
    pools: poolStatus,
  };
  logger.info('refresh summary', { ...summary, failures: summary.failures.slice(0, 50) });
  return summary;
}
