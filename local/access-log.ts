/**
 * The local API's access log: one entry per request, refused ones included, and per refusal Node's HTTP
 * parser makes before a request exists. Never contains a token or a secret.
 */

/** One line of the access log. */
export interface AccessLogEntry {
  /** The method as received (`-` when the parser refused the request line). */
  readonly method: string;
  /** The path as received (no query), at most 200 characters (`-` when the parser refused the request line). */
  readonly path: string;
  /** The status answered; 499 when the client closed the connection before its request was complete. */
  readonly status: number;
  readonly ms: number;
  /** The caller's principal ARN, when the signature checked out. */
  readonly principal?: string;
  /** What happened, when the status alone does not say it (a parser refusal, a client gone mid-body). */
  readonly detail?: string;
}

/** The path of a request target as the access log shows it: no query or fragment, at most 200 characters. */
export const loggedPathOf = (rawTarget: string): string => rawTarget.split(/[?#]/, 1)[0]?.slice(0, 200) ?? '';

/** A request whose client closed the connection before it was complete: nothing to answer, one log line. */
export const CLIENT_CLOSED = {
  status: 499,
  detail: 'client closed the connection before the request was complete',
} as const;
