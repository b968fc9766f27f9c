import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { announce } from '../support/announce.js';

const run = promisify(execFile);

/**
 * A second, independent SigV4 client: botocore's `SigV4Auth`, as AWS's Python SDK signs. Local mode must
 * accept what it signs (the request target is parsed once and verified as sent) and refuse a replay of
 * its headers at another target. On a machine without python3 + botocore the suite is skipped with the
 * reason printed; under CI=true it fails instead.
 */
const probe = spawnSync('python3', ['-c', 'import botocore.auth'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) {
  const reason = 'python3 with botocore is not installed';
  if (process.env.CI === 'true') throw new Error(`${reason} (required under CI=true)`);
  announce(`skipping botocore SigV4 interop: ${reason}`);
}

/** Signs `GET signedUrl` with botocore, sends it to `sentTarget` (default: the same) and prints `status body`. */
const SCRIPT = `
import sys, json, http.client
from urllib.parse import urlsplit
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
key_id, secret, signed_url, sent_target = sys.argv[1:5]
request = AWSRequest(method='GET', url=signed_url)
SigV4Auth(Credentials(key_id, secret), 'execute-api', 'us-east-1').add_auth(request)
parts = urlsplit(signed_url)
connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
target = sent_target or (parts.path + ('?' + parts.query if parts.query else ''))
connection.putrequest('GET', target, skip_host=True, skip_accept_encoding=True)
# botocore signs the Host of the URL but leaves sending it to the HTTP layer.
if 'host' not in {name.lower() for name in request.headers.keys()}:
    connection.putheader('Host', parts.netloc)
for name, value in request.headers.items():
    connection.putheader(name, value)
connection.endheaders()
response = connection.getresponse()
print(response.status, response.read().decode())
`;

describe.skipIf(!available)('botocore SigV4Auth against local mode', () => {
  let local: TestLocalVendor;
  let key: { accessKeyId: string; secretAccessKey: string };

  const send = async (signedPath: string, sentTarget = ''): Promise<{ status: number; body: string }> => {
    const { stdout } = await run('python3', [
      '-c',
      SCRIPT,
      key.accessKeyId,
      key.secretAccessKey,
      `${local.url}${signedPath}`,
      sentTarget,
    ]);
    const space = stdout.indexOf(' ');
    return { status: Number(stdout.slice(0, space)), body: stdout.slice(space + 1) };
  };

  beforeAll(async () => {
    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-botocore-' });
    key = await local.generatedKey();
  });

  afterAll(() => local?.stop());

  it('gets a token for a request botocore signed, query included', async () => {
    const answer = await send('/tokens/demo-client?minValidity=60');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).clientId).toBe('demo-client');
  });

  it('refuses botocore-signed headers replayed at a dot-segment target with 400', async () => {
    const answer = await send('/tokens/demo-client', '/tokens/other/../demo-client');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.message).toBe('Request path must not contain dot-segments');
  });
});
