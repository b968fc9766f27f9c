/** The token engine: ports, errors and the vendor factory. Imports no AWS SDK. */
export * from './clock.js';
export * from './credentials-record.js';
export * from './errors.js';
export * from './fingerprint.js';
export * from './identity-url-policy.js';
export * from './ids.js';
export * from './pool.js';
export type * from './ports.js';
export * from './refresh-planner.js';
export * from './rejected-token.js';
export * from './token-vendor.js';
export type * from './token-vendor-api.js';
export * from './vend-options.js';
export * from './vendor-config.js';
