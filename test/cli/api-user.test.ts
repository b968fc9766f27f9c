import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCredentialsFile } from '../../functions/adapters/file-credentials.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { cliRunner } from './helpers.js';

/**
 * The owning API-only user (Identity's `scope`, stored with each client's token) in `clients list` and
 * `clients status`, with clients that share one API user flagged: Marketo's usage statistics are per API
 * user, so it cannot tell those clients apart.
 */
const SHARED = 'shared-api@example.test';
const SOLO = 'solo-api@example.test';
const SECRETS = { a: 'api-user-secret-a-71f', b: 'api-user-secret-b-71f', solo: 'api-user-secret-s-71f' };
registerSensitive(...Object.values(SECRETS));

describe('the owning API user in clients list and clients status', () => {
  let dataDir: string;
  let simulator: MarketoSimulator;
  let cli: ReturnType<typeof cliRunner>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-api-user-'));
    simulator = createMarketoSimulator({
      clients: [
        { clientId: 'sync-a', clientSecret: SECRETS.a, scope: SHARED },
        { clientId: 'sync-b', clientSecret: SECRETS.b, scope: SHARED },
        { clientId: 'solo', clientSecret: SECRETS.solo, scope: SOLO },
      ],
    });
    await simulator.start();
    const entry = (clientId: string, clientSecret: string) => ({
      clientId,
      clientSecret,
      identityUrl: simulator.identityUrl,
    });
    await writeCredentialsFile(join(dataDir, 'credentials.json'), {
      clients: [
        entry('sync-a', SECRETS.a),
        entry('sync-b', SECRETS.b),
        entry('solo', SECRETS.solo),
        entry('fresh', 'api-user-secret-never-fetched'),
      ],
    });
    registerSensitive('api-user-secret-never-fetched');
    cli = cliRunner(['--local', '--data-dir', dataDir, '--allow-loopback'], () => [
      ...Object.values(SECRETS),
      ...simulator.issuedTokens(),
    ]);
    for (const clientId of ['sync-a', 'sync-b', 'solo']) {
      expect((await cli(['clients', 'refresh', clientId])).code).toBe(0);
    }
  });

  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await simulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists each API user, flags the shared one, and says why it matters', async () => {
    const run = await cli(['clients', 'list']);

    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^CLIENT\s+INSTANCE\s+IDENTITY HOST\s+API USER\s+STATUS\s+TOKEN\s+EXPIRES IN\s+LAST ERROR$/,
    );
    const apiUserOf = (clientId: string) =>
      lines.find((line) => line.startsWith(`${clientId} `))?.split(/\s{2,}/)[3];
    expect(apiUserOf('fresh')).toBe('-');
    expect(apiUserOf('solo')).toBe(SOLO);
    expect(apiUserOf('sync-a')).toBe(`${SHARED} (shared)`);
    expect(apiUserOf('sync-b')).toBe(`${SHARED} (shared)`);
    expect(lines.slice(5)).toEqual([
      '',
      `note: sync-a, sync-b share the API user ${SHARED}: Marketo counts usage and errors per API user, so ` +
        'its statistics cannot tell them apart; the vendor books its own usage per client and consumer ' +
        '(instances usage <instance>). Marketo advises one API-only user per application.',
    ]);
  });

  it('gives the API user and the clients sharing it in JSON', async () => {
    const run = await cli(['clients', 'list', '--json']);

    const views = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(views.map((v) => [v.clientId, v.apiUser, v.sharesApiUserWith])).toEqual([
      ['fresh', undefined, undefined],
      ['solo', SOLO, undefined],
      ['sync-a', SHARED, ['sync-b']],
      ['sync-b', SHARED, ['sync-a']],
    ]);
  });

  it("shows one client's API user and whom it shares it with", async () => {
    const shared = await cli(['clients', 'status', 'sync-a']);
    const solo = await cli(['clients', 'status', 'solo']);

    expect(shared.stdout).toMatch(
      new RegExp(
        `^api user\\s+${SHARED} \\(shared with sync-b: one API-only user per application is advised\\)$`,
        'm',
      ),
    );
    expect(solo.stdout).toMatch(new RegExp(`^api user\\s+${SOLO}$`, 'm'));
  });
});
