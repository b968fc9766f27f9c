/**
 * Consumer library of the Marketo token vendor: SigV4-signed token requests with an in-memory cache,
 * `withToken` / `marketoFetch` that recover from Marketo 601/602 once, typed errors (a 603 names the
 * permission the role lacks), `bulkExport` (a whole Bulk Extract under a slot of the instance's queue), and
 * `useVendedTokens` for an existing node-marketo-rest client.
 */

export type { BulkKind, BulkUsage } from '../functions/contract/index.js';
export {
  ACCESS_DENIED_CODE,
  MarketoAccessDenied,
  type MarketoRequestLine,
} from './access-denied.js';
export type {
  BulkExportEvent,
  BulkExportOptions,
  BulkExportResult,
  BulkJobStatus,
} from './bulk-export.js';
export type { BulkSlotLease, BulkSlotOptions } from './bulk-slots.js';
export {
  DEFAULT_MIN_VALIDITY_SECONDS,
  defaultRetryBudgetMs,
  REQUEST_MIN_VALIDITY_SECONDS,
  ROTATION_ALLOWANCE_MS,
} from './defaults.js';
export {
  API_ERROR_CODES,
  GATEWAY_ERROR_CODES,
  MarketoApiError,
  TokenVendorClientError,
  type TokenVendorClientErrorCode,
} from './errors.js';
export { TOKEN_REJECTION_CODES, tokenRejectionCode } from './marketo.js';
export {
  type NodeMarketoRestClient,
  type NodeMarketoRestConnection,
  useVendedTokens,
  type VendedNodeMarketoRestOptions,
} from './node-marketo-rest.js';
export {
  type BudgetEvent,
  type BudgetOptions,
  type BudgetStats,
  type MarketoLimitCode,
  marketoLimitCode,
} from './permits.js';
export type { AwsCredentials, AwsCredentialsInput, ClientClock } from './signed-call.js';
export { createTokenClient } from './token-client.js';
export type {
  GetTokenOptions,
  MarketoToken,
  TokenClient,
  TokenClientOptions,
} from './token-client-api.js';
