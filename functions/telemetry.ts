import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Logger, MetricsSink } from './core/ports.js';

/** Powertools logger and metrics shared by a handler module. */
export interface Telemetry {
  readonly logger: PowertoolsLogger;
  readonly metrics: Metrics;
}

export function createTelemetry(serviceName: string): Telemetry {
  const service = process.env.POWERTOOLS_SERVICE_NAME ?? serviceName;
  return {
    logger: new PowertoolsLogger({ serviceName: service }),
    metrics: new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MarketoTokenVendor',
      serviceName: service,
    }),
  };
}

/** Adapts the Powertools logger to the core's `Logger` port. */
export const coreLogger = (logger: PowertoolsLogger): Logger => ({
  debug: (message, attributes) => logger.debug(message, attributes ?? {}),
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
});

/** Adapts Powertools Metrics (EMF) to the core's `MetricsSink` port. */
export const coreMetrics = (metrics: Metrics): MetricsSink => ({
  record: (name, value, unit) => metrics.addMetric(name, MetricUnit[unit], value),
});
