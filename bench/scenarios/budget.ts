/**
 * Issue 16 benchmark, the shared Marketo API budget: 4 processes x 8 consumers call one simulated Marketo
 * instance (100 calls per rolling 20 s, 10 concurrent, 150 ms per call) through the client library's
 * `marketoFetch` as fast as they can, first with the budget off (each consumer polite on its own: backoff
 * on 606/615), then on, each phase on a fresh simulated instance; then the instance's daily quota is set to
 * run out mid-phase to show what consumers see. Each process is one vend "Lambda": the permit service on a
 * shared dynalite budget table behind a loopback API.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBudgetTable, DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import { createInstanceBudget, instanceKeyOf } from '../../functions/core/budget/index.js';
import { createMarketoSimulator } from '../../local/marketo-simulator.js';
import { startDynalite } from '../../testing/dynalite.js';
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs, type Summary, summarize } from '../lib/stats.js';
import { runVirtualBudget, type VirtualBudgetResult } from './budget-virtual.js';
import type { BudgetWorkerInput, BudgetWorkerResult } from './budget-worker.js';

const WORKER = fileURLToPath(new URL('./budget-worker.ts', import.meta.url));
const LIMIT = { callsPerWindow: 100, windowMs: 20_000, concurrentCalls: 10 };
const SETUP =
  '4 worker processes (`child_process.fork`) x 8 consumers, each process one vend "Lambda" (the permit service on a shared dynalite budget table, behind a loopback API); the simulated instance enforces 100 calls per rolling 20 s and 10 concurrent calls and takes 150 ms per call. Consumers alternate between two Custom Services of the instance; each phase runs on a fresh simulated instance.';
const MARKETO_CLIENT = { clientId: 'bench-marketo', clientSecret: 'bench-marketo-secret' };

export interface BudgetBenchOptions {
  readonly processes?: number;
  readonly consumersPerProcess?: number;
  readonly durationMs?: number;
  readonly restLatencyMs?: number;
  readonly log?: (line: string) => void;
}

/** One phase's figures. */
export interface BudgetPhase {
  readonly name: string;
  readonly durationMs: number;
  readonly successes: number;
  /** Successful calls per 20 s, averaged over the phase. */
  readonly perWindow: number;
  /** Successful calls in each whole fixed 20 s window. */
  readonly windows: number[];
  readonly refused606: number;
  readonly refused615: number;
  readonly peakConcurrent: number;
  readonly peakWindowCalls: number;
  readonly permitLatency: Summary;
  readonly callLatency: Summary;
  /** Per successful call: the wait for its permit (from `marketoFetch` to the request leaving). */
  readonly permitWait: Summary;
  readonly vendorCallsPerCall: number;
  readonly storeWritesPerCall: number;
  readonly storeReadsPerCall: number;
  readonly failures: Record<string, number>;
  /** Permits given back unused because they arrived after their use-by time. */
  readonly expired: number;
  readonly quotaErrorMs: Summary;
  readonly quotaErrorSample?: string;
}

/** Forks a worker; `ready` resolves once it can start, `go(startAt)` starts it, `result` is its report. */
const startWorker = (input: BudgetWorkerInput) => {
  const child = fork(WORKER, [JSON.stringify(input)], { execArgv: ['--import', 'tsx'], silent: true });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const result = new Promise<BudgetWorkerResult>((resolve, reject) => {
    let report: BudgetWorkerResult | undefined;
    child.on('message', (message: BudgetWorkerResult | { ready: true }) => {
      if ('ready' in message) onReady();
      else report = message;
    });
    child.once('exit', (code) => {
      onReady();
      if (report) resolve(report);
      else reject(new Error(`budget worker exited ${code}`));
    });
  });
  return { ready, result, go: (startAt: number) => child.connected && child.send({ startAt }) };
};

