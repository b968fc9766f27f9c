/**
 * The contract: facts shared by the construct (lib/), the handlers and core (functions/), local mode
 * (local/) and the CLI (cli/). It imports nothing outside this folder, so every side can import it.
 */
export * from './defaults.js';
export * from './environment.js';
export * from './errors.js';
export * from './gateway-errors.js';
export * from './ids.js';
export * from './limit-codes.js';
export * from './refresh-batch.js';
export * from './routes.js';
