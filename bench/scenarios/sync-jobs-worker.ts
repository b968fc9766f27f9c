/**
 * A sync-jobs benchmark worker process: one vend "Lambda" (the permit service, and the Bulk API slot service
 * unless it is the before row, on the shared dynalite budget table, behind a loopback API) and its
 * consumers: `exports` Bulk Extract jobs through the client library's `bulkExport`, and `restConsumers`
 * calling `marketoFetch` on leads.json until the exports are done. Reports one result and exits.
 */
import { createTokenClient, TokenVendorClientError } from '../../client/index.js';
import { DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import { DynamoBulkSlotStore } from '../../functions/adapters/dynamo-bulk-slot-store.js';
import { DynamoUsageStore } from '../../functions/adapters/dynamo-usage-store.js';
import { createInstanceBudget, createUsageRecorder } from '../../functions/core/budget/index.js';
import { createBulkSlots, recordBulkUsage } from '../../functions/core/bulk/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { createBulkSlotService } from '../../functions/http/bulk-slot-request.js';
import { createPermitService } from '../../functions/http/permit-request.js';
import type { ApiDeps } from '../../functions/http/router.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { benchCredentials, benchDynamoClient, NO_TOKEN_VENDOR } from '../lib/bench-lambda.js';
import { startLoopbackVendApi } from '../lib/loopback-vend-api.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** What the parent passes (JSON in argv[2]). */
export interface SyncJobsWorkerInput {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly restUrl: string;
  readonly identityUrl: string;
  readonly accessToken: string;
  /** This process's consumers take permits and slots as this principal. */
  readonly principal: string;
  /** The Custom Service this process's jobs use (one of the instance's). */
  readonly clientId: string;
  readonly exports: number;
  readonly restConsumers: number;
  /** Pause between a REST consumer's calls. */
  readonly restPaceMs: number;
  /** false: the before row (the vendor has no slot routes; the client goes on unmetered). */
  readonly slots: boolean;
  /** The vendor's Bulk limits (`BULK_LIMITS`' default). */
  readonly bulkLimits: { readonly extractJobs: number; readonly exportDailyBytes: number };
  /** Every job's file size, known from earlier runs: held against the day's quota while it runs. */
  readonly expectedBytes: number;
  readonly firstPollMs: number;
  readonly maxPollMs: number;
}

export interface ExportOutcome {
  /** `ok`, or the error's code (`DailyExportQuotaExhausted`, a Marketo code). */
  readonly outcome: string;
  readonly bytes: number;
  readonly slotWaitedMs: number;
  /** Epoch ms: asked for its slot, and got it (or its error). */
  readonly startedAt: number;
  readonly slotAt?: number;
  readonly endedAt: number;
  /** Epoch ms the job ended and its slot was given back with its bytes. */
  readonly releasedAt?: number;
  /** Marketo's 1029 "Too many jobs in queue" answers this export waited out. */
  readonly queueFull: number;
}

export interface SyncJobsWorkerResult {
  readonly exports: ExportOutcome[];
  readonly quotaErrorSample?: string;
  readonly restOk: number;
  readonly restFailures: Record<string, number>;
  /** Slot requests the vendor answered `BulkSlotUnavailable`, by reason (`slots`, `export-quota`). */
  readonly slotWaits: Record<string, number>;
  readonly permitWaits: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as SyncJobsWorkerInput;

const dynamo = benchDynamoClient(input.dynamoEndpoint);
const credentials = benchCredentials({ ...input, clientIds: [input.clientId] });
/** Usage per consumer, as the vend function books it: permits, and each Bulk job's end with its bytes. */
const recorder = createUsageRecorder({
  store: new DynamoUsageStore({ client: dynamo, tableName: input.tableName }),
  clock: systemClock,
});
const api: ApiDeps = {
  vendor: NO_TOKEN_VENDOR,
  telemetry: createTelemetry('sync-jobs-worker'),
  maxWaitMs: 0,
  permits: createPermitService({
    budget: createInstanceBudget({
      store: new DynamoBudgetStore({ client: dynamo, tableName: input.tableName }),
      clock: systemClock,
    }),
    credentials,
    usage: recorder,
  }),
  ...(input.slots
    ? {
        bulkSlots: createBulkSlotService({
          slots: createBulkSlots(
            {
              store: new DynamoBulkSlotStore({ client: dynamo, tableName: input.tableName }),
              clock: systemClock,
              usage: recordBulkUsage(recorder),
            },
            { limits: { default: input.bulkLimits } },
          ),
          credentials,
        }),
      }
    : {}),
};

// A worker outlives nothing: when the parent goes, so does it.
process.on('disconnect', () => process.exit(1));

async function main(): Promise<void> {
  const vendApi = await startLoopbackVendApi({
    api,
    accessToken: input.accessToken,
    caller: input.principal,
    onError: (error) => process.stderr.write(`sync-jobs worker API: ${String(error)}\n`),
  });
  const slotWaits: Record<string, number> = {};
  const countingFetch: typeof fetch = async (url, init) => {
    const response = await fetch(url, init);
    if (String(url).endsWith('/bulk-slots') && response.status === 429) {
      const body = (await response.clone().json()) as { error?: { code?: string; reason?: string } };
      const reason = body.error?.reason ?? 'unknown';
      if (body.error?.code === 'BulkSlotUnavailable') slotWaits[reason] = (slotWaits[reason] ?? 0) + 1;
    }
    return response;
  };
  const client = createTokenClient({
    endpoint: vendApi.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    fetch: countingFetch,
    budget: { maxWaitMs: 300_000 },
  });
  // Ready (tsx, SDK loaded, API listening): the parent names the instant every process starts.
  const startAt = await new Promise<number>((resolve) => {
    process.once('message', (message: { startAt: number }) => resolve(message.startAt));
    process.send?.({ ready: true });
  });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));

  let quotaErrorSample: string | undefined;
  const exportOnce = async (): Promise<ExportOutcome> => {
    const startedAt = Date.now();
    let slotAt: number | undefined;
    let releasedAt: number | undefined;
    let queueFull = 0;
    try {
      const result = await client.bulkExport(input.clientId, {
        restUrl: input.restUrl,
        job: { fields: ['id', 'email', 'firstName', 'lastName'], format: 'CSV' },
        expectedBytes: input.expectedBytes,
        firstPollMs: input.firstPollMs,
        maxPollMs: input.maxPollMs,
        consume: async (file) => (await file.arrayBuffer()).byteLength,
        onEvent: (event) => {
          if (event.kind === 'slot') slotAt = Date.now();
          if (event.kind === 'queue-full') queueFull += 1;
          if (event.kind === 'ended') releasedAt = Date.now();
        },
      });
      return {
        outcome: 'ok',
        bytes: result.file,
        slotWaitedMs: result.slotWaitedMs,
        startedAt,
        ...(slotAt === undefined ? {} : { slotAt }),
        endedAt: Date.now(),
        ...(releasedAt === undefined ? {} : { releasedAt }),
        queueFull,
      };
    } catch (error) {
      const code =
        error instanceof TokenVendorClientError || (error instanceof Error && 'code' in error)
          ? String((error as { code: unknown }).code)
          : String(error);
      if (code === 'DailyExportQuotaExhausted') {
        const resetsAt = (error as TokenVendorClientError).resetsAt;
        quotaErrorSample ??= `${code} (resetsAt ${resetsAt === undefined ? 'unknown' : new Date(resetsAt).toISOString()}): ${(error as Error).message}`;
      }
      return {
        outcome: code,
        bytes: 0,
        slotWaitedMs: 0,
        startedAt,
        ...(slotAt === undefined ? {} : { slotAt }),
        endedAt: Date.now(),
        queueFull,
      };
    }
  };

  let exportsDone = false;
  let restOk = 0;
  const restFailures: Record<string, number> = {};
  const restConsumer = async (): Promise<void> => {
    while (!exportsDone) {
      try {
        const response = await client.marketoFetch(
          input.clientId,
          `${input.restUrl}/rest/v1/leads.json?batchSize=1`,
        );
        const body = (await response.json()) as { success?: boolean; errors?: Array<{ code?: string }> };
        if (body.success === true) restOk += 1;
        else {
          const code = String(body.errors?.[0]?.code ?? 'unknown');
          restFailures[code] = (restFailures[code] ?? 0) + 1;
        }
      } catch (error) {
        const code = error instanceof TokenVendorClientError ? error.code : String(error);
        restFailures[code] = (restFailures[code] ?? 0) + 1;
      }
      await new Promise((resolve) => setTimeout(resolve, input.restPaceMs));
    }
  };
  const rest = Array.from({ length: input.restConsumers }, () => restConsumer());
  const exports = await Promise.all(Array.from({ length: input.exports }, () => exportOnce()));
  exportsDone = true;
  await Promise.all(rest);
  // Let lingering permit releases go out before the report.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const out: SyncJobsWorkerResult = {
    exports,
    ...(quotaErrorSample === undefined ? {} : { quotaErrorSample }),
    restOk,
    restFailures,
    slotWaits,
    permitWaits: client.budgetStats().waits,
  };
  await recorder.flush();
  vendApi.close();
  dynamo.destroy();
  // Keep-alive sockets (to the simulator, to dynalite) would hold the process: leave once the report is out.
  process.send?.(out, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`sync-jobs worker failed: ${String(error)}\n`);
  process.exit(1);
});
