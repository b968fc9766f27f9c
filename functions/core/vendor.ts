/**
 * @deprecated Import from `token-vendor.js` (factory and types) or `token-vendor-api.js` (types only).
 * Kept while the modules that still import this path move over.
 */
export type * from './token-vendor-api.js';
