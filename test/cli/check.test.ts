import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBudgetTable } from '../../functions/adapters/dynamo-budget-store.js';
import { writeCredentialsFile } from '../../functions/adapters/file-credentials.js';
import { PERMISSION_PROBES } from '../../functions/contract/marketo-permissions.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { createTestTable, type RunningDynalite, startDynalite } from '../../testing/dynalite.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../testing/secrets-manager-stub.js';
import { cliRunner, stubDummyAwsCredentials } from './helpers.js';

/**
 * `clients check <clientId>`: one read-only call per permission family against a Custom Service whose
 * role lacks some permissions, through the shared budget, with the exact table, the exact call count and
 * no write call. Marketo's other failures (601/602, 606, an instance that is down) are told apart from 603.
 */
const SECRET = 'check-secret-3f9a1c';
const API_USER = 'sync-reader@example.test';
const ROLE = [
  'Read-Only Lead',
  'Read-Write Activity',
  'Read-Only Assets',
  'Approve Assets',
  'Read-Only Sales Person',
];
registerSensitive(SECRET);

/** The table `clients check` prints for ROLE, one line per permission of Marketo's list, in its order. */
const EXPECTED_ROWS = [
  ['Approve Assets', 'not probed (would write)'],
  ['Execute Campaign', 'not probed (would write)'],
  ['Read-Only Activity', 'granted'],
  ['Read-Only Activity Metadata', 'denied'],
  ['Read-Only Assets', 'granted'],
  ['Read-Only Campaign', 'denied'],
  ['Read-Only Company', 'denied'],
  ['Read-Only Custom Object', 'denied'],
  ['Read-Only Lead', 'granted'],
  ['Read-Only Named Account', 'denied'],
  ['Read-Only Named Account List', 'denied'],
  ['Read-Only Opportunity', 'denied'],
  ['Read-Only Sales Person', 'granted'],
  ['Read-Write Activity', 'not probed (would write)'],
  ['Read-Write Activity Metadata', 'not probed (would write)'],
  ['Read-Write Assets', 'not probed (would write)'],
  ['Read-Write Campaign', 'not probed (would write)'],
  ['Read-Write Company', 'not probed (would write)'],
  ['Read-Write Custom Object', 'not probed (would write)'],
  ['Read-Write Lead', 'not probed (would write)'],
  ['Read-Write Named Account', 'not probed (would write)'],
  ['Read-Write Named Account List', 'not probed (would write)'],
  ['Read-Write Opportunity', 'not probed (would write)'],
  ['Read-Write Sales Person', 'not probed (would write)'],
];

/** The rows of the printed table: [permission, status], split on the column gap. */
const tableRows = (stdout: string): string[][] => {
  const lines = stdout.split('\n');
  const header = lines.findIndex((line) => /^PERMISSION\s+STATUS$/.test(line));
  const end = lines.indexOf('', header);
  return lines.slice(header + 1, end).map((line) => line.split(/\s{2,}/));
};

