/**
 * A tiny HTTP proxy in front of dynalite that injects DynamoDB faults on the wire, so the real SDK
 * client and `DynamoTokenStore` see exactly what they would see from DynamoDB: throttling errors in
 * the JSON 1.0 protocol, or connections reset without an answer.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/** Backoff between the SDK's attempts in these rows: short and fixed. */
export const RETRY_BACKOFF_MS = 10;

/**
 * The SDK's standard retry rules (throttling, transient and server errors, up to `maxAttempts`) with a
 * fixed backoff. The SDK's own backoff for throttling is random, up to 1 s per retry: a row whose three
 * store calls each retry once would answer within the caller's 2 s budget or not, by a roll of the dice.
 */
export function fixedBackoffRetry(maxAttempts: number): RetryStrategyV2 {
  const token = (retries: number): RetryToken => ({
    getRetryCount: () => retries,
    getRetryDelay: () => RETRY_BACKOFF_MS,
  });
  const retryable = (error: RetryErrorInfo): boolean => error.errorType !== 'CLIENT_ERROR';
  return {
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous, error) => {
      const retries = previous.getRetryCount() + 1;
      if (!retryable(error) || retries >= maxAttempts) throw new Error('no retry left');
      return token(retries);
    },
    recordSuccess: () => {},
  };
}

/** Throttling error types DynamoDB answers with (HTTP 400, `__type` in the body). */
export type ThrottleType = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

const THROTTLE_BODIES: Record<ThrottleType, { __type: string; message: string }> = {
  ProvisionedThroughputExceededException: {
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
  ThrottlingException: {
    __type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
};

export interface DynamoFaultProxy {
  readonly endpoint: string;
  /** The next `times` requests (any operation) are answered with a throttling error. */
  throttleNext(times: number, type?: ThrottleType): void;
  /** While down, every request's socket is destroyed without an answer. */
  setDown(down: boolean): void;
  /** Requests received, faulted ones included. */
  readonly requests: number;
  /** Requests answered with a throttling error. */
  readonly throttled: number;
  /** A real DynamoDB client pointed at the proxy; destroyed by `stop()`. */
  client(config?: DynamoDBClientConfig): DynamoDBClient;
  stop(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 (ephemeral port), forwarding to `target` (dynalite's endpoint). */
export async function startDynamoFaultProxy(target: string): Promise<DynamoFaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const clients: DynamoDBClient[] = [];
  let throttle: { remaining: number; type: ThrottleType } | undefined;
  let down = false;
  let requests = 0;
  let throttled = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const upstreamReq = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    upstreamReq.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests += 1;
      if (down) {
        req.socket.destroy();
        return;
      }
      if (throttle && throttle.remaining > 0) {
        throttle.remaining -= 1;
        throttled += 1;
        const payload = JSON.stringify(THROTTLE_BODIES[throttle.type]);
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(payload);
        return;
      }
      forward(req, res, Buffer.concat(chunks));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    throttleNext(times, type = 'ProvisionedThroughputExceededException') {
      throttle = { remaining: times, type };
    },
    setDown(value) {
      down = value;
    },
    get requests() {
      return requests;
    },
    get throttled() {
      return throttled;
    },
    client(config = {}) {
      const client = new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
        ...config,
        retryStrategy: fixedBackoffRetry(typeof config.maxAttempts === 'number' ? config.maxAttempts : 1),
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
