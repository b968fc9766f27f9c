/**
 * One DynamoDB `GetItem` over node:https, signed with SigV4 by `aws4` (the signer `@aws-lite/client` is built
 * on): the vend function's hit path reads its token without loading the SDK's DynamoDB client, whose import
 * and first request were most of a cold start. Measured for that one call against the SDK, `@aws-lite/client`,
 * `aws4fetch` and the SDK's own `@smithy/signature-v4` (docs/benchmarks.md §4): this was the cheapest, and the
 * SDK's signer pulled large shared chunks of `@smithy/core` into a code-split start-up. Everything else the
 * vendor does with DynamoDB (conditional writes, their retries) stays on the SDK.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import aws4 from 'aws4';
import type { Item } from './dynamo-attributes.js';

/** Static credentials, as Lambda puts its role's in the environment. */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Options for {@link SignedGetItem}. */
export interface SignedGetItemOptions {
  readonly tableName: string;
  readonly region: string;
  readonly credentials: StaticCredentials;
  /** @default `https://dynamodb.<region>.amazonaws.com` */
  readonly endpoint?: string;
  /** @default 1_000, as the vend path's SDK clients */
  readonly connectionTimeoutMs?: number;
  /** @default 3_000, as the vend path's SDK clients */
  readonly requestTimeoutMs?: number;
  /** Attempts of one read, as the SDK's `maxAttempts`. @default 2 */
  readonly maxAttempts?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** DynamoDB's answers worth another attempt, as the SDK's standard retry mode judges them. */
const RETRYABLE =
  /ProvisionedThroughputExceeded|Throttl|RequestLimitExceeded|InternalServerError|ServiceUnavailable/;

/** An error named as the SDK would name it (the service's `__type`), never quoting the response. */
const serviceError = (name: string, message: string): Error => {
  const error = new Error(`DynamoDB GetItem: ${message}`);
  error.name = name;
  return error;
};

/** The credentials Lambda gives a function in its environment, if all are there. */
export function environmentCredentials(
  env: Readonly<Record<string, string | undefined>> = process.env,
): StaticCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** `GetItem` on one table: signed, with the vend path's timeouts and one retry. */
export class SignedGetItem {
  private readonly endpoint: URL;
  private readonly agent: HttpAgent;
  private readonly maxAttempts: number;
  private readonly random: () => number;

  constructor(private readonly options: SignedGetItemOptions) {
    this.endpoint = new URL(options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com`);
    const https = this.endpoint.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.maxAttempts = options.maxAttempts ?? 2;
    this.random = options.random ?? Math.random;
  }

  /** The item under `key`, or `undefined` when there is none. */
  async get(key: Item, consistent: boolean): Promise<Item | undefined> {
    const body = JSON.stringify({ TableName: this.options.tableName, Key: key, ConsistentRead: consistent });
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.once(body);
      } catch (error) {
        const name = error instanceof Error ? error.name : '';
        const retryable = RETRYABLE.test(name) || name === 'TimeoutError' || name === 'NetworkError';
        if (!retryable || attempt >= this.maxAttempts) throw error;
        // The SDK's standard backoff: a random delay below 100 ms × 2^attempt.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(this.random() * 100 * 2 ** attempt)));
      }
    }
  }

  private async once(body: string): Promise<Item | undefined> {
    const { endpoint } = this;
    const signed = aws4.sign(
      {
        service: 'dynamodb',
        region: this.options.region,
        method: 'POST',
        host: endpoint.host,
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.GetItem',
        },
        body,
      },
      this.options.credentials,
    );
    const { status, text } = await this.send(signed.headers as Record<string, string>, body);
    let payload: { Item?: Item; __type?: string };
    try {
      payload = JSON.parse(text) as { Item?: Item; __type?: string };
    } catch {
      throw serviceError(status >= 500 ? 'InternalServerError' : 'SerializationException', `HTTP ${status}`);
    }
    if (status !== 200) {
      const type = (payload.__type ?? `HTTP${status}`).split('#').pop() ?? 'UnknownError';
      throw serviceError(type, `${type} (HTTP ${status})`);
    }
    return payload.Item;
  }

  private send(headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
    const { endpoint } = this;
    const connectionTimeoutMs = this.options.connectionTimeoutMs ?? 1_000;
    const requestTimeoutMs = this.options.requestTimeoutMs ?? 3_000;
    return new Promise((resolve, reject) => {
      const request = (endpoint.protocol === 'https:' ? httpsRequest : httpRequest)(
        {
          method: 'POST',
          hostname: endpoint.hostname,
          port: endpoint.port || undefined,
          path: '/',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: this.agent,
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(requestTimer);
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', (error) => {
            clearTimeout(requestTimer);
            reject(serviceError('NetworkError', error.name));
          });
        },
      );
      const fail = (name: string, message: string) => {
        clearTimeout(requestTimer);
        request.destroy();
        reject(serviceError(name, message));
      };
      const requestTimer = setTimeout(
        () => fail('TimeoutError', `no answer within ${requestTimeoutMs} ms`),
        requestTimeoutMs,
      );
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(
          () => fail('TimeoutError', `no connection within ${connectionTimeoutMs} ms`),
          connectionTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => fail('NetworkError', error.name));
      request.end(body);
    });
  }
}
