import { describe, expect, it } from 'vitest';
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
