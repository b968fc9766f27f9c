import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayErrorKind } from '../../functions/contract/index.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { allowSlowSynthesis, appWithoutBundling } from '../infra/helpers.js';
import { rawExchange } from '../support/raw-http.js';

/**
 * Issue 13, "same answers as the deployed API": for each refusal kind, local mode's answer is what the
 * synthesized stack's gateway response for that kind renders (status, Cache-Control and the body template
 * with API Gateway's message filled in). Both come from the contract's gateway-error table; this test
 * holds them together from the outside.
 */
allowSlowSynthesis();

const ALLOWED_KEY = {
  accessKeyId: 'PARITYKEY',
  secretAccessKey: 'parity-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:role/parity',
  clients: ['demo-client'],
  instances: [],
};

interface GatewayResponse {
  readonly ResponseType: string;
  readonly StatusCode?: string;
  readonly ResponseParameters?: Record<string, string>;
  readonly ResponseTemplates: Record<string, string>;
}

async function signedHead(
  port: number,
  path: string,
  key: { accessKeyId: string; secretAccessKey: string },
  signingDate = new Date(),
): Promise<string> {
  const signed = await new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: key,
  }).sign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      headers: { host: `127.0.0.1:${port}` },
    }),
    { signingDate },
  );
  const lines = Object.entries(signed.headers).map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n`;
}

describe('local refusals match the stack’s gateway responses', () => {
  let responses: Map<string, GatewayResponse>;
  let local: TestLocalVendor;
  let port: number;

  beforeAll(async () => {
    const stack = new Stack(appWithoutBundling(), 'Parity');
    new MarketoTokenVendor(stack, 'Vendor');
    const found = Template.fromStack(stack).findResources('AWS::ApiGateway::GatewayResponse');
    responses = new Map(
      Object.values(found).map((resource) => {
        const properties = (resource as { Properties: GatewayResponse }).Properties;
        return [properties.ResponseType, properties];
      }),
    );

    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-parity-', policy: { keys: [ALLOWED_KEY] } });
    port = Number(new URL(local.url).port);
  });

  afterAll(() => local?.stop());

  /** What the deployed gateway response of `kind` answers, given API Gateway's message. */
  const deployed = (kind: GatewayErrorKind, message: string) => {
    const response = responses.get(kind);
    if (!response) throw new Error(`the stack configures no gateway response for ${kind}`);
    const template = response.ResponseTemplates['application/json'] ?? '';
    return {
      status: response.StatusCode === undefined ? undefined : Number(response.StatusCode),
      cacheControl: response.ResponseParameters?.['gatewayresponse.header.Cache-Control'],
      body: JSON.parse(template.replace('$context.error.messageString', JSON.stringify(message))) as unknown,
    };
  };

  const cases: ReadonlyArray<{
    readonly kind: GatewayErrorKind;
    readonly what: string;
    readonly request: () => Promise<string>;
  }> = [
    {
      kind: 'MISSING_AUTHENTICATION_TOKEN',
      what: 'an unsigned request',
      request: async () =>
        `GET /tokens/demo-client HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`,
    },
    {
      kind: 'MISSING_AUTHENTICATION_TOKEN',
      what: 'an unknown route',
      request: () => signedHead(port, '/clients', ALLOWED_KEY),
    },
    {
      kind: 'INVALID_SIGNATURE',
      what: 'a wrong secret',
      request: () =>
        signedHead(port, '/tokens/demo-client', { ...ALLOWED_KEY, secretAccessKey: 'wrong-secret' }),
    },
    {
      kind: 'INVALID_SIGNATURE',
      what: 'an unknown access key',
      request: () =>
        signedHead(port, '/tokens/demo-client', {
          accessKeyId: 'NOSUCHKEY',
          secretAccessKey: 'whatever-secret',
        }),
    },
    {
      kind: 'EXPIRED_TOKEN',
      what: 'a signature ten minutes old',
      request: () => signedHead(port, '/tokens/demo-client', ALLOWED_KEY, new Date(Date.now() - 600_000)),
    },
    {
      kind: 'ACCESS_DENIED',
      what: 'a key not allowed for the client',
      request: () => signedHead(port, '/tokens/other-client', ALLOWED_KEY),
    },
    {
      kind: 'BAD_REQUEST_PARAMETERS',
      what: 'malformed percent-encoding',
      request: async () => `GET /tokens/%ZZ HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`,
    },
    {
      kind: 'REQUEST_TOO_LARGE',
      what: 'a body larger than any valid request',
      request: async () =>
        `POST /tokens/demo-client/invalidate HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: 1048576\r\nconnection: close\r\n\r\n`,
    },
  ];

  for (const { kind, what, request } of cases) {
    it(`answers ${what} as the stack's ${kind} gateway response`, async () => {
      const answer = await rawExchange(port, await request());
      const body = JSON.parse(answer.body) as { error: { message: string } };
      const expected = deployed(kind, body.error.message);

      expect(answer.status).toBe(expected.status);
      expect(`'${answer.headers['cache-control']}'`).toBe(expected.cacheControl);
      expect(body).toEqual(expected.body);
    });
  }
});
