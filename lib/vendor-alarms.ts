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
    metric: cloudwatch.Metric,
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
  add(
    'IdentityErrorsAlarm',
    vendor.metricIdentityErrors(),
    'Marketo Identity calls failed at least 5 times in 5 minutes.',
    {
      threshold: 5,
    },
  );
  add(
    'Api5xxAlarm',
    vendor.api.metricServerError({ ...fiveMinutes, statistic: 'Sum' }),
    'The token API answered 5xx at least 5 times in 5 minutes.',
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
