import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpIdentityClient } from '../../../../functions/adapters/http-identity-client.js';
import { PermitUnavailableError } from '../../../../functions/core/budget/index.js';
import {
  CredentialsMisconfiguredError,
  InvalidRequestError,
  TokenRotatingError,
  UnknownClientError,
} from '../../../../functions/core/errors.js';
import { DirectInvokeError, publicError, redactInternals } from '../../../../functions/http/public-error.js';

describe('redactInternals', () => {
  it.each([
    ['not in /tmp/x/.local/credentials.json)', 'not in [path])'],
    ['cannot read C:\\data\\credentials.json', 'cannot read [path]'],
    ['reading arn:aws:secretsmanager:eu-west-1:111122223333:secret:a-AbC failed', 'reading [arn] failed'],
    ['Identity at https://10.0.0.5:8443/identity timed out', 'Identity at [url] timed out'],
    ['connect ECONNREFUSED 10.0.0.5:443', 'connect ECONNREFUSED [address]'],
    ['getaddrinfo ENOTFOUND identity.corp.internal', 'getaddrinfo ENOTFOUND [host]'],
    [
      'identityUrl host "evil.internal" is not on the allowlist (*.mktorest.com, x.corp)',
      'identityUrl host "[host]" is not on the allowlist ([hosts])',
    ],
    ['connect to [fd00::1]:443 failed', 'connect to [address] failed'],
  ])('%s', (message, redacted) => {
    expect(redactInternals(message)).toBe(redacted);
  });

  it('keeps secret names, client ids, codes and counts', () => {
    const message =
      'secret marketo-token-vendor/clients/my.app-1: field "clientId" (clients[1]) Marketo error 601, HTTP 401';
    expect(redactInternals(message)).toBe(message);
  });
});

/** Where nothing listens: a port the OS gave out and took back. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The innermost message along an error's cause chain (undici wraps system errors in "fetch failed"). */
const rootMessage = (error: unknown): string => {
  let current = error as Error;
  while (current.cause instanceof Error) current = current.cause;
  return current.message;
};

const CREDENTIALS = { clientId: 'c', clientSecret: 's3cret-value', identityUrl: '' } as const;

describe('redactInternals on the messages Node and the Identity client really write', () => {
  it.each([
    // Captured from Node 20.20 (getaddrinfo needs DNS, which tests may not use).
    ['getaddrinfo ENOTFOUND identity.corp.internal', 'getaddrinfo ENOTFOUND [host]'],
    ['getaddrinfo EAI_AGAIN identity.corp.internal', 'getaddrinfo EAI_AGAIN [host]'],
    // tls.connect with a servername the certificate does not name (Node 20.20, ERR_TLS_CERT_ALTNAME_INVALID).
    [
      "Hostname/IP does not match certificate's altnames: Host: identity.corp.internal. is not in the cert's altnames: DNS:other.corp.internal",
      "Hostname/IP does not match certificate's altnames: Host: [host]. is not in the cert's altnames: DNS:[host]",
    ],
    ['self-signed certificate', 'self-signed certificate'],
    ['unable to verify the first certificate', 'unable to verify the first certificate'],
    // undici's ConnectTimeoutError (Node 20's fetch).
    [
      'Connect Timeout Error (attempted address: identity.corp.internal:443, timeout: 10000ms)',
      'Connect Timeout Error (attempted address: [host], timeout: 10000ms)',
    ],
    ['The operation was aborted due to timeout', 'The operation was aborted due to timeout'],
    // The Identity client's own sentences keep every word.
    ['Identity host could not be resolved (ENOTFOUND)', 'Identity host could not be resolved (ENOTFOUND)'],
    ['Identity refused the connection (ECONNREFUSED)', 'Identity refused the connection (ECONNREFUSED)'],
    ['Identity timed out after 5000 ms', 'Identity timed out after 5000 ms'],
    ['the host is unreachable', 'the host is unreachable'],
  ])('%s', (message, redacted) => {
    expect(redactInternals(message)).toBe(redacted);
  });

  it('redacts the address of a real refused connection and keeps the rest of the sentence', async () => {
    const port = await closedLoopbackPort();
    const error = await fetch(`http://127.0.0.1:${port}/identity/oauth/token`).catch((e: unknown) => e);
    expect(rootMessage(error)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(redactInternals(rootMessage(error))).toBe('connect ECONNREFUSED [address]');
  });

  it("tells a caller an unresolvable Identity host in the Identity client's whole sentence", async () => {
    const enotfound = Object.assign(new Error('getaddrinfo ENOTFOUND identity.corp.internal'), {
      code: 'ENOTFOUND',
    });
    const identity = new HttpIdentityClient({
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: enotfound });
      },
    });
    const error = await identity
      .fetchToken(
        { ...CREDENTIALS, identityUrl: 'https://identity.corp.internal/identity' },
        { timeoutMs: 5_000 },
      )
      .catch((e: unknown) => e);
    expect(publicError(error)).toEqual({
      code: 'IdentityUnavailable',
      message: 'Identity host could not be resolved (ENOTFOUND)',
    });
  });

  it("tells a caller a refused connection in the Identity client's whole sentence", async () => {
    const port = await closedLoopbackPort();
    const error = await new HttpIdentityClient()
      .fetchToken({ ...CREDENTIALS, identityUrl: `http://127.0.0.1:${port}/identity` }, { timeoutMs: 5_000 })
      .catch((e: unknown) => e);
    expect(publicError(error)).toEqual({
      code: 'IdentityUnavailable',
      message: 'Identity refused the connection (ECONNREFUSED)',
    });
  });
});

describe('publicError', () => {
  it('redacts the message of an adapter error and keeps its code', () => {
    expect(
      publicError(new UnknownClientError('no credentials registered for client "a" (not in /srv/c.json)')),
    ).toEqual({
      code: 'UnknownClient',
      message: 'no credentials registered for client "a" (not in [path])',
    });
  });

  it("passes the caller's own input back unchanged in an InvalidRequest message", () => {
    expect(publicError(new InvalidRequestError('no route for GET /tokens/a/b')).message).toBe(
      'no route for GET /tokens/a/b',
    );
  });

  it('keeps Retry-After', () => {
    expect(publicError(new TokenRotatingError('rotating', { retryAfterSeconds: 4 }))).toEqual({
      code: 'TokenRotating',
      message: 'rotating',
      retryAfterSeconds: 4,
    });
  });

  it("keeps a PermitUnavailable's exact wait and reason as details for the body", () => {
    expect(publicError(new PermitUnavailableError('concurrency', 1_250))).toEqual({
      code: 'PermitUnavailable',
      message: "the instance's concurrent calls are all in use: retry in 1250 ms",
      retryAfterSeconds: 2,
      details: { retryAfterMs: 1_250, reason: 'concurrency' },
    });
  });

  it('turns anything untyped into a bland InternalError', () => {
    expect(publicError(new Error('at /var/task/index.mjs'))).toEqual({
      code: 'InternalError',
      message: 'internal error',
    });
    expect(publicError('text')).toEqual({ code: 'InternalError', message: 'internal error' });
  });
});

describe('DirectInvokeError', () => {
  it('is named by its code, as Step Functions Catch matches it', () => {
    const error = new DirectInvokeError(publicError(new CredentialsMisconfiguredError('secret x: bad JSON')));
    expect(error).toMatchObject({
      name: 'CredentialsMisconfigured',
      code: 'CredentialsMisconfigured',
      message: 'secret x: bad JSON',
    });
  });
});
