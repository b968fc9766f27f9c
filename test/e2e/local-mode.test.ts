import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, MarketoApiError, type TokenClient } from '../../client/index.js';
import { createSyncJob } from '../../examples/sync-job/handler.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

const run = promisify(execFile);

/** The JSON answers of the local API: a token, a vendor error, or an API Gateway message. */
interface ApiBody {
  readonly clientId?: string;
  readonly error?: { readonly code: string; readonly message: string };
}
const json = async (response: Response): Promise<ApiBody> => (await response.json()) as ApiBody;

/** A key allowed every client (what local mode generates on a fresh data directory). */
const ADMIN_KEY = {
  accessKeyId: 'LOCALTESTADMIN',
  secretAccessKey: 'admin-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:user/local-mode',
  clients: ['*'],
  instances: ['*'],
};

/** A key that may only use clients named `team-a-*`. */
const TEAM_A_KEY = {
  accessKeyId: 'TEAMAKEY',
  secretAccessKey: 'team-a-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-a-sync',
  clients: ['team-a-*'],
  instances: [],
};
const TEAM_A_CLIENT = { clientId: 'team-a-client', clientSecret: 'team-a-marketo-secret-123' };

interface Counted {
  readonly fetch: typeof fetch;
  readonly requests: string[];
}

/** A fetch that records `METHOD path` of every request it sends. */
const countingFetch = (): Counted => {
  const requests: string[] = [];
  return {
    requests,
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      requests.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      return fetch(input, init);
    },
  };
};

/** Sends a request signed with the AWS SDK signer (optionally with a past signing date). */
async function signedFetch(
  url: string,
  options: {
    method?: string;
    body?: string;
    key?: { accessKeyId: string; secretAccessKey: string };
    signingDate?: Date;
  } = {},
): Promise<Response> {
  const target = new URL(url);
  const key = options.key ?? ADMIN_KEY;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query: Object.fromEntries(target.searchParams),
      headers: {
        host: target.host,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body,
    }),
    { signingDate: options.signingDate ?? new Date() },
  );
  const { host: _host, ...headers } = signed.headers;
  return fetch(target, { method: options.method ?? 'GET', headers, body: options.body });
}

