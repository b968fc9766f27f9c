/**
 * An in-process Marketo simulator (Identity + REST) on loopback, faithful to the Marketo facts in
 * docs/DESIGN: the same token is returned with its remaining lifespan until it expires, a new one only
 * after; REST answers HTTP 200 with `errors` 601/602, and 603 outside the role of a client's API-only user.
 * Used by tests, benchmarks and local mode.
 * It never logs; tests read its counters instead.
 *
 * This file is the simulator's server and lifecycle, and its one public face. Each idea lives beside it in
 * `simulator/`: the clients and their tokens (`tokens.ts`), Identity with its faults (`identity.ts`), REST
 * with its leads (`rest.ts`), Bulk Extract with its queue and daily export quota (`bulk.ts`), the HTTP
 * plumbing (`http.ts`); the instance's limits are in `marketo-limits.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LimitCounters, MarketoLimiter, type SimulatedLimits } from './marketo-limits.js';
import { type BulkCounters, BulkExtractEndpoint, type SimulatedBulkOptions } from './simulator/bulk.js';
import { drain, PendingWork, sendJson } from './simulator/http.js';
import { IdentityEndpoint, type IdentityFault, type IdentityRequestRecord } from './simulator/identity.js';
import { RestEndpoint, type RestErrorCode, type RestRequestRecord } from './simulator/rest.js';
import { type SimulatorClient, TokenIssuer } from './simulator/tokens.js';
import { type DayUsage, OUTSIDE_USER, UsageCounter } from './simulator/usage.js';

/**
 * The demo client of local mode and `npm run simulator`. Its secret is a public demo value, which is
 * why (and the only case where) it may be printed.
 */
export const DEMO_CLIENT: SimulatorClient = Object.freeze({
  clientId: 'demo-client',
  clientSecret: 'demo-secret-change-me',
});

/** Options of {@link createMarketoSimulator}. */
export interface MarketoSimulatorOptions {
  /** @default [] */
  readonly clients?: readonly SimulatorClient[];
  /** Lifespan of a newly issued token. @default 3600 */
  readonly tokenLifespanSeconds?: number;
  /** Epoch ms; drives token expiry so tests can use a fake clock. @default Date.now */
  readonly now?: () => number;
  /** @default 0 (ephemeral port chosen by the OS) */
  readonly port?: number;
  /** Added to every Identity answer (real timers, not `now`). @default 0 */
  readonly latencyMs?: number;
  /**
   * For this many ms after a token's expiry Identity still returns the old, dead token with
   * `"expires_in":0` (seen in the wild). @default 0
   */
  readonly expiryEdgeMs?: number;
  /** Suffix of issued tokens (`<uuid>:<pod>`), like Marketo's `:int`, `:ab`. @default 'sim' */
  readonly pod?: string;
  /** Number of fake leads served by `/rest/v1/leads.json`. @default 1000 */
  readonly leadCount?: number;
  /**
   * Enforce Marketo's per-instance limits on REST calls (606 rate over a rolling window, 615 concurrency,
   * 607 daily quota): `true` for Marketo's documented values, or this instance's own. @default off
   */
  readonly limits?: true | Partial<SimulatedLimits>;
  /** Added to every REST answer (real timers): makes concurrency observable. @default 0 */
  readonly restLatencyMs?: number;
  /**
   * Bulk Extract (`/bulk/v1/<object>/export/…`) with Marketo's queue (10, 2 processing) and daily export
   * quota (500 MB), or this instance's own; `now` a faster clock for the jobs. @default Marketo's limits
   */
  readonly bulk?: Partial<SimulatedBulkOptions>;
}

/** A Marketo Identity + REST simulator on 127.0.0.1. */
export class MarketoSimulator {
  readonly #tokens: TokenIssuer;
  readonly #identity: IdentityEndpoint;
  readonly #rest: RestEndpoint;
  readonly #pending = new PendingWork();
  readonly #requestedPort: number;
  #server?: Server;
  #port?: number;

