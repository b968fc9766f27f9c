import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { createSigV4Verifier, SIGV4_MESSAGES, type SignedRequest } from '../../../local/sigv4-verifier.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const KEY = { accessKeyId: 'LOCALTESTKEY', secretAccessKey: 'local-test-secret' };

const verifier = createSigV4Verifier({
  lookupKey: (id) => (id === KEY.accessKeyId ? { secretAccessKey: KEY.secretAccessKey } : undefined),
  now: () => NOW,
});

interface SignOptions {
  readonly method?: string;
  readonly path?: string;
  readonly query?: Record<string, string>;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly secretAccessKey?: string;
  readonly accessKeyId?: string;
  readonly service?: string;
  readonly region?: string;
  readonly signingDate?: Date;
  readonly applyChecksum?: boolean;
}

/** Signs like a consumer would with the AWS SDK signer, and returns what the server receives. */
async function signedRequest(options: SignOptions = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region ?? 'us-east-1',
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? false,
    credentials: {
      accessKeyId: options.accessKeyId ?? KEY.accessKeyId,
      secretAccessKey: options.secretAccessKey ?? KEY.secretAccessKey,
    },
  });
  const query = options.query ?? {};
  const signed = await signer.sign(
    new HttpRequest({
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8787,
      path: options.path ?? '/tokens/demo-client',
      query,
      headers: { host: '127.0.0.1:8787', ...options.headers },
      body: options.body,
    }),
    { signingDate: options.signingDate ?? new Date(NOW) },
  );
  const search = new URLSearchParams(query).toString();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return {
    method: signed.method,
    path: signed.path,
    rawQuery: search,
    headers,
    body: Buffer.from(options.body ?? ''),
  };
}

/** The request as it would arrive with another request target. */
const withTarget = (request: SignedRequest, target: string): SignedRequest => {
  const [path = '', rawQuery = ''] = target.split('?');
  return { ...request, path, rawQuery };
};

