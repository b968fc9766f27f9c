/**
 * Local mode's Bulk API slots: the same slot service the Lambda runs, on the budget table of local mode's
 * store (an item per instance beside the budget's), with `BULK_LIMITS` read as the Lambda reads it.
 */
import { readBulkConfig } from '../../functions/config.js';
import type { UsageRecorder } from '../../functions/core/budget/index.js';
import { createBulkSlots, recordBulkUsage } from '../../functions/core/bulk/index.js';
import { systemClock } from '../../functions/core/clock.js';
import type { CredentialsSource } from '../../functions/core/ports.js';
import { type BulkSlotService, createBulkSlotService } from '../../functions/http/bulk-slot-request.js';
import { coreLogger, coreMetrics, type Telemetry } from '../../functions/telemetry.js';
import type { LocalStore } from './store.js';

export async function buildBulkSlots(wiring: {
  readonly store: LocalStore;
  readonly budgetTableName: string;
  readonly credentials: CredentialsSource;
  readonly telemetry: Telemetry;
  /** Read for `BULK_LIMITS`, as the Lambda reads it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The permits' usage recorder: each counted job end is booked to its consumer. @default none */
  readonly usage?: UsageRecorder;
}): Promise<BulkSlotService> {
  const { telemetry } = wiring;
  const logger = coreLogger(telemetry.logger);
  return createBulkSlotService({
    slots: createBulkSlots(
      {
        store: await wiring.store.bulkSlotStore(wiring.budgetTableName),
        clock: systemClock,
        metrics: coreMetrics(telemetry.metrics),
        logger,
        ...(wiring.usage === undefined ? {} : { usage: recordBulkUsage(wiring.usage) }),
      },
      { limits: readBulkConfig(wiring.env).limits },
    ),
    credentials: wiring.credentials,
    logger,
  });
}
