/**
 * Usage per consumer in a vend function or local mode (issue 27): the recorder on the budget's store,
 * instances found from the registered credentials, and per-consumer metrics whose dimensions stay bounded.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type ConsumerUsage,
  createUsageRecorder,
  instanceKeyOf,
  type UsageRecorder,
  type UsageStore,
} from './core/budget/index.js';
import { systemClock } from './core/clock.js';
import type { CredentialsSource } from './core/ports.js';
import { coreLogger, type Telemetry } from './telemetry.js';

/**
 * `ConsumerCalls` (Sum), written with each usage write, with the dimensions `Consumer` (the principal's
 * resource part, sessions folded: `assumed-role/nightly-sync`) and `Client` (`c:<clientId>` or
 * `p:<instance>`). Both are bounded sets: consumers are the principals a grant names (wildcards are refused
 * at synthesis), clients the registered ones (docs/operations.md, "Usage per consumer").
 */
export const consumerMetrics =
  (telemetry: Telemetry) =>
  (_instance: string, rows: readonly ConsumerUsage[]): void => {
    for (const row of rows) {
      if (row.counts.calls === 0) continue;
      const single = telemetry.metrics.singleMetric();
      single.addDimension('Consumer', row.consumer.slice(row.consumer.lastIndexOf(':') + 1).slice(0, 250));
      single.addDimension('Client', row.client.slice(0, 250));
      single.addMetric('ConsumerCalls', MetricUnit.Count, row.counts.calls);
    }
  };

/** The usage recorder of a vend function or local mode: rows on `store`, instances from `credentials`. */
export const buildUsageRecorder = (
  store: UsageStore,
  credentials: CredentialsSource,
  telemetry: Telemetry,
): UsageRecorder =>
  createUsageRecorder({
    store,
    clock: systemClock,
    logger: coreLogger(telemetry.logger),
    instanceOfClient: async (clientId) => instanceKeyOf(await credentials.get(clientId)),
    onWrite: consumerMetrics(telemetry),
  });
