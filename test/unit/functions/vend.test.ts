import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCredentials } from '../../../functions/adapters/file-credentials.js';
import { systemClock } from '../../../functions/core/clock.js';
import { CredentialsUnavailableError } from '../../../functions/core/errors.js';
import type { CredentialsSource } from '../../../functions/core/ports.js';
import { createTokenVendor } from '../../../functions/core/token-vendor.js';
import type { TokenVendor } from '../../../functions/core/token-vendor-api.js';
import { createTelemetry } from '../../../functions/telemetry.js';
import { createVendHandler } from '../../../functions/vend.js';
import { getTokenEvent, lambdaContext } from '../../support/api-event.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../support/fake-identity.js';
import { MemoryTokenStore } from '../../support/memory-token-store.js';

const dir = mkdtempSync(join(tmpdir(), 'vend-error-bodies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vendorOn = (credentials: CredentialsSource): TokenVendor =>
  createTokenVendor({
    store: new MemoryTokenStore(),
    credentials,
    identity: new FakeIdentity(systemClock, []),
  });

const handlerOn = (vendor: TokenVendor) =>
  createVendHandler({ vendor, telemetry: createTelemetry('vend-test') });

const api = async (vendor: TokenVendor, event: APIGatewayProxyEvent) =>
  (await handlerOn(vendor)(event, lambdaContext())) as APIGatewayProxyResult;

const secretArn =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:marketo-token-vendor/clients/a-AbCdEf';

/** A source that fails the way Secrets Manager does when access is denied, naming the secret's ARN. */
const deniedSource: CredentialsSource = {
  get: async () => {
    throw new CredentialsUnavailableError(
      `Secrets Manager failed reading ${secretArn}: AccessDeniedException`,
    );
  },
  list: async () => [],
};

describe('vend handler error bodies (issue 12: no path, ARN or internal host)', () => {
  it('answers an unknown client of the local credentials file without naming the file', async () => {
    const path = join(dir, 'credentials.json');
    writeFileSync(path, JSON.stringify({ clients: [] }));
    const result = await api(vendorOn(new FileCredentials({ path })), getTokenEvent('nobody'));
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'UnknownClient' } });
    expect(result.body).not.toContain(dir);
  });

  it('answers unreadable credentials without the secret ARN', async () => {
    const result = await api(vendorOn(deniedSource), getTokenEvent('a'));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'CredentialsUnavailable' } });
    expect(result.body).not.toContain('arn:aws');
    expect(result.body).not.toContain('111122223333');
  });

  it('answers an Identity URL on a host off the allowlist without naming the host', async () => {
    const record = { ...testCredentials('internal'), identityUrl: 'https://identity.corp.internal/identity' };
    const result = await api(vendorOn(new MemoryCredentials([record])), getTokenEvent('internal'));
    expect(result.statusCode).toBe(502);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'CredentialsMisconfigured' } });
    expect(result.body).not.toContain('corp.internal');
  });

  it('rethrows a direct invoke failure named by its code, without the secret ARN', async () => {
    const failure = handlerOn(vendorOn(deniedSource))({ clientId: 'a' }, lambdaContext());
    await expect(failure).rejects.toMatchObject({
      name: 'CredentialsUnavailable',
      code: 'CredentialsUnavailable',
    });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('arn:aws') });
  });
});

describe('vend handler error mapping (middy onError)', () => {
  const throwing = (error: unknown): TokenVendor => ({
    getToken: async () => {
      throw error;
    },
    invalidate: async () => {
      throw error;
    },
    getInstanceToken: async () => {
      throw error;
    },
    invalidateInstance: async () => {
      throw error;
    },
    refreshAll: async () => {
      throw error;
    },
    refreshDue: async () => {
      throw error;
    },
  });

  it('answers an unexpected error with a bland 500 InternalError and no-store', async () => {
    const result = await api(
      throwing(new TypeError('x is undefined at /var/task/index.mjs:1')),
      getTokenEvent('a'),
    );
    expect(result).toEqual({
      statusCode: 500,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      body: JSON.stringify({ error: { code: 'InternalError', message: 'internal error' } }),
    });
  });

  it('rethrows an unexpected error of a direct invoke as InternalError', async () => {
    await expect(
      handlerOn(throwing(new TypeError('boom')))({ clientId: 'a' }, lambdaContext()),
    ).rejects.toMatchObject({ name: 'InternalError', message: 'internal error' });
  });

  it('keeps Retry-After of a retryable error', async () => {
    const result = await api(
      throwing(new CredentialsUnavailableError('throttled', { retryAfterSeconds: 3 })),
      getTokenEvent('a'),
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('3');
  });
});
