/**
 * What a Custom Service may do (`clients check`): one cheap read-only call per permission family (a describe,
 * or a list of at most one; the contract's PERMISSION_PROBES), each under a permit of the instance's shared
 * budget, never more than a cap. Write and execute permissions are never probed: probing them would write.
 *
 * "denied" means Marketo answered 603. Anything else is told apart: 601/602 get one new token and one more
 * try; a rate limit (606/615), the daily quota (607), an instance that does not answer, or no permit from the
 * budget stop the check (further calls would only add load) and leave the rest undecided.
 */
import {
  MARKETO_API_PERMISSIONS,
  type MarketoPermission,
  PERMISSION_PROBES,
  type PermissionProbe,
} from '../contract/marketo-permissions.js';

/** What one REST call brought back: an HTTP answer (its JSON body, if it had one), or no answer at all. */
export type RestAnswer =
  | { readonly status: number; readonly body?: unknown }
  | { readonly unreachable: string };

/** A bearer token to probe with, and the API-only user it belongs to (Identity's `scope`). */
export interface ProbeToken {
  readonly accessToken: string;
  readonly scope?: string;
}

/** A permit of the shared budget: given back after the call, with the limit code Marketo answered, if any. */
export interface ProbePermit {
  release(marketoLimit?: '606' | '607' | '615'): Promise<void>;
}

/** The ports of a check: the client's token (through the vendor), the budget, and Marketo's REST API. */
export interface PermissionCheckDeps {
  token(): Promise<ProbeToken>;
  /** Reports a token Marketo rejected (601/602) and returns the replacement. */
  replaceToken(rejected: string): Promise<ProbeToken>;
  /** A permit for one call; throws when the budget has none (its message says why). */
  permit(): Promise<ProbePermit>;
  /** One GET of `path` (with its query) against the instance, with the token as bearer. */
  get(path: string, accessToken: string): Promise<RestAnswer>;
  /** Most REST calls the check may make, retries included. */
  readonly maxCalls: number;
}

export type PermissionStatus = 'granted' | 'denied' | 'unknown' | 'not-probed';

/** One line of the table: a permission of Marketo's list and what the check found. */
export interface PermissionRow {
  readonly permission: MarketoPermission;
  readonly status: PermissionStatus;
  /** `GET <path>` of the probe that decided it (no query string). */
  readonly probe?: string;
  readonly detail?: string;
}

export interface PermissionCheckResult {
  readonly apiUser?: string;
  readonly callsSpent: number;
  readonly maxCalls: number;
  /** Every permission of Marketo's Access API list, in its order. */
  readonly rows: readonly PermissionRow[];
  /** Why the check stopped before probing every family, if it did. */
  readonly stoppedBecause?: string;
  /** True when every read permission was decided (granted or denied). */
  readonly complete: boolean;
}

/** How one probe ended. `stop`: nothing more should be sent to this instance now. */
interface ProbeOutcome {
  readonly status: 'granted' | 'denied' | 'unknown';
  readonly detail?: string;
  readonly stop?: string;
}

const LIMIT_NAMES = {
  '606': 'rate limit',
  '607': 'daily quota used up',
  '615': 'concurrency limit',
} as const;

