import { randomUUID } from 'node:crypto';
import {
  CredentialsRejectedError,
  IdentityBadResponseError,
  IdentityUnavailableError,
  UnknownClientError,
} from '../functions/core/errors.js';
import type {
  ClientCredentials,
  Clock,
  CredentialsSource,
  IdentityClient,
  IdentityToken,
  RegisteredClient,
} from '../functions/core/ports.js';
import { registerSensitive } from './leak-scan.js';

/** `'timeout'`: no answer until the attempt's timeout runs out on the clock, as a slow Identity gives. */
type Fault =
  | 'unavailable'
  | 'timeout'
  | 'bad-response'
  | 'rejected'
  | { expiresIn: number }
  | { delayMs: number };

/**
 * Marketo Identity's token rules in process, on an injectable clock: the same token with its remaining
 * life until it expires, a new one only after. Counts calls per client; faults can be queued.
 */
export class FakeIdentity implements IdentityClient {
  readonly calls = new Map<string, number>();
  readonly issued: string[] = [];
  private readonly tokens = new Map<string, { accessToken: string; expiresAt: number }>();
  private readonly faults: Fault[] = [];
  private readonly secrets = new Map<string, string>();
  /** Latency of every call, on the clock. */
  latencyMs = 0;

  constructor(
    private readonly clock: Clock,
    clients: ReadonlyArray<{ clientId: string; clientSecret: string }> = [],
    private readonly lifespanSeconds = 3600,
  ) {
    for (const c of clients) this.secrets.set(c.clientId, c.clientSecret);
  }

  setSecret(clientId: string, clientSecret: string): void {
    this.secrets.set(clientId, clientSecret);
  }

  /** Queues faults for the next calls, in order. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** Invalidates the current token at once (as if revoked): the next call issues a new one. */
  revoke(clientId: string): void {
    this.tokens.delete(clientId);
  }

  /** The token Identity currently holds for the client, if any. */
  current(clientId: string): { accessToken: string; expiresAt: number } | undefined {
    return this.tokens.get(clientId);
  }

  callCount(clientId?: string): number {
    if (clientId !== undefined) return this.calls.get(clientId) ?? 0;
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  async fetchToken(
    credentials: ClientCredentials,
    options?: { readonly timeoutMs?: number },
  ): Promise<IdentityToken> {
    this.calls.set(credentials.clientId, this.callCount(credentials.clientId) + 1);
    if (this.latencyMs > 0) await this.clock.sleep(this.latencyMs);
    const fault = this.faults.shift();
    if (fault === 'unavailable') throw new IdentityUnavailableError('Identity answered HTTP 503');
    if (fault === 'timeout') {
      const timeoutMs = options?.timeoutMs ?? 0;
      await this.clock.sleep(timeoutMs);
      throw new IdentityUnavailableError(`Identity did not answer within ${timeoutMs} ms`);
    }
    if (fault === 'bad-response')
      throw new IdentityBadResponseError('Identity answered without access_token');
    if (fault === 'rejected') throw new CredentialsRejectedError('Identity rejected the client credentials');
    if (typeof fault === 'object' && 'delayMs' in fault) await this.clock.sleep(fault.delayMs);
    if (this.secrets.get(credentials.clientId) !== credentials.clientSecret) {
      throw new CredentialsRejectedError('Identity rejected the client credentials: Bad client credentials');
    }
    const now = this.clock.now();
    let token = this.tokens.get(credentials.clientId);
    if (!token || token.expiresAt <= now) {
      token = { accessToken: `${randomUUID()}:ab`, expiresAt: now + this.lifespanSeconds * 1000 };
      this.tokens.set(credentials.clientId, token);
      this.issued.push(token.accessToken);
      registerSensitive(token.accessToken);
    }
    const expiresInSeconds =
      typeof fault === 'object' && 'expiresIn' in fault
        ? fault.expiresIn
        : Math.floor((token.expiresAt - now) / 1000);
    return {
      accessToken: token.accessToken,
      tokenType: 'bearer',
      scope: 'apis@example.com',
      expiresInSeconds,
    };
  }
}

/** Credentials held in memory; counts reads so tests can see cache bypasses. */
export class MemoryCredentials implements CredentialsSource {
  readonly reads: Array<{ clientId: string; bypassCache: boolean }> = [];
  private readonly records = new Map<string, ClientCredentials>();
  /** Instance tags set apart from the records' own `instance` (a tag anyone with TagResource may change). */
  private readonly tags = new Map<string, string | undefined>();
  private readonly changedAt = new Map<string, number>();

  constructor(records: ReadonlyArray<ClientCredentials> = []) {
    for (const r of records) this.records.set(r.clientId, r);
  }

  /** Registers or replaces a client's credentials; `changedAt` is when its secret changed, as listed. */
  put(record: ClientCredentials, options: { readonly changedAt?: number } = {}): void {
    this.records.set(record.clientId, record);
    if (options.changedAt !== undefined) this.changedAt.set(record.clientId, options.changedAt);
  }

  /** Sets the client's instance tag, which `list()` reports, without touching its credentials (the value). */
  tag(clientId: string, instance: string | undefined): void {
    this.tags.set(clientId, instance);
  }

  /** Unregisters a client (its secret deleted). */
  remove(clientId: string): void {
    this.records.delete(clientId);
  }

  async get(clientId: string, options?: { readonly bypassCache?: boolean }): Promise<ClientCredentials> {
    this.reads.push({ clientId, bypassCache: options?.bypassCache === true });
    const record = this.records.get(clientId);
    if (!record) throw new UnknownClientError(`no credentials registered for client "${clientId}"`);
    const changedAt = this.changedAt.get(clientId);
    return changedAt === undefined ? record : { ...record, changedAt };
  }

  async list(): Promise<RegisteredClient[]> {
    return [...this.records.values()].map(({ clientId, instance: own }) => {
      const instance = this.tags.has(clientId) ? this.tags.get(clientId) : own;
      const changedAt = this.changedAt.get(clientId);
      return {
        clientId,
        ...(instance === undefined ? {} : { instance }),
        ...(changedAt === undefined ? {} : { changedAt }),
      };
    });
  }
}

/** A credentials record for tests, on an allowed Marketo host. */
export const testCredentials = (
  clientId: string,
  clientSecret = `secret-of-${clientId}-${randomUUID()}`,
) => ({
  clientId,
  clientSecret,
  identityUrl: 'https://123-ABC-456.mktorest.com/identity',
});
