/**
 * The `instances` commands (`instances status` / `instances limits`): the Marketo API budget per instance,
 * read from (and the operator override written to) the budget table through the same core code as the vend
 * function.
 */
import type { InstanceLimits } from '../functions/contract/index.js';
import type { BudgetStatus } from '../functions/core/budget/index.js';
import { createInstanceBudget } from '../functions/core/budget/index.js';
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

/** Prints every instance with budget state (or one). */
export async function showInstances(
  target: Target,
  io: CliIo,
  options: { readonly instance?: string; readonly json?: boolean },
): Promise<void> {
  const budget = createInstanceBudget({ store: await target.budgetStore(), clock: systemClock });
  const statuses =
    options.instance === undefined
      ? await budget.listStatus()
      : [await budget.status(options.instance.toLowerCase())];
  if (options.json) {
    io.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  if (statuses.length === 0) {
    io.stdout.write('no instance has used the budget yet\n');
    return;
  }
  for (const status of statuses) io.stdout.write(`${line(status)}\n`);
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
