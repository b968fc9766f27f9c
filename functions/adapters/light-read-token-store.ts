import type { LastError, RefreshedOutcome, TokenRecord, TokenStore } from '../core/ports.js';
import type { Item } from './dynamo-attributes.js';
import { itemToRecord } from './token-item.js';

/** What {@link LightReadTokenStore} reads items with (a signed GetItem in Lambda). */
export interface ItemReader {
  get(key: Item, consistent: boolean): Promise<Item | undefined>;
}

/**
 * The token table for the vend function: reads (the hit path's only store call) through a light `ItemReader`,
 * every write (the lease, a refreshed token, the index) through the full store, loaded on the first write, so
 * a cold start that only serves a stored token never loads the SDK's DynamoDB client. Without a reader, reads
 * go through the full store too (loaded on the first read).
 */
export class LightReadTokenStore implements TokenStore {
  private writer?: Promise<TokenStore>;

  constructor(
    private readonly reader: ItemReader | undefined,
    private readonly loadWriter: () => Promise<TokenStore>,
  ) {}

  private writes(): Promise<TokenStore> {
    this.writer ??= this.loadWriter().catch((error: unknown) => {
      this.writer = undefined;
      throw error;
    });
    return this.writer;
  }

  async get(clientId: string, options?: { readonly consistent?: boolean }): Promise<TokenRecord | undefined> {
    if (!this.reader) return (await this.writes()).get(clientId, options);
    const item = await this.reader.get({ clientId: { S: clientId } }, options?.consistent ?? true);
    return item === undefined ? undefined : itemToRecord(item);
  }

  async acquireLease(
    clientId: string,
    expectedVersion: number | undefined,
    lease: { readonly owner: string; readonly leaseUntil: number },
    expireItemAtSeconds: number,
  ): Promise<TokenRecord | undefined> {
    return (await this.writes()).acquireLease(clientId, expectedVersion, lease, expireItemAtSeconds);
  }

  async completeLease(
    clientId: string,
    owner: string,
    outcome: RefreshedOutcome | { readonly error: LastError },
    expireItemAtSeconds: number,
  ): Promise<boolean> {
    return (await this.writes()).completeLease(clientId, owner, outcome, expireItemAtSeconds);
  }

  async scheduleRefresh(clientId: string, refreshAt: number | undefined, expireItemAtSeconds: number) {
    return (await this.writes()).scheduleRefresh(clientId, refreshAt, expireItemAtSeconds);
  }

  async delete(clientId: string): Promise<void> {
    return (await this.writes()).delete(clientId);
  }

  async *list(): AsyncGenerator<TokenRecord> {
    yield* (await this.writes()).list();
  }
}
