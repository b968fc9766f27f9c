/**
 * Shared set-up of the fault matrix: real adapters against the loopback stand-ins (dynalite, the Secrets
 * Manager stub, the Marketo simulator), vendors with short leases and timeouts so every row runs in
 * about a second, and an API caller that measures elapsed time and feeds every error body to the
 * suite-wide leak scan.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { expect } from 'vitest';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import type { ClientCredentials, Clock, IdentityClient, IdentityToken } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import type { TokenVendorConfig } from '../../functions/core/vendor-config.js';
import { coreLogger, createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { captureText } from '../../testing/leak-scan.js';
import { LOOPBACK_VENDOR_CONFIG, type VendorOptions, type World } from '../../testing/world.js';
import { lambdaContext } from '../support/api-event.js';

/** The caller's budget in the rows (the handler's maximum wait): room for 4 Identity attempts and backoff. */
export const CALLER_BUDGET_MS = 6_000;

/**
 * Short enough for a quick suite, long enough that a busy machine still finishes a cold vend inside them:
 * with every core busy (`npm run test:stress`, other jobs) a loopback store or Identity call took over
 * 300 ms and a cold vend over 2 s, which made Identity timeouts, lease take-overs and budget answers of
 * rows that test none of these. Rows about a lapse or a budget set their own shorter values.
 */
export const FAST_CONFIG: Partial<TokenVendorConfig> = {
  ...LOOPBACK_VENDOR_CONFIG,
  identityTimeoutMs: 1_000,
  leaseDurationMs: 3_000,
  defaultMaxWaitMs: CALLER_BUDGET_MS,
};

/**
 * Allowed lateness over a caller's budget, in real time. Real time, because these rows run real sockets
 * and real Identity timeouts: the point is that a hung, refused or failing Identity cannot hold a caller
 * past its budget. Idle, this machine answered those rows 0.1 to 1.1 s after the request (then a 2 s budget),
 * the budget's own timer firing a few ms late. The margin holds on a machine ten times slower (its I/O,
 * CPU and event-loop lag ten times as long, the budget timer unchanged) or with every core busy
 * (`npm run test:stress`), and is still far below the 25 s a vendor ignoring the caller's budget would take.
 */
export const BUDGET_MARGIN_MS = 3_000;

/**
 * A clock that records the sleeps that ran to the end (a deadline timer that is cancelled is not one):
 * "gave up at once" is then a fact of the event order, not a measured duration.
 */
export class SleepRecordingClock implements Clock {
  readonly completedSleepsMs: number[] = [];
  constructor(private readonly base: Clock) {}
  now = (): number => this.base.now();
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    await this.base.sleep(ms, signal);
    this.completedSleepsMs.push(ms);
  };
}

/** A clock `skewMs` away from the world's (true) clock, as a Lambda with a drifting clock would be. */
export class SkewedClock implements Clock {
  constructor(
    private readonly base: Clock,
    private readonly skewMs: number,
  ) {}
  now = (): number => this.base.now() + this.skewMs;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => this.base.sleep(ms, signal);
}

/** What a row may replace in a vendor: store, Identity, credentials, clock, config, instance id. */
export type VendorParts = Omit<VendorOptions, 'logger' | 'metrics'>;

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: { error?: { code: string; message: string }; accessToken?: string; expiresIn?: number };
  readonly elapsedMs: number;
}

let instances = 0;

/** A vendor on the world's adapters (each piece replaceable), logging through Powertools (captured). */
export function makeVendor(world: World, parts: VendorParts = {}): TokenVendor {
  instances += 1;
  const telemetry = createTelemetry('reliability');
  return world.vendor({
    ...parts,
    logger: coreLogger(telemetry.logger),
    instanceId: parts.instanceId ?? `reliability-${instances}`,
    config: { ...FAST_CONFIG, ...parts.config },
  });
}

/**
 * The vend handler over `vendor`, as API Gateway calls it. Asserts the rules every answer must keep
 * (never a 500, always no-store, the error shape on failures) and hands error bodies to the leak scan.
 */
export function apiCaller(vendor: TokenVendor, maxWaitMs = CALLER_BUDGET_MS) {
  const telemetry = createTelemetry('reliability-api');
  const handler = createVendHandler({ vendor, telemetry, maxWaitMs });
  return async (event: APIGatewayProxyEvent): Promise<ApiAnswer> => {
    const started = Date.now();
    const result = (await handler(event, lambdaContext())) as APIGatewayProxyResult;
    const elapsedMs = Date.now() - started;
    const headers = (result.headers ?? {}) as Record<string, string>;
    expect(result.statusCode).not.toBe(500);
    expect(headers['Cache-Control']).toBe('no-store');
    const body = JSON.parse(result.body) as ApiAnswer['body'];
    if (result.statusCode >= 300) {
      captureText(`${result.statusCode} ${result.body}\n`);
      expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    return { status: result.statusCode, headers, body, elapsedMs };
  };
}

export { captureError } from '../../testing/leak-scan.js';

/** A loopback port nothing listens on (bound by the OS, then released): connections are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An Identity client that forwards to `inner` except for `frozen` clients, whose calls never settle
 * (a Lambda frozen or killed mid-call: no answer, no lease release, no store write). Counts calls.
 */
export class FreezableIdentity implements IdentityClient {
  readonly frozen = new Set<string>();
  calls = 0;
  constructor(private readonly inner: IdentityClient = new HttpIdentityClient()) {}
  fetchToken(
    credentials: ClientCredentials,
    options: { readonly timeoutMs: number },
  ): Promise<IdentityToken> {
    this.calls += 1;
    if (this.frozen.has(credentials.clientId)) return new Promise<never>(() => {});
    return this.inner.fetchToken(credentials, options);
  }
}

/** Refuses (and records) any Identity URL that is not loopback: proves an SSRF row never left the host. */
export class LoopbackOnlyIdentity implements IdentityClient {
  readonly urls: string[] = [];
  constructor(private readonly inner: IdentityClient = new HttpIdentityClient()) {}
  fetchToken(
    credentials: ClientCredentials,
    options: { readonly timeoutMs: number },
  ): Promise<IdentityToken> {
    this.urls.push(credentials.identityUrl);
    if (new URL(credentials.identityUrl).hostname !== '127.0.0.1') {
      return Promise.reject(new Error('test guard: refused a non-loopback Identity URL'));
    }
    return this.inner.fetchToken(credentials, options);
  }
}

/**
 * An Identity client that gets its answer from `inner`, then stalls `pauseMs` before returning it,
 * ignoring the call's timeout: a Lambda frozen (or stuck in a GC pause) between Identity's answer and
 * its store write. Only the next call stalls.
 */
export class PausingIdentity implements IdentityClient {
  constructor(
    private pauseMs: number,
    private readonly inner: IdentityClient = new HttpIdentityClient(),
  ) {}
  async fetchToken(
    credentials: ClientCredentials,
    options: { readonly timeoutMs: number },
  ): Promise<IdentityToken> {
    const answer = await this.inner.fetchToken(credentials, options);
    const pause = this.pauseMs;
    this.pauseMs = 0;
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    return answer;
  }
}
