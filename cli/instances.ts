/**
 * The `instances` commands (`instances status` / `instances limits`): the Marketo API budget per instance and
 * its Bulk API slots (queue places, the day's export bytes), read from (and the operator override written to)
 * the budget table through the same core code as the vend function.
 */
import type { InstanceLimits } from '../functions/contract/index.js';
import type { BudgetStatus } from '../functions/core/budget/index.js';
import { createInstanceBudget } from '../functions/core/budget/index.js';
import { type BulkStatus, createBulkSlots } from '../functions/core/bulk/index.js';
import { systemClock } from '../functions/core/clock.js';
import type { CliIo } from './io.js';
import type { Target } from './target.js';

const line = (status: BudgetStatus): string => {
  const { usage } = status;
  const percent = ((100 * usage.dailyUsed) / usage.dailyQuota).toFixed(1);
  return [
    status.instance.padEnd(32),
    `window ${usage.windowCalls}/${usage.windowLimit}`,
    `in flight ${usage.inFlight}/${usage.concurrencyLimit}`,
    `today ${usage.dailyUsed.toLocaleString('en-US')}/${usage.dailyQuota.toLocaleString('en-US')} (${percent} %)`,
    `resets ${new Date(status.resetsAt).toISOString()}`,
    ...(status.exhausted ? ['EXHAUSTED'] : []),
    ...(status.slowedDown ? ['slowed down (606/615 reported)'] : []),
    ...(status.limits.enabled ? [] : ['budget off']),
  ].join('  ');
};

const MB = 1_000_000;
const megabytes = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** The Bulk API line of an instance: places in use per queue, the day's export bytes against the quota. */
const bulkLine = (bulk: BulkStatus): string => {
  const { usage } = bulk;
  const percent = ((100 * usage.exportBytes) / usage.exportDailyBytes).toFixed(1);
  return [
    `${''.padEnd(32)}bulk`,
    `extract slots ${usage.slots.extract.inUse}/${usage.slots.extract.limit}`,
    `import slots ${usage.slots.import.inUse}/${usage.slots.import.limit}`,
    `exported today ${megabytes(usage.exportBytes)}/${megabytes(usage.exportDailyBytes)} (${percent} %)`,
    ...(usage.exportBytesExpected > 0 ? [`+${megabytes(usage.exportBytesExpected)} expected in flight`] : []),
    ...(bulk.exportQuotaReached ? ['EXPORT QUOTA REACHED'] : []),
  ].join('  ');
};

/** Prints every instance with budget or Bulk slot state (or one). */
export async function showInstances(
  target: Target,
  io: CliIo,
  options: { readonly instance?: string; readonly json?: boolean },
): Promise<void> {
  const budget = createInstanceBudget({ store: await target.budgetStore(), clock: systemClock });
  const slots = createBulkSlots({ store: await target.bulkSlotStore(), clock: systemClock });
  const one = options.instance?.toLowerCase();
  const bulk = one === undefined ? await slots.listStatus() : [await slots.status(one)];
  const listed = one === undefined ? await budget.listStatus() : [];
  // Every instance with budget state, and those that only used Bulk slots.
  const instances = [...new Set([...listed.map((s) => s.instance), ...bulk.map((s) => s.instance)])].sort();
  const statuses = await Promise.all(
    (one === undefined ? instances : [one]).map(async (instance) => ({
      ...(listed.find((s) => s.instance === instance) ?? (await budget.status(instance))),
      bulk: bulk.find((s) => s.instance === instance) ?? (await slots.status(instance)),
    })),
  );
  if (options.json) {
    io.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  if (statuses.length === 0) {
    io.stdout.write('no instance has used the budget yet\n');
    return;
  }
  for (const status of statuses) io.stdout.write(`${line(status)}\n${bulkLine(status.bulk)}\n`);
}

/** Sets (or clears) an instance's limit override; prints the limits now in force. */
export async function setInstanceLimits(
  target: Target,
  io: CliIo,
  instance: string,
  override: Partial<InstanceLimits> | undefined,
): Promise<void> {
  const budget = createInstanceBudget({ store: await target.budgetStore(), clock: systemClock });
  const limits = await budget.setLimits(instance.toLowerCase(), override);
  io.stdout.write(`${instance.toLowerCase()}: ${JSON.stringify(limits)}\n`);
}
