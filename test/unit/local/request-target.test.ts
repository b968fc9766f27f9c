import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../../../local/request-target.js';

const refusal = (method: string, target: string) => {
  const parsed = parseRequestTarget(method, target);
  return parsed.ok ? undefined : parsed.refusal;
};

describe('parseRequestTarget', () => {
  describe('routes', () => {
    it('a client token request, keeping the raw path and query the signature covers', () => {
      const parsed = parseRequestTarget('GET', '/tokens/team-a-2?minValidity=60');
      expect(parsed.ok && parsed.target).toMatchObject({
        rawPath: '/tokens/team-a-2',
        rawQuery: 'minValidity=60',
        path: '/tokens/team-a-2',
        name: 'team-a-2',
        route: { kind: 'token' },
      });
      expect(parsed.ok && parsed.target.query.get('minValidity')).toBe('60');
    });

    it('a pool invalidate with a percent-encoded (but harmless) character decoded once', () => {
      const parsed = parseRequestTarget('POST', '/instances/acme%2D1/invalidate');
      expect(parsed.ok && parsed.target).toMatchObject({
        rawPath: '/instances/acme%2D1/invalidate',
        name: 'acme-1',
        route: { kind: 'instance-invalidate' },
      });
    });
  });

  describe('refuses with 400 before routing', () => {
    it.each([
      ['a fragment', '/tokens/team-a-1#/../team-a-2', 'fragment'],
      ['a plain dot-segment', '/tokens/team-a-1/../team-a-2', 'dot-segments'],
      ['a percent-encoded dot-segment', '/instances/inst-a/%2e%2e/inst-b/token', 'dot-segments'],
      ['a single dot', '/tokens/./team-a-2', 'dot-segments'],
      ['an empty segment', '/tokens//team-a-2', 'empty segments'],
      ['a trailing slash', '/tokens/team-a-2/', 'empty segments'],
      ['an encoded slash', '/tokens/team-a-2%2F..%2Fteam-a-1', 'encoded slashes'],
      ['an encoded backslash', '/tokens/team-a-2%5C..', 'encoded slashes'],
      ['malformed percent-encoding', '/tokens/%ZZ', 'malformed percent-encoding'],
      ['percent-encoding that is not UTF-8', '/tokens/%C0%AF', 'malformed percent-encoding'],
      ['an absolute-form target', 'http://127.0.0.1:8787/tokens/a', 'origin-form'],
      ['a raw backslash', '/tokens/a\\b', 'invalid characters'],
    ])('%s', (_what, target, reason) => {
      const found = refusal('GET', target);
      expect(found?.kind).toBe('BAD_REQUEST_PARAMETERS');
      expect(found?.message).toContain(reason);
    });
  });

  it('answers a route the API does not have as API Gateway does (missing authentication token)', () => {
    expect(refusal('GET', '/clients')).toEqual({
      kind: 'MISSING_AUTHENTICATION_TOKEN',
      message: 'Missing Authentication Token',
    });
    expect(refusal('DELETE', '/tokens/a')?.kind).toBe('MISSING_AUTHENTICATION_TOKEN');
  });
});
