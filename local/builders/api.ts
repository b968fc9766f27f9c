/**
 * Local mode's token API on 127.0.0.1: the port is claimed before anything else starts (so a taken port
 * costs nothing), and requests wait until the handler behind it is ready.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLogEntry } from '../access-log.js';
import { shareConnectionsFairly } from '../connection-slots.js';
import { closeServer, createLimitedServer, type HttpLimits, listenOnLoopback } from '../http-guard.js';
import { createLocalApiHandler, type VendHandler } from '../local-api.js';
import { answerParserRefusals } from '../parser-refusal.js';
import { ensurePolicyFile, LocalPolicy } from '../policy.js';
import { createSigV4Verifier } from '../sigv4-verifier.js';

/** What answers one request. */
export type RequestHandle = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The API's server, listening; requests are held until {@link ApiPort.serve} or dropped after {@link ApiPort.fail}. */
export interface ApiPort {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Starts answering: held requests and every later one go to `handle`. */
  serve(handle: RequestHandle): void;
  /** Start-up failed: held requests are cut, answering nothing. */
  fail(error: unknown): void;
  /** Stops listening; requests already running get `graceMs` before their connections are cut. */
  close(graceMs: number): Promise<void>;
  /** A request carried a valid signature: its connection keeps its slot under the fair cap. */
  vouch(req: IncomingMessage): void;
}

/**
 * Listens on 127.0.0.1:`port` (0: any free port); rejects with `PortInUseError` when it is taken. What Node's
 * parser refuses is answered and logged to `onRequest` (local/parser-refusal.ts), and the connection cap is
 * shared fairly (local/connection-slots.ts).
 */
export async function claimApiPort(
  limits: HttpLimits,
  port: number,
  onRequest?: (entry: AccessLogEntry) => void,
): Promise<ApiPort> {
  let resolveReady: (handle: RequestHandle) => void = () => undefined;
  let rejectReady: (error: unknown) => void = () => undefined;
  const ready = new Promise<RequestHandle>((resolveHandle, reject) => {
    resolveReady = resolveHandle;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  const server = createLimitedServer(limits, (req, res) => {
    // Start-up failed: the server is about to close; answer nothing.
    void ready.then((handle) => handle(req, res)).catch(() => res.destroy());
  });
  answerParserRefusals(server, onRequest);
  const slots = shareConnectionsFairly(server, limits.maxConnections);
  const bound = await listenOnLoopback(server, port, 'token API');
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    serve: resolveReady,
    fail: rejectReady,
    close: (graceMs) => closeServer(server, graceMs),
    vouch: (req) => slots.vouch(req),
  };
}

/** Options of {@link buildApiHandler}. */
export interface LocalApiWiring {
  readonly region: string;
  readonly port: number;
  readonly limits: HttpLimits;
  /** The local policy file (created with a generated key when missing). */
  readonly policyPath: string;
  readonly vend: VendHandler;
  readonly onRequest?: (entry: AccessLogEntry) => void;
  /** Told when a request carried a valid signature of a known key. */
  readonly onSigned?: (req: IncomingMessage) => void;
  readonly onEvent: (message: string) => void;
}

/** The request handler: SigV4 against the local policy's keys, the policy, then the vend handler. */
export async function buildApiHandler(wiring: LocalApiWiring): Promise<RequestHandle> {
  const { region, onEvent } = wiring;
  await ensurePolicyFile(wiring.policyPath);
  const policy = new LocalPolicy(wiring.policyPath, {
    onError: (error) =>
      onEvent(`${error.message}: every request is refused until the policy file is valid again`),
  });
  await policy.load();
  return createLocalApiHandler({
    region,
    port: wiring.port,
    limits: wiring.limits,
    verifier: createSigV4Verifier({ region, lookupKey: (accessKeyId) => policy.lookup(accessKeyId) }),
    policy,
    vend: (event, context) => wiring.vend(event, context),
    ...(wiring.onRequest ? { onRequest: wiring.onRequest } : {}),
    ...(wiring.onSigned ? { onSigned: wiring.onSigned } : {}),
    onEvent,
  });
}
