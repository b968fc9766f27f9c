import type { RegisteredClient } from './ports.js';

/**
 * Splits registered clients into refresh batches of about `batchSize` for fan-out (one SQS message each).
 * Members of one instance pool always share a batch, because staggering needs their expiries together.
 */
export function planRefreshBatches(
  clients: readonly RegisteredClient[],
  batchSize: number,
): RegisteredClient[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const units = new Map<string, RegisteredClient[]>();
  for (const client of clients) {
    const key = client.instance === undefined ? `client:${client.clientId}` : `instance:${client.instance}`;
    units.set(key, [...(units.get(key) ?? []), client]);
  }
  const batches: RegisteredClient[][] = [];
  let current: RegisteredClient[] = [];
  for (const unit of units.values()) {
    if (current.length > 0 && current.length + unit.length > batchSize) {
      batches.push(current);
      current = [];
    }
    current.push(...unit);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
