import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import type { BudgetMetrics } from '../../../functions/core/budget/ports.js';
import type { MetricsSink } from '../../../functions/core/ports.js';
import { coreMetrics } from '../../../functions/telemetry.js';

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
