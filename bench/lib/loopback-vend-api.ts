/**
 * One vend "Lambda" of a benchmark worker process behind a loopback HTTP API: the token route answered with
 * a fixed token (Identity is not what these benchmarks measure), every other route dispatched by the vend
 * handler's own dispatcher (`dispatchApiEvent`) and its error answers, as the caller `caller`. No SigV4:
 * the worker's clients sign, nobody checks (local mode's gateway is measured elsewhere).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { matchRoute } from '../../functions/contract/index.js';
import { errorResponse } from '../../functions/http/error-response.js';
import { type ApiDeps, dispatchApiEvent } from '../../functions/http/router.js';

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export interface LoopbackVendApi {
  /** `http://127.0.0.1:<port>/prod` */
  readonly endpoint: string;
  close(): void;
}

/** Listens on 127.0.0.1 (any free port). */
export async function startLoopbackVendApi(options: {
  readonly api: ApiDeps;
  /** The token every token request gets. */
  readonly accessToken: string;
  /** Who asks (the IAM caller of the audit line, and the holder of permits and slots). */
  readonly caller: string;
  readonly onError?: (error: unknown) => void;
}): Promise<LoopbackVendApi> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/prod/, '');
      const matched = matchRoute(req.method ?? 'GET', path);
      if (matched?.route.kind === 'token') {
        const answer = {
          clientId: matched.name,
          accessToken: options.accessToken,
          tokenType: 'bearer',
          expiresAt: new Date(Date.now() + 3_000_000).toISOString(),
          expiresIn: 3000,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        return;
      }
      if (!matched) {
        res.writeHead(404).end();
        return;
      }
      const event = {
        httpMethod: matched.route.method,
        resource: matched.route.resource,
        path,
        pathParameters: { [matched.route.pathParameter]: matched.name },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEvent;
      const response = await dispatchApiEvent(event, options.api, options.caller).catch(errorResponse);
      res.writeHead(response.statusCode, response.headers as Record<string, string>).end(response.body);
    })().catch((error: unknown) => {
      options.onError?.(error);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/prod`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
