/**
 * `npm run bench`: runs the benchmark scenarios side by side in one run, prints their figures, writes
 * docs/benchmarks.md and its charts, and exits non-zero if a hard invariant broke.
 *
 *   npm run bench                         all scenarios, writes the report
 *   npm run bench -- --only stampede      one scenario (or a comma list), prints only
 *   npm run bench -- --only steady --write  ... and replaces only its section of docs/benchmarks.md
 *   npm run bench -- --quick              smaller sizes for a smoke run (never written unless --write)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { machineInfo } from './lib/machine.js';
import { renderMarkdown, spliceMarkdown, writeReport } from './lib/report.js';
import type { Scenario, ScenarioReport } from './lib/scenario.js';
import { fmt, nowMs } from './lib/stats.js';
import { budgetScenario } from './scenarios/budget.js';
import { coldStartScenario } from './scenarios/cold-start.js';
import { expiryGapScenario } from './scenarios/expiry-gap.js';
import { localApiScenario } from './scenarios/local-api.js';
import { poolsScenario } from './scenarios/pools.js';
import { refresherScaleScenario } from './scenarios/refresher-scale.js';
import { rotationScenario } from './scenarios/rotation.js';
import { stampedeScenario } from './scenarios/stampede.js';
import { steadyStateScenario } from './scenarios/steady-state.js';
import { syncJobsScenario } from './scenarios/sync-jobs.js';
import { vendLatencyScenario } from './scenarios/vend-latency.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  stampedeScenario,
  vendLatencyScenario,
  localApiScenario,
  coldStartScenario,
  refresherScaleScenario,
  steadyStateScenario,
  expiryGapScenario,
  poolsScenario,
  rotationScenario,
  budgetScenario,
  syncJobsScenario,
];

const program = new Command()
  .name('bench')
  .description('Marketo token vendor benchmarks (loopback only)')
  .addOption(
    new Option('--only <ids>', 'comma-separated scenario ids to run').argParser((v) =>
      v.split(',').map((s) => s.trim()),
    ),
  )
  .option('--quick', 'smaller sizes for a smoke run', false)
  .option('--write', 'write docs/benchmarks.md and charts (default: only for a full, non-quick run)')
  .option('--no-write', 'never write the report')
  .option('--list', 'list scenario ids and exit', false)
  .addHelpText('after', `\nScenario ids: ${SCENARIOS.map((s) => s.id).join(', ')}`);

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ only?: string[]; quick: boolean; write?: boolean; list: boolean }>();
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.id.padEnd(10)} ${s.title}\n`);
    return 0;
  }
  const unknown = (opts.only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}\n`,
    );
    return 2;
  }
  const selected = opts.only ? SCENARIOS.filter((s) => opts.only?.includes(s.id)) : SCENARIOS;
  const write = opts.write ?? (opts.only === undefined && !opts.quick);
  const machine = machineInfo();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  const started = nowMs();
  const reports: ScenarioReport[] = [];
  for (const scenario of selected) {
    log(`\n▶ ${scenario.title}`);
    const report = await scenario.run({ quick: opts.quick, log });
    reports.push(report);
    process.stdout.write(`\n== ${report.title} (${fmt(report.durationMs / 1000)} s)\n`);
    for (const line of report.console) process.stdout.write(`${line}\n`);
    for (const t of report.targets) {
      process.stdout.write(
        `  target ${t.met ? 'met   ' : 'MISSED'}: ${t.target} — ${t.measured}${t.note ? ` (${t.note})` : ''}\n`,
      );
    }
    for (const v of report.violations) process.stdout.write(`  INVARIANT BROKEN: ${v}\n`);
  }
  const totalMs = nowMs() - started;
  if (write) {
    const docs = fileURLToPath(new URL('../docs', import.meta.url));
    const flags = [
      ...(opts.quick ? ['--quick'] : []),
      ...(opts.only ? ['--only', opts.only.join(','), '--write'] : []),
    ];
    const command = `npm run bench${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
    // A partial run replaces only its scenarios' sections of the report the last run wrote.
    const markdown = opts.only
      ? spliceMarkdown(
          readFileSync(join(docs, 'benchmarks.md'), 'utf8'),
          machine,
          reports,
          totalMs,
          command,
          SCENARIOS.map((s) => s.title),
        )
      : renderMarkdown(machine, reports, totalMs, command);
    const files = writeReport(docs, markdown, reports);
    process.stdout.write(`\nwrote ${files.join(', ')}\n`);
  }
  const violations = reports.flatMap((r) => r.violations);
  process.stdout.write(
    `\n${violations.length === 0 ? 'all hard invariants held' : `${violations.length} hard invariant(s) broken`} ` +
      `(${fmt(totalMs / 1000)} s)\n`,
  );
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
