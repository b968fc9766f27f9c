import type { BulkSlotStore } from '../core/bulk/ports.js';
import type { BulkState } from '../core/bulk/state.js';
import { MemoryVersionedItems } from './memory-versioned-items.js';

/**
 * An in-process {@link BulkSlotStore} with the same compare-and-swap semantics as the DynamoDB one, for unit
 * tests and single-process use (and the vend function without a budget table, whose slots are off).
 */
export class MemoryBulkSlotStore extends MemoryVersionedItems<BulkState> implements BulkSlotStore {}
