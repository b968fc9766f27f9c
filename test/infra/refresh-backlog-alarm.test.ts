import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshMessage } from '../../functions/core/ports.js';
import { runRefreshPlan } from '../../functions/core/refresh-planner.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import { FakeClock } from '../../testing/clocks.js';
import { MemoryRefreshIndex, MemoryTokenStore } from '../../testing/memory-token-store.js';
import { MINUTE_PLAN_SETTINGS, silentLogger } from '../../testing/refresh-plan.js';
import { type AlarmProperties, type AlarmWindow, alarmState } from '../support/alarm-evaluator.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

/**
 * Scheduled runs, one a minute, over 100 clients due over the next ten minutes. `workersRefresh` says
 * whether the queued messages are handled (each refresh then stores its successor's instant an hour on),
 * or lost. Returns the `RefreshOverdue` datapoint of each minute, as the alarm's metric (Maximum per minute).
 */
async function backlogPerMinute(minutes: number, workersRefresh: boolean): Promise<number[]> {
  const clock = new FakeClock();
  const store = new MemoryTokenStore();
  for (let i = 0; i < 100; i += 1)
    store.items.set(`c-${i}`, { clientId: `c-${i}`, version: 1, refreshAt: clock.now() + i * 6_000 });
  const index = new MemoryRefreshIndex(store);
  const handled = (messages: readonly RefreshMessage[]) => {
    if (!workersRefresh) return;
    for (const { clients } of messages)
      for (const { clientId } of clients) {
        const item = store.items.get(clientId);
        if (item?.refreshAt !== undefined)
          store.items.set(clientId, { ...item, refreshAt: item.refreshAt + 3_600_000 });
      }
  };
  const datapoints: number[] = [];
  for (let minute = 0; minute < minutes; minute += 1) {
    let overdue = 0;
    await runRefreshPlan(
      {
        index,
        queue: { send: async (messages) => handled(messages) },
        credentials: { list: async () => [] },
        clock,
        logger: silentLogger,
        metrics: {
          record: (name, value) => {
            if (name === 'RefreshOverdue') overdue = Math.max(overdue, value);
          },
        },
      },
      MINUTE_PLAN_SETTINGS,
    );
    datapoints.push(overdue);
    await clock.advance(60_000);
  }
  return datapoints;
}

/** One datapoint of the alarm's metric per minute (`undefined`: no run reported). */
const periods = (values: ReadonlyArray<number | undefined>) =>
  values.map((RefreshOverdue) => ({ RefreshOverdue }));

describe('the refresher backlog alarm', () => {
  let alarm: AlarmProperties & AlarmWindow;

  beforeAll(() => {
    const stack = new Stack(appWithoutBundling(), 'Backlog');
    new MarketoTokenVendor(stack, 'Vendor');
    const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'RefreshOverdue' },
    });
    expect(Object.keys(alarms)).toHaveLength(1);
    alarm = Object.values(alarms)[0]?.Properties as AlarmProperties & AlarmWindow;
  });

  it('fires when queued refreshes are lost: the overdue count rises and stays for three minutes', async () => {
    const datapoints = await backlogPerMinute(6, false);
    expect(datapoints.slice(0, 2)).toEqual([0, 0]);
    expect(alarmState(alarm, periods(datapoints.slice(0, 2)))).toBe('OK');
    expect(alarmState(alarm, periods(datapoints))).toBe('ALARM');
  });

  it('stays quiet while workers handle what the runs queue', async () => {
    const datapoints = await backlogPerMinute(10, true);
    expect(datapoints).toEqual(Array(10).fill(0));
    expect(alarmState(alarm, periods(datapoints))).toBe('OK');
  });

  it('fires when the scheduled runs stop reporting at all', () => {
    expect(alarmState(alarm, periods([0, 0, undefined, undefined, undefined]))).toBe('ALARM');
  });

  it('evaluates one period per scheduled run, so a slower schedule is not taken for silentLogger runs', () => {
    const stack = new Stack(appWithoutBundling(), 'SlowSchedule');
    new MarketoTokenVendor(stack, 'Vendor', { refreshSchedule: Duration.minutes(5) });
    const [slow] = Object.values(
      Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'RefreshOverdue' },
      }),
    ).map((resource) => resource.Properties as AlarmProperties & AlarmWindow & { Period: number });

    expect(alarm).toMatchObject({ Period: 60 });
    expect(slow).toMatchObject({ Period: 300, EvaluationPeriods: 5, DatapointsToAlarm: 3 });
  });
});
