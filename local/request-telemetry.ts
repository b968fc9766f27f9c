/**
 * One logger context per request. In Lambda an execution environment runs one invocation at a time, so the
 * vend handler's `injectLambdaContext` may put the request id on its one logger; local mode runs many
 * requests at once in one process, where that shared context made audit lines carry another request's id.
 * Here every request gets a handler whose logger is a child of the process's logger (same service, level
 * and output), so each line names its own request.
 */
import type { Telemetry } from '../functions/telemetry.js';
import type { VendHandler } from './local-api.js';

/** A vend handler that builds, per request, the handler `build` makes for a fresh child logger. */
export function perRequestLogger(
  telemetry: Telemetry,
  build: (scoped: Telemetry) => VendHandler,
): VendHandler {
  return (event, context) => build({ ...telemetry, logger: telemetry.logger.createChild() })(event, context);
}