describe('clients check: what a Custom Service may do', () => {
  let dataDir: string;
  let simulator: MarketoSimulator;
  let cli: ReturnType<typeof cliRunner>;
  let instance: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-check-'));
    simulator = createMarketoSimulator({
      clients: [{ clientId: 'sync-reader', clientSecret: SECRET, scope: API_USER, permissions: ROLE }],
    });
    await simulator.start();
    instance = new URL(simulator.url).host;
    await writeCredentialsFile(join(dataDir, 'credentials.json'), {
      clients: [
        {
          clientId: 'sync-reader',
          clientSecret: SECRET,
          identityUrl: simulator.identityUrl,
          restUrl: simulator.restUrl,
        },
      ],
    });
    cli = cliRunner(['--local', '--data-dir', dataDir, '--allow-loopback'], () => [
      SECRET,
      ...simulator.issuedTokens(),
    ]);
  });

  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await simulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    simulator.clearFaults();
    simulator.resetCounters();
  });

  it('prints the role as the permission table, with the owning API user and the calls it spent', async () => {
    const run = await cli(['clients', 'check', 'sync-reader']);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').slice(0, 3)).toEqual([
      'client    sync-reader',
      `API user  ${API_USER}`,
      `instance  ${instance} (REST ${simulator.url})`,
    ]);
    expect(tableRows(run.stdout)).toEqual(EXPECTED_ROWS);
    expect(run.stdout).toContain(
      `11 Marketo calls spent (cap 12), each under a permit of the shared budget of ${instance}.\n`,
    );
    expect(run.stdout).toContain('Award only the minimal set of permissions an application needs');
  });

  it('makes exactly one GET per family, the probes of the table, and no write call', async () => {
    await cli(['clients', 'check', 'sync-reader']);

    const calls = simulator.restRequests();
    expect(calls).toHaveLength(11);
    expect(calls.every((call) => call.method === 'GET' && call.clientId === 'sync-reader')).toBe(true);
    expect(calls.map((call) => call.path)).toEqual(
      PERMISSION_PROBES.map((probe) => new URL(probe.path, 'http://x').pathname),
    );
  });

  it('takes every call from the shared budget of the instance', async () => {
    const before = JSON.parse((await cli(['instances', 'status', instance, '--json'])).stdout) as Array<{
      usage: { dailyUsed: number };
    }>;

    await cli(['clients', 'check', 'sync-reader']);

    const after = JSON.parse((await cli(['instances', 'status', instance, '--json'])).stdout) as Array<{
      usage: { dailyUsed: number };
    }>;
    expect((after[0]?.usage.dailyUsed ?? 0) - (before[0]?.usage.dailyUsed ?? 0)).toBe(11);
  });

  it('gives the same in JSON for scripts', async () => {
    const run = await cli(['clients', 'check', 'sync-reader', '--json']);

    const result = JSON.parse(run.stdout) as {
      clientId: string;
      apiUser: string;
      instance: string;
      calls: { spent: number; cap: number };
      permissions: Array<{ permission: string; status: string; probe?: string; detail?: string }>;
    };
    expect(result).toMatchObject({
      clientId: 'sync-reader',
      apiUser: API_USER,
      instance,
      calls: { spent: 11, cap: 12 },
    });
    expect(result.permissions.map((p) => p.permission)).toEqual(
      EXPECTED_ROWS.map(([permission]) => permission),
    );
    expect(result.permissions.find((p) => p.permission === 'Read-Only Campaign')).toEqual({
      permission: 'Read-Only Campaign',
      status: 'denied',
      probe: 'GET /rest/v1/campaigns.json',
      detail: 'Marketo answered 603 Access denied',
    });
    expect(result.permissions.find((p) => p.permission === 'Read-Write Lead')).toEqual({
      permission: 'Read-Write Lead',
      status: 'not-probed',
      detail: 'would write',
    });
  });

  describe('tells Marketo’s other answers apart from 603, so that "denied" means denied', () => {
    it('gets a new token after a 601 and asks again, still with no write call', async () => {
      const identityBefore = simulator.identityCalls('sync-reader');
      simulator.forceRestError('601');

      const run = await cli(['clients', 'check', 'sync-reader']);

      expect(run.code).toBe(0);
      expect(tableRows(run.stdout)).toEqual(EXPECTED_ROWS);
      expect(run.stdout).toContain('12 Marketo calls spent (cap 12)');
      expect(simulator.identityCalls('sync-reader')).toBe(identityBefore + 1);
      expect(simulator.restRequests().every((call) => call.method === 'GET')).toBe(true);
    });

    it('stops at a rate limit (606) and leaves the rest undecided, exit code 1', async () => {
      simulator.forceRestError('606');

      const run = await cli(['clients', 'check', 'sync-reader']);

      expect(run.code).toBe(1);
      const rows = Object.fromEntries(tableRows(run.stdout));
      expect(rows['Read-Only Activity']).toBe('unknown (Marketo answered 606: rate limit; check stopped)');
      expect(rows['Read-Only Lead']).toBe('not probed (stopped after 606)');
      expect(rows['Read-Write Lead']).toBe('not probed (would write)');
      expect(run.stdout).toContain('1 Marketo call spent (cap 12)');
      expect(simulator.restRequests()).toHaveLength(1);
    });

    it('stops when the instance is down (HTTP 503) and says so, exit code 1', async () => {
      simulator.forceRestHttpStatus(503);

      const run = await cli(['clients', 'check', 'sync-reader']);

      expect(run.code).toBe(1);
      const rows = Object.fromEntries(tableRows(run.stdout));
      expect(rows['Read-Only Activity']).toBe('unknown (instance unreachable: HTTP 503; check stopped)');
      expect(rows['Read-Only Assets']).toBe('not probed (stopped after HTTP 503)');
      expect(simulator.restRequests()).toHaveLength(1);
    });

    it('never makes more calls than --max-calls', async () => {
      const run = await cli(['clients', 'check', 'sync-reader', '--max-calls', '3']);

      expect(run.code).toBe(1);
      const rows = Object.fromEntries(tableRows(run.stdout));
      expect(rows['Read-Only Assets']).toBe('granted');
      expect(rows['Read-Only Campaign']).toBe('not probed (call cap 3 reached)');
      expect(run.stdout).toContain('3 Marketo calls spent (cap 3)');
      expect(simulator.restRequests()).toHaveLength(3);
    });
  });

  it('names an unknown client and how to add it, exit code 1', async () => {
    const run = await cli(['clients', 'check', 'nobody']);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not found — run clients add nobody');
    expect(simulator.restRequests()).toHaveLength(0);
  });
});

