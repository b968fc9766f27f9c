import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_RULE } from '../../functions/contract/index.js';
import type { AccessLogEntry } from '../../local/access-log.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';
import { rawExchange, signedHead } from '../support/raw-http.js';

/**
 * Issue 23, "no key holder can stall the others" and "every refusal is a clear, logged JSON error": what a
 * key holder or any local process can send that used to stall the event loop, answer 500, slip past the
 * signature, or get an empty non-JSON answer with no access-log line.
 */

/** A key granted clients by a pattern with several `*`: the kind that used to backtrack. */
const SYNC_KEY = {
  accessKeyId: 'SYNCKEY',
  secretAccessKey: 'sync-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:role/team-sync',
  clients: ['team-*-*-*-sync'],
};
const CLIENT = { clientId: 'team-a-b-c-sync', clientSecret: 'team-sync-marketo-secret' };

describe('local mode refusals are prompt, exact and logged', () => {
  let local: TestLocalVendor;
  let port: number;
  let host: string;
  const accessLog: AccessLogEntry[] = [];
  const events: string[] = [];

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-refusals-',
      policy: { keys: [SYNC_KEY] },
      onRequest: (entry) => accessLog.push(entry),
      onEvent: (message) => events.push(message),
    });
    port = Number(new URL(local.url).port);
    host = `127.0.0.1:${port}`;
    await local.addClient(CLIENT);
  });

  afterAll(() => local?.stop());

  const signed = async (
    signedPath: string,
    options: { target?: string; headers?: Record<string, string> } = {},
  ) => rawExchange(port, await signedHead(SYNC_KEY, { signedPath, host, ...options }));

  describe('policy patterns', () => {
    it('serves a client a pattern with several * grants (control)', async () => {
      const answer = await signed(`/tokens/${CLIENT.clientId}`);
      expect(answer.status).toBe(200);
    });

    it('refuses an id of 2,500 characters with 400 before any pattern runs', async () => {
      const answer = await signed(`/tokens/team-${'-'.repeat(2_500)}`);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({
        error: { code: 'InvalidRequest', message: `clientId must be ${ID_RULE}` },
      });
    });
  });

  describe('names of built-in object properties', () => {
    it.each(['toString', 'constructor', 'valueOf', 'hasOwnProperty', '__proto__'])(
      'serves a signed request with the query parameter %s',
      async (name) => {
        const path = `/tokens/${CLIENT.clientId}?${name}=1`;
        // What curl signs: the query as sent (the SDK signer cannot canonicalise a parameter named __proto__).
        const answer = await signed(path);
        expect(answer.status).toBe(name === '__proto__' ? 403 : 200);
      },
    );

    it.each(['toString', 'constructor', 'valueOf', 'hasOwnProperty'])(
      'serves a signed request with a header named %s',
      async (name) => {
        const answer = await signed(`/tokens/${CLIENT.clientId}`, { headers: { [name]: 'x' } });
        expect(answer.status).toBe(200);
      },
    );

    it('refuses ?__proto__=1 added to a request signed without it', async () => {
      const answer = await signed(`/tokens/${CLIENT.clientId}`, {
        target: `/tokens/${CLIENT.clientId}?__proto__=1`,
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('AccessDenied');
    });
  });

  describe("requests Node's HTTP parser rejects", () => {
    const cases: Array<[string, string, number]> = [
      [
        'chunked together with Content-Length',
        `POST /tokens/x/invalidate HTTP/1.1\r\nhost: ${'HOST'}\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n`,
        400,
      ],
      [
        'a duplicate Content-Length',
        'POST /tokens/x/invalidate HTTP/1.1\r\nhost: HOST\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
        400,
      ],
      [
        'a signed + Content-Length',
        'POST /tokens/x/invalidate HTTP/1.1\r\nhost: HOST\r\ncontent-length: +1\r\n\r\na',
        400,
      ],
      ['a lowercase method', 'get /tokens/x HTTP/1.1\r\nhost: HOST\r\n\r\n', 400],
      ['a control character in the target', 'GET /tokens/x\x01y HTTP/1.1\r\nhost: HOST\r\n\r\n', 400],
      ['raw UTF-8 in the target', 'GET /tokens/é HTTP/1.1\r\nhost: HOST\r\n\r\n', 400],
      ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
      ['Expect: foo', 'GET /tokens/x HTTP/1.1\r\nhost: HOST\r\nexpect: foo\r\n\r\n', 417],
    ];

    it.each(cases)('answers %s with the JSON error shape and logs it', async (_what, head, status) => {
      const before = accessLog.length;
      const answer = await rawExchange(port, head.replaceAll('HOST', host));
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(JSON.parse(answer.body).error.code).toBe('InvalidRequest');
      await until(() => accessLog.length > before);
      expect(accessLog.slice(before).map((e) => e.status)).toEqual([status]);
    });
  });

  it('logs a client that drops the connection mid-body as that, not as a 500', async () => {
    const before = accessLog.length;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    // With `expect: 100-continue` the server says when it has read the head and the handler is running.
    const continued = new Promise((resolve) => socket.once('data', resolve));
    socket.write(
      `POST /tokens/${CLIENT.clientId}/invalidate HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n`,
    );
    expect(String(await continued)).toMatch(/^HTTP\/1\.1 100 Continue/);
    socket.write('{"acc');
    socket.destroy();
    await until(() => accessLog.length > before);
    expect(accessLog.slice(before)).toEqual([
      expect.objectContaining({
        status: 499,
        detail: 'client closed the connection before the request was complete',
      }),
    ]);
    expect(events.filter((e) => e.includes('failed'))).toEqual([]);
  });
});
