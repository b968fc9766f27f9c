import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BudgetMetrics } from '../../../functions/core/budget/ports.js';
import type { MetricsSink } from '../../../functions/core/ports.js';
import { coreMetrics, createTelemetry } from '../../../functions/telemetry.js';

const EMPTY_METRICS_WARNING = 'No application metrics to publish';

/** Everything written to stdout and stderr while `work` runs. */
const output = (work: () => void): string => {
  const written: string[] = [];
  const record = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(record);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(record);
  try {
    work();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return written.join('');
};

describe('createTelemetry', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("keeps Powertools' warning when a request published no metrics (the Lambdas)", () => {
    const telemetry = createTelemetry('telemetry-test', {});

    expect(output(() => telemetry.metrics.publishStoredMetrics())).toContain(EMPTY_METRICS_WARNING);
  });

  it('drops that warning with warnOnEmptyMetrics: false (local mode, where refused requests record nothing)', () => {
    const telemetry = createTelemetry('telemetry-test', {}, { warnOnEmptyMetrics: false });

    expect(output(() => telemetry.metrics.publishStoredMetrics())).not.toContain(EMPTY_METRICS_WARNING);
  });

  it('sends the other metrics warnings to the logger with warnOnEmptyMetrics: false', () => {
    const telemetry = createTelemetry('telemetry-test', {}, { warnOnEmptyMetrics: false });
    const warn = vi.spyOn(telemetry.logger, 'warn').mockImplementation(() => undefined);

    telemetry.metrics.addDimension('', 'value');

    expect(warn).toHaveBeenCalledExactlyOnceWith(
      "The dimension  doesn't meet the requirements and won't be added. Ensure the dimension name and value are non empty strings",
    );
  });
});

describe('coreMetrics', () => {
  it("serves the engine's and the budget's metric ports with one Powertools Metrics", () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const addMetric = vi.spyOn(metrics, 'addMetric').mockReturnValue(metrics);
    const engine: MetricsSink = coreMetrics(metrics);
    const budget: BudgetMetrics = coreMetrics(metrics);

    // Act
    engine.record('IdentityLatencyMs', 12, 'Milliseconds');
    budget.record('DailyQuotaUsedPercent', 80, 'Percent');

    // Assess
    expect(addMetric.mock.calls).toEqual([
      ['IdentityLatencyMs', MetricUnit.Milliseconds, 12],
      ['DailyQuotaUsedPercent', MetricUnit.Percent, 80],
    ]);
  });
});
