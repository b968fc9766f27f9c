/**
 * The sync-jobs benchmark's run (issue 27): `processes` worker processes (each one vend "Lambda" on a shared
 * dynalite budget table, behind a loopback API) each run `exportsPerProcess` Bulk Extract jobs through the
 * client library's `bulkExport` on one simulated instance, while their REST consumers call `marketoFetch`.
 * The simulator enforces Marketo's REST limits (100 calls per 20 s, 10 at once) and its Bulk Extract limits
 * (10 jobs queued, 2 processing, a daily export quota), its jobs running on a fast clock. Run twice: with
 * the vendor's slots, and without them (the before row: the vendor has no slot routes, the client goes on
 * unmetered and waits out Marketo's 1029s by itself). Shared by the scenario and its invariant test.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBudgetTable } from '../../functions/adapters/dynamo-budget-store.js';
import { DynamoBulkSlotStore } from '../../functions/adapters/dynamo-bulk-slot-store.js';
import { DynamoUsageStore } from '../../functions/adapters/dynamo-usage-store.js';
import { nextQuotaReset, quotaDay } from '../../functions/contract/index.js';
import { instanceKeyOf } from '../../functions/core/budget/index.js';
import { createMarketoSimulator } from '../../local/marketo-simulator.js';
import type { BulkCounters } from '../../local/simulator/bulk.js';
import { type RunningDynalite, startDynalite } from '../../testing/dynalite.js';
import { quantile } from '../lib/stats.js';
import type { ExportOutcome, SyncJobsWorkerInput, SyncJobsWorkerResult } from './sync-jobs-worker.js';

const WORKER = fileURLToPath(new URL('./sync-jobs-worker.ts', import.meta.url));
const CLIENTS = [
  { clientId: 'sync-orders', clientSecret: 'bench-sync-orders-secret' },
  { clientId: 'sync-leads', clientSecret: 'bench-sync-leads-secret' },
];

export interface SyncJobsOptions {
  readonly processes: number;
  readonly exportsPerProcess: number;
  readonly restConsumersPerProcess: number;
  /**
   * Pause between a REST consumer's calls: together they take about 2 of the instance's 5 calls a second,
   * leaving the jobs' own calls room (greedy consumers make everyone wait for the rolling window).
   */
  readonly restPaceMs: number;
  /** Places of the extract queue (Marketo's 10), for the simulator and the vendor alike. */
  readonly queueLimit: number;
  readonly fileBytes: number;
  /** The daily export quota, for the simulator and the vendor alike. */
  readonly exportDailyBytes: number;
  /** How long a job processes on the jobs' clock, which runs `speed` times faster than real time. */
  readonly jobMs: number;
  readonly speed: number;
  /** The client's status polls (real time). */
  readonly firstPollMs: number;
  readonly maxPollMs: number;
  readonly restLatencyMs: number;
  /**
   * Run the two rows at the same time (each has its own simulated instance and tables, so neither sees the
   * other) rather than one after the other: the smoke test's choice; the benchmark's timings keep them apart.
   */
  readonly rowsSideBySide: boolean;
}

export const SYNC_JOBS_DEFAULTS: SyncJobsOptions = Object.freeze({
  processes: 4,
  exportsPerProcess: 4,
  restConsumersPerProcess: 2,
  restPaceMs: 4_000,
  queueLimit: 10,
  fileBytes: 100_000,
  exportDailyBytes: 1_200_000,
  jobMs: 180_000,
  speed: 20,
  firstPollMs: 2_000,
  maxPollMs: 8_000,
  restLatencyMs: 50,
  rowsSideBySide: false,
});

/** One row: with the vendor's slots, or without (before). */
export interface SyncJobsRow {
  readonly name: string;
  readonly slots: boolean;
  readonly durationMs: number;
  readonly exports: ExportOutcome[];
  readonly outcomes: Record<string, number>;
  readonly bulk: BulkCounters;
  readonly refused606: number;
  readonly refused615: number;
  readonly restOk: number;
  readonly restFailures: Record<string, number>;
  /** Slot requests answered "wait", by reason (`slots`: every place held; `export-quota`). */
  readonly slotWaits: Record<string, number>;
  /** Exports that waited a second or more for their slot. */
  readonly exportsThatWaited: number;
  /** Extract places in use at the vendor, sampled every 100 ms while an export waited for one. */
  readonly placesWhileWaiting: {
    readonly samples: number;
    readonly mean: number;
    /** The 10th percentile: a freed place is retaken within the waiters' next ask (about a second). */
    readonly p10: number;
  };
  /**
   * Usage per consumer as the vendor booked it (`instances usage`: the usage item of the budget table), by
   * consumer and client: Bulk jobs, extracted bytes and calls; and the bytes summed per client.
   */
  readonly usage: ReadonlyArray<{
    readonly consumer: string;
    readonly client: string;
    readonly bulkJobs: number;
    readonly extractBytes: number;
    readonly calls: number;
  }>;
  readonly usageByClient: Record<string, number>;
  readonly quotaErrorSample?: string;
  /** Time from the day's last counted file (the quota reached) to each export's typed quota error (ms). */
  readonly quotaErrorMs: number[];
}

