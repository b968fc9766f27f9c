/**
 * `/rest/...`: Marketo's REST API as far as the vendor's consumers need it. A bearer token is checked
 * (601 unknown or revoked, 602 expired; the `access_token` query parameter is refused and counted), the
 * instance's limits admit the call or refuse it (606/615/607), the role of the token's API-only user admits
 * the path or refuses it (603, by the contract's permission table), and `/rest/v1/leads.json` serves fake
 * leads. Every error is HTTP 200 with `success:false`, as Marketo answers. Workspaces and partitions are not
 * simulated: a role applies to every record and asset.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requiredPermission, roleGrants } from '../../functions/contract/marketo-permissions.js';
import { limitMessage, type MarketoLimiter } from '../marketo-limits.js';
import type { BulkExtractEndpoint } from './bulk.js';
import { drain, type PendingWork, readBody, requestId, sendJson, sendRestError } from './http.js';
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
/** Errors a test can force on the next REST calls: the token ones, access denied, and the limits. */
export type RestErrorCode = TokenErrorCode | '603' | '606' | '607' | '615';

/** One REST call as the simulator answered it (the query string is left out: it may hold lead data). */
export interface RestRequestRecord {
  readonly method: string;
  readonly path: string;
  /** The client whose token the call carried, when the token is one the simulator issued. */
  readonly clientId?: string;
  /** `ok`, the Marketo error code answered, or `http <status>` for a forced HTTP failure. */
  readonly code: string;
}

/** The request log is for assertions; a long benchmark must not grow it without bound. */
const MAX_REQUEST_LOG = 10_000;

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
const REST_ERROR_MESSAGES: Record<TokenErrorCode | '603', string> = {
  '601': 'Access token invalid',
  '602': 'Access token expired',
  '603': 'Access denied',
};

const messageOf = (code: RestErrorCode): string =>
  code === '606' || code === '607' || code === '615' ? limitMessage(code) : REST_ERROR_MESSAGES[code];

type Forced = ({ readonly code: RestErrorCode } | { readonly httpStatus: number }) & { remaining: number };

/** The fake lead with id `id` (1-based), the same on every run. */
export const simulatedLead = (id: number): SimulatedLead => ({
  id,
  email: `lead${id}@example.com`,
  firstName: FIRST_NAMES[(id - 1) % FIRST_NAMES.length] as string,
  lastName: LAST_NAMES[(id - 1) % LAST_NAMES.length] as string,
});

/** REST's answers, forced errors, limits and counters. */
export class RestEndpoint {
  readonly #forcedErrors: Forced[] = [];
  readonly #requests: RestRequestRecord[] = [];
  readonly #issuer: TokenIssuer;
  readonly #pending: PendingWork;
  readonly #leadCount: number;
  /** Marketo's per-instance limits; undefined when off. */
  readonly limiter?: MarketoLimiter;
  /** What usage.json reports: every accepted call, per API user. */
  readonly usage: UsageCounter;
  /** Bulk Extract (`/bulk/v1/…/export/…`): under the same token, limit and role checks as REST. */
  readonly bulk?: BulkExtractEndpoint;
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
    readonly bulk?: BulkExtractEndpoint;
  }) {
    this.#issuer = options.issuer;
    this.#pending = options.pending;
    this.#leadCount = options.leadCount;
    this.latencyMs = options.latencyMs;
    this.limiter = options.limiter;
    this.usage = options.usage;
    this.bulk = options.bulk;
  }

  forceError(code: RestErrorCode, times: number): void {
    this.#forcedErrors.push({ code, remaining: times });
  }

  forceHttpStatus(httpStatus: number, times: number): void {
    this.#forcedErrors.push({ httpStatus, remaining: times });
  }

  requests(): readonly RestRequestRecord[] {
    return [...this.#requests];
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
    this.#requests.length = 0;
    this.limiter?.resetCounters();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // Only a Bulk job's create carries a body the simulator reads (its JSON definition).
    let body = '';
    if (url.pathname.startsWith('/bulk/')) body = await readBody(req);
    else await drain(req);
    this.#calls += 1;
    const method = req.method ?? 'GET';
    const match = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const client = match ? this.#issuer.clientOfToken(match[1] as string) : undefined;
    const code = await this.#answer(req, res, url, match?.[1], body);
    this.#requests.push({
      method,
      path: url.pathname,
      ...(client === undefined ? {} : { clientId: client.clientId }),
      code,
    });
    if (this.#requests.length > MAX_REQUEST_LOG) this.#requests.shift();
  }

  /** Answers one call; returns what it answered (`ok`, the Marketo error code, or `http <status>`). */
  async #answer(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    token: string | undefined,
    body: string,
  ): Promise<string> {
    const forced = this.#forcedErrors[0];
    if (forced) {
      forced.remaining -= 1;
      if (forced.remaining <= 0) this.#forcedErrors.shift();
      if ('httpStatus' in forced) {
        res.writeHead(forced.httpStatus, { 'content-type': 'text/html' }).end('<html>unavailable</html>');
        return `http ${forced.httpStatus}`;
      }
      sendRestError(res, forced.code, messageOf(forced.code));
      return forced.code;
    }
    if (token === undefined) {
      // Marketo is removing the access_token query parameter: refuse it, and count who still uses it.
      if (url.searchParams.has('access_token')) this.#queryParamUses += 1;
      sendRestError(res, '601', REST_ERROR_MESSAGES['601']);
      return '601';
    }
    const verdict = this.#issuer.check(token);
    if (verdict !== 'ok') {
      sendRestError(res, verdict, REST_ERROR_MESSAGES[verdict]);
      return verdict;
    }
    const admitted = this.limiter?.enter();
    if (admitted && 'refused' in admitted) {
      sendRestError(res, admitted.refused, limitMessage(admitted.refused, this.limiter?.limits));
      return admitted.refused;
    }
    this.usage.record(this.#issuer.userOf(token) ?? 'unknown');
    try {
      if (this.latencyMs > 0) await this.#pending.wait(this.latencyMs);
      if (!this.#permits(req.method ?? 'GET', url, token)) {
        sendRestError(res, '603', REST_ERROR_MESSAGES['603']);
        return '603';
      }
      if (url.pathname === USAGE_JSON_PATH) {
        sendJson(res, 200, { requestId: requestId(), success: true, result: [this.usage.today()] });
        return 'ok';
      }
      if (url.pathname === '/rest/v1/leads.json') return this.#leads(res, url);
      if (this.bulk && url.pathname.startsWith('/bulk/')) {
        return this.bulk.handle(
          res,
          req.method ?? 'GET',
          url,
          body,
          this.#issuer.clientOfToken(token)?.clientId,
        );
      }
      sendJson(res, 200, { requestId: requestId(), success: true, result: [] });
      return 'ok';
    } finally {
      admitted?.leave();
    }
  }

  /** Whether the role of the token's API-only user has the permission the path needs (unknown paths pass). */
  #permits(method: string, url: URL, token: string): boolean {
    const role = this.#issuer.clientOfToken(token)?.permissions;
    if (role === undefined) return true;
    const needed = requiredPermission(method, url);
    return needed === undefined || roleGrants(role, needed.permission);
  }

  /** `GET /rest/v1/leads.json`: by `filterType=id|email` + `filterValues`, or all leads; paged. */
  #leads(res: ServerResponse, url: URL): 'ok' | '1003' {
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
        return '1003';
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
      return '1003';
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
    return 'ok';
  }
}
