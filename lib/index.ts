/**
 * The CDK side of marketo-token-vendor: the `MarketoTokenVendor` construct, the `tokenTask` helper for
 * Step Functions, and the deployable `TokenVendorStack`. Needs `aws-cdk-lib` and `constructs` (peer
 * dependencies); the consumer client lives in `marketo-token-vendor/client` and needs neither.
 */
export { METRICS_NAMESPACE } from '../functions/contract/index.js';
export { MarketoTokenVendor } from './marketo-token-vendor.js';
export type { ApiThrottle, MarketoTokenVendorProps } from './marketo-token-vendor-props.js';
export { type TokenTaskProps, type TokenTaskResult, tokenTask } from './token-task.js';
export { TokenVendorStack, type TokenVendorStackProps, type VendGrant } from './token-vendor-stack.js';
