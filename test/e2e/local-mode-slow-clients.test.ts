import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, type TokenClient } from '../../client/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { openSocket } from '../support/raw-http.js';

/**
 * Issue 13, slow clients: Node's defaults (no connection cap, 300 s per request) let a few sockets that
 * trickle bytes hold the API. These tests use real sockets and therefore real time; every bound below is
 * at least ten times what the behaviour needs on this machine, so a slower machine does not fail them.
 */

const HEADERS_TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 300;
/** Generous: a signed vend answers in milliseconds here; ten seconds holds on a machine 10x slower. */
const ANSWER_BOUND_MS = 10_000;

/** `work`, or a rejection once `boundMs` has passed. */
const within = <T>(work: Promise<T>, boundMs: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${boundMs} ms`)), boundMs).unref(),
    ),
  ]);

/** Resolves with how long the socket stayed open, once the server closes it (or after `boundMs`). */
const closedWithin = (socket: Socket, boundMs: number): Promise<number | undefined> =>
  new Promise((resolve) => {
    const started = Date.now();
    const timer = setTimeout(() => resolve(undefined), boundMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('error', () => undefined);
    // A paused socket never reads, so it would not notice the server's FIN.
    socket.resume();
  });

describe('local mode under slow clients', () => {
  let local: TestLocalVendor;
  let port: number;
  let client: TokenClient;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-slow-',
      httpLimits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, maxConnections: MAX_CONNECTIONS },
    });
    port = Number(new URL(local.url).port);
    client = createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: await local.generatedKey(),
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await local?.stop();
  });

  it('answers a signed request while 200 connections trickle their headers', async () => {
    const trickling = await Promise.all(Array.from({ length: 200 }, () => openSocket(port)));
    sockets.push(...trickling);
    for (const socket of trickling)
      socket.write(`GET /tokens/demo-client HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-slow: `);
    const drip = setInterval(() => {
      for (const socket of trickling) if (!socket.destroyed) socket.write('a');
    }, 100);
    try {
      client.clear();
      const token = await within(client.getToken('demo-client'), ANSWER_BOUND_MS);
      expect(token.clientId).toBe('demo-client');
    } finally {
      clearInterval(drip);
    }
  });

  it('closes a connection that has not sent its headers within the headers timeout', async () => {
    const socket = await openSocket(port);
    sockets.push(socket);
    socket.write(`GET /tokens/demo-client HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`);
    // Closed after about HEADERS_TIMEOUT_MS (+ Node's check interval); never held for Node's default 60 s.
    const openMs = await closedWithin(socket, ANSWER_BOUND_MS + HEADERS_TIMEOUT_MS);
    expect(openMs).toBeDefined();
    expect(openMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
  });

  it('closes slow connections past the cap (the oldest first, issue 23), and serves again once they are cut off', async () => {
    const holders = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => openSocket(port)));
    sockets.push(...holders);
    for (const socket of holders) socket.write(`GET / HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`);
    const closedHolders = Promise.all(holders.map((socket) => closedWithin(socket, ANSWER_BOUND_MS * 2)));
    // Give the server a moment to accept them all before the next connection arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const extra = await openSocket(port);
    sockets.push(extra);
    expect(await closedWithin(extra, ANSWER_BOUND_MS)).toBeDefined();

    expect((await closedHolders).every((ms) => ms !== undefined)).toBe(true);
    client.clear();
    const token = await within(client.getToken('demo-client'), ANSWER_BOUND_MS);
    expect(token.clientId).toBe('demo-client');
  });
});
