/**
 * Custom Services and the tokens Identity issues them, by Marketo's rule: the same token with its remaining
 * lifespan until it expires, a new one only after (and, in the edge window, the dead one with
 * `expires_in: 0`).
 */
import { randomUUID } from 'node:crypto';
import {
  ALL_MARKETO_PERMISSIONS,
  type MarketoPermission,
} from '../../functions/contract/marketo-permissions.js';

/** A Custom Service known to the simulator. */
export interface SimulatorClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The API-only user's email, returned as `scope`. @default `<clientId>@api-user.marketo-simulator.test` */
  readonly scope?: string;
  /**
   * The role of that API-only user: Marketo's Access API permissions (`Read-Only Lead`, `Approve Assets`…).
   * REST paths outside it answer 603. Workspaces and partitions are not simulated.
   * @default every permission (ALL_MARKETO_PERMISSIONS)
   */
  readonly permissions?: readonly MarketoPermission[];
}

const KNOWN_PERMISSIONS: ReadonlySet<string> = new Set(ALL_MARKETO_PERMISSIONS);

/** Refuses a role with a misspelt permission: it would deny silently forever. */
function assertKnownPermissions(client: SimulatorClient): void {
  for (const permission of client.permissions ?? []) {
    if (!KNOWN_PERMISSIONS.has(permission)) {
      throw new Error(
        `unknown Marketo permission "${permission}" in the role of simulator client "${client.clientId}"`,
      );
    }
  }
}

export interface TokenState {
  readonly accessToken: string;
  readonly clientId: string;
  readonly scope: string;
  readonly expiresAt: number;
  revoked: boolean;
}

/** Settings of {@link TokenIssuer}. */
export interface TokenIssuerOptions {
  readonly now: () => number;
  readonly lifespanMs: number;
  readonly expiryEdgeMs: number;
  /** Suffix of issued tokens (`<uuid>:<pod>`). */
  readonly pod: string;
}

/** The registered clients and every token issued to them. */
export class TokenIssuer {
  readonly #clients = new Map<string, SimulatorClient>();
  /** Current token per client id. */
  readonly #current = new Map<string, TokenState>();
  /** Every token ever issued, by value (REST validation, leak scans). */
  readonly #issued = new Map<string, TokenState>();
  readonly #options: TokenIssuerOptions;

  constructor(options: TokenIssuerOptions) {
    this.#options = options;
  }

  /** Registers (or replaces) a Custom Service. */
  addClient(client: SimulatorClient): void {
    assertKnownPermissions(client);
    this.#clients.set(client.clientId, { ...client });
  }

  /** Replaces the client's role; live tokens follow it at once (the role is looked up on every call). */
  setClientPermissions(clientId: string, permissions: readonly MarketoPermission[] | undefined): void {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`unknown simulator client "${clientId}"`);
    const { permissions: _old, ...rest } = client;
    const next = permissions === undefined ? rest : { ...rest, permissions: [...permissions] };
    assertKnownPermissions(next);
    this.#clients.set(clientId, next);
  }

  removeClient(clientId: string): void {
    this.#clients.delete(clientId);
    this.#current.delete(clientId);
  }

  setClientSecret(clientId: string, clientSecret: string): void {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`unknown simulator client "${clientId}"`);
    this.#clients.set(clientId, { ...client, clientSecret });
  }

  client(clientId: string | undefined): SimulatorClient | undefined {
    return clientId === undefined ? undefined : this.#clients.get(clientId);
  }

  currentToken(clientId: string): { readonly accessToken: string; readonly expiresAt: number } | undefined {
    const state = this.#current.get(clientId);
    return state ? { accessToken: state.accessToken, expiresAt: state.expiresAt } : undefined;
  }

  revokeToken(clientId: string): void {
    const state = this.#current.get(clientId);
    if (state) state.revoked = true;
    this.#current.delete(clientId);
  }

  /** What REST makes of a bearer token: usable, or Marketo's 601 (unknown, revoked) / 602 (expired). */
  check(accessToken: string): 'ok' | '601' | '602' {
    const state = this.#issued.get(accessToken);
    if (!state || state.revoked) return '601';
    if (this.#options.now() >= state.expiresAt) return '602';
    return 'ok';
  }

  /** The client a live token was issued to (its current registration: role changes apply at once). */
  clientOfToken(accessToken: string): SimulatorClient | undefined {
    const state = this.#issued.get(accessToken);
    return state === undefined ? undefined : this.#clients.get(state.clientId);
  }

  issuedTokens(): string[] {
    return [...this.#issued.keys()];
  }

  /**
   * Makes a token that expires at `expiresAt` the client's current one, as if Identity had issued it
   * `lifespanMs` earlier (benchmarks start a steady state with expiries spread over the hour).
   */
  seedToken(clientId: string, expiresAt: number): { readonly accessToken: string } {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`unknown simulator client "${clientId}"`);
    return { accessToken: this.#issue(client, expiresAt).accessToken };
  }

  /** A new token for `client`, now its current one. */
  #issue(client: SimulatorClient, expiresAt: number): TokenState {
    const state: TokenState = {
      accessToken: `${randomUUID()}:${this.#options.pod}`,
      clientId: client.clientId,
      scope: client.scope ?? `${client.clientId}@api-user.marketo-simulator.test`,
      expiresAt,
      revoked: false,
    };
    this.#current.set(client.clientId, state);
    this.#issued.set(state.accessToken, state);
    return state;
  }

  /** Marketo's rule: the same token until it expires, then (after the edge window) a new one. */
  tokenFor(client: SimulatorClient): { state: TokenState; expiresIn: number } {
    const { now: clock, lifespanMs, expiryEdgeMs } = this.#options;
    const now = clock();
    const current = this.#current.get(client.clientId);
    if (current && now < current.expiresAt) {
      return { state: current, expiresIn: Math.floor((current.expiresAt - now) / 1000) };
    }
    if (current && now < current.expiresAt + expiryEdgeMs) return { state: current, expiresIn: 0 };
    const state = this.#issue(client, now + lifespanMs);
    return { state, expiresIn: Math.floor(lifespanMs / 1000) };
  }

  /** The API user (`scope`) a token was issued to, for usage per user; undefined for a token never issued. */
  userOf(accessToken: string): string | undefined {
    return this.#issued.get(accessToken)?.scope;
  }
}
