import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Single attributes of a DynamoDB item in its wire form (`{ S: … }`, `{ N: … }`), read and written. Imports
 * nothing of the SDK at run time, so the vend function's hit path reads an item without loading it.
 */
export type Item = Record<string, AttributeValue>;
/** A string attribute, or `undefined` when absent or of another type. */
export const str = (item: Item, name: string): string | undefined => {
  const value = item[name];
  return value !== undefined && 'S' in value && typeof value.S === 'string' ? value.S : undefined;
};

/** A finite number attribute, or `undefined` when absent, of another type or not a number. */
export const num = (item: Item, name: string): number | undefined => {
  const value = item[name];
  if (value === undefined || !('N' in value) || typeof value.N !== 'string') return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
};

export const n = (value: number): AttributeValue => ({ N: String(value) });
export const s = (value: string): AttributeValue => ({ S: value });
