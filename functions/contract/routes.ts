/**
 * The API's routes, once. The construct builds its resources and grant ARNs from this table, local mode
 * routes and authorizes with it, and the vend handler dispatches API Gateway events by it to the handler
 * bound to each kind (functions/http/router.ts). Adding a route is one row here and one handler there
 * (docs/architecture.md, "Adding a route").
 */

/** What a grant on one name covers: `grantVend(clientId)` or `grantVendInstance(instance)`. */
export type GrantScope = 'client' | 'instance';

/** One row of the table. */
export interface RouteRow {
  /** What the handler does: the key of its handler in functions/http/router.ts. */
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  /** API Gateway resource template, as in `event.resource`. */
  readonly resource: string;
  /** The one path parameter, named as in the template. */
  readonly pathParameter: 'clientId' | 'instance';
  readonly grant: GrantScope;
  /**
   * `rejected-token`: a JSON body `{"accessToken": "…"}` naming the token Marketo rejected (the construct
   * validates it with a request model). `permit`: an optional JSON body of permit options
   * (`{count?, leaseMs?, maxWaitMs?, release?, marketoError?}`). `bulk-slot`: a JSON body naming a Bulk API
   * slot (`{kind, leaseMs?, expectedBytes?}` to take one, `{slotId, leaseMs?}` to renew, `{slotId, bytes}` to
   * report the job's end).
   */
  readonly body: 'none' | 'rejected-token' | 'permit' | 'bulk-slot';
}

export const ROUTES = [
  {
    kind: 'token',
    method: 'GET',
    resource: '/tokens/{clientId}',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'none',
  },
  {
    kind: 'invalidate',
    method: 'POST',
    resource: '/tokens/{clientId}/invalidate',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'rejected-token',
  },
  {
    kind: 'instance-token',
    method: 'GET',
    resource: '/instances/{instance}/token',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'none',
  },
  {
    kind: 'instance-invalidate',
    method: 'POST',
    resource: '/instances/{instance}/invalidate',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'rejected-token',
  },
  // Permits are authorized like tokens: a grant on a client (or pool) covers its instance's permits.
  {
    kind: 'permit',
    method: 'POST',
    resource: '/tokens/{clientId}/permits',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'permit',
  },
  {
    kind: 'permit-release',
    method: 'POST',
    resource: '/tokens/{clientId}/permits/release',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'permit',
  },
  {
    kind: 'instance-permit',
    method: 'POST',
    resource: '/instances/{instance}/permits',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'permit',
  },
  {
    kind: 'instance-permit-release',
    method: 'POST',
    resource: '/instances/{instance}/permits/release',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'permit',
  },
  // Bulk API job slots, authorized like permits: a grant on a client (or pool) covers its instance's slots.
  {
    kind: 'bulk-slot',
    method: 'POST',
    resource: '/tokens/{clientId}/bulk-slots',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'bulk-slot',
  },
  {
    kind: 'bulk-slot-renew',
    method: 'POST',
    resource: '/tokens/{clientId}/bulk-slots/renew',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'bulk-slot',
  },
  {
    kind: 'bulk-slot-release',
    method: 'POST',
    resource: '/tokens/{clientId}/bulk-slots/release',
    pathParameter: 'clientId',
    grant: 'client',
    body: 'bulk-slot',
  },
  {
    kind: 'instance-bulk-slot',
    method: 'POST',
    resource: '/instances/{instance}/bulk-slots',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'bulk-slot',
  },
  {
    kind: 'instance-bulk-slot-renew',
    method: 'POST',
    resource: '/instances/{instance}/bulk-slots/renew',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'bulk-slot',
  },
  {
    kind: 'instance-bulk-slot-release',
    method: 'POST',
    resource: '/instances/{instance}/bulk-slots/release',
    pathParameter: 'instance',
    grant: 'instance',
    body: 'bulk-slot',
  },
] as const satisfies readonly RouteRow[];

/** What the handler does for a route: one kind per row. */
export type RouteKind = (typeof ROUTES)[number]['kind'];

export interface Route extends RouteRow {
  readonly kind: RouteKind;
}

/** The route of one kind, with its literal facts (`routeOf('token').pathParameter` is `'clientId'`). */
export type RouteOfKind<K extends RouteKind> = Extract<(typeof ROUTES)[number], { readonly kind: K }>;

/** The route of a kind. */
export const routeOf = <K extends RouteKind>(kind: K): RouteOfKind<K> => {
  const route = ROUTES.find((r): r is RouteOfKind<K> => r.kind === kind);
  if (!route) throw new Error(`no route of kind ${kind}`);
  return route;
};

/** The routes a grant on one client id (or instance name) covers. */
export const routesGrantedBy = (scope: GrantScope): readonly Route[] =>
  ROUTES.filter((r) => r.grant === scope);

/** The route API Gateway matched, from `event.httpMethod` and `event.resource`. */
export const routeByResource = (method: string, resource: string): Route | undefined =>
  ROUTES.find((r) => r.method === method && r.resource === resource);

/** Path segments of a template, for building nested API resources: `['tokens', '{clientId}']`. */
export const resourceSegments = (route: Route): readonly string[] => route.resource.split('/').slice(1);

/**
 * The concrete path for one name, as written (not encoded: a valid name is in the safe alphabet):
 * `/tokens/abc`. A replacer function, so `$&` in a name is not a replacement pattern.
 */
export const routePath = (route: Route, name: string): string =>
  route.resource.replace(`{${route.pathParameter}}`, () => name);

/** Matches a concrete request path (no stage prefix, no query) against the table. */
export const matchRoute = (
  method: string,
  path: string,
): { readonly route: Route; readonly name: string } | undefined => {
  const segments = path.split('/');
  for (const route of ROUTES) {
    const template = route.resource.split('/');
    if (route.method !== method || template.length !== segments.length) continue;
    let name: string | undefined;
    const matches = template.every((part, i) => {
      const segment = segments[i] ?? '';
      if (part === `{${route.pathParameter}}`) {
        name = segment;
        return segment.length > 0;
      }
      return part === segment;
    });
    if (matches && name !== undefined) return { route, name };
  }
  return undefined;
};
