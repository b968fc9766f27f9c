import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';

/**
 * The vendor's alarms, built on the vendor as scope (ids `RefreshFailuresAlarm`, …), each notifying
 * `topic` on alarm and on recovery when given.
 */
export function createAlarms(vendor: MarketoTokenVendor, topic?: sns.ITopic): cloudwatch.Alarm[] {
  const alarms: cloudwatch.Alarm[] = [];
  const add = (
    id: string,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    description: string,
    extra?: Partial<cloudwatch.CreateAlarmOptions>,
  ) => {
    const alarm = metric.createAlarm(vendor, id, {
      alarmDescription: description,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...extra,
    });
    if (topic) {
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      alarm.addOkAction(new cwActions.SnsAction(topic));
    }
    alarms.push(alarm);
    return alarm;
  };
  const fiveMinutes = { period: Duration.minutes(5) };
  add(
    'RefreshFailuresAlarm',
    vendor.metricRefreshFailures(),
    'The refresher failed to refresh a client in 2 of the last 3 five-minute periods (see lastErrorCode in the table).',
    { evaluationPeriods: 3, datapointsToAlarm: 2 },
  );
  // One time series per client (Metrics Insights GROUP BY): the notification names the contributing client.
  add(
    'CredentialsRejectedAlarm',
    vendor.metricCredentialsRejectedByClient(),
    'Marketo Identity rejected the credentials of a client (the contributor is its clientId); the refresher backs it off until its secret changes. Fix the secret (docs/operations.md, CredentialsRejectedAlarm).',
  );
  add(
    'IdentityErrorsAlarm',
    vendor.metricIdentityErrors(),
    'Marketo Identity calls failed at least 5 times in 5 minutes.',
    {
      threshold: 5,
    },
  );
  // API Gateway's 5XXError counts the vendor's intended 503 TokenRotating too (a caller asking more validity
  // than the wait budget allows, near every expiry): those are subtracted, so the alarm means failures.
  add(
    'Api5xxAlarm',
    new cloudwatch.MathExpression({
      expression: 'errors - FILL(rotating, 0)',
      usingMetrics: {
        errors: vendor.api.metricServerError({ ...fiveMinutes, statistic: 'Sum' }),
        rotating: vendor.metricTokenRotatingAnswers(fiveMinutes),
      },
      label: 'unexpected 5xx answers',
      ...fiveMinutes,
    }),
    'The token API answered at least 5 unexpected 5xx in 5 minutes (intended 503 TokenRotating answers, metric ApiTokenRotating, are not counted).',
    {
      threshold: 5,
    },
  );
  add(
    'VendErrorsAlarm',
    vendor.vendFunction.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
    'The vend function failed (unhandled error or timeout).',
  );
  add(
    'VendThrottlesAlarm',
    vendor.vendFunction.metricThrottles({ ...fiveMinutes, statistic: 'Sum' }),
    'The vend function was throttled.',
  );
  add(
    'RefreshErrorsAlarm',
    vendor.refreshFunction.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
    'The refresh function failed (unhandled error or timeout).',
  );
  add(
    'RefreshThrottlesAlarm',
    vendor.refreshFunction.metricThrottles({ ...fiveMinutes, statistic: 'Sum' }),
    'The refresh function was throttled.',
  );
  add(
    'RefreshBacklogAlarm',
    vendor.metricRefreshOverdue(),
    'Refreshes due more than a minute ago are still not done in 3 of the last 5 minutes (or scheduled runs stopped ' +
      'reporting): lost or failing refresh messages, a throttled worker, or clients whose refresh keeps failing.',
    {
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      // Every scheduled run reports the backlog, 0 included: silence means the runs themselves stopped.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    },
  );
  add(
    'RefreshDeadLettersAlarm',
    vendor.refreshDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      ...fiveMinutes,
      statistic: 'Maximum',
    }),
    'Refresh fan-out batches failed three deliveries and sit in the dead-letter queue.',
  );
  return alarms;
}
