import { connect, type Socket } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** An HTTP answer read off a raw socket. Header names are lower-cased. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A connection to 127.0.0.1:`port`, once it is established (nothing sent yet). */
export const openSocket = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });

/**
 * Sends exactly `head` + `body` on a fresh loopback connection and reads the whole answer: no HTTP client
 * normalises the request target, the headers or the framing, which is what attack and parity tests need.
 */
export function rawExchange(port: number, head: string, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [headText = '', ...rest] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    // No half-close: Node aborts a request whose client ended its side (httpAllowHalfOpen is off).
    socket.write(head + body);
  });
}

/** SigV4 headers (service execute-api, us-east-1) for `method signedPath`, as the AWS SDK signer makes them. */
export async function signedHeaders(
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  request: {
    readonly method: string;
    /** Path and query the signature covers. */
    readonly signedPath: string;
    readonly host: string;
    readonly body?: string;
    /** Further headers, signed too. */
    readonly headers?: Readonly<Record<string, string>>;
  },
): Promise<Record<string, string>> {
  const [path = '/', rawQuery = ''] = request.signedPath.split('?', 2);
  const query: Record<string, string> = Object.fromEntries(new URLSearchParams(rawQuery));
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: request.host.split(':')[0] as string,
      path,
      query,
      headers: {
        host: request.host,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    }),
    { signingDate: new Date() },
  );
  return signed.headers;
}

/**
 * The head of a request whose signature covers `signedPath` (and `headers`) but whose request line says
 * `target`, ending with `connection: close` and the blank line.
 */
export async function signedHead(
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  request: {
    readonly method?: string;
    readonly signedPath: string;
    readonly target?: string;
    readonly host: string;
    readonly body?: string;
    readonly headers?: Readonly<Record<string, string>>;
  },
): Promise<string> {
  const method = request.method ?? 'GET';
  const headers = await signedHeaders(credentials, { ...request, method });
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  if (request.body !== undefined) lines.push(`content-length: ${Buffer.byteLength(request.body)}`);
  return `${method} ${request.target ?? request.signedPath} HTTP/1.1\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n`;
}
