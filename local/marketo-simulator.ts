/**
 * An in-process Marketo simulator (Identity + REST) on loopback, faithful to the Marketo facts in
 * docs/DESIGN: the same token is returned with its remaining lifespan until it expires, a new one only
 * after; REST answers HTTP 200 with `errors` 601/602. Used by tests, benchmarks and local mode.
 * It never logs; tests read its counters instead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LimitCounters, limitMessage, MarketoLimiter, type SimulatedLimits } from './marketo-limits.js';

/** A Custom Service known to the simulator. */
export interface SimulatorClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The API-only user's email, returned as `scope`. @default `<clientId>@api-user.marketo-simulator.test` */
  readonly scope?: string;
}

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
}

/** Ways the next Identity request(s) can misbehave. */
export type IdentityFault =
  /** An HTTP error status with a JSON (default) or HTML body, optionally with `Retry-After`. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: 'json' | 'html';
      readonly retryAfter?: string;
    }
  /** HTTP 200 whose body is cut-off JSON. */
  | { readonly kind: 'malformed-json' }
  /** HTTP 200 JSON without `access_token`. */
  | { readonly kind: 'no-access-token' }
  /** A real token with `expires_in` replaced (`null`: the field is missing). */
  | { readonly kind: 'expires-in'; readonly value: number | null }
  /** The socket is destroyed without any response. */
  | { readonly kind: 'drop' }
  /** Headers and part of the body are sent, then the socket is destroyed. */
  | { readonly kind: 'reset-mid-body' }
  /** No answer until the client gives up or the simulator stops. */
  | { readonly kind: 'hang' }
  /** Answers normally after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** HTTP 200 with a Marketo `errors` array (606 by default, or 607 daily quota / 615 concurrency). */
  | { readonly kind: 'rate-limit'; readonly code?: '606' | '607' | '615' };

/** One Identity request as the simulator saw it (for asserting how clients send credentials). */
export interface IdentityRequestRecord {
  readonly method: string;
  readonly clientId?: string;
  /** Where `client_secret` travelled: a URL query string is logged by proxies, a form body is not. */
  readonly secretIn: 'query' | 'body' | 'none';
  readonly at: number;
}

/** A fake Marketo lead. */
export interface SimulatedLead {
  readonly id: number;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
}

interface TokenState {
  readonly accessToken: string;
  readonly clientId: string;
  readonly scope: string;
  readonly expiresAt: number;
  revoked: boolean;
}

interface PendingFault {
  readonly fault: IdentityFault;
  remaining: number;
  readonly clientId?: string;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY_BYTES = 64 * 1024;
const MAX_BATCH_SIZE = 300;
/** The request log is for assertions; a long benchmark must not grow it without bound. */
const MAX_REQUEST_LOG = 10_000;
const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Radia',
  'John',
];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson'];
const REST_ERROR_MESSAGES: Record<'601' | '602', string> = {
  '601': 'Access token invalid',
  '602': 'Access token expired',
};

/** The fake lead with id `id` (1-based), the same on every run. */
export const simulatedLead = (id: number): SimulatedLead => ({
  id,
  email: `lead${id}@example.com`,
  firstName: FIRST_NAMES[(id - 1) % FIRST_NAMES.length] as string,
  lastName: LAST_NAMES[(id - 1) % LAST_NAMES.length] as string,
});

/** A Marketo Identity + REST simulator on 127.0.0.1. */
export class MarketoSimulator {
  readonly #clients = new Map<string, SimulatorClient>();
  /** Current token per client id. */
  readonly #current = new Map<string, TokenState>();
  /** Every token ever issued, by value (REST validation, leak scans). */
  readonly #issued = new Map<string, TokenState>();
  readonly #faults: PendingFault[] = [];
  readonly #forcedRestErrors: Array<{ code: '601' | '602'; remaining: number }> = [];
  readonly #identityCalls = new Map<string, number>();
  readonly #identityRequests: IdentityRequestRecord[] = [];
  readonly #hanging = new Set<ServerResponse>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #now: () => number;
  readonly #lifespanMs: number;
  readonly #expiryEdgeMs: number;
  readonly #pod: string;
  readonly #leadCount: number;
  readonly #requestedPort: number;
  #latencyMs: number;
  #restLatencyMs: number;
  readonly #limiter?: MarketoLimiter;
  #identityTotal = 0;
  #restCalls = 0;
  #queryParamUses = 0;
  #server?: Server;
  #port?: number;

