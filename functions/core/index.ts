/** The token engine: ports, errors and the vendor factory. Imports no AWS SDK. */
export * from './clock.js';
export * from './credentials.js';
export * from './errors.js';
export * from './fingerprint.js';
export * from './pool.js';
export type * from './ports.js';
export * from './refresh-planner.js';
export * from './token-vendor.js';
