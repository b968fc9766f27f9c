/**
 * The request target of a local API call, parsed ONCE. The signature is verified over exactly the raw
 * path and query returned here, and the route is matched on exactly the same path, so a signature can
 * only ever be used for what it covers. Anything a parser could read two ways (a fragment, dot-segments
 * plain or percent-encoded, empty segments, encoded slashes, malformed percent-encoding) is refused
 * before routing: SigV4 canonicalisation drops `.`/`..`/empty segments, while URL parsers drop fragments
 * and resolve `%2e%2e`, and that difference let a signature for one client fetch another's token.
 */
import { type GatewayErrorKind, matchRoute, type Route } from '../functions/contract/index.js';
import { InvalidRequestError } from '../functions/core/errors.js';
import { assertValidClientId, assertValidInstance } from '../functions/core/ids.js';

/** A request target local mode will verify and route. */
export interface RequestTarget {
  /** The path exactly as received (percent-encoding untouched): what the signature is checked over. */
  readonly rawPath: string;
  /** The query string exactly as received, without `?` (`''` when there is none). */
  readonly rawQuery: string;
  /** The decoded path the route was matched on (`/tokens/abc`). */
  readonly path: string;
  readonly route: Route;
  /** The decoded path parameter (client id or instance name). */
  readonly name: string;
  readonly query: URLSearchParams;
}

/** Why a target is refused, in the terms of the gateway-error table. */
export interface TargetRefusal {
  readonly kind: Extract<GatewayErrorKind, 'BAD_REQUEST_PARAMETERS' | 'MISSING_AUTHENTICATION_TOKEN'>;
  /** Safe to show the caller: says what is wrong, never echoes the target. */
  readonly message: string;
}

export type TargetParse =
  | { readonly ok: true; readonly target: RequestTarget }
  | { readonly ok: false; readonly refusal: TargetRefusal };

const badRequest = (message: string): TargetParse => ({
  ok: false,
  refusal: { kind: 'BAD_REQUEST_PARAMETERS', message },
});

/** A `%` not followed by two hex digits. */
const MALFORMED_PERCENT = /%(?![0-9A-Fa-f]{2})/;
/** Characters RFC 3986 allows in a path or query, plus `%` for escapes. */
const TARGET_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/** Parses `rawTarget` (the request line's target) for `method`; never throws. */
export function parseRequestTarget(method: string, rawTarget: string): TargetParse {
  if (!rawTarget.startsWith('/')) return badRequest('Request target must be a path (origin-form)');
  if (rawTarget.includes('#')) return badRequest('Request target must not contain a fragment');
  if (!TARGET_CHARACTERS.test(rawTarget)) return badRequest('Request target contains invalid characters');
  if (MALFORMED_PERCENT.test(rawTarget)) return badRequest('Request target has malformed percent-encoding');

  const questionMark = rawTarget.indexOf('?');
  const rawPath = questionMark === -1 ? rawTarget : rawTarget.slice(0, questionMark);
  const rawQuery = questionMark === -1 ? '' : rawTarget.slice(questionMark + 1);

  const decoded: string[] = [];
  for (const segment of rawPath.split('/').slice(1)) {
    if (segment === '') return badRequest('Request path must not contain empty segments');
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      // Well-formed escapes can still decode to invalid UTF-8 (`%C0%AF`).
      return badRequest('Request target has malformed percent-encoding');
    }
    if (value === '.' || value === '..') return badRequest('Request path must not contain dot-segments');
    if (value.includes('/') || value.includes('\\')) {
      return badRequest('Request path must not contain encoded slashes');
    }
    decoded.push(value);
  }
  const path = `/${decoded.join('/')}`;
  const matched = matchRoute(method, path);
  if (!matched) {
    // API Gateway's answer to a route it does not have, under AWS_IAM.
    return {
      ok: false,
      refusal: { kind: 'MISSING_AUTHENTICATION_TOKEN', message: 'Missing Authentication Token' },
    };
  }
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(rawQuery);
  } catch {
    return badRequest('Request target has a malformed query string');
  }
  return {
    ok: true,
    target: { rawPath, rawQuery, path, route: matched.route, name: matched.name, query },
  };
}

/**
 * Why the target's client id or instance name is no valid id (too long, or outside the id alphabet), with the
 * handler's own message; `undefined` when it is valid. Checked before the policy, so no pattern ever runs on it.
 */
export function checkTargetName(target: RequestTarget): TargetRefusal | undefined {
  try {
    if (target.route.grant === 'client') assertValidClientId(target.name);
    else assertValidInstance(target.name);
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return { kind: 'BAD_REQUEST_PARAMETERS', message: error.message };
  }
}
