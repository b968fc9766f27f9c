import { fingerprint } from '../functions/core/fingerprint.js';
import type { TokenRecord } from '../functions/core/ports.js';

/** Below this much remaining life a token is shown as "expiring" (its successor comes only at expiry). */
export const EXPIRING_THRESHOLD_MS = 5 * 60_000;

/** Token state as operators see it. */
export type TokenStatus = 'valid' | 'expiring' | 'missing' | 'error';

/** One client's view: never the token itself, only its fingerprint. */
export interface ClientView {
  readonly clientId: string;
  /** False for a cached token item whose registration is gone. */
  readonly registered: boolean;
  readonly instance?: string;
  readonly identityHost?: string;
  /** Why the registration cannot be read (bad JSON, field missing), if so. */
  readonly registrationError?: string;
  /**
   * The owning API-only user: Identity's `scope` of the client's last token (stored with it). Never a secret:
   * the vendor keeps only an email-shaped scope.
   */
  readonly apiUser?: string;
  /** Other clients whose last token named the same API user (Marketo's usage statistics are per user). */
  readonly sharesApiUserWith?: readonly string[];
  readonly status: TokenStatus;
  readonly tokenFingerprint?: string;
  readonly expiresAt?: string;
  /** Negative once expired. */
  readonly expiresInSeconds?: number;
  readonly lastRefresh?: string;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly lease: LeaseView;
}

/** Who may call Identity for the client right now. */
export type LeaseView =
  | { readonly state: 'free' }
  | { readonly state: 'held' | 'lapsed'; readonly owner: string; readonly until: string };

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Classifies a store record: `error` when the last refresh failed (a success clears it), else `missing`
 * without a live token, `expiring` under 5 minutes, `valid` otherwise.
 */
export function classify(record: TokenRecord | undefined, now: number): TokenStatus {
  if (record?.lastError) return 'error';
  const token = record?.token;
  if (!token || token.expiresAt <= now) return 'missing';
  return token.expiresAt - now < EXPIRING_THRESHOLD_MS ? 'expiring' : 'valid';
}

/** Builds the view of one client from its registration (if any) and its store record (if any). */
export function clientView(
  clientId: string,
  registration:
    | { readonly instance?: string; readonly identityUrl?: string; readonly error?: string }
    | undefined,
  record: TokenRecord | undefined,
  now: number,
): ClientView {
  const token = record?.token;
  const lease: LeaseView = record?.lease
    ? {
        state: record.lease.leaseUntil > now ? 'held' : 'lapsed',
        owner: record.lease.owner,
        until: iso(record.lease.leaseUntil),
      }
    : { state: 'free' };
  const identityHost =
    registration?.identityUrl !== undefined && URL.canParse(registration.identityUrl)
      ? new URL(registration.identityUrl).host
      : undefined;
  return {
    clientId,
    registered: registration !== undefined,
    ...(registration?.instance === undefined ? {} : { instance: registration.instance }),
    ...(identityHost === undefined ? {} : { identityHost }),
    ...(registration?.error === undefined ? {} : { registrationError: registration.error }),
    ...(token?.scope === undefined ? {} : { apiUser: token.scope }),
    status: classify(record, now),
    ...(token === undefined
      ? {}
      : {
          tokenFingerprint: fingerprint(token.accessToken),
          expiresAt: iso(token.expiresAt),
          expiresInSeconds: Math.floor((token.expiresAt - now) / 1000),
          lastRefresh: iso(token.obtainedAt),
        }),
    ...(record?.lastError === undefined
      ? {}
      : {
          lastError: {
            code: record.lastError.code,
            message: record.lastError.message,
            at: iso(record.lastError.at),
          },
        }),
    lease,
  };
}

/**
 * Marks the views whose API user is also another client's (`others`: further clients, e.g. every stored
 * record when one client is shown). Marketo counts usage and errors per API user.
 */
export function withSharedApiUsers(
  views: readonly ClientView[],
  others: ReadonlyArray<{ readonly clientId: string; readonly apiUser?: string }> = views,
): ClientView[] {
  return views.map((view) => {
    if (view.apiUser === undefined) return view;
    const sharing = [
      ...new Set(
        others
          .filter((o) => o.apiUser === view.apiUser && o.clientId !== view.clientId)
          .map((o) => o.clientId),
      ),
    ].sort();
    return sharing.length === 0 ? view : { ...view, sharesApiUserWith: sharing };
  });
}

