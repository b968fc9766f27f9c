/**
 * `/identity/oauth/token`: Marketo's client-credentials grant (GET with a query string, or a POST form),
 * with injectable faults (HTTP errors, broken bodies, dropped sockets, hangs, delays, rate limits) and a log
 * of how each request sent its secret.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { limitMessage } from '../marketo-limits.js';
import { drain, JSON_TYPE, type PendingWork, readBody, requestId, sendJson } from './http.js';
import type { TokenIssuer } from './tokens.js';

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

interface PendingFault {
  readonly fault: IdentityFault;
  remaining: number;
  readonly clientId?: string;
}

/** The request log is for assertions; a long benchmark must not grow it without bound. */
const MAX_REQUEST_LOG = 10_000;

/** Identity's answers, faults and counters. */
export class IdentityEndpoint {
  readonly #faults: PendingFault[] = [];
  readonly #calls = new Map<string, number>();
  readonly #requests: IdentityRequestRecord[] = [];
  readonly #issuer: TokenIssuer;
  readonly #pending: PendingWork;
  readonly #now: () => number;
  #total = 0;
  /** Added to every answer (real timers, not `now`). */
  latencyMs: number;

  constructor(issuer: TokenIssuer, pending: PendingWork, now: () => number, latencyMs: number) {
    this.#issuer = issuer;
    this.#pending = pending;
    this.#now = now;
    this.latencyMs = latencyMs;
  }

  injectFault(fault: IdentityFault, times: number, clientId: string | undefined): void {
    this.#faults.push({ fault, remaining: times, clientId });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  calls(clientId?: string): number {
    return clientId === undefined ? this.#total : (this.#calls.get(clientId) ?? 0);
  }

  requests(): readonly IdentityRequestRecord[] {
    return [...this.#requests];
  }

  resetCounters(): void {
    this.#calls.clear();
    this.#requests.length = 0;
    this.#total = 0;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
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
    this.#total += 1;
    if (clientId !== undefined) this.#calls.set(clientId, (this.#calls.get(clientId) ?? 0) + 1);
    this.#requests.push({ method, clientId, secretIn, at: this.#now() });
    if (this.#requests.length > MAX_REQUEST_LOG) this.#requests.shift();

    if (method !== 'GET' && method !== 'POST') {
      sendJson(res, 405, {
        error: 'method_not_allowed',
        error_description: `Request method '${method}' not supported`,
      });
      return;
    }
    const fault = this.#takeFault(clientId);
    if (this.latencyMs > 0) await this.#pending.wait(this.latencyMs);
    if (fault?.kind === 'delay') await this.#pending.wait(fault.ms);
    if (fault && this.#applyInfrastructureFault(fault, res)) return;

    const { status, body } = this.#answer(params);
    if (status === 200 && fault?.kind === 'expires-in') {
      if (fault.value === null) delete body.expires_in;
      else body.expires_in = fault.value;
    }
    sendJson(res, status, body);
  }

  /**
   * The same answer without HTTP, counted as a call (benchmarks with 100,000 clients): grant type, client
   * and secret checked, the token issued by Marketo's rule. Faults and latency apply to HTTP requests only.
   */
  answerInProcess(params: URLSearchParams): { status: number; body: Record<string, unknown> } {
    const clientId = params.get('client_id') ?? undefined;
    this.#total += 1;
    if (clientId !== undefined) this.#calls.set(clientId, (this.#calls.get(clientId) ?? 0) + 1);
    return this.#answer(params);
  }

  #answer(params: URLSearchParams): { status: number; body: Record<string, unknown> } {
    const grantType = params.get('grant_type');
    if (grantType === null || grantType === '') {
      return { status: 400, body: { error: 'invalid_request', error_description: 'Missing grant type' } };
    }
    if (grantType !== 'client_credentials') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grantType}` },
      };
    }
    const client = this.#issuer.client(params.get('client_id') ?? undefined);
    if (!client) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'No client with requested id' },
      };
    }
    if (params.get('client_secret') !== client.clientSecret) {
      return { status: 401, body: { error: 'unauthorized', error_description: 'Bad client credentials' } };
    }
    const { state, expiresIn } = this.#issuer.tokenFor(client);
    return {
      status: 200,
      body: {
        access_token: state.accessToken,
        token_type: 'bearer',
        expires_in: expiresIn,
        scope: state.scope,
      },
    };
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
        this.#pending.later(10, () => res.socket?.destroy());
        return true;
      }
      case 'hang':
        this.#pending.hold(res);
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
}
