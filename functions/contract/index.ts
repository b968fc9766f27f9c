/**
 * The contract: facts shared by the construct (lib/), the handlers and core (functions/), local mode
 * (local/) and the CLI (cli/). It imports nothing outside this folder, so every side can import it.
 * marketo-permissions.ts is imported directly, not through this index: the Lambda bundles import the index
 * and have no use for the permission table (the client, the simulator and the CLI do).
 */
export * from './bulk-slots.js';
export * from './defaults.js';
export * from './environment.js';
export * from './errors.js';
export * from './gateway-errors.js';
export * from './ids.js';
export * from './limit-codes.js';
export * from './marketo-bulk-limits.js';
export * from './marketo-limits.js';
export * from './quota-day.js';
export * from './refresh-batch.js';
export * from './routes.js';
