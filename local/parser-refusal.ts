/**
 * Requests Node's HTTP parser rejects before any handler runs (chunked together with Content-Length, a
 * duplicate or `+` Content-Length, a lowercase method, control characters or raw UTF-8 in the target, an
 * HTTP/2 preface) and `Expect` headers other than `100-continue`. Node answers those with an empty,
 * non-JSON response and nothing reaches the access log; here they get the gateway's JSON error shape
 * where the connection can still carry an answer, and one access-log line each.
 */
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type AccessLogEntry, CLIENT_CLOSED, loggedPathOf } from './access-log.js';
import { refusalAnswer } from './gateway-refusal.js';

/** What the parser's error says, by its code: llhttp's reasons are fixed strings, never request bytes. */
interface ParserError extends Error {
  readonly code?: string;
  readonly reason?: string;
}

/** Status and message of a parser refusal. */
export function parserRefusalOf(error: ParserError): { readonly status: number; readonly message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'Request header fields too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'Request not complete within the request timeout' };
    case 'HPE_PAUSED_H2_UPGRADE':
      return { status: 400, message: 'HTTP/2 is not served here: use HTTP/1.1' };
    default:
      return {
        status: 400,
        message: `Request is not valid HTTP/1.1${error.reason ? `: ${error.reason}` : ''}`,
      };
  }
}

/** The whole HTTP/1.1 answer to a refusal written straight onto the socket (no response object exists). */
function rawAnswer(status: number, message: string): string {
  const answer = refusalAnswer({ kind: 'DEFAULT_4XX', status, message });
  const headers = {
    ...answer.headers,
    'content-length': String(Buffer.byteLength(answer.body)),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${answer.body}`;
}

/** Answers and logs what the parser of `server` rejects (its 'clientError' and 'checkExpectation' events). */
export function answerParserRefusals(server: Server, onRequest?: (entry: AccessLogEntry) => void): void {
  server.on('clientError', (error: ParserError, socket: Duplex) => {
    // The client went away (or is gone already): no request to refuse, nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    // A request (or its response) is under way on this connection: its handler answers and logs it.
    const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage != null;
    if (error.code === 'HPE_INVALID_EOF_STATE') {
      // The client closed the connection mid-request: nothing was refused, nobody is left to answer.
      socket.destroy();
      if (!busy) onRequest?.({ method: '-', path: '-', ms: 0, ...CLIENT_CLOSED });
      return;
    }
    const { status, message } = parserRefusalOf(error);
    if (socket.writable && !busy) socket.end(rawAnswer(status, message));
    else socket.destroy();
    onRequest?.({
      method: '-',
      path: '-',
      status,
      ms: 0,
      detail: `${error.code ?? 'parse error'}: ${message}`,
    });
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const answer = refusalAnswer({
      kind: 'DEFAULT_4XX',
      status: 417,
      message: 'Expectation Failed: only "Expect: 100-continue" is supported',
    });
    res.writeHead(417, {
      ...answer.headers,
      'content-length': Buffer.byteLength(answer.body),
      connection: 'close',
    });
    res.end(answer.body);
    onRequest?.({
      method: (req.method ?? '-').toUpperCase(),
      path: loggedPathOf(req.url ?? ''),
      status: 417,
      ms: 0,
      detail: 'unsupported Expect header',
    });
  });
}
