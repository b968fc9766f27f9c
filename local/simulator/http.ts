/**
 * The simulator's HTTP plumbing: Marketo-shaped JSON answers, request bodies, and the timers and held
 * responses `stop()` must end at once.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY_BYTES = 64 * 1024;

/** A Marketo `requestId` (`<4 hex>#<12 hex>`). */
export const requestId = (): string => `${randomBytes(2).toString('hex')}#${randomBytes(6).toString('hex')}`;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
    })
    .end(text);
}

/** Marketo REST errors are HTTP 200 with `success:false`. */
export function sendRestError(res: ServerResponse, code: string, message: string): void {
  sendJson(res, 200, { requestId: requestId(), success: false, errors: [{ code, message }] });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // Discard: only headers and the query string matter here.
  }
}

/** Timers and held responses of answers in progress, so `stop()` ends them all at once. */
export class PendingWork {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #held = new Set<ServerResponse>();

  /** Resolves after `ms` (real timers), unless the simulator stops first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  /** Runs `action` after `ms`, unless the simulator stops first. */
  later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  /** Never answers `res`; `clear()` destroys it. */
  hold(res: ServerResponse): void {
    this.#held.add(res);
    res.on('close', () => this.#held.delete(res));
  }

  /** Cancels every timer and destroys every held response. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const res of this.#held) res.destroy();
    this.#held.clear();
  }
}
