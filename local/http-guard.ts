/**
 * The HTTP layer of local mode before any signature is checked: where the server listens, how long and
 * how much it waits for a client, and which requests it refuses without reading them (a foreign Host or
 * any Origin: DNS rebinding from a web page; no consumer of this API is a browser).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_REQUEST_BODY_BYTES } from '../functions/contract/index.js';

/** Limits against slow or greedy clients. Node's defaults (300 s per request, no cap) are far too loose. */
export interface HttpLimits {
  /** A client must send all headers within this. @default 10_000 */
  readonly headersTimeoutMs: number;
  /** A client must send the whole request within this. @default 30_000 */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. @default 5_000 */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at once; further ones are closed on accept. @default 512 */
  readonly maxConnections: number;
  /** Largest request header block. @default 16_384 */
  readonly maxHeaderBytes: number;
  /** Largest body read before the signature is checked: the largest valid request. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
  maxHeaderBytes: 16_384,
  maxBodyBytes: MAX_REQUEST_BODY_BYTES,
};

/** The port is taken (another `npm start`, or something else). */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'PortInUse';
  constructor(
    readonly port: number,
    readonly what: string,
  ) {
    super(
      `port ${port} on 127.0.0.1 is already in use (${what}); choose another with --port/--simulator-port`,
    );
  }
}

/** An HTTP server with `limits` applied (not yet listening). */
export function createLimitedServer(limits: HttpLimits, listener: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node enforces the two timeouts above only when it checks, every 30 s by default.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** Listens on 127.0.0.1 (only); resolves the port. */
export const listenOnLoopback = (server: Server, port: number, what: string): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, what) : error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolvePort((server.address() as AddressInfo).port);
    });
  });

/** While a server closes with a grace, how often connections that finished their request are closed. */
const IDLE_SWEEP_MS = 20;

/** Closes the server and every open connection (after `graceMs`, for requests already inside it). */
export const closeServer = (server: Server, graceMs = 0): Promise<void> =>
  new Promise((done) => {
    // With a grace, requests already inside the server finish first: dynalite closes its database on the
    // server's 'close', and a request still running then throws "Database is closed" as an uncaught exception.
    // A keep-alive connection whose request finished meanwhile is closed at once, not at its idle timeout.
    const sweep = graceMs > 0 ? setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS) : undefined;
    const cut = graceMs > 0 ? setTimeout(() => server.closeAllConnections(), graceMs) : undefined;
    sweep?.unref();
    cut?.unref();
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      done();
    });
    server.closeIdleConnections();
    if (graceMs === 0) server.closeAllConnections();
  });

/** Why the HTTP layer refuses a request before reading it; `undefined` when it may go on. */
export function checkAddressing(req: IncomingMessage, port: number): string | undefined {
  const hosts: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    if (name === 'host') hosts.push(req.rawHeaders[i + 1] as string);
    if (name === 'origin') return 'Requests from web pages (with an Origin header) are not accepted';
  }
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (hosts.length !== 1 || !allowed.includes((hosts[0] as string).toLowerCase())) {
    return `Host must be 127.0.0.1:${port} or localhost:${port}`;
  }
  return undefined;
}

/** The body, or `undefined` when it is (or announces itself) larger than `maxBytes`: then nothing more is read. */
export async function readBodyUpTo(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(announced) || announced > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Whether the client closed the connection before its request was complete (reading its body then throws). */
export const clientClosedEarly = (req: IncomingMessage): boolean => !req.complete && req.destroyed;
