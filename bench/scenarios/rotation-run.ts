/**
 * Scenario 8's runner, consumers across rotations (issue 15): real 3,600 s tokens on a virtual clock
 * (testing/clocks.ts `VirtualClock`: time moves only while no I/O is in flight, so what the run sees does not
 * depend on the machine's speed or load) that jumps to just before each expiry and runs across it.
 * Consumers use the client library exactly as an application would, `marketoFetch` against the
 * simulator's REST API plus `getToken`, through four vend handlers (warm Lambdas) while the refresher
 * sweeps as the schedule does. The same run measures the library's defaults and, side by side, the old ones
 * (minValidity 60 s, 10 s retry budget) and the new ones under ±2 s clock skew between vend instances.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createTokenClient, type TokenClientOptions, TokenVendorClientError } from '../../client/index.js';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { DEFAULT_REFRESH_HORIZON_SECONDS } from '../../functions/contract/index.js';
import type { Clock, IdentityClient } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import { coreLogger, coreMetrics, createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { wireVendor } from '../../functions/wire-vendor.js';
import { lambdaContext, routeEvent } from '../../test/support/api-event.js';
import { VirtualClock } from '../../testing/clocks.js';
import { startWorld, type World } from '../../testing/world.js';
import { withDiscardedStdout } from '../lib/quiet.js';
import { fmt } from '../lib/stats.js';
import { BENCH_VENDOR_CONFIG } from '../lib/world.js';

/** The client library's defaults before issue 15: kept so the "before" row can run them. */
export const LEGACY_CLIENT_DEFAULTS: Partial<TokenClientOptions> = {
  defaultMinValiditySeconds: 60,
  requestMinValiditySeconds: 60,
  retryBudgetMs: 10_000,
};

/** One configuration measured. */
export interface RotationRow {
  readonly name: string;
  /** Client library options on top of endpoint, region, credentials, fetch and clock. */
  readonly client: Partial<TokenClientOptions>;
  /** Clock offset of each vend instance, ms (cycled over the instances). */
  readonly skewMs: readonly number[];
  /** Virtual seconds measured before each expiry: more than the largest validity the row asks for. */
  readonly secondsBefore: number;
}

export const ROTATION_ROWS: readonly RotationRow[] = [
  {
    name: 'before: old library defaults (minValidity 60 s, 10 s retry budget)',
    client: LEGACY_CLIENT_DEFAULTS,
    skewMs: [0],
    secondsBefore: 70,
  },
  { name: 'library defaults', client: {}, skewMs: [0], secondsBefore: 30 },
  {
    name: 'library defaults, vend instances ±2 s apart',
    client: {},
    skewMs: [-2_000, 2_000, -1_000, 1_000],
    secondsBefore: 30,
  },
];

/** Options of {@link runRotation}. */
export interface RotationOptions {
  /** Expiries crossed per row. @default 3 */
  readonly expiries?: number;
  /** Consumers (each its own client library, as separate processes). @default 24 */
  readonly consumers?: number;
  /** Vend handler instances the consumers are spread over. @default 4 */
  readonly instances?: number;
  /** Virtual ms a consumer pauses between two calls. @default 500 */
  readonly pauseMs?: number;
  /** Every n-th consumer calls `getToken` (its default validity); the others `marketoFetch`. @default 6 */
  readonly getTokenConsumerEvery?: number;
  /** Virtual seconds measured after each expiry. @default 12 */
  readonly secondsAfter?: number;
  /** Identity latency (virtual ms), on top of the simulator's loopback answer. @default 150 */
  readonly identityLatencyMs?: number;
  readonly rows?: readonly RotationRow[];
  readonly log?: (line: string) => void;
}

/** A consumer call that spent at least this long (virtual) in the vendor or asleep for it "waited". */
export const WAITED_THRESHOLD_MS = 250;

/** Calls of one kind. */
export interface CallStats {
  calls: number;
  waited: number;
  maxWaitMs: number;
}

