/** CloudWatch namespace of the metrics the runtime emits through Powertools (EMF). */
export const METRICS_NAMESPACE = 'MarketoTokenVendor';

export const DEFAULT_SECRET_PREFIX = 'marketo-token-vendor/clients/';
