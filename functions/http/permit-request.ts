/**
 * The permit routes of the Marketo API budget: a consumer asks before each Marketo call and releases after
 * it. Authorized like tokens: the client id (or pool instance) is in the path, so the same IAM grant that
 * lets a principal vend a client's token lets it take that client's instance's permits, and nothing else.
 *
 *   POST /tokens/{clientId}/permits            {count?, leaseMs?, maxWaitMs?, concurrency?, release?, marketoError?}
 *   POST /tokens/{clientId}/permits/release    {permitId, marketoError?}
 *   POST /instances/{instance}/permits         (same, for a pool's instance)
 *   POST /instances/{instance}/permits/release
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  isMarketoLimitCode,
  MARKETO_LIMIT_CODES,
  type MarketoLimitCode,
  type Route,
} from '../contract/index.js';
import type {
  BudgetContext,
  InstanceBudget,
  MarketoUsageReader,
  Permit,
  PermitRequest,
  UsageRecorder,
} from '../core/budget/index.js';
import { VENDOR_HOLDER } from '../core/budget/index.js';
import { InvalidRequestError } from '../core/errors.js';
import type { CredentialsSource, Logger } from '../core/ports.js';
import { type InstanceTarget, instanceKeyOfTarget, routeTarget } from './instance-target.js';
import { parseJsonObjectBody } from './json-body.js';

/** Take a permit, or give one back. */
export type PermitAction = 'acquire' | 'release';

const MAX_BODY_BYTES = 2_048;
const PERMIT_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|unmetered)$/;

/** A permit request, parsed and validated, whichever way it arrived. */
export type PermitCall =
  | {
      readonly action: 'acquire';
      readonly target: PermitTarget;
      readonly request: PermitRequest;
      readonly marketoError?: MarketoLimitCode;
    }
  | {
      readonly action: 'release';
      readonly target: PermitTarget;
      readonly permitId: string;
      readonly marketoError?: MarketoLimitCode;
    };

export type PermitTarget = InstanceTarget;

const wholeNumber = (body: Record<string, unknown>, name: string): number | undefined => {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be a whole number`);
  }
  return value;
};

const permitIdOf = (value: unknown, name: string): string => {
  if (typeof value !== 'string' || !PERMIT_ID.test(value)) {
    throw new InvalidRequestError(`${name} must be a permit id this API returned`);
  }
  return value;
};

const quoted = MARKETO_LIMIT_CODES.map((code) => `"${code}"`);
const LIMIT_CODES_TEXT = `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;

const marketoErrorOf = (value: unknown): MarketoLimitCode | undefined => {
  if (value === undefined || value === null) return undefined;
  const code = typeof value === 'number' ? String(value) : value;
  if (!isMarketoLimitCode(code)) throw new InvalidRequestError(`marketoError must be ${LIMIT_CODES_TEXT}`);
  return code;
};

const KNOWN_FIELDS = new Set([
  'count',
  'leaseMs',
  'maxWaitMs',
  'concurrency',
  'release',
  'marketoError',
  'permitId',
]);

/** Validates a permit body (API JSON body or direct-invoke payload fields). */
export function parsePermitBody(
  action: PermitAction,
  target: PermitTarget,
  body: Record<string, unknown>,
): PermitCall {
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) throw new InvalidRequestError(`unknown field "${key.slice(0, 40)}"`);
  }
  const marketoError = marketoErrorOf(body.marketoError);
  const reported = marketoError === undefined ? {} : { marketoError };
  if (action === 'release') {
    return { action, target, permitId: permitIdOf(body.permitId, 'permitId'), ...reported };
  }
  const count = wholeNumber(body, 'count');
  const leaseMs = wholeNumber(body, 'leaseMs');
  const maxWaitMs = wholeNumber(body, 'maxWaitMs');
  if (body.concurrency !== undefined && typeof body.concurrency !== 'boolean') {
    throw new InvalidRequestError('concurrency must be true or false');
  }
  const request: PermitRequest = {
    ...(count === undefined ? {} : { count }),
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    ...(body.concurrency === undefined ? {} : { concurrency: body.concurrency as boolean }),
    ...(body.release === undefined ? {} : { release: permitIdOf(body.release, 'release') }),
  };
  return { action, target, request, ...reported };
}

/**
 * Parses an API Gateway event on a permit route: the client (or pool instance) named by the route's path
 * parameter, and the optional JSON body (none asks with every default).
 */