/** Everything measured for one row. */
export interface RotationRowResult {
  readonly row: RotationRow;
  readonly calls: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Per kind of call: how many, how many waited (see {@link WAITED_THRESHOLD_MS}), the longest wait (virtual ms). */
  readonly marketoFetch: CallStats;
  readonly getToken: CallStats;
  /** marketoFetch answers Marketo still refused (601/602) after the library's one retry. */
  readonly refusedAfterRetry: number;
  /** getToken answers with less than the asked validity left (a hard invariant). */
  readonly underValidity: number;
  readonly expiries: number;
  readonly identityCallsPerExpiry: readonly number[];
  /** Per expiry: the old token's true expiry to its successor in the store, virtual ms. */
  readonly gapsMs: readonly number[];
}

const CLIENT = 'rotation-bench';
const ENDPOINT = 'https://vendor.bench.invalid/v1';

/** A clock `skewMs` off the world's (a Lambda whose clock is ahead or behind). */
const skewed = (base: Clock, skewMs: number): Clock => ({
  now: () => base.now() + skewMs,
  sleep: (ms, signal) => base.sleep(ms, signal),
});

/** The real HTTP Identity client, answering `latencyMs` of virtual time later (Marketo is not on loopback). */
const slowIdentity = (virtual: VirtualClock, clock: Clock, latencyMs: number): IdentityClient => {
  const http = virtual.track(new HttpIdentityClient({ now: clock.now }));
  return {
    fetchToken: async (credentials, options) => {
      await clock.sleep(latencyMs, options.signal);
      return http.fetchToken(credentials, options);
    },
  };
};

/**
 * A vend instance as a warm Lambda has it: its own engine, secret cache and clock; the benchmarks' engine
 * settings. Wired here rather than by `world.vendor`, which would count the whole Identity call, latency
 * included, as I/O in flight (virtual time could not move during it); its store, secret and HTTP calls are.
 */
const vendInstance = (
  world: World<Clock>,
  virtual: VirtualClock,
  clock: Clock,
  instanceId: string,
  identityLatencyMs: number,
): TokenVendor => {
  const telemetry = createTelemetry('marketo-token-vendor');
  return wireVendor({
    store: virtual.track(world.store()),
    credentials: virtual.track(
      new SecretsManagerCredentials({ client: world.clients.secrets, now: clock.now }),
    ),
    identity: slowIdentity(virtual, clock, identityLatencyMs),
    clock,
    instanceId,
    telemetry: { logger: coreLogger(telemetry.logger), metrics: coreMetrics(telemetry.metrics) },
    config: BENCH_VENDOR_CONFIG,
  });
};

/** `fetch` counted as I/O by the virtual clock, body read inside (so time cannot jump mid-answer). */
const trackedFetch = (clock: VirtualClock): typeof fetch => {
  const io = clock.track({
    fetch: async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const response = await fetch(input, init);
      const body = await response.text();
      return new Response(body, { status: response.status, headers: response.headers });
    },
  });
  return (input, init) => io.fetch(input, init);
};

/** API Gateway in front of a vend handler: the library's signed request becomes a REST proxy event. */
const gatewayFetch = (handler: ReturnType<typeof createVendHandler>) => {
  return async (url: URL, init: RequestInit | undefined): Promise<Response> => {
    const kind = url.pathname.endsWith('/invalidate') ? 'invalidate' : 'token';
    const result = (await handler(
      routeEvent(
        kind,
        { clientId: CLIENT },
        {
          query: Object.fromEntries(url.searchParams),
          ...(typeof init?.body === 'string' ? { body: init.body } : {}),
        },
      ),
      lambdaContext(),
    )) as APIGatewayProxyResult;
    const headers = Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([key, value]) => [key, String(value)]),
    );
    return new Response(result.body, { status: result.statusCode, headers });
  };
};

