/**
 * Environment variable names the construct sets on the functions and `readRuntimeConfig` reads
 * (functions/config.ts). Both sides import this object; neither writes a name as a bare string.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  secretPrefix: 'SECRET_PREFIX',
  defaultMinValiditySeconds: 'DEFAULT_MIN_VALIDITY_SECONDS',
  maxWaitMs: 'MAX_WAIT_MS',
  leaseDurationMs: 'LEASE_DURATION_MS',
  identityAllowedHosts: 'IDENTITY_ALLOWED_HOSTS',
  identityAllowInsecureLoopback: 'IDENTITY_ALLOW_INSECURE_LOOPBACK',
  identityTimeoutMs: 'IDENTITY_TIMEOUT_MS',
  refreshHorizonSeconds: 'REFRESH_HORIZON_SECONDS',
  refreshConcurrency: 'REFRESH_CONCURRENCY',
  refreshQueueUrl: 'REFRESH_QUEUE_URL',
  refreshBatchSize: 'REFRESH_BATCH_SIZE',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  // The Marketo API budget (functions/config.ts, read by readBudgetConfig): its table (unset: permits are unmetered), per-instance
  // limit overrides as JSON `{"default": {…}, "<rest host>": {…}}`, and `open`/`closed` on store failure.
  budgetTableName: 'BUDGET_TABLE_NAME',
  budgetLimits: 'BUDGET_LIMITS',
  budgetOnStoreFailure: 'BUDGET_ON_STORE_FAILURE',
  // How often (seconds) a vend function reconciles an instance's daily count with Marketo's usage.json.
  budgetReconcileSeconds: 'BUDGET_RECONCILE_SECONDS',
  // Bulk API slots (functions/aws-bulk-slot-service.ts), on the budget's table: per-instance limit overrides
  // as JSON `{"default": {…}, "<rest host>": {…}}` (extractJobs, importJobs, exportDailyBytes, reservedShare).
  bulkLimits: 'BULK_LIMITS',
} as const;

export type EnvKey = (typeof ENV)[keyof typeof ENV];