async function runPhase(
  name: string,
  options: Required<Omit<BudgetBenchOptions, 'log'>> & {
    readonly budget: boolean;
    readonly dailyQuota?: number;
    readonly paceMs?: number;
  },
  dynamo: { readonly endpoint: string; readonly tableName: string; readonly store: DynamoBudgetStore },
): Promise<BudgetPhase> {
  const sim = createMarketoSimulator({
    clients: [MARKETO_CLIENT],
    limits: LIMIT,
    restLatencyMs: options.restLatencyMs,
  });
  await sim.start();
  try {
    const identity = await fetch(
      `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${MARKETO_CLIENT.clientId}&client_secret=${MARKETO_CLIENT.clientSecret}`,
    );
    const { access_token: accessToken } = (await identity.json()) as { access_token: string };
    if (options.dailyQuota !== undefined) {
      const budget = createInstanceBudget({
        store: dynamo.store,
        clock: { now: Date.now, sleep: async () => {} },
      });
      await budget.setLimits(instanceKeyOf({ identityUrl: sim.identityUrl, restUrl: sim.restUrl }), {
        dailyQuota: options.dailyQuota,
      });
    }
    const workers = Array.from({ length: options.processes }, () =>
      startWorker({
        dynamoEndpoint: dynamo.endpoint,
        tableName: dynamo.tableName,
        restUrl: sim.restUrl,
        identityUrl: sim.identityUrl,
        accessToken,
        // Two Custom Services of the one instance: they share its budget.
        clientIds: ['sync-orders', 'sync-leads'],
        consumers: options.consumersPerProcess,
        durationMs: options.durationMs,
        budget: options.budget,
        stopOnQuota: options.dailyQuota !== undefined,
        paceMs: options.paceMs ?? 0,
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    // Everyone begins at the same instant, once every process has loaded.
    const startAt = Date.now() + 200;
    for (const w of workers) w.go(startAt);
    const results = await Promise.all(workers.map((w) => w.result));
    const counters = sim.limitCounters();
    const successAt = results.flatMap((r) => r.successAt).sort((a, b) => a - b);
    const windows: number[] = [];
    for (let from = startAt; from + LIMIT.windowMs <= startAt + options.durationMs; from += LIMIT.windowMs) {
      windows.push(successAt.filter((t) => t >= from && t < from + LIMIT.windowMs).length);
    }
    const marketoCalls =
      (counters?.accepted ?? 0) + (counters?.refused606 ?? 0) + (counters?.refused615 ?? 0);
    const sum = (pick: (r: BudgetWorkerResult) => number) => results.reduce((s, r) => s + pick(r), 0);
    const failures: Record<string, number> = {};
    for (const r of results) {
      for (const [code, n] of Object.entries(r.failures)) failures[code] = (failures[code] ?? 0) + n;
    }
    const quotaSample = results.find((r) => r.quotaErrorSample)?.quotaErrorSample;
    return {
      name,
      durationMs: options.durationMs,
      successes: successAt.length,
      // Calls that finish after the deadline (a consumer that got its permit late) do not count.
      perWindow:
        (successAt.filter((t) => t < startAt + options.durationMs).length * LIMIT.windowMs) /
        options.durationMs,
      windows,
      refused606: counters?.refused606 ?? 0,
      refused615: counters?.refused615 ?? 0,
      peakConcurrent: counters?.peakConcurrent ?? 0,
      peakWindowCalls: counters?.peakWindowCalls ?? 0,
      permitLatency: summarize(results.flatMap((r) => r.permitLatencyMs)),
      callLatency: summarize(results.flatMap((r) => r.callLatencyMs)),
      permitWait: summarize(results.flatMap((r) => r.permitWaitMs)),
      vendorCallsPerCall:
        marketoCalls === 0 ? 0 : sum((r) => r.permitRequests + r.releaseRequests) / marketoCalls,
      storeWritesPerCall: marketoCalls === 0 ? 0 : sum((r) => r.storeWrites) / marketoCalls,
      storeReadsPerCall: marketoCalls === 0 ? 0 : sum((r) => r.storeReads) / marketoCalls,
      failures,
      expired: sum((r) => r.expired),
      quotaErrorMs: summarize(results.flatMap((r) => r.quotaErrorMs)),
      ...(quotaSample === undefined ? {} : { quotaErrorSample: quotaSample }),
    };
  } finally {
    await sim.stop();
  }
}

/** Runs the three phases on one dynalite budget table. */
export async function runBudgetBench(options: BudgetBenchOptions = {}): Promise<BudgetPhase[]> {
  const settings = {
    processes: options.processes ?? 4,
    consumersPerProcess: options.consumersPerProcess ?? 8,
    durationMs: options.durationMs ?? 60_000,
    restLatencyMs: options.restLatencyMs ?? 150,
  };
  const log = options.log ?? (() => {});
  const dynalite = await startDynalite();
  const tableName = 'bench-budget';
  await createBudgetTable(dynalite.client, tableName);
  const dynamo = {
    endpoint: dynalite.endpoint,
    tableName,
    store: new DynamoBudgetStore({ client: dynalite.client, tableName }),
  };
  try {
    log(
      `  budget off: ${settings.processes} x ${settings.consumersPerProcess} consumers, ${settings.durationMs / 1000} s`,
    );
    const off = await runPhase('budget off', { ...settings, budget: false }, dynamo);
    log(
      `  budget on: ${settings.processes} x ${settings.consumersPerProcess} consumers, ${settings.durationMs / 1000} s`,
    );
    const on = await runPhase('budget on', { ...settings, budget: true }, dynamo);
    log('  daily quota running out (quota 60 calls)');
    const quota = await runPhase(
      'quota runs out',
      { ...settings, budget: true, dailyQuota: 60, durationMs: 30_000 },
      dynamo,
    );
    // The cost of a permit where no wait hides it: one consumer, well under the limits (2.5 calls/s).
    log('  overhead: 1 consumer, one call every 250 ms, budget off then on');
    const paced = { processes: 1, consumersPerProcess: 1, durationMs: 20_000, paceMs: 250 };
    const overheadOff = await runPhase('paced, budget off', { ...settings, ...paced, budget: false }, dynamo);
    const overheadOn = await runPhase('paced, budget on', { ...settings, ...paced, budget: true }, dynamo);
    return [off, on, quota, overheadOff, overheadOn];
  } finally {
    await dynalite.stop();
  }
}

const row = (p: BudgetPhase): string =>
  `| ${p.name} | ${p.refused606} | ${p.refused615} | ${p.successes} | ${fmt(p.perWindow)} (${fmt(p.perWindow)} %) | ${p.windows.join(', ')} | ${p.peakConcurrent} | ${fmt(p.permitWait.p50)} / ${fmt(p.permitWait.p99)} / ${fmt(p.permitWait.max)} ms | ${fmt(p.callLatency.p50)} / ${fmt(p.callLatency.p99)} ms |`;

export const budgetScenario: Scenario = {
  id: 'budget',
  title: 'Shared Marketo API budget: 4 processes x 8 consumers on one instance (issue 16)',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const phases = await runBudgetBench({ durationMs: quick ? 21_000 : 60_000, log });
    const [off, on, quota, pacedOff, pacedOn] = phases as [
      BudgetPhase,
      BudgetPhase,
      BudgetPhase,
      BudgetPhase,
      BudgetPhase,
    ];
    log('  virtual clock: 4 x 8 consumers, 320 s, grants as the window frees (before) then paced');
    const virtualRuns = [
      await runVirtualBudget({ paced: false, durationMs: 320_000 }),
      await runVirtualBudget({ paced: true, durationMs: 320_000 }),
    ];
    const [burst, paced] = virtualRuns as [VirtualBudgetResult, VirtualBudgetResult];
    // The pacing's promise: the longest wait is the consumers ahead (32 ÷ rate), plus the idle burst.
    const waitBoundMs = (32 + 6) * (21_250 / 100);
    const errorsOn = on.refused606 + on.refused615;
    const addedP50 = pacedOn.callLatency.p50 - pacedOff.callLatency.p50;
    const addedP99 = pacedOn.callLatency.p99 - pacedOff.callLatency.p99;
    const targets: TargetCheck[] = [
      {
        target: '606/615 errors with the budget on: 0',
        measured: `${errorsOn} (budget off: ${off.refused606 + off.refused615})`,
        met: errorsOn === 0,
      },
      {
        target: 'successful calls per 20 s window >= 90 % of 100',
        measured: `${fmt(on.perWindow)} per 20 s over the run (whole windows: ${on.windows.join(', ')})`,
        met: on.perWindow >= 90,
        ...(on.perWindow >= 90
          ? {}
          : {
              note: 'slots are counted for 21.25 s (20 s + 1.25 s use-by/network margin): 94 per 20 s is the ceiling; waiters wake on a 50 ms grid',
            }),
      },
      {
        target: `virtual clock, paced: 0 × 606/615, longest wait <= (32 consumers + burst) ÷ rate = ${fmt(waitBoundMs)} ms, sustained rate as before`,
        measured: `${paced.refused606 + paced.refused615} × 606/615; wait p50 ${fmt(paced.wait.p50)} / p99 ${fmt(paced.wait.p99)} / max ${fmt(paced.wait.max)} ms (before: max ${fmt(burst.wait.max)} ms); ${fmt(paced.perWindow)} vs ${fmt(burst.perWindow)} calls per 20 s`,
        met:
          paced.refused606 + paced.refused615 === 0 &&
          paced.wait.max <= waitBoundMs &&
          paced.perWindow >= 0.98 * burst.perWindow,
      },
      {
        target: 'a consumer sees a typed error, fast, when the daily quota runs out',
        measured: `${quota.quotaErrorMs.count} consumers: DailyQuotaExhausted in p50 ${fmt(quota.quotaErrorMs.p50)} ms, max ${fmt(quota.quotaErrorMs.max)} ms`,
        met: quota.quotaErrorMs.count > 0 && quota.quotaErrorMs.max < 1_000,
      },
    ];
    const console = [
      ...phases.map(
        (p) =>
          `${p.name.padEnd(18)} 606 ${p.refused606}, 615 ${p.refused615}, ok ${p.successes} (${fmt(p.perWindow)}/20 s; windows ${p.windows.join(',')}), peak ${p.peakConcurrent} concurrent, ${p.expired} late permits, permit wait p50 ${fmt(p.permitWait.p50)} p99 ${fmt(p.permitWait.p99)} max ${fmt(p.permitWait.max)} ms, call p50 ${fmt(p.callLatency.p50)} p99 ${fmt(p.callLatency.p99)} ms`,
      ),
      `added latency (paced, 1 consumer): permit round trip p50 ${fmt(pacedOn.permitLatency.p50)} ms, p99 ${fmt(pacedOn.permitLatency.p99)} ms; whole call p50 +${fmt(addedP50)} ms, p99 +${fmt(addedP99)} ms`,
      `per Marketo call (contended / paced): ${fmt(on.vendorCallsPerCall)} / ${fmt(pacedOn.vendorCallsPerCall)} vendor API calls, ${fmt(on.storeWritesPerCall)} / ${fmt(pacedOn.storeWritesPerCall)} store writes, ${fmt(on.storeReadsPerCall)} / ${fmt(pacedOn.storeReadsPerCall)} store reads`,
      ...virtualRuns.map(
        (v) =>
          `virtual, ${v.name}: 606 ${v.refused606}, 615 ${v.refused615}, ${v.calls} calls (${fmt(v.perWindow)}/20 s sustained), wait p50 ${fmt(v.wait.p50)} p99 ${fmt(v.wait.p99)} max ${fmt(v.wait.max)} ms, ${v.late} late permits`,
      ),
      `quota: ${quota.successes} calls then ${JSON.stringify(quota.failures)}; ${quota.quotaErrorSample ?? ''}`,
    ];
    const markdown = [
      `${off.durationMs / 1000} s per phase; ${SETUP}`,
      '',
      '| phase | 606 seen | 615 seen | successful calls | per 20 s (% of the limit) | whole 20 s windows | peak concurrent | wait for a permit p50 / p99 / max | call p50 / p99 |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row(off),
      row(on),
      '',
      "**Waiting for a permit, on a virtual clock** (issue 27): the same 4 vend \"Lambdas\" x 8 greedy consumers, 150 ms calls, 100 calls per 20 s and 10 concurrent, for 320 s of `FakeClock` time with 5 ms each way to the vendor and 3 ms per store call, so the figures are the algorithm's and not this machine's (`bench/scenarios/budget-virtual.ts`). Before, the window's 100 grants went in its first seconds and everyone else waited for it to roll, some consumers losing race after race; paced, grants are due one 212.5 ms slot apart (21.25 s accounting window ÷ 100) in arrival order, with a burst of 6 on an idle instance.",
      '',
      '| grants | 606 seen | 615 seen | calls | per 20 s, sustained | wait for a permit p50 / p99 / max | late permits |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...virtualRuns.map(
        (v) =>
          `| ${v.name} | ${v.refused606} | ${v.refused615} | ${v.calls} | ${fmt(v.perWindow)} | ${fmt(v.wait.p50)} / ${fmt(v.wait.p99)} / ${fmt(v.wait.max)} ms | ${v.late} |`,
      ),
      '',
      `- **Added latency** (one consumer, one call every 250 ms, well under the limits, so no wait hides it): the permit round trip (loopback API, one consistent read, one conditional write on dynalite) is p50 ${fmt(pacedOn.permitLatency.p50)} ms, p99 ${fmt(pacedOn.permitLatency.p99)} ms; a whole \`marketoFetch\` takes p50 ${fmt(pacedOn.callLatency.p50)} ms with the budget vs ${fmt(pacedOff.callLatency.p50)} ms without (p99 ${fmt(pacedOn.callLatency.p99)} vs ${fmt(pacedOff.callLatency.p99)} ms). Under contention, waiting for a free slot is the limit doing its job, not overhead.`,
      `- **Per Marketo call** (contended run / paced run): ${fmt(on.vendorCallsPerCall)} / ${fmt(pacedOn.vendorCallsPerCall)} vendor API calls (the release rides on the next permit request), ${fmt(on.storeWritesPerCall)} / ${fmt(pacedOn.storeWritesPerCall)} store writes, ${fmt(on.storeReadsPerCall)} / ${fmt(pacedOn.storeReadsPerCall)} strongly consistent reads.`,
      `- **Daily quota running out** (the operator sets the instance's quota to 60 calls): ${quota.successes} calls succeed, then every consumer gets \`${quota.quotaErrorSample ?? 'n/a'}\`; its next call fails the same way in p50 ${fmt(quota.quotaErrorMs.p50)} ms (max ${fmt(quota.quotaErrorMs.max)} ms) without reaching Marketo (${quota.refused606 + quota.refused615} refusals at Marketo).`,
    ].join('\n');
    return {
      id: 'budget',
      title: budgetScenario.title,
      markdown,
      console,
      targets,
      violations: [],
      charts: [],
      durationMs: nowMs() - started,
    };
  },
};
