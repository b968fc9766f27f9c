/**
 * CloudWatch's alarm evaluation, for tests that feed a synthesized alarm the datapoints a simulated run
 * produced: the last `EvaluationPeriods` periods, `DatapointsToAlarm` of them breaching, missing data
 * treated as `TreatMissingData` says (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
 * AlarmThatSendsEmail.html#alarms-evaluating-missing-data). Enough for threshold alarms on one metric.
 */

/** The properties of an `AWS::CloudWatch::Alarm` the evaluation reads. */
export interface AlarmDefinition {
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData?: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}

export type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * The alarm's state after the last of `datapoints` (one per period, oldest first; `undefined` for a period
 * without data). `ignore` keeps `previous` when the window has no data.
 */
export function evaluateAlarm(
  alarm: AlarmDefinition,
  datapoints: ReadonlyArray<number | undefined>,
  previous: AlarmState = 'INSUFFICIENT_DATA',
): AlarmState {
  const compare = COMPARE[alarm.ComparisonOperator];
  if (!compare) throw new Error(`comparison ${alarm.ComparisonOperator} not modelled`);
  const window = datapoints.slice(-alarm.EvaluationPeriods);
  const needed = alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods;
  const missing = alarm.TreatMissingData ?? 'missing';
  let breaching = 0;
  let present = 0;
  for (const value of window) {
    if (value === undefined) {
      if (missing === 'breaching') breaching += 1;
      if (missing === 'breaching' || missing === 'notBreaching') present += 1;
      continue;
    }
    present += 1;
    if (compare(value, alarm.Threshold)) breaching += 1;
  }
  if (breaching >= needed) return 'ALARM';
  if (present === 0) return missing === 'ignore' ? previous : 'INSUFFICIENT_DATA';
  return 'OK';
}
