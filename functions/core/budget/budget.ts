import { randomUUID } from 'node:crypto';
import { type InstanceLimits, nextQuotaReset } from '../../contract/index.js';
import { InvalidRequestError, StoreUnavailableError } from '../errors.js';
import {
  type BudgetConfig,
  type BudgetContext,
  type BudgetDeps,
  type BudgetStatus,
  DEFAULT_BUDGET_CONFIG,
  type InstanceBudget,
  type Permit,
  type PermitRequest,
} from './budget-api.js';
import { DailyQuotaExhaustedError, PermitUnavailableError } from './errors.js';
import { holderClient, leaseKey, type PermitHolder } from './holder.js';
import { type EffectiveLimits, effectiveLimits, resolveLimits } from './limits.js';
import { createMarketoReports } from './marketo-reports.js';
import type { BudgetMetrics } from './ports.js';
import {
  type BudgetState,
  claimScheduled,
  type Decision,
  decide,
  emptyState,
  type PermitAsk,
  prune,
  usageOf,
} from './state.js';

const UNMETERED = 'unmetered';
/** Waiters wake on a grid of this many ms (see `wakeOffsetMs`). */
const WAKE_GRID_MS = 50;

interface Pending {
  readonly ask: PermitAsk;
  readonly holder?: PermitHolder;
  /** Its rate slot was scheduled (pacing): at its instant, only the concurrency slot is left to claim. */
  readonly scheduled?: { readonly at: number; readonly count: number };
  readonly maxWaitMs: number;
  readonly started: number;
  readonly waited: boolean;
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: unknown) => void;
}
/** Items outlive the quota day they count; DynamoDB TTL removes idle instances. */
const ITEM_LIFETIME_SECONDS = 2 * 86_400;
const MAX_COUNT = 10;