/** Forks a worker; `ready` resolves once it can start, `go(startAt)` starts it, `result` is its report. */
const startWorker = (input: SyncJobsWorkerInput) => {
  const child = fork(WORKER, [JSON.stringify(input)], { execArgv: ['--import', 'tsx'], silent: true });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const result = new Promise<SyncJobsWorkerResult>((resolve, reject) => {
    let report: SyncJobsWorkerResult | undefined;
    child.on('message', (message: SyncJobsWorkerResult | { ready: true }) => {
      if ('ready' in message) onReady();
      else report = message;
    });
    child.once('exit', (code) => {
      onReady();
      if (report) resolve(report);
      else reject(new Error(`sync-jobs worker exited ${code}`));
    });
  });
  return { ready, result, go: (startAt: number) => child.connected && child.send({ startAt }) };
};

/**
 * The jobs' clock: `speed` times real time, from about noon in Chicago of today's quota day, so a run of
 * minutes (hours on this clock) never crosses the export quota's reset at midnight, and the simulator's
 * quota day is the vendor's.
 */
/** Counts by key, added up. */
const sumCounts = (counts: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> => {
  const total: Record<string, number> = {};
  for (const each of counts) for (const [key, n] of Object.entries(each)) total[key] = (total[key] ?? 0) + n;
  return total;
};

const fastClock = (speed: number): (() => number) => {
  const started = Date.now();
  const noon = nextQuotaReset(started) - 12 * 3_600_000;
  return () => noon + (Date.now() - started) * speed;
};

async function runRow(
  name: string,
  slots: boolean,
  options: SyncJobsOptions,
  dynalite: RunningDynalite,
  tableName: string,
): Promise<SyncJobsRow> {
  await createBudgetTable(dynalite.client, tableName);
  const sim = createMarketoSimulator({
    clients: CLIENTS,
    limits: { callsPerWindow: 100, windowMs: 20_000, concurrentCalls: 10 },
    restLatencyMs: options.restLatencyMs,
    bulk: {
      queueLimit: options.queueLimit,
      processingLimit: 2,
      exportDailyBytes: options.exportDailyBytes,
      processingMs: options.jobMs,
      fileBytes: options.fileBytes,
      now: fastClock(options.speed),
    },
  });
  await sim.start();
  const store = new DynamoBulkSlotStore({ client: dynalite.client, tableName });
  const instance = instanceKeyOf({ identityUrl: sim.identityUrl, restUrl: sim.restUrl });
  const samples: Array<{ readonly at: number; readonly inUse: number }> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const state = await store.get(instance).catch(() => undefined);
      const now = Date.now();
      const inUse = Object.values(state?.slots ?? {}).filter(
        (s) => s.kind === 'extract' && s.until > now,
      ).length;
      samples.push({ at: now, inUse });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    const tokens = await Promise.all(
      CLIENTS.map(async (client) => {
        const answer = await fetch(
          `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
        );
        return ((await answer.json()) as { access_token: string }).access_token;
      }),
    );
    const workers = Array.from({ length: options.processes }, (_, index) =>
      startWorker({
        dynamoEndpoint: dynalite.endpoint,
        tableName,
        restUrl: sim.restUrl,
        identityUrl: sim.identityUrl,
        accessToken: tokens[index % CLIENTS.length] as string,
        principal: `arn:aws:iam::111122223333:role/sync-job-${index + 1}`,
        clientId: (CLIENTS[index % CLIENTS.length] as (typeof CLIENTS)[number]).clientId,
        exports: options.exportsPerProcess,
        restConsumers: options.restConsumersPerProcess,
        restPaceMs: options.restPaceMs,
        slots,
        bulkLimits: { extractJobs: options.queueLimit, exportDailyBytes: options.exportDailyBytes },
        expectedBytes: options.fileBytes,
        firstPollMs: options.firstPollMs,
        maxPollMs: options.maxPollMs,
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    const startAt = Date.now() + 200;
    for (const w of workers) w.go(startAt);
    const results = await Promise.all(workers.map((w) => w.result));
    const exports = results.flatMap((r) => r.exports);
    const outcomes = sumCounts(exports.map((e) => ({ [e.outcome]: 1 })));
    const restFailures = sumCounts(results.map((r) => r.restFailures));
    const usage = (
      await new DynamoUsageStore({ client: dynalite.client, tableName }).readUsage(
        instance,
        quotaDay(Date.now()),
      )
    )
      .map(({ consumer, client, counts }) => ({
        consumer,
        client,
        bulkJobs: counts.bulkJobs,
        extractBytes: counts.extractBytes,
        calls: counts.calls,
      }))
      .sort((a, b) => a.consumer.localeCompare(b.consumer) || a.client.localeCompare(b.client));
    const usageByClient = sumCounts(
      usage
        .filter((row) => row.extractBytes > 0)
        .map((row) => ({ [row.client.replace(/^c:/, '')]: row.extractBytes })),
    );
    // Places in use while at least one export waited for a place (not for the quota: those end refused).
    const placed = exports.filter((e) => e.outcome !== 'DailyExportQuotaExhausted');
    const waiting = (at: number) =>
      placed.filter((e) => e.startedAt <= at && (e.slotAt ?? e.endedAt) > at).length;
    const whileWaiting = samples.filter((s) => waiting(s.at) > 0).map((s) => s.inUse);
    const quotaReachedAt = Math.max(...exports.map((e) => e.releasedAt ?? 0));
    const counters = sim.limitCounters();
    const quotaSample = results.find((r) => r.quotaErrorSample)?.quotaErrorSample;
    return {
      name,
      slots,
      durationMs: Math.max(...exports.map((e) => e.endedAt)) - startAt,
      exports,
      outcomes,
      bulk: sim.bulkCounters(),
      refused606: counters?.refused606 ?? 0,
      refused615: counters?.refused615 ?? 0,
      restOk: results.reduce((sum, r) => sum + r.restOk, 0),
      restFailures,
      slotWaits: sumCounts(results.map((r) => r.slotWaits)),
      exportsThatWaited: exports.filter((e) => e.slotWaitedMs >= 1_000).length,
      placesWhileWaiting: {
        samples: whileWaiting.length,
        mean: whileWaiting.length === 0 ? 0 : whileWaiting.reduce((a, b) => a + b, 0) / whileWaiting.length,
        p10: quantile(
          [...whileWaiting].sort((a, b) => a - b),
          0.1,
        ),
      },
      usage,
      usageByClient,
      ...(quotaSample === undefined ? {} : { quotaErrorSample: quotaSample }),
      quotaErrorMs: exports
        .filter((e) => e.outcome === 'DailyExportQuotaExhausted')
        .map((e) => e.endedAt - quotaReachedAt),
    };
  } finally {
    sampling = false;
    await sampler;
    await sim.stop();
  }
}

/** Runs the row with the vendor's slots, then the before row, each on a fresh simulated instance and table. */
export async function runSyncJobs(
  overrides: Partial<SyncJobsOptions> = {},
  log: (line: string) => void = () => {},
): Promise<{ readonly options: SyncJobsOptions; readonly rows: readonly [SyncJobsRow, SyncJobsRow] }> {
  const options = { ...SYNC_JOBS_DEFAULTS, ...overrides };
  const dynalite = await startDynalite();
  try {
    const rowWithSlots = () => {
      log(`  with the vendor's slots: ${options.processes} x ${options.exportsPerProcess} exports`);
      return runRow("with the vendor's slots", true, options, dynalite, 'bench-sync-jobs-slots');
    };
    const rowBefore = () => {
      log(`  without them (before): ${options.processes} x ${options.exportsPerProcess} exports`);
      return runRow('without slots (before)', false, options, dynalite, 'bench-sync-jobs-before');
    };
    if (options.rowsSideBySide) {
      const [withSlots, before] = await Promise.all([rowWithSlots(), rowBefore()]);
      return { options, rows: [withSlots, before] };
    }
    const withSlots = await rowWithSlots();
    return { options, rows: [withSlots, await rowBefore()] };
  } finally {
    await dynalite.stop();
  }
}
