/**
 * Scenario 9, the refresher in steady state (issue 25): today's design (before) and the refresh index
 * design (after), each at 10,000 and 100,000 clients with expiries spread uniformly over the hour, for two
 * simulated hours on a virtual clock; per hour what a bill counts, and a cross-check that the in-process
 * stand-ins count what loopback HTTP and dynalite count.
 */
import { costOf, HOURS_PER_MONTH, type Usage } from '../lib/aws-prices.js';
import { withQuietTelemetry } from '../lib/quiet.js';
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg.js';
import { AFTER_DESIGN, BEFORE_DESIGN } from './steady-state-designs.js';
import {
  DEFAULT_LATENCIES,
  type HourFigures,
  type RefreshDesignSim,
  type SimTransport,
  type SteadyStateSimResult,
  simulateSteadyState,
} from './steady-state-sim.js';

/** Options of {@link runSteadyState}. */
export interface SteadyStateOptions {
  /** Client counts. @default [10_000, 100_000] */
  readonly sizes?: readonly number[];
  /** Simulated hours per run. @default 2 */
  readonly hours?: number;
  /** Clients of the cross-check (after design, one hour, both transports); 0 skips it. @default 2_000 */
  readonly crossCheckClients?: number;
  readonly log?: (line: string) => void;
}

export interface SteadyStateResult {
  readonly runs: readonly SteadyStateSimResult[];
  readonly crossCheck?: { readonly loopback: SteadyStateSimResult; readonly inProcess: SteadyStateSimResult };
}

const DESIGNS: readonly RefreshDesignSim[] = [BEFORE_DESIGN, AFTER_DESIGN];

/** Runs both designs at every size (in process), then the cross-check. */
export async function runSteadyState(options: SteadyStateOptions = {}): Promise<SteadyStateResult> {
  const sizes = options.sizes ?? [10_000, 100_000];
  const hours = options.hours ?? 2;
  const crossCheckClients = options.crossCheckClients ?? 2_000;
  const log = options.log ?? (() => {});
  const run = (clients: number, design: RefreshDesignSim, transport: SimTransport, h: number) =>
    withQuietTelemetry(() => simulateSteadyState({ clients, design, transport, hours: h, log }));
  const runs: SteadyStateSimResult[] = [];
  for (const clients of sizes)
    for (const design of DESIGNS) runs.push(await run(clients, design, 'in-process', hours));
  if (crossCheckClients <= 0) return { runs };
  const loopback = await run(crossCheckClients, AFTER_DESIGN, 'loopback', 1);
  const inProcess = await run(crossCheckClients, AFTER_DESIGN, 'in-process', 1);
  return { runs, crossCheck: { loopback, inProcess } };
}

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const seconds = (ms: number): string => (Number.isFinite(ms) ? `${fmt(ms / 1000)} s` : 'never');
const gapText = (ms: number): string =>
  !Number.isFinite(ms) ? 'never replaced' : ms >= 60_000 ? `${fmt(ms / 60_000)} min` : `${n(ms)} ms`;

/** What one simulated hour costs, as usage. */
const usageOf = (h: HourFigures): Usage => ({
  invocations: h.workerInvocations + h.scheduleInvocations,
  billedSeconds: (h.workerBilledMs + h.scheduleBilledMs) / 1000,
  readUnits: h.readUnits,
  writeUnits: h.writeUnits,
  secretsManagerCalls: h.secretsList + h.secretsGet,
  // Per message: a send (10 to a request), a receive and a delete by the event source mapping.
  sqsRequests: h.sqsSendRequests + 2 * h.workerInvocations,
});

/** The figures the cross-check compares: everything counted, nothing timed in real time. */
const countedFigures = (h: HourFigures) => ({
  identityCalls: h.identityCalls,
  gapMaxMs: h.gapMaxMs,
  notInTime: h.notInTime,
  workerInvocations: h.workerInvocations,
  workerBilledMs: h.workerBilledMs,
  messagesSent: h.messagesSent,
  storeRequests: h.dynamo,
  readUnits: h.readUnits,
  writeUnits: h.writeUnits,
  secretsList: h.secretsList,
  secretsGet: h.secretsGet,
});

