import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  GATEWAY_ERRORS,
  gatewayErrorBody,
  gatewayResponseTemplate,
  HTTP_STATUS_BY_CODE,
  isValidClientId,
  matchRoute,
  ROUTES,
  resourceSegments,
  routeByResource,
  routeOf,
  routePath,
  routesGrantedBy,
} from '../../../../functions/contract/index.js';

describe('contract: routes', () => {
  it('lists the API routes (tokens, the budget permits, then the Bulk API slots) with their method, template and parameter', () => {
    expect(ROUTES.map((r) => `${r.method} ${r.resource}`)).toEqual([
      'GET /tokens/{clientId}',
      'POST /tokens/{clientId}/invalidate',
      'GET /instances/{instance}/token',
      'POST /instances/{instance}/invalidate',
      'POST /tokens/{clientId}/permits',
      'POST /tokens/{clientId}/permits/release',
      'POST /instances/{instance}/permits',
      'POST /instances/{instance}/permits/release',
      'POST /tokens/{clientId}/bulk-slots',
      'POST /tokens/{clientId}/bulk-slots/renew',
      'POST /tokens/{clientId}/bulk-slots/release',
      'POST /instances/{instance}/bulk-slots',
      'POST /instances/{instance}/bulk-slots/renew',
      'POST /instances/{instance}/bulk-slots/release',
    ]);
  });

  it('gives a client grant the client routes and an instance grant the instance routes, permits and bulk slots included', () => {
    expect(routesGrantedBy('client').map((r) => r.kind)).toEqual([
      'token',
      'invalidate',
      'permit',
      'permit-release',
      'bulk-slot',
      'bulk-slot-renew',
      'bulk-slot-release',
    ]);
    expect(routesGrantedBy('instance').map((r) => r.kind)).toEqual([
      'instance-token',
      'instance-invalidate',
      'instance-permit',
      'instance-permit-release',
      'instance-bulk-slot',
      'instance-bulk-slot-renew',
      'instance-bulk-slot-release',
    ]);
  });

  it('fills a template with one name', () => {
    expect(routePath(routeOf('invalidate'), 'abc')).toBe('/tokens/abc/invalidate');
    expect(routePath(routeOf('instance-token'), '123-ABC-456')).toBe('/instances/123-ABC-456/token');
  });

  it('fills a template with a name as written, even one with replacement patterns like $&', () => {
    expect(routePath(routeOf('token'), 'a$&b')).toBe('/tokens/a$&b');
    expect(routePath(routeOf('permit'), "$'$`")).toBe("/tokens/$'$`/permits");
  });

  it('fills every route with a name it then matches back to that route and name', () => {
    for (const route of ROUTES) {
      expect(matchRoute(route.method, routePath(route, 'a$&b'))).toEqual({ route, name: 'a$&b' });
    }
  });

  it('splits a template into resource segments', () => {
    expect(resourceSegments(routeOf('instance-invalidate'))).toEqual([
      'instances',
      '{instance}',
      'invalidate',
    ]);
  });

  it('matches a concrete path to its route and name', () => {
    expect(matchRoute('POST', '/tokens/abc/invalidate')).toEqual({
      route: routeOf('invalidate'),
      name: 'abc',
    });
    expect(matchRoute('GET', '/instances/x/token')?.route.kind).toBe('instance-token');
  });

  it('matches no path of the wrong method, an empty name or extra segments', () => {
    expect(matchRoute('POST', '/tokens/abc')).toBeUndefined();
    expect(matchRoute('GET', '/tokens/')).toBeUndefined();
    expect(matchRoute('GET', '/tokens/abc/extra')).toBeUndefined();
  });

  it('finds the route API Gateway matched by method and resource template', () => {
    expect(routeByResource('GET', '/tokens/{clientId}')?.kind).toBe('token');
    expect(routeByResource('GET', '/tokens/{clientId}/invalidate')).toBeUndefined();
  });
});

describe('contract: ids', () => {
  it('accepts 128 characters of the safe alphabet and refuses 129', () => {
    expect(isValidClientId(`a${'b'.repeat(127)}`)).toBe(true);
    expect(isValidClientId(`a${'b'.repeat(128)}`)).toBe(false);
  });

  it('refuses an id that starts with a dot or holds a slash', () => {
    expect(isValidClientId('.abc')).toBe(false);
    expect(isValidClientId('a/b')).toBe(false);
  });
});

describe('contract: errors', () => {
  it('derives ERROR_CODES and the status map from one table', () => {
    expect(ERROR_CODES).toHaveLength(Object.keys(HTTP_STATUS_BY_CODE).length);
    expect(HTTP_STATUS_BY_CODE.TokenRotating).toBe(503);
    expect(HTTP_STATUS_BY_CODE.UnknownClient).toBe(404);
  });

  it('leaves the status of the 4xx and 5xx fallbacks alone (a 502 or 504 must not become 500)', () => {
    expect(GATEWAY_ERRORS.DEFAULT_5XX.setStatus).toBe(false);
    expect(GATEWAY_ERRORS.DEFAULT_4XX.setStatus).toBe(false);
  });

  it('answers gateway refusals in the handler shape', () => {
    expect(JSON.parse(gatewayErrorBody('THROTTLED'))).toEqual({
      error: { code: 'Throttled', message: 'Too Many Requests' },
    });
    expect(gatewayResponseTemplate('ACCESS_DENIED')).toBe(
      '{"error":{"code":"AccessDenied","message":$context.error.messageString}}',
    );
  });
});
