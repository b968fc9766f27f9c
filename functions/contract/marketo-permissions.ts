/**
 * Marketo's API permissions and which one a REST path needs: the table lives in marketo-permissions.json
 * (sources cited there: Marketo's Custom Services permission list and its Endpoint Reference), read here for
 * the Node client's `MarketoAccessDenied`, the simulator's roles and `clients check`, and mirrored byte for
 * byte by the Python client (a test compares the two).
 *
 * Where the two Marketo pages differ, the permission list wins for the two actions it names: approving an
 * asset needs Approve Assets and requesting or scheduling a campaign needs Execute Campaign (the endpoint
 * reference lists Read-Write Asset / Read-Write Campaigns for those). Activity types
 * (`/rest/v1/activities/types.json`) need Read-Only Activity per the endpoint reference; Activity Metadata is
 * the custom activity types (`/rest/v1/activities/external/type…`).
 *
 * The contract imports nothing outside its folder, and client/ may import this module: it is data only.
 */
import table from './marketo-permissions.json' with { type: 'json' };

/** A permission name as Marketo's role editor shows it, e.g. `Read-Only Lead`, `Approve Assets`. */
export type MarketoPermission = string;

/** Whether a request reads, writes, or needs a permission of its own (approve, execute a campaign…). */
export type PermissionAccess = 'read' | 'write' | 'special';

/** What a request needs from the API-only user's role. */
export interface PermissionRequirement {
  readonly permission: MarketoPermission;
  /** The family (`Lead`, `Assets`…) when the permission is one of its Read-Only/Read-Write pair. */
  readonly family?: string;
  readonly access: PermissionAccess;
}

interface Rule {
  readonly pattern: RegExp;
  readonly permission?: MarketoPermission;
  readonly family?: string;
  readonly access?: 'read' | 'write';
}

/** The families of the Access API group, in the permission list's order. */
export const MARKETO_PERMISSION_FAMILIES: readonly string[] = Object.freeze([...table.families]);

/** The 24 permissions of Marketo's "Access API" group, in the order of Marketo's permission list. */
export const MARKETO_API_PERMISSIONS: readonly MarketoPermission[] = Object.freeze([
  ...table.accessApiPermissions,
]);

/** Permissions the endpoint reference names outside that list (custom object types, schema fields…). */
export const OTHER_MARKETO_PERMISSIONS: readonly MarketoPermission[] = Object.freeze([
  ...table.otherFamilies.flatMap((family) => [`Read-Only ${family}`, `Read-Write ${family}`]),
  ...table.otherPermissions,
]);

/** Every permission a path of the table can need: a role with all of them may call any path. */
export const ALL_MARKETO_PERMISSIONS: readonly MarketoPermission[] = Object.freeze([
  ...MARKETO_API_PERMISSIONS,
  ...OTHER_MARKETO_PERMISSIONS,
]);

export const readOnly = (family: string): MarketoPermission => `Read-Only ${family}`;
export const readWrite = (family: string): MarketoPermission => `Read-Write ${family}`;

const RULES: readonly Rule[] = table.rules.map((rule) => ({
  pattern: new RegExp(rule.pattern, 'i'),
  ...('permission' in rule ? { permission: rule.permission } : {}),
  ...('family' in rule ? { family: rule.family } : {}),
  ...('access' in rule ? { access: rule.access as 'read' | 'write' } : {}),
}));

/** GET and HEAD read; so does a POST that carries `_method=GET` (Marketo's way to send a long query). */
const readsByMethod = (method: string, search: URLSearchParams): boolean => {
  const verb = method.toUpperCase();
  return verb === 'GET' || verb === 'HEAD' || (verb === 'POST' && search.get('_method') === 'GET');
};

/**
 * The permission Marketo wants for `method` on `target` (a URL, or a path with its query string), or
 * `undefined` for paths the table does not know (Identity, usage statistics).
 */
export function requiredPermission(method: string, target: string | URL): PermissionRequirement | undefined {
  const url = typeof target === 'string' ? new URL(target, 'http://marketo.invalid') : target;
  const path = url.pathname.replace(/\/{2,}/g, '/');
  const rule = RULES.find((candidate) => candidate.pattern.test(path));
  if (rule === undefined) return undefined;
  if (rule.permission !== undefined) return { permission: rule.permission, access: 'special' };
  const family = rule.family as string;
  const access = rule.access ?? (readsByMethod(method, url.searchParams) ? 'read' : 'write');
  return { permission: access === 'read' ? readOnly(family) : readWrite(family), family, access };
}

/** Whether a role holding `role` may use `permission`: Read-Write X also grants Read-Only X. */
export function roleGrants(role: Iterable<MarketoPermission>, permission: MarketoPermission): boolean {
  const held = new Set(role);
  if (held.has(permission)) return true;
  return (
    permission.startsWith('Read-Only ') && held.has(`Read-Write ${permission.slice('Read-Only '.length)}`)
  );
}

/** One cheap read-only call per family (a describe, or a list of at most one): `clients check`. */
export interface PermissionProbe {
  readonly family: string;
  readonly permission: MarketoPermission;
  readonly method: 'GET';
  /** Path and query, relative to the instance's REST host. */
  readonly path: string;
}

export const PERMISSION_PROBES: readonly PermissionProbe[] = Object.freeze(
  table.probes.map((probe) => ({
    family: probe.family,
    permission: readOnly(probe.family),
    method: 'GET' as const,
    path: probe.path,
  })),
);
