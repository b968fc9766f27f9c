/**
 * Issue 27 benchmark, sync jobs on one instance: 4 processes x 4 Bulk Extract jobs (the client library's
 * `bulkExport`) while REST consumers take permits, against the simulator's Bulk limits (10 queued, 2
 * processing, a daily export quota of 12 files) and REST limits (100 per 20 s, 10 at once); with the
 * vendor's slots, then without them (the before row). The jobs run on a fast clock (sync-jobs-run.ts).
 */
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs, summarize } from '../lib/stats.js';
import { runSyncJobs, type SyncJobsOptions, type SyncJobsRow } from './sync-jobs-run.js';

const MB = 1_000_000;
const mb = (bytes: number): string => `${fmt(bytes / MB)} MB`;
const refused1029 = (row: SyncJobsRow): number => row.bulk.refusedQueueFull + row.bulk.refusedQuota;
const usageTotal = (row: SyncJobsRow): number => row.usage.reduce((sum, u) => sum + u.extractBytes, 0);

/** Hard invariants of the row with the vendor's slots (also asserted by test/bench/sync-jobs.test.ts). */
export function syncJobsViolations(row: SyncJobsRow, options: SyncJobsOptions): string[] {
  const violations: string[] = [];
  if (refused1029(row) > 0)
    violations.push(`Marketo answered 1029 ${refused1029(row)} times with the slots on`);
  if (row.refused606 + row.refused615 > 0) {
    violations.push(`Marketo answered 606/615 ${row.refused606 + row.refused615} times with the budget on`);
  }
  if (row.bulk.peakQueued > options.queueLimit) violations.push(`${row.bulk.peakQueued} jobs queued at once`);
  if (row.bulk.exportedBytes > options.exportDailyBytes) {
    violations.push(`${row.bulk.exportedBytes} bytes exported, past the ${options.exportDailyBytes} quota`);
  }
  if (usageTotal(row) !== row.bulk.exportedBytes) {
    violations.push(
      `per-consumer usage ${usageTotal(row)} bytes, the simulator counted ${row.bulk.exportedBytes}`,
    );
  }
  return violations;
}

const row = (r: SyncJobsRow, options: SyncJobsOptions): string =>
  `| ${r.name} | ${r.outcomes.ok ?? 0} | ${r.outcomes.DailyExportQuotaExhausted ?? 0} | ${r.bulk.refusedQueueFull} | ${r.bulk.refusedQuota} | ${r.refused606} / ${r.refused615} | ${r.bulk.peakQueued} of ${options.queueLimit} | ${r.slots ? `${fmt(r.placesWhileWaiting.mean)} (p10 ${r.placesWhileWaiting.p10})` : 'n/a'} | ${mb(r.bulk.exportedBytes)} of ${mb(options.exportDailyBytes)} | ${r.restOk} | ${fmt(r.durationMs / 1000)} s |`;

