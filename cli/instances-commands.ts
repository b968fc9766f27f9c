/**
 * The `instances` command group: the shared Marketo API budget per instance (`status`, `limits`) and its
 * usage per consumer (`usage`). The commands' work is in instances.ts.
 */
import type { Command } from 'commander';
import { EXIT_OK, usageError } from './errors.js';
import { setInstanceLimits, showInstances, showUsage } from './instances.js';
import type { CliIo } from './io.js';
import type { Target } from './target.js';

/** Opens the command's target, runs `action` on it, closes it (cli/index.ts). */
export type WithTarget = (
  command: Command,
  action: (target: Target) => Promise<number | undefined>,
) => Promise<void>;

/** Registers `instances status | limits | usage` on `program`. */
export function addInstancesCommands(program: Command, io: CliIo, withTarget: WithTarget): void {
  const instances = program
    .command('instances')
    .description('the shared Marketo API budget per instance (REST host)');
  instances
    .command('status')
    .description(
      'per instance: calls in the current window, concurrency in use, daily use against quota and its reset; Bulk API slots in use and bytes exported today',
    )
    .argument('[instance]', 'one instance (REST host), or all that used the budget')
    .option('--json', 'machine-readable output')
    .action(async (instance: string | undefined, options: { json?: boolean }, command: Command) => {
      await withTarget(command, async (target) => {
        await showInstances(target, io, { ...(instance === undefined ? {} : { instance }), ...options });
        return EXIT_OK;
      });
    });
  instances
    .command('limits')
    .description("override an instance's limits at run time (wins over the deployment's budget.limits)")
    .argument('<instance>', 'REST host, e.g. 123-abc-456.mktorest.com')
    .option('--calls-per-window <n>', 'calls per rolling 20 s', Number)
    .option('--concurrent-calls <n>', 'calls at once', Number)
    .option('--daily-quota <n>', 'calls per day (00:00 America/Chicago)', Number)
    .option('--reserved-share <x>', 'share held back for integrations outside the vendor (0-0.9)', Number)
    .option('--client-share <x>', 'share of the concurrency one client may hold (0.1-1, default 0.5)', Number)
    .option('--off', 'turn the budget off for this instance (permits unmetered)')
    .option('--clear', 'remove the override')
    .action(
      async (
        instance: string,
        options: {
          callsPerWindow?: number;
          concurrentCalls?: number;
          dailyQuota?: number;
          reservedShare?: number;
          clientShare?: number;
          off?: boolean;
          clear?: boolean;
        },
        command: Command,
      ) => {
        const { clear, off, ...numbers } = options;
        const override = clear ? undefined : { ...numbers, ...(off ? { enabled: false } : {}) };
        await withTarget(command, async (target) => {
          await setInstanceLimits(target, io, instance, override);
          return EXIT_OK;
        });
      },
    );
  instances
    .command('usage')
    .description(
      "usage per consumer of an instance: calls, token vends, Marketo limit errors and Bulk extracts by each principal, today's top first",
    )
    .argument('<instance>', 'REST host, e.g. 123-abc-456.mktorest.com')
    .option('--day <yyyy-mm-dd>', 'a quota day (America/Chicago) of the last three', undefined)
    .option('--top <n>', 'consumers to show', Number, 10)
    .option('--json', 'machine-readable output')
    .action(
      async (instance: string, options: { json?: boolean; day?: string; top: number }, command: Command) => {
        if (options.day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.day)) {
          throw usageError(`--day must be a date like 2026-12-01, got "${options.day.slice(0, 40)}"`);
        }
        if (!Number.isInteger(options.top) || options.top < 1) {
          throw usageError('--top must be a whole number from 1');
        }
        await withTarget(command, async (target) => {
          await showUsage(target, io, instance, options);
          return EXIT_OK;
        });
      },
    );
}
