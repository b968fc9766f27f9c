/** One SigV4-signed call to the token API, waiting out `503`/`429` answers within a budget. */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { RETRY_WITHOUT_RETRY_AFTER_MS } from './defaults.js';
import { errorFromResponse, TokenVendorClientError } from './errors.js';

/** AWS credentials as the SigV4 signer takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Static credentials or a provider (e.g. from `@aws-sdk/credential-providers`). */
export type AwsCredentialsInput = AwsCredentials | (() => Promise<AwsCredentials>);

/** Time source of the library; injectable for tests and simulations. */
export interface ClientClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: ClientClock = {
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** What one call needs to know. */
export interface SignedCall {
  readonly method: 'GET' | 'POST';
  /** Path below the stage, e.g. `/tokens/my-sync`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Longest total time spent waiting (per `Retry-After`) for 503/429 answers before throwing. */
  readonly retryBudgetMs: number;
}

/** A 2xx answer: its parsed body, and when the request that got it was sent (after any retries). */
export interface SignedAnswer {
  readonly body: unknown;
  readonly sentAt: number;
  /** When that answer arrived. */
  readonly receivedAt: number;
}

/** Sends signed calls; resolves with the 2xx answer, rejects with a typed error. */
export type SignedCaller = (call: SignedCall) => Promise<SignedAnswer>;

const parseRetryAfter = (value: string | null): number | undefined => {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
};

const parseJson = (text: string): unknown => {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * The innermost message along a cause chain: fetch says only "fetch failed"; its cause says what failed
 * (`connect ECONNREFUSED 127.0.0.1:8787`, `getaddrinfo ENOTFOUND …`).
 */
const innermostMessage = (error: unknown): string => {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause instanceof Error; depth += 1) {
    current = current.cause;
  }
  return current instanceof Error ? current.message : String(current);
};

/** Creates the caller of the token API at `endpoint` (base URL including the stage). */
export function createSignedCaller(options: {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentialsInput;
  readonly fetch: typeof fetch;
  readonly clock: ClientClock;
}): SignedCaller {
  const base = new URL(options.endpoint.replace(/\/+$/, ''));
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const { clock } = options;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    sha256: Sha256,
    credentials: options.credentials,
  });

  const send = async ({ method, path, query, body }: SignedCall): Promise<Response> => {
    const url = new URL(`${base.origin}${basePath}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: { ...query },
        headers: {
          host: url.host,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { body: payload }),
      }),
      { signingDate: new Date(clock.now()) },
    );
    // fetch sets Host itself (from the URL, which is what was signed).
    const { host: _host, ...headers } = signed.headers;
    try {
      return await options.fetch(url, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
    } catch (error) {
      throw new TokenVendorClientError(
        'NetworkError',
        `token vendor unreachable (${base.origin}${basePath}): ${innermostMessage(error)}`,
        { status: 0, cause: error },
      );
    }
  };

  return async (call) => {
    const started = clock.now();
    for (;;) {
      const sentAt = clock.now();
      const response = await send(call);
      const parsed = parseJson(await response.text());
      if (response.ok) return { body: parsed, sentAt, receivedAt: clock.now() };
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 503 || response.status === 429) {
        // The vendor names when the successor (or Identity) is due: wait for it while the budget lasts.
        const waitMs = retryAfter === undefined ? RETRY_WITHOUT_RETRY_AFTER_MS : retryAfter * 1000;
        if (clock.now() + waitMs - started <= call.retryBudgetMs) {
          await clock.sleep(waitMs);
          continue;
        }
      }
      throw errorFromResponse(response.status, response.headers, parsed, retryAfter);
    }
  };
}
