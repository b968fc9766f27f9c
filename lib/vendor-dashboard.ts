import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE } from '../functions/contract/index.js';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';
import { budgetWidgets } from './vendor-budget.js';
import { bulkWidgets } from './vendor-bulk.js';

/**
 * One screen for the on-call: the runtime's own metrics (EMF, namespace `MarketoTokenVendor`,
 * dimension `service`) on top, the AWS services' metrics below, alarm states at the bottom.
 */
export function createDashboard(vendor: MarketoTokenVendor): cloudwatch.Dashboard {
  const period = Duration.minutes(5);
  const sum = (name: string, label: string) => vendor.metric(name, { label, period });
  const stat = (name: string, statistic: string, label: string) =>
    vendor.metric(name, { statistic, label, period });
  const width = 8;
  const memory = sum('VendFromMemory', 'memory');
  const store = sum('VendFromStore', 'store');
  const identity = sum('VendFromIdentity', 'Identity');

  const dashboard = new cloudwatch.Dashboard(vendor, 'Dashboard', {
    defaultInterval: Duration.hours(3),
    periodOverride: cloudwatch.PeriodOverride.AUTO,
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `# Marketo token vendor \`${vendor.serviceName}\`\nRunbook: docs/operations.md (alarms, secret rotation). Custom metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service\`.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Vends by outcome',
      left: [memory, store, identity],
      stacked: true,
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Cache hit ratio (%)',
      left: [
        new cloudwatch.MathExpression({
          expression: '100 * (m + s) / (m + s + i)',
          usingMetrics: { m: memory, s: store, i: identity },
          label: 'hits (memory + store)',
          period,
        }),
        new cloudwatch.MathExpression({
          expression: '100 * m / (m + s + i)',
          usingMetrics: { m: memory, s: store, i: identity },
          label: 'memory',
          period,
        }),
      ],
      leftYAxis: { min: 0, max: 100 },
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Token remaining life at vend (s)',
      left: [
        stat('TokenRemainingSeconds', 'Minimum', 'min'),
        stat('TokenRemainingSeconds', 'p10', 'p10'),
        stat('TokenRemainingSeconds', 'p50', 'p50'),
      ],
      leftYAxis: { min: 0 },
      width,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Identity latency (ms)',
      left: [stat('IdentityLatencyMs', 'p50', 'p50'), stat('IdentityLatencyMs', 'p99', 'p99')],
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Identity calls and errors',
      left: [
        sum('IdentityCalls', 'calls'),
        sum('IdentityErrors', 'errors'),
        sum('CredentialsRejected', 'credentials rejected'),
      ],
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Coordination and store',
      left: [
        sum('LeaseWaits', 'lease waits'),
        sum('LeaseTakeovers', 'lease takeovers'),
        sum('TokenRotating', 'token rotating'),
        sum('Invalidations', 'invalidations'),
        sum('InvalidationsSuppressed', 'invalidations answered from the store'),
        sum('StoreErrors', 'store errors'),
        sum('StoreThrottled', 'store throttled (hot key)'),
      ],
      width,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Refresher',
      left: [
        sum('RefreshFetched', 'fetched'),
        sum('RefreshWaited', 'waited out expiry'),
        sum('RefreshFailed', 'failed'),
        sum('PoolMemberFailed', 'pool member failed'),
        sum('RefreshQueued', 'queued by scheduled runs'),
      ],
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Refresh backlog: due over a minute ago, not done',
      left: [stat('RefreshOverdue', 'Maximum', 'overdue')],
      leftYAxis: { min: 0 },
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Instance pools: guaranteed remaining (s)',
      left: [stat('PoolGuaranteedRemainingSeconds', 'Minimum', 'min')],
      leftYAxis: { min: 0 },
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Refresh dead-letter queue',
      left: [
        vendor.refreshDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period,
          label: 'batches waiting',
        }),
      ],
      leftYAxis: { min: 0 },
      width,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'API requests and errors',
      left: [
        vendor.api.metricCount({ statistic: 'Sum', period, label: 'requests' }),
        vendor.api.metricClientError({ statistic: 'Sum', period, label: '4xx' }),
        vendor.api.metricServerError({ statistic: 'Sum', period, label: '5xx' }),
        vendor.metricTokenRotatingAnswers({ period, label: '503 TokenRotating (intended)' }),
      ],
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'API latency (ms)',
      left: [
        vendor.api.metricLatency({ statistic: 'p50', period, label: 'p50' }),
        vendor.api.metricLatency({ statistic: 'p99', period, label: 'p99' }),
        vendor.api.metricIntegrationLatency({ statistic: 'p99', period, label: 'integration p99' }),
      ],
      width,
    }),
    new cloudwatch.GraphWidget({
      title: 'Lambda errors and throttles',
      left: [
        vendor.vendFunction.metricErrors({ statistic: 'Sum', period, label: 'vend errors' }),
        vendor.vendFunction.metricThrottles({ statistic: 'Sum', period, label: 'vend throttles' }),
        vendor.refreshFunction.metricErrors({ statistic: 'Sum', period, label: 'refresh errors' }),
        vendor.refreshFunction.metricThrottles({ statistic: 'Sum', period, label: 'refresh throttles' }),
      ],
      width,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Credentials rejected, by client (backed off until the secret changes)',
      left: [vendor.metricCredentialsRejectedByClient({ period })],
      leftYAxis: { min: 0 },
      width: 24,
      height: 4,
    }),
  );
  dashboard.addWidgets(...budgetWidgets(vendor));
  dashboard.addWidgets(...bulkWidgets(vendor));
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: vendor.alarms, width: 24, height: 3 }),
  );
  return dashboard;
}
