/**
 * The refresher designs the steady-state scenario runs side by side, each as the construct deploys it:
 * the refresh function's handler, the schedule period, the queue and the event source mapping.
 */
import type { Context } from 'aws-lambda';
import { SqsBatchDispatcher } from '../../functions/adapters/sqs-batch-dispatcher.js';
import {
  DEFAULT_REFRESH_BATCH_SIZE,
  DEFAULT_REFRESH_CONCURRENCY,
  DEFAULT_REFRESH_WORKER_CONCURRENCY,
  REFRESH_DELIVERY_LEAD_MS,
  REFRESH_OVERDUE_AFTER_SECONDS,
  REFRESH_PLAN_MARGIN_SECONDS,
  REFRESH_RECONCILE_MINUTES,
  REFRESH_TIMEOUT_SECONDS,
  REFRESH_WORKER_BATCH_SIZE,
} from '../../functions/contract/index.js';
import { runRefreshPlan } from '../../functions/core/refresh-planner.js';
import { createRefreshHandler } from '../../functions/refresh.js';
import { createBeforeRefreshHandler } from './refresher-before.js';
import type { RefreshDesignSim } from './steady-state-sim.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const PERIOD_MS = 60_000;
/** The refresh function's timeout before issue 25: the period plus 60 s. */
const BEFORE_TIMEOUT_S = PERIOD_MS / 1000 + 60;
/** `refreshConcurrency`'s default before issue 25. */
const BEFORE_CONCURRENCY = 8;
/** Deliveries before the dead-letter queue, both designs. */
const MAX_RECEIVES = 3;

/** The queue as the construct configures it for a function timeout: visibility 6 × it, kept (3 + 1) × that. */
const queueFor = (timeoutSeconds: number): RefreshDesignSim['queue'] => ({
  visibilityTimeoutMs: 6 * timeoutSeconds * 1000,
  retentionMs: (MAX_RECEIVES + 1) * 6 * timeoutSeconds * 1000,
  maxReceiveCount: MAX_RECEIVES,
});

/**
 * Before issue 25: every scheduled run lists every client, queues batches of 100 (past 500 clients), and
 * each worker invocation sweeps its batch with a 60 s horizon, sleeping until the expiries inside it.
 * Batch size 1, 10 invocations at once.
 */
export const BEFORE_DESIGN: RefreshDesignSim = {
  id: 'before',
  label: 'before: every run lists every client and queues them all; workers sleep until each expiry',
  periodMs: PERIOD_MS,
  queue: queueFor(BEFORE_TIMEOUT_S),
  mapping: { maxConcurrency: DEFAULT_REFRESH_WORKER_CONCURRENCY, batchSize: 1 },
  handler: (env): Handler =>
    createBeforeRefreshHandler({
      vendor: env.vendor,
      telemetry: env.telemetry,
      horizonMs: PERIOD_MS,
      concurrency: BEFORE_CONCURRENCY,
      thresholdClients: 500,
      batchSize: DEFAULT_REFRESH_BATCH_SIZE,
      listClients: () => env.listing.list(),
      queue: new SqsBatchDispatcher({ client: env.sqs, queueUrl: env.queueUrl, now: env.clock.now }),
    }),
};

/**
 * Issue 25: every scheduled run queries the refresh index for the refreshes due before its next run (plus
 * the overdue ones, and once an hour the clients missing from the index) and queues them in messages
 * delayed to just before their instants; a worker refreshes a message's clients at their instants.
 */
export const AFTER_DESIGN: RefreshDesignSim = {
  id: 'after',
  label: 'after: runs read only the due refreshes from the index and queue them delayed to their instant',
  periodMs: PERIOD_MS,
  queue: queueFor(REFRESH_TIMEOUT_SECONDS),
  mapping: { maxConcurrency: DEFAULT_REFRESH_WORKER_CONCURRENCY, batchSize: REFRESH_WORKER_BATCH_SIZE },
  indexWritesPerTokenWrite: 2,
  handler: (env): Handler =>
    createRefreshHandler({
      vendor: env.vendor,
      telemetry: env.telemetry,
      concurrency: DEFAULT_REFRESH_CONCURRENCY,
      plan: () =>
        runRefreshPlan(
          {
            index: env.index,
            queue: new SqsBatchDispatcher({ client: env.sqs, queueUrl: env.queueUrl, now: env.clock.now }),
            credentials: env.listing,
            clock: env.clock,
            logger: env.core.logger,
            metrics: env.core.metrics,
          },
          {
            periodMs: PERIOD_MS,
            marginMs: REFRESH_PLAN_MARGIN_SECONDS * 1000,
            leadMs: REFRESH_DELIVERY_LEAD_MS,
            overdueAfterMs: REFRESH_OVERDUE_AFTER_SECONDS * 1000,
            reconcileEveryMs: REFRESH_RECONCILE_MINUTES * 60_000,
            maxClientsPerMessage: DEFAULT_REFRESH_BATCH_SIZE,
          },
        ),
    }) as Handler,
};
