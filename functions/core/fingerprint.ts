import { createHash } from 'node:crypto';

/** A short, non-reversible label for a token or secret, safe to log: first 8 hex chars of its SHA-256. */
export const fingerprint = (value: string): string =>
  createHash('sha256').update(value).digest('hex').slice(0, 8);
