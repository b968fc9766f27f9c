/**
 * Example consumer: a scheduled Lambda (EventBridge) that pages Marketo leads through the token vendor.
 * It never sees a client secret: tokens come from the vendor, and `marketoFetch` sends them as
 * `Authorization: Bearer` and recovers from 601/602 by itself.
 *
 * Environment of the deployed function: `TOKEN_VENDOR_ENDPOINT` (API URL with stage), `AWS_REGION`
 * (set by Lambda), `MARKETO_CLIENT_ID`, `MARKETO_REST_URL` (`https://123-ABC-456.mktorest.com`).
 * Its role needs `execute-api:Invoke` on `GET /tokens/<clientId>` and `POST /tokens/<clientId>/invalidate`
 * (the construct's `grantVend(role, clientId)`).
 */
// In this repository `#client` (package.json "imports") is what a user writes as 'marketo-token-vendor/client'.
import { createTokenClient, type TokenClient } from '#client';

/** One page of leads as Marketo returns them. */
export interface Lead {
  readonly id: number;
  readonly email?: string;
  readonly firstName?: string;
  readonly lastName?: string;
}

/** Optional filter from the schedule's input (real Marketo needs one for `leads.json`). */
export interface SyncJobEvent {
  readonly filterType?: string;
  readonly filterValues?: readonly string[];
}

export interface SyncJobDeps {
  readonly tokens: TokenClient;
  readonly clientId: string;
  /** Marketo REST base URL, without `/rest`. */
  readonly restUrl: string;
  /** Leads per page (Marketo allows up to 300). @default 300 */
  readonly batchSize?: number;
  /** Safety stop for one run. @default 1000 */
  readonly maxPages?: number;
  /** Where a page of leads goes (a warehouse, a queue…). @default - counted only */
  readonly sink?: (leads: readonly Lead[]) => Promise<void>;
}

export interface SyncJobResult {
  readonly pages: number;
  readonly leads: number;
}

interface LeadsPage {
  readonly success?: boolean;
  readonly result?: Lead[];
  readonly moreResult?: boolean;
  readonly nextPageToken?: string;
  readonly errors?: ReadonlyArray<{ readonly code?: string; readonly message?: string }>;
}

/** A Marketo error other than 601/602 (those `marketoFetch` already handled), e.g. 606 rate limit. */
export class MarketoSyncError extends Error {
  override readonly name = 'MarketoSyncError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`Marketo error ${code}: ${message}`);
  }
}

/** Builds the job around injected dependencies (tests run it against local mode and the simulator). */
export function createSyncJob(deps: SyncJobDeps) {
  const batchSize = deps.batchSize ?? 300;
  const maxPages = deps.maxPages ?? 1000;
  return async (event: SyncJobEvent = {}): Promise<SyncJobResult> => {
    let pages = 0;
    let leads = 0;
    let nextPageToken: string | undefined;
    do {
      const url = new URL('/rest/v1/leads.json', deps.restUrl);
      url.searchParams.set('batchSize', String(batchSize));
      if (event.filterType) {
        url.searchParams.set('filterType', event.filterType);
        url.searchParams.set('filterValues', (event.filterValues ?? []).join(','));
      }
      if (nextPageToken) url.searchParams.set('nextPageToken', nextPageToken);
      // One page is one request: the library's default validity covers it, and a 601/602 is retried once.
      const response = await deps.tokens.marketoFetch(deps.clientId, url);
      if (!response.ok) throw new MarketoSyncError(String(response.status), 'HTTP error from Marketo');
      const page = (await response.json()) as LeadsPage;
      if (page.success !== true) {
        const first = page.errors?.[0];
        throw new MarketoSyncError(first?.code ?? 'unknown', first?.message ?? 'request failed');
      }
      const result = page.result ?? [];
      await deps.sink?.(result);
      pages += 1;
      leads += result.length;
      nextPageToken = page.moreResult ? page.nextPageToken : undefined;
    } while (nextPageToken && pages < maxPages);
    return { pages, leads };
  };
}

let tokens: TokenClient | undefined;
let job: ReturnType<typeof createSyncJob> | undefined;

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};

/** Lambda entry: the token client is built once per execution environment and keeps its cache warm. */
export const handler = async (event: SyncJobEvent = {}): Promise<SyncJobResult> => {
  tokens ??= createTokenClient({
    endpoint: required('TOKEN_VENDOR_ENDPOINT'),
    region: required('AWS_REGION'),
  });
  job ??= createSyncJob({
    tokens,
    clientId: required('MARKETO_CLIENT_ID'),
    restUrl: required('MARKETO_REST_URL'),
  });
  try {
    const result = await job(event);
    console.log(JSON.stringify({ message: 'lead sync finished', ...result }));
    return result;
  } finally {
    // The last permit's release would otherwise wait for the next call (Lambda freezes the environment):
    // give the instance's concurrency slot back now.
    await tokens.close();
  }
};
