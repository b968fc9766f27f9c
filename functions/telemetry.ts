import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_SERVICE_NAME, ENV, METRICS_NAMESPACE } from './contract/index.js';
import type { BudgetMetrics } from './core/budget/ports.js';
import type { BulkMetrics } from './core/bulk/ports.js';
import type { Logger, MetricDimensions, MetricsSink } from './core/ports.js';

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

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /**
   * Whether Powertools Metrics warns when a request published no metrics. Local mode turns it off: a request
   * refused before the engine records anything is normal there. Off, Metrics' other warnings go to the logger.
   * @default true
   */
  readonly warnOnEmptyMetrics?: boolean;
  /** The logger to use (local mode's console logger prints the same calls for a terminal). @default a new Powertools logger */
  readonly logger?: PowertoolsLogger;
}

/** Powertools Metrics' warning for a publish with no metrics (its text starts so). */
const EMPTY_METRICS_WARNING = 'No application metrics to publish';

/** Metrics' own messages through `logger`, less the empty-metrics warning. */
const metricsLoggerWithoutEmptyWarning = (logger: PowertoolsLogger) => ({
  debug: (...args: unknown[]) => logger.debug(String(args[0])),
  info: (...args: unknown[]) => logger.info(String(args[0])),
  warn: (...args: unknown[]) => {
    if (!String(args[0]).startsWith(EMPTY_METRICS_WARNING)) logger.warn(String(args[0]));
  },
  error: (...args: unknown[]) => logger.error(String(args[0])),
});

export function createTelemetry(
  serviceName: string = DEFAULT_SERVICE_NAME,
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: TelemetryOptions = {},
): Telemetry {
  const service = env[ENV.serviceName] ?? serviceName;
  const logger = options.logger ?? new PowertoolsLogger({ serviceName: service });
  return {
    logger,
    metrics: new Metrics({
      namespace: env[ENV.metricsNamespace] ?? METRICS_NAMESPACE,
      serviceName: service,
      ...(options.warnOnEmptyMetrics === false ? { logger: metricsLoggerWithoutEmptyWarning(logger) } : {}),
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

/** Adapts Powertools Metrics (EMF) to the core's metric ports: the engine's, the budget's and the Bulk slots'. */
export const coreMetrics = (metrics: Metrics): MetricsSink & BudgetMetrics & BulkMetrics => ({
  record: (name: string, value: number, unit: keyof typeof MetricUnit, dimensions?: MetricDimensions) => {
    if (dimensions === undefined) {
      metrics.addMetric(name, MetricUnit[unit], value);
      return;
    }
    // A per-client datapoint: its own EMF record, with the service dimension and the client's.
    const single = metrics.singleMetric();
    single.addDimension('clientId', dimensions.clientId);
    single.addMetric(name, MetricUnit[unit], value);
  },
});

/** Both adapters at once. */
export const coreTelemetry = (telemetry: Telemetry): CoreTelemetry => ({
  logger: coreLogger(telemetry.logger),
  metrics: coreMetrics(telemetry.metrics),
});
