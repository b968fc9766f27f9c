/**
 * The Bulk API slot routes: a consumer takes a slot before it creates (or enqueues) a Bulk Extract or
 * Import job, renews it while the job runs, and reports the job's end with the bytes its file held.
 * Authorized like permits: the client id (or pool instance) is in the path, so the IAM grant that lets a
 * principal vend a client's token lets it take that client's instance's slots, and nothing else.
 *
 *   POST /tokens/{clientId}/bulk-slots           {kind: "extract"|"import", leaseMs?, expectedBytes?}
 *   POST /tokens/{clientId}/bulk-slots/renew     {slotId, leaseMs?}
 *   POST /tokens/{clientId}/bulk-slots/release   {slotId, bytes?}
 *   POST /instances/{instance}/bulk-slots…       (the same, for a pool's instance)
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { BULK_KINDS, type BulkKind, type Route } from '../contract/index.js';
import type { BulkEnd, BulkSlot, BulkSlots } from '../core/bulk/index.js';
import { UNMETERED_SLOT } from '../core/bulk/index.js';
import { InvalidRequestError } from '../core/errors.js';
import type { CredentialsSource, Logger } from '../core/ports.js';
import { type InstanceTarget, instanceKeyOfTarget, routeTarget } from './instance-target.js';
import { parseJsonObjectBody } from './json-body.js';

/** Take a slot, keep it, or report the job's end. */
export type BulkSlotAction = 'acquire' | 'renew' | 'release';

const MAX_BODY_BYTES = 1_024;
const SLOT_ID = new RegExp(
  `^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|${UNMETERED_SLOT})$`,
);

/** A slot call, parsed and validated. */
export type BulkSlotCall =
  | {
      readonly action: 'acquire';
      readonly target: InstanceTarget;
      readonly kind: BulkKind;
      readonly leaseMs?: number;
      readonly expectedBytes?: number;
    }
  | {
      readonly action: 'renew';
      readonly target: InstanceTarget;
      readonly slotId: string;
      readonly leaseMs?: number;
    }
  | {
      readonly action: 'release';
      readonly target: InstanceTarget;
      readonly slotId: string;
      readonly bytes: number;
    };

const FIELDS: Readonly<Record<BulkSlotAction, ReadonlySet<string>>> = {
  acquire: new Set(['kind', 'leaseMs', 'expectedBytes']),
  renew: new Set(['slotId', 'leaseMs']),
  release: new Set(['slotId', 'bytes']),
};

const wholeNumber = (body: Record<string, unknown>, name: string): number | undefined => {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be a whole number`);
  }
  return value;
};

const slotIdOf = (value: unknown): string => {
  if (typeof value !== 'string' || !SLOT_ID.test(value)) {
    throw new InvalidRequestError('slotId must be a slot id this API returned');
  }
  return value;
};

const optional = <K extends string>(name: K, value: number | undefined): { [P in K]?: number } =>
  (value === undefined ? {} : { [name]: value }) as { [P in K]?: number };

/** Validates a slot body for `action` (unknown fields are refused, so a typo is not silently ignored). */
export function parseBulkSlotBody(
  action: BulkSlotAction,
  target: InstanceTarget,
  body: Record<string, unknown>,
): BulkSlotCall {
  for (const key of Object.keys(body)) {
    if (!FIELDS[action].has(key)) throw new InvalidRequestError(`unknown field "${key.slice(0, 40)}"`);
  }
  const leaseMs = wholeNumber(body, 'leaseMs');
  if (action === 'acquire') {
    if (!BULK_KINDS.includes(body.kind as BulkKind)) {
      throw new InvalidRequestError('kind must be "extract" or "import"');
    }
    return {
      action,
      target,
      kind: body.kind as BulkKind,
      ...optional('leaseMs', leaseMs),
      ...optional('expectedBytes', wholeNumber(body, 'expectedBytes')),
    };
  }
  const slotId = slotIdOf(body.slotId);
  if (action === 'renew') return { action, target, slotId, ...optional('leaseMs', leaseMs) };
  return { action, target, slotId, bytes: wholeNumber(body, 'bytes') ?? 0 };
}

/** Parses an API Gateway event on a slot route: the client (or pool) of its path, and its JSON body. */
export function parseBulkSlotApiRequest(
  event: APIGatewayProxyEvent,
  route: Route,
  name: string | undefined,
  action: BulkSlotAction,
): BulkSlotCall {
  const target = routeTarget(route, name);
  const body = parseJsonObjectBody(event, MAX_BODY_BYTES);
  if (body === undefined) throw new InvalidRequestError('request body must be a JSON object');
  return parseBulkSlotBody(action, target, body);
}

/** A slot as the API returns it. */
export interface BulkSlotResponse {
  readonly slotId: string;
  /** The instance key (REST host). */
  readonly instance: string;
  readonly kind: BulkKind;
  /** ISO 8601: the slot comes back by itself then unless renewed. */
  readonly leaseExpiresAt: string;
  readonly unmetered: boolean;
  readonly usage?: BulkSlot['usage'];
  /** ISO 8601: next daily export quota reset (00:00 America/Chicago). */
  readonly dailyExportQuotaResetsAt: string;
}

export const toBulkSlotResponse = (slot: BulkSlot): BulkSlotResponse => ({
  slotId: slot.slotId,
  instance: slot.instance,
  kind: slot.kind,
  leaseExpiresAt: new Date(slot.leaseUntil).toISOString(),
  unmetered: slot.unmetered,
  ...(slot.usage === undefined ? {} : { usage: slot.usage }),
  dailyExportQuotaResetsAt: new Date(slot.resetsAt).toISOString(),
});

export interface BulkSlotServiceDeps {
  readonly slots: BulkSlots;
  readonly credentials: CredentialsSource;
  readonly logger?: Logger;
}

/** Runs slot calls: resolves the instance key from the registered credentials, then asks the slots. */
export function createBulkSlotService(deps: BulkSlotServiceDeps) {
  const { slots, credentials } = deps;

  /**
   * Answers a call as the API does: the slot, or what the end report did. `caller` is the calling principal:
   * the slot is bound to it (and its client), and only it renews or releases the slot. Failures are thrown
   * as typed errors (BulkSlotUnavailable, DailyExportQuotaExhausted, BulkSlotNotHeld, …).
   */
  const serve = async (call: BulkSlotCall, caller: string): Promise<BulkSlotResponse | BulkEnd> => {
    const instance = await instanceKeyOfTarget(credentials, call.target);
    const holder = { target: call.target, principal: caller };
    const answer =
      call.action === 'acquire'
        ? toBulkSlotResponse(
            await slots.acquire(
              instance,
              {
                kind: call.kind,
                ...optional('leaseMs', call.leaseMs),
                ...optional('expectedBytes', call.expectedBytes),
              },
              holder,
            ),
          )
        : call.action === 'renew'
          ? toBulkSlotResponse(await slots.renew(instance, call.slotId, holder, call.leaseMs))
          : await slots.end(instance, call.slotId, holder, call.bytes);
    deps.logger?.debug('bulk slot', { action: call.action, ...call.target, caller });
    return answer;
  };

  return { serve };
}

export type BulkSlotService = ReturnType<typeof createBulkSlotService>;
