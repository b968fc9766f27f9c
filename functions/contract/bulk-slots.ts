import type { BulkKind } from './marketo-bulk-limits.js';

/**
 * What the Bulk slot routes answer about an instance's slots (`usage` of a grant, a wait or a refusal): the
 * vendor's core builds it, the Node client reads it.
 */
export interface BulkUsage {
  readonly slots: Readonly<Record<BulkKind, { readonly inUse: number; readonly limit: number }>>;
  /** Bytes of extracted files reported today. */
  readonly exportBytes: number;
  /** Bytes the extract jobs in flight expect to add. */
  readonly exportBytesExpected: number;
  readonly exportDailyBytes: number;
  readonly jobsEnded: Readonly<Record<BulkKind, number>>;
}
