import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, HeaderBag, HttpRequest as SmithyHttpRequest, SourceData } from '@smithy/types';
import type { GatewayErrorKind } from '../functions/contract/index.js';

/**
 * Verifies AWS Signature Version 4 on requests to the local API, the way API Gateway does for an
 * `AWS_IAM` method. The signature is recomputed with `@smithy/signature-v4` from the canonical request
 * (never a hand-written SigV4), so whatever the AWS SDK signer or `curl --aws-sigv4` produce is accepted.
 */

/** The parts of an incoming HTTP request the verifier needs. */
export interface SignedRequest {
  readonly method: string;
  /** The path exactly as received (the one the request is routed on; see request-target.ts). */
  readonly path: string;
  /** The query string exactly as received, without `?`; `''` when there is none. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** A local access key's secret and who it stands for. */
export interface LocalKey {
  readonly secretAccessKey: string;
}

export interface SigV4VerifierOptions {
  /** Looks up a local access key; `undefined` for keys that do not exist. */
  readonly lookupKey: (accessKeyId: string) => LocalKey | undefined | Promise<LocalKey | undefined>;
  /** The region requests must be scoped to. @default 'us-east-1' */
  readonly region?: string;
  /** The service requests must be scoped to. @default 'execute-api' */
  readonly service?: string;
  /** Largest tolerated clock difference, as AWS allows. @default 300_000 (5 minutes) */
  readonly maxSkewMs?: number;
  /** Epoch milliseconds; injectable for tests. @default Date.now */
  readonly now?: () => number;
}

/** Why a request was refused, with API Gateway's status, error type header and message. */
export interface VerificationFailure {
  readonly ok: false;
  readonly status: 403;
  /** The refusal's kind in the contract's gateway-error table. */
  readonly kind: Extract<
    GatewayErrorKind,
    'MISSING_AUTHENTICATION_TOKEN' | 'INVALID_SIGNATURE' | 'EXPIRED_TOKEN'
  >;
  /** API Gateway's `x-amzn-ErrorType` value. */
  readonly errorType:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'InvalidSignatureException'
    | 'UnrecognizedClientException';
  readonly message: string;
}

export interface VerificationSuccess {
  readonly ok: true;
  readonly accessKeyId: string;
}

export type VerificationResult = VerificationSuccess | VerificationFailure;

export interface SigV4Verifier {
  verify(request: SignedRequest): Promise<VerificationResult>;
}

/** Exactly API Gateway's messages, so clients and docs can match on them. */
export const SIGV4_MESSAGES = {
  missing: 'Missing Authentication Token',
  mismatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  unknownKey: 'The security token included in the request is invalid.',
} as const;

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const kindOf = (
  errorType: VerificationFailure['errorType'],
  message: string,
): VerificationFailure['kind'] => {
  if (errorType === 'MissingAuthenticationTokenException') return 'MISSING_AUTHENTICATION_TOKEN';
  // API Gateway's EXPIRED_TOKEN covers a signature outside the 5-minute window.
  if (message.startsWith('Signature expired') || message.startsWith('Signature not yet current'))
    return 'EXPIRED_TOKEN';
  return 'INVALID_SIGNATURE';
};

const failure = (errorType: VerificationFailure['errorType'], message: string): VerificationFailure => ({
  ok: false,
  status: 403,
  kind: kindOf(errorType, message),
  errorType,
  message,
});

/** A lowercase HTTP header name (RFC 9110 token): nothing else can be a signed header. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  // Own properties only: `constructor` or `__proto__` must not resolve to Object.prototype's members.
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  if (typeof value !== 'string' && !Array.isArray(value)) return undefined;
  // Repeated headers are canonicalised as one comma-separated value, as SigV4 specifies.
  return Array.isArray(value) ? value.join(',') : value;
};

const parseAmzDate = (value: string): Date | undefined => {
  const m = AMZ_DATE_PATTERN.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  return Number.isNaN(date.getTime()) ? undefined : date;
};

const formatAmzDate = (epochMs: number): string =>
  new Date(epochMs)
    .toISOString()
    .replace(/\.\d{3}/, '')
    .replace(/[-:]/g, '');

/**
 * Splits a raw query string into decoded keys and values; smithy re-encodes them canonically. No prototype,
 * so `toString` or `constructor` are parameters, not inherited members.
 */
const parseQuery = (rawQuery: string): Record<string, string | string[]> => {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
};

/**
 * curl before 8.x puts the query string into the canonical request as sent (neither sorted nor
 * re-encoded) and does not re-encode the path. Everything else stays smithy's: only that one line of
 * the canonical request is replaced, and the path is taken as is.
 */
class VerbatimSignatureV4 extends SignatureV4 {
  readonly #rawQuery: string;

  constructor(init: ConstructorParameters<typeof SignatureV4>[0], rawQuery: string) {
    super({ ...init, uriEscapePath: false });
    this.#rawQuery = rawQuery;
  }

  protected override createCanonicalRequest(
    request: SmithyHttpRequest,
    canonicalHeaders: HeaderBag,
    payloadHash: string,
  ): string {
    const lines = super
      .createCanonicalRequest({ ...request, query: {} }, canonicalHeaders, payloadHash)
      .split('\n');
    lines[2] = this.#rawQuery;
    return lines.join('\n');
  }
}

const sameHex = (a: string, b: string): boolean => {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
};

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/**
 * SHA-256 and HMAC-SHA256 from node:crypto for the signer: every request is signed again here (the store's
 * guard does it for every DynamoDB call), and the pure-JS hash cost several times more per request.
 */
class NodeSha256 implements Checksum {
  readonly #secret?: Buffer;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    if (secret !== undefined) this.#secret = bytes(secret);
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }
}

const sha256Hex = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');