export function parsePermitApiRequest(
  event: APIGatewayProxyEvent,
  route: Route,
  name: string | undefined,
  action: PermitAction,
): PermitCall {
  return parsePermitBody(action, routeTarget(route, name), parseJsonObjectBody(event, MAX_BODY_BYTES) ?? {});
}

/** The permit as the API returns it. */
export interface PermitResponse {
  readonly permitId: string;
  /** The budget's instance key (REST host). */
  readonly instance: string;
  readonly count: number;
  /** Send the call(s) within this many ms of asking, or ask again. */
  readonly useByMs: number;
  /** ISO 8601: the concurrency slot comes back by itself then if never released. */
  readonly leaseExpiresAt?: string;
  readonly unmetered: boolean;
  readonly waitedMs: number;
  readonly usage?: Permit['usage'];
  /** ISO 8601: next daily quota reset (00:00 America/Chicago). */
  readonly dailyQuotaResetsAt: string;
}

/** What a permit route answers: the permit taken, or the release confirmed. */
export type PermitAnswer = PermitResponse | { readonly released: true };

export const toPermitResponse = (permit: Permit): PermitResponse => ({
  permitId: permit.permitId,
  instance: permit.instance,
  count: permit.count,
  useByMs: permit.useByMs,
  ...(permit.leaseUntil === undefined ? {} : { leaseExpiresAt: new Date(permit.leaseUntil).toISOString() }),
  unmetered: permit.unmetered,
  waitedMs: permit.waitedMs,
  ...(permit.usage === undefined ? {} : { usage: permit.usage }),
  dailyQuotaResetsAt: new Date(permit.resetsAt).toISOString(),
});

export interface PermitServiceDeps {
  readonly budget: InstanceBudget;
  readonly credentials: CredentialsSource;
  /**
   * Marketo's usage read through the caller's client (or pool): confirms a reported 607 and reconciles the
   * daily count. @default none: a reported 607 then never closes the day
   */
  readonly usageReader?: (target: PermitTarget) => MarketoUsageReader;
  /** Books permits and reported 606/615/607 to the caller (usage per consumer). @default none */
  readonly usage?: UsageRecorder;
  readonly logger?: Logger;
}

/** Runs permit calls: resolves the instance key from the registered credentials, then asks the budget. */
export function createPermitService(deps: PermitServiceDeps) {
  const { budget, credentials } = deps;

  const instanceKey = (target: PermitTarget): Promise<string> => instanceKeyOfTarget(credentials, target);

  /**
   * Acquire: the permit; release: `undefined`. Throws typed errors (PermitUnavailable, DailyQuotaExhausted, …).
   * `caller` is the calling principal: the permit is bound to it and the client it came through.
   */
  const execute = async (call: PermitCall, caller?: string): Promise<Permit | undefined> => {
    const key = await instanceKey(call.target);
    const holder = caller === undefined ? undefined : { target: call.target, principal: caller };
    const reader = deps.usageReader?.(call.target);
    const context: BudgetContext = {
      ...(holder === undefined ? {} : { holder }),
      ...(reader === undefined
        ? {}
        : {
            // The vendor's own usage.json read is a call on the instance too, booked to the vendor.
            readUsage: () => {
              deps.usage?.record(key, VENDOR_HOLDER, { calls: 1 });
              return reader();
            },
          }),
    };
    if (call.marketoError !== undefined) {
      if (holder) deps.usage?.record(key, holder, { [`marketo${call.marketoError}`]: 1 });
      await budget.report(key, call.marketoError, context);
    }
    if (call.action === 'release') {
      await budget.release(key, call.permitId, context);
      return undefined;
    }
    const permit = await budget.acquire(key, call.request, context);
    if (holder) deps.usage?.record(key, holder, { calls: permit.count });
    return permit;
  };

  /**
   * Runs a call and answers it as the API does: the permit, or `{released: true}`. Failures are thrown as
   * typed errors (PermitUnavailable, DailyQuotaExhausted, …) for the one error mapping (`vendErrorMapping`).
   */
  const serve = async (call: PermitCall, caller: string): Promise<PermitAnswer> => {
    const permit = await execute(call, caller);
    await deps.usage?.flushIfDue();
    deps.logger?.debug('permit', {
      action: call.action,
      ...call.target,
      caller,
      granted: permit?.count ?? 0,
    });
    return permit === undefined ? { released: true } : toPermitResponse(permit);
  };

  return { serve, usage: deps.usage };
}

export type PermitService = ReturnType<typeof createPermitService>;