/** Runs one row on a fresh loopback world. */
async function runRow(
  row: RotationRow,
  o: Required<Omit<RotationOptions, 'log' | 'rows'>>,
): Promise<RotationRowResult> {
  const clock = new VirtualClock();
  // The benchmarks' engine settings (production defaults) and the Lambdas' two SDK attempts, on virtual time.
  const world: World<Clock> = await startWorld({
    clock,
    lifespanSeconds: 3600,
    vendorDefaults: BENCH_VENDOR_CONFIG,
    sdkMaxAttempts: 2,
  });
  try {
    world.register(CLIENT);
    const toMarketo = trackedFetch(clock);
    const handlers = Array.from({ length: o.instances }, (_, i) =>
      createVendHandler({
        vendor: vendInstance(
          world,
          clock,
          skewed(clock, row.skewMs[i % row.skewMs.length] ?? 0),
          `vend-${i}`,
          o.identityLatencyMs,
        ),
        telemetry: createTelemetry('marketo-token-vendor'),
      }),
    );
    const refresher = vendInstance(world, clock, clock, 'refresher', o.identityLatencyMs);
    const store = clock.track(world.store());

    const errors: Record<string, number> = {};
    let calls = 0;
    const stats = {
      marketoFetch: { calls: 0, waited: 0, maxWaitMs: 0 },
      getToken: { calls: 0, waited: 0, maxWaitMs: 0 },
    };
    let refusedAfterRetry = 0;
    let underValidity = 0;
    let measuring = false;
    let running = true;

    /** One consumer: its own library instance; time spent in the vendor or asleep for it is its wait. */
    const consumers = Array.from({ length: o.consumers }, (_, index) => {
      const toVendor = gatewayFetch(handlers[index % handlers.length] as (typeof handlers)[number]);
      let vendorMs = 0;
      const fetchImpl: typeof fetch = async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (!url.href.startsWith(ENDPOINT)) return toMarketo(input, init); // Marketo REST: the simulator
        const started = clock.now();
        try {
          return await toVendor(url, init);
        } finally {
          vendorMs += clock.now() - started;
        }
      };
      const tokens = createTokenClient({
        endpoint: ENDPOINT,
        region: 'us-east-1',
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
        fetch: fetchImpl,
        clock: {
          now: clock.now,
          sleep: async (ms) => {
            const started = clock.now();
            await clock.sleep(ms);
            vendorMs += clock.now() - started;
          },
        },
        // This scenario measures token rotations; the shared Marketo API budget (permits) has its own scenario.
        budget: false,
        ...row.client,
      });
      const leads = `${world.simulator.restUrl}/rest/v1/leads.json?batchSize=1`;
      const call = async (): Promise<void> => {
        const before = vendorMs;
        const kind =
          index % o.getTokenConsumerEvery === o.getTokenConsumerEvery - 1 ? 'getToken' : 'marketoFetch';
        try {
          if (kind === 'getToken') {
            const minValidity = row.client.defaultMinValiditySeconds ?? 20;
            const token = await tokens.getToken(CLIENT);
            // The vendor states whole seconds left (rounded down): up to 1 s less than it guaranteed.
            if (token.expiresAt - clock.now() < (minValidity - 1) * 1000 && measuring) underValidity += 1;
          } else {
            const response = await tokens.marketoFetch(CLIENT, leads);
            const body = (await response.json()) as { success?: boolean };
            if (body.success !== true && measuring) refusedAfterRetry += 1;
          }
        } catch (error) {
          const code = error instanceof TokenVendorClientError ? error.code : 'Unexpected';
          if (measuring) errors[code] = (errors[code] ?? 0) + 1;
        }
        if (!measuring) return;
        calls += 1;
        const waitMs = vendorMs - before;
        const of = stats[kind];
        of.calls += 1;
        if (waitMs >= WAITED_THRESHOLD_MS) of.waited += 1;
        of.maxWaitMs = Math.max(of.maxWaitMs, waitMs);
      };
      return { call };
    });
    const loop = async (consumer: (typeof consumers)[number], index: number): Promise<void> => {
      // Consumers start spread over one pause, as independent processes would.
      await clock.sleep((o.pauseMs * index) / o.consumers);
      while (running) {
        await consumer.call();
        await clock.sleep(o.pauseMs);
      }
    };

    // Warm-up (not measured): every consumer holds the first token, as in the middle of any hour.
    await clock.settle(Promise.all(consumers.map((c) => c.call())));
    const identityCallsPerExpiry: number[] = [];
    const gapsMs: number[] = [];
    for (let expiry = 0; expiry < o.expiries; expiry += 1) {
      const current = world.simulator.currentToken(CLIENT);
      if (!current) throw new Error('rotation bench: the simulator holds no token after the warm-up');
      // Jump to just before the expiry (nothing is in flight or waiting), then run across it.
      await clock.advance(current.expiresAt - row.secondsBefore * 1000 - clock.now());
      const identityBefore = world.simulator.identityCalls(CLIENT);
      const end = current.expiresAt + o.secondsAfter * 1000;
      running = true;
      measuring = true;
      let successorAt: number | undefined;
      const monitor = (async () => {
        while (clock.now() < end) {
          const record = await store.get(CLIENT);
          const token = record?.token;
          if (successorAt === undefined && token && token.accessToken !== current.accessToken)
            successorAt = clock.now();
          await clock.sleep(40);
        }
      })();
      // The schedule (every 60 s, horizon 60 s) with a different phase at each expiry.
      const refresherLoop = (async () => {
        await clock.sleep(((expiry * 20) % 60) * 1000);
        while (clock.now() < end) {
          await refresher.refreshAll({ horizonMs: DEFAULT_REFRESH_HORIZON_SECONDS * 1000 });
          await clock.sleep(60_000);
        }
      })();
      const window = (async () => {
        const loops = consumers.map((c, i) => loop(c, i));
        while (clock.now() < end) await clock.sleep(200);
        running = false;
        await Promise.all(loops);
        measuring = false;
        await Promise.all([monitor, refresherLoop]);
      })();
      await clock.settle(window);
      identityCallsPerExpiry.push(world.simulator.identityCalls(CLIENT) - identityBefore);
      if (successorAt !== undefined) gapsMs.push(Math.max(0, successorAt - current.expiresAt));
    }
    return {
      row,
      calls,
      errors,
      ...stats,
      refusedAfterRetry,
      underValidity,
      expiries: o.expiries,
      identityCallsPerExpiry,
      gapsMs,
    };
  } finally {
    await world.stop();
  }
}

