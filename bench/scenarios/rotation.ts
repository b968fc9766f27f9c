/**
 * Scenario 8, consumers across token expiries (issue 15): the report of {@link runRotation}
 * (bench/scenarios/rotation-run.ts): the library's defaults side by side with the old ones, and under skew.
 */
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs } from '../lib/stats.js';
import {
  type CallStats,
  errorText,
  LEGACY_CLIENT_DEFAULTS,
  type RotationRowResult,
  runRotation,
  WAITED_THRESHOLD_MS,
} from './rotation-run.js';

const pct = (part: number, whole: number): string => (whole === 0 ? 'n/a' : `${fmt((100 * part) / whole)} %`);
const waits = (c: CallStats): string =>
  `${pct(c.waited, c.calls)} of ${c.calls.toLocaleString('en-US')}, max ${fmt(c.maxWaitMs / 1000)} s`;
const errorCount = (r: RotationRowResult): number => Object.values(r.errors).reduce((a, b) => a + b, 0);

/** The scenario for `npm run bench`. */
export const rotationScenario: Scenario = {
  id: 'rotation',
  title: '8. Consumers across token expiries (library defaults)',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const r = await runRotation(quick ? { expiries: 1, consumers: 20, log } : { log });
    const o = r.options;
    const after = r.rows.filter((row) => row.row.client !== LEGACY_CLIENT_DEFAULTS);
    const plain = after.find((row) => row.row.skewMs.every((ms) => ms === 0));
    const skewedRow = after.find((row) => row.row.skewMs.some((ms) => ms !== 0));
    // Under skew the consumer's view may be off by the skew itself: reported as a target, not an invariant.
    const violations = r.rows
      .filter((row) => row.underValidity > 0 && row.row.skewMs.every((ms) => ms === 0))
      .map(
        (row) => `rotation: ${row.row.name}: ${row.underValidity} tokens with less than the asked validity`,
      );
    // Waits are judged with clocks that agree; the skewed row is there for Identity calls and correctness.
    const maxFetchWait = plain?.marketoFetch.maxWaitMs ?? Number.POSITIVE_INFINITY;
    const skewedWait = skewedRow?.marketoFetch.maxWaitMs;
    const refused = after.reduce((n, row) => n + row.refusedAfterRetry, 0);
    const gaps = after.flatMap((row) => row.gapsMs);
    const targets: TargetCheck[] = [
      {
        target: 'errors surfaced to consumers with the library defaults = 0',
        measured: after.map((row) => `${errorText(row)} of ${row.calls.toLocaleString('en-US')}`).join('; '),
        met: after.length > 0 && after.every((row) => errorCount(row) === 0),
      },
      {
        target:
          'longest wait of a per-request call (marketoFetch, default validity 1 s) ≤ 3 s, clocks agreeing',
        measured:
          `${fmt(maxFetchWait)} ms` +
          (skewedWait === undefined ? '' : ` (vend instances ±2 s apart: ${fmt(skewedWait)} ms)`),
        met: maxFetchWait <= 3_000,
        ...(maxFetchWait > 3_000
          ? {
              note:
                'a call in the last 1-2 s before an expiry (1 s asked, up to 1 s lost to the whole-second expiresIn) ' +
                'waits until the vendor has the successor: that plus the expiry gap (the engine’s)',
            }
          : {}),
      },
      {
        target: 'Marketo calls refused with 601/602 after the library’s one retry = 0',
        measured: String(refused),
        met: after.length > 0 && refused === 0,
      },
      {
        target:
          'getToken answers with less validity than asked, seen on the consumer’s clock, under ±2 s skew = 0',
        measured: String(skewedRow?.underValidity ?? 'not run'),
        met: (skewedRow?.underValidity ?? 0) === 0,
        ...((skewedRow?.underValidity ?? 0) > 0
          ? {
              note:
                'a vend instance whose clock is behind states up to the skew more life than the token has, and one ahead ' +
                'stores an expiry up to the skew late; the engine’s minValidity check does not allow for skew (issue 15, engine)',
            }
          : {}),
      },
      {
        target: 'Identity calls per expiry = 1 (≤ 2 with ±2 s skew)',
        measured: after.map((row) => row.identityCallsPerExpiry.join(', ')).join('; '),
        met:
          (plain?.identityCallsPerExpiry.every((n) => n === 1) ?? false) &&
          (skewedRow?.identityCallsPerExpiry.every((n) => n <= 2) ?? true),
      },
      {
        target: 'expiry gap (expiry → successor in the store) ≤ 1 s',
        measured: `${gaps.map((g) => fmt(g)).join(', ')} ms`,
        met: gaps.length > 0 && gaps.every((g) => g <= 1_000),
        ...(gaps.some((g) => g > 1_000)
          ? {
              note: 'the engine’s part (issue 15, engine): it asks Identity for the successor its expiry slack after the expiry',
            }
          : {}),
      },
    ];
    const markdown = [
      `Real 3,600 s tokens on a virtual clock (\`VirtualClock\`: time moves only while no I/O is in flight, so the ` +
        "figures do not depend on this machine's speed or load; loopback I/O takes no virtual time). For each of " +
        `${o.expiries} expiries the clock jumps to shortly before it (${r.rows.map((row) => `${row.row.secondsBefore} s`).join(' / ')} ` +
        `for the rows below: more than the largest validity the row asks for) and runs until ${o.secondsAfter} s after it. ` +
        `${o.consumers} consumers, each its own client library (as separate processes), are spread over ${o.instances} ` +
        'vend handlers (`createVendHandler` behind an in-process API Gateway stand-in, as warm Lambdas). Each loops with a ' +
        `${o.pauseMs} ms pause: every ${o.getTokenConsumerEvery}th consumer calls \`getToken(client)\`, the ` +
        "others `marketoFetch(client, leads URL)` against the simulator's REST API, all with the library's defaults (first row: " +
        'the old defaults). The refresher sweeps as scheduled, every 60 s with a 60 s horizon, at a different phase for ' +
        `each expiry. Identity answers ${o.identityLatencyMs} ms after it is asked. A call “waited” when it spent ≥ ` +
        `${WAITED_THRESHOLD_MS} ms in the vendor or asleep for it. The store is polled every 40 ms for the successor. ` +
        'Engine settings: the production defaults.',
      '',
      '| Configuration | Errors to consumers | marketoFetch: waited, max wait | getToken: waited, max wait | Refused after retry (601/602) | Identity calls per expiry | Expiry → successor in store |',
      '|---|---|---|---|---:|---|---|',
      ...r.rows.map(
        (row) =>
          `| ${row.row.name} | ${errorText(row)} of ${row.calls.toLocaleString('en-US')} | ${waits(row.marketoFetch)} | ` +
          `${waits(row.getToken)} | ${row.refusedAfterRetry} | ${row.identityCallsPerExpiry.join(', ')} | ` +
          `${row.gapsMs.map((g) => fmt(g)).join(', ')} ms |`,
      ),
      '',
      'The old defaults asked for 60 s on every call: from 60 s before each expiry the vendor could only answer ' +
        '`503 TokenRotating` with a `Retry-After` beyond the 10 s budget (an error), or wait up to 25 s. The library now asks ' +
        'for 1 s per request (`marketoFetch`, `withToken`: Marketo checks the token on arrival, and a 601/602 is retried once), ' +
        "for the API's 20 s in `getToken`, and waits out any `Retry-After` within the rotation window (minValidity + 30 s). " +
        '`getToken` callers asking in the last 20 s still wait for the successor (20 s plus the gap): the price of holding ' +
        'a token for 20 s; an instance pool removes it (scenario 7, docs/consumers.md). With vend instances ±2 s apart ' +
        'a consumer served by an instance whose clock is behind is told up to 2 s more life than the token has, uses it ' +
        'until Marketo refuses it, and that instance waits for the successor by its own late clock: waits grow by ' +
        'about twice the skew, while errors and refusals stay at 0 and Identity is asked at most twice per expiry.',
    ].join('\n');
    return {
      id: this.id,
      title: this.title,
      markdown,
      console: r.rows.map(
        (row) =>
          `rotation ${row.row.name}: errors ${errorText(row)} of ${row.calls}; marketoFetch waited ${waits(row.marketoFetch)}; ` +
          `getToken waited ${waits(row.getToken)}; refused ${row.refusedAfterRetry}; Identity/expiry ` +
          `${row.identityCallsPerExpiry.join(',')}; gaps ${row.gapsMs.map((g) => fmt(g)).join(',')} ms`,
      ),
      targets,
      violations,
      charts: [],
      durationMs: nowMs() - started,
    };
  },
};
