/**
 * Marketo's 603 "Access denied" (HTTP 200, `success:false`): the token is fine, the role of the Custom
 * Service's API-only user lacks a permission. `marketoFetch` and `withToken` turn it into
 * `MarketoAccessDenied`, naming the REST path and the permission it needs (from the contract's table, which
 * the Python client mirrors). It is never retried and never invalidates the token: a new token of the same
 * Custom Service has the same role.
 */
import { type MarketoPermission, requiredPermission } from '../functions/contract/marketo-permissions.js';

/** Marketo's error code for a call outside the API-only user's role. */
export const ACCESS_DENIED_CODE = '603';

/** The request Marketo refused: method and path (never the query string, which may hold personal data). */
export interface MarketoRequestLine {
  readonly method: string;
  readonly path: string;
}

/** Marketo answered 603: the role of the client's API-only user lacks the permission this call needs. */
export class MarketoAccessDenied extends Error {
  /** Stable code of this error (Marketo's own code is `marketoCode`). */
  readonly code = 'MarketoAccessDenied' as const;
  readonly marketoCode = ACCESS_DENIED_CODE;
  /** A new token has the same role: trying again cannot help. */
  readonly retryable = false;
  /** The Custom Service whose token was used (for a pool: the member that was picked). */
  readonly clientId: string;
  readonly method?: string;
  /** The REST path without its query string; unknown when a `withToken` callback returned the body. */
  readonly path?: string;
  /** The permission the path needs; unknown for paths the table does not cover. */
  readonly permission?: MarketoPermission;

  constructor(clientId: string, request?: MarketoRequestLine) {
    const needed = request && requiredPermission(request.method, request.path);
    super(describe(clientId, request, needed?.permission));
    this.clientId = clientId;
    if (request) {
      this.method = request.method.toUpperCase();
      this.path = request.path;
    }
    if (needed) this.permission = needed.permission;
  }

  override get name(): string {
    return 'MarketoAccessDenied';
  }
}

function describe(clientId: string, request: MarketoRequestLine | undefined, permission?: string): string {
  if (request === undefined) {
    return (
      `Marketo denied a call to client ${clientId} (603 Access denied): the role of its API-only user lacks ` +
      'the permission the call needs; use marketoFetch, or throw MarketoApiError with { method, path }, to have it named'
    );
  }
  const what = `Marketo denied ${request.method.toUpperCase()} ${request.path} to client ${clientId} (603 Access denied)`;
  if (permission === undefined) {
    return `${what}: the permission this path needs is not in the table of the vendor's client; see the role of its API-only user (Admin > Users & Roles)`;
  }
  const wider = permission.startsWith('Read-Only ')
    ? ` (${permission.replace('Read-Only ', 'Read-Write ')} also grants it)`
    : '';
  return (
    `${what}: the role of its API-only user lacks ${permission}${wider}; add the permission to that role ` +
    '(Admin > Users & Roles), or call with a client whose role has it'
  );
}

const isAccessDeniedCode = (code: unknown): boolean =>
  (typeof code === 'string' || typeof code === 'number') && String(code) === ACCESS_DENIED_CODE;

/** Whether `value` is a 603: an error (or object) with that `code`, or a body `{success:false, errors:[{code:"603"}]}`. */
export function isAccessDenied(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isAccessDeniedCode((value as { code?: unknown }).code)) return true;
  const errors = (value as { errors?: unknown }).errors;
  return (
    (value as { success?: unknown }).success === false &&
    Array.isArray(errors) &&
    errors.some((entry: { code?: unknown } | null) => isAccessDeniedCode(entry?.code))
  );
}

/** The request a thrown error names (`MarketoApiError`'s `request`), if any. */
const requestOf = (error: unknown): MarketoRequestLine | undefined => {
  const request = (error as { request?: Partial<MarketoRequestLine> } | null)?.request;
  return typeof request?.method === 'string' && typeof request.path === 'string'
    ? { method: request.method, path: request.path }
    : undefined;
};

/** Throws `MarketoAccessDenied` when a Marketo response is a 603 (its body is cancelled); else returns it. */
export async function rejectAccessDenied(
  response: Response,
  clientId: string,
  request: MarketoRequestLine,
): Promise<Response> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  if (!isAccessDenied(body)) return response;
  await response.body?.cancel();
  throw new MarketoAccessDenied(clientId, request);
}

/**
 * Wraps a `withToken` callback: a 603 it throws (with the request, if the error names one) or returns as a
 * Marketo body becomes `MarketoAccessDenied` for the client whose token it was given.
 */
export function failOnAccessDenied<K extends { readonly clientId: string }, T>(
  fn: (token: K) => Promise<T>,
): (token: K) => Promise<T> {
  return async (token) => {
    let value: T;
    try {
      value = await fn(token);
    } catch (error) {
      if (!(error instanceof MarketoAccessDenied) && isAccessDenied(error)) {
        throw new MarketoAccessDenied(token.clientId, requestOf(error));
      }
      throw error;
    }
    if (isAccessDenied(value)) throw new MarketoAccessDenied(token.clientId);
    return value;
  };
}
