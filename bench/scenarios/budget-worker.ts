/**
 * A budget benchmark worker process: one vend "Lambda" (the permit service on the shared dynalite budget
 * table, behind a loopback HTTP API) and its consumers, each calling the simulated Marketo instance through
 * the client library's `marketoFetch` as fast as it can until the deadline. Reports one result and exits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createTokenClient, TokenVendorClientError } from '../../client/index.js';
import { DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import { createInstanceBudget } from '../../functions/core/budget/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { createPermitService } from '../../functions/http/permit-request.js';
import type { ApiDeps } from '../../functions/http/router.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { benchCredentials, benchDynamoClient, NO_TOKEN_VENDOR } from '../lib/bench-lambda.js';
import { startLoopbackVendApi } from '../lib/loopback-vend-api.js';
import { nowMs } from '../lib/stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** What the parent passes (JSON in argv[2]). */
export interface BudgetWorkerInput {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly restUrl: string;
  readonly identityUrl: string;
  readonly accessToken: string;
  readonly clientIds: readonly string[];
  readonly consumers: number;
  readonly durationMs: number;
  readonly budget: boolean;
  /** Stop a consumer at its first DailyQuotaExhausted (the quota phase). */
  readonly stopOnQuota: boolean;
  /** Pause between a consumer's calls (0: as fast as it can). */
  readonly paceMs: number;
}

