import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConnectionSlots, shareConnectionsFairly } from '../../../local/connection-slots.js';
import { until } from '../../../testing/until.js';
import { openSocket } from '../../support/raw-http.js';

/** A server whose requests to /signed are vouched for, with a fair cap of `cap`. */
async function serve(cap: number): Promise<{ server: Server; slots: ConnectionSlots; port: number }> {
  let slots: ConnectionSlots | undefined;
  const server = createServer((req: IncomingMessage, res) => {
    if (req.url === '/signed') slots?.vouch(req);
    res.end('ok');
  });
  slots = shareConnectionsFairly(server, cap);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, slots, port: (server.address() as AddressInfo).port };
}

const closed = (socket: Socket): Promise<void> => new Promise((done) => socket.once('close', () => done()));

describe('shareConnectionsFairly', () => {
  const sockets: Socket[] = [];
  let server: Server | undefined;
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  });

  it('gives a new connection past the cap the slot of the oldest one without a request', async () => {
    const started = await serve(2);
    server = started.server;
    const [first, second] = [await openSocket(started.port), await openSocket(started.port)];
    sockets.push(first as Socket, second as Socket);
    await until(() => started.slots.size === 2);
    const firstClosed = closed(first as Socket);

    sockets.push(await openSocket(started.port));

    await firstClosed;
    expect((second as Socket).destroyed).toBe(false);
    await until(() => started.slots.size === 2);
  });

  it('keeps a connection that carried a signed request while unproven ones remain', async () => {
    const started = await serve(2);
    server = started.server;
    const proven = await openSocket(started.port);
    sockets.push(proven);
    const answered = new Promise((done) => proven.once('data', done));
    proven.write('GET /signed HTTP/1.1\r\nhost: x\r\n\r\n');
    await answered;
    const stranger = await openSocket(started.port);
    sockets.push(stranger);
    await until(() => started.slots.size === 2);
    const strangerClosed = closed(stranger);

    sockets.push(await openSocket(started.port));

    await strangerClosed;
    expect(proven.destroyed).toBe(false);
  });
});
