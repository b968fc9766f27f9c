import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { readGeneratedKey, readPolicyFile } from '../../local/policy.js';
import { readRuntimeInfo } from '../../local/runtime-info.js';
import { type LocalVendor, startLocalVendor } from '../../local/server.js';
import { captureError, registerSensitive } from '../support/leak-scan.js';

/**
 * Issue 13, "no open doors beside the API": no well-known key, a store only the vendor can talk to, and
 * a data directory no other user can read.
 */

const started: Array<{ local: LocalVendor; dataDir: string }> = [];
afterEach(async () => {
  for (const { local, dataDir } of started.splice(0)) {
    registerSensitive(...(local.simulator?.issuedTokens() ?? []));
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

async function start(
  prepare?: (dataDir: string) => Promise<void>,
  events: string[] = [],
): Promise<{ local: LocalVendor; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mtv-private-'));
  await prepare?.(dataDir);
  const local = await startLocalVendor({
    port: 0,
    simulatorPort: 0,
    dataDir,
    refreshIntervalMs: 0,
    env: {},
    onEvent: (message) => events.push(message),
  });
  started.push({ local, dataDir });
  return { local, dataDir };
}

/** Every path under `dir` with its permission bits, e.g. `{'': 0o700, 'policy.json': 0o600}`. */
async function modes(dir: string, relative = ''): Promise<Record<string, number>> {
  const here = join(dir, relative);
  const info = await stat(here);
  const found: Record<string, number> = { [relative]: info.mode & 0o777 };
  if (info.isDirectory()) {
    for (const entry of await readdir(here)) Object.assign(found, await modes(dir, join(relative, entry)));
  }
  return found;
}

describe('the generated local key', () => {
  it('is made at random on the first start of a data directory, not a well-known value', async () => {
    const first = await start();
    const second = await start();
    const a = await readGeneratedKey(first.local.paths.policy);
    const b = await readGeneratedKey(second.local.paths.policy);
    registerSensitive(a.secretAccessKey, b.secretAccessKey);

    expect(a.accessKeyId).toMatch(/^LOCAL[A-Z2-7]{16}$/);
    expect(a.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(b.secretAccessKey).not.toBe(a.secretAccessKey);
    expect(a.accessKeyId).not.toBe('LOCALDEMOKEY');
    expect((await stat(first.local.paths.policy)).mode & 0o777).toBe(0o600);
  });

  it('opens the API: a token for the demo client', async () => {
    const { local } = await start();
    const key = await readGeneratedKey(local.paths.policy);
    const token = await createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: key,
    }).getToken('demo-client');
    expect(token.clientId).toBe('demo-client');
  });

  it('is kept across restarts of the same data directory', async () => {
    const first = await start();
    const before = await readGeneratedKey(first.local.paths.policy);
    await first.local.stop();
    const local = await startLocalVendor({
      port: 0,
      simulatorPort: 0,
      dataDir: first.dataDir,
      refreshIntervalMs: 0,
      env: {},
    });
    started.push({ local, dataDir: await mkdtemp(join(tmpdir(), 'mtv-private-unused-')) });
    expect(await readGeneratedKey(local.paths.policy)).toEqual(before);
  });

  it('is no longer what the policy file names once a user removes it from the keys', async () => {
    const { local } = await start();
    const policy = await readPolicyFile(local.paths.policy);
    await writeFile(local.paths.policy, JSON.stringify({ ...policy, keys: [] }), { mode: 0o600 });
    const error = await captureError(() => readGeneratedKey(local.paths.policy));
    expect(error.message).toMatch(/no longer lists the key local mode generated/);
  });
});

describe('the embedded token store', () => {
  const storeOf = async (dataDir: string) => {
    const info = await readRuntimeInfo(dataDir);
    if (!info) throw new Error('runtime.json expected');
    return info;
  };

  it('refuses an unsigned DynamoDB request', async () => {
    const { dataDir } = await start();
    const { dynamoEndpoint } = await storeOf(dataDir);
    const response = await fetch(dynamoEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.Scan',
      },
      body: JSON.stringify({ TableName: 'marketo-token-vendor-local' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe(
      'com.amazon.coral.service#MissingAuthenticationTokenException',
    );
  });

  it('refuses a Scan signed with any other credential (what dynalite alone accepted)', async () => {
    const { dataDir } = await start();
    const { dynamoEndpoint } = await storeOf(dataDir);
    const client = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const error = await captureError(() =>
        client.send(new ScanCommand({ TableName: 'marketo-token-vendor-local' })),
      );
      expect(error.name).toBe('UnrecognizedClientException');
    } finally {
      client.destroy();
    }
  });

  it('refuses a Scan signed with the right key id but the wrong secret', async () => {
    const { dataDir } = await start();
    const { dynamoEndpoint, dynamoCredentials } = await storeOf(dataDir);
    const url = new URL(dynamoEndpoint);
    const signed = await new SignatureV4({
      service: 'dynamodb',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: dynamoCredentials?.accessKeyId ?? '', secretAccessKey: 'wrong-secret' },
    }).sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.Scan',
        },
        body: '{"TableName":"marketo-token-vendor-local"}',
      }),
    );
    const { host: _host, ...headers } = signed.headers;
    const response = await fetch(url, { method: 'POST', headers, body: signed.body as string });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe(
      'com.amazon.coral.service#InvalidSignatureException',
    );
  });
});

describe('the data directory', () => {
  it('is 0700 with 0600 files after a start, dynalite files included', async () => {
    const { dataDir, local } = await start();
    await createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: await readGeneratedKey(local.paths.policy),
    }).getToken('demo-client');
    await local.stop();
    // A second start repairs whatever dynalite created with the process umask.
    const again = await startLocalVendor({
      port: 0,
      simulatorPort: 0,
      dataDir,
      refreshIntervalMs: 0,
      env: {},
    });
    started.push({ local: again, dataDir: await mkdtemp(join(tmpdir(), 'mtv-private-unused-')) });

    const found = await modes(dataDir);
    const open = Object.entries(found).filter(([, mode]) => (mode & 0o077) !== 0);
    expect(open).toEqual([]);
    expect(found['']).toBe(0o700);
    expect(found.dynalite).toBe(0o700);
  });

  it('is repaired on start when it was 0755 with a 0644 credentials file, with a warning', async () => {
    const events: string[] = [];
    const { dataDir } = await start(async (dir) => {
      await chmod(dir, 0o755);
      await mkdir(join(dir, 'dynalite'), { mode: 0o755 });
      await writeFile(join(dir, 'credentials.json'), '{"clients":[]}\n', { mode: 0o644 });
      await chmod(join(dir, 'credentials.json'), 0o644);
    }, events);

    const found = await modes(dataDir);
    expect(found['']).toBe(0o700);
    expect(found['credentials.json']).toBe(0o600);
    expect(found.dynalite).toBe(0o700);
    expect(events.some((e) => /credentials\.json was readable by other users \(mode 644\)/.test(e))).toBe(
      true,
    );
  });
});
