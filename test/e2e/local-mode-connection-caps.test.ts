import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS } from '../../local/http-guard.js';
import type { PolicyKey } from '../../local/policy.js';
import { readRuntimeInfo } from '../../local/runtime-info.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { openSocket, rawExchange, signedHead } from '../support/raw-http.js';

/**
 * Issue 23, connection caps shared with strangers: any local process could fill the store guard's 128
 * connections (cutting the vendor off from its own store, so permits came back unmetered) or the API's cap
 * (so signed requests failed). Real sockets on loopback, a bounded number of them; nothing here depends on
 * how fast the machine is: the stranger's connections are all open before the signed requests start.
 */

const API_CAP = 48;
const STRANGERS = 120;
const SIGNED = 16;

describe('connections strangers hold', () => {
  let local: TestLocalVendor;
  let key: PolicyKey;
  let port: number;
  const strangers: Socket[] = [];

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-caps-',
      httpLimits: { maxConnections: API_CAP },
    });
    key = await local.generatedKey();
    port = Number(new URL(local.url).port);
    for (let i = 0; i < SIGNED; i += 1) {
      await local.addClient({ clientId: `capped-${i}`, clientSecret: `capped-secret-${i}-abcdef` });
    }
  });
  afterEach(() => {
    for (const socket of strangers.splice(0)) socket.destroy();
  });
  afterAll(() => local?.stop());

  /** Status of a signed request on a fresh connection (0 when the connection was cut). */
  const signedStatus = async (method: 'GET' | 'POST', signedPath: string, body?: string): Promise<number> => {
    const head = await signedHead(key, {
      method,
      signedPath,
      host: `127.0.0.1:${port}`,
      ...(body === undefined ? {} : { body }),
    });
    return rawExchange(port, head, body ?? '').then(
      (answer) => (Number.isNaN(answer.status) ? 0 : answer.status),
      () => 0,
    );
  };

  it("do not cut the vendor off from its own store: cold vends and metered permits with the store's guard full", async () => {
    // The guard closes the vendor's idle keep-alive connections after its keep-alive timeout; from then on the
    // vendor needs new connections to its store (a wait, not a bound: a late timer only delays the test).
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs + 1_000));
    const info = await readRuntimeInfo(local.paths.dataDir);
    const guardPort = Number(new URL(info?.dynamoEndpoint ?? '').port);
    // Connections that never finish a request: more than the guard's cap of 128.
    for (let i = 0; i < 140; i += 1) strangers.push(await openSocket(guardPort));
    for (const socket of strangers) socket.write('POST / HTTP/1.1\r\nhost: 127.0.0.1\r\n');

    // Each vend of a cold client needs the store (read, lease, write) at the same time as the others.
    const vends = await Promise.all(
      Array.from({ length: SIGNED }, (_, i) => signedStatus('GET', `/tokens/capped-${i}`)),
    );
    const permit = await rawExchange(
      port,
      await signedHead(key, {
        method: 'POST',
        signedPath: '/tokens/capped-0/permits',
        host: `127.0.0.1:${port}`,
        body: '{}',
      }),
      '{}',
    );

    expect(vends).toEqual(vends.map(() => 200));
    expect(permit.status).toBe(200);
    expect(JSON.parse(permit.body).unmetered).toBe(false);
  });

  it('do not keep signed requests out of the API: a slot without a signed request is reclaimed first', async () => {
    // More half-open connections than the API's cap, all open before any signed request is sent.
    for (let i = 0; i < STRANGERS; i += 1) {
      const socket = await openSocket(port);
      socket.on('error', () => undefined);
      socket.write(`GET /tokens/capped-0 HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`);
      strangers.push(socket);
    }

    const statuses = await Promise.all(
      Array.from({ length: SIGNED }, (_, i) => signedStatus('GET', `/tokens/capped-${i}`)),
    );

    expect(statuses).toEqual(statuses.map(() => 200));
  });
});
