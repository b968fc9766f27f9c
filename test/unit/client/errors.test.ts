import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { errorFromResponse } from '../../../client/errors.js';
import { createTokenClient, TokenVendorClientError } from '../../../client/index.js';

interface GatewayAnswer {
  readonly name: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly code: string;
}

/** The table the Python client's tests read too (python/tests/test_errors.py). */
const { cases } = JSON.parse(
  readFileSync(new URL('../../support/gateway-answers.json', import.meta.url), 'utf8'),
) as { readonly cases: readonly GatewayAnswer[] };

describe('errorFromResponse', () => {
  it.each(cases.map((c) => [c.name, c] as const))('gives %s its own code', (_name, answer) => {
    const error = errorFromResponse(answer.status, new Headers(answer.headers), answer.body, undefined);
    expect(error.code).toBe(answer.code);
  });

  it("keeps the gateway's message from the stack's {error:{message}} body", () => {
    const error = errorFromResponse(
      403,
      new Headers({ 'x-amzn-errortype': 'UnrecognizedClientException' }),
      { error: { code: 'AccessDenied', message: 'The security token included in the request is invalid.' } },
      undefined,
    );
    expect(error).toMatchObject({
      code: 'UnrecognizedClient',
      status: 403,
      message: 'The security token included in the request is invalid.',
    });
  });
});

describe('a NetworkError', () => {
  it('names the system error and the port it could not reach, and keeps the cause', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const tokens = createTokenClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret-key' },
    });
    const error = await tokens.getToken('demo-client').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenVendorClientError);
    expect(error).toMatchObject({
      code: 'NetworkError',
      status: 0,
      message: `token vendor unreachable (http://127.0.0.1:${port}): connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