describe('clients check against AWS (Secrets Manager stub, dynalite token and budget tables)', () => {
  let secrets: SecretsManagerStub;
  let dynamo: RunningDynalite;
  let simulator: MarketoSimulator;
  let cli: ReturnType<typeof cliRunner>;
  let budgetTable: string;

  beforeAll(async () => {
    [secrets, dynamo] = await Promise.all([startSecretsManagerStub(), startDynalite()]);
    const tableName = await createTestTable(dynamo.client);
    budgetTable = `${tableName}-budget`;
    await createBudgetTable(dynamo.client, budgetTable);
    simulator = createMarketoSimulator({
      clients: [{ clientId: 'crm-sync', clientSecret: SECRET, scope: API_USER, permissions: ROLE }],
    });
    await simulator.start();
    await secrets.client.send(
      new CreateSecretCommand({
        Name: 'marketo-token-vendor/clients/crm-sync',
        SecretString: JSON.stringify({
          clientId: 'crm-sync',
          clientSecret: SECRET,
          identityUrl: simulator.identityUrl,
          restUrl: simulator.restUrl,
        }),
      }),
    );
    cli = cliRunner(
      [
        '--region',
        'us-east-1',
        '--endpoint-secrets-manager',
        secrets.endpoint,
        '--endpoint-dynamodb',
        dynamo.endpoint,
        '--table',
        tableName,
        '--allow-loopback',
      ],
      () => [SECRET, ...simulator.issuedTokens()],
    );
  });

  beforeEach(() => {
    simulator.resetCounters();
    return stubDummyAwsCredentials();
  });

  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await Promise.all([secrets.stop(), dynamo.stop(), simulator.stop()]);
  });

  it('prints the same table, taking its permits from the budget table', async () => {
    const run = await cli(['--budget-table', budgetTable, 'clients', 'check', 'crm-sync']);

    expect(run.code).toBe(0);
    expect(tableRows(run.stdout)).toEqual(EXPECTED_ROWS);
    expect(simulator.restRequests()).toHaveLength(11);
    const status = await cli(['--budget-table', budgetTable, 'instances', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject([
      { instance: new URL(simulator.url).host, usage: { dailyUsed: 11 } },
    ]);
  });

  it('asks for the budget table before spending a call (usage error, exit code 2)', async () => {
    const run = await cli(['clients', 'check', 'crm-sync']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no budget table — pass --budget-table <name>');
    expect(simulator.restRequests()).toHaveLength(0);
  });
});
