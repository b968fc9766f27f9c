/**
 * A small model of how CloudWatch evaluates one period of a synthesized AWS::CloudWatch::Alarm, so a test can
 * ask "does this alarm fire on these datapoints?" of the template instead of reading its properties.
 *
 * - A metric alarm compares its metric's value with `Threshold` by `ComparisonOperator`; an alarm on a math
 *   expression compares the value of the one `Metrics` entry with `ReturnData` (or the only expression), where
 *   ids name the other entries' metrics
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create-alarm-on-metric-math-expression.html).
 * - Metric math: `+ - * /`, parentheses, numbers, ids and `FILL(x, value)`, which replaces x's missing
 *   datapoints with `value`; arithmetic on a missing datapoint yields none
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
 * - A period without a value is "missing data", treated per `TreatMissingData`: `breaching`, `notBreaching`
 *   and `missing` are modelled (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
 * - Over several periods ({@link alarmState}): ALARM when `DatapointsToAlarm` of the last `EvaluationPeriods`
 *   periods breach.
 *
 * Not modelled (the vendor's alarms use none): other math functions, anomaly detection, Metrics Insights
 * queries. Meeting one throws.
 */

interface MetricStat {
  readonly Metric: { readonly MetricName: string; readonly Namespace: string };
  readonly Stat: string;
  readonly Period: number;
}

interface MetricDataQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: MetricStat;
  readonly ReturnData?: boolean;
}

/** The properties of a synthesized AWS::CloudWatch::Alarm that decide whether it fires. */
export interface AlarmProperties {
  readonly MetricName?: string;
  readonly Namespace?: string;
  readonly Metrics?: readonly MetricDataQuery[];
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly TreatMissingData?: string;
}

/** One period's datapoints, by metric name (absent: no datapoint in that period). */
export type Datapoints = Readonly<Record<string, number | undefined>>;

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** Evaluates a metric math expression over one period (`undefined`: no datapoint). */
export function evaluateExpression(
  expression: string,
  datapointOf: (id: string) => number | undefined,
): number | undefined {
  const tokens = expression.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),]/g) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) {
    throw new Error(`expression "${expression}" is not modelled`);
  }
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string): string => {
    const token = tokens[at++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`expression "${expression}": expected ${expected ?? 'more'} at ${at}`);
    }
    return token;
  };
  const arithmetic = (a: number | undefined, op: string, b: number | undefined): number | undefined => {
    if (a === undefined || b === undefined) return undefined;
    return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
  };
  const factor = (): number | undefined => {
    const token = take();
    if (token === '(') {
      const value = sum();
      take(')');
      return value;
    }
    if (/^\d/.test(token)) return Number(token);
    if (token === 'FILL') {
      take('(');
      const value = sum();
      take(',');
      const fill = Number(take());
      take(')');
      return value ?? fill;
    }
    if (peek() === '(') throw new Error(`function ${token} is not modelled`);
    return datapointOf(token);
  };
  const product = (): number | undefined => {
    let value = factor();
    while (peek() === '*' || peek() === '/') value = arithmetic(value, take(), factor());
    return value;
  };
  const sum = (): number | undefined => {
    let value = product();
    while (peek() === '+' || peek() === '-') value = arithmetic(value, take(), product());
    return value;
  };
  const value = sum();
  if (at !== tokens.length) throw new Error(`expression "${expression}": unexpected ${peek()}`);
  return value;
}

/** The value the alarm compares with its threshold in one period. */
export function alarmValue(alarm: AlarmProperties, datapoints: Datapoints): number | undefined {
  if (alarm.MetricName !== undefined) return datapoints[alarm.MetricName];
  const queries = alarm.Metrics ?? [];
  const byId = new Map(queries.map((q) => [q.Id, q]));
  const datapointOf = (id: string): number | undefined => {
    const query = byId.get(id);
    if (query === undefined) throw new Error(`id ${id} is not in the alarm's metrics`);
    if (query.MetricStat) return datapoints[query.MetricStat.Metric.MetricName];
    if (query.Expression === undefined) throw new Error(`query ${id} has neither metric nor expression`);
    if (/^\s*(SELECT|SEARCH)\b/i.test(query.Expression)) throw new Error('Metrics Insights is not modelled');
    return evaluateExpression(query.Expression, datapointOf);
  };
  const returned = queries.filter((q) => q.ReturnData !== false);
  if (returned.length !== 1) throw new Error(`expected one query with ReturnData, found ${returned.length}`);
  return datapointOf((returned[0] as MetricDataQuery).Id);
}

/** Whether the alarm's one period of `datapoints` breaches (missing data per `TreatMissingData`). */
export function breaches(alarm: AlarmProperties, datapoints: Datapoints): boolean {
  const compare = COMPARE[alarm.ComparisonOperator];
  if (compare === undefined) throw new Error(`${alarm.ComparisonOperator} is not modelled`);
  const value = alarmValue(alarm, datapoints);
  if (value === undefined) {
    if (alarm.TreatMissingData === 'breaching') return true;
    if (alarm.TreatMissingData === 'notBreaching' || alarm.TreatMissingData === 'missing') return false;
    throw new Error(`TreatMissingData ${alarm.TreatMissingData} is not modelled`);
  }
  return compare(value, alarm.Threshold);
}

/** How many periods an alarm looks at, and how many of them must breach. */
export interface AlarmWindow {
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
}

/** The alarm's state after `periods` (oldest first): ALARM when enough of the last periods breach. */
export function alarmState(
  alarm: AlarmProperties & AlarmWindow,
  periods: readonly Datapoints[],
): 'ALARM' | 'OK' {
  const window = periods.slice(-alarm.EvaluationPeriods);
  const breaching = window.filter((datapoints) => breaches(alarm, datapoints)).length;
  return breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) ? 'ALARM' : 'OK';
}
