/**
 * Marketo's own count of an instance's calls today, over HTTP: `GET <REST base>/rest/v1/stats/usage.json`
 * with a vended token of the caller's client (or pool). The budget calls it under a permit of its own, to
 * confirm a reported 607 and to reconcile its daily count (functions/core/budget/marketo-reports.ts).
 *
 * Marketo's answer (Usage API): `{"success":true,"result":[{"date":"2026-12-01","total":1120,
 * "users":[{"userId":"api@acme.com","count":200},…]}]}`; a used-up day answers `success:false` with 607.
 * Nothing of Marketo's free text is passed on: only counts, user ids (the API users' emails, which the
 * Identity `scope` already shows operators) and the fact that the day is used up.
 */
import type { MarketoDayUsage, MarketoUsageReader } from '../core/budget/ports.js';
import { assertIdentityUrlAllowed, type IdentityUrlPolicy } from '../core/identity-url-policy.js';
import type { CredentialsSource } from '../core/ports.js';
import type { TokenVendor } from '../core/token-vendor-api.js';

export const USAGE_PATH = '/rest/v1/stats/usage.json';

/** Options of {@link marketoUsageReaders}. */
export interface MarketoUsageReadersOptions {
  readonly vendor: Pick<TokenVendor, 'getToken' | 'getInstanceToken'>;
  readonly credentials: CredentialsSource;
  /** The REST host must pass the same allowlist as Identity hosts: the vendor sends a live token there. */
  readonly urlPolicy: IdentityUrlPolicy;
  /** @default globalThis.fetch (resolved per call, so tests may stub it) */
  readonly fetch?: typeof fetch;
  /** @default 5_000 */
  readonly timeoutMs?: number;
}

/** A caller's route target: a client id, or a pool's instance name. */
export type UsageTarget = { readonly clientId: string } | { readonly instance: string };

/** Marketo's usage answer, as far as the vendor reads it. */
interface UsageAnswer {
  readonly success?: unknown;
  readonly errors?: ReadonlyArray<{ readonly code?: unknown }>;
  readonly result?: ReadonlyArray<{
    readonly total?: unknown;
    readonly users?: ReadonlyArray<{ readonly userId?: unknown; readonly count?: unknown }>;
  }>;
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;

/** What an answer says; throws (a read failure) for anything else. */
export function parseUsageAnswer(answer: unknown): MarketoDayUsage {
  const body = (typeof answer === 'object' && answer !== null ? answer : {}) as UsageAnswer;
  if (body.success === false) {
    if ((body.errors ?? []).some((e) => String(e?.code) === '607')) return { kind: 'exhausted' };
    const code = String(body.errors?.[0]?.code ?? 'none');
    throw new Error(`usage.json answered error ${/^\d{3,4}$/.test(code) ? code : 'unknown'}`);
  }
  const today = body.result?.[0];
  const calls = count(today?.total);
  if (body.success !== true || calls === undefined) throw new Error('usage.json answered no total');
  const users = (today?.users ?? []).flatMap((u) => {
    const n = count(u?.count);
    return typeof u?.userId === 'string' && n !== undefined
      ? [{ userId: u.userId.slice(0, 254), calls: n }]
      : [];
  });
  return { kind: 'counted', calls, users };
}

/** Builds the reader for a caller's target: its token, its credentials' REST base. */
export function marketoUsageReaders(options: MarketoUsageReadersOptions) {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return (target: UsageTarget): MarketoUsageReader =>
    async () => {
      const token =
        'clientId' in target
          ? await options.vendor.getToken(target.clientId)
          : await options.vendor.getInstanceToken(target.instance);
      const credentials = await options.credentials.get(token.clientId);
      const base = credentials.restUrl ?? new URL(credentials.identityUrl).origin;
      assertIdentityUrlAllowed(base, options.urlPolicy, `client ${token.clientId} REST URL`);
      const send = options.fetch ?? globalThis.fetch;
      const response = await send(new URL(USAGE_PATH, `${base}/`), {
        headers: { authorization: `Bearer ${token.accessToken}`, accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`usage.json answered HTTP ${response.status}`);
      }
      return parseUsageAnswer(await response.json());
    };
}