export interface BudgetWorkerResult {
  /** Epoch ms of each successful Marketo call (answer received). */
  readonly successAt: number[];
  readonly marketoErrors: Record<string, number>;
  readonly failures: Record<string, number>;
  /** Round trips of permit requests granted without waiting, ms. */
  readonly permitLatencyMs: number[];
  /** Whole marketoFetch durations of calls that succeeded, ms. */
  readonly callLatencyMs: number[];
  /** Per successful call: from `marketoFetch` to its request leaving for Marketo (the wait for a permit), ms. */
  readonly permitWaitMs: number[];
  /** Durations of marketoFetch calls that ended in DailyQuotaExhausted, ms. */
  readonly quotaErrorMs: number[];
  readonly quotaErrorSample?: string;
  readonly permitRequests: number;
  readonly releaseRequests: number;
  readonly storeReads: number;
  readonly storeWrites: number;
  readonly waits: number;
  /** Permits that arrived after their use-by time (given back, asked again). */
  readonly expired: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as BudgetWorkerInput;

const dynamo = benchDynamoClient(input.dynamoEndpoint);
const inner = new DynamoBudgetStore({ client: dynamo, tableName: input.tableName });
let storeReads = 0;
let storeWrites = 0;
const store: typeof inner = Object.assign(Object.create(inner) as typeof inner, {
  get: (instance: string) => {
    storeReads += 1;
    return inner.get(instance);
  },
  save: (...args: Parameters<typeof inner.save>) => {
    storeWrites += 1;
    return inner.save(...args);
  },
  release: (instance: string, permitId: string) => {
    storeWrites += 1;
    return inner.release(instance, permitId);
  },
});
const credentials = benchCredentials(input);
const api: ApiDeps = {
  vendor: NO_TOKEN_VENDOR,
  telemetry: createTelemetry('budget-worker'),
  maxWaitMs: 0,
  permits: createPermitService({ budget: createInstanceBudget({ store, clock: systemClock }), credentials }),
};

// A worker outlives nothing: when the parent goes, so does it.
process.on('disconnect', () => process.exit(1));

async function main(): Promise<void> {
  // The vend Lambda's API surface this benchmark needs: the token route and the permit routes.
  const vendApi = await startLoopbackVendApi({
    api,
    accessToken: input.accessToken,
    caller: 'bench',
    onError: (error) => process.stderr.write(`budget worker API: ${String(error)}\n`),
  });
  const vendHost = `${new URL(vendApi.endpoint).host}/`;
  const permitLatencyMs: number[] = [];
  let permitRequests = 0;
  let releaseRequests = 0;
  /** The current consumer call: when its `marketoFetch` began, and when its Marketo request left. */
  const currentCall = new AsyncLocalStorage<{ readonly started: number; sentAt?: number }>();
  const timedFetch: typeof fetch = async (url, init) => {
    const target = String(url);
    if (!target.includes(vendHost)) {
      const call = currentCall.getStore();
      if (call) call.sentAt = nowMs();
      return fetch(url, init);
    }
    if (!target.includes('/permits')) return fetch(url, init);
    const release = target.endsWith('/release');
    if (release) releaseRequests += 1;
    else permitRequests += 1;
    const started = nowMs();
    const response = await fetch(url, init);
    if (!release && response.status === 200) {
      const body = (await response.clone().json()) as { waitedMs?: number };
      if (body.waitedMs === 0) permitLatencyMs.push(nowMs() - started);
    }
    return response;
  };
  const result = {
    successAt: [] as number[],
    marketoErrors: {} as Record<string, number>,
    failures: {} as Record<string, number>,
    callLatencyMs: [] as number[],
    permitWaitMs: [] as number[],
    quotaErrorMs: [] as number[],
    quotaErrorSample: undefined as string | undefined,
  };
  const count = (bucket: Record<string, number>, key: string) => {
    bucket[key] = (bucket[key] ?? 0) + 1;
  };
  const client = createTokenClient({
    endpoint: vendApi.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    fetch: timedFetch,
    budget: input.budget
      ? {
          maxWaitMs: 120_000,
          onEvent: (event) => {
            if (event.kind === 'unmetered') count(result.failures, `unmetered:${event.reason}`);
          },
        }
      : false,
  });
  // Ready (tsx, SDK loaded, API listening): the parent names the instant every process starts calling.
  const startAt = await new Promise<number>((resolve) => {
    process.once('message', (message: { startAt: number }) => resolve(message.startAt));
    process.send?.({ ready: true });
  });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const deadline = startAt + input.durationMs;
  const consumer = async (index: number) => {
    const clientId = input.clientIds[index % input.clientIds.length] as string;
    while (Date.now() < deadline) {
      const started = nowMs();
      const call: { readonly started: number; sentAt?: number } = { started };
      try {
        const response = await currentCall.run(call, () =>
          client.marketoFetch(clientId, `${input.restUrl}/rest/v1/leads.json?batchSize=1`),
        );
        const body = (await response.json()) as { success?: boolean; errors?: Array<{ code?: string }> };
        if (body.success === true) {
          result.successAt.push(Date.now());
          result.callLatencyMs.push(nowMs() - started);
          result.permitWaitMs.push((call.sentAt ?? started) - started);
        } else {
          count(result.marketoErrors, String(body.errors?.[0]?.code ?? 'unknown'));
        }
      } catch (error) {
        const code =
          error instanceof TokenVendorClientError
            ? error.code
            : error instanceof Error
              ? error.name
              : 'unknown';
        count(result.failures, code);
        if (code !== 'DailyQuotaExhausted') continue;
        result.quotaErrorSample ??= `${(error as Error).name} ${code}: ${(error as Error).message}`;
        if (!input.stopOnQuota) continue;
        // What a consumer sees from now on: the next call, timed from its start to the typed error.
        const again = nowMs();
        const next = await client
          .marketoFetch(clientId, `${input.restUrl}/rest/v1/leads.json`)
          .catch((e: unknown) => e);
        if (next instanceof TokenVendorClientError && next.code === 'DailyQuotaExhausted') {
          result.quotaErrorMs.push(nowMs() - again);
        }
        return;
      }
      if (input.paceMs > 0) await new Promise((resolve) => setTimeout(resolve, input.paceMs));
    }
  };
  await Promise.all(Array.from({ length: input.consumers }, (_, i) => consumer(i)));
  // Let lingering releases go out before counting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const stats = client.budgetStats();
  const out: BudgetWorkerResult = {
    ...result,
    permitLatencyMs,
    permitRequests,
    releaseRequests,
    storeReads,
    storeWrites,
    waits: stats.waits,
    expired: stats.expired,
  };
  vendApi.close();
  dynamo.destroy();
  // Keep-alive sockets (to the simulator, to dynalite) would hold the process: leave once the report is out.
  process.send?.(out, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`budget worker failed: ${String(error)}\n`);
  process.exit(1);
});
