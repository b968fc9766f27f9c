import {
  type FilterNameStringType,
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretListEntry,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DEFAULT_SECRET_PREFIX, isValidClientId, isValidInstance } from '../contract/index.js';
import { parseCredentialsRecord } from '../core/credentials-record.js';
import {
  CredentialsMisconfiguredError,
  CredentialsUnavailableError,
  isTokenVendorError,
  UnknownClientError,
} from '../core/errors.js';
import type { ClientCredentials, CredentialsSource, RegisteredClient } from '../core/ports.js';

/** Default secret name prefix: one secret per client, `<prefix><clientId>`. */
/** Tag naming the Marketo instance a client belongs to, so pools can be listed without reading secrets. */
export const INSTANCE_TAG = 'marketo-token-vendor:instance';

/** Options for {@link SecretsManagerCredentials}. */
export interface SecretsManagerCredentialsOptions {
  readonly client: SecretsManagerClient;
  /** @default DEFAULT_SECRET_PREFIX (contract) */
  readonly prefix?: string;
  /** How long a parsed secret is reused before it is read again. @default 60_000 */
  readonly cacheTtlMs?: number;
  /**
   * How long "no secret for this client id" is remembered, so a flood of requests for unregistered ids
   * costs one Secrets Manager call per id and period, not one per request. @default 30_000
   */
  readonly unknownClientTtlMs?: number;
  /** Epoch ms, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

/** Most unregistered client ids remembered at once (oldest forgotten first). */
const MAX_REMEMBERED_UNKNOWN = 10_000;

interface CacheEntry {
  value?: ClientCredentials;
  /** When the read that produced `value` started; an older read finishing late must not overwrite it. */
  fetchedAt: number;
  inFlight?: Promise<ClientCredentials>;
  /** Whether the in-flight read was started to bypass the cache (so it is fresh enough for bypassers). */
  inFlightBypass?: boolean;
}

/**
 * `CredentialsSource` on Secrets Manager. Parsed secrets are cached in memory for `cacheTtlMs`;
 * concurrent reads of one client share one request; `bypassCache` (after Identity rejected the
 * credentials) re-reads in case the secret was rotated. Errors never carry secret material.
 */
export class SecretsManagerCredentials implements CredentialsSource {
  private readonly client: SecretsManagerClient;
  private readonly prefix: string;
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly unknownClientTtlMs: number;
  /** Client ids Secrets Manager had no secret for, with when that was learnt (insertion order = age). */
  private readonly unknown = new Map<string, { readonly at: number; readonly error: UnknownClientError }>();

  constructor(options: SecretsManagerCredentialsOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_SECRET_PREFIX;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.unknownClientTtlMs = options.unknownClientTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  get(clientId: string, options: { readonly bypassCache?: boolean } = {}): Promise<ClientCredentials> {
    const bypass = options.bypassCache === true;
    const known = this.unknown.get(clientId);
    if (known && !bypass && this.now() - known.at < this.unknownClientTtlMs) {
      return Promise.reject(new UnknownClientError(known.error.message));
    }
    const entry = this.cache.get(clientId);
    if (entry?.inFlight && (!bypass || entry.inFlightBypass)) return entry.inFlight;
    if (!bypass && entry?.value && this.now() - entry.fetchedAt < this.cacheTtlMs) {
      return Promise.resolve(entry.value);
    }
    const current: CacheEntry = entry ?? { fetchedAt: Number.NEGATIVE_INFINITY };
    const startedAt = this.now();
    const read = this.read(clientId).then(
      (value) => {
        if (startedAt >= current.fetchedAt) {
          current.value = value;
          current.fetchedAt = startedAt;
        }
        this.unknown.delete(clientId);
        return value;
      },
      (error: unknown) => {
        // A client whose secret is gone or broken must not keep being served from cache.
        if (error instanceof UnknownClientError || error instanceof CredentialsMisconfiguredError) {
          this.cache.delete(clientId);
        }
        if (error instanceof UnknownClientError) this.rememberUnknown(clientId, error);
        throw error;
      },
    );
    const settled = read.finally(() => {
      if (current.inFlight === settled) {
        current.inFlight = undefined;
        current.inFlightBypass = undefined;
      }
    });
    current.inFlight = settled;
    current.inFlightBypass = bypass;
    this.cache.set(clientId, current);
    return settled;
  }

  private rememberUnknown(clientId: string, error: UnknownClientError): void {
    this.unknown.delete(clientId);
    this.unknown.set(clientId, { at: this.now(), error });
    if (this.unknown.size > MAX_REMEMBERED_UNKNOWN) {
      const oldest = this.unknown.keys().next().value;
      if (oldest !== undefined) this.unknown.delete(oldest);
    }
  }

  list(): Promise<RegisteredClient[]> {
    return this.listWhere([{ Key: 'name', Values: [this.prefix] }]);
  }

  /**
   * One pool's members: ListSecrets filtered on the instance tag as well, so the refresher finds a pool
   * without listing every client. The service matches tag keys and values as prefixes, each on any tag:
   * only an exact instance tag counts.
   */
  async listInstance(instance: string): Promise<RegisteredClient[]> {
    const members = await this.listWhere([
      { Key: 'name', Values: [this.prefix] },
      { Key: 'tag-key', Values: [INSTANCE_TAG] },
      { Key: 'tag-value', Values: [instance] },
    ]);
    return members.filter((member) => member.instance === instance);
  }

  private async listWhere(filters: Array<{ Key: FilterNameStringType; Values: string[] }>) {
    const clients: RegisteredClient[] = [];
    let nextToken: string | undefined;
    do {
      let page: { SecretList?: SecretListEntry[]; NextToken?: string };
      try {
        page = await this.client.send(
          new ListSecretsCommand({
            Filters: filters,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
      } catch (error) {
        throw unavailable(error, `listing secrets under ${this.prefix}`);
      }
      for (const secret of page.SecretList ?? []) {
        const client = this.toRegisteredClient(secret);
        if (client) clients.push(client);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return clients.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  private toRegisteredClient(secret: SecretListEntry): RegisteredClient | undefined {
    // The service's name filter is already a prefix match; re-checking keeps a loose filter from leaking names in.
    if (!secret.Name?.startsWith(this.prefix) || secret.DeletedDate !== undefined) return undefined;
    const clientId = secret.Name.slice(this.prefix.length);
    // Listing skips odd names instead of failing.
    if (!isValidClientId(clientId)) return undefined;
    const instance = secret.Tags?.find((tag) => tag.Key === INSTANCE_TAG)?.Value;
    const changedAt = secret.LastChangedDate?.getTime();
    return {
      clientId,
      ...(instance && isValidInstance(instance) ? { instance } : {}),
      ...(changedAt === undefined ? {} : { changedAt }),
    };
  }

  private async read(clientId: string): Promise<ClientCredentials> {
    const secretName = `${this.prefix}${clientId}`;
    let secretString: string | undefined;
    let changedAt: number | undefined;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: secretName }));
      secretString = result.SecretString;
      // A new value is a new version: its creation is when the credentials last changed.
      changedAt = result.CreatedDate?.getTime();
    } catch (error) {
      const name = errorName(error);
      if (name === 'ResourceNotFoundException') {
        throw new UnknownClientError(
          `no credentials registered for client "${clientId}" (secret ${secretName} not found)`,
        );
      }
      if (name === 'InvalidRequestException' && /deletion|deleted/i.test(errorMessage(error))) {
        throw new UnknownClientError(
          `no credentials registered for client "${clientId}" (secret ${secretName} is scheduled for deletion)`,
        );
      }
      throw unavailable(error, `reading secret ${secretName}`);
    }
    if (secretString === undefined) {
      throw new CredentialsMisconfiguredError(
        `secret ${secretName}: has no SecretString (binary secrets are not supported)`,
      );
    }
    const record = parseCredentialsRecord(secretString, clientId, `secret ${secretName}`);
    return changedAt === undefined ? record : { ...record, changedAt };
  }
}

const errorName = (error: unknown): string =>
  error instanceof Error ? error.name : typeof error === 'string' ? 'Error' : 'UnknownError';

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : '');

/**
 * Maps any failure to read the source to `CredentialsUnavailableError`, naming only the SDK error name
 * (throttling, network, AccessDenied, KMS DecryptionFailure ...), never the response or secret.
 */
function unavailable(error: unknown, what: string): Error {
  if (isTokenVendorError(error)) return error;
  const name = errorName(error);
  const throttled = /Throttl|TooManyRequests|RequestLimitExceeded/.test(name);
  return new CredentialsUnavailableError(`Secrets Manager failed ${what}: ${name}`, {
    cause: error,
    retryAfterSeconds: throttled ? 2 : 1,
  });
}