const marketoCodeOf = (body: unknown): string | undefined => {
  const b = body as { success?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
  if (b?.success !== false || !Array.isArray(b.errors)) return undefined;
  const code = b.errors[0]?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : 'unknown';
};

/** Decides what one answer says about the permission (pure). */
export function judgeAnswer(answer: RestAnswer): ProbeOutcome | { readonly retryWithNewToken: true } {
  if ('unreachable' in answer) {
    return {
      status: 'unknown',
      detail: `instance unreachable: ${answer.unreachable}`,
      stop: answer.unreachable,
    };
  }
  if (answer.status >= 500 || answer.status === 429) {
    return {
      status: 'unknown',
      detail: `instance unreachable: HTTP ${answer.status}`,
      stop: `HTTP ${answer.status}`,
    };
  }
  const body = answer.body as { success?: unknown } | undefined;
  if (answer.status !== 200 || body === undefined) {
    return { status: 'unknown', detail: `unexpected answer: HTTP ${answer.status}` };
  }
  if (body.success === true) return { status: 'granted' };
  const code = marketoCodeOf(body);
  if (code === '603') return { status: 'denied', detail: 'Marketo answered 603 Access denied' };
  if (code === '601' || code === '602') return { retryWithNewToken: true };
  if (code === '606' || code === '607' || code === '615') {
    return { status: 'unknown', detail: `Marketo answered ${code}: ${LIMIT_NAMES[code]}`, stop: code };
  }
  return { status: 'unknown', detail: `Marketo answered ${code ?? 'an unexpected body'}; cannot tell` };
}

const probeLine = (probe: PermissionProbe): string => `GET ${new URL(probe.path, 'http://x').pathname}`;

/** Runs the check (see the module comment). Throws only when no token can be had at all. */
export async function checkPermissions(deps: PermissionCheckDeps): Promise<PermissionCheckResult> {
  let token = await deps.token();
  let replaced = false;
  let calls = 0;
  let stoppedBecause: string | undefined;
  const found = new Map<MarketoPermission, PermissionRow>();

  /** One call under a permit; `undefined` when the cap or the budget stops it before it is sent. */
  const call = async (probe: PermissionProbe): Promise<ReturnType<typeof judgeAnswer> | undefined> => {
    if (calls >= deps.maxCalls) {
      stoppedBecause = `call cap ${deps.maxCalls} reached`;
      return undefined;
    }
    let permit: ProbePermit;
    try {
      permit = await deps.permit();
    } catch (error) {
      stoppedBecause = `no permit from the shared budget: ${error instanceof Error ? error.message : String(error)}`;
      return undefined;
    }
    calls += 1;
    let judged: ReturnType<typeof judgeAnswer> | undefined;
    try {
      judged = judgeAnswer(await deps.get(probe.path, token.accessToken));
    } finally {
      const limit =
        judged !== undefined &&
        'stop' in judged &&
        (judged.stop === '606' || judged.stop === '607' || judged.stop === '615')
          ? judged.stop
          : undefined;
      await permit.release(limit);
    }
    return judged;
  };

  for (const probe of PERMISSION_PROBES) {
    if (stoppedBecause !== undefined) break;
    let judged = await call(probe);
    if (judged !== undefined && 'retryWithNewToken' in judged) {
      if (replaced) {
        judged = { status: 'unknown', detail: 'Marketo rejected a new token too (601/602)' };
      } else {
        replaced = true;
        token = await deps.replaceToken(token.accessToken);
        judged = await call(probe);
        if (judged !== undefined && 'retryWithNewToken' in judged) {
          judged = { status: 'unknown', detail: 'Marketo rejected a new token too (601/602)' };
        }
      }
    }
    if (judged === undefined || 'retryWithNewToken' in judged) break;
    if (judged.stop !== undefined) stoppedBecause = `stopped after ${judged.stop}`;
    found.set(probe.permission, {
      permission: probe.permission,
      status: judged.status,
      probe: probeLine(probe),
      ...(judged.detail === undefined
        ? {}
        : { detail: judged.stop === undefined ? judged.detail : `${judged.detail}; check stopped` }),
    });
  }

  const probed = new Set(PERMISSION_PROBES.map((probe) => probe.permission));
  const rows = MARKETO_API_PERMISSIONS.map((permission): PermissionRow => {
    const row = found.get(permission);
    if (row) return row;
    if (!probed.has(permission)) return { permission, status: 'not-probed', detail: 'would write' };
    return { permission, status: 'not-probed', detail: stoppedBecause ?? 'not reached' };
  });
  return {
    ...(token.scope === undefined ? {} : { apiUser: token.scope }),
    callsSpent: calls,
    maxCalls: deps.maxCalls,
    rows,
    ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
    complete: rows.every(
      (row) => !probed.has(row.permission) || row.status === 'granted' || row.status === 'denied',
    ),
  };
}
