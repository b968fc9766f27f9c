/**
 * The Marketo API budget in the construct: its table (beside the token table), the vend function's access
 * and environment, the 80 % daily quota alarm and the dashboard row. Built on the vendor as scope, so the
 * ids are `BudgetTable`, `BudgetDailyQuotaAlarm`.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  BUDGET_RECONCILE_SECONDS_RANGE,
  type BulkLimits,
  bulkLimitsOverrideProblem,
  ENV,
  type InstanceLimits,
  limitsOverrideProblem,
  METRICS_NAMESPACE,
} from '../functions/contract/index.js';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';

/** Budget settings of the construct. */
export interface VendorBudgetProps {
  /**
   * Limits per instance (its REST host, e.g. `123-abc-456.mktorest.com`, or `default` for all): Marketo's
   * documented values unless set here; `reservedShare` holds part of every limit back for integrations that
   * do not use the vendor. The CLI (`instances limits`) overrides these at run time.
   * @default - Marketo's documented limits for every instance (100 calls per 20 s, 10 concurrent, 50,000 a day)
   */
  readonly limits?: Readonly<Record<string, Partial<InstanceLimits>>>;
  /**
   * What permits do when the budget table cannot be reached: `open` hands out unmetered permits (Marketo
   * still enforces its limits and clients back off on 606/615), `closed` answers 503.
   * @default 'open'
   */
  readonly onStoreFailure?: 'open' | 'closed';
  /** Daily quota share (percent) at which the alarm fires. @default 80 */
  readonly dailyQuotaAlarmPercent?: number;
  /**
   * Bulk API limits per instance (REST host, or `default`), for the Bulk slots kept in the budget table:
   * `extractJobs` / `importJobs` (places of Marketo's queues, at most 10), `exportDailyBytes` (the daily export
   * quota, if Marketo sold more than 500 MB), `reservedShare` for integrations outside the vendor.
   * @default - Marketo's documented limits (10 queued extracts, 10 queued imports, 500,000,000 bytes a day)
   */
  readonly bulkLimits?: Readonly<Record<string, Partial<BulkLimits>>>;
  /**
   * How often a vend function brings an instance's daily count up to what Marketo counted
   * (`GET /rest/v1/stats/usage.json`, integrations outside the vendor included): one Marketo call per
   * instance per interval, from each vend function that served the instance that long. Whole seconds,
   * from 1 s to a day.
   * @default Duration.seconds(DEFAULT_BUDGET_RECONCILE_SECONDS) (5 minutes)
   */
  readonly reconcileInterval?: Duration;
}

/** The reconcile interval in seconds, refused at synthesis outside whole seconds from 1 s to a day. */
function reconcileSeconds(interval: Duration): number {
  const seconds = interval.toMilliseconds() / 1000;
  const { min, max } = BUDGET_RECONCILE_SECONDS_RANGE;
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new Error(`budget.reconcileInterval must be whole seconds from ${min} to ${max}, got ${seconds} s`);
  }
  return seconds;
}

/** Validates the limits at synthesis (the message names the instance and the field). */
export function validateBudgetProps(props: VendorBudgetProps = {}): void {
  for (const [instance, override] of Object.entries(props.limits ?? {})) {
    const problem = limitsOverrideProblem(override);
    if (problem !== undefined) throw new Error(`budget.limits["${instance}"]: ${problem}`);
  }
  for (const [instance, override] of Object.entries(props.bulkLimits ?? {})) {
    const problem = bulkLimitsOverrideProblem(override);
    if (problem !== undefined) throw new Error(`budget.bulkLimits["${instance}"]: ${problem}`);
  }
  if (props.reconcileInterval !== undefined) reconcileSeconds(props.reconcileInterval);
  const percent = props.dailyQuotaAlarmPercent ?? 80;
  if (!(percent > 0 && percent <= 100)) {
    throw new Error(`budget.dailyQuotaAlarmPercent must be from 1 to 100, got ${percent}`);
  }
}

/** The budget table: one item per Marketo instance, short-lived state (TTL), no backups needed. */
export function createBudgetTable(
  scope: Construct,
  options: { readonly encryptionKey?: kms.IKey; readonly removalPolicy: RemovalPolicy },
): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'BudgetTable', {
    partitionKey: { name: 'instance', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: 'ttl',
    encryption: options.encryptionKey
      ? dynamodb.TableEncryption.CUSTOMER_MANAGED
      : dynamodb.TableEncryption.AWS_MANAGED,
    encryptionKey: options.encryptionKey,
    removalPolicy: options.removalPolicy,
  });
  Validations.of(table).acknowledge({
    id: 'AwsSolutions-DDB3',
    reason:
      "The budget table holds the current 20 s window, leases and today's count per instance: it rebuilds itself within a day, so a backup has nothing worth restoring.",
  });
  return table;
}