  constructor(options: MarketoSimulatorOptions = {}) {
    for (const client of options.clients ?? []) this.addClient(client);
    this.#now = options.now ?? Date.now;
    this.#lifespanMs = (options.tokenLifespanSeconds ?? 3600) * 1000;
    this.#expiryEdgeMs = options.expiryEdgeMs ?? 0;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#pod = options.pod ?? 'sim';
    this.#leadCount = options.leadCount ?? 1000;
    this.#requestedPort = options.port ?? 0;
    this.#restLatencyMs = options.restLatencyMs ?? 0;
    if (options.limits !== undefined) {
      this.#limiter = new MarketoLimiter(options.limits === true ? {} : options.limits, this.#now);
    }
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
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
    this.#clients.set(client.clientId, { ...client });
  }

  /** Deletes a Custom Service; Identity then answers `invalid_client`. Issued tokens live on until expiry. */
  removeClient(clientId: string): void {
    this.#clients.delete(clientId);
    this.#current.delete(clientId);
  }

  /** Models secret rotation: the old secret is refused from now on; the current token stays valid. */
  setClientSecret(clientId: string, clientSecret: string): void {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`unknown simulator client "${clientId}"`);
    this.#clients.set(clientId, { ...client, clientSecret });
  }

  /** The client's current token, for assertions (undefined when none is live or in its edge window). */
  currentToken(clientId: string): { readonly accessToken: string; readonly expiresAt: number } | undefined {
    const state = this.#current.get(clientId);
    return state ? { accessToken: state.accessToken, expiresAt: state.expiresAt } : undefined;
  }

  /** The client's current token becomes invalid at once (REST 601); the next Identity call issues a new one. */
  revokeToken(clientId: string): void {
    const state = this.#current.get(clientId);
    if (state) state.revoked = true;
    this.#current.delete(clientId);
  }

  /**
   * The next `times` Identity requests (of `clientId` only, when given) misbehave as `fault`.
   * Faults queue up in order.
   */
  injectIdentityFault(fault: IdentityFault, times = 1, options: { readonly clientId?: string } = {}): void {
    this.#faults.push({ fault, remaining: times, clientId: options.clientId });
  }

  /** Drops every pending Identity fault and forced REST error. */
  clearFaults(): void {
    this.#faults.length = 0;
    this.#forcedRestErrors.length = 0;
  }

  /** The next `times` REST calls answer `code` whatever token they carry. */
  forceRestError(code: '601' | '602', times = 1): void {
    this.#forcedRestErrors.push({ code, remaining: times });
  }

  /** Latency added to every Identity answer from now on. */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Latency added to every REST answer from now on. */
  setRestLatency(ms: number): void {
    this.#restLatencyMs = ms;
  }

  /** What the limit enforcement saw (undefined when limits are off). */
  limitCounters(): LimitCounters | undefined {
    return this.#limiter?.counters();
  }

  /** Uses up `calls` of today's daily quota at once; throws when limits are off. */
  spendDailyQuota(calls: number): void {
    if (!this.#limiter) throw new Error('simulator limits are off');
    this.#limiter.spendDailyQuota(calls);
  }

  /** Identity requests received (successful or not), for one client id or in total. */
  identityCalls(clientId?: string): number {
    return clientId === undefined ? this.#identityTotal : (this.#identityCalls.get(clientId) ?? 0);
  }

  /** Identity requests received since the last `resetCounters()` (the latest 10,000). */
  identityRequests(): readonly IdentityRequestRecord[] {
    return [...this.#identityRequests];
  }

  /** REST requests received. */
  restCalls(): number {
    return this.#restCalls;
  }

  /** REST requests that carried the token only as the `access_token` query parameter (refused: 601). */
  accessTokenQueryParamUses(): number {
    return this.#queryParamUses;
  }

  /** Every access token ever issued (not cleared by `resetCounters`): the leak scan looks for these. */
  issuedTokens(): string[] {
    return [...this.#issued.keys()];
  }

  /** Zeroes the call counters and the request log; tokens, clients and faults are kept. */
  resetCounters(): void {
    this.#identityCalls.clear();
    this.#identityRequests.length = 0;
    this.#identityTotal = 0;
    this.#restCalls = 0;
    this.#queryParamUses = 0;
    this.#limiter?.resetCounters();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/identity/oauth/token') return this.#handleIdentity(req, res, url);
    if (url.pathname.startsWith('/rest/')) return this.#handleRest(req, res, url);
    await drain(req);
    sendJson(res, 404, { error: 'not_found', error_description: `No route for ${url.pathname}` });
  }

  async #handleIdentity(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const params = new URLSearchParams(url.search);
    let secretIn: IdentityRequestRecord['secretIn'] = params.has('client_secret') ? 'query' : 'none';
    if (method === 'POST') {
      const body = await readBody(req);
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('application/x-www-form-urlencoded')) {
        const form = new URLSearchParams(body);
        if (form.has('client_secret')) secretIn = 'body';
        for (const [key, value] of form) params.set(key, value);
      }
    } else {
      await drain(req);
    }
    const clientId = params.get('client_id') ?? undefined;
    this.#identityTotal += 1;
    if (clientId !== undefined)
      this.#identityCalls.set(clientId, (this.#identityCalls.get(clientId) ?? 0) + 1);
    this.#identityRequests.push({ method, clientId, secretIn, at: this.#now() });
    if (this.#identityRequests.length > MAX_REQUEST_LOG) this.#identityRequests.shift();

    if (method !== 'GET' && method !== 'POST') {
      sendJson(res, 405, {
        error: 'method_not_allowed',
        error_description: `Request method '${method}' not supported`,
      });
      return;
    }
    const fault = this.#takeFault(clientId);
    if (this.#latencyMs > 0) await this.#wait(this.#latencyMs);
    if (fault?.kind === 'delay') await this.#wait(fault.ms);
    if (fault && this.#applyInfrastructureFault(fault, res)) return;

    const grantType = params.get('grant_type');
    if (grantType === null || grantType === '') {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'Missing grant type' });
      return;
    }
    if (grantType !== 'client_credentials') {
      sendJson(res, 400, {
        error: 'unsupported_grant_type',
        error_description: `Unsupported grant type: ${grantType}`,
      });
      return;
    }
    const client = clientId === undefined ? undefined : this.#clients.get(clientId);
    if (!client) {
      sendJson(res, 401, { error: 'invalid_client', error_description: 'No client with requested id' });
      return;
    }
    if (params.get('client_secret') !== client.clientSecret) {
      sendJson(res, 401, { error: 'unauthorized', error_description: 'Bad client credentials' });
      return;
    }
    const { state, expiresIn } = this.#tokenFor(client);
    const answer: Record<string, unknown> = {
      access_token: state.accessToken,
      token_type: 'bearer',
      expires_in: expiresIn,
      scope: state.scope,
    };
    if (fault?.kind === 'expires-in') {
      if (fault.value === null) delete answer.expires_in;
      else answer.expires_in = fault.value;
    }
    sendJson(res, 200, answer);
  }

  /** Answers (or withholds) a response for faults that happen before credentials are looked at. */
  #applyInfrastructureFault(fault: IdentityFault, res: ServerResponse): boolean {
    switch (fault.kind) {
      case 'status': {
        const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
        if (fault.body === 'html') {
          const html = `<html><head><title>${fault.status}</title></head><body><h1>${fault.status} Error</h1></body></html>`;
          res.writeHead(fault.status, { ...headers, 'content-type': 'text/html' }).end(html);
        } else {
          sendJson(
            res,
            fault.status,
            { error: 'server_error', error_description: `HTTP ${fault.status}` },
            headers,
          );
        }
        return true;
      }
      case 'malformed-json':
        res.writeHead(200, { 'content-type': JSON_TYPE }).end('{"access_token":"cut-off');
        return true;
      case 'no-access-token':
        sendJson(res, 200, { token_type: 'bearer', expires_in: 3599, scope: 'apis@example.com' });
        return true;
      case 'drop':
        res.socket?.destroy();
        return true;
      case 'reset-mid-body': {
        const body = '{"access_token":"00000000-0000-0000-0000-000000000000:sim","token_type":"bearer"}';
        res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': String(body.length) });
        res.write(body.slice(0, 20));
        // Let the partial body reach the client before the reset.
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          res.socket?.destroy();
        }, 10);
        this.#timers.add(timer);
        return true;
      }
      case 'hang':
        this.#hanging.add(res);
        res.on('close', () => this.#hanging.delete(res));
        return true;
      case 'rate-limit': {
        const code = fault.code ?? '606';
        sendJson(res, 200, {
          requestId: requestId(),
          success: false,
          errors: [{ code, message: limitMessage(code) }],
        });
        return true;
      }
      case 'delay':
      case 'expires-in':
        return false;
    }
  }

  #takeFault(clientId: string | undefined): IdentityFault | undefined {
    const index = this.#faults.findIndex((f) => f.clientId === undefined || f.clientId === clientId);
    if (index < 0) return undefined;
    const pending = this.#faults[index] as PendingFault;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#faults.splice(index, 1);
    return pending.fault;
  }

  /** Marketo's rule: the same token until it expires, then (after the edge window) a new one. */
  #tokenFor(client: SimulatorClient): { state: TokenState; expiresIn: number } {
    const now = this.#now();
    const current = this.#current.get(client.clientId);
    if (current && now < current.expiresAt) {
      return { state: current, expiresIn: Math.floor((current.expiresAt - now) / 1000) };
    }
    if (current && now < current.expiresAt + this.#expiryEdgeMs) return { state: current, expiresIn: 0 };
    const state: TokenState = {
      accessToken: `${randomUUID()}:${this.#pod}`,
      clientId: client.clientId,
      scope: client.scope ?? `${client.clientId}@api-user.marketo-simulator.test`,
      expiresAt: now + this.#lifespanMs,
      revoked: false,
    };
    this.#current.set(client.clientId, state);
    this.#issued.set(state.accessToken, state);
    return { state, expiresIn: Math.floor(this.#lifespanMs / 1000) };
  }

  async #handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    await drain(req);
    this.#restCalls += 1;
    const forced = this.#forcedRestErrors[0];
    if (forced) {
      forced.remaining -= 1;
      if (forced.remaining <= 0) this.#forcedRestErrors.shift();
      return sendRestError(res, forced.code, REST_ERROR_MESSAGES[forced.code]);
    }
    const authorization = req.headers.authorization ?? '';
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      // Marketo is removing the access_token query parameter: refuse it, and count who still uses it.
      if (url.searchParams.has('access_token')) this.#queryParamUses += 1;
      return sendRestError(res, '601', REST_ERROR_MESSAGES['601']);
    }
    const state = this.#issued.get(match[1] as string);
    if (!state || state.revoked) return sendRestError(res, '601', REST_ERROR_MESSAGES['601']);
    if (this.#now() >= state.expiresAt) return sendRestError(res, '602', REST_ERROR_MESSAGES['602']);
    const admitted = this.#limiter?.enter();
    if (admitted && 'refused' in admitted) {
      return sendRestError(res, admitted.refused, limitMessage(admitted.refused, this.#limiter?.limits));
    }
    try {
      if (this.#restLatencyMs > 0) await this.#wait(this.#restLatencyMs);
      if (url.pathname === '/rest/v1/leads.json') return this.#leads(res, url);
      sendJson(res, 200, { requestId: requestId(), success: true, result: [] });
    } finally {
      admitted?.leave();
    }
  }

  /** `GET /rest/v1/leads.json`: by `filterType=id|email` + `filterValues`, or all leads; paged. */
  #leads(res: ServerResponse, url: URL): void {
    const q = url.searchParams;
    const batchSize = Math.min(
      Math.max(Number(q.get('batchSize') ?? MAX_BATCH_SIZE) || MAX_BATCH_SIZE, 1),
      300,
    );
    let offset = 0;
    const pageToken = q.get('nextPageToken');
    if (pageToken !== null) {
      const decoded = /^offset:(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString());
      if (!decoded) {
        sendRestError(res, '1003', 'Invalid value for nextPageToken');
        return;
      }
      offset = Number(decoded[1]);
    }
    const filterType = q.get('filterType');
    const values = (q.get('filterValues') ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    let ids: number[];
    if (filterType === null) {
      ids = Array.from({ length: this.#leadCount }, (_, i) => i + 1);
    } else if (filterType === 'id') {
      ids = values.map(Number).filter((id) => Number.isInteger(id) && id >= 1 && id <= this.#leadCount);
    } else if (filterType === 'email') {
      ids = values
        .map((email) => /^lead(\d+)@example\.com$/i.exec(email))
        .map((m) => (m ? Number(m[1]) : 0))
        .filter((id) => id >= 1 && id <= this.#leadCount);
    } else {
      sendRestError(res, '1003', `Invalid filterType '${filterType}'`);
      return;
    }
    const page = ids.slice(offset, offset + batchSize).map(simulatedLead);
    const more = offset + batchSize < ids.length;
    sendJson(res, 200, {
      requestId: requestId(),
      success: true,
      result: page,
      ...(more
        ? {
            moreResult: true,
            nextPageToken: Buffer.from(`offset:${offset + batchSize}`).toString('base64url'),
          }
        : {}),
    });
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }
}

/** Creates a (not yet started) simulator. */
export const createMarketoSimulator = (options: MarketoSimulatorOptions = {}): MarketoSimulator =>
  new MarketoSimulator(options);

const requestId = (): string => `${randomBytes(2).toString('hex')}#${randomBytes(6).toString('hex')}`;

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
    })
    .end(text);
}

/** Marketo REST errors are HTTP 200 with `success:false`. */
function sendRestError(res: ServerResponse, code: string, message: string): void {
  sendJson(res, 200, { requestId: requestId(), success: false, errors: [{ code, message }] });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // Discard: only headers and the query string matter here.
  }
}
