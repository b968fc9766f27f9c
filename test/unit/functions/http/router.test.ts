import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROUTES } from '../../../../functions/contract/index.js';
import { systemClock } from '../../../../functions/core/clock.js';
import { RouteNotFoundError } from '../../../../functions/core/errors.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { type ApiDeps, dispatchApiEvent, ROUTE_HANDLERS } from '../../../../functions/http/router.js';
import { createTelemetry } from '../../../../functions/telemetry.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';
import { apiEvent, routeEvent } from '../../../support/api-event.js';

const record = testCredentials('acme');
const deps: ApiDeps = {
  vendor: createTokenVendor({
    store: new MemoryTokenStore(),
    credentials: new MemoryCredentials([record]),
    identity: new FakeIdentity(systemClock, [record]),
  }),
  telemetry: createTelemetry('router-test'),
  maxWaitMs: 5_000,
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('router', () => {
  it("binds a handler to every route of the contract's table, and to nothing else", () => {
    expect(Object.keys(ROUTE_HANDLERS).sort()).toEqual(ROUTES.map((route) => route.kind).sort());
  });

  it.for(ROUTES)(
    'dispatches $method $resource to the handler of its kind, answering 200 no-store',
    async (route) => {
      const handler = vi.spyOn(ROUTE_HANDLERS, route.kind).mockResolvedValue({ served: route.kind });
      const event = routeEvent(route.kind, { clientId: 'acme', instance: 'acme' });

      const result = await dispatchApiEvent(event, deps, 'caller-arn');

      expect(handler).toHaveBeenCalledExactlyOnceWith(
        { event, route, name: 'acme', caller: 'caller-arn' },
        deps,
      );
      expect(result).toEqual<APIGatewayProxyResult>({
        statusCode: 200,
        headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
        body: JSON.stringify({ served: route.kind }),
      });
    },
  );

  it('throws NotFound for a method and resource the table does not have', async () => {
    const event = apiEvent({ method: 'DELETE', resource: '/tokens/{clientId}', path: '/tokens/x' });

    await expect(dispatchApiEvent(event, deps, 'caller-arn')).rejects.toEqual(
      new RouteNotFoundError('no route for DELETE /tokens/x'),
    );
  });

  it('throws NotFound for a permit route when the vendor has no permit service', async () => {
    const event = routeEvent('permit', { clientId: 'acme' });

    await expect(dispatchApiEvent(event, deps, 'caller-arn')).rejects.toEqual(
      new RouteNotFoundError('no permit service for /tokens/acme/permits'),
    );
  });

  it('answers GET /tokens/{clientId} with the token of that client', async () => {
    const result = await dispatchApiEvent(routeEvent('token', { clientId: 'acme' }), deps, 'caller-arn');

    expect(JSON.parse(result.body)).toMatchObject({ clientId: 'acme', tokenType: 'bearer' });
  });
});