/** Builds a verifier bound to a key lookup, a region and a service. */
export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const region = options.region ?? 'us-east-1';
  const service = options.service ?? 'execute-api';
  const maxSkewMs = options.maxSkewMs ?? 300_000;
  const now = options.now ?? Date.now;

  return {
    async verify(request: SignedRequest): Promise<VerificationResult> {
      const authorization = headerValue(request.headers, 'authorization');
      if (authorization === undefined || authorization.trim() === '') {
        return failure('MissingAuthenticationTokenException', SIGV4_MESSAGES.missing);
      }
      const parsed = AUTH_PATTERN.exec(authorization.trim());
      if (!parsed) {
        return failure(
          'IncompleteSignatureException',
          `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256). Authorization=${authorization.split(' ')[0]}`,
        );
      }
      const [, credential, signedHeaderList, signature] = parsed;
      const scope = credential.split('/');
      if (scope.length !== 5 || scope[4] !== 'aws4_request') {
        return failure(
          'IncompleteSignatureException',
          "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
            `${scope.slice(1).join('/')}'`,
        );
      }
      const [accessKeyId, scopeDate, scopeRegion, scopeService] = scope;

      const amzDate = headerValue(request.headers, 'x-amz-date');
      const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
      if (amzDate === undefined || signingDate === undefined) {
        return failure(
          'IncompleteSignatureException',
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
      }
      const signed = signedHeaderList.split(';');
      if (!signed.every((name) => HEADER_NAME.test(name)) || new Set(signed).size !== signed.length) {
        return failure('InvalidSignatureException', SIGV4_MESSAGES.mismatch);
      }
      if (!signed.includes('host')) {
        return failure(
          'IncompleteSignatureException',
          "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        );
      }
      if (scopeDate !== amzDate.slice(0, 8)) {
        return failure(
          'InvalidSignatureException',
          `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
        );
      }
      if (scopeService !== service) {
        return failure(
          'InvalidSignatureException',
          `Credential should be scoped to correct service: '${service}'. `,
        );
      }
      if (scopeRegion !== region) {
        return failure(
          'InvalidSignatureException',
          `Credential should be scoped to a valid region, not '${scopeRegion}'. `,
        );
      }

      const nowMs = now();
      const skew = signingDate.getTime() - nowMs;
      if (skew < -maxSkewMs) {
        return failure(
          'InvalidSignatureException',
          `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - maxSkewMs)} (${formatAmzDate(nowMs)} - 5 min.)`,
        );
      }
      if (skew > maxSkewMs) {
        return failure(
          'InvalidSignatureException',
          `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + maxSkewMs)} (${formatAmzDate(nowMs)} + 5 min.)`,
        );
      }

      const key = await options.lookupKey(accessKeyId);
      if (key === undefined) {
        return failure('UnrecognizedClientException', SIGV4_MESSAGES.unknownKey);
      }

      // A signed payload hash must be the hash of the body actually received, or a captured signature
      // could be replayed with another body.
      const bodyHash = request.body.length === 0 ? EMPTY_SHA256 : sha256Hex(request.body);
      const claimedHash = headerValue(request.headers, 'x-amz-content-sha256');
      if (claimedHash !== undefined && signed.includes('x-amz-content-sha256') && claimedHash !== bodyHash) {
        return failure('InvalidSignatureException', SIGV4_MESSAGES.mismatch);
      }

      // Rebuild the request with exactly the headers the client signed, then sign it again.
      const pairs: Array<[string, string]> = [];
      for (const name of signed) {
        const value = headerValue(request.headers, name);
        if (value === undefined) return failure('InvalidSignatureException', SIGV4_MESSAGES.mismatch);
        pairs.push([name, value]);
      }
      // fromEntries defines own properties, so even a header named like a prototype member stays data.
      const headers: Record<string, string> = Object.fromEntries(pairs);
      const { path, rawQuery } = request;
      const credentials = { accessKeyId, secretAccessKey: key.secretAccessKey };
      const resign = async (signer: SignatureV4, query: Record<string, string | string[]>) => {
        const rebuilt = new HttpRequest({
          method: request.method.toUpperCase(),
          protocol: 'http:',
          hostname: String(headers.host).replace(/:\d+$/, ''),
          path,
          query,
          headers,
          body: request.body.length === 0 ? undefined : request.body,
        });
        const signedRequest = await signer.sign(rebuilt, { signingDate, signableHeaders: new Set(signed) });
        const auth = String(signedRequest.headers.authorization);
        return {
          signature: /Signature=([0-9a-f]{64})/.exec(auth)?.[1] ?? '',
          signedHeaders: /SignedHeaders=([^,\s]+)/.exec(auth)?.[1] ?? '',
        };
      };
      const matches = (candidate: { signature: string; signedHeaders: string }): boolean =>
        candidate.signedHeaders === signedHeaderList && sameHex(candidate.signature, signature);

      // What the AWS SDKs (and curl >= 8) sign: path URI-encoded again, query sorted and re-encoded.
      const init = { service, region, sha256: NodeSha256, credentials, applyChecksum: false };
      const query = parseQuery(rawQuery);
      // smithy cannot canonicalise a parameter named __proto__ (it writes "[object Object]" and drops the
      // value), so such a query is checked only in the form that covers the query exactly as sent.
      let valid = !Object.hasOwn(query, '__proto__') && matches(await resign(new SignatureV4(init), query));
      if (!valid && (rawQuery !== '' || path.includes('%'))) {
        // What curl 7.x signs: the path and the query string exactly as sent.
        valid = matches(await resign(new VerbatimSignatureV4(init, rawQuery), {}));
      }
      if (!valid) return failure('InvalidSignatureException', SIGV4_MESSAGES.mismatch);
      return { ok: true, accessKeyId };
    },
  };
}