describe('local mode over HTTP on loopback', () => {
  let local: TestLocalVendor;
  let demoClient: TokenClient;
  let counted: Counted;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-local-e2e-',
      policy: { keys: [ADMIN_KEY, TEAM_A_KEY] },
    });
    registerSensitive(DEMO_CLIENT.clientSecret);
    await local.addClient(TEAM_A_CLIENT);
    counted = countingFetch();
    demoClient = createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: ADMIN_KEY,
      fetch: counted.fetch,
    });
  });

  afterAll(() => local?.stop());

  describe('the API', () => {
    it('gives the system curl --aws-sigv4 a token', async () => {
      const { stdout } = await run('curl', [
        '-s',
        '-w',
        '\n%{http_code}',
        '--aws-sigv4',
        'aws:amz:us-east-1:execute-api',
        '--user',
        `${ADMIN_KEY.accessKeyId}:${ADMIN_KEY.secretAccessKey}`,
        `${local.url}/tokens/demo-client?minValidity=30`,
      ]);
      const [body, status] = stdout.split('\n');
      expect(status).toBe('200');
      const token = JSON.parse(body as string);
      expect(token).toMatchObject({ clientId: 'demo-client', tokenType: 'bearer' });
      expect(token.accessToken).toBe(local.simulator?.currentToken('demo-client')?.accessToken);
      expect(token.expiresIn).toBeGreaterThan(3000);
    });

    it('answers an unsigned request with 403 Missing Authentication Token', async () => {
      const response = await fetch(`${local.url}/tokens/demo-client`);
      expect(response.status).toBe(403);
      expect(await json(response)).toEqual({
        error: { code: 'AccessDenied', message: 'Missing Authentication Token' },
      });
    });

    it('answers a request signed with the wrong secret with 403 signature mismatch', async () => {
      const response = await signedFetch(`${local.url}/tokens/demo-client`, {
        key: { accessKeyId: ADMIN_KEY.accessKeyId, secretAccessKey: 'not-the-secret' },
      });
      expect(response.status).toBe(403);
      expect((await json(response)).error?.message).toMatch(
        /^The request signature we calculated does not match/,
      );
    });

    it('answers a request signed ten minutes ago with 403 Signature expired', async () => {
      const response = await signedFetch(`${local.url}/tokens/demo-client`, {
        signingDate: new Date(Date.now() - 10 * 60_000),
      });
      expect(response.status).toBe(403);
      expect((await json(response)).error?.message).toMatch(
        /^Signature expired: \d{8}T\d{6}Z is now earlier than /,
      );
    });

    it('answers an unknown access key with 403 invalid security token', async () => {
      const response = await signedFetch(`${local.url}/tokens/demo-client`, {
        key: { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'whatever-secret' },
      });
      expect(response.status).toBe(403);
      expect(await json(response)).toEqual({
        error: { code: 'AccessDenied', message: 'The security token included in the request is invalid.' },
      });
    });

    it('answers a key not allowed for the client with 403 not authorized on vend', async () => {
      const response = await signedFetch(`${local.url}/tokens/demo-client`, { key: TEAM_A_KEY });
      expect(response.status).toBe(403);
      expect(await json(response)).toEqual({
        error: {
          code: 'AccessDenied',
          message:
            'User: arn:aws:iam::000000000000:role/team-a-sync is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:local/local/GET/tokens/demo-client',
        },
      });
    });

    it('answers a key not allowed for the client with 403 not authorized on invalidate', async () => {
      const response = await signedFetch(`${local.url}/tokens/demo-client/invalidate`, {
        method: 'POST',
        body: JSON.stringify({ accessToken: 'whatever' }),
        key: TEAM_A_KEY,
      });
      expect(response.status).toBe(403);
      expect((await json(response)).error?.message).toMatch(
        /is not authorized to perform: execute-api:Invoke/,
      );
    });

    it('gives a key allowed by a wildcard a token for its client', async () => {
      const response = await signedFetch(`${local.url}/tokens/team-a-client`, { key: TEAM_A_KEY });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect((await json(response)).clientId).toBe('team-a-client');
    });

    it('answers an unknown route with 403 Missing Authentication Token, as API Gateway does', async () => {
      const response = await signedFetch(`${local.url}/clients`);
      expect(response.status).toBe(403);
      expect(await json(response)).toEqual({
        error: { code: 'AccessDenied', message: 'Missing Authentication Token' },
      });
    });

    it('passes the vend handler errors through with their code', async () => {
      const response = await signedFetch(`${local.url}/tokens/no-such-client`);
      expect(response.status).toBe(404);
      expect((await json(response)).error?.code).toBe('UnknownClient');
    });
  });

  describe('the client library', () => {
    it('gets a token once and serves the next call from its cache', async () => {
      demoClient.clear();
      const before = counted.requests.length;
      const first = await demoClient.getToken('demo-client');
      const second = await demoClient.getToken('demo-client');
      expect(second).toEqual(first);
      expect(counted.requests.length - before).toBe(1);
    });

    it('shares one request between concurrent callers', async () => {
      demoClient.clear();
      const before = counted.requests.length;
      const tokens = await Promise.all(Array.from({ length: 10 }, () => demoClient.getToken('demo-client')));
      expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
      expect(counted.requests.length - before).toBe(1);
    });

    it('recovers from a Marketo 602 in withToken with exactly one invalidate', async () => {
      const simulator = local.simulator;
      if (!simulator) throw new Error('simulator expected');
      simulator.forceRestError('602', 1);
      const before = counted.requests.length;
      const seen: string[] = [];
      const leads = await demoClient.withToken('demo-client', async (token) => {
        seen.push(token.accessToken);
        const response = await fetch(`${simulator.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1`, {
          headers: { authorization: `Bearer ${token.accessToken}` },
        });
        const body = (await response.json()) as { success: boolean; errors?: Array<{ code: string }> };
        const error = body.errors?.[0];
        if (!body.success && error) throw new MarketoApiError(error.code, 'rejected');
        return body;
      });
      expect(leads.success).toBe(true);
      expect(seen).toHaveLength(2);
      const sent = counted.requests.slice(before);
      expect(sent.filter((r) => r === 'POST /tokens/demo-client/invalidate')).toHaveLength(1);
    });

    it('marketoFetch sends the token as a Bearer header and retries once after a 601 body', async () => {
      const simulator = local.simulator;
      if (!simulator) throw new Error('simulator expected');
      simulator.forceRestError('601', 1);
      const before = simulator.restCalls();
      const response = await demoClient.marketoFetch(
        'demo-client',
        `${simulator.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1,2`,
      );
      expect(((await response.json()) as { result: unknown[] }).result).toHaveLength(2);
      expect(simulator.restCalls() - before).toBe(2);
      expect(simulator.accessTokenQueryParamUses()).toBe(0);
    });

    it.each([
      [
        'a wrong secret',
        { ...ADMIN_KEY, secretAccessKey: 'not-the-secret' },
        'us-east-1',
        'InvalidSignature',
      ],
      [
        'an unknown key',
        { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'whatever' },
        'us-east-1',
        'UnrecognizedClient',
      ],
      ['a signature for another region', ADMIN_KEY, 'eu-west-1', 'InvalidSignature'],
    ] as const)('throws a typed error naming %s', async (_what, credentials, region, code) => {
      const tokens = createTokenClient({ endpoint: local.url, region, credentials });
      await expect(tokens.getToken('demo-client')).rejects.toMatchObject({ code, status: 403 });
    });

    it('throws a typed AccessDenied error for a client its key may not use', async () => {
      const teamA = createTokenClient({ endpoint: local.url, region: 'us-east-1', credentials: TEAM_A_KEY });
      await expect(teamA.getToken('demo-client')).rejects.toMatchObject({
        code: 'AccessDenied',
        status: 403,
      });
    });
  });

  describe('the sync-job example', () => {
    it('pages every lead of the simulator through the vendor', async () => {
      const simulator = local.simulator;
      if (!simulator) throw new Error('simulator expected');
      const received: number[] = [];
      const job = createSyncJob({
        tokens: demoClient,
        clientId: 'demo-client',
        restUrl: simulator.restUrl,
        batchSize: 250,
        sink: async (leads) => {
          received.push(...leads.map((l) => l.id));
        },
      });
      const result = await job();
      expect(result).toEqual({ pages: 4, leads: 1000 });
      expect(new Set(received).size).toBe(1000);
    });
  });

  describe('restart', () => {
    it('keeps the cached token: no new Identity call after a restart', async () => {
      const before = await createTokenClient({
        endpoint: local.url,
        region: 'us-east-1',
        credentials: ADMIN_KEY,
      }).getToken('demo-client');
      local = await local.restart();
      const after = await createTokenClient({
        endpoint: local.url,
        region: 'us-east-1',
        credentials: ADMIN_KEY,
      }).getToken('demo-client');

      expect(after.accessToken).toBe(before.accessToken);
      expect(local.simulator?.identityCalls()).toBe(0);
    });
  });
});
