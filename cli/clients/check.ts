/**
 * `clients check <clientId>`: what the Custom Service may do. Wires the core's permission check
 * (functions/core/permission-check.ts) to the client's token (the Lambdas' engine on the target's store),
 * the instance's shared budget (a permit per call) and Marketo's REST host, then prints the permission table,
 * the owning API user and the calls spent. Against AWS or local mode, like the other `clients` commands.
 */
import { PERMISSION_PROBES } from '../../functions/contract/marketo-permissions.js';
import { createInstanceBudget, instanceKeyOf } from '../../functions/core/budget/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { UnknownClientError } from '../../functions/core/errors.js';
import { assertValidClientId } from '../../functions/core/ids.js';
import {
  checkPermissions,
  type PermissionCheckResult,
  type PermissionRow,
  type RestAnswer,
} from '../../functions/core/permission-check.js';
import { renderTable } from '../client-view.js';
import type { CliIo } from '../io.js';
import type { Target } from '../target.js';
import { checkUrl, cliVendor, identityPolicy, type PolicyOptions } from './identity-policy.js';
import { notRegistered } from './registration.js';

/** One call per family, and one more for a new token after a 601/602. */
export const DEFAULT_CHECK_MAX_CALLS = PERMISSION_PROBES.length + 1;
/** A REST call that takes longer than this counts as an instance that does not answer. */
const REST_TIMEOUT_MS = 15_000;
/** How long one call may wait inside the budget for a permit. */
const PERMIT_WAIT_MS = 10_000;
/**
 * The token must outlive a few calls; one that dies mid-check is replaced after Marketo's 602. Kept inside
 * the vendor's wait budget (TOKEN_MAX_WAIT_MS), so near an expiry the engine waits for the successor.
 */
const TOKEN_MIN_VALIDITY_SECONDS = 20;
const TOKEN_MAX_WAIT_MS = 30_000;

/** `clients check --help`, after the options. */
export const CHECK_HELP = `
Each read permission is shown granted (the role has its Read-Only or Read-Write permission) or denied
(Marketo answered 603); write and execute permissions are "not probed (would write)". A 601/602 gets one new
token; a rate limit (606/615), the daily quota (607), an instance that does not answer or an empty budget stop
the check and leave the rest undecided (exit code 1). AWS mode needs the budget table (--budget-table).

Examples:
  $ marketo-token-vendor clients check my-sync --budget-table MarketoTokenVendor-Budget
  $ marketo-token-vendor clients check my-sync --json | jq '.permissions[] | select(.status == "granted")'
  $ marketo-token-vendor --local --allow-loopback clients check demo-client
`;

/** `clients check` options. */
export interface CheckOptions extends PolicyOptions {
  readonly json?: boolean;
  readonly maxCalls: number;
}

/** One GET against the REST host: the answer and its JSON body, or why there was none. */
async function restGet(base: string, path: string, accessToken: string): Promise<RestAnswer> {
  try {
    const response = await fetch(new URL(path, base), {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      // A redirect would carry the token to another host: never follow one.
      redirect: 'manual',
      signal: AbortSignal.timeout(REST_TIMEOUT_MS),
    });
    const json = (response.headers.get('content-type') ?? '').includes('json');
    const body: unknown = json ? await response.json().catch(() => undefined) : undefined;
    if (!json) await response.body?.cancel();
    return body === undefined ? { status: response.status } : { status: response.status, body };
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    const name = error instanceof Error ? error.name : '';
    return {
      unreachable:
        name === 'TimeoutError'
          ? `no answer within ${REST_TIMEOUT_MS / 1000} s`
          : String(cause ?? 'network error'),
    };
  }
}

const statusText = (row: PermissionRow): string => {
  switch (row.status) {
    case 'granted':
      return 'granted';
    case 'denied':
      return 'denied';
    case 'unknown':
      return `unknown (${row.detail ?? 'cannot tell'})`;
    case 'not-probed':
      return `not probed (${row.detail ?? 'not reached'})`;
  }
};

function render(clientId: string, instance: string, base: string, result: PermissionCheckResult): string {
  const head = renderTable(
    ['client', clientId],
    [
      ['API user', result.apiUser ?? '- (Identity named none)'],
      ['instance', `${instance} (REST ${base})`],
    ],
  );
  const table = renderTable(
    ['PERMISSION', 'STATUS'],
    result.rows.map((row) => [row.permission, statusText(row)]),
  );
  const calls = `${result.callsSpent} Marketo call${result.callsSpent === 1 ? '' : 's'} spent (cap ${result.maxCalls}), each under a permit of the shared budget of ${instance}.`;
  const advice =
    '"granted": the role has the Read-Only or the Read-Write permission (either lets it read); write and ' +
    'execute permissions are not probed. Award only the minimal set of permissions an application needs, and ' +
    'give each application its own API-only user (Marketo counts usage and errors per user).';
  return `${head}\n${table}\n${calls}\n${advice}\n`;
}

/** `clients check <clientId>`; returns the exit code (1 unless every read permission was decided). */
export async function checkClient(
  target: Target,
  io: CliIo,
  clientId: string,
  options: CheckOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  assertValidClientId(clientId);
  const credentials = await target.registry.credentials
    .get(clientId, { bypassCache: true })
    .catch((error) => {
      throw error instanceof UnknownClientError ? notRegistered(target, clientId) : error;
    });
  const policy = identityPolicy(options, env);
  // The REST host gets the token: it must be one the Identity allowlist accepts, like the Identity URL.
  const base = new URL(credentials.restUrl ?? credentials.identityUrl).origin;
  checkUrl(`${base}/rest`, credentials.restUrl === undefined ? 'identityUrl' : 'restUrl', policy);
  const instance = instanceKeyOf(credentials);
  const vendor = cliVendor(target, await target.store(), policy, TOKEN_MAX_WAIT_MS);
  const budget = createInstanceBudget({ store: await target.budgetStore(), clock: systemClock });
  const vendOptions = { minValiditySeconds: TOKEN_MIN_VALIDITY_SECONDS };

  const result = await checkPermissions({
    maxCalls: options.maxCalls,
    token: () => vendor.getToken(clientId, vendOptions),
    replaceToken: (rejected) => vendor.invalidate(clientId, rejected, vendOptions),
    async permit() {
      const permit = await budget.acquire(instance, { count: 1, maxWaitMs: PERMIT_WAIT_MS });
      return {
        async release(marketoLimit) {
          if (marketoLimit !== undefined) await budget.report(instance, marketoLimit);
          await budget.release(instance, permit.permitId);
        },
      };
    },
    get: (path, accessToken) => restGet(base, path, accessToken),
  });

  if (options.json) {
    const view = {
      clientId,
      ...(result.apiUser === undefined ? {} : { apiUser: result.apiUser }),
      instance,
      calls: { spent: result.callsSpent, cap: result.maxCalls },
      ...(result.stoppedBecause === undefined ? {} : { stoppedBecause: result.stoppedBecause }),
      permissions: result.rows,
    };
    io.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  } else {
    io.stdout.write(render(clientId, instance, base, result));
  }
  return result.complete ? 0 : 1;
}
