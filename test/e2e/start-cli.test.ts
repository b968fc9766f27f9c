import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { readGeneratedKey, writePolicyFile } from '../../local/policy.js';
import { createTestTable, startDynalite } from '../../testing/dynalite.js';
import { captureText, registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor } from '../../testing/local-vendor.js';

const run = promisify(execFile);

/** Runs `npm start`'s entry (`tsx local/start.ts`) as a child process and collects its output. */
function startCli(args: string[]): { child: ChildProcess; output: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { child, output: () => stdout, stderr: () => stderr };
}

/**
 * How long `npm start` may take to print its banner: real time (a child process compiles and starts), a few
 * seconds idle, over 20 s with every core busy; this bound holds on a machine ten times slower.
 */
const START_BOUND_MS = 60_000;

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm start (local/start.ts)', { timeout: 2 * START_BOUND_MS }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-start-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };

  /** `npm start` on free ports and `dataDir`, once its banner is out (killed after the test if still running). */
  const startReadyCli = async (dataDir: string): Promise<ReturnType<typeof startCli>> => {
    const cli = startCli(['--port', '0', '--simulator-port', '0', '--data-dir', dataDir]);
    cleanups.push(async () => {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    });
    await waitFor(() => cli.output().includes('Ctrl-C to stop.'), START_BOUND_MS);
    return cli;
  };

  it('prints a curl line that gets a token, and stops cleanly on SIGTERM', async () => {
    const dataDir = await tempDir();
    const cli = await startReadyCli(dataDir);

    const line =
      cli
        .output()
        .split('\n')
        .find((l) => l.trim().startsWith('curl --aws-sigv4')) ?? '';
    const [, region, user, url] =
      /curl --aws-sigv4 "aws:amz:([^:]+):execute-api" --user (\S+) (\S+)/.exec(line) ?? [];
    expect(region).toBe('us-east-1');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tokens\/demo-client$/);
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--aws-sigv4',
      `aws:amz:${region}:execute-api`,
      '--user',
      user as string,
      url as string,
    ]);
    expect(stdout).toBe('200');

    cli.child.kill('SIGTERM');
    const [code] = await once(cli.child, 'exit');
    captureText(cli.output() + cli.stderr());
    expect(code).toBe(0);
    expect(cli.output()).toMatch(/stopped\n$/);
  });

  it("never prints a user's own key (only the one it generated, while the policy file lists it)", async () => {
    const dataDir = await tempDir();
    const teamKey = {
      accessKeyId: 'TEAMREALKEY',
      secretAccessKey: 'team-real-secret-do-not-print',
      principalArn: 'arn:aws:iam::000000000000:role/team-a',
      clients: ['team-a-*'],
    };
    registerSensitive(teamKey.secretAccessKey);
    await writePolicyFile(join(dataDir, 'policy.json'), { keys: [teamKey] });
    const cli = await startReadyCli(dataDir);
    cli.child.kill('SIGTERM');
    await once(cli.child, 'exit');
    captureText(cli.output() + cli.stderr());

    expect(cli.output()).not.toContain(teamKey.secretAccessKey);
    expect(cli.output()).not.toContain('curl --aws-sigv4');
    expect(cli.output()).toContain('local mode prints only the key it generated');
  });

  it('prints the key it generated, as the policy file holds it', async () => {
    const dataDir = await tempDir();
    const cli = await startReadyCli(dataDir);
    // Not registered with the leak scan: printing the key local mode generated is the point.
    const key = await readGeneratedKey(join(dataDir, 'policy.json'));
    cli.child.kill('SIGTERM');
    await once(cli.child, 'exit');
    captureText(cli.output() + cli.stderr());

    expect(cli.output()).toContain(`--user ${key.accessKeyId}:${key.secretAccessKey} `);
    expect(cli.output()).not.toContain('LOCALDEMOKEY');
  });

  it('exits with code 1 and one clear line when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const { port } = blocker.address() as AddressInfo;

    const cli = startCli(['--port', String(port), '--simulator-port', '0', '--data-dir', await tempDir()]);
    const [code] = await once(cli.child, 'exit');
    captureText(cli.output() + cli.stderr());

    expect(code).toBe(1);
    const lines = cli
      .stderr()
      .split('\n')
      .filter(
        (l) => l.trim() !== '' && !l.includes('NodeVersionSupportWarning') && l.startsWith('npm start'),
      );
    expect(lines).toEqual([
      `npm start: port ${port} on 127.0.0.1 is already in use (token API); choose another with --port/--simulator-port`,
    ]);
  });
});

describe('the in-process refresher', () => {
  it('fetches the tokens of registered clients on its schedule, without any request', async () => {
    const local = await startTestLocalVendor({ dataDirPrefix: 'mtv-refresher-', refreshIntervalMs: 200 });
    try {
      await waitFor(() => local.sim.identityCalls('demo-client') > 0, 20_000);
      expect(local.sim.identityCalls('demo-client')).toBe(1);
    } finally {
      await local.stop();
    }
  });
});

describe('AWS_ENDPOINT_URL_DYNAMODB', () => {
  it('replaces the embedded dynalite with the DynamoDB endpoint it names', async () => {
    const external = await startDynalite();
    const tableName = await createTestTable(external.client);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-endpoint-',
      env: { AWS_ENDPOINT_URL_DYNAMODB: external.endpoint, TABLE_NAME: tableName },
    });
    try {
      expect(local.storeEndpoint).toBe(external.endpoint);
      const token = await createTokenClient({
        endpoint: local.url,
        region: 'us-east-1',
        credentials: await local.generatedKey(),
      }).getToken('demo-client');
      const record = await new DynamoTokenStore({ client: external.client, tableName }).get('demo-client');
      expect(record?.token?.accessToken).toBe(token.accessToken);
    } finally {
      await local.stop();
      await external.stop();
      vi.unstubAllEnvs();
    }
  });
});
