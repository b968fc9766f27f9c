import type { APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { API_TOKEN_ROTATING_METRIC } from '../../functions/contract/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { coreLogger, createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler, type TokenResponse } from '../../functions/vend.js';
import { apiEvent, getTokenEvent, invalidateEvent, lambdaContext } from '../support/api-event.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../support/fake-identity.js';
import { MemoryTokenStore } from '../support/memory-token-store.js';

function setup(lifespanSeconds = 3600) {
  const record = testCredentials('client-a');
  const identity = new FakeIdentity(systemClock, [record], lifespanSeconds);
  const telemetry = createTelemetry('vend-handler-test');
  const vendor = createTokenVendor({
    store: new MemoryTokenStore(),
    credentials: new MemoryCredentials([record]),
    identity,
    logger: coreLogger(telemetry.logger),
  });
  const handler = createVendHandler({ vendor, telemetry, maxWaitMs: 25_000 });
  const api = (event: ReturnType<typeof apiEvent>) =>
    handler(event, lambdaContext()) as Promise<APIGatewayProxyResult>;
  return { identity, handler, api, telemetry };
}

const body = (result: APIGatewayProxyResult) => JSON.parse(result.body) as Record<string, unknown>;

describe('vend handler over API Gateway', () => {
  it('answers GET /tokens/{clientId} with the token and no-store caching', async () => {
    const { api } = setup();
    const result = await api(getTokenEvent('client-a'));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'Cache-Control': 'no-store', 'Content-Type': 'application/json' });
    expect(Object.keys(body(result)).sort()).toEqual(
      ['accessToken', 'clientId', 'expiresAt', 'expiresIn', 'scope', 'tokenType'].sort(),
    );
    expect(body(result)).toMatchObject({ clientId: 'client-a', tokenType: 'bearer' });
    expect(Date.parse(String(body(result).expiresAt))).toBeGreaterThan(Date.now());
  });

  it('answers 400 InvalidRequest for a malformed minValidity', async () => {
    const { api } = setup();
    const result = await api(getTokenEvent('client-a', { minValidity: '1e3' }));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({
      error: { code: 'InvalidRequest', message: expect.stringContaining('minValidity') },
    });
  });

  it('answers 400 InvalidRequest for a malformed client id', async () => {
    const { api } = setup();
    const result = await api(getTokenEvent('..%2F..'));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ error: { code: 'InvalidRequest' } });
  });

  it('answers 404 UnknownClient for a client with no credentials', async () => {
    const { api } = setup();
    const result = await api(getTokenEvent('nobody'));
    expect(result.statusCode).toBe(404);
    expect(body(result)).toMatchObject({ error: { code: 'UnknownClient' } });
  });

  it('answers 503 with Retry-After when the token is rotating beyond the caller budget', async () => {
    const { api } = setup(100);
    await api(getTokenEvent('client-a'));
    const result = await api(getTokenEvent('client-a', { minValidity: '200', maxWaitSeconds: '0' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toMatch(/^\d+$/);
    expect(body(result)).toMatchObject({ error: { code: 'TokenRotating' } });
  });

  it('counts an answer 503 TokenRotating as ApiTokenRotating, the intended 503s the 5xx alarm leaves out', async () => {
    const { api, telemetry } = setup(100);
    const added = vi.spyOn(telemetry.metrics, 'addMetric');
    await api(getTokenEvent('client-a'));
    await api(getTokenEvent('client-a', { minValidity: '200', maxWaitSeconds: '0' }));
    expect(added.mock.calls.filter(([name]) => name === API_TOKEN_ROTATING_METRIC)).toEqual([
      [API_TOKEN_ROTATING_METRIC, 'Count', 1],
    ]);
  });

  it('answers 400 when maxWaitSeconds exceeds the configured maximum', async () => {
    const { api } = setup();
    const result = await api(getTokenEvent('client-a', { maxWaitSeconds: '26' }));
    expect(result.statusCode).toBe(400);
  });

  it('invalidates with POST /tokens/{clientId}/invalidate', async () => {
    const { api, identity } = setup();
    const first = body(await api(getTokenEvent('client-a')));
    identity.revoke('client-a');
    const result = await api(invalidateEvent('client-a', JSON.stringify({ accessToken: first.accessToken })));
    expect(result.statusCode).toBe(200);
    expect(body(result).accessToken).not.toBe(first.accessToken);
  });

  it.each([['not json'], ['[]'], ['{}'], [JSON.stringify({ accessToken: 42 })]])(
    'answers 400 for the invalidate body %j',
    async (raw) => {
      const { api } = setup();
      const result = await api(invalidateEvent('client-a', raw));
      expect(result.statusCode).toBe(400);
      expect(body(result)).toMatchObject({ error: { code: 'InvalidRequest' } });
    },
  );

  it('answers 404 NotFound for an unknown route', async () => {
    const { api } = setup();
    const result = await api(
      apiEvent({ method: 'DELETE', resource: '/tokens/{clientId}', path: '/tokens/x' }),
    );
    expect(result.statusCode).toBe(404);
    expect(body(result)).toMatchObject({ error: { code: 'NotFound' } });
  });
});

describe('vend handler on direct invoke', () => {
  it('returns the token for {clientId, minValidity}', async () => {
    const { handler } = setup();
    const result = (await handler(
      { clientId: 'client-a', minValidity: 60 },
      lambdaContext(),
    )) as TokenResponse;
    expect(result).toMatchObject({ clientId: 'client-a', tokenType: 'bearer' });
    expect(result.expiresIn).toBeGreaterThanOrEqual(60);
  });

  it('does not count a TokenRotating it throws as an API answer (the API 5xx metric never sees it)', async () => {
    const { handler, telemetry } = setup(100);
    const added = vi.spyOn(telemetry.metrics, 'addMetric');
    await handler({ clientId: 'client-a' }, lambdaContext());
    await expect(
      handler({ clientId: 'client-a', minValidity: 200, maxWaitSeconds: 0 }, lambdaContext()),
    ).rejects.toMatchObject({ code: 'TokenRotating' });
    expect(added.mock.calls.filter(([name]) => name === API_TOKEN_ROTATING_METRIC)).toEqual([]);
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
