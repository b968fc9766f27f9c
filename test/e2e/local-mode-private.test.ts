import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { readPolicyFile } from '../../local/policy.js';
import { readRuntimeInfo } from '../../local/runtime-info.js';
import { captureError, registerSensitive } from '../../testing/leak-scan.js';
import {
  startTestLocalVendor,
  type TestLocalVendor,
  type TestLocalVendorOptions,
} from '../../testing/local-vendor.js';

/**
 * Issue 13, "no open doors beside the API": no well-known key, a store only the vendor can talk to, and
 * a data directory no other user can read.
 */

const started: TestLocalVendor[] = [];
/** Data directories a test made itself (to prepare them before the start): removed after the stops. */
const preparedDirs: string[] = [];
afterEach(async () => {
  for (const local of started.splice(0)) await local.stop();
  for (const dir of preparedDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(options: TestLocalVendorOptions = {}): Promise<TestLocalVendor> {
  const local = await startTestLocalVendor({ dataDirPrefix: 'mtv-private-', ...options });
  started.push(local);
  return local;
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
    const a = await first.generatedKey();
    const b = await second.generatedKey();
    registerSensitive(a.secretAccessKey, b.secretAccessKey);

    expect(a.accessKeyId).toMatch(/^LOCAL[A-Z2-7]{16}$/);
    expect(a.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(b.secretAccessKey).not.toBe(a.secretAccessKey);
    expect(a.accessKeyId).not.toBe('LOCALDEMOKEY');
    expect((await stat(first.paths.policy)).mode & 0o777).toBe(0o600);
  });

  it('opens the API: a token for the demo client', async () => {
    const local = await start();
    const key = await local.generatedKey();
    const token = await createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: key,
    }).getToken('demo-client');
    expect(token.clientId).toBe('demo-client');
  });

  it('is kept across restarts of the same data directory', async () => {
    const first = await start();
    const before = await first.generatedKey();
    const local = await first.restart();
    started.push(local);
    expect(await local.generatedKey()).toEqual(before);
  });

  it('is no longer what the policy file names once a user removes it from the keys', async () => {
    const local = await start();
    const policy = await readPolicyFile(local.paths.policy);
    await writeFile(local.paths.policy, JSON.stringify({ ...policy, keys: [] }), { mode: 0o600 });
    const error = await captureError(() => local.generatedKey());
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
    const { dataDir } = (await start()).paths;
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
    const { dataDir } = (await start()).paths;
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
    const { dataDir } = (await start()).paths;
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
    const local = await start();
    const { dataDir } = local.paths;
    await createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: await local.generatedKey(),
    }).getToken('demo-client');
    // A second start repairs whatever dynalite created with the process umask.
    started.push(await local.restart());

    const found = await modes(dataDir);
    const open = Object.entries(found).filter(([, mode]) => (mode & 0o077) !== 0);
    expect(open).toEqual([]);
    expect(found['']).toBe(0o700);
    expect(found.dynalite).toBe(0o700);
  });

  it('is repaired on start when it was 0755 with a 0644 credentials file, with a warning', async () => {
    const events: string[] = [];
    const dataDir = await mkdtemp(join(tmpdir(), 'mtv-private-'));
    preparedDirs.push(dataDir);
    await chmod(dataDir, 0o755);
    await mkdir(join(dataDir, 'dynalite'), { mode: 0o755 });
    await writeFile(join(dataDir, 'credentials.json'), '{"clients":[]}\n', { mode: 0o644 });
    await chmod(join(dataDir, 'credentials.json'), 0o644);
    await start({ dataDir, onEvent: (message) => events.push(message) });

    const found = await modes(dataDir);
    expect(found['']).toBe(0o700);
    expect(found['credentials.json']).toBe(0o600);
    expect(found.dynalite).toBe(0o700);
    expect(events.some((e) => /credentials\.json was readable by other users \(mode 644\)/.test(e))).toBe(
      true,
    );
  });
});