  constructor(options: MarketoSimulatorOptions = {}) {
    const now = options.now ?? Date.now;
    this.#tokens = new TokenIssuer({
      now,
      lifespanMs: (options.tokenLifespanSeconds ?? 3600) * 1000,
      expiryEdgeMs: options.expiryEdgeMs ?? 0,
      pod: options.pod ?? 'sim',
    });
    for (const client of options.clients ?? []) this.#tokens.addClient(client);
    this.#identity = new IdentityEndpoint(this.#tokens, this.#pending, now, options.latencyMs ?? 0);
    this.#rest = new RestEndpoint({
      issuer: this.#tokens,
      pending: this.#pending,
      leadCount: options.leadCount ?? 1000,
      latencyMs: options.restLatencyMs ?? 0,
      usage: new UsageCounter(now),
      bulk: new BulkExtractEndpoint(options.bulk ?? {}, now),
      ...(options.limits === undefined
        ? {}
        : { limiter: new MarketoLimiter(options.limits === true ? {} : options.limits, now) }),
    });
    this.#requestedPort = options.port ?? 0;
  }

  /** Listens on 127.0.0.1 (never another interface). */
  async start(): Promise<void> {
    if (this.#server) throw new Error('simulator already started');
    const server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        // A handler failure must not take the test process down; answer 500 if still possible.
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#requestedPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and closes every socket at once, including hanging and keep-alive ones. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#pending.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** `http://127.0.0.1:<port>`; throws before `start()`. */
  get url(): string {
    if (this.#port === undefined) throw new Error('simulator not started');
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The Identity URL to register with a client, like `https://123-ABC-456.mktorest.com/identity`. */
  get identityUrl(): string {
    return `${this.url}/identity`;
  }

  /** The REST base URL; REST paths are `/rest/v1/...`. */
  get restUrl(): string {
    return this.url;
  }

  /** Registers (or replaces) a Custom Service. */
  addClient(client: SimulatorClient): void {
    this.#tokens.addClient(client);
  }

  /** Deletes a Custom Service; Identity then answers `invalid_client`. Issued tokens live on until expiry. */
  removeClient(clientId: string): void {
    this.#tokens.removeClient(clientId);
  }

  /** Models secret rotation: the old secret is refused from now on; the current token stays valid. */
  setClientSecret(clientId: string, clientSecret: string): void {
    this.#tokens.setClientSecret(clientId, clientSecret);
  }

  /** The client's current token, for assertions (undefined when none is live or in its edge window). */
  currentToken(clientId: string): { readonly accessToken: string; readonly expiresAt: number } | undefined {
    return this.#tokens.currentToken(clientId);
  }

  /**
   * Makes a token expiring at `expiresAt` (epoch ms) the client's current one, as if issued a lifespan
   * earlier: benchmarks start a steady state with expiries spread over the hour without an Identity call each.
   */
  seedToken(clientId: string, expiresAt: number): { readonly accessToken: string } {
    return this.#tokens.seedToken(clientId, expiresAt);
  }

  /** The client's current token becomes invalid at once (REST 601); the next Identity call issues a new one. */
  revokeToken(clientId: string): void {
    this.#tokens.revokeToken(clientId);
  }

  /**
   * The next `times` Identity requests (of `clientId` only, when given) misbehave as `fault`.
   * Faults queue up in order.
   */
  injectIdentityFault(fault: IdentityFault, times = 1, options: { readonly clientId?: string } = {}): void {
    this.#identity.injectFault(fault, times, options.clientId);
  }

  /** Drops every pending Identity fault and forced REST error. */
  clearFaults(): void {
    this.#identity.clearFaults();
    this.#rest.clearForcedErrors();
  }

  /** The next `times` REST calls answer `code` whatever token they carry. */
  forceRestError(code: RestErrorCode, times = 1): void {
    this.#rest.forceError(code, times);
  }

  /** The next `times` REST calls get this HTTP status with an HTML page (an instance that is down). */
  forceRestHttpStatus(status: number, times = 1): void {
    this.#rest.forceHttpStatus(status, times);
  }

  /**
   * Replaces the role of a Custom Service's API-only user (`undefined`: every permission). Its live token
   * follows at once, as in Marketo, where the role is checked on every call.
   */
  setClientPermissions(clientId: string, permissions: readonly string[] | undefined): void {
    this.#tokens.setClientPermissions(clientId, permissions);
  }

  /** Latency added to every Identity answer from now on. */
  setLatency(ms: number): void {
    this.#identity.latencyMs = ms;
  }

  /** Latency added to every REST answer from now on. */
  setRestLatency(ms: number): void {
    this.#rest.latencyMs = ms;
  }

  /** What the limit enforcement saw (undefined when limits are off). */
  limitCounters(): LimitCounters | undefined {
    return this.#rest.limiter?.counters();
  }

  /** What Bulk Extract saw: jobs, 1029 refusals, peaks, the day's exported bytes (in total and per client). */
  bulkCounters(): BulkCounters {
    return (this.#rest.bulk as BulkExtractEndpoint).counters();
  }

  /** Uses up `calls` of today's daily quota at once; throws when limits are off. */
  spendDailyQuota(calls: number): void {
    if (!this.#rest.limiter) throw new Error('simulator limits are off');
    this.#rest.limiter.spendDailyQuota(calls);
  }

  /**
   * Identity's answer to a client-credentials request without HTTP (counted as a call; no faults or
   * latency): for benchmarks whose 100,000 clients would spend their time in loopback HTTP.
   */
  identityInProcess(
    clientId: string,
    clientSecret: string,
  ): { status: number; body: Record<string, unknown> } {
    return this.#identity.answerInProcess(
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }),
    );
  }

  /**
   * Calls made today by integrations that do not use the vendor: they count in usage.json and against the
   * daily quota (when limits are on) like any accepted call.
   */
  recordOutsideCalls(calls: number, userId = OUTSIDE_USER): void {
    this.#rest.usage.record(userId, calls);
    this.#rest.limiter?.spendDailyQuota(calls);
  }

  /** Today's calls as `GET /rest/v1/stats/usage.json` reports them (every accepted call, per API user). */
  usageToday(): DayUsage {
    return this.#rest.usage.today();
  }

  /** Identity requests received (successful or not), for one client id or in total. */
  identityCalls(clientId?: string): number {
    return this.#identity.calls(clientId);
  }

  /** Identity requests received since the last `resetCounters()` (the latest 10,000). */
  identityRequests(): readonly IdentityRequestRecord[] {
    return this.#identity.requests();
  }

  /** REST requests received. */
  restCalls(): number {
    return this.#rest.calls();
  }

  /** REST requests since the last `resetCounters()` (the latest 10,000): method, path, client, answer. */
  restRequests(): readonly RestRequestRecord[] {
    return this.#rest.requests();
  }

  /** REST requests that carried the token only as the `access_token` query parameter (refused: 601). */
  accessTokenQueryParamUses(): number {
    return this.#rest.queryParamUses();
  }

  /** Every access token ever issued (not cleared by `resetCounters`): the leak scan looks for these. */
  issuedTokens(): string[] {
    return this.#tokens.issuedTokens();
  }

  /** Zeroes the call counters and the request log; tokens, clients and faults are kept. */
  resetCounters(): void {
    this.#identity.resetCounters();
    this.#rest.resetCounters();
    this.#rest.bulk?.resetCounters();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/identity/oauth/token') return this.#identity.handle(req, res, url);
    if (url.pathname.startsWith('/rest/') || BulkExtractEndpoint.serves(url.pathname)) {
      return this.#rest.handle(req, res, url);
    }
    await drain(req);
    sendJson(res, 404, { error: 'not_found', error_description: `No route for ${url.pathname}` });
  }
}

/** Creates a (not yet started) simulator. */
export const createMarketoSimulator = (options: MarketoSimulatorOptions = {}): MarketoSimulator =>
  new MarketoSimulator(options);
