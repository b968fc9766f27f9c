/**
 * The `instances` commands (`instances status` / `instances limits` / `instances usage`): the Marketo API
 * budget per instance, its usage per consumer and its Bulk API slots (queue places, the day's export bytes),
 * read from (and the operator override written to) the budget table through the same core code as the vend
 * function.
 */
import { type InstanceLimits, quotaDay } from '../functions/contract/index.js';
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

/** One consumer's row of `instances usage`. */
interface UsageRow {
  readonly consumer: string;
  readonly client: string;
  readonly calls: number;
  readonly vends: number;
  readonly marketo606: number;
  readonly marketo615: number;
  readonly marketo607: number;
  readonly bulkJobs: number;
  readonly extractMegabytes: number;
}

const number = (n: number): string => n.toLocaleString('en-US');

/**
 * Usage per consumer of one instance on one quota day (today by default): the top consumers by calls, with
 * token vends, Marketo limit errors they reported and Bulk extracts; the vendor's count and Marketo's own.
 */
export async function showUsage(
  target: Target,
  io: CliIo,
  instance: string,
  options: { readonly json?: boolean; readonly day?: string; readonly top?: number },
): Promise<void> {
  const key = instance.toLowerCase();
  const store = await target.budgetStore();
  const day = options.day ?? quotaDay(systemClock.now());
  const status = await createInstanceBudget({ store, clock: systemClock }).status(key);
  const rows: UsageRow[] = (await store.readUsage(key, day))
    .map(({ consumer, client, counts }) => ({
      consumer,
      client,
      calls: counts.calls,
      vends: counts.vends,
      marketo606: counts.marketo606,
      marketo615: counts.marketo615,
      marketo607: counts.marketo607,
      bulkJobs: counts.bulkJobs,
      extractMegabytes: Math.round((counts.extractBytes / 1_000_000) * 10) / 10,
    }))
    .sort((a, b) => b.calls - a.calls || b.vends - a.vends || a.consumer.localeCompare(b.consumer));
  const top = rows.slice(0, options.top ?? 10);
  const today = day === quotaDay(systemClock.now());
  const summary = {
    instance: key,
    day,
    consumers: top,
    ...(rows.length > top.length ? { moreConsumers: rows.length - top.length } : {}),
    callsByConsumers: rows.reduce((sum, row) => sum + row.calls, 0),
    ...(today ? { vendorDailyCount: status.usage.dailyUsed } : {}),
    ...(today && status.marketo
      ? { marketoCount: status.marketo.calls, marketoCountAt: new Date(status.marketo.at).toISOString() }
      : {}),
  };
  if (options.json) {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const counted =
    summary.marketoCount === undefined
      ? ''
      : `; Marketo counted ${number(summary.marketoCount)} at ${summary.marketoCountAt} (every integration of the instance)`;
  io.stdout.write(
    `${key}, quota day ${day} (America/Chicago): ${number(summary.callsByConsumers)} calls by the vendor's consumers${counted}\n`,
  );
  if (rows.length === 0) {
    io.stdout.write('no consumer has used this instance through the vendor on that day\n');
    return;
  }
  const header = ['consumer', 'client', 'calls', 'vends', '606', '615', '607', 'bulk jobs', 'extract MB'];
  const cells = top.map((row) => [
    row.consumer,
    row.client,
    number(row.calls),
    number(row.vends),
    number(row.marketo606),
    number(row.marketo615),
    number(row.marketo607),
    number(row.bulkJobs),
    row.extractMegabytes.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const format = (cols: readonly string[]) =>
    cols
      .map((col, i) => (i < 2 ? col.padEnd(widths[i] as number) : col.padStart(widths[i] as number)))
      .join('  ');
  io.stdout.write(`${format(header)}\n`);
  for (const row of cells) io.stdout.write(`${format(row)}\n`);
  if (summary.moreConsumers) io.stdout.write(`… and ${summary.moreConsumers} more (--top)\n`);
}
