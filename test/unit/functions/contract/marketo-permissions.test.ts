import { describe, expect, it } from 'vitest';
import {
  ALL_MARKETO_PERMISSIONS,
  MARKETO_API_PERMISSIONS,
  MARKETO_PERMISSION_FAMILIES,
  PERMISSION_PROBES,
  requiredPermission,
  roleGrants,
} from '../../../../functions/contract/marketo-permissions.js';
import table from '../../../../functions/contract/marketo-permissions.json' with { type: 'json' };

/**
 * The seed's permission list (docs/DESIGN "Bulk API, usage and permissions", Marketo's Custom Services page):
 * Read-Only / Read-Write for eleven families, plus Approve Assets and Execute Campaign.
 */
const SEED_FAMILIES = [
  'Activity',
  'Activity Metadata',
  'Assets',
  'Campaign',
  'Company',
  'Custom Object',
  'Lead',
  'Named Account',
  'Named Account List',
  'Opportunity',
  'Sales Person',
];
const SEED_PERMISSIONS = [
  ...SEED_FAMILIES.flatMap((family) => [`Read-Only ${family}`, `Read-Write ${family}`]),
  'Approve Assets',
  'Execute Campaign',
];

/** One request per permission of the seed's table (Marketo's endpoint reference names each path). */
const ONE_REQUEST_PER_PERMISSION: ReadonlyArray<readonly [string, string, string]> = [
  ['GET', '/rest/v1/activities.json?nextPageToken=abc&activityTypeIds=1', 'Read-Only Activity'],
  ['POST', '/rest/v1/activities/external.json', 'Read-Write Activity'],
  ['GET', '/rest/v1/activities/external/types.json', 'Read-Only Activity Metadata'],
  ['POST', '/rest/v1/activities/external/type.json', 'Read-Write Activity Metadata'],
  ['GET', '/rest/asset/v1/emails.json?maxReturn=1', 'Read-Only Assets'],
  ['POST', '/rest/asset/v1/email/1001/content.json', 'Read-Write Assets'],
  ['GET', '/rest/v1/campaigns.json?batchSize=1', 'Read-Only Campaign'],
  ['POST', '/rest/v1/campaigns/1001.json', 'Read-Write Campaign'],
  ['GET', '/rest/v1/companies/describe.json', 'Read-Only Company'],
  ['POST', '/rest/v1/companies/delete.json', 'Read-Write Company'],
  ['GET', '/rest/v1/customobjects/car_c/describe.json', 'Read-Only Custom Object'],
  ['POST', '/rest/v1/customobjects/car_c.json', 'Read-Write Custom Object'],
  ['GET', '/rest/v1/leads.json?filterType=id&filterValues=1', 'Read-Only Lead'],
  ['POST', '/rest/v1/leads.json', 'Read-Write Lead'],
  ['GET', '/rest/v1/namedaccounts/describe.json', 'Read-Only Named Account'],
  ['POST', '/rest/v1/namedaccounts.json', 'Read-Write Named Account'],
  [
    'GET',
    '/rest/v1/namedaccountlists.json?filterType=idField&filterValues=x',
    'Read-Only Named Account List',
  ],
  ['POST', '/rest/v1/namedaccountlists/delete.json', 'Read-Write Named Account List'],
  ['GET', '/rest/v1/opportunities/roles.json', 'Read-Only Opportunity'],
  ['POST', '/rest/v1/opportunities.json', 'Read-Write Opportunity'],
  ['GET', '/rest/v1/salespersons/describe.json', 'Read-Only Sales Person'],
  ['POST', '/rest/v1/salespersons/delete.json', 'Read-Write Sales Person'],
  ['POST', '/rest/asset/v1/email/1001/approveDraft.json', 'Approve Assets'],
  ['POST', '/rest/v1/campaigns/1001/trigger.json', 'Execute Campaign'],
];

const permissionOf = (method: string, path: string): string | undefined =>
  requiredPermission(method, path)?.permission;

