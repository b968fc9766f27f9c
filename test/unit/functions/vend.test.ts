import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FileCredentials } from '../../../functions/adapters/file-credentials.js';
import { MemoryBudgetStore } from '../../../functions/adapters/memory-budget-store.js';
import { API_TOKEN_ROTATING_METRIC } from '../../../functions/contract/index.js';
import { createInstanceBudget } from '../../../functions/core/budget/index.js';
import { systemClock } from '../../../functions/core/clock.js';
import { CredentialsUnavailableError } from '../../../functions/core/errors.js';
import type { CredentialsSource } from '../../../functions/core/ports.js';
import { createTokenVendor } from '../../../functions/core/token-vendor.js';
import type { TokenVendor } from '../../../functions/core/token-vendor-api.js';
import { createPermitService } from '../../../functions/http/permit-request.js';
import type { TokenResponse } from '../../../functions/http/vend-request.js';
import { coreLogger, createTelemetry } from '../../../functions/telemetry.js';
import { createVendHandler } from '../../../functions/vend.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../testing/memory-token-store.js';
import { apiEvent, lambdaContext, routeEvent } from '../../support/api-event.js';

/** A vend handler for one registered client, `client-a`, on an in-memory vendor. */
function setup(lifespanSeconds = 3600) {
  const record = testCredentials('client-a');
  const identity = new FakeIdentity(systemClock, [record], lifespanSeconds);
  const telemetry = createTelemetry('vend-handler-test');
  const credentials = new MemoryCredentials([record]);
  const vendor = createTokenVendor({
    store: new MemoryTokenStore(),
    credentials,
    identity,
    logger: coreLogger(telemetry.logger),
  });
  const permits = createPermitService({
    budget: createInstanceBudget({ store: new MemoryBudgetStore(), clock: systemClock }),
    credentials,
  });
  const handler = createVendHandler({ vendor, telemetry, maxWaitMs: 25_000, permits });
  const api = (event: APIGatewayProxyEvent) =>
    handler(event, lambdaContext()) as Promise<APIGatewayProxyResult>;
  return { identity, telemetry, handler, api };
}

const body = (result: APIGatewayProxyResult) => JSON.parse(result.body) as Record<string, unknown>;

describe('vend handler over API Gateway', () => {
  it('answers GET /tokens/{clientId} with the token and no-store caching', async () => {
    const { api } = setup();
    const result = await api(routeEvent('token', { clientId: 'client-a' }));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    expect(Object.keys(body(result))).toEqual([
      'clientId',
      'accessToken',
      'tokenType',
      'expiresAt',
      'expiresIn',
      'scope',
    ]);
    expect(body(result)).toMatchObject({ clientId: 'client-a', tokenType: 'bearer' });
    expect(Date.parse(String(body(result).expiresAt))).toBeGreaterThan(Date.now());
  });

  it('answers 400 InvalidRequest for a malformed minValidity', async () => {
    const { api } = setup();
    const result = await api(
      routeEvent('token', { clientId: 'client-a' }, { query: { minValidity: '1e3' } }),
    );
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({
      error: { code: 'InvalidRequest', message: expect.stringContaining('minValidity') },
    });
  });

  it('answers 400 InvalidRequest for a malformed client id', async () => {
    const { api } = setup();
    const result = await api(routeEvent('token', { clientId: '..%2F..' }));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ error: { code: 'InvalidRequest' } });
  });

  it('answers 404 UnknownClient for a client with no credentials', async () => {
    const { api } = setup();
    const result = await api(routeEvent('token', { clientId: 'nobody' }));
    expect(result.statusCode).toBe(404);
    expect(body(result)).toMatchObject({ error: { code: 'UnknownClient' } });
  });

  it('answers 503 with Retry-After when the token is rotating beyond the caller budget', async () => {
    const { api } = setup(100);
    await api(routeEvent('token', { clientId: 'client-a' }));
    const result = await api(
      routeEvent('token', { clientId: 'client-a' }, { query: { minValidity: '200', maxWaitSeconds: '0' } }),
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toMatch(/^\d+$/);
    expect(body(result)).toMatchObject({ error: { code: 'TokenRotating' } });
  });

  it('counts an answer 503 TokenRotating as ApiTokenRotating, the intended 503s the 5xx alarm leaves out', async () => {
    const { api, telemetry } = setup(100);
    const added = vi.spyOn(telemetry.metrics, 'addMetric');
    await api(routeEvent('token', { clientId: 'client-a' }));
    await api(
      routeEvent('token', { clientId: 'client-a' }, { query: { minValidity: '200', maxWaitSeconds: '0' } }),
    );
    expect(added.mock.calls.filter(([name]) => name === API_TOKEN_ROTATING_METRIC)).toEqual([
      [API_TOKEN_ROTATING_METRIC, 'Count', 1],
    ]);
  });

  it('answers 400 when maxWaitSeconds exceeds the configured maximum', async () => {
    const { api } = setup();
    const result = await api(
      routeEvent('token', { clientId: 'client-a' }, { query: { maxWaitSeconds: '26' } }),
    );
    expect(result.statusCode).toBe(400);
  });

  it('invalidates with POST /tokens/{clientId}/invalidate', async () => {
    const { api, identity } = setup();
    const first = body(await api(routeEvent('token', { clientId: 'client-a' })));
    identity.revoke('client-a');
    const result = await api(
      routeEvent('invalidate', { clientId: 'client-a' }, { body: { accessToken: first.accessToken } }),
    );
    expect(result.statusCode).toBe(200);
    expect(body(result).accessToken).not.toBe(first.accessToken);
  });

  it.each([['not json'], ['[]'], ['{}'], [JSON.stringify({ accessToken: 42 })]])(
    'answers 400 for the invalidate body %j',
    async (raw) => {
      const { api } = setup();
      const result = await api(routeEvent('invalidate', { clientId: 'client-a' }, { body: raw }));
      expect(result.statusCode).toBe(400);
      expect(body(result)).toMatchObject({ error: { code: 'InvalidRequest' } });
    },
  );

  it('answers 404 NotFound for an unknown route', async () => {
    const { api } = setup();
    const result = await api(
      apiEvent({ method: 'DELETE', resource: '/tokens/{clientId}', path: '/tokens/x' }),
    );
    expect(result).toEqual({
      statusCode: 404,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      body: JSON.stringify({ error: { code: 'NotFound', message: 'no route for DELETE /tokens/x' } }),
    });
  });

  it('answers POST /tokens/{clientId}/permits with a permit of the client instance', async () => {
    const { api } = setup();
    const result = await api(
      routeEvent('permit', { clientId: 'client-a' }, { body: { concurrency: false } }),
    );
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({ count: 1, unmetered: false });
  });
});