/** The note under `clients list` for each API user that several clients share. */
function sharedApiUserNotes(views: readonly ClientView[]): string[] {
  const byUser = new Map<string, string[]>();
  for (const view of views) {
    if (view.apiUser !== undefined && view.sharesApiUserWith !== undefined) {
      byUser.set(view.apiUser, [...(byUser.get(view.apiUser) ?? []), view.clientId]);
    }
  }
  return [...byUser].map(
    ([apiUser, clients]) =>
      `note: ${clients.join(', ')} share the API user ${apiUser}: Marketo counts usage and errors per API ` +
      'user, so its statistics cannot tell them apart; the vendor books its own usage per client and consumer ' +
      '(instances usage <instance>). Marketo advises one API-only user per application.',
  );
}

/** `1h 02m`, `59m 12s`, `8s`; `expired 3m 10s ago` when negative. */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `expired ${formatDuration(-seconds)} ago`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

const truncate = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** Renders rows as a left-aligned text table with a header. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The `clients list` table. */
export function renderList(views: readonly ClientView[]): string {
  const table = renderTable(
    ['CLIENT', 'INSTANCE', 'IDENTITY HOST', 'API USER', 'STATUS', 'TOKEN', 'EXPIRES IN', 'LAST ERROR'],
    views.map((v) => [
      v.registered ? v.clientId : `${v.clientId} (not registered)`,
      v.instance ?? '-',
      v.identityHost ?? (v.registrationError ? 'unreadable' : '-'),
      v.apiUser === undefined ? '-' : `${v.apiUser}${v.sharesApiUserWith ? ' (shared)' : ''}`,
      v.status,
      v.tokenFingerprint ?? '-',
      v.expiresInSeconds === undefined ? '-' : formatDuration(v.expiresInSeconds),
      v.lastError
        ? truncate(`${v.lastError.code}: ${v.lastError.message}`, 60)
        : v.registrationError
          ? truncate(v.registrationError, 60)
          : '-',
    ]),
  );
  const notes = sharedApiUserNotes(views);
  return notes.length === 0 ? table : `${table}\n${notes.join('\n')}\n`;
}

/** The `clients status` block for one client. */
export function renderStatus(v: ClientView, now: number): string {
  const ago = (at: string) => formatDuration(Math.floor((now - Date.parse(at)) / 1000));
  const lines: Array<[string, string]> = [
    ['client', v.registered ? v.clientId : `${v.clientId} (not registered: cached token item only)`],
    ['instance', v.instance ?? '-'],
    ['identity host', v.identityHost ?? '-'],
    [
      'api user',
      v.apiUser === undefined
        ? '- (known once a token was fetched)'
        : v.sharesApiUserWith
          ? `${v.apiUser} (shared with ${v.sharesApiUserWith.join(', ')}: one API-only user per application is advised)`
          : v.apiUser,
    ],
    ['status', v.status],
    ['token', v.tokenFingerprint ? `${v.tokenFingerprint} (fingerprint)` : 'none cached'],
    [
      'expires',
      v.expiresAt === undefined
        ? '-'
        : `${v.expiresAt} (${formatDuration(v.expiresInSeconds ?? 0).replace(/^(?!expired)/, 'in ')})`,
    ],
    ['last refresh', v.lastRefresh === undefined ? '-' : `${v.lastRefresh} (${ago(v.lastRefresh)} ago)`],
    [
      'lease',
      v.lease.state === 'free'
        ? 'free'
        : v.lease.state === 'held'
          ? `held by ${v.lease.owner} until ${v.lease.until} (refresh in progress)`
          : `lapsed (${v.lease.owner}, until ${v.lease.until}; the next caller takes over)`,
    ],
    ['last error', v.lastError ? `${v.lastError.code}: ${v.lastError.message} (at ${v.lastError.at})` : '-'],
  ];
  if (v.registrationError) lines.push(['registration', v.registrationError]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return `${lines.map(([k, value]) => `${k.padEnd(width)}  ${value}`).join('\n')}\n`;
}
