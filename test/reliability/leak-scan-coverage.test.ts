import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityBadResponseError } from '../../functions/core/errors.js';
import type { ClientCredentials, IdentityClient, IdentityToken } from '../../functions/core/ports.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { createVendHandler } from '../../functions/vend.js';
import { MemoryCredentials, testCredentials } from '../../testing/fake-identity.js';
import { captureText, scanDirectory } from '../../testing/leak-scan.js';
import { MemoryTokenStore } from '../../testing/memory-token-store.js';
import { lambdaContext, routeEvent } from '../support/api-event.js';

/** A deliberately broken adapter that quotes the client secret in its error (what the scan must catch). */
class LeakyIdentity implements IdentityClient {
  fetchToken(credentials: ClientCredentials): Promise<IdentityToken> {
    return Promise.reject(new IdentityBadResponseError(`rejected secret ${credentials.clientSecret}`));
  }
}

/** The vend handler over the leaky adapter; every log is silenced so the leak reaches only the body. */
function leakyHandler(record: ClientCredentials) {
  const logger = new Logger({ serviceName: 'leak-proof', logLevel: 'SILENT' });
  const vendor = createTokenVendor(
    {
      store: new MemoryTokenStore(),
      credentials: new MemoryCredentials([record]),
      identity: new LeakyIdentity(),
    },
    { defaultMaxWaitMs: 5_000 },
  );
  const telemetry = { logger, metrics: new Metrics({ namespace: 'MarketoTokenVendor', logger }) };
  return createVendHandler({ vendor, telemetry, maxWaitMs: 5_000 });
}

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** A capture directory laid out as the suite's (sensitive-*.txt, log-*.txt), separate from the real one. */
function scratchCapture(sensitive: string[], logText: string): string {
  scratch = mkdtempSync(join(tmpdir(), 'mtv-leak-proof-'));
  writeFileSync(join(scratch, 'sensitive-1.txt'), `${sensitive.join('\n')}\n`);
  writeFileSync(join(scratch, 'log-1.txt'), logText);
  return scratch;
}

describe('leak scan coverage of HTTP error bodies', () => {
  it('fails the scan when a client secret reaches an HTTP error body', async () => {
    const record = testCredentials('leaky-client');
    const result = (await leakyHandler(record)(
      routeEvent('token', { clientId: 'leaky-client' }),
      lambdaContext(),
    )) as APIGatewayProxyResult;
    expect(result.statusCode).toBe(502);
    expect(result.body).toContain(record.clientSecret);
    const { leaks } = scanDirectory(scratchCapture([record.clientSecret], `${result.body}\n`));
    expect(leaks).toMatchObject([{ kind: 'secret', file: 'log-1.txt' }]);
    expect(leaks[0]?.excerpt).not.toContain(record.clientSecret);
  });

  it('fails the scan when a full access token reaches an HTTP error body, registered or not', () => {
    const token = '3f1c0b2a-1d2e-4f50-8a6b-7c8d9e0f1a2b:ab';
    const body = JSON.stringify({ error: { code: 'IdentityBadResponse', message: `bad token ${token}` } });
    const { leaks } = scanDirectory(scratchCapture([], `${body}\n`));
    expect(leaks).toMatchObject([{ kind: 'token' }]);
  });

  it('appends captured error bodies to this worker’s log file in the suite capture directory', () => {
    const directory = process.env.LEAK_SCAN_DIR;
    expect(directory).toBeDefined();
    const marker = `{"error":{"code":"IdentityUnavailable","message":"marker ${Date.now()}"}}`;
    captureText(`${marker}\n`);
    expect(readFileSync(join(directory ?? '', `log-${process.pid}.txt`), 'utf8')).toContain(marker);
  });
});