describe('SigV4 verifier', () => {
  describe('accepts', () => {
    it('a GET signed by the AWS SDK signer', async () => {
      const result = await verifier.verify(await signedRequest());
      expect(result).toEqual({ ok: true, accessKeyId: KEY.accessKeyId });
    });

    it('a GET whose query parameters the signer sorted and encoded', async () => {
      const request = await signedRequest({ query: { minValidity: '30', a: 'b c' } });
      expect((await verifier.verify(request)).ok).toBe(true);
    });

    it('the signed query parameters sent in another order', async () => {
      // Canonical query strings are sorted, so the order on the wire does not matter.
      const request = await signedRequest({ query: { a: '1', b: '2' } });
      expect((await verifier.verify(withTarget(request, '/tokens/demo-client?b=2&a=1'))).ok).toBe(true);
    });

    it('a POST whose body hash is in a signed x-amz-content-sha256 header', async () => {
      const request = await signedRequest({
        method: 'POST',
        path: '/tokens/demo-client/invalidate',
        body: '{"accessToken":"abc"}',
        headers: { 'content-type': 'application/json' },
        applyChecksum: true,
      });
      expect(request.headers['x-amz-content-sha256']).toBeDefined();
      expect((await verifier.verify(request)).ok).toBe(true);
    });

    it.each(['toString', 'constructor', 'valueOf', 'hasOwnProperty'])(
      'a signed query parameter named %s',
      async (name) => {
        const request = await signedRequest({ query: Object.fromEntries([[name, '1']]) });
        expect((await verifier.verify(request)).ok).toBe(true);
      },
    );

    it('a timestamp four minutes old', async () => {
      const request = await signedRequest({ signingDate: new Date(NOW - 4 * 60_000) });
      expect((await verifier.verify(request)).ok).toBe(true);
    });
  });

  describe('refuses', () => {
    it('a query parameter named __proto__ added after signing (issue 23)', async () => {
      const request = await signedRequest();
      const result = await verifier.verify(withTarget(request, '/tokens/demo-client?__proto__=1'));
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it("another value of a __proto__ parameter than the one signed, which the SDK signer's canonical form drops", async () => {
      const request = await signedRequest({ query: Object.fromEntries([['__proto__', '1']]) });
      const result = await verifier.verify(withTarget(request, '/tokens/demo-client?__proto__=2'));
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a request without an Authorization header as a missing authentication token', async () => {
      const { authorization: _, ...headers } = (await signedRequest()).headers;
      const result = await verifier.verify({ ...(await signedRequest()), headers });
      expect(result).toMatchObject({ ok: false, status: 403, message: SIGV4_MESSAGES.missing });
    });

    it('a malformed Authorization header as an incomplete signature', async () => {
      const request = await signedRequest();
      const result = await verifier.verify({
        ...request,
        headers: { ...request.headers, authorization: 'Bearer abc' },
      });
      expect(result).toMatchObject({ ok: false, status: 403, errorType: 'IncompleteSignatureException' });
    });

    it('a signature made with the wrong secret', async () => {
      const request = await signedRequest({ secretAccessKey: 'not-the-secret' });
      expect(await verifier.verify(request)).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a request whose path was changed after signing', async () => {
      const request = await signedRequest();
      const result = await verifier.verify(withTarget(request, '/tokens/other-client'));
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a request whose query was changed after signing', async () => {
      const request = await signedRequest({ query: { minValidity: '30' } });
      const result = await verifier.verify(withTarget(request, '/tokens/demo-client?minValidity=3000'));
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a body that is not the one signed', async () => {
      const request = await signedRequest({ method: 'POST', body: '{"accessToken":"abc"}' });
      const result = await verifier.verify({ ...request, body: Buffer.from('{"accessToken":"xyz"}') });
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a body that does not match its signed x-amz-content-sha256 header', async () => {
      const request = await signedRequest({ method: 'POST', body: '{"a":1}', applyChecksum: true });
      const result = await verifier.verify({ ...request, body: Buffer.from('{"a":2}') });
      expect(result).toMatchObject({ ok: false, message: SIGV4_MESSAGES.mismatch });
    });

    it('a signed header that the request no longer carries', async () => {
      const request = await signedRequest({ headers: { 'x-custom': 'v' } });
      const { 'x-custom': _, ...headers } = request.headers;
      expect(await verifier.verify({ ...request, headers })).toMatchObject({ ok: false });
    });

    it('a timestamp ten minutes old as an expired signature, naming both instants', async () => {
      const request = await signedRequest({ signingDate: new Date(NOW - 10 * 60_000) });
      const result = await verifier.verify(request);
      expect(result).toMatchObject({
        ok: false,
        status: 403,
        message:
          'Signature expired: 20250601T115000Z is now earlier than 20250601T115500Z (20250601T120000Z - 5 min.)',
      });
    });

    it('a timestamp more than five minutes in the future', async () => {
      const request = await signedRequest({ signingDate: new Date(NOW + 6 * 60_000) });
      const result = await verifier.verify(request);
      expect(result).toMatchObject({
        ok: false,
        message: expect.stringMatching(/^Signature not yet current/),
      });
    });

    it('a credential scoped to another service', async () => {
      const result = await verifier.verify(await signedRequest({ service: 'lambda' }));
      expect(result).toMatchObject({
        ok: false,
        message: "Credential should be scoped to correct service: 'execute-api'. ",
      });
    });

    it('a credential scoped to another region', async () => {
      const result = await verifier.verify(await signedRequest({ region: 'eu-west-1' }));
      expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/valid region/) });
    });

    it('a signed header named like an Object.prototype member (constructor) as a mismatch', async () => {
      const request = await signedRequest();
      const authorization = String(request.headers.authorization).replace(
        /SignedHeaders=[^,]+/,
        'SignedHeaders=constructor;host;x-amz-date',
      );
      const result = await verifier.verify({ ...request, headers: { ...request.headers, authorization } });
      expect(result).toMatchObject({
        ok: false,
        kind: 'INVALID_SIGNATURE',
        message: SIGV4_MESSAGES.mismatch,
      });
    });

    it('an access key that does not exist as an invalid security token', async () => {
      const result = await verifier.verify(await signedRequest({ accessKeyId: 'NOSUCHKEY' }));
      expect(result).toMatchObject({
        ok: false,
        errorType: 'UnrecognizedClientException',
        message: SIGV4_MESSAGES.unknownKey,
      });
    });
  });
});