describe('vend handler on direct invoke', () => {
  it('does not count a TokenRotating it throws as an API answer (the API 5xx metric never sees it)', async () => {
    const { handler, telemetry } = setup(100);
    const added = vi.spyOn(telemetry.metrics, 'addMetric');
    await handler({ clientId: 'client-a' }, lambdaContext());
    await expect(
      handler({ clientId: 'client-a', minValidity: 200, maxWaitSeconds: 0 }, lambdaContext()),
    ).rejects.toMatchObject({ code: 'TokenRotating' });
    expect(added.mock.calls.filter(([name]) => name === API_TOKEN_ROTATING_METRIC)).toEqual([]);
  });

  it('returns the token for {clientId, minValidity}', async () => {
    const { handler } = setup();
    const result = (await handler(
      { clientId: 'client-a', minValidity: 60 },
      lambdaContext(),
    )) as TokenResponse;
    expect(result).toMatchObject({ clientId: 'client-a', tokenType: 'bearer' });
    expect(result.expiresIn).toBeGreaterThanOrEqual(60);
  });

  it('throws errors named by their stable code so Step Functions Catch can match them', async () => {
    const { handler } = setup();
    await expect(handler({ clientId: 'nobody' }, lambdaContext())).rejects.toMatchObject({
      name: 'UnknownClient',
      code: 'UnknownClient',
    });
  });

  it('rejects a payload without a client id as InvalidRequest', async () => {
    const { handler } = setup();
    await expect(handler({ minValidity: 5 }, lambdaContext())).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
  });
});

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

const tokenOf = (clientId: string) => routeEvent('token', { clientId });

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
    const result = await api(vendorOn(new FileCredentials({ path })), tokenOf('nobody'));
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'UnknownClient' } });
    expect(result.body).not.toContain(dir);
  });

  it('answers unreadable credentials without the secret ARN', async () => {
    const result = await api(vendorOn(deniedSource), tokenOf('a'));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'CredentialsUnavailable' } });
    expect(result.body).not.toContain('arn:aws');
    expect(result.body).not.toContain('111122223333');
  });

  it('answers an Identity URL on a host off the allowlist without naming the host', async () => {
    const record = { ...testCredentials('internal'), identityUrl: 'https://identity.corp.internal/identity' };
    const result = await api(vendorOn(new MemoryCredentials([record])), tokenOf('internal'));
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
      tokenOf('a'),
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
      tokenOf('a'),
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('3');
  });

  it("maps a permit route's failure too, logging it with its code and route like every other", async () => {
    const { api, telemetry } = setup();
    const info = vi.spyOn(telemetry.logger, 'info');

    const result = await api(routeEvent('permit', { clientId: 'client-a' }, { body: { surprise: 1 } }));

    expect(result).toEqual({
      statusCode: 400,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      body: JSON.stringify({ error: { code: 'InvalidRequest', message: 'unknown field "surprise"' } }),
    });
    expect(info).toHaveBeenCalledWith('vend failed', {
      code: 'InvalidRequest',
      reason: 'unknown field "surprise"',
      caller: 'arn:aws:iam::111122223333:role/consumer',
      route: 'POST /tokens/{clientId}/permits',
    });
  });
});