/** The shared per-instance budget: decisions in `state.ts`, consistency by compare-and-swap on the store. */
export function createInstanceBudget(
  deps: BudgetDeps,
  overrides: Partial<BudgetConfig> = {},
): InstanceBudget {
  const config: BudgetConfig = { ...DEFAULT_BUDGET_CONFIG, ...overrides };
  const { store, clock } = deps;
  const random = deps.random ?? Math.random;
  const newPermitId = deps.newPermitId ?? randomUUID;
  const metric = (
    name: Parameters<BudgetMetrics['record']>[0],
    value = 1,
    unit: 'Count' | 'Percent' = 'Count',
  ) => deps.metrics?.record(name, value, unit);
  const wakeOffsetMs = Math.floor(random() * WAKE_GRID_MS);
  const expireAt = () => Math.ceil(clock.now() / 1000) + ITEM_LIFETIME_SECONDS;

  const limitsOf = (instance: string, state: BudgetState | undefined): InstanceLimits =>
    resolveLimits(
      state?.limits ?? {},
      resolveLimits(config.limits[instance] ?? {}, resolveLimits(config.limits.default ?? {})),
    );

  const storeFailed = (error: unknown, instance: string, now: number, waitedMs: number): Permit => {
    metric('BudgetStoreErrors');
    deps.logger?.warn('budget store unavailable', {
      instance,
      mode: config.onStoreFailure,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    if (config.onStoreFailure === 'closed') {
      throw new StoreUnavailableError('the API budget store is unavailable; retry shortly', {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
    metric('PermitsUnmetered');
    return unmetered(instance, now, waitedMs);
  };

  const unmetered = (instance: string, now: number, waitedMs: number): Permit => ({
    permitId: UNMETERED,
    instance,
    count: 1,
    useByMs: config.timing.permitUseByMs,
    unmetered: true,
    waitedMs,
    resetsAt: nextQuotaReset(now),
  });

  const validate = (request: PermitRequest) => {
    const count = request.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      throw new InvalidRequestError(`count must be a whole number from 1 to ${MAX_COUNT}`);
    }
    const leaseMs = request.leaseMs ?? config.defaultLeaseMs;
    if (!Number.isInteger(leaseMs) || leaseMs < 1_000 || leaseMs > config.maxLeaseMs) {
      throw new InvalidRequestError(`leaseMs must be a whole number from 1000 to ${config.maxLeaseMs}`);
    }
    const maxWaitMs = request.maxWaitMs ?? 0;
    if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > config.maxWaitMs) {
      throw new InvalidRequestError(`maxWaitMs must be a whole number from 0 to ${config.maxWaitMs}`);
    }
    return { count, leaseMs, maxWaitMs, concurrency: request.concurrency ?? true };
  };

  /**
   * Concurrent acquires for one instance inside this process are served in rounds: one read, the decisions
   * for every waiting ask applied in turn, one conditional write. Contention on the item is then between
   * vendor instances (Lambdas), not between their requests.
   */
  const queues = new Map<string, { pending: Pending[]; running: boolean }>();

  const enqueue = (instance: string, pending: Pending): void => {
    let queue = queues.get(instance);
    if (!queue) {
      queue = { pending: [], running: false };
      queues.set(instance, queue);
    }
    queue.pending.push(pending);
    if (!queue.running) void drain(instance, queue);
  };

  const drain = async (instance: string, queue: { pending: Pending[]; running: boolean }): Promise<void> => {
    queue.running = true;
    try {
      while (queue.pending.length > 0) {
        const batch = queue.pending.splice(0);
        // A round that fails unexpectedly (a bad stored override) answers its batch rather than leaving it hanging.
        await round(instance, batch).catch((error: unknown) => {
          for (const p of batch) p.reject(error);
        });
      }
    } finally {
      queue.running = false;
      if (queue.pending.length === 0) queues.delete(instance);
    }
  };

  const round = async (instance: string, batch: Pending[]): Promise<void> => {
    let conflicts = 0;
    for (;;) {
      const now = clock.now();
      let stored: BudgetState | undefined;
      try {
        stored = await store.get(instance);
      } catch (error) {
        for (const p of batch) settleStoreFailure(p, error, instance, now);
        return;
      }
      const limits = limitsOf(instance, stored);
      if (!limits.enabled) {
        for (const p of batch) p.resolve(unmetered(instance, now, now - p.started));
        return;
      }
      const effective = effectiveLimits(limits);
      const base = stored?.version ?? 0;
      let state = stored ?? emptyState(instance, now);
      let changed = false;
      const decisions: Array<{
        readonly pending: Pending;
        readonly permitId: string;
        readonly decision: Decision;
      }> = [];
      for (const pending of batch) {
        const permitId = newPermitId();
        const key = leaseKey(permitId, pending.holder);
        const decision = pending.scheduled
          ? claimScheduled(
              state,
              { ...pending.ask, count: pending.scheduled.count },
              key,
              effective,
              config.timing,
              now,
            )
          : decide(
              state,
              { ...pending.ask, scheduleWithinMs: pending.maxWaitMs - (now - pending.started) },
              key,
              effective,
              config.timing,
              now,
            );
        if (decision.next) {
          state = decision.next;
          changed = true;
        }
        decisions.push({ pending, permitId, decision });
      }
      if (changed) {
        let saved: boolean;
        try {
          saved = await store.save({ ...state, version: base + 1 }, base, expireAt());
        } catch (error) {
          for (const p of batch) settleStoreFailure(p, error, instance, now);
          return;
        }
        if (!saved) {
          conflicts += 1;
          metric('PermitConflicts');
          if (conflicts >= config.maxConflicts) {
            for (const p of batch) {
              metric('PermitsRefused');
              p.reject(new PermitUnavailableError('contention', 50 + Math.floor(random() * 200)));
            }
            return;
          }
          // Another vendor instance wrote first: read again, after a random pause that grows while it keeps
          // happening (the others are deciding the same moment).
          if (conflicts > 1) await clock.sleep(Math.floor(random() * Math.min(200, 5 * 2 ** conflicts)));
          continue;
        }
      }
      const resetsAt = nextQuotaReset(now);
      for (const { pending, permitId, decision } of decisions) {
        // The release (if any) is written: a waiter that comes back must not release again.
        const ask: PermitAsk = { ...pending.ask, release: undefined };
        const granted = (
          count: number,
          leaseUntil: number | undefined,
          usage: Permit['usage'],
          at = pending.scheduled?.at ?? now,
        ) => {
          metric('PermitsGranted', count);
          metric('DailyQuotaUsedPercent', (100 * (usage?.dailyUsed ?? 0)) / effective.dailyQuota, 'Percent');
          pending.resolve({
            permitId,
            instance,
            count,
            useByMs: config.timing.permitUseByMs,
            ...(leaseUntil === undefined ? {} : { leaseUntil }),
            unmetered: false,
            // A scheduled call's use-by time counts from its slot's instant, however late this answer is.
            waitedMs: at - pending.started,
            ...(usage === undefined ? {} : { usage }),
            resetsAt,
          });
        };
        if (decision.kind === 'grant') {
          // A claimed slot is answered at its instant, not before (the claim ran a little ahead of it).
          const early = (pending.scheduled?.at ?? now) - now;
          if (early <= 0) granted(decision.count, decision.leaseUntil, decision.usage);
          else
            clock
              .sleep(early)
              .then(() => granted(decision.count, decision.leaseUntil, decision.usage), pending.reject);
        } else if (decision.kind === 'scheduled') {
          // Answered at the slot's instant; nobody asking after it goes first. Its concurrency slot is claimed
          // `claimLeadMs` ahead, so the store's round trip is not taken from the consumer's use-by time.
          if (!pending.waited) metric('PermitsWaited');
          const scheduled = { at: decision.at, count: decision.count };
          if (ask.concurrency) {
            const claimIn = Math.max(0, decision.at - config.timing.claimLeadMs - now);
            clock
              .sleep(claimIn)
              .then(() => enqueue(instance, { ...pending, ask, waited: true, scheduled }), pending.reject);
          } else {
            clock
              .sleep(Math.max(0, decision.at - now))
              .then(() => granted(decision.count, undefined, decision.usage, decision.at), pending.reject);
          }
        } else if (decision.kind === 'exhausted') {
          metric('PermitsRefused');
          pending.reject(new DailyQuotaExhaustedError(resetsAt, now));
        } else {
          // Waiters of this process wake on a shared grid (one round serves them all); each vendor instance
          // has its own offset on it, so instances do not all race for the same freed slot.
          const wakeAt =
            Math.ceil((now + decision.retryAfterMs) / WAKE_GRID_MS) * WAKE_GRID_MS + wakeOffsetMs;
          const pauseMs = Math.max(1, wakeAt - now);
          if (now + pauseMs - pending.started > pending.maxWaitMs) {
            metric('PermitsRefused');
            pending.reject(new PermitUnavailableError(decision.reason, pauseMs));
          } else {
            if (!pending.waited) metric('PermitsWaited');
            // A claim that found no concurrency slot asks anew: its scheduled rate slot stays spent.
            const { scheduled: _spent, ...rest } = pending;
            const again: Pending = { ...rest, ask, waited: true };
            clock.sleep(pauseMs).then(() => enqueue(instance, again), pending.reject);
          }
        }
      }
      return;
    }
  };

  const settleStoreFailure = (pending: Pending, error: unknown, instance: string, now: number): void => {
    try {
      pending.resolve(storeFailed(error, instance, now, now - pending.started));
    } catch (refusal) {
      pending.reject(refusal);
    }
  };

  const acquire = async (
    instance: string,
    request: PermitRequest = {},
    context: BudgetContext = {},
  ): Promise<Permit> => {
    const { maxWaitMs, ...ask } = validate(request);
    const { holder } = context;
    const started = clock.now();
    // Time spent here counts as waited (the consumer reckons its use-by time from it).
    await reports.reconcileIfDue(instance, context.readUsage);
    return new Promise<Permit>((resolve, reject) => {
      enqueue(instance, {
        ask: {
          ...ask,
          ...(request.release === undefined ? {} : { release: leaseKey(request.release, holder) }),
          ...(holder === undefined ? {} : { client: holderClient(holder) }),
        },
        ...(holder === undefined ? {} : { holder }),
        maxWaitMs,
        started,
        waited: false,
        resolve,
        reject,
      });
    });
  };

  const release = async (instance: string, permitId: string, context: BudgetContext = {}): Promise<void> => {
    if (permitId === UNMETERED) return;
    try {
      // Keyed by the holder too: a permit id named by anyone else finds no lease (issue 22).
      await store.release(instance, leaseKey(permitId, context.holder));
    } catch (error) {
      // The lease lapses by itself; a failed release only holds the slot until then.
      metric('BudgetStoreErrors');
      deps.logger?.warn('budget release failed', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  };

  const reports = createMarketoReports({
    store,
    clock,
    config,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    metric: (name) => metric(name),
    limitsOf,
    expireAt,
    acquire: (instance, request, context) => acquire(instance, request, context),
    release: (instance, permitId, context) => release(instance, permitId, context),
  });

  const statusOf = (instance: string, stored: BudgetState | undefined): BudgetStatus => {
    const now = clock.now();
    const limits = limitsOf(instance, stored);
    const effective: EffectiveLimits = effectiveLimits(limits);
    const state = prune(stored ?? emptyState(instance, now), effective, config.timing, now);
    return {
      instance,
      limits,
      usage: usageOf(state, effective, config.timing, now),
      resetsAt: nextQuotaReset(now),
      slowedDown: (state.slowUntil ?? 0) > now || (state.narrowUntil ?? 0) > now,
      exhausted: state.exhaustedDay === state.day || state.dayCount >= effective.dailyQuota,
      ...(state.marketoCount === undefined || state.marketoCountAt === undefined
        ? {}
        : { marketo: { calls: state.marketoCount, at: state.marketoCountAt } }),
    };
  };

  return {
    acquire,
    release,
    report: reports.report,
    status: async (instance) => statusOf(instance, await store.get(instance)),
    async setLimits(instance, override) {
      const merged =
        override === undefined ? undefined : resolveLimits(override, limitsOf(instance, undefined));
      await store.setLimits(instance, override === undefined ? undefined : override, expireAt());
      return merged ?? limitsOf(instance, undefined);
    },
    async listStatus() {
      const out: BudgetStatus[] = [];
      for await (const state of store.list()) out.push(statusOf(state.instance, state));
      return out.sort((a, b) => a.instance.localeCompare(b.instance));
    },
  };
}
