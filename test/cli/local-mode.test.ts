import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { fingerprint } from '../../functions/core/fingerprint.js';
import { type EmbeddedDynalite, startEmbeddedDynalite } from '../../local/embedded-dynalite.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { LOCAL_TABLE_NAME, writeRuntimeInfo } from '../../local/runtime-info.js';
import { storeClientOverSocket } from '../../local/store-socket.js';
import { createTestTable } from '../../testing/dynalite.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { assertNoLeak, cliRunner } from './helpers.js';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../cli/bin.js');

describe('clients commands in local mode (credentials file, persisted dynalite, Marketo simulator)', () => {
  let dataDir: string;
  let simulator: MarketoSimulator;
  const secret = `cli-secret-${randomUUID()}`;
  const otherSecret = `cli-other-${randomUUID()}`;
  const sensitive = () => [secret, otherSecret, ...simulator.issuedTokens()];
  let cli: ReturnType<typeof cliRunner>;
  const credentialsFile = () => join(dataDir, 'credentials.json');
  const readCredentials = async () =>
    JSON.parse(await readFile(credentialsFile(), 'utf8')) as { clients: Array<Record<string, unknown>> };

  beforeAll(async () => {
    registerSensitive(secret, otherSecret);
    dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-local-'));
    simulator = createMarketoSimulator({
      clients: [
        { clientId: 'sync-a', clientSecret: secret },
        { clientId: 'sync-b', clientSecret: otherSecret },
      ],
    });
    await simulator.start();
    cli = cliRunner(['--local', '--data-dir', dataDir, '--allow-loopback'], sensitive);
  });

  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await simulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('the happy path: add, list, refresh, status, remove', () => {
    it('adds a client with the secret on stdin after verifying it with Identity', async () => {
      const run = await cli(
        [
          'clients',
          'add',
          'sync-a',
          '--identity-url',
          simulator.identityUrl,
          '--instance',
          'pod-1',
          '--secret-stdin',
        ],
        { stdin: `${secret}\n` },
      );

      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^verified: Identity issued token [0-9a-f]{8} \(expires in/m);
      expect(run.stdout).toContain(`created client sync-a in ${credentialsFile()} (instance pod-1)`);
      expect(simulator.identityCalls('sync-a')).toBe(1);
      expect((await readCredentials()).clients).toEqual([
        { clientId: 'sync-a', clientSecret: secret, identityUrl: simulator.identityUrl, instance: 'pod-1' },
      ]);
    });

    it('lists the client with its instance and identity host, and no cached token yet', async () => {
      const run = await cli(['clients', 'list']);

      expect(run.code).toBe(0);
      const [header, row] = run.stdout.trimEnd().split('\n');
      expect(header).toMatch(
        /^CLIENT\s+INSTANCE\s+IDENTITY HOST\s+API USER\s+STATUS\s+TOKEN\s+EXPIRES IN\s+LAST ERROR$/,
      );
      expect(row?.split(/\s{2,}/)).toEqual([
        'sync-a',
        'pod-1',
        new URL(simulator.url).host,
        '-',
        'missing',
        '-',
        '-',
        '-',
      ]);
    });

    it('refreshes the client through the core and prints only the new token fingerprint', async () => {
      const run = await cli(['clients', 'refresh', 'sync-a']);

      const current = simulator.currentToken('sync-a');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`sync-a: fetched new token ${fingerprint(current?.accessToken ?? '')}`);
    });

    it('says a refresh of a still-valid token changes nothing, because Marketo returns the same token', async () => {
      const calls = simulator.identityCalls('sync-a');

      const run = await cli(['clients', 'refresh', 'sync-a']);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('is still valid');
      expect(run.stdout).toContain('Marketo returns the same token until it expires');
      expect(simulator.identityCalls('sync-a')).toBe(calls);
    });

    it('asks Identity again with --force and reports that it returned the same token', async () => {
      const calls = simulator.identityCalls('sync-a');

      const run = await cli(['clients', 'refresh', 'sync-a', '--force']);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('it returned the same token');
      expect(simulator.identityCalls('sync-a')).toBe(calls + 1);
    });

    it('shows a valid token as its fingerprint with expiry, last refresh and lease state', async () => {
      const run = await cli(['clients', 'status', 'sync-a']);

      const token = simulator.currentToken('sync-a')?.accessToken ?? '';
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^status\s+valid$/m);
      expect(run.stdout).toMatch(new RegExp(`^token\\s+${fingerprint(token)} \\(fingerprint\\)$`, 'm'));
      expect(run.stdout).toMatch(/^expires\s+\S+Z \(in (59m|1h)/m);
      expect(run.stdout).toMatch(/^last refresh\s+\S+Z \(/m);
      expect(run.stdout).toMatch(/^lease\s+free$/m);
      expect(run.stdout).toMatch(/^last error\s+-$/m);
    });

    it('prints status as JSON for scripts, still with the fingerprint only', async () => {
      const run = await cli(['clients', 'status', 'sync-a', '--json']);

      expect(JSON.parse(run.stdout)).toMatchObject({
        clientId: 'sync-a',
        registered: true,
        instance: 'pod-1',
        status: 'valid',
        tokenFingerprint: fingerprint(simulator.currentToken('sync-a')?.accessToken ?? ''),
        lease: { state: 'free' },
      });
    });

    it('removes the client and its cached token after --yes', async () => {
      const run = await cli(['clients', 'remove', 'sync-a', '--yes']);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`removed from ${credentialsFile()}`);
      expect(run.stdout).toMatch(/cached token [0-9a-f]{8} removed from the store/);
      expect((await readCredentials()).clients).toEqual([]);
      const status = await cli(['clients', 'status', 'sync-a']);
      expect(status.code).toBe(1);
    });
  });

  describe('errors name the problem and the fix', () => {
    it('refuses an identity URL off the allowlist with exit code 2', async () => {
      const run = await cli(
        [
          'clients',
          'add',
          'sync-a',
          '--identity-url',
          'https://identity.example.com/identity',
          '--secret-stdin',
        ],
        { stdin: secret },
      );

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('host "identity.example.com" is not on the allowlist');
      expect(run.stderr).toContain('--allow-host identity.example.com');
    });

    it('refuses a loopback identity URL unless --allow-loopback is given', async () => {
      const strict = cliRunner(['--local', '--data-dir', dataDir], sensitive);

      const run = await strict(
        ['clients', 'add', 'sync-a', '--identity-url', simulator.identityUrl, '--secret-stdin'],
        { stdin: secret },
      );

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('identityUrl must use https — add --allow-loopback');
    });

    it('reports an unknown client with exit code 1 and says how to add it', async () => {
      const run = await cli(['clients', 'status', 'nobody']);

      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `error: client nobody in ${credentialsFile()} not found — run clients add nobody\n`,
      );
    });

    it('refuses to refresh an unknown client with exit code 1', async () => {
      const run = await cli(['clients', 'refresh', 'nobody']);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('not found — run clients add nobody');
    });

    it('saves nothing when Identity rejects the secret on verify (exit code 1)', async () => {
      const before = await readFile(credentialsFile(), 'utf8');

      const run = await cli(
        ['clients', 'add', 'sync-b', '--identity-url', simulator.identityUrl, '--secret-stdin'],
        { stdin: `wrong-${otherSecret}` },
      );

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('Identity rejected the credentials of client "sync-b"');
      expect(run.stderr).toContain('nothing was saved');
      expect(await readFile(credentialsFile(), 'utf8')).toBe(before);
    });

    it('never accepts the secret as a flag (usage error, exit code 2)', async () => {
      const run = await cli([
        'clients',
        'add',
        'sync-b',
        '--identity-url',
        simulator.identityUrl,
        '--client-secret',
        'not-a-real-secret',
      ]);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain("unknown option '--client-secret'");
    });

    it('asks for --secret-stdin when there is no terminal to prompt on (exit code 2)', async () => {
      const run = await cli(['clients', 'add', 'sync-b', '--identity-url', simulator.identityUrl]);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'no terminal to prompt for the client secret — pipe it in with --secret-stdin',
      );
    });

    it('rejects refresh with neither a client nor --all (exit code 2)', async () => {
      const run = await cli(['clients', 'refresh']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('name one client or pass --all');
    });

    it('exits 2 on an unknown command', async () => {
      const run = await cli(['clients', 'frobnicate']);

      expect(run.code).toBe(2);
    });
  });

  describe('refresh --all and remove confirmation', () => {
    it('refreshes every client with a progress bar and a summary; a failing client makes the exit code 1', async () => {
      await cli(['clients', 'add', 'sync-a', '--identity-url', simulator.identityUrl, '--secret-stdin'], {
        stdin: secret,
      });
      // A wrong secret saved without verification: the refresh fails and records the error.
      await cli(
        [
          'clients',
          'add',
          'sync-b',
          '--identity-url',
          simulator.identityUrl,
          '--secret-stdin',
          '--no-verify',
        ],
        {
          stdin: `wrong-${otherSecret}`,
        },
      );

      const run = await cli(['clients', 'refresh', '--all'], { tty: true });

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('2/2');
      expect(run.stdout).toContain(
        '2 clients: 1 fetched, 0 still valid (same token until expiry), 0 re-confirmed by Identity, 1 failed',
      );
      expect(run.stderr).toContain('sync-b: failed: CredentialsRejected');
    });

    it('lists a client whose refresh failed as "error" with its last error', async () => {
      const run = await cli(['clients', 'list', '--json']);

      const views = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
      expect(views.map((v) => [v.clientId, v.status])).toEqual([
        ['sync-a', 'valid'],
        ['sync-b', 'error'],
      ]);
      expect(views[1]?.lastError).toMatchObject({ code: 'CredentialsRejected' });
    });

    it('says to add --allow-loopback when refresh --force meets a loopback Identity without it', async () => {
      await cli(
        [
          'clients',
          'add',
          'sync-c',
          '--identity-url',
          simulator.identityUrl,
          '--secret-stdin',
          '--no-verify',
        ],
        { stdin: secret },
      );
      const strict = cliRunner(['--local', '--data-dir', dataDir], sensitive);

      const run = await strict(['clients', 'refresh', 'sync-c', '--force']);
      await cli(['clients', 'remove', 'sync-c', '--yes']);

      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        'sync-c: failed: CredentialsMisconfigured: credentials of client "sync-c": identityUrl must use https — add --allow-loopback to use a local simulator (never for production)\n',
      );
    });

    it('refuses to remove without --yes when there is no terminal (exit code 2)', async () => {
      const run = await cli(['clients', 'remove', 'sync-b']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('pass --yes');
      expect((await readCredentials()).clients.map((c) => c.clientId)).toContain('sync-b');
    });

    it('keeps the client when the confirmation is answered no (exit code 1)', async () => {
      const run = await cli(['clients', 'remove', 'sync-b'], { stdin: 'n\n', tty: true });

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('Remove client sync-b?');
      expect(run.stderr).toContain('aborted: nothing was removed');
      expect((await readCredentials()).clients.map((c) => c.clientId)).toContain('sync-b');
    });

    it('removes the client when the confirmation is answered yes', async () => {
      const run = await cli(['clients', 'remove', 'sync-b'], { stdin: 'y\n', tty: true });

      expect(run.code).toBe(0);
      expect((await readCredentials()).clients.map((c) => c.clientId)).toEqual(['sync-a']);
    });
  });

  describe('a running local server (runtime.json)', () => {
    let store: EmbeddedDynalite;
    let storeClient: DynamoDBClient;
    let serverDir: string;
    let tableName: string;

    beforeAll(async () => {
      // The store as npm start runs it: behind its guard, reached through its private socket.
      store = await startEmbeddedDynalite();
      storeClient = storeClientOverSocket(store.socketPath as string);
      tableName = await createTestTable(storeClient);
      serverDir = await mkdtemp(join(tmpdir(), 'mtv-cli-server-'));
    });

    afterAll(async () => {
      storeClient.destroy();
      await store.stop();
      await rm(serverDir, { recursive: true, force: true });
    });

    it("uses the live server's store and credentials file instead of opening the leveldb", async () => {
      const sharedCredentials = join(serverDir, 'shared-credentials.json');
      await writeRuntimeInfo(serverDir, {
        pid: process.pid,
        dynamoEndpoint: store.endpoint,
        ...(store.socketPath ? { storeSocket: store.socketPath } : {}),
        tableName,
        credentialsFile: sharedCredentials,
        apiUrl: 'http://127.0.0.1:1',
      });
      const server = cliRunner(['--local', '--data-dir', serverDir, '--allow-loopback'], sensitive);

      await server(['clients', 'add', 'sync-a', '--identity-url', simulator.identityUrl, '--secret-stdin'], {
        stdin: secret,
      });
      const run = await server(['clients', 'refresh', 'sync-a', '--force']);

      expect(run.code).toBe(0);
      const record = await new DynamoTokenStore({ client: storeClient, tableName }).get('sync-a');
      expect(record?.token?.accessToken).toBe(simulator.currentToken('sync-a')?.accessToken);
      expect(JSON.parse(await readFile(sharedCredentials, 'utf8')).clients[0].clientId).toBe('sync-a');
    });

    it('ignores a runtime.json whose process is gone and opens the data directory itself', async () => {
      const dead = spawnSync(process.execPath, ['-e', '']).pid ?? 0;
      await writeRuntimeInfo(serverDir, {
        pid: dead,
        dynamoEndpoint: 'http://127.0.0.1:1',
        tableName: 'gone',
        credentialsFile: join(serverDir, 'gone.json'),
        apiUrl: 'http://127.0.0.1:1',
      });
      const server = cliRunner(['--local', '--data-dir', serverDir], sensitive);

      const run = await server(['clients', 'list', '--json']);

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([]);
      expect(LOCAL_TABLE_NAME).toBe('marketo-token-vendor-local');
    });
  });

  describe('as a child process through the bin shim', () => {
    const env = () => {
      const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
      clean.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
      return clean;
    };

    it('lists the clients of the data directory and exits 0', async () => {
      const { stdout, stderr } = await execFileAsync(
        process.execPath,
        [BIN, '--local', '--data-dir', dataDir, 'clients', 'list'],
        { env: env() },
      );

      assertNoLeak(stdout + stderr, sensitive());
      expect(stdout).toMatch(
        /^sync-a\s+-\s+127\.0\.0\.1:\d+\s+sync-a@api-user\.marketo-simulator\.test\s+valid\s+[0-9a-f]{8}\s/m,
      );
    });

    it('exits 1 with the fix for an unknown client', async () => {
      const result = await execFileAsync(
        process.execPath,
        [BIN, '--local', '--data-dir', dataDir, 'clients', 'status', 'nobody'],
        { env: env() },
      ).catch((error: { code: number; stdout: string; stderr: string }) => error);

      assertNoLeak(result.stdout + result.stderr, sensitive());
      expect((result as { code?: number }).code).toBe(1);
      expect(result.stderr).toContain('not found — run clients add nobody');
    });

    it('exits 2 on a usage error', async () => {
      const result = await execFileAsync(process.execPath, [BIN, 'clients', 'add'], { env: env() }).catch(
        (error: { code: number; stdout: string; stderr: string }) => error,
      );

      expect((result as { code?: number }).code).toBe(2);
      expect(result.stderr).toContain("required option '--identity-url <url>' not specified");
    });
  });
});

describe('the local data directory after a CLI run (issue 13)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const listIn = (dataDir: string) =>
    cliRunner(['--local', '--data-dir', dataDir], () => [])(['clients', 'list']);

  it('is created 0700 by `clients list --local` on a fresh --data-dir, its files 0600', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'mtv-cli-fresh-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');

    expect((await listIn(dataDir)).code).toBe(0);

    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    for (const entry of await readdir(dataDir, { recursive: true })) {
      const info = await stat(join(dataDir, entry));
      expect([entry, info.mode & 0o777]).toEqual([entry, info.isDirectory() ? 0o700 : 0o600]);
    }
  });

  it('repairs a 0755 directory and a hand-made 0644 credentials file', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-open-'));
    dirs.push(dataDir);
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, 'credentials.json'), '{"clients":[]}\n');
    await chmod(join(dataDir, 'credentials.json'), 0o644);

    expect((await listIn(dataDir)).code).toBe(0);

    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'credentials.json'))).mode & 0o777).toBe(0o600);
  });
});
