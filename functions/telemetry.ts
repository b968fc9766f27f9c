import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_SERVICE_NAME, ENV, METRICS_NAMESPACE } from './contract/index.js';
import type { BudgetMetrics } from './core/budget/ports.js';
import type { Logger, MetricsSink } from './core/ports.js';

/** Powertools logger and metrics shared by a handler module. */
export interface Telemetry {
  readonly logger: PowertoolsLogger;
  readonly metrics: Metrics;
}

/** The core's view of telemetry: its two ports. */
export interface CoreTelemetry {
  readonly logger: Logger;
  readonly metrics: MetricsSink;
}

export function createTelemetry(
  serviceName: string = DEFAULT_SERVICE_NAME,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Telemetry {
  const service = env[ENV.serviceName] ?? serviceName;
  return {
    logger: new PowertoolsLogger({ serviceName: service }),
    metrics: new Metrics({
      namespace: env[ENV.metricsNamespace] ?? METRICS_NAMESPACE,
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

/** Adapts Powertools Metrics (EMF) to the core's metric ports: the engine's and the budget's. */
export const coreMetrics = (metrics: Metrics): MetricsSink & BudgetMetrics => ({
  record: (name: string, value: number, unit: keyof typeof MetricUnit) =>
    metrics.addMetric(name, MetricUnit[unit], value),
});

/** Both adapters at once. */
export const coreTelemetry = (telemetry: Telemetry): CoreTelemetry => ({
  logger: coreLogger(telemetry.logger),
  metrics: coreMetrics(telemetry.metrics),
});
