/**
 * Scenario 5 extension, the refresher's cold case simulated locally: the first scheduled run of the real
 * refresh handler finds the refresh index empty, lists every client and queues them all at once (messages
 * of 100) through the real SQS dispatcher to a loopback SQS stub; the messages are then delivered, one per
 * invocation, to at most W simulated refresh environments at once (the event source mapping's
 * `maxConcurrency`), each its own vendor instance sweeping its message at the deployed concurrency.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoRefreshIndex } from '../../functions/adapters/dynamo-refresh-index.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { SqsBatchDispatcher } from '../../functions/adapters/sqs-batch-dispatcher.js';
import {
  REFRESH_DELIVERY_LEAD_MS,
  REFRESH_OVERDUE_AFTER_SECONDS,
  REFRESH_PLAN_MARGIN_SECONDS,
  REFRESH_RECONCILE_MINUTES,
} from '../../functions/contract/index.js';
import { type RefreshPlanSummary, runRefreshPlan } from '../../functions/core/refresh-planner.js';
import { createRefreshHandler } from '../../functions/refresh.js';
import { coreLogger, coreMetrics, createTelemetry } from '../../functions/telemetry.js';
import { lambdaContext } from '../../test/support/api-event.js';
import { startSqsStub } from '../../testing/sqs-stub.js';
import { withDiscardedStdout } from '../lib/quiet.js';
import { nowMs, type Summary, summarize } from '../lib/stats.js';
import type { BenchWorld } from '../lib/world.js';
import type { FanOutParentMessage, FanOutWorkerMessage } from './fan-out-worker.js';

const WORKER = fileURLToPath(new URL('./fan-out-worker.ts', import.meta.url));

/** Options of {@link runRefresherFanOut}; defaults are the construct's. */
export interface FanOutOptions {
  /** Refresh environments running at once (`refreshWorkerConcurrency`). @default 10 */
  readonly workers?: number;
  /** Identity fetches in flight per environment (`REFRESH_CONCURRENCY`). @default 8 */
  readonly concurrency?: number;
  /** Clients per batch (`REFRESH_BATCH_SIZE`). @default 100 */
  readonly batchSize?: number;
  /** Node processes hosting the environments (this machine has 2 cores). @default 2 */
  readonly processes?: number;
  /** A run still going after this is abandoned (safety net). @default 300_000 */
  readonly giveUpMs?: number;
}

/** What one fanned-out refresh of every client measured. */
export interface FanOutResult {
  readonly clients: number;
  readonly workers: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly processes: number;
  readonly batches: number;
  /** Starting the worker processes and building the environments (not part of `wallMs`). */
  readonly startUpMs: number;
  /** The scheduled run: list every client, plan, send to SQS. */
  readonly scheduleMs: number;
  /** From the scheduled run's start to the last batch done. */
  readonly wallMs: number;
  readonly identityCalls: number;
  readonly failedItems: number;
  readonly batchMs: Summary;
  /** CPU of this process (dynalite, Secrets Manager and SQS stubs, simulator, the scheduled run). */
  readonly standInCpuMs: number;
  /** CPU of the worker processes (vendors, SDK clients, handlers). */
  readonly workerCpuMs: number;
}

class FanOutProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<void>;
  onMessage: (message: FanOutWorkerMessage) => void = () => {};

  constructor() {
    // Handler log and EMF lines go nowhere (in Lambda they go to an asynchronous pipe).
    this.#child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (message: FanOutWorkerMessage) => this.onMessage(message));
  }

  send(message: FanOutParentMessage): void {
    this.#child.send(message);
  }

  kill(): void {
    this.#child.kill();
  }
}

/**
 * Expires every client's token in `world` (moves the shared clock an hour on; clients never fetched have
 * none) and refreshes them all through the fan-out. The world's clients must already be registered.
 */