describe('contract: Marketo API permissions', () => {
  it("holds exactly the seed's 24 Access API permissions and eleven families", () => {
    expect([...MARKETO_API_PERMISSIONS].sort()).toEqual([...SEED_PERMISSIONS].sort());
    expect(MARKETO_PERMISSION_FAMILIES).toEqual(SEED_FAMILIES);
  });

  it("maps one request to each permission of the seed's table, every permission at least once", () => {
    const mapped = ONE_REQUEST_PER_PERMISSION.map(([method, path]) => permissionOf(method, path));

    expect(mapped).toEqual(ONE_REQUEST_PER_PERMISSION.map(([, , permission]) => permission));
    expect(new Set(mapped)).toEqual(new Set(SEED_PERMISSIONS));
  });

  it('names only permissions it declares, in every rule', () => {
    const families = new Set([...table.families, ...table.otherFamilies]);
    for (const rule of table.rules) {
      if ('permission' in rule) expect(ALL_MARKETO_PERMISSIONS).toContain(rule.permission);
      else expect(families.has(rule.family)).toBe(true);
    }
  });

  describe('the permission a request needs', () => {
    it('is Approve Assets for approving any asset draft or program, and unapproving', () => {
      expect(permissionOf('POST', '/rest/asset/v1/landingPage/7/approveDraft.json')).toBe('Approve Assets');
      expect(permissionOf('POST', '/rest/asset/v1/program/7/approve.json')).toBe('Approve Assets');
      expect(permissionOf('POST', '/rest/asset/v1/email/7/unapprove.json')).toBe('Approve Assets');
    });

    it('is Execute Campaign for requesting or scheduling a campaign', () => {
      expect(permissionOf('POST', '/rest/v1/campaigns/7/trigger.json')).toBe('Execute Campaign');
      expect(permissionOf('POST', '/rest/v1/campaigns/7/schedule.json')).toBe('Execute Campaign');
    });

    it('is Read-Only Activity for activity types (endpoint reference) and Activity Metadata for custom ones', () => {
      expect(permissionOf('GET', '/rest/v1/activities/types.json')).toBe('Read-Only Activity');
      expect(permissionOf('GET', '/rest/v1/activities/external/type/x_c/describe.json')).toBe(
        'Read-Only Activity Metadata',
      );
    });

    it('reads on a POST that carries _method=GET (a long query in the body)', () => {
      expect(requiredPermission('POST', '/rest/v1/leads.json?_method=GET')).toEqual({
        permission: 'Read-Only Lead',
        family: 'Lead',
        access: 'read',
      });
    });

    it('reads on bulk export jobs, although they are POSTs, and writes on bulk imports', () => {
      expect(permissionOf('POST', '/bulk/v1/leads/export/create.json')).toBe('Read-Only Lead');
      expect(permissionOf('POST', '/bulk/v1/activities/export/9/enqueue.json')).toBe('Read-Only Activity');
      expect(permissionOf('POST', '/bulk/v1/leads.json?format=csv')).toBe('Read-Write Lead');
      expect(permissionOf('GET', '/bulk/v1/leads/batch/9.json')).toBe('Read-Write Lead');
    });

    it('is Named Account for the members of a named account list', () => {
      expect(permissionOf('GET', '/rest/v1/namedaccountlist/abc/namedaccounts.json')).toBe(
        'Read-Only Named Account',
      );
      expect(permissionOf('POST', '/rest/v1/namedaccountlist/abc/namedaccounts/remove.json')).toBe(
        'Read-Write Named Account',
      );
    });

    it('is Lead for static lists and program members, Assets for static list assets', () => {
      expect(permissionOf('DELETE', '/rest/v1/lists/5/leads.json')).toBe('Read-Write Lead');
      expect(permissionOf('GET', '/rest/v1/programs/5/members.json')).toBe('Read-Only Lead');
      expect(permissionOf('GET', '/rest/asset/v1/staticLists.json')).toBe('Read-Only Assets');
    });

    it('names documented permissions outside the seed list (custom object types, schema fields)', () => {
      expect(permissionOf('GET', '/rest/v1/customobjects/schema.json')).toBe('Read-Only Custom Object Type');
      expect(permissionOf('GET', '/rest/v1/leads/schema/fields.json')).toBe('Read-Write Schema Custom Field');
    });

    it('matches whole URLs, any letter case, and collapses doubled slashes', () => {
      expect(permissionOf('GET', 'https://123-ABC-456.mktorest.com/rest/v1/namedAccountLists.json')).toBe(
        'Read-Only Named Account List',
      );
      expect(permissionOf('GET', 'https://123-ABC-456.mktorest.com//rest/v1//leads.json')).toBe(
        'Read-Only Lead',
      );
    });

    it('is unknown for paths the table does not cover', () => {
      expect(requiredPermission('GET', '/rest/v1/stats/usage.json')).toBeUndefined();
      expect(requiredPermission('POST', '/identity/oauth/token')).toBeUndefined();
    });
  });

  describe('a role', () => {
    it('grants Read-Only X when it holds Read-Write X', () => {
      expect(roleGrants(['Read-Write Lead'], 'Read-Only Lead')).toBe(true);
    });

    it('does not grant Read-Write X for Read-Only X, nor Approve Assets for Read-Write Assets', () => {
      expect(roleGrants(['Read-Only Lead'], 'Read-Write Lead')).toBe(false);
      expect(roleGrants(['Read-Write Assets'], 'Approve Assets')).toBe(false);
    });
  });

  it('probes each family with a GET its own Read-Only permission covers', () => {
    expect(PERMISSION_PROBES.map((probe) => probe.family)).toEqual(SEED_FAMILIES);
    for (const probe of PERMISSION_PROBES) {
      expect(requiredPermission(probe.method, probe.path)).toEqual({
        permission: `Read-Only ${probe.family}`,
        family: probe.family,
        access: 'read',
      });
    }
  });
});