/** Runs every row, one after the other, each on its own world. */
export async function runRotation(options: RotationOptions = {}): Promise<{
  readonly options: Required<Omit<RotationOptions, 'log' | 'rows'>>;
  readonly rows: readonly RotationRowResult[];
}> {
  const o = {
    expiries: options.expiries ?? 3,
    consumers: options.consumers ?? 24,
    instances: options.instances ?? 4,
    pauseMs: options.pauseMs ?? 500,
    getTokenConsumerEvery: options.getTokenConsumerEvery ?? 6,
    secondsAfter: options.secondsAfter ?? 12,
    identityLatencyMs: options.identityLatencyMs ?? 150,
  };
  const log = options.log ?? (() => {});
  const rows: RotationRowResult[] = [];
  for (const row of options.rows ?? ROTATION_ROWS) {
    const { result } = await withDiscardedStdout(() => runRow(row, o));
    rows.push(result);
    log(
      `  rotation ${row.name}: ${result.calls} calls, errors ${errorText(result)}, max wait ` +
        `${fmt(result.marketoFetch.maxWaitMs)} ms (marketoFetch) / ${fmt(result.getToken.maxWaitMs)} ms (getToken)`,
    );
  }
  return { options: o, rows };
}

/** Errors by code, or `0`. */
export const errorText = (r: RotationRowResult): string => {
  const entries = Object.entries(r.errors);
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
};