/** The scenario for `npm run bench`. */
export const steadyStateScenario: Scenario = {
  id: 'steady',
  title: '9. Refresher in steady state (issue 25)',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const result = await runSteadyState(
      quick ? { sizes: [1_000, 5_000], hours: 2, crossCheckClients: 500, log } : { log },
    );
    const byDesign = (id: string) => result.runs.filter((r) => r.design === id);
    const label = (id: string) => (id === 'before' ? 'before' : 'after');
    const rows = result.runs.flatMap((r) =>
      r.hours.map((h) => {
        const monthly = costOf(usageOf(h), HOURS_PER_MONTH);
        return (
          `| ${label(r.design)} | ${n(r.clients)} | ${h.hour} | ${fmt(h.identityCalls / r.clients)} | ` +
          `${gapText(h.gapMaxMs)} / ${gapText(h.gapP99Ms)} | ${n(h.notInTime)} of ${n(h.expiries)} | ` +
          `${n(h.workerInvocations)} (longest ${seconds(h.workerLongestMs)}) | ` +
          `${n((h.workerBilledMs + h.scheduleBilledMs) / 1000)} | ${n(h.messagesSent)} | ` +
          `${n(h.readUnits)} / ${n(h.writeUnits)} | ${n(h.secretsList)} | ${fmt(monthly.total)} |`
        );
      }),
    );
    const lastHour = (r: SteadyStateSimResult): HourFigures => r.hours[r.hours.length - 1] as HourFigures;
    const costRows = result.runs.map((r) => {
      const c = costOf(usageOf(lastHour(r)), HOURS_PER_MONTH);
      return (
        `| ${label(r.design)} | ${n(r.clients)} | ${fmt(c.lambdaRequests)} | ${fmt(c.lambdaDuration)} | ` +
        `${fmt(c.dynamoReads)} | ${fmt(c.dynamoWrites)} | ${fmt(c.secretsManager)} | ${fmt(c.sqs)} | ` +
        `**${fmt(c.total)}** | ${fmt((1000 * c.total) / r.clients)} |`
      );
    });
    const after = byDesign('after');
    const before = byDesign('before');
    const afterHours = after.flatMap((r) => r.hours.map((h) => ({ clients: r.clients, h })));
    const targets: TargetCheck[] = [
      {
        target: 'after: Identity calls per client per hour = 1 (10,000 and 100,000 clients, every hour)',
        measured: afterHours
          .map(({ clients, h }) => `${n(clients)} h${h.hour}: ${fmt(h.identityCalls / clients)}`)
          .join('; '),
        met: afterHours.every(({ clients, h }) => Math.abs(h.identityCalls / clients - 1) <= 0.01),
      },
      {
        target: 'after: expiry gap ≤ 1 s and 0 tokens due and not replaced in time, every hour',
        measured: afterHours
          .map(
            ({ clients, h }) => `${n(clients)} h${h.hour}: max ${gapText(h.gapMaxMs)}, ${h.notInTime} late`,
          )
          .join('; '),
        met: afterHours.every(({ h }) => h.gapMaxMs <= 1_000 && h.notInTime === 0),
      },
      {
        target:
          'after: no invocation sleeps until an expiry: longest worker invocation ≤ 5 s (the worker horizon)',
        measured: afterHours
          .map(({ clients, h }) => `${n(clients)} h${h.hour}: ${seconds(h.workerLongestMs)}`)
          .join('; '),
        met: afterHours.every(({ h }) => h.workerLongestMs <= 5_000),
      },
      {
        target:
          'after: work follows the due tokens: ≤ 3 store reads and ≤ 0.02 ListSecrets calls per client per hour',
        measured: afterHours
          .map(
            ({ clients, h }) =>
              `${n(clients)} h${h.hour}: ${fmt(h.readUnits / clients)} reads, ${fmt(h.secretsList / clients)} lists`,
          )
          .join('; '),
        met: afterHours.every(
          ({ clients, h }) => h.readUnits / clients <= 3 && h.secretsList / clients <= 0.02,
        ),
      },
    ];
    const cc = result.crossCheck;
    const violations: string[] = [];
    let crossCheckText: string[] = [];
    if (cc) {
      const a = JSON.stringify(cc.loopback.hours.map(countedFigures));
      const b = JSON.stringify(cc.inProcess.hours.map(countedFigures));
      if (a !== b)
        violations.push(
          `steady state: the in-process stand-ins counted differently from loopback at ${cc.loopback.clients} clients (${a} vs ${b})`,
        );
      const h = lastHour(cc.loopback);
      crossCheckText = [
        `**Cross-check of the stand-ins** (the after design, ${n(cc.loopback.clients)} clients, one hour): over loopback ` +
          '(dynalite, the Secrets Manager stub and the simulator over HTTP, the real DynamoDB and Secrets Manager ' +
          `SDK adapters) it took ${fmt(cc.loopback.realMs / 1000)} s of real time, in process ` +
          `${fmt(cc.inProcess.realMs / 1000)} s, and every counted figure is ${a === b ? '**the same**' : '**different**'} ` +
          `(${n(h.identityCalls)} Identity calls, gap max ${gapText(h.gapMaxMs)}, ${n(h.workerInvocations)} invocations, ` +
          `${n(h.workerBilledMs / 1000)} billed s, store requests ${Object.entries(h.dynamo)
            .map(([k, v]) => `${k} ${n(v)}`)
            .join(
              ', ',
            )}). On a virtual clock the transport changes how long a run takes, never what it counts.`,
        '',
      ];
    }
    const lat = DEFAULT_LATENCIES;
    const markdown = [
      'Each client’s token expires once an hour; in steady state the expiries of N clients are spread over the ' +
        'hour. This scenario seeds N clients with tokens whose expiries are uniform over the hour (as if each had ' +
        'been fetched an hour before; 3 simulated minutes after the first scheduled run) and runs the deployed ' +
        'path for two simulated hours on a virtual clock: the EventBridge schedule invokes the real refresh ' +
        'handler every 60 s; its messages go through the real `SqsBatchDispatcher` and SQS SDK to the loopback SQS ' +
        'stub, and from there into a model of the queue (delays, visibility timeout, three receives then the ' +
        'dead-letter queue, retention) and of Lambda’s event source mapping (at most 10 invocations at once, ' +
        'batch size 1), each invocation in one of 10 warm environments with its own vendor, handler and secret ' +
        'cache. Loopback I/O takes no virtual time, so AWS’s round trips are added as virtual latencies: Identity ' +
        `${lat.identityMs} ms, DynamoDB ${lat.dynamoMs} ms per request, Secrets Manager ${lat.secretsManagerMs} ms ` +
        `per request (a ListSecrets page too), SQS ${lat.sqsMs} ms per SendMessageBatch, ${lat.deliveryMs} ms from a ` +
        'message becoming visible to its invocation. Billed Lambda time is the virtual duration of each invocation ' +
        '(CPU takes none here; in Lambda it adds a few ms per refresh). The runs use the in-process stand-ins: ' +
        'the token table is the in-memory store with the DynamoDB store’s port and conditional-write semantics ' +
        '(and the index query over it), counted per request as DynamoDB bills them; Secrets Manager and Identity ' +
        'are the stub’s and the simulator’s own handlers called without HTTP (100,000 clients over loopback HTTP ' +
        'and dynalite would take hours of real time on this machine). The cross-check below shows they count the same.',
      '',
      '- **before** (today’s design): every scheduled run lists every client (ListSecrets, pages of 100) and ' +
        'queues them all in batches of 100; each worker invocation reads its 100 items and sleeps until every ' +
        'expiry within 60 s, one message at a time (bench/scenarios/refresher-before.ts keeps that handler).',
      '- **after** (issue 25): every scheduled run reads from the refresh index only the refreshes due before its ' +
        'next run (plus a minute), and the overdue ones, and queues them as messages delayed to 250 ms before ' +
        'their instant (one message per second of due instants); a worker refreshes its message’s tokens at their ' +
        'instants (horizon 5 s) and stores each successor’s due instant back in the index. Once an hour a run ' +
        'lists every client to find those missing from the index.',
      '',
      '| Design | Clients | Hour | Identity calls per client | Expiry gap max / p99 | Due, not replaced within 1 s | Worker invocations | Billed Lambda-s | Messages sent | Store read / write units | ListSecrets calls | Monthly cost (USD) |',
      '|---|---:|---:|---:|---|---:|---|---:|---:|---|---:|---:|',
      ...rows,
      '',
      'Monthly cost at list prices (docs/cost.md: Lambda arm64 512 MB, DynamoDB on-demand, Secrets Manager API ' +
        'calls, SQS requests; a message costs a send (ten to a request), a receive and a delete), from the last ' +
        'simulated hour × 720. Not included: secret storage (0.40 per client-month, the same in both designs), ' +
        'the event source mapping’s empty polls (about 0.26 a month), CloudWatch.',
      '',
      '| Design | Clients | Lambda requests | Lambda duration | DynamoDB reads | DynamoDB writes | Secrets Manager | SQS | Total per month | Per 1,000 clients |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...costRows,
      '',
      'Read units: a strongly consistent GetItem of an item under 4 KB is 1 unit, an eventually consistent one ' +
        '(the lease path’s first look) half; an index query (eventually consistent) half a unit per 4 KB read ' +
        '(an index entry is about 100 bytes). Write units: one per ' +
        'UpdateItem, plus two per token write in the after design (the index entry moves: DynamoDB deletes the ' +
        'old index item and puts the new one).',
      '',
      ...crossCheckText,
      '![Billed Lambda-seconds per hour: before and after](benchmarks/steady-state.svg)',
    ].join('\n');
    const sizes = [...new Set(result.runs.map((r) => r.clients))];
    const chart = barChartSvg({
      title: 'Refresher in steady state: billed Lambda-seconds per simulated hour (last hour)',
      categories: sizes.map((c) => `${n(c)} clients`),
      series: [
        {
          name: 'before',
          color: '#d9822b',
          values: sizes.map((c) => {
            const r = before.find((x) => x.clients === c);
            return r ? (lastHour(r).workerBilledMs + lastHour(r).scheduleBilledMs) / 1000 : undefined;
          }),
        },
        {
          name: 'after',
          color: '#2b6cb0',
          values: sizes.map((c) => {
            const r = after.find((x) => x.clients === c);
            return r ? (lastHour(r).workerBilledMs + lastHour(r).scheduleBilledMs) / 1000 : undefined;
          }),
        },
      ],
      yLabel: 'billed seconds per hour',
      log: true,
      references: [{ value: 3_600, label: 'one invocation always running' }],
      label: (v) => n(v),
    });
    return {
      id: this.id,
      title: this.title,
      markdown,
      console: result.runs.flatMap((r) =>
        r.hours.map(
          (h) =>
            `steady ${label(r.design).padEnd(6)} ${String(r.clients).padStart(6)} clients h${h.hour}: ` +
            `${fmt(h.identityCalls / r.clients)} Identity calls/client, gap max ${gapText(h.gapMaxMs)}, ` +
            `${h.notInTime} late, ${n(h.workerInvocations)} invocations, ${n((h.workerBilledMs + h.scheduleBilledMs) / 1000)} billed s, ` +
            `${n(h.readUnits)} RRU, ${n(h.secretsList)} lists (${fmt(r.realMs / 1000)} s real)`,
        ),
      ),
      targets,
      violations,
      charts: [{ file: 'steady-state.svg', alt: 'Billed Lambda-seconds per hour', svg: chart }],
      durationMs: nowMs() - started,
    };
  },
};