export const syncJobsScenario: Scenario = {
  id: 'sync-jobs',
  title: 'Sync jobs: 4 processes x 4 Bulk Extract jobs on one instance, with and without slots (issue 27)',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const { options, rows } = await runSyncJobs(
      quick ? { jobMs: 90_000, firstPollMs: 1_000, maxPollMs: 4_000 } : {},
      log,
    );
    const [slots, before] = rows;
    const quotaMs = summarize(slots.quotaErrorMs);
    const violations = syncJobsViolations(slots, options);
    const usageLines = slots.usage
      .filter((u) => u.bulkJobs > 0)
      .map(
        (u) =>
          `${u.consumer.replace('arn:aws:iam::111122223333:role/', '')} (${u.client}): ${u.bulkJobs} jobs, ${mb(u.extractBytes)}, ${u.calls} calls`,
      );
    const targets: TargetCheck[] = [
      {
        target: "0 x 1029 and 0 x 606/615 with the vendor's slots",
        measured: `1029: ${refused1029(slots)} (before: ${refused1029(before)}); 606/615: ${slots.refused606 + slots.refused615}`,
        met: refused1029(slots) === 0 && slots.refused606 + slots.refused615 === 0,
      },
      {
        target: 'the extract places fully used while jobs wait',
        measured: `Marketo's queue peaked at ${slots.bulk.peakQueued} of ${options.queueLimit}; ${fmt(slots.placesWhileWaiting.mean)} places in use on average (p10 ${slots.placesWhileWaiting.p10}) while an export waited for one; ${slots.slotWaits.slots ?? 0} "every place held" answers`,
        met:
          slots.bulk.peakQueued === options.queueLimit &&
          slots.placesWhileWaiting.mean >= options.queueLimit - 1,
      },
      {
        target: 'the daily export quota reached with a typed error and its reset time',
        measured: `${slots.outcomes.DailyExportQuotaExhausted ?? 0} exports: ${slots.quotaErrorSample ?? 'none'}; at most ${fmt(quotaMs.max)} ms after the day's last file was counted`,
        met:
          (slots.outcomes.DailyExportQuotaExhausted ?? 0) > 0 &&
          slots.bulk.exportedBytes === options.exportDailyBytes,
      },
      {
        target: "per-consumer usage adds up to the simulator's count",
        measured: `${mb(usageTotal(slots))} booked to consumers, ${mb(slots.bulk.exportedBytes)} counted by the simulator; per client ${JSON.stringify(slots.usageByClient)} vs ${JSON.stringify(slots.bulk.exportedBytesByClient)}`,
        met:
          usageTotal(slots) === slots.bulk.exportedBytes &&
          Object.entries(slots.bulk.exportedBytesByClient).every(
            ([client, n]) => slots.usageByClient[client] === n,
          ),
      },
    ];
    const console = [
      ...rows.map(
        (r) =>
          `${r.name.padEnd(24)} ok ${r.outcomes.ok ?? 0}, quota refused ${r.outcomes.DailyExportQuotaExhausted ?? 0}, 1029 queue-full ${r.bulk.refusedQueueFull}, 1029 quota ${r.bulk.refusedQuota}, 606/615 ${r.refused606}/${r.refused615}, queue peak ${r.bulk.peakQueued}, exported ${mb(r.bulk.exportedBytes)}, REST ok ${r.restOk}, ${fmt(r.durationMs / 1000)} s`,
      ),
      `per consumer (slots): ${usageLines.join(', ')}`,
    ];
    const markdown = [
      `${options.processes} worker processes (\`child_process.fork\`), each one vend "Lambda" (permits and Bulk API slots on a shared dynalite budget table, behind a loopback API) running ${options.exportsPerProcess} \`bulkExport\` jobs at once and ${options.restConsumersPerProcess} REST consumers (\`marketoFetch\` on leads.json every ${options.restPaceMs / 1000} s until its jobs are done). The simulated instance enforces 100 calls per 20 s and 10 at once (${options.restLatencyMs} ms per call), and Bulk Extract's limits: ${options.queueLimit} jobs queued, 2 processing, ${mb(options.exportDailyBytes)} a day; files of ${mb(options.fileBytes)}. Jobs take ${options.jobMs / 1000} s on a clock ${options.speed} times faster than real time; the client polls after ${options.firstPollMs / 1000} s, doubling to ${options.maxPollMs / 1000} s. Each job states its expected size. The before row runs the same jobs on a vendor without slot routes: the client goes on unmetered and waits out Marketo's 1029 "Too many jobs in queue" by itself.`,
      '',
      '| row | jobs done | refused (quota, typed) | 1029 queue full | 1029 quota | 606 / 615 | Marketo queue peak | places in use while a job waited | exported today | REST calls ok | duration |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row(slots, options),
      row(before, options),
      '',
      `- **The quota** with slots: ${slots.outcomes.DailyExportQuotaExhausted ?? 0} jobs got \`${slots.quotaErrorSample ?? 'n/a'}\`, at most ${fmt(quotaMs.max)} ms after the day's last file was counted (they waited while the jobs in flight could still use up the day). Without slots Marketo lets every job it accepted run to its end: ${mb(before.bulk.exportedBytes)} exported against a quota of ${mb(options.exportDailyBytes)}, and any job created later that day is refused with 1029.`,
      `- **Per consumer** (usage per consumer as the vendor booked it, \`instances usage\`: Bulk jobs and extracted bytes from each job's end, calls from permits): ${usageLines.join('; ')}; ${mb(usageTotal(slots))} in all, as the simulator counted (${JSON.stringify(slots.bulk.exportedBytesByClient)} per client).`,
      `- Wall time depends on this machine only through the REST calls; the jobs' durations are the simulator's. Re-measure on an idle machine for the durations.`,
    ].join('\n');
    return {
      id: 'sync-jobs',
      title: syncJobsScenario.title,
      markdown,
      console,
      targets,
      violations,
      charts: [],
      durationMs: nowMs() - started,
    };
  },
};
