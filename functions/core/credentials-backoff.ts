/**
 * When to leave a client alone whose credentials Marketo Identity rejected (issue 22). Asking again cannot
 * succeed until someone fixes its secret, and each try costs two Identity calls (the cached secret, then a
 * fresh read of it) against the instance's shared limits. A pure decision any sweep can call.
 */
import type { LastError } from './ports.js';

export interface BackoffInput {
  /** The client's last refresh error, from its store item. */
  readonly lastError?: LastError;
  /** When its secret last changed (epoch ms), if the credentials source knows. */
  readonly secretChangedAt?: number;
  readonly now: number;
  readonly cooldownMs: number;
}

/**
 * `{ until }` (epoch ms) while the client should not be tried: its last error is `CredentialsRejected`, its
 * secret has not changed since, and the cooldown after the rejection has not passed. Otherwise undefined.
 */
export function rejectedCredentialsBackoff(input: BackoffInput): { readonly until: number } | undefined {
  const { lastError, secretChangedAt, now, cooldownMs } = input;
  if (lastError?.code !== 'CredentialsRejected') return undefined;
  if (secretChangedAt !== undefined && secretChangedAt > lastError.at) return undefined;
  const until = lastError.at + cooldownMs;
  return now < until ? { until } : undefined;
}
