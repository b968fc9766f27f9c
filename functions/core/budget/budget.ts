import { randomUUID } from 'node:crypto';
import { type InstanceLimits, nextQuotaReset } from '../../contract/index.js';
import { InvalidRequestError, StoreUnavailableError } from '../errors.js';
import {
  type BudgetConfig,
  type BudgetDeps,
  type BudgetStatus,
  DEFAULT_BUDGET_CONFIG,
  type InstanceBudget,
  type MarketoLimitCode,
  type Permit,
  type PermitRequest,
} from './budget-api.js';
import { DailyQuotaExhaustedError, PermitUnavailableError } from './errors.js';
import { type EffectiveLimits, effectiveLimits, resolveLimits } from './limits.js';
import type { BudgetMetrics } from './ports.js';
import {
  type BudgetState,
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
      while (queue.pending.length > 0) await round(instance, queue.pending.splice(0));
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
        const decision = decide(state, pending.ask, permitId, effective, config.timing, now);
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
        if (decision.kind === 'grant') {
          metric('PermitsGranted', decision.count);
          metric('DailyQuotaUsedPercent', (100 * decision.usage.dailyUsed) / effective.dailyQuota, 'Percent');
          pending.resolve({
            permitId,
            instance,
            count: decision.count,
            useByMs: config.timing.permitUseByMs,
            ...(decision.leaseUntil === undefined ? {} : { leaseUntil: decision.leaseUntil }),
            unmetered: false,
            waitedMs: now - pending.started,
            usage: decision.usage,
            resetsAt,
          });
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
            const again: Pending = { ...pending, ask, waited: true };
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

  const acquire = async (instance: string, request: PermitRequest = {}): Promise<Permit> => {
    const { maxWaitMs, ...ask } = validate(request);
    return new Promise<Permit>((resolve, reject) => {
      enqueue(instance, {
        ask: { ...ask, ...(request.release === undefined ? {} : { release: request.release }) },
        maxWaitMs,
        started: clock.now(),
        waited: false,
        resolve,
        reject,
      });
    });
  };

  const release = async (instance: string, permitId: string): Promise<void> => {
    if (permitId === UNMETERED) return;
    try {
      await store.release(instance, permitId);
    } catch (error) {
      // The lease lapses by itself; a failed release only holds the slot until then.
      metric('BudgetStoreErrors');
      deps.logger?.warn('budget release failed', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  };

  const report = async (instance: string, code: MarketoLimitCode): Promise<void> => {
    metric(
      code === '606'
        ? 'MarketoRateLimited606'
        : code === '615'
          ? 'MarketoConcurrencyLimited615'
          : 'MarketoDailyQuota607',
    );
    for (let attempt = 0; attempt < config.maxConflicts; attempt += 1) {
      const now = clock.now();
      const stored = await store.get(instance);
      const effective = effectiveLimits(limitsOf(instance, stored));
      const state = prune(stored ?? emptyState(instance, now), effective, config.timing, now);
      const until = now + effective.rateWindowMs;
      const next: BudgetState = {
        ...state,
        version: (stored?.version ?? 0) + 1,
        ...(code === '606'
          ? { slowUntil: until }
          : code === '615'
            ? { narrowUntil: until }
            : { exhaustedDay: state.day }),
      };
      if (await store.save(next, stored?.version ?? 0, expireAt())) return;
    }
  };

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
    };
  };

  return {
    acquire,
    release,
    report,
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
