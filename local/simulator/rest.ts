/**
 * `/rest/...`: Marketo's REST API as far as the vendor's consumers need it. A bearer token is checked
 * (601 unknown or revoked, 602 expired; the `access_token` query parameter is refused and counted), the
 * instance's limits admit the call or refuse it (606/615/607), and `/rest/v1/leads.json` serves fake leads.
 * Every error is HTTP 200 with `success:false`, as Marketo answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { limitMessage, type MarketoLimiter } from '../marketo-limits.js';
import { drain, type PendingWork, requestId, sendJson, sendRestError } from './http.js';
import type { TokenIssuer } from './tokens.js';
import { USAGE_JSON_PATH, type UsageCounter } from './usage.js';

/** A fake Marketo lead. */
export interface SimulatedLead {
  readonly id: number;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
}

export type TokenErrorCode = '601' | '602';

const MAX_BATCH_SIZE = 300;
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
const REST_ERROR_MESSAGES: Record<TokenErrorCode, string> = {
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

/** REST's answers, forced errors, limits and counters. */
export class RestEndpoint {
  readonly #forcedErrors: Array<{ code: TokenErrorCode; remaining: number }> = [];
  readonly #issuer: TokenIssuer;
  readonly #pending: PendingWork;
  readonly #leadCount: number;
  /** Marketo's per-instance limits; undefined when off. */
  readonly limiter?: MarketoLimiter;
  /** What usage.json reports: every accepted call, per API user. */
  readonly usage: UsageCounter;
  #calls = 0;
  #queryParamUses = 0;
  /** Added to every answer (real timers): makes concurrency observable. */
  latencyMs: number;

  constructor(options: {
    readonly issuer: TokenIssuer;
    readonly pending: PendingWork;
    readonly leadCount: number;
    readonly latencyMs: number;
    readonly limiter?: MarketoLimiter;
    readonly usage: UsageCounter;
  }) {
    this.#issuer = options.issuer;
    this.#pending = options.pending;
    this.#leadCount = options.leadCount;
    this.latencyMs = options.latencyMs;
    this.limiter = options.limiter;
    this.usage = options.usage;
  }

  forceError(code: TokenErrorCode, times: number): void {
    this.#forcedErrors.push({ code, remaining: times });
  }

  clearForcedErrors(): void {
    this.#forcedErrors.length = 0;
  }

  calls(): number {
    return this.#calls;
  }

  queryParamUses(): number {
    return this.#queryParamUses;
  }

  resetCounters(): void {
    this.#calls = 0;
    this.#queryParamUses = 0;
    this.limiter?.resetCounters();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    await drain(req);
    this.#calls += 1;
    const forced = this.#forcedErrors[0];
    if (forced) {
      forced.remaining -= 1;
      if (forced.remaining <= 0) this.#forcedErrors.shift();
      return sendRestError(res, forced.code, REST_ERROR_MESSAGES[forced.code]);
    }
    const authorization = req.headers.authorization ?? '';
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      // Marketo is removing the access_token query parameter: refuse it, and count who still uses it.
      if (url.searchParams.has('access_token')) this.#queryParamUses += 1;
      return sendRestError(res, '601', REST_ERROR_MESSAGES['601']);
    }
    const verdict = this.#issuer.check(match[1] as string);
    if (verdict !== 'ok') return sendRestError(res, verdict, REST_ERROR_MESSAGES[verdict]);
    const admitted = this.limiter?.enter();
    if (admitted && 'refused' in admitted) {
      return sendRestError(res, admitted.refused, limitMessage(admitted.refused, this.limiter?.limits));
    }
    this.usage.record(this.#issuer.userOf(match[1] as string) ?? 'unknown');
    try {
      if (this.latencyMs > 0) await this.#pending.wait(this.latencyMs);
      if (url.pathname === USAGE_JSON_PATH) {
        return sendJson(res, 200, { requestId: requestId(), success: true, result: [this.usage.today()] });
      }
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
      MAX_BATCH_SIZE,
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
}
