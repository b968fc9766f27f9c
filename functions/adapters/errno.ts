/** The `code` of a Node system error (`ENOENT`, `EACCES`, …), or undefined for anything else. */
export const errnoCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