export async function runRefresherFanOut(
  world: BenchWorld,
  options: FanOutOptions = {},
): Promise<FanOutResult> {
  const workers = options.workers ?? 10;
  const concurrency = options.concurrency ?? 8;
  const batchSize = options.batchSize ?? 100;
  const processCount = Math.max(1, Math.min(options.processes ?? 2, workers));
  const giveUpMs = options.giveUpMs ?? 300_000;
  world.clock.offsetMs += 3600 * 1000 + 2_000;
  world.simulator.resetCounters();
  const sqs = await startSqsStub();
  const startUpBegan = nowMs();
  const processes = Array.from({ length: processCount }, () => new FanOutProcess());
  const hostOf = (environment: number): FanOutProcess =>
    processes[environment % processCount] as FanOutProcess;
  try {
    await Promise.all(
      processes.map(
        (p, i) =>
          new Promise<void>((resolve) => {
            p.onMessage = (m) => {
              if (m.type === 'ready') resolve();
            };
            p.send({
              type: 'init',
              dynamoEndpoint: world.dynamo.endpoint,
              secretsEndpoint: world.secrets.endpoint,
              tableName: world.tableName,
              offsetMs: world.clock.offsetMs,
              environments: Array.from({ length: workers }, (_, e) => e).filter(
                (e) => e % processCount === i,
              ),
              concurrency,
              horizonMs: 60_000,
            });
          }),
      ),
    );
    const startUpMs = nowMs() - startUpBegan;
    const listing = new SecretsManagerCredentials({ client: world.clients.secrets, now: world.clock.now });
    const telemetry = createTelemetry('marketo-token-vendor');
    const scheduled = createRefreshHandler({
      vendor: world.vendor({
        instanceId: 'fan-out-schedule',
        logger: coreLogger(telemetry.logger),
        metrics: coreMetrics(telemetry.metrics),
      }),
      telemetry,
      concurrency,
      // The first run of a deployment: the refresh index is empty, so the run lists every client and queues
      // all of them at once.
      plan: () =>
        runRefreshPlan(
          {
            index: new DynamoRefreshIndex({ client: world.clients.dynamo, tableName: world.tableName }),
            queue: new SqsBatchDispatcher({
              client: sqs.client,
              queueUrl: 'http://127.0.0.1/refresh-batches',
            }),
            credentials: listing,
            clock: world.clock,
            logger: coreLogger(telemetry.logger),
            metrics: coreMetrics(telemetry.metrics),
          },
          {
            periodMs: 60_000,
            marginMs: REFRESH_PLAN_MARGIN_SECONDS * 1000,
            leadMs: REFRESH_DELIVERY_LEAD_MS,
            overdueAfterMs: REFRESH_OVERDUE_AFTER_SECONDS * 1000,
            reconcileEveryMs: REFRESH_RECONCILE_MINUTES * 60_000,
            maxClientsPerMessage: batchSize,
          },
        ),
    });
    const cpuBefore = process.cpuUsage();
    const started = nowMs();
    const { result: planned } = await withDiscardedStdout(
      () => scheduled({ source: 'aws.events' }, lambdaContext('refresh')) as Promise<RefreshPlanSummary>,
    );
    const scheduleMs = nowMs() - started;
    // The event source mapping: one message per invocation, at most `workers` invocations at once.
    const queue = sqs.received.map((body, i) => ({ messageId: `batch-${i}`, body }));
    const batchMs: number[] = [];
    let failedItems = 0;
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      const giveUp = setTimeout(
        () => reject(new Error(`fan-out still running after ${giveUpMs} ms`)),
        giveUpMs,
      );
      const next = (environment: number): void => {
        const message = queue.shift();
        if (!message) {
          if (running === 0) {
            clearTimeout(giveUp);
            resolve();
          }
          return;
        }
        running += 1;
        hostOf(environment).send({ type: 'invoke', environment, ...message });
      };
      for (const p of processes)
        p.onMessage = (m) => {
          if (m.type !== 'done') return;
          running -= 1;
          batchMs.push(m.ms);
          failedItems += m.failedItems;
          next(m.environment);
        };
      for (let e = 0; e < Math.min(workers, queue.length); e += 1) next(e);
      if (queue.length === 0 && running === 0) resolve();
    });
    const wallMs = nowMs() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const identityCalls = world.simulator.identityCalls();
    const workerCpu = await Promise.all(
      processes.map(
        (p) =>
          new Promise<number>((resolve) => {
            p.onMessage = (m) => {
              if (m.type === 'cpu') resolve(m.cpuMs);
            };
            p.send({ type: 'exit' });
          }),
      ),
    );
    return {
      clients: planned.listed ?? 0,
      workers,
      concurrency,
      batchSize,
      processes: processCount,
      batches: planned.messages,
      startUpMs,
      scheduleMs,
      wallMs,
      identityCalls,
      failedItems,
      batchMs: summarize(batchMs),
      standInCpuMs: (cpu.user + cpu.system) / 1000,
      workerCpuMs: workerCpu.reduce((s, v) => s + v, 0),
    };
  } finally {
    const timer = setTimeout(() => {
      for (const p of processes) p.kill();
    }, 5_000);
    await Promise.all(processes.map((p) => p.exited));
    clearTimeout(timer);
    await sqs.stop();
  }
}
