/** Bulk API job slots per instance (Marketo's extract and import queues, the daily export quota): no AWS SDK. */
export * from './errors.js';
export * from './limits.js';
export type * from './ports.js';
export * from './slots.js';
export * from './state.js';
export * from './usage.js';