/** The vend function's environment for the budget. */
export const budgetEnvironment = (
  table: dynamodb.ITable,
  props: VendorBudgetProps = {},
): Record<string, string> => ({
  [ENV.budgetTableName]: table.tableName,
  ...(props.limits === undefined ? {} : { [ENV.budgetLimits]: JSON.stringify(props.limits) }),
  [ENV.budgetOnStoreFailure]: props.onStoreFailure ?? 'open',
  ...(props.bulkLimits === undefined ? {} : { [ENV.bulkLimits]: JSON.stringify(props.bulkLimits) }),
  // Only when set: the handler's default (DEFAULT_BUDGET_RECONCILE_SECONDS) keeps templates unchanged.
  ...(props.reconcileInterval === undefined
    ? {}
    : { [ENV.budgetReconcileSeconds]: String(reconcileSeconds(props.reconcileInterval)) }),
});

/** Least privilege: read and conditional writes on the budget table only. */
export function grantBudgetAccess(fn: lambda.IFunction, table: dynamodb.ITable): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'BudgetTable',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [table.tableArn],
    }),
  );
}

/** Daily quota used, highest instance (percent of the vendor's share). */
export const metricDailyQuotaUsed = (vendor: MarketoTokenVendor): cloudwatch.Metric =>
  vendor.metric('DailyQuotaUsedPercent', { statistic: 'Maximum', label: 'daily quota used %' });

/** The alarm at `dailyQuotaAlarmPercent` (80 %) of an instance's daily quota. */
export function createBudgetAlarm(
  vendor: MarketoTokenVendor,
  props: VendorBudgetProps = {},
  topic?: sns.ITopic,
): cloudwatch.Alarm {
  const percent = props.dailyQuotaAlarmPercent ?? 80;
  const alarm = metricDailyQuotaUsed(vendor).createAlarm(vendor, 'BudgetDailyQuotaAlarm', {
    alarmDescription: `A Marketo instance has used ${percent} % of its daily API quota (resets at 00:00 America/Chicago); see \`instances status\` in the CLI.`,
    threshold: percent,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (topic) {
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
  }
  return alarm;
}

/** The dashboard row: permits granted / waited / refused, Marketo limit errors seen, daily quota used. */
export function budgetWidgets(vendor: MarketoTokenVendor): cloudwatch.IWidget[] {
  const period = Duration.minutes(5);
  const sum = (name: string, label: string) => vendor.metric(name, { label, period });
  return [
    new cloudwatch.GraphWidget({
      title: 'API budget: permits',
      left: [
        sum('PermitsGranted', 'granted'),
        sum('PermitsWaited', 'waited'),
        sum('PermitsRefused', 'refused'),
        sum('PermitsUnmetered', 'unmetered'),
        sum('PermitConflicts', 'write conflicts'),
        sum('BudgetStoreErrors', 'store errors'),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Marketo limit errors seen by consumers',
      left: [
        sum('MarketoRateLimited606', '606 rate'),
        sum('MarketoConcurrencyLimited615', '615 concurrency'),
        sum('MarketoDailyQuota607', '607 daily quota'),
        sum('MarketoDailyQuota607Confirmed', '607 confirmed by Marketo'),
        sum('MarketoUsageReads', 'usage.json reads (vendor)'),
        sum('MarketoUsageReadFailures', 'usage.json reads failed'),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Daily quota used (highest instance)',
      left: [metricDailyQuotaUsed(vendor)],
      leftYAxis: { min: 0, max: 100 },
      width: 8,
    }),
    // Usage per consumer (functions/budget-runtime.ts): one line per principal and client, both bounded sets.
    new cloudwatch.GraphWidget({
      title: 'Marketo calls by consumer (usage per consumer)',
      left: [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRICS_NAMESPACE},service,Consumer,Client} MetricName="ConsumerCalls" service="${vendor.serviceName}"', 'Sum', 300)`,
          label: '',
          period,
        }),
      ],
      width: 24,
    }),
  ];
}
