/** The shared Marketo API budget per instance: decisions only, no AWS SDK. */
export * from './budget.js';
export * from './budget-api.js';
export * from './errors.js';
export * from './holder.js';
export * from './limits.js';
export type * from './ports.js';
export * from './state.js';
export * from './usage.js';
